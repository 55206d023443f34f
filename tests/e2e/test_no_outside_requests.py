"""Nothing leaves the machine from the processes behind the pages either: the app server with its
training workers (as `make run` starts it), JupyterLab with its kernel (as `make lab` starts it;
slow) and a local Ray head with its workers (as our backend starts it; slow) run with the guard of
tests/e2e/guard/ on their PYTHONPATH, which records every name lookup and TCP connect outside
loopback in every Python process they start. Any one recorded fails the test, naming the host and
the code that asked. (The browser's own requests: test_offline.py.)

The commands are the Makefile's own (`make -n`), so a change to `make run` or `make lab` is what
is tested. `make run` listens on every interface, as it does for a workshop.
"""
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from harness import ARTIFACTS, ROOT, free_port, stop_server, wait_idle
from test_browser import no_exceptions
from test_offline import PAGES
from test_offline import test_a_training_runs_in_a_worker_process_from_the_page as train_tiny

pytestmark = pytest.mark.browser

GUARD = Path(__file__).parent / "guard"
VENV = Path(sys.executable).parent.parent
# Frames that carry a request rather than ask for it: the caller named is the first one outside
TRANSPORT = ("/socket.py", "/ssl.py", "/asyncio/", "/concurrent/", "/threading.py", "/selectors.py",
             "/http/client.py", "/urllib/", "/urllib3/", "/requests/", "/tornado/", "/httpx/",
             "/httpcore/", "/anyio/", "/guard/")


class Guard:
    """The log the guarded processes write to, and what it holds."""

    def __init__(self, log: Path):
        self.log = log

    def env(self, pythonpath: str = "") -> dict:
        """Environment entries that put the guard into every Python process started with them."""
        return {"OUTSIDE_GUARD_LOG": str(self.log),
                "PYTHONPATH": os.pathsep.join(p for p in (str(GUARD), pythonpath) if p)}

    def attempts(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def report(self, attempts: list[dict]) -> str:
        """One paragraph per attempt: what, where, which process, and who asked."""
        out = []
        for a in attempts:
            caller = next((f for f in reversed(a["stack"]) if not any(t in f for t in TRANSPORT)),
                          a["stack"][-1] if a["stack"] else "?")
            out.append(f"{a['what']} {a['host']}:{a['port']} in pid {a['pid']} ({a['argv'][:100]})\n"
                       f"  asked by {caller}\n  stack: " + "\n         ".join(a["stack"]))
        return "\n".join(out)

    def assert_nothing_outside(self, allowed=lambda attempt: False) -> None:
        found = [a for a in self.attempts() if not allowed(a)]
        assert not found, "outside requests:\n" + self.report(found)


def make_command(target: str, **variables) -> tuple[dict, list[str]]:
    """(environment entries, argv) of the last command `make <target>` runs, read with `make -n`
    (the venv taken as installed): make_command("run", PORT=8600) ->
    ({}, [".../.venv/bin/streamlit", "run", "Home.py", "--server.port", "8600", ...])."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    args = [f"{k}={v}" for k, v in {"VENV": VENV, **variables}.items()]
    out = subprocess.run(["make", "-s", "-n", "-o", f"{VENV}/.installed", target, *args], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    words = shlex.split(out.replace("\\\n", " ").strip().splitlines()[-1])
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


def wait_for(url: str, proc, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc)
                pytest.fail(f"the server did not start; see {log}")
            time.sleep(0.3)


# ---------------------------------------------------------------------------------------------
# The guard itself


def run_guarded(tmp_path, code: str) -> list[dict]:
    guard = Guard(tmp_path / "outside.jsonl")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **guard.env()},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return guard.attempts()


def test_the_guard_records_an_outside_lookup_and_connect_and_nothing_local(tmp_path):
    """Without reaching anything: AI_NUMERICHOST makes getaddrinfo refuse a name without asking a
    DNS server, and Linux refuses a TCP connect to the broadcast address before any packet."""
    seen = run_guarded(tmp_path, """if True:
        import socket
        try:
            socket.getaddrinfo("example.com", 443, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        try:
            socket.create_connection(("255.255.255.255", 80), timeout=1)
        except OSError:
            pass
        socket.getaddrinfo("localhost", 80)
        with socket.socket() as server:                       # a TCP connect on loopback
            server.bind(("127.0.0.1", 0)); server.listen()
            socket.create_connection(server.getsockname(), timeout=5).close()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect(("8.8.8.8", 1))                       # UDP: no packet, as Streamlit's
    """)
    assert [(a["what"], a["host"], a["port"]) for a in seen] == [
        ("getaddrinfo", "example.com", 443), ("tcp connect", "255.255.255.255", 80)]
    assert any("<string>" in frame for frame in seen[0]["stack"])   # the caller is named


# ---------------------------------------------------------------------------------------------
# The app server, as `make run` starts it


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory, shipped_models):
    tmp = tmp_path_factory.mktemp("guarded-app")
    guard = Guard(tmp / "outside.jsonl")
    port = free_port()
    make_env, argv = make_command("run", PORT=port)
    env = {**os.environ, **make_env, **guard.env(), "EXPLAINER_MODELS_DIR": str(shipped_models),
           "EXPLAINER_RATINGS_DB": str(tmp / "ratings.sqlite"), "EXPLAINER_JOBS": "process",
           "EXPLAINER_MAX_JOBS": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"guarded-server-{port}.log"
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/_stcore/health", proc, log)
    yield url, guard, log
    stop_server(proc)


def test_the_app_server_asks_no_outside_host_for_any_page_or_a_training(page, guarded_app):
    url, guard, log = guarded_app
    for path, heading in PAGES:
        page.goto(url + path)
        page.get_by_text(heading).first.wait_for()
        wait_idle(page, timeout=120_000)
        no_exceptions(page)
    train_tiny(page, url)                       # tiny, 50 steps, in a worker process
    printed = log.read_text()
    assert "URL: http://" in printed, printed   # the address to hand out still prints
    assert "External URL" not in printed and "Did not auto detect" not in printed, printed
    guard.assert_nothing_outside()
