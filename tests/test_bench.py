"""The benchmark's building blocks measure real things (no timing limits here: figures only)."""
from explainer import bench
from explainer.model import count_params, preset


def test_flops_per_token_is_six_times_matmul_params_plus_attention():
    cfg = preset("small")
    matmul = count_params(cfg) - cfg.block_size * cfg.n_embd        # minus position table
    attn = 6 * cfg.n_layer * cfg.block_size * cfg.n_embd
    # biases and norms are not matmuls: 6 * params overestimates slightly
    assert 6 * (matmul - 20_000) + attn < bench.flops_per_token(cfg) <= 6 * matmul + attn


def test_measurements_are_positive_and_plausible():
    assert 0.1 < bench.matmul_peak(1, seconds=0.3) < 10_000            # GFLOP/s
    cfg = preset("tiny")
    assert bench.loop_tokens_per_s(cfg, steps=6, batch_size=4) > 0
    assert bench.reference_tokens_per_s(cfg, steps=6, batch_size=4) > 0
