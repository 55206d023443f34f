"""Trainings on a Ray cluster (explainer/serve/cluster.py) through the app's JobManager.

Fast: without Ray, choosing the Ray backend is refused with the command that installs it, and
without the address nothing imports Ray. Slow (`make test-slow`, skipped without Ray): a local
Ray head with 2 CPUs runs 10 tiny trainings, each with its own model and its events arriving
while it runs; one long training is cancelled and frees its worker for the next; one worker
process is killed and its job fails with a clear message, the next job runs on a fresh one.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from explainer.serve.jobs import JobManager, backend_from_env

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# Without Ray


def test_the_ray_backend_is_refused_with_the_install_command_when_ray_is_missing(monkeypatch):
    from explainer.serve.cluster import ClusterError
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` now raises ImportError
    monkeypatch.setenv("EXPLAINER_JOBS", "ray")
    with pytest.raises(ClusterError, match=r"make cluster"):
        backend_from_env()
    monkeypatch.delenv("EXPLAINER_JOBS")
    monkeypatch.setenv("EXPLAINER_RAY_ADDRESS", "auto")  # the address alone chooses Ray
    with pytest.raises(ClusterError, match=r"pip install -e \"\.\[cluster\]\""):
        backend_from_env()
    with pytest.raises(ClusterError, match=r"make cluster"):
        JobManager(max_workers=1, backend="ray")


def test_without_the_address_jobs_run_here_and_ray_is_never_imported():
    env = {k: v for k, v in os.environ.items()
           if k not in ("EXPLAINER_JOBS", "EXPLAINER_RAY_ADDRESS")}
    code = ("import sys; from explainer.serve.jobs import JobManager, backend_from_env; "
            "import explainer.serve.runs; jm = JobManager(max_workers=1, backend=backend_from_env()); "
            "print(backend_from_env(), 'ray' in sys.modules); jm.shutdown()")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["process", "False"]


# ---------------------------------------------------------------------------------------------
# A local Ray head with 2 CPUs


STEPS = 30
STARTS = 5      # Ray's raylet gives up when its agents start slower than ~15 s (a loaded machine)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from explainer.serve import cluster
    temp = Path("/tmp") / f"ray-explainer-{os.getpid()}"    # Ray's socket paths must be short
    for attempt in range(STARTS):
        try:
            cluster.connect("local", num_cpus=2, include_dashboard=False, _temp_dir=str(temp))
            break
        except cluster.ClusterError as e:
            ray.shutdown()
            if attempt == STARTS - 1:
                pytest.fail(f"a local Ray head did not start in {STARTS} attempts: {e}")
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def text_and_tokenizer():
    from explainer.corpus import get_corpus
    from explainer.phases.pretrain import learn_tokenizer
    text = get_corpus("everyday").text
    return text, learn_tokenizer(text[:200_000], 512)


def tiny_job(text_and_tokenizer, seed: int, steps: int = STEPS):
    from explainer.serve import runs
    text, tok = text_and_tokenizer
    return runs.pretrain_job(text, corpus_name="Everyday English", preset_name="tiny", steps=steps,
                             seed=seed, candidates=("night", "day"), tokenizer=tok)


def has_step(view) -> bool:
    from explainer.gpt.events import Step
    return any(isinstance(e, Step) for e in view.events)


@pytest.mark.slow
def test_ten_trainings_on_ray_stream_their_events_and_come_back_with_their_own_models(
        ray_cluster, text_and_tokenizer):
    jm = JobManager(max_workers=2, backend="ray")
    try:
        long = jm.submit("canceller", "long run", tiny_job(text_and_tokenizer, 100, steps=100_000))
        ids = {seed: jm.submit(f"learner-{seed}", f"run {seed}", tiny_job(text_and_tokenizer, seed))
               for seed in range(10)}
        # the line as the pages show it, in one snapshot (the long run may still wait for its actor)
        positions = [v.queue_position for v in jm.active() if v.state == "queued"]
        assert len(positions) >= 8 and positions == list(range(1, len(positions) + 1))
        seen = {j: [] for j in ids.values()}                   # (time, events so far) while running
        t_cancel = None
        deadline = time.monotonic() + 900
        while not all(jm.get(j).ended for j in [long, *ids.values()]):
            assert time.monotonic() < deadline, "the trainings did not end in 15 minutes"
            for j in ids.values():
                v = jm.get(j)
                if v.state == "running":
                    seen[j].append((time.time(), v.n_events))
            if t_cancel is None and has_step(jm.get(long)):
                t_cancel = time.time()
                assert jm.cancel(long)
            time.sleep(0.2)

        cancelled = jm.get(long)
        assert cancelled.state == "cancelled"
        assert cancelled.finished - t_cancel < 15, "the cancelled training did not stop"
        after = [jm.get(j).started for j in ids.values() if jm.get(j).started >= t_cancel]
        assert after and min(after) - cancelled.finished < 10, "its worker was not freed"

        models = {}
        for seed, j in ids.items():
            v = jm.get(j)
            assert v.state == "done", v.error
            assert v.result.facts["seed"] == seed and v.result.facts["steps"] == STEPS
            models[seed] = torch.cat([p.detach().flatten() for p in v.result.model.parameters()])
            during = [n for t, n in seen[j] if t < v.finished and 0 < n < v.n_events]
            assert during, f"run {seed}: no events arrived while it ran"
        for a in models:                                       # distinct seeds, distinct weights
            for b in models:
                if a < b:
                    assert not torch.equal(models[a], models[b]), (a, b)
    finally:
        jm.shutdown()


@pytest.mark.slow
def test_a_killed_ray_worker_fails_its_training_clearly_and_the_next_one_runs(
        ray_cluster, text_and_tokenizer):
    jm = JobManager(max_workers=1, backend="ray")
    try:
        victim = jm.submit("victim", "long run", tiny_job(text_and_tokenizer, 200, steps=100_000))
        deadline = time.monotonic() + 300
        while not has_step(jm.get(victim)):
            assert time.monotonic() < deadline and not jm.get(victim).ended, jm.get(victim).error
            time.sleep(0.2)
        (worker,) = [w for w in jm.backend.workers if w.busy]
        killed = worker.pid
        os.kill(killed, signal.SIGKILL)
        v = jm.wait(victim, timeout=120)
        assert v.state == "failed"
        assert "stopped unexpectedly" in v.error and "start it again" in v.error, v.error
        assert "Traceback" not in v.error
        print(f"\nthe killed worker's job: {v.error}")

        after = jm.wait(jm.submit("next", "after the kill", tiny_job(text_and_tokenizer, 201)), 300)
        assert after.state == "done", after.error
        assert worker.restarts == 1 and worker.pid not in (None, killed)   # a fresh actor
    finally:
        jm.shutdown()
