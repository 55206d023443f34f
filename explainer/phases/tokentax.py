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

BYTES = "UTF-8 bytes"
APP, GPT4, SMOL = "This app's BPE", "GPT-4 (cl100k)", "SmolLM2"
PUBLISHED_MAX = 15          # Petrov et al. 2023, the largest gap they measured
PUBLISHED = ("Petrov et al. (2023) measured up to 15 times as many tokens for the same text in one "
             "language as in another")


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
    """A ratio as a reader says it: 5.111 -> '5.1', 1.0 -> '1.0', 12.04 -> '12'."""
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def costs_text(rows: Sequence[TaxRow], name: str, language: str = "Hindi") -> str:
    """'in SmolLM2, Hindi costs 5.1 times English (92 tokens against 18)'."""
    r, en = row_of(rows, language), rows[0]
    return (f"in {name}, {language} costs {times(r.ratio[name])} times {en.language} "
            f"({r.tokens[name]} tokens against {en.tokens[name]})")


def headline(rows: Sequence[TaxRow], name: str, language: str = "Hindi") -> str:
    """costs_text as a sentence of its own: 'In SmolLM2, Hindi costs 5.1 times English (...).'"""
    said = costs_text(rows, name, language)
    return said[0].upper() + said[1:] + "."


def widest(rows: Sequence[TaxRow], names: Sequence[str]) -> tuple[float, str, str]:
    """The largest ratio to English among `names`: (ratio, language, tokenizer name)."""
    return max((r.ratio[n], r.language, n) for r in rows[1:] for n in names)


def beside_published(rows: Sequence[TaxRow], names: Sequence[str]) -> str:
    """One sentence: what this table shows beside Petrov et al.'s 15 times."""
    hi, lang, name = widest(rows, names)
    lo = min(rows[1:], key=lambda r: r.ratio[name])
    said = "this app's BPE" if name == APP else name          # mid-sentence
    return (f"{PUBLISHED}; on this one note ours shows up to {times(hi)} times, for {lang} in "
            f"{said} (and {times(lo.ratio[name])} times for {lo.language} in the same tokenizer).")
