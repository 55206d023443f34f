"""The real model beside the learner's: what each was trained on, the real assistant's answer
with and without its chat template, and the window sizes to slide over its 8,192-token context.
Plain data out; the pages (explainer/app/real.py) and the notebooks (explainer/notebook.py) draw it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import i18n
from ..gpt.tokenizer import printable
from ..i18n import _
from ..phases.context import window_sizes
from ..views.charts import local, percent_text
from . import smollm

CURVE_POINTS = 8        # windows on the curve for SmolLM2 (40 for ours): each is a forward pass


def is_real(loaded) -> bool:
    """The real model (a Llama read from its GGUF), not one of ours."""
    return loaded.facts.get("architecture") == "llama"


def trained_on(loaded) -> tuple[str, int, int]:
    """(what it read, parameters, tokens seen). Ours: from the facts its file carries. SmolLM2:
    its published model card (2 trillion tokens; the GGUF does not say)."""
    if is_real(loaded):
        return (_("2 trillion tokens of web pages, school-level text, code and maths (its published "
                  "model card), then question/answer tuning"), loaded.model.num_params(), smollm.TRAINED_TOKENS)
    tokens = int(loaded.facts.get("tokens_trained") or 0)
    corpus = loaded.facts.get("corpus")
    return (_("{n} tokens of {corpus}").format(n=i18n.number(tokens, "#,##0"),
                                               corpus=_(corpus) if corpus else _("its corpus")),
            loaded.model.num_params(), tokens)


@dataclass(frozen=True)
class RealReply:
    prompt_ids: list[int]
    text: str
    ended: bool            # stopped by itself (<|im_end|> or <|endoftext|>) within the budget


def real_answer(real, question: str, template: bool = True, max_new_tokens: int = 60) -> RealReply:
    """The real model's greedy answer to `question`: inside its chat template (system, user and
    assistant turns), or as bare text after <|endoftext|>, which it can only continue."""
    tok = real.tokenizer
    ids = (smollm.chat_ids(tok, [("user", question)]) if template
           else [tok.eot_id] + tok.encode(question))
    stop = (tok.special_tokens[smollm.IM_END], tok.eot_id)
    out = list(real.model.generate(ids, max_new_tokens, temperature=0.0, stop_ids=stop))
    ended = bool(out) and out[-1] in stop
    return RealReply(ids, tok.decode([i for i in out if i not in stop]).strip(), ended)


def chance_text(c) -> str:
    """A candidate word's chance and the rank of its first token (scoring.CandidateScore):
    "68.6% (#1)", "<0.000001% (#39,094)", "0% (#-)" for an empty word."""
    return f"{percent_text(c.prob)} (#{'-' if c.rank is None else local(f'{c.rank:,}')})"


def scale_text(loaded, real) -> str:
    """How much bigger the real model is than ours, in parameters and in tokens read."""
    (_w0, p0, t0), (_w1, p1, t1) = trained_on(loaded), trained_on(real)
    return (_("{name} has {p} times the parameters and saw {t} times the tokens. Same recipe, guess "
              "the next token; only the scale differs.").format(
                name=smollm.NAME, p=i18n.number(p1 / p0, "#,##0"), t=i18n.number(t1 / t0, "#,##0")) if t0
            else _("{name} has {p} times the parameters and saw vastly more tokens. Same recipe, guess "
                   "the next token; only the scale differs.").format(
                name=smollm.NAME, p=i18n.number(p1 / p0, "#,##0")))


def pieces(tok, ids) -> list[tuple[str, int, bytes]]:
    """(printable text, id, bytes) per token, specials by name: for views.tokens.token_pieces_html."""
    names = {v: k for k, v in tok.special_tokens.items()}
    return [(names.get(i) or printable(tok.token_bytes(i)), i, tok.token_bytes(i)) for i in ids]


def window_choices(n_tokens: int, block_size: int) -> list[int]:
    """Slider stops for the real model: every few tokens up to the text's length, then doubling
    to its maximum (8..76 by ~3, then 128, 256, ..., 8192), so short texts stay easy to slide."""
    return sorted({*window_sizes(n_tokens, block_size, points=30),
                   *(2 ** k for k in range(3, 14) if n_tokens < 2 ** k <= block_size), block_size})
