"""Translations: every string a learner reads passes through `_()` and comes out in their language.

The catalogs are gettext `.po` files under version control, one per area of the app and language
(`explainer/i18n/es/tokens.po`, `.../de/tokens.po`; `catalogs.AREAS` says which source files each
area covers). They are read once per language at start with Babel (no compile step, no .mo files).
English is the source language: an English session never reads a catalog.

    >>> with language("es"):
    ...     _("Tokens")
    'Tokens'
    >>> number(1234567.5, "#,##0.0"), with_language("de", number, 1234567.5, "#,##0.0")
    ('1,234,567.5', '1.234.567,5')

Which language is current: inside `with language(code):` that one (notebooks, tests, CLI); else
whatever the hook set by `use()` answers (the Streamlit app: the session's choice); else English.
Module-level texts are marked with `N_()` (found by the extractor, translated where drawn).
The model's own text is never translated: it writes what it learned, in English.
"""
from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

LANGUAGES = {"en": "English", "es": "Español", "de": "Deutsch"}   # code -> its own name
SOURCE = "en"
HERE = Path(__file__).resolve().parent

_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("language", default=None)
_hook: Callable[[], str | None] | None = None


def use(hook: Callable[[], str | None] | None) -> None:
    """Where the current language comes from outside a `with language(...)` block."""
    global _hook
    _hook = hook


def current() -> str:
    code = _chosen.get()
    if code is None and _hook is not None:
        try:
            code = _hook()
        except Exception:           # no session (a thread of its own): the source language
            code = None
    return code if code in LANGUAGES else SOURCE


@contextmanager
def language(code: str):
    token = _chosen.set(code if code in LANGUAGES else SOURCE)
    try:
        yield
    finally:
        _chosen.reset(token)


def with_language(code: str, fn: Callable, *args, **kw):
    with language(code):
        return fn(*args, **kw)


def best_match(accepted: str | None) -> str | None:
    """The first of the browser's languages we have: 'de-CH' -> 'de', 'fr, es;q=0.8' -> 'es'.

    >>> best_match("de-CH"), best_match("fr-FR,es;q=0.8"), best_match("fr"), best_match(None)
    ('de', 'es', None, None)
    """
    for part in (accepted or "").split(","):
        code = part.split(";")[0].strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return None


# ---------------------------------------------------------------------------------------------
# Catalogs


@functools.cache
def catalog(code: str) -> dict[str, str | tuple[str, ...]]:
    """msgid (or a plural's singular) -> translation, from every .po file of the language;
    untranslated and fuzzy entries are left out (they show in English)."""
    from babel.messages.pofile import read_po
    found: dict[str, str | tuple[str, ...]] = {}
    for path in sorted((HERE / code).glob("*.po")):
        with path.open("rb") as f:
            for m in read_po(f, locale=code):
                if not m.id or m.fuzzy:
                    continue
                key = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
                value = tuple(m.string) if isinstance(m.string, (tuple, list)) else m.string
                if (all(value) if isinstance(value, tuple) else value):
                    found[key] = value
    return found


def _(message: str) -> str:
    """`message` in the current language (itself if there is no translation yet)."""
    code = current()
    if code == SOURCE:
        return message
    found = catalog(code).get(message)
    return found if isinstance(found, str) else message


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; `_()` translates it where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """'1 step' / '2 steps' in any language (Spanish and German: one form for 1, one for the rest).

    >>> ngettext("{n} step", "{n} steps", 2).format(n=2)
    '2 steps'
    """
    code = current()
    found = catalog(code).get(singular) if code != SOURCE else None
    if isinstance(found, tuple):
        from babel import Locale
        index = Locale.parse(code).plural_form(n)
        forms = ["one", "two", "few", "many", "other"]
        return found[0] if index == "one" else found[min(len(found) - 1, 1 if index == "other"
                                                              else forms.index(index))]
    return singular if n == 1 else plural


# ---------------------------------------------------------------------------------------------
# Numbers


def number(x: float, fmt: str | None = None) -> str:
    """A number as the current language writes it: 1,234.5 (en), 1.234,5 (de), 1234,5 (es:
    Spanish groups only from five digits). `fmt` is a Unicode/Babel pattern such as '#,##0.0'."""
    from babel.numbers import format_decimal
    return format_decimal(x, format=fmt, locale=current())


def percent(fraction: float, fmt: str = "#,##0%") -> str:
    """0.25 -> '25%' (en), '25 %' (es, de)."""
    from babel.numbers import format_percent
    return format_percent(fraction, format=fmt, locale=current())
