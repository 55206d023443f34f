"""One training loop for every phase, written as an iterator of small progress events.

The loop knows nothing about pages, Streamlit or the CLI: it yields `Step`, `Eval`, `Sample`,
`RankSnapshot` and `Finished` events, and whoever iterates decides what to show (the app draws
charts, the CLI prints a progress bar, tests check numbers). Stopping early is just not asking for
the next event, or setting the `cancel` event, which the loop checks between steps.

AdamW with linear warmup and cosine decay (or Muon for the blocks' matrices and a
warmup-stable-decay schedule: `optimizer="muon"`, `schedule="wsd"`, docs/speedrun.md), gradient
clipping, a fixed validation set, and the validation loss also in bits per UTF-8 byte so that runs
with different tokenizers compare.
A run that diverges (NaN/inf loss) raises TrainingError with a message that says what to try.

References: nanoGPT's train.py (schedule, AdamW groups); minGPT's trainer callbacks (the idea of
a loop that reports events instead of drawing anything itself).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch

from .events import Eval, Event, Finished, RankSnapshot, Sample, Started, Step
from .model import GPT, next_token_loss
from .muon import Muon, Optimizers
from .scoring import rank_next


class TrainingError(RuntimeError):
    """Training cannot go on; the message tells the user what happened and what to try."""


# --------------------------------------------------------------------------------------------------
# Config and events

@dataclass
class TrainConfig:
    steps: int = 1000            # upper bound on optimiser steps (the schedule's length)
    minutes: float | None = None # or a time budget: the schedule then runs on wall time
    batch_size: int = 32         # sequences per step; 32 x 128 tokens keeps a CPU core busy
    lr: float = 3e-3             # tiny models tolerate (and need) a high learning rate
    warmup: int = 30             # steps of linear warmup, so the first noisy steps don't blow up
    min_lr_ratio: float = 0.1    # cosine decays to lr * this
    weight_decay: float = 0.1    # on matrices only, as in GPT-2 / nanoGPT
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    eval_every: int = 50         # steps between validation losses (and ranking snapshots)
    eval_batches: int = 4        # validation set = eval_batches x batch_size fixed windows
    sample_every: int = 200      # steps between sample texts (0 = never)
    sample_seconds: float = 15.0 # ...or this many seconds since the last one, whichever comes
                                 # first: a slow run shows its writing improve early (0 = steps only)
    sample_spread: float = 0.2   # ...but later on, wait this share of the time trained so far:
                                 # often early, when the writing changes fastest, then ever rarer
    max_samples: int = 30        # and never more than this many timed samples in one run
    sample_tokens: int = 48
    rank_every: int = 25         # steps between next-word ranking snapshots
    seed: int = 0                # batch order; the model's init seed lives in GPTConfig
    optimizer: str = "adamw"     # or "muon": Muon for the blocks' 2-D matrices (muon.py), AdamW
                                 # for embeddings, biases and norms; ~3x fewer steps to nanoGPT's loss
    muon_lr: float = 0.02        # Muon's step: its updates are orthogonalised, so not AdamW's scale
    schedule: str = "cosine"     # or "wsd": warmup, then lr held, then a linear decay at the end
    cooldown: float = 0.3        # wsd: the last share of the run, where lr falls to lr * min_lr_ratio

    def __post_init__(self):
        if self.optimizer not in ("adamw", "muon"):
            raise ValueError(f"optimizer must be 'adamw' or 'muon', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "wsd"):
            raise ValueError(f"schedule must be 'cosine' or 'wsd', got {self.schedule!r}")




# --------------------------------------------------------------------------------------------------
# Data

@dataclass
class Batches:
    """Random windows from a token stream; a fixed, evenly spaced validation set.

    `mask` (same length as `train`) marks the positions whose next token counts in the loss;
    None means all of them (pretraining). Instruction tuning passes the answer tokens' mask.
    """
    train: torch.Tensor                 # (N,) int64 token ids
    val: torch.Tensor                   # (M,) int64
    block_size: int
    mask: torch.Tensor | None = None    # (N,) 0/1 for the *target* positions of `train`
    val_mask: torch.Tensor | None = None

    def __post_init__(self):
        for name, ids in (("training", self.train), ("validation", self.val)):
            if ids.numel() < self.block_size + 2:
                raise TrainingError(f"The {name} text is too short: {ids.numel()} tokens, but the "
                                    f"model needs at least {self.block_size + 2}. Use a longer text.")

    @staticmethod
    def _take(ids, mask, starts, T):
        offs = starts[:, None] + torch.arange(T + 1)                       # (B, T+1)
        chunk = ids[offs]
        m = None if mask is None else mask[offs[:, 1:]]
        return chunk[:, :-1], chunk[:, 1:], m                               # x, y (B, T), mask

    def sample(self, batch_size: int, gen: torch.Generator):
        starts = torch.randint(0, self.train.numel() - self.block_size - 1, (batch_size,), generator=gen)
        return self._take(self.train, self.mask, starts, self.block_size)

    def val_set(self, n: int):
        """n fixed windows spread evenly over the validation stream (same every time)."""
        hi = self.val.numel() - self.block_size - 1
        starts = torch.linspace(0, hi, n).long()
        return self._take(self.val, self.val_mask, starts, self.block_size)


# --------------------------------------------------------------------------------------------------
# Helpers

def lr_at(progress: float, step: int, cfg: TrainConfig) -> float:
    """Warmup, then cosine decay; or ("wsd") warmup, lr held, and a linear decay over the last
    `cooldown` share of the run. Example: lr_at(1.0, 999, cfg) == cfg.lr * cfg.min_lr_ratio with
    either schedule; with "wsd" and cooldown 0.3, lr_at(0.5, 500, cfg) == cfg.lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "wsd":
        decay = min(1.0, max(0.0, 1 - progress) / cfg.cooldown)      # 1, then linearly down to 0
    else:
        decay = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * decay)


def progress_and_stop(step: int, steps: int, elapsed: float, budget: float | None,
                      cancel: threading.Event | None = None) -> tuple[float, str | None]:
    """Where a run stands (0..1, by steps or by its time budget, whichever is further) and why it
    must stop now, if it must: "time", "done" or "cancelled".

    Example: progress_and_stop(50, 100, 30.0, 60.0) == (0.5, None).
    """
    progress = max(step / steps, elapsed / budget if budget else 0.0)
    if progress >= 1.0:
        return 1.0, "time" if budget and elapsed >= budget else "done"
    if cancel is not None and cancel.is_set():
        return progress, "cancelled"
    return progress, None


def sample_due(since_last: float, elapsed: float, timed_so_far: int, cfg: TrainConfig) -> bool:
    """Whether to write a sample now because of time rather than the step count: once
    cfg.sample_seconds have passed since the last sample, or cfg.sample_spread x the time trained
    so far if that is longer, and never more than cfg.max_samples such samples.

    With the defaults (15 s, 0.2, 30) samples come every 15 s for the first 75 s, then each gap is
    1.2 times the one before: 10 timed samples in a 4-minute run, 21 in 45 minutes. So
    sample_due(16.0, 60.0, 3, cfg) is True and sample_due(16.0, 600.0, 3, cfg) is False.
    """
    if not cfg.sample_seconds or timed_so_far >= cfg.max_samples:
        return False
    return since_last >= max(cfg.sample_seconds, cfg.sample_spread * elapsed)


def make_optimizer(model: GPT, cfg: TrainConfig) -> torch.optim.Optimizer | Optimizers:
    """AdamW with weight decay on matrices (embeddings, linear weights) only, never on biases and
    norms; with cfg.optimizer "muon", the blocks' 2-D matrices go to Muon instead. A group's
    "lr_scale" is its lr over cfg.lr (the loop sets lr_at(...) x lr_scale each step)."""
    hidden = [p for name, p in model.named_parameters()
              if cfg.optimizer == "muon" and p.dim() == 2 and name.startswith("h.")]
    taken = {id(p) for p in hidden}
    decay = [p for p in model.parameters() if p.dim() >= 2 and id(p) not in taken]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    adamw = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, foreach=True)
    if not hidden:
        return adamw
    muon = Muon([{"params": hidden, "lr_scale": cfg.muon_lr / cfg.lr}], lr=cfg.muon_lr)
    return Optimizers(muon, adamw)


def token_byte_lengths(tokenizer, vocab_size: int) -> torch.Tensor:
    """(V,) UTF-8 bytes of each token id (special tokens count 0): for bits per byte."""
    specials = set(tokenizer.special_tokens.values())
    return torch.tensor([0 if i in specials else len(tokenizer.token_bytes(i))
                         for i in range(vocab_size)], dtype=torch.float64)


@torch.no_grad()
def evaluate(model: GPT, val_set, byte_len: torch.Tensor | None) -> tuple[float, float]:
    """(mean loss in nats/token, bits per UTF-8 byte) on fixed validation windows."""
    x, y, m = val_set
    was = model.training
    model.eval()
    total, n_tok, n_bytes = 0.0, 0.0, 0.0
    for i in range(0, x.size(0), 16):                                     # chunks bound memory
        xb, yb = x[i:i + 16], y[i:i + 16]
        mb = torch.ones_like(yb) if m is None else m[i:i + 16]              # (b, T) 0/1
        n = float(mb.sum())
        total += float(next_token_loss(model(xb).logits, yb, mb)) * n       # the chunk's mean, weighted
        n_tok += n
        if byte_len is not None:
            n_bytes += float((byte_len[yb.flatten()] * mb.flatten().double()).sum())
    model.train(was)
    loss = total / max(n_tok, 1.0)
    bpb = total / math.log(2) / n_bytes if n_bytes > 0 else float("nan")
    return loss, bpb


# --------------------------------------------------------------------------------------------------
# The loop

def train(model: GPT, data: Batches, cfg: TrainConfig, *, tokenizer=None,
          watch_prompts: Sequence[str] = (), candidates: Sequence[str] = (),
          cancel: threading.Event | None = None) -> Iterator[Event]:
    """Train `model` in place, yielding events. Returns (StopIteration.value) the last Finished."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg)
    val_set = data.val_set(cfg.eval_batches * cfg.batch_size)
    byte_len = token_byte_lengths(tokenizer, model.config.vocab_size) if tokenizer else None
    tokens_per_step = cfg.batch_size * data.block_size
    budget = cfg.minutes * 60 if cfg.minutes else None
    yield Started(cfg.steps, model.num_params(), tokens_per_step, cfg.minutes)

    def snapshots(step):
        if tokenizer is not None and candidates is not None:
            for p in watch_prompts:
                yield RankSnapshot(step, rank_next(model, tokenizer, p, 10, candidates))

    def sample(step):
        if tokenizer is not None and cfg.sample_every:
            ids = model.generate([tokenizer.eot_id], cfg.sample_tokens, temperature=0.8, top_k=40,
                                 seed=cfg.seed, stop_ids=[tokenizer.eot_id])
            yield Sample(step, tokenizer.decode([i for i in ids if i != tokenizer.eot_id]))

    val_loss, val_bpb = evaluate(model, val_set, byte_len)
    yield Eval(0, val_loss, val_bpb)
    yield from sample(0)
    yield from snapshots(0)

    model.train()
    t0 = time.perf_counter()
    train_time = 0.0        # time spent in optimiser steps only: an honest tokens/s
    step, reason = 0, "done"
    last_sample, timed_samples, sampled_at = t0, 0, 0     # when, how many by time, at which step
    while True:
        progress, stop = progress_and_stop(step, cfg.steps, time.perf_counter() - t0, budget, cancel)
        if stop:
            reason = stop
            break
        lr = lr_at(progress, step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        ts = time.perf_counter()
        x, y, m = data.sample(cfg.batch_size, gen)
        loss = model(x, y, loss_mask=m).loss
        if not torch.isfinite(loss):
            raise TrainingError(f"Training diverged at step {step}: the loss became "
                                f"{loss.item()}. Try a lower learning rate (now {cfg.lr:g}).")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        train_time += time.perf_counter() - ts
        step += 1
        elapsed = time.perf_counter() - t0
        progress, _ = progress_and_stop(step, cfg.steps, elapsed, budget)
        eta = elapsed / max(progress, 1e-9) * (1 - progress)
        yield Step(step, loss.item(), lr, step * tokens_per_step / max(train_time, 1e-9),
                   step * tokens_per_step, elapsed, eta, progress)
        if step % cfg.eval_every == 0:
            val_loss, val_bpb = evaluate(model, val_set, byte_len)
            if not math.isfinite(val_loss):
                raise TrainingError(f"Training diverged at step {step}: validation loss is "
                                    f"{val_loss}. Try a lower learning rate.")
            yield Eval(step, val_loss, val_bpb)
        if cfg.rank_every and step % cfg.rank_every == 0:
            yield from snapshots(step)
        timed = sample_due(time.perf_counter() - last_sample, elapsed, timed_samples, cfg)
        if cfg.sample_every and (step % cfg.sample_every == 0 or timed):
            timed_samples += step % cfg.sample_every != 0
            yield from sample(step)
            last_sample, sampled_at = time.perf_counter(), step

    if step % cfg.eval_every or step == 0:
        val_loss, val_bpb = evaluate(model, val_set, byte_len)
        yield Eval(step, val_loss, val_bpb)
    if step % max(cfg.rank_every, 1):
        yield from snapshots(step)
    if cfg.sample_every and sampled_at != step:
        yield from sample(step)
    model.eval()
    done = Finished(step, reason, val_loss, val_bpb, time.perf_counter() - t0, step * tokens_per_step)
    yield done
    return done


def drain(gen, each: Callable[[Any], Any] | None = None):
    """Run an event generator to its end; returns its return value (the trained model). `each`,
    if given, is called with every event: `events.append` keeps them (benchmarks, tests), the
    CLI prints them (cli.drive)."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value
        if each is not None:
            each(ev)
