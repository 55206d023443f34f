"""Step 4: human feedback. Thumbs up or down on the assistant's answers; the model adjusts."""

import streamlit as st

from explainer.app import cached, links, panels, ui
from explainer.app import feedback_panels as fp
from explainer.app.classroom import predict_then_reveal
from explainer.corpus import instructions as ins
from explainer.gpt.paramfile import cache_key
from explainer.phases import feedback as fb
from explainer.phases import judge, raters, reward
from explainer.phases.ratings import RatingsStore, sim_rater
from explainer.serve import runs

ui.page_setup("Human feedback", "👍")
jm = ui.get_job_manager()
st.title("👍 4 · Human feedback: thumbs up or down, and the model adjusts")
st.markdown(
    "The tuned assistant answers, but not always well: sometimes too short, off topic, wrong, or "
    "even unsafe. So people rate its answers with a thumbs up or down. A second small network, the "
    "*reward model*, learns from those ratings to guess what people like; then the assistant "
    "practises on many questions, leans towards the answers the reward model scores high, and "
    "grows surer of its words.")

st.sidebar.caption("Whatever model is picked above, this page rates and improves a tuned "
                   "assistant: the one you tuned on the Instruction tuning page, else the shipped "
                   "models/tuned.safetensors.")
store = RatingsStore()
tuned = ui.phase_model("tuned")
view, sim_view = ui.attached_job("fb_job"), ui.attached_job("sim_job")
ui.keep_job_model("feedback", view)     # a feedback training of this session that ended
after, mine = ui.phase_model("feedback"), ui.own_model("feedback") is not None
db = fp.ratings_guard()             # db(store.fn, ...): a broken database warns, never crashes


def rate(prompt, answer, key):
    value = st.session_state.get(key)                   # None: the thumb was clicked off again
    if value is None:
        db(store.withdraw, prompt, answer, tuned.name, ui.owner_id())
    else:
        db(store.add, prompt, answer, 1 if value == 1 else -1, tuned.name, ui.owner_id())


st.header("1 · Rate the answers")
if tuned is None:
    st.info("No tuned model yet: fine-tune one on the Instruction tuning page (or ship "
            "models/tuned.safetensors), then rate its answers here.")
else:
    examples = list(ins.ALWAYS_TRAIN) + fb.training_prompts()[::150] + ["(type your own)"]
    pick = links.selectbox(st, "Question", examples, key="fb_pick", param="rate_question")
    prompt = pick if pick != examples[-1] else links.text_input(st, "Your question", "", max_chars=300,
                                                                key="fb_own", param="own_question")
    seed = links.kept_number("round", "fb_round")          # which four answers: the same for a class
    if prompt.strip():
        for i, text in enumerate(cached.answers_to_rate(tuned, prompt, seed)):
            with st.container(border=True):
                st.text(text or "(an empty answer)")
                key = f"thumb_{seed}_{ui.key_part(cache_key(tuned), prompt)}_{i}"   # new answers: new thumbs
                st.feedback("thumbs", key=key, on_change=rate, args=(prompt, text, key))
        if st.button("Four new answers", icon="🔄"):
            st.session_state.fb_round += 1
            st.rerun()
c = st.columns(3)
for col, (label, kw) in zip(c, [("Your ratings", {"session": ui.owner_id()}),
                                ("The whole class", {"rater": "person"}),
                                ("Simulated raters", {"rater": "sim"})]):
    n = db(store.counts, **kw)
    col.metric(label, f"{n.total:,}" if n else "—")       # the split below: a narrow column cuts
    col.caption(n.split() if n else "the database cannot be read")  # long metric values
if store.notice:                             # set once the file was opened (a damaged one moved)
    st.warning(store.notice, icon="🗄️")

st.subheader("Simulated raters, for demos that can't wait for hundreds of clicks")
name = links.radio(st, "Rule", list(raters.RATERS), horizontal=True, key="fb_rater", param="rater")
st.markdown(f"**{name}:** {raters.RATERS[name].rule}")
sim_busy = sim_view is not None and not sim_view.ended
if tuned is not None and st.button(f"Rate {fp.SIM_RATINGS} answers automatically ({name})",
                                   disabled=sim_busy):
    done = db(store.counts, rater=sim_rater(name))           # a fresh seed for every batch
    job = runs.simulate_job(store.path, tuned, name, fp.SIM_RATINGS, seed=done.total if done else 0)
    ui.follow_job(jm.submit(ui.owner_id(), f"simulated {name} ratings", job), "sim_job")
    st.rerun()
if sim_view is not None:
    ui.poll(sim_view.id, fp.sim_panel)

st.header("2 · Learn from the ratings")
sources = {"all": "all ratings", "person": "people only", **{sim_rater(r): f"simulated {r} only"
                                                             for r in raters.RATERS}}
source = links.radio(st, "Learn from", list(sources), format_func=sources.get, horizontal=True, key="fb_src",
                     param="learn_from")
ratings = db(store.ratings, rater=None if source == "all" else source, default=[])
missing = reward.check_ratings(ratings) if tuned is not None else "No tuned model to improve yet."
busy = view is not None and not view.ended
if missing and not busy:
    st.info(missing, icon="ℹ️")
if st.button("Train the reward model, then the assistant (about 2 minutes)", type="primary",
             disabled=bool(missing) or busy, icon="▶️"):
    job_id = jm.submit(ui.owner_id(), "learning from feedback",
                       runs.feedback_job(tuned, ratings, fb.FeedbackSpec(), base_name=tuned.name))
    ui.follow_job(job_id, "fb_job")
    st.rerun()
ui.stop_button(view, key="fb_stop")
st.latex(fp.FORMULA)
st.caption(fp.FORMULA_LEGEND)

if view is not None:
    ui.poll(view.id, fp.fb_panel)
    if view.ended and view.result is not None:
        st.success("The feedback-trained model is ready: compare it below.")
        panels.save_panel(view.result)

st.header("3 · Before and after")
if tuned is not None:
    judged_by = links.radio(st, "Judge the answers with", list(raters.RATERS), horizontal=True, key="fb_judge",
                            param="judge")
    st.table(cached.before_after_table(tuned, after, judged_by), hide_index=True)
    st.caption("Questions neither model was ever trained on; one sampled answer each, with the same "
               "dice for both models. “After feedback” is "
               + ("your feedback-trained model. " if mine else "the shipped models/feedback.safetensors "
                  "until you train your own. ")
               + "The mark is the chosen simulated rater's verdict, and each rule checks only what it "
               "says: “helpful” looks at length, ending, topic and safety, not at truth (judge with "
               "“honest” for that).")
    if after is not None:
        fp.approval_counts(tuned, after, judged_by)
    st.info("**Watch for reward hacking.** The model learns whatever earns a 👍, not what the "
            "rater meant. A rule that checks only length, ending and topic can be pleased by a long, "
            "well-ended answer that makes little sense: read the answers, not only the marks. Real "
            "labs use many different raters and keep checking the answers for the same reason.",
            icon="👁️")
    rated = db(store.ratings, session=ui.owner_id(), default=[]) or ratings
    if after is not None and rated:
        fp.rated_answer(tuned, after, rated, "your feedback-trained model" if mine else
                        "the shipped feedback model; train your own above to see yours")

ui.explain(raters.helpful_problems, raters.same_topic, reward.RewardModel.features, reward.echo,
           fb.policy_step, judge.before_after)

predict_then_reveal("feedback-likelier", tuned, after)
