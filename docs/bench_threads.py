"""Measure threads following the queue (issue 31): tokens/s of a `small` pretraining in a worker
process alone and two at once, with the cores shared among running jobs (`share`) and with one
torch thread per worker as before (`one`: ProcessBackend(cores=1)); meanwhile the server's own
answer time (a next-word ranking of the shipped base model, one thread, every 0.5 s).

    PYTHONPATH=. .venv/bin/python docs/bench_threads.py [STEPS]
"""
import os
import statistics
import sys
import time

import torch

from explainer.corpus import get_corpus
from explainer.gpt.events import Step
from explainer.gpt.paramfile import load_model, models_dir
from explainer.gpt.scoring import rank_next
from explainer.serve import runs
from explainer.serve.jobs import JobManager
from explainer.serve.workers import ProcessBackend


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    text = get_corpus("everyday").text
    base = load_model(models_dir() / "base.safetensors")
    torch.set_num_threads(1)
    for mode in sys.argv[2:] or ("one", "share"):
        jm = JobManager(max_workers=2, backend=ProcessBackend(cores=1 if mode == "one" else None))
        w = jm.wait(jm.submit("w", "warm", runs.pretrain_job(text, corpus_name="e", steps=5)), 900)
        tok = w.result.tokenizer

        def job(seed):
            return runs.pretrain_job(text, corpus_name="e", steps=steps, seed=seed, tokenizer=tok)

        for n in (1, 2):
            ids = [jm.submit(f"u{i}", "run", job(i)) for i in range(n)]
            lat, load = [], os.getloadavg()[0]
            while not all(jm.get(j).ended for j in ids):
                t0 = time.perf_counter()
                rank_next(base.model, base.tokenizer, "A flash flood watch will be in effect all", 10,
                          ["night"])
                lat.append(time.perf_counter() - t0)
                time.sleep(0.5)
            tps = [[e for e in jm.get(j).events if isinstance(e, Step)][-1].tokens_per_s for j in ids]
            lat.sort()
            print(f"{mode}: {n} at once: tokens/s {' / '.join(f'{x:,.0f}' for x in tps)}; server "
                  f"ranking p50 {statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms "
                  f"(n={len(lat)}); load {load:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
        jm.shutdown()


if __name__ == "__main__":
    main()
