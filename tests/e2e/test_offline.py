"""Nothing leaves the server: every page, in a real browser, asks only the app's own host, and
logs no console error of its own. Streamlit's probing of `_stcore/` under a page's path (e.g.
/Tokens/_stcore/health, a 404 it then retries at the root) is Streamlit's, and may stay.

The server runs trainings in worker processes (EXPLAINER_JOBS=process, the app's default), and a
tiny training started from the Pretraining page runs to its end there.
"""
import re
from urllib.parse import urlparse

import pytest
from harness import start_server, stop_server
from test_browser import no_exceptions, wait_idle

pytestmark = pytest.mark.browser

PAGES = [("", "How a large language model is made"),
         ("/Tokens", "Tokens: how a model reads"),
         ("/Pretraining", "Pretraining: learning to guess the next token"),
         ("/Instruction_tuning", "Instruction tuning: from text-continuer to assistant"),
         ("/Human_feedback", "Human feedback: thumbs up or down"),
         ("/Context_window", "The context window: what the model can see"),
         ("/Two_files", "A model is just two files")]


@pytest.fixture(scope="module")
def process_server(artifacts, shipped_models):
    proc, url = start_server(shipped_models, {"EXPLAINER_JOBS": "process", "EXPLAINER_MAX_JOBS": "1"})
    yield url
    stop_server(proc)


class Watch:
    """Every request to another host, and every console error or page error that is the app's."""

    def __init__(self, page, base: str):
        self.host = urlparse(base).netloc
        self.foreign, self.errors = [], []
        page.on("request", self.request)
        page.on("console", self.console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def request(self, req):
        url = urlparse(req.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.foreign.append(req.url)

    def console(self, msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if "/_stcore/" in where or "/_stcore/" in msg.text:
            return                                  # Streamlit probing its own endpoints
        self.errors.append(f"{msg.text} ({where})")


def test_every_page_asks_only_its_own_server(page, server):
    """On the browser tests' shared server (trainings in worker processes there too): a server of
    its own cost another start and another SmolLM2 load."""
    watch = Watch(page, server)
    for path, heading in PAGES:
        page.goto(server + path)
        page.get_by_text(heading).first.wait_for()
        wait_idle(page, timeout=120_000)
        no_exceptions(page)
        icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\")?.href || ''")
        assert not icon.startswith("http") or urlparse(icon).netloc == watch.host, (path, icon)
    assert watch.foreign == [], watch.foreign
    assert watch.errors == [], watch.errors


@pytest.mark.slow                     # ~25 s; test_browser's tiny run also trains in a worker
def test_a_training_runs_in_a_worker_process_from_the_page(page, process_server):
    watch = Watch(page, process_server)
    page.goto(process_server + "/Pretraining")
    page.get_by_text("Pretraining: learning to guess the next token").first.wait_for()
    wait_idle(page, timeout=120_000)
    select = page.get_by_role("combobox", name="Model size")
    select.click()
    select.press_sequentially("tiny")                             # the select filters as you type
    page.get_by_role("option", name=re.compile(r"^tiny")).wait_for()
    select.press("Enter")
    wait_idle(page)
    slider = page.get_by_role("slider").first                     # training steps: 50
    slider.focus()
    slider.press("Home")
    page.get_by_text("50 steps ×", exact=False).wait_for()
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.get_by_text("Watch it learn").wait_for(timeout=60_000)
    page.get_by_text("Step 50 of 50 · done").first.wait_for(timeout=300_000)
    no_exceptions(page)
    assert watch.foreign == [] and watch.errors == [], (watch.foreign, watch.errors)
