"""The answers that feedback is about: sampled many at once, turned into text, and scored token by
token.

Everything in the feedback phase works on answers to chat prompts: the page shows 4 sampled
answers to rate, the simulated raters rate sampled answers, the policy practises on sampled
answers, and the before/after judges sampled answers. This module is the one place they are
sampled (`sample_batch`) and the one place their log-probabilities are computed
(`answer_logprobs`).

    >>> pad([[1, 2], [3]]).tolist()
    [[1, 2], [3, 0]]
"""
from __future__ import annotations

from typing import Sequence

import torch

from . import chat
from .model import GPT
from .paramfile import LoadedModel

CUT = " …"   # marks an answer that was cut off before the model closed it with <|end|>


def answer_head(tok, prompt: str, max_new_tokens: int, block_size: int) -> list[int]:
    """The chat prompt's ids, cut so that prompt + answer fit the context."""
    ids, _ = chat.prompt_ids(tok, prompt, max(1, block_size - max_new_tokens - 3))
    return ids


def pad(rows: Sequence[Sequence[int]], value: int = 0) -> torch.Tensor:
    """Right-pad to one length: [[1, 2], [3]] -> tensor([[1, 2], [3, 0]]). With causal attention
    the padding after a sequence never changes what its real tokens see."""
    T = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (T - len(r)) for r in rows], dtype=torch.long)


# --------------------------------------------------------------------------------------------------
# Sampling, many at once

@torch.no_grad()
def sample_batch(model: GPT, tok, heads: Sequence[Sequence[int]], max_new_tokens: int,
                 temperature: float = 1.0, gen: torch.Generator | None = None) -> list[list[int]]:
    """One answer after each head, all sampled side by side (one batch, KV cache). The heads must
    have the same length (the positions are shared). Each answer is a list of ids, ending with
    <|end|> if the model closed it. Example: 32 answers of 64 tokens take 64 forward passes of a
    batch of 32, not 2,048 passes of one."""
    gen = gen or torch.Generator().manual_seed(0)
    sp = chat.special_ids(tok)
    stop = {sp[chat.END], sp[chat.EOT]}
    if len({len(h) for h in heads}) != 1:
        raise ValueError("sample_batch needs heads of one length")
    max_new_tokens = min(max_new_tokens, model.config.block_size - len(heads[0]))  # tiny context
    was = model.training
    model.eval()
    out = model(torch.tensor([list(h) for h in heads]))
    cache, logits = out.kv_cache, out.logits[:, -1]                       # (B, V)
    seqs: list[list[int]] = [[] for _ in heads]
    done = [False] * len(heads)
    for t in range(max_new_tokens):
        if temperature <= 0:
            nxt = logits.argmax(-1)
        else:
            nxt = torch.multinomial((logits.float() / temperature).softmax(-1), 1, generator=gen)[:, 0]
        for i, tid in enumerate(nxt.tolist()):
            if not done[i]:
                seqs[i].append(tid)
                done[i] = tid in stop
        if all(done) or t == max_new_tokens - 1:
            break
        out = model(nxt[:, None], kv_cache=cache)                          # one new token each
        cache, logits = out.kv_cache, out.logits[:, -1]
    model.train(was)
    return seqs


def sample_answers(model: GPT, tok, prompt: str, k: int, max_new_tokens: int = chat.MAX_NEW_TOKENS,
                   temperature: float = 1.0, gen: torch.Generator | None = None) -> list[list[int]]:
    """k answers to one prompt, sampled side by side."""
    head = answer_head(tok, prompt, max_new_tokens, model.config.block_size)
    return sample_batch(model, tok, [head] * k, max_new_tokens, temperature, gen)


def answer_text(tok, ids: Sequence[int]) -> str:
    """The answer as text, without special tokens; one that did not close with <|end|> gets " …"
    at the end, so that raters (people and rules) see that it was cut off."""
    sp = chat.special_ids(tok)
    text = tok.decode([i for i in ids if i not in sp.values()]).strip()
    return text if ids and ids[-1] == sp[chat.END] else text + CUT


def sample_texts(loaded: LoadedModel, prompt: str, k: int = 4, seed: int = 0,
                 temperature: float = 1.0, max_new_tokens: int = chat.MAX_NEW_TOKENS) -> list[str]:
    """k sampled answers as text (the page's "4 answers to rate")."""
    gen = torch.Generator().manual_seed(seed)
    return [answer_text(loaded.tokenizer, s) for s in
            sample_answers(loaded.model, loaded.tokenizer, prompt, k, max_new_tokens, temperature, gen)]


# --------------------------------------------------------------------------------------------------
# Log-probabilities, KL and entropy of answers

def answer_logprobs(model: GPT, ref: GPT | None, heads: Sequence[Sequence[int]],
                    answers: Sequence[Sequence[int]], eot: int, temperature: float = 1.0,
                    entropy: bool = False):
    """Per answer: the sum of its tokens' log-probabilities under `model` (with gradients), the
    number of tokens, the exact per-token KL(model || ref) summed over the answer, and (if asked)
    the entropy of the model's next-token distribution at temperature 1 summed over the answer:
    how unsure it is where the 4 answers to rate are sampled. With a temperature, the
    log-probabilities and the KL are those of the distributions that temperature samples from.

    Returns (logp_sum (B,), n_tokens (B,), kl_sum (B,) or None, entropy_sum (B,) or None)."""
    rows = [list(h) + list(a) for h, a in zip(heads, answers)]
    idx = pad(rows, eot)                                                   # (B, T)
    B = idx.shape[0]
    # position j predicts token j+1: the answer's M tokens are predicted from len(head)-1 on, and
    # only those positions go through the vocabulary-sized steps below (not the question's, nor
    # the padding: about half the work)
    at_b = torch.tensor([i for i, a in enumerate(answers) for _ in a], dtype=torch.long)      # (M,)
    at_t = torch.tensor([len(h) - 1 + j for h, a in zip(heads, answers) for j in range(len(a))],
                        dtype=torch.long)                                                      # (M,)

    def per_answer(x: torch.Tensor) -> torch.Tensor:                       # (M,) -> (B,) sums
        return torch.zeros(B, dtype=x.dtype).index_add(0, at_b, x)

    tau = temperature if temperature > 0 else 1.0
    logits = model(idx).logits[at_b, at_t].float()                         # (M, V)
    logp_all = (logits / tau).log_softmax(-1)
    logp = logp_all.gather(-1, idx[at_b, at_t + 1, None]).squeeze(-1)      # (M,)
    kl_sum = None
    if ref is not None:
        with torch.no_grad():
            ref_logp = (ref(idx).logits[at_b, at_t].float() / tau).log_softmax(-1)
        kl_sum = per_answer((logp_all.exp() * (logp_all - ref_logp)).sum(-1))   # exact KL
    ent_sum = None
    if entropy:
        logp_1 = logits.log_softmax(-1)                                    # (M, V) at T = 1
        ent_sum = per_answer(-(logp_1.exp() * logp_1).sum(-1))
    n_tok = torch.tensor([float(len(a)) for a in answers])
    return per_answer(logp), n_tok, kl_sum, ent_sum
