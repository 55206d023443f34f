"""Simulated raters fill the ratings database: the tuned model answers training questions, a
transparent rule (`raters.py`) gives each answer 👍 or 👎, and the rows are stored marked
'sim:<rater>' (`ratings.sim_rater`), beside the people's own ratings.

    >>> store = RatingsStore(":memory:")                                    # doctest: +SKIP
    >>> drain(simulate(store, tuned, "helpful", 300))                       # doctest: +SKIP
    300
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Iterator

import torch

from ..gpt.paramfile import LoadedModel
from .answers import answer_text, sample_answers
from .feedback import training_prompts
from .raters import get_rater
from .ratings import RatingsStore, sim_rater


@dataclass
class Rated:
    done: int
    total: int


def simulate(store: RatingsStore, loaded: LoadedModel, rater: str, n: int = 200, *, seed: int = 0,
             session: str = "simulated", per_prompt: int = 4,
             cancel: threading.Event | None = None) -> Iterator[Rated]:
    """`simulated_ratings`, stored in `store`: yields progress; returns how many ratings were new."""
    rows = yield from simulated_ratings(loaded, rater, n, seed=seed, session=session,
                                        per_prompt=per_prompt, cancel=cancel)
    return store.add_many(rows)


def simulated_ratings(loaded: LoadedModel, rater: str, n: int = 200, *, seed: int = 0,
                      session: str = "simulated", per_prompt: int = 4,
                      cancel: threading.Event | None = None) -> Iterator[Rated]:
    """Sample answers from `loaded` to random training prompts, `per_prompt` per prompt, and rate
    them with the simulated rater, marked 'sim:<rater>'. An answer that comes out twice for the
    same prompt is rated once, so this samples until it has `n` different ones (or has asked every
    training prompt). A rater with a focus (the "safe" one) reads answers to the questions of its
    topic, where what it looks for turns up. Yields progress; returns the rows for
    `RatingsStore.add_many`."""
    rule = get_rater(rater)
    prompts = training_prompts(0, rule.focus)
    random.Random(seed).shuffle(prompts)
    gen = torch.Generator().manual_seed(seed)
    rows: dict[tuple[str, str], tuple] = {}
    for prompt in prompts:
        if len(rows) >= n or (cancel is not None and cancel.is_set()):
            break
        for ids in sample_answers(loaded.model, loaded.tokenizer, prompt, per_prompt, gen=gen):
            text = answer_text(loaded.tokenizer, ids)
            if len(rows) < n and (prompt, text) not in rows:
                rows[prompt, text] = (prompt, text, rule.rate(prompt, text), loaded.name, session,
                                      sim_rater(rater))
        yield Rated(len(rows), n)
    return list(rows.values())


def store_rows(store_path: str, rows: list) -> int:
    return RatingsStore(store_path).add_many(rows)
