"""The token tax: the same note in eleven languages, and how many tokens each tokenizer needs.

A model is paid for (in time, memory, money and context window) by the token, so a language that
needs more tokens for the same message pays more and fits less into the window. The notes are in
corpus/languages.py (English is the source); the tokenizers are this app's BPE (learned from
Everyday English, the shipped base model's), GPT-4's cl100k_base and, where it is installed,
SmolLM2's. UTF-8 bytes come along as the yardstick every byte-level tokenizer starts from.

    >>> from explainer.gpt.tokenizer import cl100k
    >>> rows = token_tax([("GPT-4", cl100k())])
    >>> rows[0].language, rows[0].tokens["GPT-4"], rows[0].ratio["GPT-4"]
    ('English', 18, 1.0)

Reference: Petrov, La Malfa, Torr & Bibi 2023, "Language Model Tokenizers Introduce Unfairness
Between Languages" (NeurIPS): on FLORES-200's parallel sentences, the same text took up to 15
times as many tokens in one language as in another.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..corpus.languages import NOTES, Note
from ..gpt.paramfile import models_dir, read_metadata
from ..gpt.tokenizer import Tokenizer, cl100k
from ..i18n import N_, _, current, number

# Names that are keys (of TaxRow.tokens, table columns, chart series) stay English; where they are
# shown, `shown()` translates the two that are words rather than names.
BYTES = N_("UTF-8 bytes")
APP, GPT4, SMOL = N_("This app's BPE"), "GPT-4 (cl100k)", "SmolLM2"
PUBLISHED_MAX = 15          # Petrov et al. 2023, the largest gap they measured
PUBLISHED = N_("Petrov et al. (2023) measured up to 15 times as many tokens for the same text in one "
               "language as in another")
# The notes' languages by their English names (as corpus/languages.py names them), to their codes:
# a language's name in the learner's language comes from Babel's locale data, not the catalogs
CODES = {n.language: n.code for n in NOTES}


@dataclass(frozen=True)
class TaxRow:
    language: str
    text: str
    tokens: dict[str, int]      # tokenizer name (and BYTES) -> how many for this text
    ratio: dict[str, float]     # the same keys: tokens / the English note's


# --------------------------------------------------------------------------------------------------
# The tokenizers


def base_tokenizer(path: str | Path | None = None) -> Tokenizer:
    """The shipped base model's BPE, from its file's header alone (no weights read);
    ParamFileError (saying which file) if there is none."""
    meta = read_metadata(path or models_dir() / "base.safetensors")
    return Tokenizer.from_metadata(meta["tokenizer"])


def tokenizers(smol: Tokenizer | None = None, base: Tokenizer | None = None) -> list[tuple[str, Tokenizer]]:
    """[(name, tokenizer)]: this app's (the shipped base model's unless `base` is given), GPT-4's,
    and SmolLM2's when the caller has it (explainer.real.smollm.tokenizer(), which lives a room up)."""
    out = [(APP, base or base_tokenizer()), (GPT4, cl100k())]
    return out + [(SMOL, smol)] if smol is not None else out


def real_llm(names: Sequence[str]) -> str:
    """The real LLM a headline speaks of: SmolLM2 where it was counted, else GPT-4."""
    return SMOL if SMOL in names else GPT4


# --------------------------------------------------------------------------------------------------
# Counting


def token_tax(toks: Sequence[tuple[str, Tokenizer]], notes: Sequence[Note] = NOTES) -> list[TaxRow]:
    """One row per note: its tokens under each tokenizer and in UTF-8 bytes, and each count divided
    by the first note's (English). 18 tokens in English, 92 in Hindi -> Hindi's ratio 5.11."""
    counts = [{BYTES: len(n.text.encode("utf-8")), **{name: len(t.encode(n.text)) for name, t in toks}}
              for n in notes]
    first = counts[0]
    return [TaxRow(n.language, n.text, c, {k: v / first[k] for k, v in c.items()})
            for n, c in zip(notes, counts)]


def row_of(rows: Sequence[TaxRow], language: str) -> TaxRow:
    for r in rows:
        if r.language == language:
            return r
    raise ValueError(f"no note in {language!r}: the languages are {', '.join(r.language for r in rows)}")


def times(x: float) -> str:
    """A ratio as a reader says it: 5.111 -> '5.1', 1.0 -> '1.0', 12.04 -> '12' (in German
    '5,1': the digits are rounded first, then written as the current language writes them)."""
    said = f"{x:.0f}" if x >= 10 else f"{x:.1f}"
    return number(float(said), "#,##0" if x >= 10 else "0.0")


def shown(name: str) -> str:
    """A tokenizer's or a note's language's name as the learner reads it (the keys stay English):
    'Hindi' in English, 'hindi' in Spanish; 'UTF-8 bytes', 'bytes UTF-8'."""
    code, lang = CODES.get(name), current()
    if code is None or lang == "en":
        return _(name)
    from babel import Locale
    return Locale.parse(lang).languages.get(code, name)


def label(name: str) -> str:
    """shown(), starting with a capital: for a table cell or an axis ('hindi' in a Spanish sentence,
    'Hindi' as a label)."""
    said = shown(name)
    return said[:1].upper() + said[1:]


def _costs(rows: Sequence[TaxRow], name: str, language: str) -> dict:
    r, en = row_of(rows, language), rows[0]
    return dict(tokenizer=name, language=shown(language), times=times(r.ratio[name]),
                english=shown(en.language), tokens=r.tokens[name], english_tokens=en.tokens[name])


def costs_text(rows: Sequence[TaxRow], name: str, language: str = "Hindi") -> str:
    """'in SmolLM2, Hindi costs 5.1 times English (92 tokens against 18)'."""
    return _("in {tokenizer}, {language} costs {times} times {english} "
             "({tokens} tokens against {english_tokens})").format(**_costs(rows, name, language))


def headline(rows: Sequence[TaxRow], name: str, language: str = "Hindi") -> str:
    """costs_text as a sentence of its own: 'In SmolLM2, Hindi costs 5.1 times English (...).'"""
    return _("In {tokenizer}, {language} costs {times} times {english} "
             "({tokens} tokens against {english_tokens}).").format(**_costs(rows, name, language))


def widest(rows: Sequence[TaxRow], names: Sequence[str]) -> tuple[float, str, str]:
    """The largest ratio to English among `names`: (ratio, language, tokenizer name)."""
    return max((r.ratio[n], r.language, n) for r in rows[1:] for n in names)


def beside_published(rows: Sequence[TaxRow], names: Sequence[str]) -> str:
    """One sentence: what this table shows beside Petrov et al.'s 15 times."""
    hi, lang, name = widest(rows, names)
    lo = min(rows[1:], key=lambda r: r.ratio[name])
    said = _("this app's BPE") if name == APP else name       # mid-sentence
    return _("{published}; on this one note ours shows up to {most} times, for {language} in "
             "{tokenizer} (and {least} times for {other} in the same tokenizer).").format(
        published=_(PUBLISHED), most=times(hi), language=shown(lang), tokenizer=said,
        least=times(lo.ratio[name]), other=shown(lo.language))
