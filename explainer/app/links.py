"""Teacher links: a page's settings live in its URL, so a copied link opens the same view.

A page draws each setting with one call here instead of st.<widget>:

    steps = links.select_slider(c2, "Training steps", STEP_CHOICES, 600, key="pt_steps", param="steps")

- On the session's first draw, the value comes from `?steps=...` when it is there and valid; a bad
  or out-of-range one is ignored with a short warning naming it, and the default applies.
- After each draw the value goes back into the URL, only when it differs from the default (short
  links): `?steps=200`.
- `?steps_hide=1` hides the control (its value from the URL, or the default, still applies), as
  TensorFlow Playground's `*_hide` flags do: a teacher makes a simplified exercise.

The sidebar's "Link to this view" (`share_panel`) shows the current page's link without the
teacher key, job ids and presentation mode, and picks the charts' download format (PNG or SVG).
The widget's value is kept in st.session_state under `key` (set before the widget's first draw,
never also passed as `value=`, so Streamlit has one source of truth and no warning).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..i18n import _
from ..views.charts import local

PRIVATE = ("key", "job", "sft_job", "fb_job", "sim_job", "present")   # never in a shared link
HIDE = "_hide"
CHART_FORMATS = ("png", "svg")
_SEEN = "_links_seen"       # session_state: the parameters whose URL value was read already
_SLOT = "_links_slot"       # session_state: the sidebar's link box, rewritten after each change
_SHAPES = "_links_shapes"   # session_state: each slider's (min, max, step) in the last run


# ---------------------------------------------------------------------------------------------
# One URL parameter


@dataclass(frozen=True)
class Param:
    """A URL parameter: its name, the value when it is absent, and its text <-> value mapping
    (`parse` raises ValueError saying why a text is no value)."""
    name: str
    default: Any
    parse: Callable[[str], Any]
    text: Callable[[Any], str] = str


def choice(name: str, options: Sequence, default, names: Callable[[Any], str] = str) -> Param:
    """One of `options`, written as names(option):

    >>> p = choice("size", ["tiny", "small"], "small")
    >>> p.parse("tiny"), p.text("tiny")
    ('tiny', 'tiny')
    >>> p.parse("huge")
    Traceback (most recent call last):
    ValueError: not one of tiny, small
    """
    by_name = {names(o): o for o in options}

    def parse(raw: str):
        if raw not in by_name:
            shown = list(by_name)
            raise ValueError(_("not one of {values}").format(
                values=", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "")))
        return by_name[raw]
    return Param(name, default, parse, names)


def number(name: str, lo, hi, default, step=None) -> Param:
    """An int (if `default` is one) or a float in [lo, hi], on the slider's steps:

    >>> number("temperature", 0.0, 2.0, 0.8, 0.1).parse("1.25")
    1.2
    >>> number("top_k", 1, 100, 40).parse("400")
    Traceback (most recent call last):
    ValueError: outside 1 to 100
    """
    integer = isinstance(default, int) and not isinstance(default, bool)

    def show(v) -> str:                    # 10000, 0.8 (not 1e+04, 0.8000000000000002)
        return str(int(v)) if integer else f"{v:.10g}"

    def parse(raw: str):
        try:
            v = int(raw) if integer else float(raw)
        except ValueError:
            raise ValueError(_("not a whole number") if integer else _("not a number")) from None
        if not lo <= v <= hi:              # also refuses nan
            raise ValueError(_("outside {lo} to {hi}").format(lo=show(lo), hi=show(hi)))
        if step and not integer:           # the nearest step: 1.25 on a 0.1 slider is 1.2
            v = round(lo + round((v - lo) / step) * step, 10)
        return v
    return Param(name, default, parse, show)


def text(name: str, default: str, max_chars: int | None = None) -> Param:
    def parse(raw: str) -> str:
        if max_chars is not None and len(raw) > max_chars:
            raise ValueError(_("longer than {n} characters").format(n=local(f"{max_chars:,}")))
        return raw
    return Param(name, default, parse)


def flag(name: str, default: bool) -> Param:
    """On or off: 1/0, true/false, yes/no, on/off."""
    words = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}

    def parse(raw: str) -> bool:
        if raw.lower() not in words:
            raise ValueError(_("not 1 or 0"))
        return words[raw.lower()]
    return Param(name, default, parse, lambda v: "1" if v else "0")


# ---------------------------------------------------------------------------------------------
# Reading and writing the URL


def hidden(name: str) -> bool:
    """Whether the link hides this parameter's control (`?<name>_hide=1`)."""
    return (st.query_params.get(name + HIDE) or "").lower() in ("1", "true", "yes", "on")


def from_url(p: Param, where=st, once: bool = True) -> tuple[bool, Any]:
    """(True, value) if the URL holds a valid value for `p`, else (False, p.default). With
    `once`, only the session's first look counts (later a new widget starts at its default); a
    bad value is then named in a warning at `where`."""
    seen = st.session_state.setdefault(_SEEN, set())
    if once and p.name in seen:
        return False, p.default
    first = p.name not in seen
    seen.add(p.name)
    raw = st.query_params.get(p.name)
    if raw is None:
        return False, p.default
    try:
        return True, p.parse(raw)
    except ValueError as e:
        if first:
            default = p.text(p.default)
            setting = f"{p.name}={_short(raw)}"
            where.warning(_("The link's `{setting}` was ignored ({reason}); the default `{default}` applies.")
                          .format(setting=setting, reason=e, default=_short(default)) if default else
                          _("The link's `{setting}` was ignored ({reason}); it stays empty.")
                          .format(setting=setting, reason=e), icon="🔗")
        return False, p.default


def _short(s: str, n: int = 40) -> str:
    return (s if len(s) <= n else s[:n - 3] + "...").replace("`", "'")


def write(p: Param, value) -> None:
    """Put `value` into the URL, or take the parameter out when it is the default."""
    want = None if value == p.default else p.text(value)
    if st.query_params.get(p.name) == want:
        return
    if want is None:
        del st.query_params[p.name]
    else:
        st.query_params[p.name] = want
    _show_link()


def bound(p: Param, key: str, draw: Callable[..., Any], where=st, keep: bool = False):
    """Draw a widget (draw(**kwargs), with the widget's key among them) whose value is
    linked to the URL parameter `p`; returns its value.

    keep=True: the value also outlives a page switch (the sidebar's settings), kept under `key`
    while the widget itself has the key "_<key>".
    """
    if hidden(p.name):
        value = from_url(p, where, once=False)[1]
        st.session_state[key] = value           # pages may read a setting by its key
        return value
    if key not in st.session_state:
        st.session_state[key] = from_url(p, where)[1]
    elif p.name not in st.session_state.get(_SEEN, ()):
        found, value = from_url(p, where)      # a kept value, but this session's link says otherwise
        if found:
            st.session_state[key] = value
    if keep:
        st.session_state["_" + key] = st.session_state[key]

        def store():
            st.session_state[key] = st.session_state["_" + key]
        value = draw(key="_" + key, on_change=store)
    else:
        value = draw(key=key)
    write(p, value)
    return value


# ---------------------------------------------------------------------------------------------
# The widgets (one call each); `where` is st, st.sidebar or a column


def selectbox(where, label: str, options: Sequence, default=None, *, key: str, param: str,
              names: Callable[[Any], str] = str, **kw):
    p = choice(param, options, options[0] if default is None else default, names)
    return bound(p, key, lambda **k: where.selectbox(label, options, **kw, **k), where)


def radio(where, label: str, options: Sequence, default=None, *, key: str, param: str,
          names: Callable[[Any], str] = str, **kw):
    p = choice(param, options, options[0] if default is None else default, names)
    return bound(p, key, lambda **k: where.radio(label, options, **kw, **k), where)


def select_slider(where, label: str, options: Sequence, default, *, key: str, param: str, **kw):
    p = choice(param, options, default)
    return bound(p, key, lambda **k: where.select_slider(label, options, **kw, **k), where)


def slider(where, label: str, lo, hi, default, step=None, *, key: str, param: str, **kw):
    p = number(param, lo, hi, default, step)
    shapes = st.session_state.setdefault(_SHAPES, {})
    if shapes.get(key, (lo, hi, step)) != (lo, hi, step) and key in st.session_state:
        # Streamlit makes a slider with a new range a new widget, at its own default (the
        # minimum, as no value= is given): start it at the page's default instead, as before.
        st.session_state[key] = default
    shapes[key] = (lo, hi, step)
    return bound(p, key, lambda **k: where.slider(label, lo, hi, step=step, **kw, **k), where)


def number_input(where, label: str, lo: int, hi: int, default: int, *, key: str, param: str, **kw):
    p = number(param, lo, hi, default)
    return bound(p, key, lambda **k: where.number_input(label, lo, hi, **kw, **k), where)


def text_input(where, label: str, default: str, *, key: str, param: str, area: bool = False,
               max_chars: int | None = None, **kw):
    draw = where.text_area if area else where.text_input
    p = text(param, default, max_chars)
    return bound(p, key, lambda **k: draw(label, max_chars=max_chars, **kw, **k), where)


def toggle(where, label: str, default: bool, *, key: str, param: str, box: bool = False, **kw):
    """A toggle (box=True: a checkbox)."""
    draw = where.checkbox if box else where.toggle
    return bound(flag(param, default), key, lambda **k: draw(label, **kw, **k), where)


def kept_number(name: str, key: str, default: int = 0) -> int:
    """A counter in st.session_state (not a widget) that a link carries, e.g. the Human feedback
    page's round of answers: read once from the URL, written back each run."""
    p = number(name, 0, 1_000_000, default)
    if key not in st.session_state:
        st.session_state[key] = from_url(p)[1]
    write(p, st.session_state[key])
    return st.session_state[key]


# ---------------------------------------------------------------------------------------------
# The sidebar: the link, the charts' download format


def link() -> str:
    """This page's address with its settings, without what is private to this browser (the
    teacher key, job ids, presentation mode): `http://host/Pretraining?steps=200`, or `?steps=200`
    where the server does not know the address (tests)."""
    base = (st.context.url or "").split("?")[0].split("#")[0]
    query = urlencode([(k, v) for k in st.query_params if k not in PRIVATE
                       for v in st.query_params.get_all(k)])
    return base + ("?" + query if query else "") or _("(this page, no settings changed)")


def begin() -> None:
    """Call at the start of every full page run: the link box of the last run is gone."""
    st.session_state.pop(_SLOT, None)


def _show_link() -> None:
    slot = st.session_state.get(_SLOT)
    ctx = get_script_run_ctx()
    if slot is None or (ctx is not None and ctx.fragment_ids_this_run):
        return                          # a fragment's rerun: the next full run shows the link
    try:
        slot.code(link(), language=None, wrap_lines=True)
    except StreamlitAPIException:       # then the next full run shows it
        pass


def chart_format() -> str:
    """"png" or "svg": what the charts' camera button downloads."""
    return st.session_state.get("chart_format", CHART_FORMATS[0])


def share_panel() -> None:
    """Sidebar: the link to this view (with Streamlit's copy button) and the chart format."""
    st.subheader(_("Link to this view"))
    st.caption(_("Students who open it see this page as you set it (your teacher key and your "
                 "training runs stay out). Add `<setting>_hide=1` to hide a control."))
    st.session_state[_SLOT] = st.empty()
    _show_link()
    p = choice("download", CHART_FORMATS, CHART_FORMATS[0])
    bound(p, "chart_format", lambda **k: st.radio(
        _("Chart downloads (the 📷 button on a chart)"), CHART_FORMATS, format_func=str.upper,
        horizontal=True, help=_("PNG for slides, SVG to scale without blur."), **k), keep=True)
