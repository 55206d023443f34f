"""The progress events a training run yields, as plain dataclasses.

Every phase (pretraining, fine-tuning, feedback) reports through these, and everyone who listens
(the job manager, the app's progress summary, the CLI's progress bar, tests) matches them with
`isinstance`. This module imports nothing heavy (no torch), so the job manager can use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scoring import Ranking


@dataclass
class Status:
    """Something slow is happening before training starts (e.g. learning the vocabulary)."""
    message: str


@dataclass
class Started:
    total_steps: int
    n_params: int
    tokens_per_step: int
    minutes: float | None


@dataclass
class Step:
    step: int
    train_loss: float
    lr: float
    tokens_per_s: float
    tokens_seen: int
    elapsed: float
    eta: float          # seconds left (estimate)
    progress: float     # 0..1


@dataclass
class Eval:
    step: int
    val_loss: float     # nats per token
    val_bpb: float      # bits per UTF-8 byte


@dataclass
class Sample:
    step: int
    text: str


@dataclass
class RankSnapshot:
    step: int
    ranking: Ranking


@dataclass
class Finished:
    step: int
    reason: str         # "done", "time", "cancelled"
    val_loss: float
    val_bpb: float
    elapsed: float
    tokens_seen: int


@dataclass
class Failed:
    """A run that stopped itself with a problem it can explain (the job then fails with it)."""
    message: str


Event = Status | Started | Step | Eval | Sample | RankSnapshot | Finished | Failed


def failure_message(exc: BaseException) -> str:
    """A sentence a learner can act on, not a traceback."""
    if isinstance(exc, MemoryError):
        return ("ran out of memory: this model size or corpus is too large for the server's memory "
                "right now. Try a smaller model size or a shorter text.")
    text = str(exc).strip() or "no details"
    if type(exc).__module__.startswith("explainer."):   # our own errors are written for people
        return text
    return f"{type(exc).__name__}: {text}"
