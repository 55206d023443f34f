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

from ..gpt import chat
from ..gpt.model import GPT
from ..gpt.paramfile import LoadedModel
from ..gpt.sampling import generate_batch
from ..gpt.scoring import score_continuations

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

def sample_batch(model: GPT, tok, heads: Sequence[Sequence[int]], max_new_tokens: int,
                 temperature: float = 1.0, gen: torch.Generator | None = None) -> list[list[int]]:
    """One answer after each head, all sampled side by side (`sampling.generate_batch`: one batch,
    KV cache). The heads must have the same length. Each answer is a list of ids, ending with
    <|end|> if the model closed it; an answer never runs past the context (no sliding window)."""
    if len({len(h) for h in heads}) != 1:
        raise ValueError("sample_batch needs heads of one length")
    sp = chat.special_ids(tok)
    max_new_tokens = min(max_new_tokens, model.config.block_size - len(heads[0]))  # tiny context
    return generate_batch(model, heads, max_new_tokens, temperature,
                          gen=gen or torch.Generator().manual_seed(0),
                          stop_ids=[sp[chat.END], sp[chat.EOT]])


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
                    answers: Sequence[Sequence[int]], temperature: float = 1.0,
                    entropy: bool = False):
    """Per answer: the sum of its tokens' log-probabilities under `model` (with gradients), the
    number of tokens, the exact per-token KL(model || ref) summed over the answer, and (if asked)
    the entropy of the model's next-token distribution at temperature 1 summed over the answer:
    how unsure it is where the 4 answers to rate are sampled. With a temperature, the
    log-probabilities and the KL are those of the distributions that temperature samples from.
    All of it from `scoring.score_continuations`, the one continuation scorer.

    Returns (logp_sum (B,), n_tokens (B,), kl_sum (B,) or None, entropy_sum (B,) or None)."""
    s = score_continuations(model, heads, answers, grad=True)
    logp_all = s.log_softmax(temperature)                                  # (M, V)
    logp = logp_all.gather(-1, s.targets[:, None]).squeeze(-1)             # (M,)
    kl_sum = None
    if ref is not None:
        ref_logp = score_continuations(ref, heads, answers).log_softmax(temperature)
        kl_sum = s.sums((logp_all.exp() * (logp_all - ref_logp)).sum(-1))  # exact KL
    ent_sum = None
    if entropy:
        logp_1 = s.log_softmax()                                           # (M, V) at T = 1
        ent_sum = s.sums(-(logp_1.exp() * logp_1).sum(-1))
    n_tok = torch.tensor([float(len(a)) for a in answers])
    return s.sums(logp), n_tok, kl_sum, ent_sum
