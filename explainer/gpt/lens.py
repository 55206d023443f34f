"""The logit lens: what each layer would guess next, at each position, if it were the last.

A model's residual stream carries one vector per token from layer to layer; only after the last
layer do the final norm and the output layer turn it into next-token probabilities. The logit
lens (nostalgebraist 2020) applies that same norm and output layer to every layer's vector, so
we can watch a guess form: early layers often echo the current token, later ones settle on the
answer. It works on our GPT and on the Llama alike (both name them `ln_f` and `lm_head`).

Reference: nostalgebraist, "interpreting GPT: the logit lens" (LessWrong, 2020).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .tokenizer import printable


@dataclass(frozen=True)
class Lens:
    tokens: list[str]            # the input pieces, one per position (printable)
    layers: list[str]            # "embedding", "layer 1", ..., "layer N" (rows, bottom to top)
    guess: list[list[str]]       # [layer][position]: the likeliest next piece at that layer
    prob: list[list[float]]      # [layer][position]: its probability
    next_prob: list[list[float]]  # [layer][position]: probability of the token that really comes
    #                               next in the text (nan at the last position: nothing follows)


@torch.no_grad()
def logit_lens(model, tok, text: str, max_tokens: int = 16) -> Lens:
    """The lens over the last `max_tokens` tokens of `text` (read as in pretraining, after
    <|endoftext|>). The top row equals the model's own prediction.

    e.g. for "A flash flood watch will be in effect all", SmolLM2's last position reads
    " all" in early layers and " day" / " night" in the last ones.
    """
    ids = ([tok.eot_id] + tok.encode(text))[-min(max_tokens, model.config.block_size):]
    idx = torch.tensor([ids])
    out = model(idx, return_hidden=True)
    names = {v: k for k, v in tok.special_tokens.items()}
    pieces = [names.get(i) or printable(tok.token_bytes(i)) for i in ids]
    guess, prob, next_prob = [], [], []
    targets = torch.tensor(ids[1:] + [0])
    for h in out.hidden:                                              # (1, T, C) each
        p = torch.softmax(model.lm_head(model.ln_f(h[0])).float(), dim=-1)   # (T, V)
        top_p, top_i = p.max(dim=-1)
        guess.append([names.get(int(i)) or printable(tok.token_bytes(int(i))) for i in top_i])
        prob.append(top_p.tolist())
        nxt = p[torch.arange(len(ids)), targets].tolist()
        next_prob.append(nxt[:-1] + [float("nan")])
    layers = ["embedding"] + [f"layer {i}" for i in range(1, len(out.hidden))]
    return Lens(pieces, layers, guess, prob, next_prob)
