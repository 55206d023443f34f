"""The two-files library: what is inside a parameter file, smaller copies measured, the scale."""
from pathlib import Path

import pytest

from explainer import corpus
from explainer.bench import phases as bench_phases
from explainer.gpt.paramfile import load_model, read_metadata, save_model
from explainer.gpt.training import TrainConfig
from explainer.phases import pretrain
from explainer.phases import twofiles as tf
from explainer.views import twofiles as tv

SHIPPED_BASE = Path(__file__).resolve().parents[1] / "models" / "base.safetensors"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bpe):
    """A tiny model trained for a few seconds on Everyday English, saved as a file."""
    text, tok = corpus.get_corpus("everyday").text[:200_000], tiny_bpe
    spec = pretrain.PretrainSpec(preset="tiny", steps=40, lr=1e-2, eval_every=1000, sample_every=0,
                                 rank_every=0)
    gen = pretrain.run(text, spec, tokenizer=tok, corpus_name="Everyday English")
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        loaded = stop.value
    path = save_model(tmp_path_factory.mktemp("m") / "tiny.safetensors", loaded.model, tok, loaded.facts)
    return load_model(path)


def test_parts_add_up_to_the_model_and_int8_scales_are_not_parameters(trained, tmp_path):
    meta = read_metadata(trained.path)
    counts = tf.params_by_part(meta["tensors"])
    assert sum(counts.values()) == trained.model.num_params()
    assert set(counts) == set(tf.PARTS) and all(counts.values())
    files = tf.export_variants(trained, tmp_path)
    int8 = read_metadata(files["int8"])["tensors"]
    assert tf.params_by_part(int8) == counts
    rows = {r["tensor"]: r for r in tf.tensor_table(int8)}
    assert rows["wte.weight.q8"]["dtype"] == "I8" and rows["wte.weight.scale"]["dtype"] == "F32"
    assert rows["wte.weight.q8"]["bytes"] == rows["wte.weight.q8"]["numbers"]


def test_tensor_table_example():
    assert tf.tensor_table({"wpe.weight": ([64, 32], "F32")}) == [
        {"tensor": "wpe.weight", "part": "embeddings", "shape": "64 × 32", "dtype": "F32",
         "numbers": 2048, "bytes": 8192}]
    assert [tf.part_of(n) for n in ("h.0.mlp.c_fc.weight", "h.1.attn.c_proj.bias", "ln_f.weight")] == \
        ["MLP", "attention", "norms"]


def test_compressed_copies_are_smaller_and_stay_within_the_documented_margin(trained, tmp_path):
    rows = tf.compression(trained, tmp_path, n_windows=24)
    by = {r["dtype"]: r for r in rows}
    assert list(by) == ["fp32", "fp16", "int8"]
    assert by["fp16"]["size_vs_fp32"] < 0.55 and by["int8"]["size_vs_fp32"] < 0.35
    assert by["fp32"]["bpb_change"] == 0 and by["fp32"]["val_bpb"] < 4
    for d in ("fp16", "int8"):
        assert abs(by[d]["bpb_change"]) <= tf.BPB_MARGIN[d], by[d]
        assert load_model(by[d]["path"]).facts["stored_as"] == d
    assert by["fp32"]["corpus"] == "Everyday English"
    comp = bench_phases.bench_compression(trained)
    assert set(comp) == {"fp32", "fp16", "int8"} and comp["int8"]["mb"] < comp["fp32"]["mb"]


def test_histogram_and_charts(trained):
    v = tf.tensor_values(trained, "h.0.mlp.c_fc.weight")
    assert v.size == 4 * 64 * 64
    fig = tv.histogram_chart(v, "h.0.mlp.c_fc.weight")
    assert sum(fig.data[0].y) == v.size
    scale = tv.scale_chart([("tiny", 5e5)])
    assert fig.layout.title.text and scale.layout.xaxis.type == "log"
    assert list(scale.data[0].y) == ["tiny", "GPT-2 124M (fp32)", "Llama 2 70B (fp16)"]
    assert tv.parts_chart({"MLP": 3, "norms": 1}).data[0].text[0].endswith("75%")


def test_sizes_and_two_file_picture():
    assert (tf.mb(4_300_000), tf.mb(140e9), tf.mb(496e6), tf.mb(12)) == ("4.3 MB", "140 GB", "496 MB", "12 bytes")
    html = tv.two_files_html([("This model", "base.safetensors", "4.3 MB", "run.py", "180 lines")])
    assert "base.safetensors" in html and "run.py" in html
    assert tf.runfile_source().startswith('"""run.py')


def test_tokenizer_summary_leaves_out_the_token_list(trained):
    s = tf.tokenizer_summary(trained.tokenizer.to_metadata())
    assert s["kind"] == "bpe" and s["ordinary tokens stored"] == 396 and "<|endoftext|>" in s["special tokens"]


def test_download_names_are_what_the_run_command_uses():
    assert tf.download_name("base", "int8") == "base-int8.safetensors"
    assert tf.download_name("feedback 17:05", "fp16") == "feedback-17-05-fp16.safetensors"
    assert tf.download_name("../..", "fp32") == "model-fp32.safetensors"


def test_measured_on_the_windows_pretraining_used():
    windows = tf.validation_windows({"kind": "base", "spec": {"batch_size": 16}})
    assert windows == TrainConfig.eval_batches * 16
    assert tf.validation_windows({"kind": "tuned", "spec": {"batch_size": 16}}) == \
        tf.validation_windows({"kind": "base"})


@pytest.mark.skipif(not SHIPPED_BASE.is_file(), reason="no shipped base model")
def test_fp32_row_is_the_val_bpb_in_the_training_facts(tmp_path):
    """Golden: the shipped model's facts and the page's fp32 row are one figure, not two."""
    loaded = load_model(SHIPPED_BASE)
    rows = tf.compression(loaded, tmp_path)
    assert round(rows[0]["val_bpb"], 4) == loaded.facts["val_bpb"]
    assert "is the" in tf.facts_note(loaded.facts, rows)


def test_facts_note_says_why_the_training_figure_differs():
    rows = [{"val_bpb": 0.33681, "corpus": "Everyday English"}]
    assert tf.facts_note({"val_loss": 0.26}, rows) is None                  # tuned: no val_bpb
    same = tf.facts_note({"val_bpb": 0.3368, "corpus": "Everyday English"}, rows)
    assert '"val_bpb" in the training facts' in same
    other = tf.facts_note({"val_bpb": 0.41, "corpus": "pasted text"}, rows)
    assert "0.41" in other and "pasted text" in other and "Everyday English" in other
    assert "other than the windows" in tf.facts_note({"val_bpb": 0.35, "corpus": "Everyday English"}, rows)
