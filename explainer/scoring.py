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


def score_continuations(model, contexts: Sequence[Sequence[int]],
                        continuations: Sequence[Sequence[int]], *, grad: bool = False,
                        batch: int | None = None) -> Scored:
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
    """
    T = model.config.block_size
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
    model.eval()
    x = torch.tensor([list(ids)[-model.config.block_size:]])
    return model(x).logits[0, -1].float().softmax(-1)


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
    probs = next_token_probs(model, ids)                                  # (V,)
    top_p, top_i = probs.topk(min(k, probs.numel()))
    top = [(tok.decode([int(i)]), int(i), float(p)) for p, i in zip(top_p, top_i)]
    order = probs.argsort(descending=True)
    rank_of = torch.empty_like(order)
    rank_of[order] = torch.arange(1, order.numel() + 1)
    words = [w if w.startswith(" ") or not prompt or prompt[-1:].isspace() else " " + w for w in candidates]
    wids = [tok.encode(w) for w in words]
    scored = score_continuations(model, [ids] * len(wids), wids)
    logp = scored.sums(scored.logprobs()).tolist()                       # chain rule over tokens
    scores = [CandidateScore(word.strip(), math.exp(lp), int(rank_of[w[0]]), w) if w else
              CandidateScore(word, 0.0, None, []) for word, w, lp in zip(candidates, wids, logp)]
    return Ranking(prompt, top, scores, len(ids), n_dropped > 0, n_dropped)
