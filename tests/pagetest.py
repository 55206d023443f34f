"""What the AppTest page tests share: open a page once (it must not raise) and read the texts of
its elements."""
from pathlib import Path

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


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)
