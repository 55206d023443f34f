"""Muon and the warmup-stable-decay schedule: checked against their definitions (an SVD, the
schedule's formula) and on a real, small training."""
import pytest
import torch

from explainer.gpt.model import GPT, preset
from explainer.gpt.muon import Muon, Optimizers, orthogonalize
from explainer.gpt.training import Batches, TrainConfig, lr_at, make_optimizer, train


def with_singular_values(shape, lo=0.1, hi=5.0, seed=0):
    """A matrix U diag(s) V^T with random U, V and singular values from lo to hi."""
    g = torch.Generator().manual_seed(seed)
    k = min(shape)
    U = torch.linalg.qr(torch.randn(shape[0], k, generator=g))[0]
    V = torch.linalg.qr(torch.randn(shape[1], k, generator=g))[0]
    return U @ torch.diag(torch.linspace(lo, hi, k)) @ V.T, U @ V.T


@pytest.mark.parametrize("shape", [(128, 128), (384, 128), (128, 512)])
def test_orthogonalize_keeps_the_singular_vectors_and_evens_the_singular_values(shape):
    G, UVt = with_singular_values(shape)
    O = orthogonalize(G)
    s = torch.linalg.svdvals(O)
    assert 0.6 < s.min() and s.max() < 1.25                  # all about 1 (Newton-Schulz's band)
    # the same directions as U V^T: O's projection on it is its whole size, roughly
    cos = (O * UVt).sum() / (O.norm() * UVt.norm())
    assert cos > 0.95


def test_muon_step_moves_each_matrix_by_lr_times_an_orthogonal_update():
    p = torch.nn.Parameter(torch.zeros(64, 64))
    p.grad = with_singular_values((64, 64), seed=1)[0]
    Muon([p], lr=0.1, momentum=0.0, nesterov=False).step()
    s = torch.linalg.svdvals(p.detach() / 0.1)
    assert 0.6 < s.min() and s.max() < 1.25


def test_wsd_holds_the_rate_then_decays_linearly_to_the_floor():
    cfg = TrainConfig(steps=1000, lr=1e-2, warmup=10, min_lr_ratio=0.1, schedule="wsd", cooldown=0.3)
    assert lr_at(0.0, 0, cfg) == pytest.approx(1e-3)           # warmup
    assert lr_at(0.5, 500, cfg) == lr_at(0.7, 700, cfg) == pytest.approx(1e-2)
    assert lr_at(0.85, 850, cfg) == pytest.approx(1e-2 * (0.1 + 0.9 * 0.5))
    assert lr_at(1.0, 999, cfg) == pytest.approx(1e-3)


def test_unknown_optimizer_or_schedule_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="'adamw' or 'muon'"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="'cosine' or 'wsd'"):
        TrainConfig(schedule="linear")


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest():
    model = GPT(preset("tiny", vocab_size=50))
    opt = make_optimizer(model, TrainConfig(optimizer="muon", lr=3e-3, muon_lr=0.02))
    assert isinstance(opt, Optimizers)
    muon, adamw = opt.optimizers
    names = {id(p): n for n, p in model.named_parameters()}
    in_muon = {names[id(p)] for g in muon.param_groups for p in g["params"]}
    in_adamw = {names[id(p)] for g in adamw.param_groups for p in g["params"]}
    assert in_muon == {n for n, p in model.named_parameters() if p.dim() == 2 and n.startswith("h.")}
    assert "wte.weight" in in_adamw and "wpe.weight" in in_adamw and not in_muon & in_adamw
    assert len(in_muon) + len(in_adamw) == len(list(model.parameters()))
    assert muon.param_groups[0]["lr_scale"] == pytest.approx(0.02 / 3e-3)
    assert not isinstance(make_optimizer(model, TrainConfig()), Optimizers)   # AdamW alone


def test_a_muon_run_learns():
    ids = torch.arange(3000) % 7                              # a pattern a model can learn
    data = Batches(ids[:2500], ids[2500:], 16)
    model = GPT(preset("tiny", vocab_size=7, block_size=16))
    cfg = TrainConfig(steps=60, batch_size=8, lr=3e-3, optimizer="muon", schedule="wsd",
                      eval_every=30, sample_every=0, rank_every=0, warmup=5)
    evals = [ev for ev in train(model, data, cfg) if type(ev).__name__ == "Eval"]
    assert evals[-1].val_loss < 0.5 * evals[0].val_loss
