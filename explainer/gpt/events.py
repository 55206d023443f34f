"""The progress events a training run yields, as plain dataclasses: one vocabulary for every phase.

Every phase (pretraining, fine-tuning, feedback) reports through these, and everyone who listens
(the job manager, the progress summary, the CLI's progress bar, tests) matches them with
`isinstance`. Training loops yield Started, Step, Eval, Sample and RankSnapshot; learning from
feedback yields RewardStep and RewardModelReady (the reward model), then PolicyStep; every run
ends with Finished. This module imports nothing heavy (no torch), so the job manager can use it.
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
class RewardStep:
    """One full-batch step of the reward model's head (phases/reward.py)."""
    step: int
    loss: float
    train_acc: float


@dataclass
class RewardModelReady:
    """The reward model is trained: how well it predicts ratings it never saw (phases/reward.py)."""
    n_train: int
    n_heldout: int
    train_acc: float
    heldout_acc: float
    majority: float          # accuracy of always guessing the more common rating (held out)
    seconds: float
    penalty: float | None = None   # the weight penalty on the hidden-state features it chose
    # held out, what accuracy alone hides when 👎 are rare: how many of the 👎 it flags (scores
    # not above even, as the accuracy counts them), and how many 👍 it wrongly flags
    downs: int = 0
    downs_flagged: int = 0
    ups_flagged: int = 0

    def flagged_text(self) -> str:
        """'it flags 1 of the 3 held-out 👎 answers, and wrongly 1 of the 54 👍 ones'"""
        ups = self.n_heldout - self.downs
        if self.downs == 0:
            return "none of the held-out ratings is 👎, so they cannot show whether it spots a bad answer"
        return (f"it flags {self.downs_flagged} of the {self.downs} held-out 👎 answers"
                + (f", and wrongly {self.ups_flagged} of the {ups} 👍 ones" if ups else ""))


@dataclass
class PolicyStep:
    """One update of the policy while learning from feedback (phases/feedback.py): its answers'
    figures, then where the run stands (which the run fills in: the clock is its business)."""
    step: int
    reward: float            # mean reward-model approval of this step's answers (0..1)
    kl: float                # mean per-token KL to the tuned model (nats)
    entropy: float           # mean per-token entropy at temperature 1: how unsure the model is (nats)
    length: float            # mean answer length in tokens
    ended: float             # share of answers that closed with <|end|>
    sample: str              # one of the answers, to read along
    elapsed: float = 0.0
    progress: float = 0.0    # 0..1
    eta: float = 0.0


@dataclass
class Finished:
    step: int                           # the last step (of a feedback run: the last policy step)
    reason: str                         # "done", "time", "cancelled"
    val_loss: float | None = None       # None: a run without held-out text (learning from feedback)
    val_bpb: float | None = None
    elapsed: float = 0.0
    tokens_seen: int = 0                # tokens trained on (a feedback run does not count them)


def completed(reason: str | None) -> bool:
    """Whether a run that stopped for `reason` (Finished.reason) got to its end: its steps
    ("done") or its time budget ("time"), not stopped early ("cancelled").

    >>> [completed(r) for r in ("done", "time", "cancelled")]
    [True, True, False]
    """
    return reason in ("done", "time")


@dataclass
class Failed:
    """A run that stopped itself with a problem it can explain (the job then fails with it)."""
    message: str


Event = (Status | Started | Step | Eval | Sample | RankSnapshot | RewardStep | RewardModelReady
         | PolicyStep | Finished | Failed)


def failure_message(exc: BaseException) -> str:
    """A sentence a learner can act on, not a traceback."""
    if isinstance(exc, MemoryError):
        return ("ran out of memory: this model size or corpus is too large for the server's memory "
                "right now. Try a smaller model size or a shorter text.")
    text = str(exc).strip() or "no details"
    if type(exc).__module__.startswith("explainer."):   # our own errors are written for people
        return text
    return f"{type(exc).__name__}: {text}"
