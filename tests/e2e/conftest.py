"""Fixtures for the real-browser tests: a `streamlit run` server and Debian's Chromium.

Never `playwright install` (it downloads a browser): we drive /usr/bin/chromium. Without it the
browser tests are skipped with a reason, unless REQUIRE_BROWSER=1 (CI), where they fail.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models_dir: Path, extra_env: dict | None = None, timeout: float = 90):
    """`streamlit run Home.py` on a free port; returns (process, base url) once it answers."""
    port = free_port()
    env = {**os.environ, "EXPLAINER_MODELS_DIR": str(models_dir), "EXPLAINER_JOBS": "process",
           **(extra_env or {})}                     # trainings in worker processes, as in the app
    log = open(ARTIFACTS / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s; see {log.name}")


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def models_copy(tmp_path_factory) -> Path:
    """The shipped models, copied, so a test that saves a model leaves models/ alone."""
    d = tmp_path_factory.mktemp("models")
    source = Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models")
    for f in source.glob("*.safetensors"):
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture(scope="session")
def server(artifacts, models_copy, tmp_path_factory):
    """One warm server for the browser tests, with the shipped models copied and an empty ratings
    database of its own (data/ratings.sqlite stays as it is)."""
    db = tmp_path_factory.mktemp("ratings") / "ratings.sqlite"
    proc, url = start_server(models_copy, {"EXPLAINER_RATINGS_DB": str(db)})
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            raise
        pytest.skip("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()
