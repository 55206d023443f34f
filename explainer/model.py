"""The GPT: a decoder-only transformer in the GPT-2 architecture, small enough to train on a CPU.

Everything the app shows about "the model" comes from this one file: the config and its presets,
the network (learned position embeddings, pre-LayerNorm blocks, causal self-attention through
`scaled_dot_product_attention`, GELU MLP, input and output embeddings tied), generation with a KV
cache, and the next-word ranking ("A flash flood watch will be in effect all ___").

References: Radford et al. 2019 (GPT-2); Karpathy's nanoGPT `model.py`, whose layout and parameter
names this file follows so that readers who know it feel at home.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------------------------------
# Config and presets

@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 2048   # our own BPE: small vocabularies keep the embedding a modest share
    block_size: int = 128    # context window in tokens; position embeddings exist only up to here
    n_layer: int = 4         # >= 2 layers are needed to learn copying ("induction heads")
    n_head: int = 4          # head size n_embd / n_head = 32, a good fit for CPU matmuls
    n_embd: int = 128        # width of the residual stream
    dropout: float = 0.0     # minutes-long runs on ~1M tokens barely overfit; dropout only slows them
    seed: int = 0            # weight initialisation seed

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        return cls(**d)


PRESETS: dict[str, GPTConfig] = {
    # tests and the fastest demo: ~0.2M parameters, trains in seconds
    "tiny": GPTConfig(block_size=64, n_layer=2, n_head=2, n_embd=64),
    # the live-demo default: ~1M parameters, learns the flash-flood ranking within a minute
    "small": GPTConfig(block_size=128, n_layer=4, n_head=4, n_embd=128),
    # for patient learners: ~4M parameters, a few times slower per token
    "medium": GPTConfig(block_size=256, n_layer=4, n_head=8, n_embd=256),
}


def preset(name: str, **overrides) -> GPTConfig:
    """The named preset, with fields overridden: `preset("small", vocab_size=4096)`."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


def count_params(cfg: GPTConfig) -> int:
    """Parameters of a model with this config (tied embeddings counted once), without building it.

    Example: the `small` preset with a 2,048-token vocabulary has 1,072,000 or so parameters.
    """
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    per_layer = 4 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C)
    return V * C + T * C + L * per_layer + 2 * C


# --------------------------------------------------------------------------------------------------
# The network

@dataclass
class GPTOutput:
    logits: torch.Tensor                            # (B, T, V)
    loss: torch.Tensor | None = None                # scalar mean cross-entropy
    attn: list[torch.Tensor] | None = None          # per layer (B, H, T, T_total), rows sum to 1
    hidden: list[torch.Tensor] | None = None        # embeddings + each block's output, (B, T, C)
    kv_cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # per layer (k, v) (B, H, T, hs)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)   # q, k, v for all heads in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x, past=None, return_attn=False):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)                       # each (B, T, C)
        q = q.view(B, T, H, C // H).transpose(1, 2)                     # (B, H, T, hs)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        if past is not None:                                            # generation: reuse old keys
            k = torch.cat([past[0], k], dim=2)                          # (B, H, T_past + T, hs)
            v = torch.cat([past[1], v], dim=2)
        T_total = k.size(2)
        att = None
        if return_attn:
            # The explicit path, for pictures: the same maths as SDPA, keeping the weights.
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)     # (B, H, T, T_total)
            mask = torch.ones(T, T_total, dtype=torch.bool, device=x.device).tril(T_total - T)
            att = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = att @ v                                                 # (B, H, T, hs)
        elif past is None:
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        else:
            # new queries sit at the end of the sequence: query i may see keys 0..T_past+i
            mask = torch.ones(T, T_total, dtype=torch.bool, device=x.device).tril(T_total - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)               # re-assemble heads
        return self.c_proj(y), (k, v), att


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x, past=None, return_attn=False):
        a, kv, att = self.attn(self.ln_1(x), past, return_attn)
        x = x + a                       # pre-LayerNorm: the residual stream itself is never normed
        x = x + self.mlp(self.ln_2(x))
        return x, kv, att


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)    # token id -> vector
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)    # position -> vector: the hard limit
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        # Output layer tied to the input embedding: scores are dot products with token vectors.
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self._init_weights(cfg.seed)

    def _init_weights(self, seed: int):
        # GPT-2 init: N(0, 0.02), residual projections scaled by 1/sqrt(2 * n_layer), from a local
        # generator so that the same seed gives the same model whatever else ran before.
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.zero_()
                elif "ln_" in name:
                    p.fill_(1.0)
                else:
                    std = 0.02 / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj.weight") else 0.02
                    p.copy_(torch.randn(p.shape, generator=g) * std)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, *, loss_mask=None, return_attn=False, return_hidden=False,
                kv_cache=None) -> GPTOutput:
        """idx (B, T) token ids -> GPTOutput with logits (B, T, V).

        targets (B, T): next-token ids for the loss; loss_mask (B, T) of 0/1 keeps only some
        positions in it (instruction tuning learns from the answer tokens only).
        kv_cache: the previous call's `GPTOutput.kv_cache`, to feed only new tokens.
        """
        B, T = idx.shape
        past_len = 0 if kv_cache is None else kv_cache[0][0].size(2)
        if past_len + T > self.config.block_size:
            raise ValueError(f"sequence of {past_len + T} tokens exceeds the context of "
                             f"{self.config.block_size}")
        pos = torch.arange(past_len, past_len + T, device=idx.device)     # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))                      # (B, T, C)
        hidden = [x] if return_hidden else None
        attn = [] if return_attn else None
        new_cache = []
        for i, block in enumerate(self.h):
            x, kv, att = block(x, None if kv_cache is None else kv_cache[i], return_attn)
            new_cache.append(kv)
            if return_attn:
                attn.append(att)
            if return_hidden:
                hidden.append(x)
        logits = self.lm_head(self.ln_f(x))                               # (B, T, V)
        loss = None
        if targets is not None:
            per_token = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1),
                                        reduction="none")                 # (B*T,)
            if loss_mask is None:
                loss = per_token.mean()
            else:
                m = loss_mask.reshape(-1).to(per_token.dtype)
                loss = (per_token * m).sum() / m.sum().clamp(min=1.0)
        return GPTOutput(logits, loss, attn, hidden, new_cache)

    # ----------------------------------------------------------------------------------------------
    # Generation

    def generate(self, idx: Sequence[int], max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int = 0,
                 stop_ids: Sequence[int] = (), use_cache: bool = True) -> Iterator[int]:
        """Yield up to `max_new_tokens` new token ids after the prompt `idx`: `generate_steps`
        with one prompt, so a chat can show each token as it comes.

        temperature 0 is greedy (deterministic); otherwise a local seeded `torch.Generator` samples,
        so the same seed gives the same text without touching the global RNG. Stops after yielding
        a token in `stop_ids`.
        """
        gen = torch.Generator().manual_seed(seed)
        for step in generate_steps(self, [list(idx)], max_new_tokens, temperature, top_k, top_p,
                                   gen=gen, stop_ids=stop_ids, use_cache=use_cache):
            yield step[0]
            if step[0] in stop_ids:
                return


@torch.no_grad()
def generate_steps(model: GPT, prompts: Sequence[Sequence[int]], max_new_tokens: int,
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


def generate_batch(model: GPT, prompts: Sequence[Sequence[int]], max_new_tokens: int,
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

    top_k keeps the k most likely tokens, top_p the smallest set whose probability reaches p.
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


# --------------------------------------------------------------------------------------------------
# Scoring continuations

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


def score_continuations(model: GPT, contexts: Sequence[Sequence[int]],
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
def embedding_rows(model: GPT, tok, text: str, max_tokens: int = 24) -> tuple[list[str], list[list[float]]]:
    """The embedding row (a vector of n_embd numbers) of each of the first tokens of `text`.

    The model's first layer is a table lookup: row `id` of `wte` (V, C). Returns the pieces as
    labels and the rows as plain lists, e.g. (["What", " should"], [[0.02, -0.11, ...], [...]]).
    """
    from .tokenizer import printable
    ids = tok.encode(text)[:max_tokens]
    labels = [printable(tok.token_bytes(i)) for i in ids]                # half an emoji: <0xF0>
    rows = model.wte.weight[torch.tensor(ids, dtype=torch.long)]          # (T, C)
    return labels, rows.tolist()


# --------------------------------------------------------------------------------------------------
# Next-word ranking

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
def next_token_probs(model: GPT, ids: Sequence[int]) -> torch.Tensor:
    """Probabilities (V,) of the token that follows `ids` (the last block_size of them)."""
    model.eval()
    x = torch.tensor([list(ids)[-model.config.block_size:]])
    return model(x).logits[0, -1].float().softmax(-1)


def rank_next(model: GPT, tok, prompt: str, k: int = 10, candidates: Sequence[str] = ()) -> Ranking:
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
