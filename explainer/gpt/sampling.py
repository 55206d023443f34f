"""The sampler: new tokens from a model, one prompt or many side by side, with a KV cache.

Works with any model that has the GPT interface (`model(idx, kv_cache=)` returning `.logits` and
`.kv_cache`, and `model.config.block_size`): our GPT and the Llama that reads SmolLM2.
`check_sampling` refuses settings that make no sense (a nan or negative temperature, top-k below
0, top-p outside (0, 1]) with a message that says what to pass instead.
"""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import torch


def check_sampling(temperature: float, top_k: int | None = None, top_p: float | None = None,
                   max_new_tokens: int = 0) -> None:
    """Raise ValueError, saying what to pass instead, for settings the sampler cannot honour.

    temperature: a finite number of at least 0 (0 = greedy; a negative one would turn the ranking
    upside down, nan breaks sampling); top_k: None or a whole number of at least 0 (0 = off);
    top_p: None or a number above 0 and at most 1 (1 = off); max_new_tokens: a whole number of at
    least 0.
    """
    def whole(x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0 <= temperature < math.inf:
        raise ValueError(f"temperature {temperature!r} cannot be used: pass a finite number of at "
                         f"least 0 (0 = always the most likely token, 1 = the model's own odds)")
    if top_k is not None and (not whole(top_k) or top_k < 0):
        raise ValueError(f"top-k {top_k!r} cannot be used: pass a whole number of at least 0 "
                         f"(the k most likely tokens; 0 or None = no limit)")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top-p {top_p!r} cannot be used: pass a number above 0 and at most 1 "
                         f"(the smallest set of tokens whose probability reaches it; 1 = no limit)")
    if not whole(max_new_tokens) or max_new_tokens < 0:
        raise ValueError(f"{max_new_tokens!r} new tokens cannot be used: pass a whole number of "
                         f"at least 0")


@torch.no_grad()
def generate_steps(model, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                   temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, *,
                   gen: torch.Generator | None = None, stop_ids: Sequence[int] = (),
                   use_cache: bool = True) -> Iterator[list[int]]:
    """The sampler: yield one new token per prompt at each step, for prompts of one length, side by
    side in one batch (`generate_batch` takes prompts of any lengths).

    Ends after `max_new_tokens` steps or once every row has produced a token in `stop_ids` (a row
    that stopped keeps being computed; its later tokens mean nothing). With the KV cache each step
    feeds one token per row; when the context fills up the window slides and the cache is rebuilt
    from the most recent tokens. An empty prompt starts from token 0.
    """
    check_sampling(temperature, top_k, top_p, max_new_tokens)
    if len({len(p) for p in prompts}) > 1:
        raise ValueError("generate_steps needs prompts of one length; generate_batch takes any")
    if not prompts:
        return
    gen = gen if gen is not None else torch.Generator().manual_seed(0)
    T = model.config.block_size
    seqs = [list(p)[-T:] or [0] for p in prompts]
    stop = set(stop_ids)
    done = [False] * len(seqs)
    was_training = model.training
    model.eval()
    try:
        cache = None
        for _ in range(max_new_tokens):
            if use_cache and cache is not None and len(seqs[0]) <= T:
                out = model(torch.tensor([s[-1:] for s in seqs]), kv_cache=cache)    # new tokens only
            else:
                seqs = [s[-T:] for s in seqs]
                out = model(torch.tensor(seqs))
            cache = out.kv_cache if use_cache else None
            nxt = sample_next(out.logits[:, -1], temperature, top_k, top_p, gen).tolist()   # (B,)
            yield nxt
            done = [d or t in stop for d, t in zip(done, nxt)]
            if all(done):
                return
            for s, t in zip(seqs, nxt):
                s.append(t)
            if len(seqs[0]) > T:
                cache = None      # window slides: positions shift, so the cache is stale
    finally:
        model.train(was_training)


def generate_batch(model, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                   temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, *,
                   gen: torch.Generator | None = None, seed: int = 0, stop_ids: Sequence[int] = (),
                   use_cache: bool = True) -> list[list[int]]:
    """New token ids after each prompt, sampled side by side: one list per prompt, in order, each
    ending with its stop id if it produced one.

    Prompts of one length share a batch (positions are shared, so there is no padding to mask);
    prompts of different lengths are sampled group by group, in order of first appearance, from
    the same generator (`gen`, else a new one seeded with `seed`). Example: 32 answers of 64
    tokens take 64 forward passes of a batch of 32, not 2,048 passes of one:

        >>> generate_batch(model, [head] * 32, 64, temperature=1.0, stop_ids=[end])  # doctest: +SKIP
    """
    check_sampling(temperature, top_k, top_p, max_new_tokens)
    gen = gen if gen is not None else torch.Generator().manual_seed(seed)
    stop = set(stop_ids)
    out: list[list[int]] = [[] for _ in prompts]
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p), []).append(i)
    for rows in groups.values():
        done = [False] * len(rows)
        for step in generate_steps(model, [prompts[i] for i in rows], max_new_tokens, temperature,
                                   top_k, top_p, gen=gen, stop_ids=stop_ids, use_cache=use_cache):
            for j, (i, t) in enumerate(zip(rows, step)):
                if not done[j]:
                    out[i].append(t)
                    done[j] = t in stop
    return out


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
                gen: torch.Generator) -> torch.Tensor:
    """Pick one token id per row of logits (B, V) -> (B,). Example: temperature 0 -> argmax.

    top_k keeps the k most likely tokens, top_p the smallest set whose probability reaches p
    (settings as `check_sampling` allows; the callers above check them once).
    """
    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[:, -1:]     # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(-1)
    if top_p is not None and 0 < top_p < 1:
        sp, si = probs.sort(dim=-1, descending=True)
        keep = sp.cumsum(-1) - sp < top_p          # keep the smallest set whose mass reaches top_p
        probs = torch.zeros_like(probs).scatter(-1, si, sp * keep)
        probs = probs / probs.sum(-1, keepdim=True)
    return torch.multinomial(probs, 1, generator=gen)[:, 0]
