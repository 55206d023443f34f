"""Trainings per minute: the local process backend and the Ray backend side by side.

    PYTHONPATH=. python docs/bench_cluster.py [N] [STEPS]      (default: 10 tiny trainings, 30 steps)

Both run the same N tiny pretrainings (distinct seeds, one shared vocabulary) through the app's
JobManager with 2 workers, after 2 warm-up trainings (worker processes / Ray actors started and
torch imported). Ray runs on a local head with 2 CPUs started here and stopped at the end. Prints
the wall time from the first submit to the last end, trainings per minute, one training's median
run time and the load average; the process backend runs again after Ray has stopped, so a change
in the machine's load between the runs shows.
"""
import os
import shutil
import sys
import time

from explainer.corpus import get_corpus
from explainer.phases.pretrain import learn_tokenizer
from explainer.serve import cluster, runs
from explainer.serve.jobs import JobManager


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def batch(backend: str, n: int, steps: int, text: str, tok) -> tuple[float, str]:
    jm = JobManager(max_workers=2, backend=backend)
    try:
        def job(seed):
            return runs.pretrain_job(text, corpus_name="Everyday English", preset_name="tiny",
                                     steps=steps, seed=seed, candidates=("night", "day"), tokenizer=tok)
        for v in [jm.wait(jm.submit("warm", "warm", job(1000 + i)), 600) for i in range(2)]:
            assert v.state == "done", v.error
        t0 = time.time()
        ids = [jm.submit(f"learner-{i}", f"run {i}", job(i)) for i in range(n)]
        views = [jm.wait(j, 1800) for j in ids]
        assert all(v.state == "done" for v in views), [v.error for v in views]
        runs_s = sorted(v.finished - v.started for v in views)
        return max(v.finished for v in views) - t0, f"one training {runs_s[len(runs_s) // 2]:.1f} s median, {load()}"
    finally:
        jm.shutdown()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    text = get_corpus("everyday").text
    tok = learn_tokenizer(text[:200_000], 512)
    print(f"{n} tiny trainings x {steps} steps, 2 workers, {os.cpu_count()} cores ({load()})")
    wall, seen = batch("process", n, steps, text, tok)
    print(f"process backend: {wall:6.1f} s, {n / wall * 60:5.1f} trainings/min  ({seen})", flush=True)
    ray = cluster.require_ray()
    temp = f"/tmp/ray-explainer-{os.getpid()}"
    for attempt in range(5):   # Ray's raylet gives up when its agents start slowly (loaded machine)
        try:
            cluster.connect("local", num_cpus=2, include_dashboard=False,
                            _temp_dir=temp)
            break
        except cluster.ClusterError as e:
            ray.shutdown()
            print(f"Ray head start {attempt + 1} failed: {str(e)[:120]}", flush=True)
    else:
        raise SystemExit("a local Ray head did not start")
    try:
        wall, seen = batch("ray", n, steps, text, tok)
        print(f"ray backend:     {wall:6.1f} s, {n / wall * 60:5.1f} trainings/min  ({seen})", flush=True)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    wall, seen = batch("process", n, steps, text, tok)
    print(f"process backend: {wall:6.1f} s, {n / wall * 60:5.1f} trainings/min  ({seen})")


if __name__ == "__main__":
    main()
