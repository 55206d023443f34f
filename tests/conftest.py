"""Suite-wide settings (one torch thread per test process) and the models tests share (below).

The machines this runs on are small and shared; torch's default of one thread per core makes
tests that overlap with anything else collapse (a 0.2 s test took 12 s). One thread is also what
the app's training workers use.
"""
import os
import shutil
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # subprocesses (the numpy run file) too
os.environ.setdefault("EXPLAINER_JOBS", "thread")    # AppTests submit closures; test_jobs and the
                                                     # browser tests' server use worker processes

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts with one thread, and one a test asked for more (a CLI `--threads 2`)
    does not leak into the next: module fixtures built between tests see one thread too."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


# --- Models the tests share ------------------------------------------------------------------
# Session-scoped: built once per test process (pytest-xdist runs one process per worker). Shared
# objects are read, never trained in place; a test that trains starts from a copy.

@pytest.fixture(scope="session")
def shipped_models(tmp_path_factory) -> Path:
    """The shipped models (models/*.safetensors), copied once, so no test ever writes to models/."""
    d = tmp_path_factory.mktemp("shipped")
    source = Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models")
    for f in source.glob("*.safetensors"):
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture
def models_dir(shipped_models, tmp_path, monkeypatch) -> Path:
    """EXPLAINER_MODELS_DIR for one test: links to that copy in a directory of the test's own, so
    it may save, rename or delete files (writes are atomic: a new file, never the linked bytes)."""
    d = tmp_path / "models"
    d.mkdir()
    for f in shipped_models.iterdir():
        os.link(f, d / f.name)
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(d))
    return d


@pytest.fixture(scope="session")
def tiny_bpe():
    """A 400-token byte-pair tokenizer (chat tokens included) learned from Everyday English's
    first 60,000 characters: the tokenizer of every tiny test model."""
    from explainer import corpus
    from explainer.gpt.tokenizer import train_bpe
    return train_bpe(corpus.get_corpus("everyday").text[:60_000], 400)[0]


@pytest.fixture(scope="session")
def tiny(tiny_bpe):
    """An untrained GPT of the "tiny" preset with `tiny_bpe`, loaded as a model of kind "tuned"."""
    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import LoadedModel
    model = GPT(preset("tiny", vocab_size=tiny_bpe.n_vocab, seed=3)).eval()
    return LoadedModel(model, tiny_bpe, model.config, {"kind": "tuned", "name": "tiny"}, None)


@pytest.fixture(scope="session")
def tiny_dir(tiny_bpe, tmp_path_factory) -> Path:
    """A models directory holding one untrained "tiny" model, tiny.safetensors."""
    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import save_model
    d = tmp_path_factory.mktemp("tiny")
    save_model(d / "tiny.safetensors", GPT(preset("tiny", vocab_size=tiny_bpe.n_vocab, seed=2)),
               tiny_bpe, {"corpus": "Everyday English", "seed": 0, "tokens_trained": 123_456})
    return d


@pytest.fixture(scope="session")
def one_layer_dir(tiny_bpe, tmp_path_factory) -> Path:
    """A models directory with an untrained one-layer base.safetensors and tuned.safetensors: the
    smallest models the fine-tuning and chat code accept (128-token context)."""
    from explainer.gpt.model import GPT, GPTConfig
    from explainer.gpt.paramfile import save_model
    d = tmp_path_factory.mktemp("one_layer")
    cfg = GPTConfig(vocab_size=tiny_bpe.n_vocab, block_size=128, n_layer=1, n_head=2, n_embd=32, seed=3)
    save_model(d / "base.safetensors", GPT(cfg), tiny_bpe, {
        "kind": "base", "preset": "tiny", "corpus": "Everyday English", "tokens_trained": 1000})
    save_model(d / "tuned.safetensors", GPT(cfg), tiny_bpe, {"kind": "tuned", "base_model": "base"})
    return d
