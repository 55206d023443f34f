"""Muon: momentum, orthogonalised, for the 2-D weight matrices inside the blocks.

Each step Muon keeps SGD's Nesterov momentum of the gradient, then replaces that (rows x cols)
update by the nearest semi-orthogonal matrix, U V^T of its SVD U S V^T: every direction the update
moves in gets the same step size, instead of a few dominant ones taking almost all of it. Five
iterations of a quintic Newton-Schulz polynomial approximate U V^T with matmuls only (no SVD).
Embeddings, the (tied) output layer, biases and LayerNorms stay with AdamW: Muon is for the hidden
matrices only.

Reference: Keller Jordan, "Muon: An optimizer for hidden layers in neural networks" (2024),
https://kellerjordan.github.io/posts/muon/ and github.com/KellerJordan/Muon, whose coefficients,
momentum and shape scaling this follows (float32 here: CPUs gain nothing from bfloat16).
"""
from __future__ import annotations

import torch


def orthogonalize(G: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """Approximately U V^T for G = U S V^T, by a Newton-Schulz iteration tuned for speed (its
    singular values land in about 0.7..1.2, which works as well as exactly 1).

    Example: orthogonalize(torch.diag(torch.tensor([3.0, 0.1]))) is close to the identity.
    """
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.mT if G.size(-2) > G.size(-1) else G          # work on the wide side: X X^T is smaller
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        A = X @ X.mT
        X = a * X + (b * A + c * A @ A) @ X
    return X.mT if G.size(-2) > G.size(-1) else X


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters. lr ~0.02 (an update's RMS is about lr * 0.2 * sqrt(max side),
    not lr as in Adam); weight_decay is decoupled, as in AdamW."""

    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 ns_steps: int = 5, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      ns_steps=ns_steps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - group["momentum"])             # buf = m buf + (1 - m) g
                u = p.grad.lerp(buf, group["momentum"]) if group["nesterov"] else buf
                u = orthogonalize(u, group["ns_steps"])
                u *= max(1.0, p.size(-2) / p.size(-1)) ** 0.5          # tall matrices: same RMS
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(u, alpha=-group["lr"])


class Optimizers:
    """Several optimizers stepped as one (Muon for the hidden matrices, AdamW for the rest): the
    training loop sees one `param_groups` list, `zero_grad` and `step`."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict]:
        return [g for opt in self.optimizers for g in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()
