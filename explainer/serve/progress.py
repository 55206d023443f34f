"""Turn a job's events into what a page draws: one summary for every phase (the training panel of
the Pretraining and Instruction tuning pages, the Human feedback page's panel, the notebooks).
No streamlit here.

Events are `explainer.gpt.events` dataclasses (Status, Started, Step, Eval, Sample, RankSnapshot,
RewardStep, RewardModelReady, PolicyStep, Finished); that module imports no torch, and neither
does this one.

    >>> s = Step(step=1, train_loss=7.5, lr=0.001, tokens_per_s=5000.0, tokens_seen=4096,
    ...          elapsed=1.0, eta=9.0, progress=0.1)
    >>> summarize([s]).train_loss
    ([1], [7.5])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..gpt.events import (
    Eval,
    Finished,
    PolicyStep,
    RankSnapshot,
    RewardModelReady,
    RewardStep,
    Sample,
    Started,
    Status,
    Step,
    completed,
)
from ..i18n import N_

SMOOTHING_SECONDS = 30.0    # "time left" follows the speed of the last half minute


def smoothed_eta(steps: Sequence[Step], window: float = SMOOTHING_SECONDS) -> float | None:
    """Seconds left at the run's speed over its last `window` seconds (seconds per unit of
    progress, evaluations and pauses included): a run that speeds up when another training ends,
    or slows down when one starts, says so within `window`, and one slow step moves the line by
    its share of the window only. Before `window` seconds have passed, the speed since the start.

    >>> steady = [Step(i, 1.0, 1e-3, 1.0, i, elapsed=float(i), eta=0.0, progress=i / 100) for i in range(1, 51)]
    >>> round(smoothed_eta(steady))                      # 1 s per step, 50 steps left
    50
    >>> slower = steady + [Step(50 + i, 1.0, 1e-3, 1.0, 0, elapsed=50.0 + 3 * i, eta=0.0,
    ...                         progress=(50 + i) / 100) for i in range(1, 21)]
    >>> round(smoothed_eta(slower))                      # 3 s per step for the last 60 s, 30 left
    90
    """
    if not steps:
        return None
    last = steps[-1]
    start_t, start_p = 0.0, 0.0                         # the run's start, until the window is full
    for ev in steps:
        if ev.elapsed >= last.elapsed - window:
            break
        start_t, start_p = ev.elapsed, ev.progress
    if last.progress <= start_p or last.elapsed < start_t:
        return last.eta
    rate = (last.elapsed - start_t) / (last.progress - start_p)
    return rate * max(0.0, 1 - last.progress)


def remaining_seconds(events: Sequence[Any]) -> float | None:
    """A running job's smoothed seconds left, from its events (None before its first step); for a
    job whose events are not training Steps, the `eta` of its latest event that has one."""
    steps = [ev for ev in events if isinstance(ev, Step)]
    if steps:
        return smoothed_eta(steps)
    return next((ev.eta for ev in reversed(events) if getattr(ev, "eta", None) is not None), None)


def end_word(state: str, reason: str | None) -> str:
    """How a job that ended is described on its progress line, for a job `state` ("done",
    "cancelled", "failed") and the run's own stop reason ("done", "time", "cancelled" or None):
    only a run that reached its steps or its time budget is "done". The word is English (pages
    compare it); they show it with `_(word)`.

    >>> end_word("done", "time"), end_word("cancelled", "cancelled"), end_word("failed", None)
    ('done', 'stopped', 'stopped by a problem')
    """
    if state == "failed":
        return N_("stopped by a problem")
    return N_("done") if state == "done" and (reason is None or completed(reason)) else N_("stopped")


@dataclass
class RunSummary:
    """What a run's events add up to, for any phase: where it stands, then the figures of
    training (pretraining, fine-tuning) or of learning from feedback, whichever it yielded."""
    status: str | None = None                       # latest Status message (before training)
    step: int = 0                                   # the latest training or policy step
    progress: float = 0.0                           # 0..1
    eta: float | None = None                        # seconds
    elapsed: float = 0.0
    samples: list[tuple[int, str]] = field(default_factory=list)              # (step, text)
    finished: Finished | None = None                 # the Finished event, once there
    # training: Started, Step, Eval, RankSnapshot
    total_steps: int | None = None
    n_params: int | None = None
    tokens_per_s: float | None = None
    tokens_seen: int = 0
    train_loss: tuple[list, list] = field(default_factory=lambda: ([], []))   # (steps, losses)
    val_loss: tuple[list, list] = field(default_factory=lambda: ([], []))
    val_bpb: float | None = None
    ranking: Any = None                              # latest scoring.Ranking
    ranking_step: int | None = None
    candidate_steps: list[int] = field(default_factory=list)
    candidate_probs: dict[str, list[float]] = field(default_factory=dict)     # word -> probs
    candidate_ranks: dict[str, list[int | None]] = field(default_factory=dict)
    # learning from feedback: RewardStep, RewardModelReady, then PolicyStep (a sample each step)
    rm_loss: tuple[list, list] = field(default_factory=lambda: ([], []))      # the reward model's
    rm: RewardModelReady | None = None                                        # (steps, losses), then its figures
    policy_steps: list[int] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)                         # per policy step
    kl: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)


def summarize(events: Sequence[Any]) -> RunSummary:
    """One pass over the events, oldest first. A training run's time left is smoothed over its
    last steps (smoothed_eta); a feedback run's is its latest PolicyStep's own estimate."""
    s = RunSummary()
    steps = []
    for ev in events:
        if isinstance(ev, Status):
            s.status = ev.message
        elif isinstance(ev, Started):
            s.total_steps, s.n_params, s.status = ev.total_steps, ev.n_params, None
        elif isinstance(ev, Step):
            s.step, s.progress, s.eta, s.elapsed = ev.step, ev.progress, ev.eta, ev.elapsed
            s.tokens_per_s, s.tokens_seen = ev.tokens_per_s, ev.tokens_seen
            steps.append(ev)
            s.train_loss[0].append(ev.step)
            s.train_loss[1].append(ev.train_loss)
        elif isinstance(ev, Eval):
            s.val_loss[0].append(ev.step)
            s.val_loss[1].append(ev.val_loss)
            s.val_bpb = ev.val_bpb
        elif isinstance(ev, Sample):
            s.samples.append((ev.step, ev.text))
        elif isinstance(ev, RankSnapshot):
            if s.ranking_step == ev.step:          # one snapshot per step is enough for the chart
                continue
            s.ranking, s.ranking_step = ev.ranking, ev.step
            s.candidate_steps.append(ev.step)
            for c in ev.ranking.candidates:
                s.candidate_probs.setdefault(c.word, []).append(c.prob)
                s.candidate_ranks.setdefault(c.word, []).append(c.rank)
        elif isinstance(ev, RewardStep):
            s.rm_loss[0].append(ev.step)
            s.rm_loss[1].append(ev.loss)
        elif isinstance(ev, RewardModelReady):
            s.rm = ev
        elif isinstance(ev, PolicyStep):
            s.step, s.progress, s.eta, s.elapsed = ev.step, ev.progress, ev.eta, ev.elapsed
            s.policy_steps.append(ev.step)
            s.reward.append(ev.reward)
            s.kl.append(ev.kl)
            s.entropy.append(ev.entropy)
            s.samples.append((ev.step, ev.sample))
        elif isinstance(ev, Finished):
            s.finished, s.eta = ev, 0.0            # a stopped run keeps the share it reached
            if completed(ev.reason):
                s.progress = 1.0
    if s.finished is None and steps:
        s.eta = smoothed_eta(steps)
    return s
