"""Where training text comes from, and what we can say about it.

    get_corpus("everyday")   the generated Everyday English corpus (everyday.py)
    get_corpus("pydocs")     Python's own help texts, shipped with every CPython (pydoc_data)
    user_text(upload)        a user's .txt/.md upload or pasted text, checked with clear errors
    split(text)              a deterministic train/validation split on document boundaries
    corpus_stats(text)       sizes, vocabulary, repetition, and the flash-flood counts

Nothing here downloads anything: the app must work offline.
"""
from __future__ import annotations

import functools
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ..i18n import N_, _, current, number
from .everyday import FLOOD_PHRASE, Doc, everyday_english


class CorpusError(ValueError):
    """A text cannot be used for training; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Corpus:
    key: str
    title: str
    text: str
    description: str


# --- built-in corpora -------------------------------------------------------------------------

CORPORA = {                                     # titles: data (a model's facts name them); shown: _()
    "everyday": N_("Everyday English"),
    "pydocs": N_("Python documentation"),
}
_DESCRIPTIONS = {
    "everyday": N_("About 1.2 MB of simple generated English: weather bulletins, short stories "
                   "with named characters, food, animals, daily routines, facts and letters. "
                   "Made for the flash-flood and name-copying demos."),
    "pydocs": N_("Python's built-in help pages (the text `help()` shows for keywords and topics), "
                 "which ship with every Python installation. Real, technical English."),
}


def python_docs() -> str:
    """The `pydoc_data.topics` help texts, one document per topic, in sorted topic order."""
    from pydoc_data.topics import topics
    return "\n\n".join(topics[k].strip() for k in sorted(topics))


@functools.lru_cache(maxsize=None)
def get_corpus(key: str) -> Corpus:
    """A built-in corpus by key ("everyday" or "pydocs"); built once per process."""
    if key not in CORPORA:
        raise CorpusError(f"Unknown corpus {key!r}. Valid keys: {', '.join(CORPORA)}.")
    text = everyday_english() if key == "everyday" else python_docs()
    return Corpus(key, CORPORA[key], text, _DESCRIPTIONS[key])


# --- user text --------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
# Control characters other than tab, newline, carriage return and form feed. Real text has
# almost none; more than this share means a binary file that happens to decode.
_CONTROL_SHARE_MAX = 0.02


def user_text(data: bytes | str, max_bytes: int = 20_000_000, min_bytes: int = 2048) -> str:
    """Check an uploaded or pasted text and return it clean (no BOM, "\\n" line ends).

    Raises CorpusError for empty, binary, non-UTF-8, too short or too large input.

    >>> user_text(b"\\xef\\xbb\\xbfHello\\r\\nworld. " * 300)[:13]
    'Hello\\nworld. '
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as e:
            raise CorpusError(_("The text contains an invalid character at position {position} "
                                "(a lone surrogate). Copy the text again from its source.").format(
                position=e.start)) from None
    else:
        raw = bytes(data)
    if not raw:
        raise CorpusError(_("The text is empty. Upload a .txt or .md file or paste some text."))
    if len(raw) > max_bytes:
        raise CorpusError(_("The text is too large: {size}, and the cap is {cap}. Use a part of "
                            "it, or raise the cap (max_bytes is configurable).").format(
            size=_size(len(raw)), cap=_size(max_bytes)))
    bom = raw.startswith(_BOM)
    if bom:
        raw = raw[len(_BOM):]
    if b"\x00" in raw:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise CorpusError(_("This looks like a binary file, not text (it contains NUL bytes). "
                                "It looks like UTF-16: save it as UTF-8 instead. Upload a plain "
                                ".txt or .md file."))
        raise CorpusError(_("This looks like a binary file, not text (it contains NUL bytes). "
                            "Upload a plain .txt or .md file."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        offset = e.start + (len(_BOM) if bom else 0)
        raise CorpusError(_("The text is not valid UTF-8: the byte at offset {offset} ({byte}) "
                            "cannot be decoded. Save the file with the UTF-8 encoding (most "
                            "editors offer it under 'Save as') and try again.").format(
            offset=offset, byte=f"0x{raw[e.start]:02x}")) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for c in text if c not in "\t\n\f" and unicodedata.category(c) == "Cc")
    if controls > _CONTROL_SHARE_MAX * len(text):
        raise CorpusError(_("This looks like a binary file, not text: {controls} of its "
                            "{characters} characters are control characters. Upload a plain "
                            ".txt or .md file.").format(controls=number(controls, "#,##0"),
                                                        characters=number(len(text), "#,##0")))
    if not text.strip():
        raise CorpusError(_("The text contains only whitespace. Upload or paste some real text."))
    n = len(text.encode("utf-8"))
    if n < min_bytes:
        raise CorpusError(_("The text is too short: it has {n} bytes, but at least {min} bytes "
                            "(about a page) are needed to train on. Add more text.").format(
            n=number(n, "#,##0"), min=number(min_bytes, "#,##0")))
    return text


def _size(n: int) -> str:
    """12_500_000 -> '12.5 MB'; 2048 -> '2.0 KB'."""
    return f"{number(n / 1e6, '0.0')} MB" if n >= 1e6 else f"{number(n / 1e3, '0.0')} KB"


# --- train / validation split -----------------------------------------------------------------

def split(text: str, val_fraction: float = 0.1, seed: int = 0) -> tuple[str, str]:
    """Deterministic train/validation split on document boundaries ("\\n\\n").

    Documents are shuffled with Random(seed); validation takes documents from the end of the
    shuffled list until it holds `val_fraction` of the characters. Each part keeps the original
    document order. Text with few documents (or one huge one) is instead cut at the
    (1 - val_fraction) point, on a line boundary.

    >>> split("a\\n\\nb\\n\\nc\\n\\nd\\n\\ne\\n\\nf\\n\\ng\\n\\nh\\n\\ni\\n\\nj", 0.2)
    ('a\\n\\nb\\n\\nc\\n\\nd\\n\\ne\\n\\nf\\n\\nh\\n\\ni', 'g\\n\\nj')
    """
    docs = [d for d in text.split("\n\n") if d.strip()]
    if len(docs) >= 10:
        order = list(range(len(docs)))
        random.Random(seed).shuffle(order)
        target = val_fraction * sum(len(d) for d in docs)
        val_ids: set[int] = set()
        size = 0
        while order and size < target:
            i = order.pop()
            val_ids.add(i)
            size += len(docs[i])
        # A single huge document can swallow the budget; then a document split is lopsided.
        if order and size <= 2 * target:
            train = "\n\n".join(d for i, d in enumerate(docs) if i not in val_ids)
            val = "\n\n".join(d for i, d in enumerate(docs) if i in val_ids)
            return train, val
    return _split_chars(text, val_fraction)


def _split_chars(text: str, val_fraction: float) -> tuple[str, str]:
    """Cut at the (1 - val_fraction) point, moved to the nearest line break if there is one."""
    cut = int(len(text) * (1 - val_fraction))
    before = text.rfind("\n", 0, cut)
    after = text.find("\n", cut)
    if before > len(text) // 2:
        cut = before + 1
    elif 0 <= after < len(text) - 1 and text[after + 1:].strip():
        cut = after + 1
    return text[:cut], text[cut:]


# --- statistics -------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# A sentence ends at . ! or ? (possibly inside a closing quote) followed by space and not by a
# lower-case word ('"Really?" she asked.' is one sentence), or at a line break.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')]))\s+(?![a-z])|\n+")
_FLOOD_NEXT = re.compile(re.escape(FLOOD_PHRASE) + r" (\w+)")


@dataclass(frozen=True)
class CorpusStats:
    bytes: int
    characters: int
    words: int
    distinct_words: int               # case-insensitive
    sentences: int
    distinct_sentences: int
    top_sentence_share: float         # share of all sentences taken by the most frequent one
    top_sentence: str
    domains: dict[str, int] = field(default_factory=dict)        # domain -> bytes (Everyday)
    flash_flood: dict[str, int] = field(default_factory=dict)    # word after FLOOD_PHRASE -> n


def sentences(text: str) -> list[str]:
    """Split text into sentences (good enough for statistics, not for linguistics).

    >>> sentences('It rained. "Really?" she asked.\\nYes!')
    ['It rained.', '"Really?" she asked.', 'Yes!']
    """
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def flash_flood_continuations(text: str) -> dict[str, int]:
    """Count the words after "A flash flood watch will be in effect all", most frequent first.

    >>> flash_flood_continuations("A flash flood watch will be in effect all night for Lee County.")
    {'night': 1}
    """
    return dict(Counter(_FLOOD_NEXT.findall(text)).most_common())


def domain_stats(docs: list[Doc]) -> dict[str, int]:
    """Bytes per domain, largest first: [Doc("weather", "Rain.")] -> {"weather": 5}."""
    counts: Counter[str] = Counter()
    for d in docs:
        counts[d.domain] += len(d.text.encode("utf-8"))
    return dict(counts.most_common())


def corpus_stats(text: str, docs: list[Doc] | None = None) -> CorpusStats:
    """Statistics of a text; pass the Everyday documents to get per-domain byte counts too."""
    words = [w.lower() for w in _WORD.findall(text)]
    sents = Counter(sentences(text))
    n_sents = sum(sents.values())
    top, top_n = sents.most_common(1)[0] if sents else ("", 0)
    return CorpusStats(
        bytes=len(text.encode("utf-8")), characters=len(text), words=len(words),
        distinct_words=len(set(words)), sentences=n_sents, distinct_sentences=len(sents),
        top_sentence_share=top_n / n_sents if n_sents else 0.0, top_sentence=top,
        domains=domain_stats(docs) if docs else {},
        flash_flood=flash_flood_continuations(text),
    )


def describe_stats(stats: CorpusStats) -> list[tuple[str, str]]:
    """(label, formatted value) rows for a table in the app, in the current language."""
    count = lambda n: number(n, "#,##0")          # noqa: E731
    rows = [
        (_("Size"), _("{size} ({n} bytes)").format(size=_size(stats.bytes), n=count(stats.bytes))),
        (_("Characters"), count(stats.characters)),
        (_("Words"), count(stats.words)),
        (_("Distinct words"), count(stats.distinct_words)),
        (_("Sentences"), _("{n} ({distinct} distinct)").format(n=count(stats.sentences),
                                                               distinct=count(stats.distinct_sentences))),
        (_("Most repeated sentence"), _("{share} of sentences: \"{sentence}\"").format(
            share=_percent(stats.top_sentence_share, 2), sentence=_short(stats.top_sentence))),
    ]
    for domain, n in stats.domains.items():
        rows.append((_("Domain: {domain}").format(domain=domain),
                     _("{share} ({n} bytes)").format(share=_percent(n / stats.bytes, 1),
                                                     n=count(n))))
    if stats.flash_flood:
        total = sum(stats.flash_flood.values())
        rows.append((_("After \"{phrase} ...\"").format(phrase=FLOOD_PHRASE), ", ".join(
            f"{w} {_percent(n / total, 0)} ({count(n)})" for w, n in stats.flash_flood.items())))
    return rows


def _percent(fraction: float, decimals: int) -> str:
    """0.2 -> '20.0%' (en), '20,0\u00a0%' (es, de): the language's own percent pattern.

    >>> _percent(0.123, 1)
    '12.3%'
    """
    from babel import Locale
    from babel.numbers import format_percent
    pattern = Locale.parse(current()).percent_formats[None].pattern
    pattern = pattern.replace("#,##0", "#,##0" + ("." + "0" * decimals if decimals else ""), 1)
    return format_percent(fraction, format=pattern, locale=current())


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
