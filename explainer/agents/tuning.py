"""Tool-use fine-tuning: an instruction-tuned model learns to call tools and answer from results.

The same loop as instruction tuning (`training.train`, batches starting at a conversation), on
the conversations of data.py. Before training, `with_call_tokens` adds <|call|> and <|result|> to
the model (two new embedding rows). The loss covers the model's own tokens only: the call and the
final answer, each with its <|end|>; never the question, and never the result the tool wrote
(the model is not asked to predict what the tool will say: that is the tool's job).

    >>> agent = yield from run(tuned, AgentSpec(steps=300))       # doctest: +SKIP
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Iterator

import torch

from ..gpt.card import card
from ..gpt.events import Status
from ..gpt.paramfile import LoadedModel
from ..gpt.training import Eval, Finished, Sample, TrainConfig, TrainingError, train
from ..phases.sft import TurnBatches
from . import data, loop
from .calls import CALL, RESULT, with_call_tokens

WATCH_QUESTION = "What is 23 times 47?"


@dataclass
class AgentSpec(TrainConfig):
    """The training loop's config with tool-use tuning's defaults (what the agent file records)."""
    steps: int = 800               # small model: ~2 minutes at 2 threads on an idle machine; 500
                                   # steps left names half-copied ("Gabor" for Gaborone)
    batch_size: int = 16           # 16 windows x 128 tokens: ~40 conversations per step
    lr: float = 2e-3
    warmup: int = 20
    eval_every: int = 50           # each evaluation also runs the agent on WATCH_QUESTION
    eval_batches: int = 2
    sample_every: int = 0
    rank_every: int = 0
    conversations: int = data.CONVERSATIONS


def stream(tok, convs, block_size: int):
    """(ids, mask, starts) of many conversations as one stream; too long ones are skipped."""
    ids, mask, starts = [], [], []
    for c in convs:
        i, m = data.encode(tok, c)
        if len(i) <= block_size:
            starts.append(len(ids))
            ids += i
            mask += m
    pad = block_size + 1
    return (torch.tensor(ids + [tok.eot_id] * pad), torch.tensor(mask + [0] * pad),
            torch.tensor(starts, dtype=torch.long))


def make_batches(tok, train_convs, val_convs, block_size: int) -> TurnBatches:
    x, m, s = stream(tok, train_convs, block_size)
    vx, vm, vs = stream(tok, val_convs, block_size)
    if s.numel() == 0 or vs.numel() == 0:
        raise TrainingError("No conversation fits the model's context: nothing to learn from.")
    return TurnBatches(x, vx, block_size, m, vm, starts=s, val_starts=vs)


def watch_text(loaded: LoadedModel, question: str = WATCH_QUESTION) -> str:
    """One line of what the agent does with `question`: 'calculator(23*47) -> 1081 -> The answer is 1081.'"""
    parts = []
    for ev in loop.run(loaded, question):
        if isinstance(ev, loop.Wrote):
            parts.append(ev.call or ev.text or "(nothing)")
        elif isinstance(ev, loop.ToolRan):
            parts.append(ev.result)
        elif isinstance(ev, loop.Done) and ev.reason != "answered":
            parts.append(f"[{ev.reason}]")
    return " -> ".join(parts)


def run(tuned: LoadedModel, spec: AgentSpec = AgentSpec(), *, base_name: str | None = None,
        cancel: threading.Event | None = None) -> Iterator:
    """Tool-use tune a copy of the chat model `tuned`; yields Status, training events and a Sample
    (the agent on WATCH_QUESTION) at every evaluation; returns the agent as a LoadedModel."""
    yield Status("Adding <|call|> and <|result|> to the vocabulary, writing the conversations ...")
    grown = with_call_tokens(tuned, spec.seed)
    agent = LoadedModel(copy.deepcopy(grown.model), grown.tokenizer, grown.config, {}, None)
    convs = data.conversations(spec.conversations, spec.seed)
    batches = make_batches(agent.tokenizer, convs, data.heldout_questions(), agent.config.block_size)
    finished = None
    for ev in train(agent.model, batches, spec, tokenizer=agent.tokenizer, cancel=cancel):
        yield ev
        if isinstance(ev, Eval):
            yield Sample(ev.step, watch_text(agent))
            agent.model.train()
        elif isinstance(ev, Finished):
            finished = ev
    agent.model.eval()
    agent.facts.update(card(
        "agent", agent.model, spec, base_model=base_name or tuned.name,
        corpus=f"{tuned.facts.get('corpus', 'a tuned model')} + {len(convs):,} tool-use conversations",
        preset=tuned.facts.get("preset"),
        conversations=len(convs),
        steps=finished.step, stop_reason=finished.reason,
        tokens_trained=int(tuned.facts.get("tokens_trained", 0)) + finished.tokens_seen,
        agent_tokens=finished.tokens_seen,
        val_loss=round(finished.val_loss, 4),
        val_loss_meaning="nats per call and answer token on held-out questions",
        train_seconds=round(finished.elapsed, 1),
        special_tokens=dict(agent.tokenizer.special_tokens),
        tools=["calculator", "lookup"], call_tokens=[CALL, RESULT],
        loss_on="the call and the final answer (with their <|end|>); never the tool's result",
        heldout_countries=list(data.HELDOUT_COUNTRIES)))
    return agent
