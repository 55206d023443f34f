"""The classroom in the app: which class this session is in, the predict-then-reveal box of every
page, and the panels of the Classroom page (create, join, the teacher's live view, the class run).

Membership comes from the URL: `?class=CODE` for students, `?class=CODE&key=...` for the teacher
(the key never appears in a student's link). It is checked once per session and kept; other pages
get `?class=CODE` back in their address so a reload stays in the class. A student is their
browser's anonymous id (`student_id`: two tabs are one student, a reload or a server restart finds
their guesses again); each tab's ratings session (`ui.owner_id()`) is recorded with the class so
its thumbs pool there. The store is explainer/classroom/classes.py, the questions explainer/classroom/questions.py.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Sequence

import plotly.graph_objects as go
import streamlit as st

from .. import i18n
from ..classroom.classes import (
    Classroom,
    ClassroomError,
    browser_id,
    join_link,
    normalize_code,
    qr_svg,
    teacher_link,
)
from ..classroom.questions import QUESTIONS, Answer, Question
from ..gpt.events import failure_message
from ..gpt.paramfile import LoadedModel, cache_key
from ..i18n import _, ngettext
from ..phases import feedback as fb
from ..phases import reward
from ..phases.ratings import RatingsError, RatingsStore
from ..serve import runs
from ..serve.cache import OncePerKey
from ..views import charts
from . import ui
from .feedback_panels import CLASS_MORE_RATINGS, fb_panel

POLL_SECONDS = 2.0          # a student's class box refreshes this often (40 browsers: 20 reads/s)
TEACHER_POLL_SECONDS = 0.5  # the teacher's screen (the projector), one browser: within a second
CLASS, KEY = "class", "key"  # the URL's query parameters
PAGE = "pages/8_Classroom.py"


def room() -> Classroom:
    """The classroom store (in the ratings file: env EXPLAINER_RATINGS_DB or data/)."""
    return Classroom(RatingsStore())


def student_id() -> str:
    """This browser's anonymous id (from its XSRF cookie), else this session's owner id."""
    try:
        cookie = st.context.cookies.get("_streamlit_xsrf")
    except Exception:  # noqa: BLE001 -- no web request behind this run (tests, bare mode)
        cookie = None
    return browser_id(cookie) or ui.owner_id()


@dataclass(frozen=True)
class Member:
    code: str
    key: str | None = None      # the teacher key, only in the teacher's session

    @property
    def teacher(self) -> bool:
        return self.key is not None


# ---------------------------------------------------------------------------------------------
# Membership


def membership() -> Member | None:
    """This session's class, from the URL once (a new code or a teacher key there wins), then
    from the session."""
    code, key = st.query_params.get(CLASS), st.query_params.get(KEY)
    if code:
        seen = st.session_state.get("class_from_url")
        if seen is None or normalize_code(code) != seen[0] or (key and key != seen[1]):
            st.session_state.class_from_url = (normalize_code(code), key)
            enter(code, key)
    code = st.session_state.get("class_code")
    if not code:
        return None
    if st.query_params.get(CLASS) != code:
        st.query_params[CLASS] = code
    return Member(code, st.session_state.get("class_key"))


def enter(code: str, key: str | None = None) -> bool:
    """Join the class (as its teacher if `key` is right); a clear message if not possible."""
    try:
        r = room()
        info = r.info(code)
        teacher = bool(key) and r.is_teacher(info.code, key)
        if not teacher:
            r.join(info.code, student_id(), session=ui.owner_id())
    except ClassroomError as e:
        st.error(str(e), icon="🏫")
        leave()
        return False
    except RatingsError as e:
        st.warning(f"{e} " + _("The class cannot be joined right now; the page works on its own."),
                   icon="🗄️")
        return False
    if key and not teacher:
        st.error(_("That teacher key does not belong to class {code}: you joined as a student.")
                 .format(code=info.code), icon="🔑")
    st.session_state.class_code = info.code
    st.session_state.class_key = key if teacher else None
    return True


def leave() -> None:
    for k in ("class_code", "class_key"):
        st.session_state.pop(k, None)
    for k in (CLASS, KEY):
        if k in st.query_params:
            del st.query_params[k]


def base_url() -> str:
    """This page's address without its query: the start of the class links."""
    url = (st.context.url or "").split("?")[0]
    return url or "http://localhost:8501/Classroom"


# ---------------------------------------------------------------------------------------------
# Predict, then reveal


def predict_then_reveal(q: Question | str, *inputs, key: str | None = None) -> None:
    """One click commits a guess, then the model's real answer (q.answer(*inputs), computed now)
    appears, with the class's guesses as a bar chart beside it. Alone: revealed right after the
    guess. In a class: the box refreshes itself (every POLL_SECONDS) until the teacher reveals
    the answer for everyone; then guesses are closed and it stops refreshing.

        predict_then_reveal("tokens-count", tokenizer)     # a page's one line (questions.QUESTIONS)
    """
    q = QUESTIONS[q] if isinstance(q, str) else q
    k = key or f"ptr_{q.id}"
    with st.container(border=True, key=k):
        st.markdown("**🤔 " + _("Predict, then reveal.") + "** " + q.html, unsafe_allow_html=True)
        m = membership()
        if m is None:
            _solo(q, inputs, k)
        else:
            _class_box(q, inputs, k, m)


def _choice_buttons(q: Question, k: str, mine: str | None, on_pick, disabled: bool = False) -> None:
    """One button per choice, side by side; long choices one under the other, so that none is cut
    to "While every mention i..." in a narrow column."""
    side_by_side = max(len(q.label(c)) for c in q.choices) <= 22
    places = st.columns(len(q.choices)) if side_by_side else [st.container() for _c in q.choices]
    for i, (col, c) in enumerate(zip(places, q.choices)):
        col.button(q.label(c), key=f"{k}_c{i}", type="primary" if c == mine else "secondary",
                   width="stretch", on_click=on_pick, args=(c,), disabled=disabled,
                   icon="✋" if c == mine else None)


def _solo(q: Question, inputs: Sequence, k: str) -> None:
    @st.fragment                  # a click reruns the box, not the page
    def box():
        mine = st.session_state.get(f"{k}_guess")
        _choice_buttons(q, k, mine, lambda c: st.session_state.__setitem__(f"{k}_guess", c))
        if mine is None:
            st.caption(_("Click your guess first; then the model answers."))
            return
        _reveal(q, inputs, mine, None, k)
    box()


def _class_box(q: Question, inputs: Sequence, k: str, m: Member) -> None:
    def pick(choice):
        try:
            room().guess(m.code, q.id, student_id(), choice)
        except (ClassroomError, RatingsError) as e:
            st.session_state[f"{k}_error"] = str(e)

    def show_all():
        try:
            room().reveal(m.code, m.key, q.id)
        except (ClassroomError, RatingsError) as e:
            st.session_state[f"{k}_error"] = str(e)

    try:                          # once revealed the box is final: no more polling (40 screens
        live = not room().question_state(m.code, q.id, student_id()).revealed   # redrawing a chart
    except (ClassroomError, RatingsError):                                      # every 2 s add up)
        live = True

    every = TEACHER_POLL_SECONDS if m.teacher else POLL_SECONDS

    @st.fragment(run_every=every if live else None)
    def box():
        if err := st.session_state.pop(f"{k}_error", None):
            st.error(err, icon="🏫")
        try:
            s = room().question_state(m.code, q.id, student_id())
        except ClassroomError as e:
            st.error(f"{e} " + _("You have left the class; this question still works on its own."),
                     icon="🏫")
            leave()
            return
        except RatingsError as e:
            st.warning(f"{e} " + _("The class's guesses cannot be read right now."), icon="🗄️")
            return
        n = sum(s.tally.values())
        so_far = ngettext("Class {code}: {n} guess so far.", "Class {code}: {n} guesses so far.",
                          n).format(code=m.code, n=n)
        if m.teacher:
            st.caption(so_far + " " + _("You are the teacher: reveal when the class has guessed."))
            if not s.revealed:
                st.button(_("Reveal for everyone"), key=f"{k}_reveal", on_click=show_all, icon="📣")
        else:
            _choice_buttons(q, k, s.mine, pick, disabled=s.revealed)
        if s.revealed and live:
            st.rerun()            # the whole page once, so the box stops polling
        if s.revealed:
            _reveal(q, inputs, s.mine, s.tally, k, teacher=m.teacher)
        elif not m.teacher:
            st.caption(" ".join((so_far, _("Yours is in; you can still change it.") if s.mine
                                 else _("Click yours."),
                                 _("Your teacher reveals the answer for everyone."))))
    box()


@st.cache_resource(show_spinner=False)
def _answers() -> OncePerKey:
    """Server-wide: (question, models) -> the model's answer. A teacher's reveal reaches 40
    screens at once; they wait for one computation instead of running 40."""
    return OncePerKey()


def _input_key(x) -> str:
    return cache_key(x) if isinstance(x, LoadedModel) else f"{getattr(x, 'name', type(x).__name__)}|{id(x)}"


def _answer(q: Question, inputs: Sequence) -> Answer | str:
    """The model's answer (computed once per server, question and models), or why there is none."""
    if not inputs or any(x is None for x in inputs):
        return _("There is no model to ask yet: load or train one, and its answer appears here.")
    try:
        with st.spinner(_("The model is answering ...")):
            return _answers().compute((q.id, *map(_input_key, inputs)), lambda: q.answer(*inputs))
    except Exception as e:  # noqa: BLE001 -- the box says what went wrong, the page goes on
        return _("The model could not answer: {reason}").format(reason=failure_message(e))


def _reveal(q: Question, inputs: Sequence, mine: str | None, tally: dict | None, k: str,
            teacher: bool = False) -> None:
    answer = _answer(q, inputs)
    left, right = (st.columns(2) if tally is not None else (st.container(), None))
    with left:
        if isinstance(answer, str):
            st.warning(answer, icon="ℹ️")
            return
        verdict = ("" if teacher else "✅ " + _("You guessed right.") if mine == answer.choice else
                   "❌ " + _("You guessed “{guess}”.").format(guess=q.label(mine)) if mine else
                   _("You did not guess this time."))
        st.markdown("**" + _("The model: {answer}.").format(answer=q.label(answer.choice)) + "** "
                    + verdict)
        st.caption(answer.shown_html(), unsafe_allow_html=True)
    if right is not None:
        with right:
            ui.plot(guess_chart(q.choices, tally, answer.choice, mine, labels=q.label),
                    key=f"{k}_chart")


def guess_chart(choices: Sequence[str], tally: dict[str, int], right: str | None,
                mine: str | None = None, labels=lambda c: c) -> go.Figure:
    """The class's guesses per choice; the model's answer in green and ticked in bold on the axis
    (also when nobody guessed it), "you" above your own bar. `labels(choice)` is what a choice
    is called on screen (its translation)."""
    counts = [tally.get(c, 0) for c in choices]
    top = max(counts + [1])
    colors = [charts.PALETTE[2] if c == right else charts.PALETTE[0] for c in choices]
    text = [_("{n} · you").format(n=n) if c == mine else str(n) for c, n in zip(choices, counts)]
    shown = [labels(c) for c in choices]
    return go.Figure(dict(
        data=[dict(type="bar", x=shown, y=counts, marker=dict(color=colors), text=text,
                   textposition="outside", constraintext="none", cliponaxis=False,
                   hovertemplate="%{x}: %{y}<extra></extra>")],
        layout=dict(charts.house_layout(_("The class's guesses ({n})").format(n=sum(counts)), 300),
                    xaxis=dict(title=dict(text=_("guess")), type="category", tickvals=shown,
                               ticktext=[f"<b>{s} ✓</b>" if c == right else s
                                         for c, s in zip(choices, shown)]),
                    yaxis=dict(title=dict(text=_("students")), rangemode="tozero",
                               range=[0, top * 1.25],
                               dtick=max(1, math.ceil(top / 5))))))   # whole students


# ---------------------------------------------------------------------------------------------
# The Classroom page's panels


def links_panel(code: str, key: str | None) -> None:
    """Code, QR code and links of a class (the teacher link only for the teacher)."""
    join = join_link(base_url(), code)
    left, right = st.columns([2, 1])
    with left:
        st.markdown("### " + _("Class code: `{code}`").format(code=code))
        st.caption(_("Students open the link (or scan the QR code, or type the code on the "
                     "Classroom page). Their guesses and thumbs pool in this class."))
        st.code(join, language=None, wrap_lines=True)
        if key:
            st.markdown(_("**Your teacher link** (keep it off the projector: it carries the key)"))
            st.code(teacher_link(base_url(), code, key), language=None, wrap_lines=True)
    with right:
        st.image(qr_svg(join), caption=_("Scan to join"), width=240)


def create_panel() -> None:
    """Create a class; this session becomes its teacher (the key goes into this page's URL)."""
    if st.button(_("Create a class"), type="primary", icon="🏫", key="create_class"):
        try:
            new = room().create()
        except (ClassroomError, RatingsError) as e:
            st.error(str(e), icon="🏫")
            return
        st.session_state.class_from_url = (new.code, new.key)
        st.query_params.update({CLASS: new.code, KEY: new.key})
        if enter(new.code, new.key):
            st.rerun()


def join_panel() -> None:
    """Join a class by its code."""
    with st.form("join_class", border=True):
        code = st.text_input(_("Class code"), max_chars=12, placeholder=_("e.g. {code}").format(code="K7QXM"))
        if st.form_submit_button(_("Join"), icon="🙋") and enter(code):
            st.session_state.class_from_url = (normalize_code(code), None)
            st.query_params[CLASS] = normalize_code(code)
            st.rerun()


def teacher_panel(m: Member) -> None:
    """Live: who joined (a count), guesses per question, ratings; reveal, reset."""
    def act(fn, *args):
        try:
            fn(*args)
        except (ClassroomError, RatingsError) as e:
            st.session_state.class_error = str(e)

    @st.fragment(run_every=TEACHER_POLL_SECONDS)
    def live():
        if err := st.session_state.pop("class_error", None):
            st.error(err, icon="🏫")
        r = room()
        try:
            info, counts, tallies = r.info(m.code), r.ratings_count(m.code), r.tallies(m.code)
            shown = {q for q in QUESTIONS if r.revealed(m.code, q)}
        except (ClassroomError, RatingsError) as e:
            st.error(str(e), icon="🏫")
            return
        c = st.columns(3)
        c[0].metric(_("Joined"), i18n.number(info.members, "#,##0"),
                    help=_("Browsers that joined (no names are kept)."))
        c[1].metric(_("Guesses"), i18n.number(info.guesses, "#,##0"))
        c[2].metric(_("Ratings"), i18n.number(counts.total, "#,##0"), help=counts.split())
        for q in QUESTIONS.values():
            t = tallies.get(q.id, {})
            a, b = st.columns([4, 1], vertical_alignment="center")
            a.markdown(f"**{q.page_name}:** {q.html}  \n"
                       + (" · ".join(f"{html.escape(q.label(ch))}: **{n}**" for ch, n in t.items())
                          or _("no guesses yet")), unsafe_allow_html=True)
            if q.id in shown:
                b.caption(_("revealed"))
            else:
                # "Reveal for everyone" was cut to "Reveal for every…" in this narrow column
                b.button(_("Reveal"), key=f"reveal_{q.id}", icon="📣",
                         help=_("Shows the model's answer and the class's guesses on every "
                                "student's screen, and closes the guesses."),
                         on_click=act, args=(r.reveal, m.code, m.key, q.id))
        with st.popover(_("Reset the class"), icon="🧹"):
            st.caption(_("Clears every guess, reveal and the class run. Members and ratings stay."))
            st.button(_("Yes, clear the guesses"), key="reset_class", on_click=act,
                      args=(r.reset, m.code, m.key))
    live()


def _watch_for_a_new_run(m: Member, known: str | None) -> None:
    """Every POLL_SECONDS, look whether the teacher started a (new) class run; when so, rerun
    the page so that it shows the run. Without this a student's page showed it only on a reload."""
    @st.fragment(run_every=POLL_SECONDS)
    def watch():
        try:
            now = room().info(m.code).run_job
        except (ClassroomError, RatingsError):
            return                 # the panel above already said what is wrong
        if now != known:
            st.rerun()
    watch()


def _start_button(m: Member, busy: bool) -> None:
    """The teacher's start button, with why it cannot start yet; it follows the class's ratings
    live (every TEACHER_POLL_SECONDS) until the run starts, so it enables itself once enough
    thumbs are in."""
    @st.fragment(run_every=None if busy else TEACHER_POLL_SECONDS)
    def start():
        jm, r = ui.get_job_manager(), room()
        if err := st.session_state.pop("class_run_error", None):
            st.error(err, icon="🏫")
        try:
            ratings = r.ratings(m.code)
        except (ClassroomError, RatingsError) as e:
            st.error(str(e), icon="🏫")
            return
        tuned = ui.phase_model("tuned")
        missing = reward.check_ratings(ratings) if tuned is not None else \
            _("No tuned model to improve: ship models/tuned.safetensors or tune one.")
        if missing and not busy:
            st.info(ngettext("{n} rating from the class so far.", "{n} ratings from the class so far.",
                             len(ratings)).format(n=len(ratings)) + f" {missing}", icon="ℹ️")
        if st.button(_("Start the class run: learn from the class's ratings"), type="primary",
                     icon="▶️", disabled=bool(missing) or busy, key="class_run"):
            def submit():
                return jm.submit(f"class:{m.code}", f"class {m.code}: learning from feedback",
                                 runs.feedback_job(tuned, ratings, fb.FeedbackSpec(), base_name=tuned.name))
            try:
                r.start_run(m.code, m.key, submit, is_live=lambda j: (v := jm.get(j)) is not None
                            and not v.ended)
            except (ClassroomError, RatingsError) as e:
                st.session_state.class_run_error = str(e)
            st.rerun()            # the whole page: it now shows the run
    start()


def class_run_panel(m: Member) -> None:
    """The class run: one feedback training on the class's ratings, started by the teacher once,
    watched live by every student of the class."""
    jm, r = ui.get_job_manager(), room()
    try:
        info = r.info(m.code)
    except (ClassroomError, RatingsError) as e:
        st.error(str(e), icon="🏫")
        return
    view = jm.get(info.run_job) if info.run_job else None
    if info.run_job and view is None:
        st.info(_("The class run started earlier is no longer on this server (it restarted). "
                  "Every rating and guess is still stored: start the run again.") if m.teacher else
                _("The class run started earlier is no longer on this server (it restarted). "
                  "Every rating and guess is still stored; your teacher can start it again."))
    busy = view is not None and not view.ended
    if m.teacher:
        _start_button(m, busy)
    elif view is None:
        st.caption(_("When your teacher starts the class run, it appears here: one training on "
                     "the whole class's 👍 and 👎, watched by everyone."))
    if view is None or view.ended:
        _watch_for_a_new_run(m, info.run_job)
    if view is not None:
        ui.poll(view.id, lambda v: fb_panel(v, CLASS_MORE_RATINGS))
        if view.ended and view.result is not None:
            if st.button(_("Use the class's model on the Human feedback page"), key="use_class_model"):
                ui.keep_job_model("feedback", view)
                st.success(_("Done: the Human feedback page now compares against the class's model."))
