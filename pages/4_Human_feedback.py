"""Step 4: human feedback. Thumbs up or down on the assistant's answers; the model adjusts."""

import math

import streamlit as st

from explainer import feedback as fb, raters, sft
from explainer.app import models as registry
from explainer.app import panels, ui
from explainer.charts import downsample
from explainer.corpus import instructions as ins
from explainer.ratings import RatingsError, RatingsStore, sim_rater

ui.page_setup("Human feedback", ":material/thumb_up:")
jm = ui.get_job_manager()
st.title(":material/thumb_up: 4 · Human feedback: thumbs up or down, and the model adjusts")
st.markdown(
    "The tuned assistant answers, but not always well: sometimes too short, off topic, wrong, or "
    "even unsafe. So people rate its answers with a thumbs up or down. A second small network, the "
    "*reward model*, learns from those ratings to guess what people like; then the assistant "
    "practises on many questions and leans towards the answers the reward model scores high.")


def shipped(name):
    path = registry.models_dir() / f"{name}.safetensors"
    return ui.load_model_file(str(path)) if path.is_file() else None


store = RatingsStore()
active = ui.active_model()
tuned = st.session_state.get("tuned_model") or shipped("tuned") or \
    (active if active is not None and active.facts.get("kind") == "tuned" else None)
view, sim_view = ui.attached_job("fb_job"), ui.attached_job("sim_job")
if view is not None and view.ended and view.result is not None:
    st.session_state.feedback_model = view.result
after = st.session_state.get("feedback_model") or shipped("feedback")
shown = set()


def db(fn, *args, default=None, **kw):
    """Call the ratings store; a broken database gives a message (once), never a crashed page."""
    try:
        return fn(*args, **kw)
    except RatingsError as e:
        if str(e) not in shown:
            shown.add(str(e))
            st.warning(f"{e} The rest of the page keeps working.", icon=":material/database:")
        return default


@st.cache_data(max_entries=64, show_spinner="The assistant is writing 4 answers ...")
def answers(_m, key, prompt, seed):
    return fb.sample_texts(_m, prompt, 4, seed)


def rate(prompt, answer, key):
    value = st.session_state.get(key)
    if value is not None:
        db(store.add, prompt, answer, 1 if value == 1 else -1, tuned.name, ui.owner_id())


st.header("1 · Rate the answers")
if tuned is None:
    st.info("No tuned model yet: fine-tune one on the Instruction tuning page (or ship "
            "models/tuned.safetensors), then rate its answers here.")
else:
    examples = list(ins.ALWAYS_TRAIN) + fb.training_prompts()[::150] + ["(type your own)"]
    pick = st.selectbox("Question", examples, key="fb_pick")
    prompt = pick if pick != examples[-1] else st.text_input("Your question", max_chars=300, key="fb_own")
    seed = st.session_state.setdefault("fb_round", 0)
    if prompt.strip():
        for i, text in enumerate(answers(tuned, sft.model_key(tuned), prompt, seed)):
            with st.container(border=True):
                st.text(text or "(an empty answer)")
                key = f"thumb_{seed}_{abs(hash(prompt))}_{i}"
                st.feedback("thumbs", key=key, on_change=rate, args=(prompt, text, key))
        if st.button("Four new answers", icon=":material/refresh:"):
            st.session_state.fb_round += 1
            st.rerun()
c = st.columns(3)
for col, (label, kw) in zip(c, [("Your ratings", {"session": ui.owner_id()}),
                                ("The whole class", {"rater": "person"}),
                                ("Simulated raters", {"rater": "sim"})]):
    n = db(store.counts, **kw)
    col.metric(label, n.text() if n else "—")
if store.notice:                             # set once the file was opened (a damaged one moved)
    st.warning(store.notice, icon=":material/database:")

st.subheader("Simulated raters, for demos that can't wait for 300 clicks")
name = st.radio("Rule", list(raters.RATERS), horizontal=True, key="fb_rater")
st.markdown(f"**{name}:** {raters.RATERS[name].rule}")
sim_busy = sim_view is not None and not sim_view.ended
if tuned is not None and st.button(f"Rate 200 answers automatically ({name})", disabled=sim_busy):
    done = db(store.counts, rater=sim_rater(name))
    job_id = jm.submit(ui.owner_id(), f"simulated {name} ratings",
                       fb.simulate_job(store.path, tuned, name, 200, seed=done.total if done else 0))
    ui.follow_job(job_id, "sim_job")
    st.rerun()
if sim_view is not None:
    def sim_panel(v):
        last = v.events[-1] if v.events else None
        st.progress(last.done / last.total if last else 0.0,
                    text=f"{v.state}: rated {last.done if last else 0} of {last.total if last else 200}")
        if v.error:
            st.error(v.error)
    ui.poll(sim_view.id, sim_panel)

st.header("2 · Learn from the ratings")
sources = {"all": "all ratings", "person": "people only", **{sim_rater(r): f"simulated {r} only"
                                                             for r in raters.RATERS}}
source = st.radio("Learn from", list(sources), format_func=sources.get, horizontal=True, key="fb_src")
ratings = db(store.ratings, rater=None if source == "all" else source, default=[])
missing = fb.check_ratings(ratings) if tuned is not None else "No tuned model to improve yet."
busy = view is not None and not view.ended
if missing and not busy:
    st.info(missing, icon=":material/info:")
if st.button("Train the reward model, then the assistant (about 2 minutes)", type="primary",
             disabled=bool(missing) or busy, icon=":material/play_arrow:"):
    job_id = jm.submit(ui.owner_id(), "learning from feedback",
                       fb.job(tuned, ratings, fb.FeedbackSpec(), base_name=tuned.name))
    ui.follow_job(job_id, "fb_job")
    st.rerun()
if busy and st.button("Stop", icon=":material/stop:"):
    jm.cancel(view.id)
    st.rerun()
st.latex(fb.FORMULA)
st.caption(fb.FORMULA_LEGEND)


def fb_panel(v):
    s = fb.summarize(v.events)
    if v.state == "queued":
        st.info(f"Waiting in line: number {v.queue_position}.")
    if v.error:
        st.error(f"The training stopped with a problem: {v.error}")
    st.progress(s.progress, text=s.status if not s.steps else f"Policy step {s.steps[-1]} · "
                f"{'done' if v.ended else f'about {s.eta or 0:.0f} s left'}")
    m = st.columns(3)
    if s.rm:
        m[0].metric("Reward model accuracy on held-out ratings", f"{s.rm.heldout_acc:.0%}",
                    help=f"{s.rm.n_heldout} ratings of questions it never trained on. Always "
                         f"guessing the commoner rating would score {s.rm.majority:.0%}.")
    if s.steps:
        m[1].metric("Reward (chance of 👍)", f"{s.reward[-1]:.2f}", f"{s.reward[-1] - s.reward[0]:+.2f}")
        m[2].metric("KL to the tuned model", f"{s.kl[-1]:.3f} nats/token")
        left, right = st.columns(2)
        left.line_chart(dict(zip(("step", "reward"), downsample(s.steps, s.reward))), x="step", y="reward")
        right.line_chart(dict(zip(("step", "KL"), downsample(s.steps, s.kl))), x="step", y="KL", color="#E69F00")
        st.caption(f"A fresh answer at the latest step: “{s.sample}”")


if view is not None:
    ui.poll(view.id, fb_panel)
    if view.ended and view.result is not None:
        st.success("The feedback-trained model is ready: compare it below.")
        panels.save_panel(view.result)

st.header("3 · Before and after")
if tuned is not None:
    judge = st.radio("Judge the answers with", list(raters.RATERS), horizontal=True, key="fb_judge")

    @st.cache_data(max_entries=16, show_spinner="Both models are answering ...")
    def table(_a, _b, keys, rater):
        return fb.compare_table(_a, _b, rater, ins.heldout_prompts(ins.instruction_data(0), 1))
    st.table(table(tuned, after, (sft.model_key(tuned), sft.model_key(after)), judge), hide_index=True)
    st.caption("Questions neither model was ever trained on; one sampled answer each, with the same "
               "dice for both models. The mark is the simulated rater's verdict.")
    rated = db(store.ratings, session=ui.owner_id(), default=[]) or ratings
    if after is not None and rated:
        r = st.selectbox("A rated answer", rated[::-1][:50], key="fb_rated",
                         format_func=lambda r: f"{'👍' if r.up else '👎'} {r.prompt} → {r.answer[:80]}")
        lp = [fb.logprob_per_token(m, r.prompt, r.answer) for m in (tuned, after)]
        st.markdown(f"Chance per token of writing exactly this answer: **{math.exp(lp[0]):.3f}** "
                    f"(tuned) → **{math.exp(lp[1]):.3f}** (after feedback); log-prob per token "
                    f"{lp[0]:.2f} → {lp[1]:.2f}.")

ui.explain(raters.helpful_problems, raters.same_topic, fb.RewardModel.features, fb.policy_step)
