"""What the AppTest page tests share: open a page once (it must not raise), follow a job it
started until it is done, and read the texts of its elements."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(page: str, models_dir=None, monkeypatch=None, timeout: float = 120) -> AppTest:
    """Run `page` (a path from the repository root) once, with EXPLAINER_MODELS_DIR=models_dir
    if given (set through `monkeypatch`, so it is undone after the test)."""
    if models_dir is not None:
        monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(models_dir))
    at = AppTest.from_file(str(ROOT / page), default_timeout=timeout).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run_until(at: AppTest, done, limit: float = 300) -> AppTest:
    """Rerun the page every half second until `done(at)` is true: AppTest does not fire the
    `run_every` timers with which pages follow their jobs. Fails if a run raises, or after `limit`
    seconds (a generous bound for a loaded machine, not a speed check)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(0.5)
    pytest.fail("the job did not finish in time")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)
