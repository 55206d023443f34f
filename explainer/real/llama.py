"""A Llama: the architecture of most open LLMs since 2023, here at SmolLM2-135M's size.

It differs from our GPT (explainer/gpt/model.py) in four places, each a line or two below: RMSNorm
instead of LayerNorm (scale only, no mean, no bias); rotary position embeddings (RoPE) that turn
queries and keys by an angle proportional to their position instead of a learned position table,
so the window is a config number, not a table's size; grouped-query attention (9 query heads
share 3 key/value heads, so the KV cache is 3x smaller); and a SwiGLU MLP (a gated MLP with SiLU).
No biases anywhere; the output layer is tied to the token embedding, as in our GPT. The rest is
GPT's own code, imported: the pre-norm `Block`, the causal attention `attend` and the block loop.

It answers the same interface as `model.GPT` (forward -> GPTOutput with logits, loss, attention
weights, hidden states and KV cache; generate; a config with block_size, vocab_size, n_layer,
n_head, n_embd), so `scoring.rank_next`, `scoring.next_token_probs` and the context-window functions
take either model. Weights come from a file (explainer/real/smollm.py reads the GGUF); this module never
trains, so its parameters need no gradients and one copy can serve many threads at once.

References: Touvron et al. 2023 (LLaMA); Su et al. 2021 (RoFormer, RoPE); Ainslie et al. 2023 (GQA);
Shazeer 2020 (GLU variants, SwiGLU); Zhang & Sennrich 2019 (RMSNorm); Hugging Face
`modeling_llama.py`, whose weight layout (RoPE on the two halves of each head) this file uses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..gpt.model import GPT, Block, GPTOutput, attend, cached_len, run_blocks

# --------------------------------------------------------------------------------------------------
# Config

@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int = 49152    # SmolLM2's byte-level BPE
    block_size: int = 8192     # context window: RoPE has no table to run out of, this is what it was trained on
    n_layer: int = 30          # deep and narrow: SmolLM2's authors found depth pays at this size
    n_head: int = 9            # query heads, head size 576 / 9 = 64
    n_kv_head: int = 3         # key/value heads, each shared by 3 query heads (grouped-query attention)
    n_embd: int = 576          # width of the residual stream
    n_hidden: int = 1536       # SwiGLU inner width (~2.7 x n_embd: three matrices instead of two)
    rope_base: float = 1e5     # the slowest RoPE pair turns once per ~440,000 tokens: room for long contexts
    norm_eps: float = 1e-5     # RMSNorm's guard against dividing by zero

    def __post_init__(self):
        if self.n_embd % self.n_head or self.n_head % self.n_kv_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}), "
                             f"and n_head of n_kv_head ({self.n_kv_head})")

    def to_dict(self) -> dict:
        return asdict(self)


def count_params(cfg: LlamaConfig) -> int:
    """Parameters (tied embedding counted once). SmolLM2-135M: 134,515,008."""
    C, hs = cfg.n_embd, cfg.n_embd // cfg.n_head
    attn = 2 * C * C + 2 * C * cfg.n_kv_head * hs        # q and o (C, C); k and v (C, kv * hs)
    mlp = 3 * C * cfg.n_hidden
    return cfg.vocab_size * C + cfg.n_layer * (attn + mlp + 2 * C) + C


# --------------------------------------------------------------------------------------------------
# The pieces that differ from GPT-2

class Linear(nn.Linear):
    """nn.Linear without the random initialisation: every weight comes from a file (saves ~1 s)."""

    def reset_parameters(self):
        pass


class Embedding(nn.Embedding):
    """The same for the token table."""

    def reset_parameters(self):
        pass


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight: LayerNorm without the mean and the bias."""

    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg: LlamaConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (block_size, head_size) of the angle position * base^(-2i / head_size).

    Dimension i of a head pairs with dimension i + head_size/2 (the halves layout); pair i turns
    by position * base^(-2i / head_size): fast for i = 0, about once per 440,000 tokens for the last.
    """
    hs = cfg.n_embd // cfg.n_head
    # fp32, as the reference implementations compute them (the model was trained with these tables)
    inv_freq = 1.0 / cfg.rope_base ** (torch.arange(0, hs, 2).float() / hs)   # (hs/2,)
    angle = torch.arange(cfg.block_size).float()[:, None] * inv_freq           # (T, hs/2)
    angle = torch.cat([angle, angle], dim=-1)                                  # (T, hs)
    return angle.cos(), angle.sin()


def rotate(x, cos, sin):
    """Turn each pair (x_i, x_{i+hs/2}) of x (B, H, T, hs) by its angle: a 2-D rotation per pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_head, self.n_kv_head = cfg.n_head, cfg.n_kv_head
        hs = cfg.n_embd // cfg.n_head
        # q (9 heads), k and v (3 heads each) in one matmul, as GPT's c_attn: one bigger product
        # is faster than three small ones when generating a token at a time
        self.qkv_proj = Linear(cfg.n_embd, (cfg.n_head + 2 * cfg.n_kv_head) * hs, bias=False)
        self.o_proj = Linear(cfg.n_head * hs, cfg.n_embd, bias=False)

    def forward(self, x, past=None, return_attn=False, rope=None):
        B, T, C = x.shape
        H, Hkv = self.n_head, self.n_kv_head
        hs = C // H
        q, k, v = self.qkv_proj(x).split([H * hs, Hkv * hs, Hkv * hs], dim=2)
        q = q.view(B, T, H, hs).transpose(1, 2)                         # (B, H, T, hs)
        k = k.view(B, T, Hkv, hs).transpose(1, 2)                       # (B, Hkv, T, hs)
        v = v.view(B, T, Hkv, hs).transpose(1, 2)
        q, k = rotate(q, *rope), rotate(k, *rope)                       # position enters here only
        if past is not None:                                            # generation: reuse old keys
            k = torch.cat([past[0], k], dim=2)                          # (B, Hkv, T_past + T, hs)
            v = torch.cat([past[1], v], dim=2)
        kv = (k, v)                                                     # the cache keeps Hkv heads
        k = k.repeat_interleave(H // Hkv, dim=1)                        # (B, H, T_total, hs):
        v = v.repeat_interleave(H // Hkv, dim=1)                        # query heads 0-2 share kv 0, ...
        y, att = attend(q, k, v, return_attn)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.o_proj(y), kv, att


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)); the gate decides, per hidden unit, how much passes.
    gate and up are one matmul (gate rows first), for the same reason as qkv_proj."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_up_proj = Linear(cfg.n_embd, 2 * cfg.n_hidden, bias=False)
        self.down_proj = Linear(cfg.n_hidden, cfg.n_embd, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)                # each (B, T, n_hidden)
        return self.down_proj(F.silu(gate) * up)


# --------------------------------------------------------------------------------------------------
# The model

class Llama(nn.Module):
    """Names follow our GPT where the part is the same (wte, h, ln_f, lm_head), so code that reads
    `model.ln_f` and `model.lm_head` (a logit lens) works on both."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.wte = Embedding(cfg.vocab_size, cfg.n_embd)
        C, eps = cfg.n_embd, cfg.norm_eps
        self.h = nn.ModuleList(Block(RMSNorm(C, eps), Attention(cfg), RMSNorm(C, eps), MLP(cfg))
                               for _ in range(cfg.n_layer))
        self.ln_f = RMSNorm(C, eps)
        self.lm_head = Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight                  # tied, as in SmolLM2
        cos, sin = rope_tables(cfg)                            # computed once, not per call
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.requires_grad_(False)                             # inference only: no autograd graphs
        self.eval()

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, *, loss_mask=None, return_attn=False, return_hidden=False,
                kv_cache=None) -> GPTOutput:
        """idx (B, T) token ids -> GPTOutput with logits (B, T, V), exactly as GPT.forward."""
        past, T = cached_len(idx, kv_cache, self.config.block_size), idx.size(1)
        rope = self.rope_cos[past:past + T], self.rope_sin[past:past + T]   # each (T, hs)
        x = self.wte(idx)                                 # (B, T, C): no position added, RoPE turns q, k
        return run_blocks(self, x, targets, loss_mask, kv_cache, return_attn, return_hidden, rope=rope)

    # Generation is the same loop as GPT's (KV cache, sliding window, seeded sampler): one copy.
    generate = GPT.generate
