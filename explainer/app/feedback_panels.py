"""Page sections for the Human feedback page: the guard around the ratings database, the two
background jobs the page follows (simulated raters, and learning from the ratings), the policy
loss as the page shows it, the before/after likelihood of one rated answer, and the before/after
approval counted over many answers. Kept here so the page stays short; like
panels.run_panel, the job panels take the JobView that `ui.poll` hands them.
"""
from __future__ import annotations

import html
import math
import re
import statistics
import textwrap
from typing import Callable, Sequence

import streamlit as st

from .. import i18n
from ..gpt.paramfile import LoadedModel, cache_key
from ..i18n import N_, _, ngettext
from ..phases import judge
from ..phases.feedback import REWARD_STATUS
from ..phases.raters import label
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
FORMULA_LEGEND = N_(
    "x = a question, y = one of the K = 8 answers the model writes to it, N = all answers of the "
    "step. r = the reward model's chance of a 👍 for answer i; b = the average reward of the "
    "other answers to the same question, so only better-than-usual answers are pushed up and "
    "worse ones down (σ = the spread of r − b in the step). The KL term, the distance from the "
    "tuned model at every word of the answer, keeps the model from drifting into gibberish that "
    "happens to fool the reward model; β says how much that distance costs. H, the entropy, is how "
    "unsure the model is of its next word; γ prices it, so the model also grows surer and a sampled "
    "answer seldom wanders onto an odd word. The cost: its answers to one question vary less "
    "(counted below, after “Count”).")

# A job's state, as the progress lines show it (jobs.py); progress.end_word marks its own words.
STATES = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"),
          "failed": N_("failed"), "cancelled": N_("cancelled")}


def state_text(state: str) -> str:
    """A job state or an end word (progress.end_word) in the learner's language."""
    return _(STATES.get(state, state))


def status_text(message: str) -> str:
    """A feedback run's Status message (English: the run happens in a worker) in the learner's
    language: the messages are feedback.REWARD_STATUS (with a number) and PRACTISE_STATUS."""
    pattern = re.escape(REWARD_STATUS).replace(re.escape("{n}"), r"([\d,]+)")
    m = re.fullmatch(pattern, message)
    if m:
        return _(REWARD_STATUS).format(n=i18n.number(int(m.group(1).replace(",", "")), "#,##0"))
    return _(message)


def signed(x: float, fmt: str) -> str:
    """'+0.12' / '-0.12', the number as the current language writes it (a metric's delta: its
    sign decides the arrow)."""
    return ("-" if x < 0 else "+") + i18n.number(abs(x), fmt)


def in_english(text: str) -> str:
    """A question of the (English) training data, or a rated answer, in a widget that cannot mark
    it `lang="en"` (a select box): as it is on an English page, said to be English on any other."""
    return text if i18n.current() == i18n.SOURCE else _("{question} (in English)").format(question=text)


def model_span(text: str) -> str:
    """A model's words inside a translated sentence (unsafe_allow_html): marked as English, like
    ui.model_text."""
    return f'<span lang="en" class="model-text">{html.escape(text)}</span>'


def flagged_text(rm) -> str:
    """RewardModelReady.flagged_text in the learner's language: 'it flags 1 of the 3 held-out 👎
    answers, and wrongly 1 of the 54 👍 ones'."""
    ups = rm.n_heldout - rm.downs
    if rm.downs == 0:
        return _("none of the held-out ratings is 👎, so they cannot show whether it spots a bad answer")
    if not ups:
        return _("it flags {flagged} of the {downs} held-out 👎 answers").format(
            flagged=rm.downs_flagged, downs=rm.downs)
    return _("it flags {flagged} of the {downs} held-out 👎 answers, and wrongly {wrong} of the "
             "{ups} 👍 ones").format(flagged=rm.downs_flagged, downs=rm.downs, wrong=rm.ups_flagged, ups=ups)


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
                st.warning(_("{problem} The rest of the page keeps working.").format(problem=e), icon="🗄️")
            return default
    return db


def sim_panel(view: JobView) -> None:
    """Progress of a simulated rater judging answers."""
    last = view.events[-1] if view.events else None
    st.progress(last.done / last.total if last else 0.0,
                text=_("{state}: rated {done} of {total}").format(
                    state=state_text(view.state), done=last.done if last else 0,
                    total=last.total if last else SIM_RATINGS))
    if view.error:
        st.error(view.error)


# What to do when the reward model learned too little (shown: _(more).format(n=SIM_RATINGS)).
MORE_RATINGS = N_("Click “Rate {n} answers automatically” once or twice more (each click rates "
                  "new answers), then train again.")
CLASS_MORE_RATINGS = N_("Rate more answers on the Human feedback page (👎 too), then your teacher "
                        "can start the class run again.")


def fb_panel(view: JobView, more: str = MORE_RATINGS) -> None:
    """Learning from the ratings: queue, progress, the reward model's accuracy, then the policy's
    reward and KL per step, and a fresh answer to read along. `more`: what to do when the reward
    model learned too little (alone: more simulated ratings; in a class: more thumbs)."""
    s = summarize(view.events)
    if view.state == "queued":
        st.info(_("Waiting in line: number {n}.").format(n=view.queue_position))
    if view.error:
        st.error(_("The training stopped with a problem: {problem}").format(problem=view.error))
    time_left = (state_text(end_word(view.state, s.finished.reason if s.finished else None)) if view.ended
                 else _("about {time} left").format(time=charts.eta_text(s.eta)))
    st.progress(s.progress, text=(status_text(s.status) if s.status else _("Starting ...")) if not s.policy_steps
                else _("Policy step {step} · {time_left}").format(step=s.step, time_left=time_left))
    m = ui.wrapping_columns(3, key="fb_metrics", narrow="46rem")
    if s.rm:
        gain = s.rm.heldout_acc - s.rm.majority
        points = round(gain * 100)
        m[0].metric(_("Reward model accuracy on held-out ratings"), i18n.percent(s.rm.heldout_acc),
                    _("{points} points vs. always guessing").format(points=f"{points:+d}") if points
                    else _("same as always guessing"),
                    delta_color="normal" if points else "off", delta_arrow="auto" if points else "off",
                    help=_("{n} ratings of questions it never trained on. Always guessing the "
                           "commoner rating would score {majority}; {flagged}.").format(
                        n=s.rm.n_heldout, majority=i18n.percent(s.rm.majority), flagged=flagged_text(s.rm))
                    + (" " + _("It learned from the other {n}, with a weight penalty of {penalty} on "
                               "its hidden-state features, the one that predicted best on folds of "
                               "those ratings.").format(n=s.rm.n_train, penalty=i18n.number(s.rm.penalty))
                       if s.rm.penalty else ""))
        if gain <= 0:
            st.warning(_("The reward model is no better than always guessing the commoner rating "
                         "({flagged}): it needs more ratings, and more of the rarer kind (usually "
                         "👎), before its scores mean much. The assistant will still practise, but "
                         "on a weak signal.").format(flagged=flagged_text(s.rm))
                       + " " + _(more).format(n=SIM_RATINGS), icon="⚠️")
    if s.policy_steps:
        n = charts.SMOOTH
        now, start = statistics.fmean(s.reward[-n:]), statistics.fmean(s.reward[:n])
        k = min(len(s.reward), n)
        last = ngettext("last step", "last {n} steps", k).format(n=k)
        m[1].metric(_("Reward (chance of 👍, {last})").format(last=last), i18n.number(now, "0.00"),
                    _("{change} since the first {n} steps").format(change=signed(now - start, "0.00"), n=n)
                    if len(s.reward) > n else None)
        m[2].metric(_("KL to the tuned model"),
                    _("{kl} nats/token").format(kl=i18n.number(s.kl[-1], "0.000")))
        figs = charts.feedback_charts(s.policy_steps, s.reward, s.kl, s.entropy)
        for col, fig, key in zip(ui.wrapping_columns(3, key="fb_charts", narrow="48rem"), figs,
                                 ("reward_chart", "kl_chart", "entropy_chart")):
            with col:
                ui.plot(fig, key=key)
        st.caption(_("A fresh answer at the latest step: “{answer}”").format(answer=model_span(s.samples[-1][1])),
                   unsafe_allow_html=True)


def rated_answer(tuned: LoadedModel, after: LoadedModel, rated: Sequence[Rating],
                 after_name: str = N_("after feedback")) -> None:
    """Pick one rated answer (newest first): how likely the tuned model and the feedback-trained
    model (`after_name`, e.g. "the shipped feedback model", in the learner's language) are to
    write exactly it, per token. The question and answer in the list are the model's: English."""
    r = st.selectbox(_("A rated answer"), rated[::-1][:50], key="fb_rated",
                     format_func=lambda r: in_english(f"{'👍' if r.up else '👎'} {r.prompt} → "
                                                      f"{textwrap.shorten(r.answer, 82, placeholder=' …')}"))
    lp = [judge.logprob_per_token(m, r.prompt, r.answer) for m in (tuned, after)]
    st.markdown(_("Chance per token of writing exactly this answer: **{before}** (tuned) → **{after}** "
                  "({after_name}).").format(before=i18n.number(math.exp(lp[0]), "0.000"),
                                            after=i18n.number(math.exp(lp[1]), "0.000"),
                                            after_name=_(after_name)),
                help=_("The average over the answer's tokens, taken as a geometric mean: the log of "
                       "the chance per token goes {before} → {after}.").format(
                    before=i18n.number(lp[0], "0.00"), after=i18n.number(lp[1], "0.00")))
    st.caption(_("The assistant never trains on the rated answers themselves: it practises on fresh "
                 "answers that the reward model scores. So answers *like* the 👍 ones grow more "
                 "likely on the whole, while one particular rated answer can still go either way."))


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
        if not slot.button(_("Count the 👍 of “{rater}” over many answers (about 20 s)").format(rater=label(rater)),
                           key="fb_count",
                           help=_("All held-out questions answered once as the chat answers, and 10 "
                                  "questions per topic answered 4 times as the answers to rate are "
                                  "sampled, by both models with the same dice.")):
            return
        with st.spinner(_("Both models are answering every held-out question ...")):
            done.compute(key, lambda: judge.before_after(tuned, after, rater).shares())
        slot.empty()
    shares = done[key]
    pct = lambda x: i18n.percent(x, "#,##0.0%")
    cols = ui.wrapping_columns(3, key="fb_counts", narrow="46rem")
    for col, how, title, what in (
            (cols[0], "sampled", _("Sampled answers approved"),
             _("answers sampled at temperature 1, like the 4 answers you rate")),
            (cols[1], "greedy", _("Chat answers approved"),
             _("the likeliest word each time, as the chat answers"))):
        s = shares[how]
        before, after_share = s["approved_before"], s["approved_after"]
        col.metric(title, f"{pct(before)} → {pct(after_share)}",
                   _("{change} points").format(change=signed((after_share - before) * 100, "0.0")),
                   help=_("{answers} answers to {prompts} held-out questions per model: {what}. Tuned "
                          "model {before}, after feedback {after}.").format(
                       answers=i18n.number(s["answers"], "#,##0"), prompts=i18n.number(s["prompts"], "#,##0"),
                       what=what, before=pct(before), after=pct(after_share)))
    sampled = shares["sampled"]
    before, after_share = sampled["distinct_before"], sampled["distinct_after"]
    cols[2].metric(_("Sampled answers that differ"), f"{i18n.percent(before)} → {i18n.percent(after_share)}",
                   _("{change} points").format(change=f"{round(after_share * 100) - round(before * 100):+d}"),
                   delta_color="off",
                   help=_("Of the {n} sampled answers to each question, the share that differ from "
                          "each other (4 different answers: 100%; all 4 the same: 25%), averaged over "
                          "the questions.").format(n=sampled["answers"] // sampled["prompts"]))
    st.caption(_("One answer per question, as in the table, is the luck of the draw; these count "
                 "hundreds. Feedback moves the model's whole spread of answers, so it shows most in "
                 "the sampled ones; the chat's likeliest answer changes only where it was wrong. The "
                 "price of a surer model: its sampled answers vary less, as large assistants' answers "
                 "do after feedback training."))
    if sampled.get("reasons"):
        st.markdown(_("**Why sampled answers got 👎**, by the “{rater}” rule's own reasons:").format(
            rater=label(rater)))
        left, right = ui.wrapping_columns([3, 2], key="fb_reasons", narrow="40rem")
        # the kinds are raters.KINDS (English in the counts, shown translated)
        left.table([{_("reason"): _(kind), _("tuned model"): before, _("after feedback"): after_n}
                    for kind, (before, after_n) in sampled["reasons"].items()], hide_index=True)
        slowest = (" " + _("Off-topic answers go slowly: the model was tuned on some of them on purpose, "
                           "and must unlearn them question by question.")
                   if "off topic" in sampled["reasons"] else "")
        right.caption(_("Out of {n} sampled answers per model; one answer can have more than one "
                        "reason. Compare the columns: which kinds of bad answer feedback removed, and "
                        "which it left.").format(n=i18n.number(sampled["answers"], "#,##0")) + slowest)
