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

    def lines(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def attempts(self) -> list[dict]:
        return [a for a in self.lines() if a["what"] != "guarded"]

    def guarded(self) -> list[str]:
        """The command line of every process that started with the guard."""
        return [a["argv"] for a in self.lines() if a["what"] == "guarded"]

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


@pytest.mark.browser
@pytest.mark.slow            # a second server and every page again: 3 minutes; test_offline's sweep is quick
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
    assert any("multiprocessing-fork" in p for p in guard.guarded()), guard.guarded()  # workers
    guard.assert_nothing_outside()


# ---------------------------------------------------------------------------------------------
# JupyterLab, as `make lab` starts it (slow)


@pytest.fixture
def guarded_lab(tmp_path):
    """`make lab`'s command, on a free port with a token, run in a folder whose notebooks/ holds a
    copy of the pretraining notebook (its training runs for seconds with EXPLAINER_NB_SHORT=1)."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "02_pretraining.ipynb", tmp_path / "notebooks")
    guard = Guard(tmp_path / "outside.jsonl")
    port, token = free_port(), secrets.token_hex(16)
    make_env, argv = make_command("lab")
    env = {**os.environ, **make_env, **guard.env(make_env.get("PYTHONPATH", "")),
           "EXPLAINER_NB_SHORT": "1", "EXPLAINER_RATINGS_DB": str(tmp_path / "ratings.sqlite"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    argv += ["--no-browser", f"--port={port}", f"--IdentityProvider.token={token}"]
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"guarded-jupyter-{port}.log"
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/status?token={token}", proc, log)
    yield url, token, guard
    stop_server(proc)


@pytest.mark.slow
@pytest.mark.browser
def test_jupyterlab_asks_no_outside_host_while_a_notebook_trains(page, guarded_lab):
    from test_jupyter_lab import run_all_cells
    url, token, guard = guarded_lab
    page.goto(f"{url}/lab/tree/02_pretraining.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    run_all_cells(page)
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
    }""", timeout=900_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    # what the page asks once a learner opts into news or opens the extension manager
    for api in ("lab/api/news", "lab/api/update", "lab/api/extensions?refresh=1"):
        request = urllib.request.Request(f"{url}/{api}", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert r.status == 200, api
    assert any("/kernel-" in p for p in guard.guarded()), guard.guarded()      # the kernel too
    guard.assert_nothing_outside()


# ---------------------------------------------------------------------------------------------
# A local Ray head, as our backend starts it (slow)

# Ray 2.60's head probes the cloud's metadata addresses once at start (usage_lib's
# get_cloud_from_metadata_requests, called by the dashboard before it looks at the usage-stats
# switch); no Ray setting stops it (README, Offline). Anything else fails the test.
RAY_CLOUD_PROBE = {"169.254.169.254", "metadata.google.internal"}


def ray_cloud_probe(attempt: dict) -> bool:
    return (attempt["host"] in RAY_CLOUD_PROBE
            and any("get_cloud_from_metadata_requests" in f for f in attempt["stack"]))


RAY_RUN = """if True:
    import sys, time
    import ray
    from explainer.corpus import get_corpus
    from explainer.phases.pretrain import learn_tokenizer
    from explainer.serve import cluster, runs
    from explainer.serve.jobs import JobManager
    for attempt in range(5):        # a loaded machine's raylet may give up (test_cluster.py)
        try:
            cluster.connect("local", _temp_dir=sys.argv[1])
            break
        except cluster.ClusterError:
            ray.shutdown()
            if attempt == 4:
                raise
    text = get_corpus("everyday").text
    job = runs.pretrain_job(text, corpus_name="Everyday English", preset_name="tiny", steps=5,
                            seed=1, candidates=("night", "day"),
                            tokenizer=learn_tokenizer(text[:50_000], 300))
    jm = JobManager(max_workers=1, backend="ray")       # EXPLAINER_RAY_ADDRESS=local's backend
    view = jm.wait(jm.submit("guarded", "tiny run", job), timeout=600)
    print(view.state, view.error)
    time.sleep(5)       # a usage report (RAY_USAGE_STATS_REPORT_INTERVAL_S=1) would go by now
    jm.shutdown()
    ray.shutdown()
"""


@pytest.mark.slow
def test_a_local_ray_head_and_its_workers_ask_no_outside_host_for_a_training(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra: `make cluster` installs it")
    guard = Guard(tmp_path / "outside.jsonl")
    temp = Path("/tmp") / f"ray-guard-{os.getpid()}"        # Ray's socket paths must be short
    env = {**os.environ, **guard.env(str(ROOT)), "RAY_USAGE_STATS_REPORT_INTERVAL_S": "1"}
    env.pop("RAY_USAGE_STATS_ENABLED", None)                # as a user's shell has it
    try:
        out = subprocess.run([sys.executable, "-c", RAY_RUN, str(temp)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert out.returncode == 0 and out.stdout.split()[:1] == ["done"], out.stdout + out.stderr
    assert any("default_worker.py" in p for p in guard.guarded()), guard.guarded()  # Ray's
    assert any("dashboard.py" in p for p in guard.guarded()), guard.guarded()       # own ones
    guard.assert_nothing_outside(allowed=ray_cloud_probe)
