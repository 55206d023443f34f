"""What a model thinks of given text: the batched continuation scorer and the next-word ranking.

`score_continuations` serves ranking, name recall and feedback alike; `rank_next` answers
"A flash flood watch will be in effect all ___" with the model's top tokens and candidate words.
Works with any model that has the GPT interface (our GPT and the SmolLM2 Llama).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch


@dataclass
class Scored:
    """The model's view of each continuation, flattened over all their tokens (M in all).

    logits[i] are the raw scores at the position that predicts continuation token targets[i],
    which belongs to continuation row[i]; `lengths` gives each continuation's token count.
    """
    logits: torch.Tensor        # (M, V) float, with gradients if scored with grad=True
    targets: torch.Tensor       # (M,) the continuations' tokens
    row: torch.Tensor           # (M,) which continuation each token belongs to
    lengths: list[int]

    def log_softmax(self, temperature: float = 1.0) -> torch.Tensor:
        """(M, V) log-probabilities of every next token, from the distribution `temperature`
        samples from (0 means 1: greedy has no distribution of its own)."""
        return (self.logits / (temperature if temperature > 0 else 1.0)).log_softmax(-1)

    def logprobs(self, temperature: float = 1.0) -> torch.Tensor:
        """(M,) log-probability of each continuation token."""
        return self.log_softmax(temperature).gather(-1, self.targets[:, None]).squeeze(-1)

    def sums(self, x: torch.Tensor) -> torch.Tensor:
        """Per-token values (M,) added up per continuation (B,)."""
        return torch.zeros(len(self.lengths), dtype=x.dtype).index_add(0, self.row, x)

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per-token values (M, ...) cut into one tensor per continuation."""
        return list(x.split(self.lengths))


@dataclass
class ReadPrompt:
    """A prompt the model has read once: its ids, the raw scores (V,) of the next token, and the
    keys and values of every layer (the KV cache), so that what follows it can be scored without
    reading the prompt again."""
    ids: list[int]
    logits: torch.Tensor
    kv_cache: list


@torch.no_grad()
def read_prompt(model, ids: Sequence[int]) -> ReadPrompt:
    """One forward pass over the last block_size of `ids`, in eval mode."""
    model.eval()
    ids = list(ids)[-model.config.block_size:]
    out = model(torch.tensor([ids]))
    return ReadPrompt(ids, out.logits[0, -1].float(), out.kv_cache)


def score_continuations(model, contexts: Sequence[Sequence[int]],
                        continuations: Sequence[Sequence[int]], *, grad: bool = False,
                        batch: int | None = None, prompt: ReadPrompt | None = None) -> Scored:
    """How the model scores each continuation after its context, in batched forward passes.

    Each row is context + continuation[:-1] (its last block_size tokens if longer), padded on the
    right: causal attention means padding after a position never changes that position's output.
    Position L - m + j predicts continuation token j (L = row length, m = continuation length),
    and only those positions are kept. grad=False scores in eval mode without gradients, in
    batches of `batch` rows (None: one pass); grad=True keeps the model's mode and the gradients
    (a policy step). Example, a policy step's answers: their log-probabilities at a temperature
    (with gradients), the exact KL to a reference model and the entropy, summed per answer:

        s = score_continuations(policy, heads, answers, grad=True)
        logp = s.sums(s.logprobs(0.7))                                # (B,)
        lp, ref_lp = s.log_softmax(0.7), score_continuations(ref, heads, answers).log_softmax(0.7)
        kl = s.sums((lp.exp() * (lp - ref_lp)).sum(-1))               # (B,) KL(policy || ref)
        lp1 = s.log_softmax()
        entropy = s.sums(-(lp1.exp() * lp1).sum(-1))                  # (B,)

    `prompt`: every context is this prompt, already read (`read_prompt`): the continuations are
    scored from its KV cache, reading only their own tokens (ranking candidates after one prompt
    then costs one pass over the prompt, not one per candidate). Same figures, to rounding.
    """
    T = model.config.block_size
    if prompt is not None and all(list(c) == prompt.ids for c in contexts) and not grad \
            and len(prompt.ids) + max(map(len, continuations), default=0) - 1 <= T:
        return _after_prompt(model, prompt, continuations)
    rows = []
    for c, a in zip(contexts, continuations):
        if a and not c:
            raise ValueError("a continuation needs a context of at least one token")
        if len(a) > T:
            raise ValueError(f"a continuation of {len(a)} tokens exceeds the context of {T}")
        rows.append((list(c) + list(a[:-1]))[-T:])
    lengths = [len(a) for a in continuations]
    step = batch or max(1, len(rows))
    was_training = model.training
    parts = []
    with torch.set_grad_enabled(grad):
        if not grad:
            model.eval()
        try:
            for s in range(0, len(rows), step):
                chunk, conts = rows[s:s + step], continuations[s:s + step]
                x = torch.zeros(len(chunk), max(1, max(map(len, chunk))), dtype=torch.long)   # (B, L)
                for i, r in enumerate(chunk):
                    x[i, :len(r)] = torch.tensor(r, dtype=torch.long)
                at_b = torch.tensor([i for i, a in enumerate(conts) for _ in a], dtype=torch.long)
                at_t = torch.tensor([len(r) - len(a) + j for r, a in zip(chunk, conts)
                                     for j in range(len(a))], dtype=torch.long)             # (m,)
                parts.append(model(x).logits[at_b, at_t].float())                          # (m, V)
        finally:
            model.train(was_training)
    logits = torch.cat(parts) if parts else torch.zeros(0, model.config.vocab_size)
    targets = torch.tensor([t for a in continuations for t in a], dtype=torch.long)
    row = torch.tensor([i for i, a in enumerate(continuations) for _ in a], dtype=torch.long)
    return Scored(logits, targets, row, lengths)


@torch.no_grad()
def _after_prompt(model, prompt: ReadPrompt, continuations: Sequence[Sequence[int]]) -> Scored:
    """score_continuations for continuations that all follow `prompt`: token 0 of each is scored
    by the prompt's own next-token logits, tokens 1.. by one batched pass over the continuations
    (their tokens but the last, padded on the right) on top of the prompt's KV cache."""
    longer = [a for a in continuations if len(a) > 1]
    after = None
    if longer:
        x = torch.zeros(len(longer), max(len(a) for a in longer) - 1, dtype=torch.long)   # (B', L)
        for i, a in enumerate(longer):
            x[i, :len(a) - 1] = torch.tensor(a[:-1], dtype=torch.long)
        cache = [(k.expand(len(longer), -1, -1, -1), v.expand(len(longer), -1, -1, -1))
                 for k, v in prompt.kv_cache]
        model.eval()
        after = model(x, kv_cache=cache).logits.float()                                   # (B', L, V)
    rows, r = [], 0
    for a in continuations:
        if a:
            rows += [prompt.logits] + [after[r, j] for j in range(len(a) - 1)]
            r += len(a) > 1
    logits = (torch.stack(rows) if rows else torch.zeros(0, model.config.vocab_size))
    targets = torch.tensor([t for a in continuations for t in a], dtype=torch.long)
    row = torch.tensor([i for i, a in enumerate(continuations) for _ in a], dtype=torch.long)
    return Scored(logits, targets, row, [len(a) for a in continuations])


@torch.no_grad()
def embedding_rows(model, tok, text: str, max_tokens: int = 24) -> tuple[list[str], list[list[float]]]:
    """The embedding row (a vector of n_embd numbers) of each of the first tokens of `text`.

    The model's first layer is a table lookup: row `id` of `wte` (V, C). Returns the pieces as
    labels and the rows as plain lists, e.g. (["What", " should"], [[0.02, -0.11, ...], [...]]).
    """
    from .tokenizer import printable
    ids = tok.encode(text)[:max_tokens]
    labels = [printable(tok.token_bytes(i)) for i in ids]                # half an emoji: <0xF0>
    rows = model.wte.weight[torch.tensor(ids, dtype=torch.long)]          # (T, C)
    return labels, rows.tolist()


@dataclass
class CandidateScore:
    word: str
    prob: float          # product of the word's tokens' conditional probabilities
    rank: int | None     # 1-based rank among next tokens (of its first token); None if empty
    tokens: list[int] = field(default_factory=list)


@dataclass
class Ranking:
    prompt: str
    top: list[tuple[str, int, float]]          # (printable piece, id, probability), best first
    candidates: list[CandidateScore]
    n_prompt_tokens: int                       # tokens the model actually saw
    truncated: bool                            # the prompt was longer than the context
    n_dropped: int = 0                         # how many early tokens were dropped


@torch.no_grad()
def next_token_probs(model, ids: Sequence[int]) -> torch.Tensor:
    """Probabilities (V,) of the token that follows `ids` (the last block_size of them)."""
    return read_prompt(model, ids).logits.softmax(-1)


def rank_next(model, tok, prompt: str, k: int = 10, candidates: Sequence[str] = ()) -> Ranking:
    """What the model thinks comes next after `prompt`: its top-k tokens and candidate words.

    The prompt is read as in pretraining (`chat.prompt_ids` with chat=False: <|endoftext|> first,
    its last block_size tokens). A candidate word is scored as the continuation " word" (with its
    leading space, as it would appear in running text; pass " word" or "word" alike); a word of
    several tokens gets the product of each token's probability given the prompt and the tokens
    before it (`score_continuations`). Its rank is the rank of its first token. Example:
    rank_next(m, tok, "A flash flood watch will be in effect all",
    candidates=["night", "giraffe"]).candidates[0].rank == 1 for a trained model.
    """
    from .chat import prompt_ids
    ids, n_dropped = prompt_ids(tok, prompt, model.config.block_size, chat=False)
    read = read_prompt(model, ids)
    probs = read.logits.softmax(-1)                                       # (V,)
    top_p, top_i = probs.topk(min(k, probs.numel()))
    top = [(tok.decode([int(i)]), int(i), float(p)) for p, i in zip(top_p, top_i)]
    order = probs.argsort(descending=True)
    rank_of = torch.empty_like(order)
    rank_of[order] = torch.arange(1, order.numel() + 1)
    words = [w if w.startswith(" ") or not prompt or prompt[-1:].isspace() else " " + w for w in candidates]
    wids = [tok.encode(w) for w in words]
    scored = score_continuations(model, [read.ids] * len(wids), wids, prompt=read)
    logp = scored.sums(scored.logprobs()).tolist()                       # chain rule over tokens
    scores = [CandidateScore(word.strip(), math.exp(lp), int(rank_of[w[0]]), w) if w else
              CandidateScore(word, 0.0, None, []) for word, w, lp in zip(candidates, wids, logp)]
    return Ranking(prompt, top, scores, len(ids), n_dropped > 0, n_dropped)
