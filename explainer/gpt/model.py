"""The GPT: a decoder-only transformer in the GPT-2 architecture, small enough to train on a CPU.

Everything the app shows about "the model" comes from this one file: the config and its presets,
the network (learned position embeddings, pre-LayerNorm blocks, causal self-attention through
`scaled_dot_product_attention`, GELU MLP, input and output embeddings tied) and its loss.
Sampling lives in `sampling.py`, scoring and the next-word ranking in `scoring.py`. The Llama
(explainer/real/llama.py) reuses this file's `Block`, `attend` and `run_blocks` with its own parts.

References: Radford et al. 2019 (GPT-2); Karpathy's nanoGPT `model.py`, whose layout and parameter
names this file follows so that readers who know it feel at home.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .sampling import generate_steps

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


def causal_mask(T: int, T_total: int, device=None) -> torch.Tensor:
    """(T, T_total) bools, True where a query may look. The T new queries are the last positions of
    the sequence, so query i sees keys 0..T_total-T+i: causal_mask(2, 3) -> [[1, 1, 0], [1, 1, 1]]."""
    return torch.ones(T, T_total, dtype=torch.bool, device=device).tril(T_total - T)


def attend(q, k, v, return_attn: bool = False, dropout_p: float = 0.0):
    """Causal attention of T new queries q (B, H, T, hs) over keys and values k, v (B, H, T_total, hs)
    -> (y (B, H, T, hs), weights (B, H, T, T_total) or None). GPT and Llama share it.

    return_attn takes the explicit path (the same maths as SDPA, keeping the weights, for pictures);
    otherwise SDPA with the cheapest mask that is still right.
    """
    T, T_total = q.size(2), k.size(2)
    if return_attn:
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))            # (B, H, T, T_total)
        att = scores.masked_fill(~causal_mask(T, T_total, q.device), float("-inf")).softmax(dim=-1)
        return att @ v, att
    if T == T_total:                   # no cache: the plain causal triangle
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout_p), None
    if T == 1:                         # one new token sees every key: a mask would only slow SDPA
        return F.scaled_dot_product_attention(q, k, v), None
    return F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, T_total, q.device)), None


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
        y, att = attend(q, k, v, return_attn, self.dropout if self.training else 0.0)
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
    """x + attn(norm(x)), then x + mlp(norm(x)): the pre-norm block of GPT-2 and Llama alike; each
    architecture brings its own norm, attention and MLP. `pos` passes position inputs through to
    the attention (Llama's RoPE tables; GPT needs none, its positions are added to x)."""

    def __init__(self, ln_1: nn.Module, attn: nn.Module, ln_2: nn.Module, mlp: nn.Module):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = ln_1, attn, ln_2, mlp

    def forward(self, x, past=None, return_attn=False, **pos):
        a, kv, att = self.attn(self.ln_1(x), past, return_attn, **pos)
        x = x + a                       # pre-norm: the residual stream itself is never normed
        x = x + self.mlp(self.ln_2(x))
        return x, kv, att


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor,
                    loss_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of the next tokens, over the positions `loss_mask` marks (all if None);
    GPT and Llama share it."""
    per_token = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1),
                                reduction="none")                          # (B*T,)
    if loss_mask is None:
        return per_token.mean()
    m = loss_mask.reshape(-1).to(per_token.dtype)
    return (per_token * m).sum() / m.sum().clamp(min=1.0)


def cached_len(idx: torch.Tensor, kv_cache, block_size: int) -> int:
    """How many tokens the KV cache already holds (0 without one); ValueError if idx (B, T) after
    them would not fit in the context window."""
    past = 0 if kv_cache is None else kv_cache[0][0].size(2)
    if past + idx.size(1) > block_size:
        raise ValueError(f"sequence of {past + idx.size(1)} tokens exceeds the context of {block_size}")
    return past


def run_blocks(model: nn.Module, x, targets=None, loss_mask=None, kv_cache=None,
               return_attn=False, return_hidden=False, **pos) -> GPTOutput:
    """The embedded tokens x (B, T, C) through model.h's blocks, model.ln_f and model.lm_head
    -> GPTOutput: the half of forward that GPT and Llama share."""
    hidden = [x] if return_hidden else None
    attn = [] if return_attn else None
    new_cache = []
    for i, block in enumerate(model.h):
        x, kv, att = block(x, None if kv_cache is None else kv_cache[i], return_attn, **pos)
        new_cache.append(kv)
        if return_attn:
            attn.append(att)
        if return_hidden:
            hidden.append(x)
    logits = model.lm_head(model.ln_f(x))                                  # (B, T, V)
    loss = None if targets is None else next_token_loss(logits, targets, loss_mask)
    return GPTOutput(logits, loss, attn, hidden, new_cache)


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)    # token id -> vector
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)    # position -> vector: the hard limit
        self.drop = nn.Dropout(cfg.dropout)
        C = cfg.n_embd
        self.h = nn.ModuleList(Block(nn.LayerNorm(C), CausalSelfAttention(cfg), nn.LayerNorm(C),
                                     MLP(cfg)) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(C)
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
        past = cached_len(idx, kv_cache, self.config.block_size)
        pos = torch.arange(past, past + idx.size(1), device=idx.device)   # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))                      # (B, T, C)
        return run_blocks(self, x, targets, loss_mask, kv_cache, return_attn, return_hidden)

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
