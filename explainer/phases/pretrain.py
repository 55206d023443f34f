"""Pretraining: a fresh GPT learns to predict the next token of a corpus.

A thin layer on `training.py`: it learns (or reuses) a tokenizer, turns the corpus into a token
stream (a blank line starts a new document, marked by <|endoftext|>), builds the model from a
preset, runs the training loop while watching the flash-flood ranking, and returns the trained
model with the facts that go into its parameter file.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from .. import corpus as corpora
from ..gpt.card import card
from ..gpt.events import Status
from ..gpt.model import GPT, preset
from ..gpt.paramfile import LoadedModel
from ..gpt.tokenizer import Tokenizer, train_bpe
from ..gpt.training import Batches, Finished, TrainConfig, train
from ..i18n import N_

DEFAULT_PROMPT = "A flash flood watch will be in effect all"
DEFAULT_CANDIDATES = ("night", "day", "weekend", "giraffe")
BPE_SAMPLE_BYTES = 2_000_000    # learn the vocabulary from at most this much text: enough, and fast


@dataclass
class PretrainSpec(TrainConfig):
    """The training loop's config with pretraining's defaults, plus the model size and vocabulary.

    Every TrainConfig field can be set here; the spec is the config `train` runs with, and what the
    parameter file's facts record. The seed also seeds the weights and the train/validation split.
    """
    preset: str = "small"          # a name in model.PRESETS
    vocab_size: int = 2048         # BPE vocabulary (a short text gets fewer: vocab_size_for)
    steps: int = 300               # small: under 2 minutes alone on 2 cores, "night" first by ~step 125
    # The speedrun's recipe (docs/speedrun.md): Muon for the blocks' matrices, warmup-stable-decay;
    # it reaches AdamW's 300-step loss in half the steps (300 steps: val loss 0.86 against 1.73)
    optimizer: str = "muon"
    schedule: str = "wsd"
    warmup: int = 20
    sample_every: int = 100        # the writing changes fastest early: show it more often


def encode_documents(tok: Tokenizer, text: str) -> torch.Tensor:
    """One token stream: <|endoftext|> before each blank-line separated document.

    Example: "Hi.\\n\\nBye." -> [eot, ids("Hi."), eot, ids("Bye.")].
    """
    ids: list[int] = []
    for doc in text.split("\n\n"):
        if doc.strip():
            ids.append(tok.eot_id)
            ids.extend(tok.encode(doc))
    return torch.tensor(ids, dtype=torch.long)


def vocab_size_for(n_bytes: int, wanted: int = PretrainSpec.vocab_size) -> int:
    """A vocabulary a text of this size can fill: tiny texts cannot supply 1,788 distinct merges.

    >>> vocab_size_for(3_000), vocab_size_for(50_000), vocab_size_for(2_000_000)
    (306, 1041, 2048)
    """
    return max(300, min(wanted, 260 + n_bytes // 64))


def learn_tokenizer(text: str, vocab_size: int = PretrainSpec.vocab_size) -> Tokenizer:
    """train_bpe with a vocabulary size that fits the text, halving it if the text still runs out
    of pairs to merge (a short text repeating itself)."""
    sample = text[:BPE_SAMPLE_BYTES]
    size = vocab_size_for(len(sample.encode("utf-8")), vocab_size)
    while True:
        try:
            return train_bpe(sample, size)[0]
        except ValueError as e:
            if "too small" not in str(e):
                raise
            if size <= 261:
                raise corpora.CorpusError(N_("This text is too repetitive to learn a vocabulary "
                                             "from: no pair of characters repeats. Use a longer, "
                                             "more varied text.")) from None   # shown: _(...)
            size = 260 + (size - 260) // 2


def run(text: str, spec: PretrainSpec = PretrainSpec(), *, tokenizer: Tokenizer | None = None,
        corpus_name: str = "your text", watch_prompts: Sequence[str] = (DEFAULT_PROMPT,),
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        cancel: threading.Event | None = None) -> Iterator:
    """Pretrain a new model on `text`; yields Status and training events, returns a LoadedModel."""
    if tokenizer is None:
        yield Status(f"Learning a {spec.vocab_size:,}-token vocabulary from the text ...")
        tokenizer = learn_tokenizer(text, spec.vocab_size)
    yield Status(N_("Turning the text into tokens ..."))   # the page shows _(message)
    train_text, val_text = corpora.split(text, seed=spec.seed)
    cfg = preset(spec.preset, vocab_size=tokenizer.n_vocab, seed=spec.seed)
    data = Batches(encode_documents(tokenizer, train_text), encode_documents(tokenizer, val_text),
                   cfg.block_size)
    model = GPT(cfg)
    finished: Finished = yield from train(model, data, spec, tokenizer=tokenizer,
                                          watch_prompts=watch_prompts, candidates=candidates,
                                          cancel=cancel)
    facts = card("base", model, spec, corpus=corpus_name, preset=spec.preset, steps=finished.step,
                 tokens_trained=finished.tokens_seen, val_loss=round(finished.val_loss, 4),
                 val_bpb=round(finished.val_bpb, 4), train_seconds=round(finished.elapsed, 1))
    model.eval()
    return LoadedModel(model, tokenizer, cfg, facts, None)
