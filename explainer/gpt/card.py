"""A trained model's card: the facts its parameter file carries (`paramfile.py`, "facts").

What kind of model it is and what it started from, what it learned from, its size, the phase's own
figures, the settings it ran with, and when. Pretraining, instruction tuning, learning from
feedback and tool-use tuning each fill one in with `card`, so the facts every phase shares are
written once.

    >>> from .model import GPT, GPTConfig
    >>> from .training import TrainConfig
    >>> model = GPT(GPTConfig(vocab_size=260, block_size=8, n_layer=1, n_head=1, n_embd=8))
    >>> facts = card("base", model, TrainConfig(), corpus="Everyday English", preset=None, steps=3)
    >>> list(facts)
    ['kind', 'corpus', 'preset', 'parameters', 'steps', 'seed', 'spec', 'date']
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict
from typing import Any

from . import chat


def card(kind: str, model, spec, *, corpus: str, preset: str | None, base_model: str | None = None,
         tokenizer=None, **figures: Any) -> dict:
    """The facts of `model` (a GPT), trained by the phase `kind` ("base", "tuned", "feedback", "agent") with
    `spec` (a dataclass with a `seed`): in this order, kind (and, for a model made from another,
    its name = kind and `base_model`), corpus, preset, parameters, the phase's `figures`, seed,
    spec, (for a chat model, given its `tokenizer`: the chat template and special tokens), date."""
    facts: dict[str, Any] = {"kind": kind}
    if base_model is not None:
        facts.update(name=kind, base_model=base_model)
    facts.update(corpus=corpus, preset=preset, parameters=model.num_params(), **figures,
                 seed=spec.seed, spec=asdict(spec))
    if tokenizer is not None:
        facts.update(chat_template=chat.TEMPLATE, special_tokens=chat.special_ids(tokenizer))
    facts["date"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return facts
