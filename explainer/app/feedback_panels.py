"""Page sections for the Human feedback page: the guard around the ratings database, the two
background jobs the page follows (simulated raters, and learning from the ratings), the policy
loss as the page shows it, the before/after likelihood of one rated answer, and the before/after
approval counted over many answers. Kept here so the page stays short; like
panels.run_panel, the job panels take the JobView that `ui.poll` hands them.
"""
from __future__ import annotations

import math
import statistics
import textwrap
from typing import Callable, Sequence

import streamlit as st

from ..gpt.paramfile import LoadedModel, cache_key
from ..phases import judge
from ..phases.ratings import Rating, RatingsError
from ..serve.cache import OncePerKey
from ..serve.jobs import JobView
from ..serve.progress import end_word, summarize
from ..views import charts
from . import ui

SIM_RATINGS = 200           # answers one click of "Rate ... automatically" has the simulated rater judge

# The policy loss (feedback.policy_step) as the page shows it (st.latex), and what its letters
# mean. Four lines (KaTeX "aligned"), so it fits a narrow screen or a projector at large text.
FORMULA = (r"\begin{aligned} \mathcal{L}(\theta) &= -\frac{1}{N}\sum_{i=1}^{N} A_i \sum_t "
           r"\log\pi_\theta(y_{i,t}\mid x_i, y_{i,<t}) \\ &\quad + \frac{\beta}{N}\sum_{i=1}^{N}"
           r"\sum_t \mathrm{KL}\big(\pi_\theta\,\|\,\pi_{\mathrm{tuned}}\big)_{i,t} "
           r"\\ &\quad + \frac{\gamma}{N}\sum_{i=1}^{N}\sum_t H\big(\pi_\theta\big)_{i,t} \\ "
           r"A_i &= \frac{r_i - b_i}{\sigma} \end{aligned}")
FORMULA_LEGEND = (
    "x = a question, y = one of the K = 8 answers the model writes to it, N = all answers of the "
    "step. r = the reward model's chance of a 👍 for answer i; b = the average reward of the "
    "other answers to the same question, so only better-than-usual answers are pushed up and "
    "worse ones down (σ = the spread of r − b in the step). The KL term, the distance from the "
    "tuned model at every word of the answer, keeps the model from drifting into gibberish that "
    "happens to fool the reward model; β says how much that distance costs. H, the entropy, is how "
    "unsure the model is of its next word; γ prices it, so the model also grows surer and a sampled "
    "answer seldom wanders onto an odd word. The cost: its answers to one question vary less "
    "(counted below, after “Count”).")


def ratings_guard() -> Callable:
    """A caller for the ratings store: a broken database gives a message (each one once per
    guard), never a crashed page. Make one per page run.

        db = ratings_guard()
        db(store.counts, rater="person")           # the counts, or None (and a warning)
        db(store.ratings, default=[])              # the ratings, or []
    """
    shown: set[str] = set()

    def db(fn: Callable, *args, default=None, **kw):
        try:
            return fn(*args, **kw)
        except RatingsError as e:
            if str(e) not in shown:
                shown.add(str(e))
                st.warning(f"{e} The rest of the page keeps working.", icon="🗄️")
            return default
    return db


def sim_panel(view: JobView) -> None:
    """Progress of a simulated rater judging answers."""
    last = view.events[-1] if view.events else None
    st.progress(last.done / last.total if last else 0.0,
                text=f"{view.state}: rated {last.done if last else 0} of "
                     f"{last.total if last else SIM_RATINGS}")
    if view.error:
        st.error(view.error)


MORE_RATINGS = (f"Click “Rate {SIM_RATINGS} answers automatically” once or twice more (each "
                "click rates new answers), then train again.")
CLASS_MORE_RATINGS = ("Rate more answers on the Human feedback page (👎 too), then your teacher "
                      "can start the class run again.")


def fb_panel(view: JobView, more: str = MORE_RATINGS) -> None:
    """Learning from the ratings: queue, progress, the reward model's accuracy, then the policy's
    reward and KL per step, and a fresh answer to read along. `more`: what to do when the reward
    model learned too little (alone: more simulated ratings; in a class: more thumbs)."""
    s = summarize(view.events)
    if view.state == "queued":
        st.info(f"Waiting in line: number {view.queue_position}.")
    if view.error:
        st.error(f"The training stopped with a problem: {view.error}")
    time_left = (end_word(view.state, s.finished.reason if s.finished else None) if view.ended
                 else f"about {charts.eta_text(s.eta)} left")
    st.progress(s.progress, text=(s.status or "Starting ...") if not s.policy_steps
                else f"Policy step {s.step} · {time_left}")
    m = ui.wrapping_columns(3, key="fb_metrics", narrow="46rem")
    if s.rm:
        gain = s.rm.heldout_acc - s.rm.majority
        points = round(gain * 100)
        m[0].metric("Reward model accuracy on held-out ratings", f"{s.rm.heldout_acc:.0%}",
                    f"{points:+d} points vs. always guessing" if points else "same as always guessing",
                    delta_color="normal" if points else "off", delta_arrow="auto" if points else "off",
                    help=f"{s.rm.n_heldout} ratings of questions it never trained on. Always "
                         f"guessing the commoner rating would score {s.rm.majority:.0%}; "
                         f"{s.rm.flagged_text()}."
                         + (f" It learned from the other {s.rm.n_train}, with a weight penalty "
                            f"of {s.rm.penalty:g} on its hidden-state features, the one that "
                            "predicted best on folds of those ratings." if s.rm.penalty else ""))
        if gain <= 0:
            st.warning(f"The reward model is no better than always guessing the commoner rating "
                       f"({s.rm.flagged_text()}): it needs more ratings, and more of the rarer "
                       "kind (usually 👎), before its scores mean much. The assistant will still "
                       f"practise, but on a weak signal. {more}", icon="⚠️")
    if s.policy_steps:
        n = charts.SMOOTH
        now, start = statistics.fmean(s.reward[-n:]), statistics.fmean(s.reward[:n])
        last = "last step" if len(s.reward) == 1 else f"last {min(len(s.reward), n)} steps"
        m[1].metric(f"Reward (chance of 👍, {last})", f"{now:.2f}",
                    f"{now - start:+.2f} since the first {n} steps" if len(s.reward) > n else None)
        m[2].metric("KL to the tuned model", f"{s.kl[-1]:.3f} nats/token")
        figs = charts.feedback_charts(s.policy_steps, s.reward, s.kl, s.entropy)
        for col, fig, key in zip(ui.wrapping_columns(3, key="fb_charts", narrow="48rem"), figs,
                                 ("reward_chart", "kl_chart", "entropy_chart")):
            with col:
                ui.plot(fig, key=key)
        st.caption(f"A fresh answer at the latest step: “{s.samples[-1][1]}”")


def rated_answer(tuned: LoadedModel, after: LoadedModel, rated: Sequence[Rating],
                 after_name: str = "after feedback") -> None:
    """Pick one rated answer (newest first): how likely the tuned model and the feedback-trained
    model (`after_name`, e.g. "the shipped feedback model") are to write exactly it, per token."""
    r = st.selectbox("A rated answer", rated[::-1][:50], key="fb_rated",
                     format_func=lambda r: f"{'👍' if r.up else '👎'} {r.prompt} → {textwrap.shorten(r.answer, 82, placeholder=' …')}")
    lp = [judge.logprob_per_token(m, r.prompt, r.answer) for m in (tuned, after)]
    st.markdown(f"Chance per token of writing exactly this answer: **{math.exp(lp[0]):.3f}** "
                f"(tuned) → **{math.exp(lp[1]):.3f}** ({after_name}).",
                help=f"The average over the answer's tokens, taken as a geometric mean: the log "
                     f"of the chance per token goes {lp[0]:.2f} → {lp[1]:.2f}.")
    st.caption("The assistant never trains on the rated answers themselves: it practises on fresh "
               "answers that the reward model scores. So answers *like* the 👍 ones grow more "
               "likely on the whole, while one particular rated answer can still go either way.")


@st.cache_resource(show_spinner=False)
def _counted() -> OncePerKey:
    """Server-wide: (tuned, after, rater) -> the measured shares, so a class counts once (30
    people clicking at once wait for one count instead of running 30)."""
    return OncePerKey()


def approval_counts(tuned: LoadedModel, after: LoadedModel, rater: str) -> None:
    """The before/after approval on many held-out answers (judge.before_after, the benchmark's own
    measurement), on request: about 20 s the first time, then shared by every session."""
    done, key = _counted(), (cache_key(tuned), cache_key(after), rater)
    if key not in done:
        slot = st.empty()                                # the button goes once it has counted
        if not slot.button(f"Count the 👍 of “{rater}” over many answers (about 20 s)", key="fb_count",
                         help="All held-out questions answered once as the chat answers, and 10 "
                              "questions per topic answered 4 times as the answers to rate are "
                              "sampled, by both models with the same dice."):
            return
        with st.spinner("Both models are answering every held-out question ..."):
            done.compute(key, lambda: judge.before_after(tuned, after, rater).shares())
        slot.empty()
    shares = done[key]
    cols = ui.wrapping_columns(3, key="fb_counts", narrow="46rem")
    for col, how, label, what in (
            (cols[0], "sampled", "Sampled answers approved",
             "answers sampled at temperature 1, like the 4 answers you rate"),
            (cols[1], "greedy", "Chat answers approved",
             "the likeliest word each time, as the chat answers")):
        s = shares[how]
        before, after_share = s["approved_before"], s["approved_after"]
        col.metric(label, f"{before:.1%} → {after_share:.1%}", f"{(after_share - before) * 100:+.1f} points",
                   help=f"{s['answers']:,} answers to {s['prompts']:,} held-out questions per model: "
                        f"{what}. Tuned model {before:.1%}, after feedback {after_share:.1%}.")
    sampled = shares["sampled"]
    before, after_share = sampled["distinct_before"], sampled["distinct_after"]
    cols[2].metric("Sampled answers that differ", f"{before:.0%} → {after_share:.0%}",
                   f"{round(after_share * 100) - round(before * 100):+d} points", delta_color="off",
                   help=f"Of the {sampled['answers'] // sampled['prompts']} sampled answers to each "
                        "question, the share that differ from each other (4 different answers: "
                        "100%; all 4 the same: 25%), averaged over the questions.")
    st.caption("One answer per question, as in the table, is the luck of the draw; these count "
               "hundreds. Feedback moves the model's whole spread of answers, so it shows most in "
               "the sampled ones; the chat's likeliest answer changes only where it was wrong. The "
               "price of a surer model: its sampled answers vary less, as large assistants' answers "
               "do after feedback training.")
    if sampled.get("reasons"):
        st.markdown(f"**Why sampled answers got 👎**, by the “{rater}” rule's own reasons:")
        left, right = ui.wrapping_columns([3, 2], key="fb_reasons", narrow="40rem")
        left.table([{"reason": kind, "tuned model": before, "after feedback": after_n}
                    for kind, (before, after_n) in sampled["reasons"].items()], hide_index=True)
        slowest = (" Off-topic answers go slowly: the model was tuned on some of them on purpose, "
                   "and must unlearn them question by question." if "off topic" in sampled["reasons"] else "")
        right.caption(f"Out of {sampled['answers']:,} sampled answers per model; one answer can have "
                      "more than one reason. Compare the columns: which kinds of bad answer feedback "
                      "removed, and which it left." + slowest)
