"""Suite-wide settings: one torch thread per test process.

The machines this runs on are small and shared; torch's default of one thread per core makes
tests that overlap with anything else collapse (a 0.2 s test took 12 s). One thread is also what
the app's training workers use.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # subprocesses (the numpy run file) too
os.environ.setdefault("EXPLAINER_JOBS", "thread")    # AppTests submit closures; test_jobs and the
                                                     # browser tests' server use worker processes

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts with one thread, and one a test asked for more (a CLI `--threads 2`)
    does not leak into the next: module fixtures built between tests see one thread too."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """The shipped models, copied, so saving from a test never touches models/."""
    import shutil
    from pathlib import Path
    d = tmp_path / "models"
    d.mkdir()
    source = Path(os.environ.get("EXPLAINER_MODELS_DIR") or Path(__file__).resolve().parents[1] / "models")
    for f in source.glob("*.safetensors"):
        shutil.copy(f, d / f.name)
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(d))
    return d
