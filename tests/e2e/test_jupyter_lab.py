"""Real JupyterLab in a real browser: open the context-window notebook, run all cells, move its
window slider and check the figure below it changes (screenshots in test-artifacts/)."""
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from harness import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def lab(tmp_path, artifacts):
    """`jupyter lab` on a free loopback port with a token, serving a copy of the notebook (so an
    autosave never writes outputs into notebooks/)."""
    shutil.copy(ROOT / "notebooks" / "05_context_window.ipynb", tmp_path)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=str(ROOT), EXPLAINER_NB_SHORT="1", OPENBLAS_NUM_THREADS="1",
               EXPLAINER_RATINGS_DB=str(tmp_path / "ratings.sqlite"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(artifacts / f"jupyter-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                             f"--notebook-dir={tmp_path}", "--LabApp.news_url=None",
                             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                             *(["--allow-root"] if os.geteuid() == 0 else [])], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"jupyter lab did not start; see {log.name}")
            time.sleep(0.5)
    yield f"{url}/lab/tree/05_context_window.ipynb?token={token}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


STARTED = "() => [...document.querySelectorAll('.jp-InputPrompt')].some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))"


def run_all_cells(page):
    """Run > Run All Cells once the kernel is idle, and see that execution started (a prompt shows
    [*] or a number): a click while the kernel still initialised was once lost (CI waited 180 s on
    a notebook that never ran), so it is retried. JupyterLab may ask which kernel to use even
    though one is running: keep the one it offers."""
    choose = page.get_by_role("button", name="Select", exact=True)
    page.get_by_text("Python 3 (ipykernel) | Idle").or_(choose).first.wait_for(timeout=120_000)
    for _ in range(3):
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_text("Run All Cells", exact=True).click()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if choose.is_visible():
                choose.click()
            if page.evaluate(STARTED):
                return
            time.sleep(0.5)
    raise AssertionError("Run All Cells did not start the notebook in three tries")


def test_slide_the_context_window(lab, page, artifacts):
    try:
        slide(page, artifacts, lab)
    except BaseException:
        page.screenshot(path=str(artifacts / "jupyter-failure.png"))
        raise


def slide(page, artifacts, lab):
    page.goto(lab)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    run_all_cells(page)
    slider = page.locator(".widget-slider").first
    slider.wait_for(timeout=180_000)
    box = page.locator(".widget-vbox").first
    box.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
    box.scroll_into_view_if_needed()
    before = box.screenshot(path=str(artifacts / "jupyter-window-before.png"))
    shown = page.locator(".widget-readout").first
    start = shown.inner_text()
    page.locator(".widget-slider .noUi-handle").first.focus()
    for _ in range(60):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("s => document.querySelector('.widget-readout').textContent.trim() !== s",
                           arg=start.strip())
    time.sleep(1)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    box.locator(".js-plotly-plot").first.wait_for()
    time.sleep(2)                                   # plotly draws after the output arrives
    after = box.screenshot(path=str(artifacts / "jupyter-window-after.png"))
    assert int(shown.inner_text()) < int(start)
    assert before != after
    assert "Only the last " + shown.inner_text().strip() + " tokens" in box.inner_text()
