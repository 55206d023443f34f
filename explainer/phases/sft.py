"""Instruction tuning (supervised fine-tuning, SFT): a base model learns to answer and then stop.

A thin layer on `training.py`, like `pretrain.py`: the (prompt, response) pairs are written in
the chat template (`chat.py`), packed into one token stream with a loss mask that is 1 only on
the answers and their <|end|> token, and the pretrained model keeps training on them with the
same loop. Nothing new is added to the network: the special tokens had embedding rows from the
start; they only now get used. Batches start at the beginning of a turn, so the model always
sees the whole question before the answer it learns from.

The validation loss is measured on the answers of held-out questions (never trained on).
While training, the model answers one fixed question every evaluation, so you can watch it go
from "continues the text" to "answers, then stops".

    >>> base = load_model("models/base.safetensors")                    # doctest: +SKIP
    >>> tuned = yield from run(base, data.train, SFTSpec(steps=300))    # doctest: +SKIP

References: Ouyang et al. 2022 ("InstructGPT", the SFT step); nanochat's `chat_sft.py` (loss only
on the assistant's tokens).
"""
from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from ..corpus.instructions import (
    FLAWS,
    TOPIC_TITLES,
    Pair,
    instruction_data,
    weaknesses,
)
from ..corpus.topics import on_topic
from ..gpt import chat
from ..gpt.card import card
from ..gpt.events import Status
from ..gpt.paramfile import LoadedModel
from ..gpt.training import (
    Batches,
    Eval,
    Finished,
    Sample,
    TrainConfig,
    TrainingError,
    evaluate,
    train,
)
from ..i18n import N_, _

WATCH_QUESTION = "What should I eat today?"


@dataclass
class SFTSpec(TrainConfig):
    """The training loop's config with instruction tuning's defaults, and which pairs to learn from.

    Every TrainConfig field can be set here (SFTSpec(steps=80, warmup=5)); the spec is the config
    `train` runs with, and what the tuned file's facts record.
    """
    steps: int = 400               # small model: ~1 minute at 2 threads, ~2 at one (a page job)
    batch_size: int = 16           # 16 windows x 128 tokens: ~40 answers per step
    # lr: TrainConfig's, as in pretraining; measured 2026-11-29 at 3e-3 (400 steps, seed 0,
    #   held-out questions, "helpful" rule): 1e-3 -> 70% of sampled answers approved, 2e-3 -> 78%,
    #   3e-3 -> 79% (greedy 97%), 5e-3 -> 72%; the same minute either way
    warmup: int = 20
    eval_every: int = 25           # each evaluation also shows the answer to WATCH_QUESTION
    eval_batches: int = 2          # 2 x 16 held-out windows
    sample_every: int = 0          # no free-running samples: the watched answer replaces them
    rank_every: int = 0            # no next-word ranking: answers are what is watched
    # seed (TrainConfig's): batch order, and which pairs the generated dataset holds
    include_weak: bool = True      # learn from the deliberately weaker pairs too (issue 6 fixes them)


# --------------------------------------------------------------------------------------------------
# Data

@dataclass
class TurnBatches(Batches):
    """Batches whose windows start where a turn starts (a window may hold several turns)."""
    starts: torch.Tensor | None = None       # (n,) offsets of turns in `train`
    val_starts: torch.Tensor | None = None   # (m,) offsets of turns in `val`

    def sample(self, batch_size: int, gen: torch.Generator):
        pick = torch.randint(0, self.starts.numel(), (batch_size,), generator=gen)
        return self._take(self.train, self.mask, self.starts[pick], self.block_size)

    def val_set(self, n: int):
        idx = torch.linspace(0, self.val_starts.numel() - 1, min(n, self.val_starts.numel())).long()
        return self._take(self.val, self.val_mask, self.val_starts[idx], self.block_size)


def _stream(tok, pairs, block_size: int):
    ids, mask, starts, skipped = chat.encode_pairs(tok, pairs, block_size)
    pad = block_size + 1                      # so a window may start at the very last turn
    ids += [tok.eot_id] * pad
    mask += [0] * pad
    return (torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.long),
            torch.tensor(starts, dtype=torch.long), skipped)


def make_batches(tok, train_pairs: Sequence, val_pairs: Sequence, block_size: int) -> tuple[TurnBatches, int]:
    """The batches and how many pairs were too long for the context (skipped)."""
    x, m, s, skipped = _stream(tok, train_pairs, block_size)
    vx, vm, vs, _skipped = _stream(tok, val_pairs, block_size)
    if s.numel() == 0:
        raise TrainingError(_("No question/answer pair fits the model's context: nothing to learn from."))
    if vs.numel() == 0:
        raise TrainingError(_("No held-out pair to measure the validation loss on."))
    return TurnBatches(x, vx, block_size, m, vm, starts=s, val_starts=vs), skipped


def heldout_loss(loaded: LoadedModel, seed: int = 0,
                 n_windows: int = SFTSpec.eval_batches * SFTSpec.batch_size) -> float:
    """The validation loss `run` reports, for any chat model: nats per answer token (and <|end|>)
    on the same fixed windows of the good held-out pairs. Lets a model trained later (after
    feedback) be compared with the tuned model it started from."""
    val = [p for p in instruction_data(seed).heldout if p.quality == "good"]
    data, _ = make_batches(loaded.tokenizer, val, val, loaded.config.block_size)
    return evaluate(loaded.model, data.val_set(n_windows), None)[0]


def select_pairs(pairs: Sequence[Pair], include_weak: bool = True) -> list[Pair]:
    return [p for p in pairs if include_weak or p.quality == "good"]


# --------------------------------------------------------------------------------------------------
# The run

def run(base: LoadedModel, pairs: Sequence[Pair], spec: SFTSpec = SFTSpec(), *,
        val_pairs: Sequence[Pair] = (), base_name: str | None = None,
        watch_question: str = WATCH_QUESTION,
        cancel: threading.Event | None = None) -> Iterator:
    """Fine-tune a copy of `base` on `pairs`; yields Status, training events and, at every
    evaluation, a Sample with the model's answer to `watch_question`; returns a LoadedModel.

    val_pairs: held-out pairs for the validation loss (default: the generated held-out set).
    """
    tok = base.tokenizer
    chat.special_ids(tok)                                      # ChatError if no chat tokens
    yield Status(N_("Writing the pairs in the chat template and turning them into tokens ..."))
    pairs = select_pairs(pairs, spec.include_weak)
    if not val_pairs:
        val_pairs = [p for p in instruction_data(spec.seed).heldout if p.quality == "good"]
    data, skipped = make_batches(tok, pairs, val_pairs, base.config.block_size)
    model = copy.deepcopy(base.model)                          # the base model stays as it was
    finished = None

    def watch(step):
        r = chat.answer(model, tok, watch_question)
        model.train()
        return Sample(step, r.text + (" " + chat.END if r.ended else " …"))

    for ev in train(model, data, spec, tokenizer=tok, cancel=cancel):
        yield ev
        if isinstance(ev, Eval):
            yield watch(ev.step)
        elif isinstance(ev, Finished):
            finished = ev
    model.eval()
    n_weak = sum(p.quality == "weak" for p in pairs)
    facts = card("tuned", model, spec, base_model=base_name or base.name, tokenizer=tok,
                 corpus=f"{base.facts.get('corpus', 'a base model')} + {len(pairs) - skipped:,} "
                        f"question/answer pairs",
                 preset=base.facts.get("preset"),
                 pairs=len(pairs) - skipped,
                 pairs_skipped_too_long=skipped,
                 weak_pairs=n_weak,
                 user_pairs=sum(p.source == "user" for p in pairs),
                 steps=finished.step,
                 stop_reason=finished.reason,
                 tokens_trained=int(base.facts.get("tokens_trained", 0)) + finished.tokens_seen,
                 sft_tokens=finished.tokens_seen,
                 val_loss=round(finished.val_loss, 4),
                 val_loss_meaning="nats per answer token on held-out questions",
                 loss_on="answer tokens and <|end|> only",
                 train_seconds=round(finished.elapsed, 1))
    return LoadedModel(model, tok, base.config, facts, None)


# --------------------------------------------------------------------------------------------------
# Measuring: does it answer, stop, and stay on topic?

@dataclass
class Row:
    prompt: str
    topic: str
    base: chat.Reply | None
    tuned: chat.Reply | None


def compare(base_model: LoadedModel | None, tuned: LoadedModel | None,
            prompts: Sequence[tuple[str, str]], max_new_tokens: int = chat.MAX_NEW_TOKENS,
            temperature: float = 0.0, seed: int = 0) -> list[Row]:
    """Both models' answers to the same (prompt, topic) questions (either model may be None)."""
    def ask(m, q):
        if m is None:
            return None
        return chat.answer(m.model, m.tokenizer, q, max_new_tokens, temperature, 40 if temperature else None, seed)
    return [Row(q, t, ask(base_model, q), ask(tuned, q)) for q, t in prompts]


def scores(rows: Sequence[Row], which: str) -> dict:
    """{"n", "end_share", "on_topic_share", "flaw_shares"} of the `which` ("base" or "tuned")
    answers; flaw_shares: the share of answers each weak-answer rule flags (`weaknesses`)."""
    replies = [(r.prompt, getattr(r, which), r.topic) for r in rows if getattr(r, which) is not None]
    n = max(1, len(replies))
    flaws = Counter(f for q, rep, t in replies for f in weaknesses(q, rep.text, t or None))
    return {"n": len(replies),
            "end_share": sum(rep.ended for _, rep, _ in replies) / n,
            "on_topic_share": sum(on_topic(rep.text, t) for _, rep, t in replies) / n,
            "flaw_shares": {f: round(flaws[f] / n, 3) for f in FLAWS}}


def table(rows: Sequence[Row]) -> list[dict]:
    """Rows for a table: question, topic, and each model's answer marked with how it ended
    (headers, topics and markers in the current language; questions and answers as they are)."""
    def show(rep):
        if rep is None:
            return "—"
        return (rep.text or _("(nothing)")) + ("  ⏹" if rep.ended else "  " + _("…(did not stop)"))
    return [{_("question"): r.prompt, _("topic"): _(TOPIC_TITLES[r.topic]) if r.topic in TOPIC_TITLES else r.topic,
             _("base model"): show(r.base), _("tuned model"): show(r.tuned)} for r in rows]
