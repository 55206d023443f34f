"""A real server and real browsers, timed: what the load tests (and any browser test) share.

- `start_server` / `stop_server` (or `running_server`): `python -m explainer serve` on a free port,
  trainings in worker processes (EXPLAINER_JOBS=process), returned once it answers.
- `chromium()`: Debian's Chromium through Playwright (never `playwright install`).
- `timed(page, action, *effects)`: seconds from an action (a click, a key) until its visible
  effect, e.g. `timed(page, lambda: box.press("Control+Enter"), page.get_by_text("[3923, 1288]"))`.
- `open_page`: time from a click on the sidebar's link (or a URL) to the page's main content.
- `progress_intervals`: seconds between the visible updates of a training's progress line, seen by
  the browser itself (a MutationObserver), not by polling from here.

Figures are wall-clock seconds on the test machine, with Playwright's round trips included (a few
ms); report them with the load average (`load()`).
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models_dir: Path, extra_env: dict | None = None, timeout: float = 90,
                 root: Path = ROOT):
    """`python -m explainer serve` (`make run`: Streamlit with the warm-up before the first visitor)
    of the app in `root` on a free port; returns (process, base url) once it answers."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "EXPLAINER_MODELS_DIR": str(models_dir), "EXPLAINER_JOBS": "process",
           **(extra_env or {})}                     # trainings in worker processes, as in the app
    log = open(ARTIFACTS / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "explainer", "serve", "--server.port", str(port),    # as `make run`
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
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
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s; see {log.name}")


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def running_server(models_dir: Path, extra_env: dict | None = None, root: Path = ROOT):
    """with running_server(models/) as url: ... (the server stops at the end, also on error)."""
    proc, url = start_server(models_dir, extra_env, root=root)
    try:
        yield url
    finally:
        stop_server(proc)


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium (a Playwright Browser); contexts from browser.new_context()."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load() -> float:
    """The 1-minute load average: quote it beside every figure (the machine is shared)."""
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------------------------
# Timing what the user sees


def wait_idle(page, timeout: float = 60_000) -> None:
    """Until the script run is over: the app says its script state is "notRunning" (before the
    first run it says "initial": the status widget alone is absent then too, and also in the
    moment before it shows, so a freshly opened page could pass as settled while its script
    still ran) and no status widget shows."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def timed(page, action: Callable[[], object], *effects, timeout: float = 120_000) -> float:
    """Seconds from calling `action` until every locator in `effects` is visible."""
    t0 = time.perf_counter()
    action()
    for effect in effects:
        effect.first.wait_for(state="visible", timeout=timeout)
    return time.perf_counter() - t0


def open_page(page, base: str, path: str, *effects, timeout: float = 120_000) -> float:
    """Seconds from opening a page until its main content (`effects`) is visible. With the app
    already open in `page`, through the sidebar's link (as a learner moves on: no reload);
    otherwise by loading the URL (base + path)."""
    link = page.locator('.st-key-nav ' + (f'a[href$="{path}"]' if path else "a")).first
    if link.count():
        return timed(page, link.click, *effects, timeout=timeout)
    return timed(page, lambda: page.goto(base + path), *effects, timeout=timeout)


def watch_text(page, pattern: str) -> None:
    """From now on, record in window.textSeen [ms, text] each time the text of the first <p>
    whose whole text matches the regular expression `pattern` changes (ms: the browser's
    Date.now(), the same clock as time.time() * 1000 on this machine)."""
    page.evaluate("""source => {
        const re = new RegExp("^(?:" + source + ")$");
        window.textSeen = [];
        let last = null;
        const look = () => {
            const el = [...document.querySelectorAll('p')].find(e => re.test(e.textContent));
            const text = el ? el.textContent : null;
            if (text !== null && text !== last) { window.textSeen.push([Date.now(), text]); }
            if (text !== null) { last = text; }
        };
        new MutationObserver(look).observe(document.body, {subtree: true, childList: true,
                                                           characterData: true});
        look();
    }""", pattern)


def progress_intervals(page) -> list[float]:
    """Seconds between the changes recorded by watch_text."""
    seen = page.evaluate("() => window.textSeen || []")
    return [(b[0] - a[0]) / 1000 for a, b in zip(seen, seen[1:])]


def percentile(xs, q: float) -> float:
    """The q-quantile by nearest rank: percentile([1, 2, 3, 4], 0.5) -> 3."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


DURATION = re.compile(r"(?:(\d+) min)?\s*(?:(\d+) s)?")


def seconds_of(text: str) -> float | None:
    """'3 min 13 s' -> 193.0, '8 s' -> 8.0 (charts.eta_text's format), None if there is none."""
    m = DURATION.fullmatch(text.strip())
    if not m or not any(m.groups()):
        return None
    return 60.0 * int(m.group(1) or 0) + int(m.group(2) or 0)


def table(rows: list[tuple], header: tuple) -> str:
    """A markdown table, for the printout and docs/speed-jobs.md."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
