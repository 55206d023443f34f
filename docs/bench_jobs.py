"""Measure: tiny pretraining tokens/s in a worker process vs a server thread; page script-run
times while 2 trainings run and 1 waits; the wait/run estimate against the real times."""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path.cwd()
from streamlit.testing.v1 import AppTest

from explainer.corpus import get_corpus
from explainer.gpt.events import Finished, Step
from explainer.serve import runs
from explainer.serve.jobs import JobManager


def main():
    backend = sys.argv[1]; preset = sys.argv[2] if len(sys.argv) > 2 else "tiny"; steps = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    text = get_corpus("everyday").text
    tok = None
    def load():
        return os.getloadavg()[0]

    jm = JobManager(max_workers=2, backend=backend)
    # warm: one short run so the estimate has a figure and the workers are warm
    w = jm.submit("w", "warm", runs.pretrain_job(text, corpus_name="Everyday English", preset_name=preset, steps=20))
    v = jm.wait(w, 600); assert v.state == "done", v.error
    tok = v.result.tokenizer
    def job(seed):
        return runs.pretrain_job(text, corpus_name="Everyday English", preset_name=preset, steps=steps, seed=seed, tokenizer=tok)

    # 1. alone
    t0 = time.time(); j = jm.submit("a", "alone", job(1)); v = jm.wait(j, 1200)
    alone_tps = [e for e in v.events if isinstance(e, Step)][-1].tokens_per_s
    alone_wall = v.finished - v.started
    print(f"[{backend}] alone: {alone_tps:,.0f} tokens/s, {alone_wall:.1f} s for {steps} steps  (load {load():.2f})")

    # 2. two running, one waiting, pages rerun meanwhile
    ids = [jm.submit(f"p{i}", f"run {i}", job(10 + i)) for i in range(2)]
    time.sleep(3)
    per_step, how = runs.seconds_per_step(preset)
    wait_est, ahead = runs.queue_wait(jm)
    third = jm.submit("p2", "run 2", job(12)); t_submit = time.time()
    pages = {"Tokens": AppTest.from_file(str(ROOT / "pages/1_Tokens.py"), default_timeout=120),
             "Context window": AppTest.from_file(str(ROOT / "pages/5_Context_window.py"), default_timeout=120)}
    for at in pages.values(): at.run()
    lat = {k: [] for k in pages}
    while not all(jm.get(x).ended for x in ids + [third]):
        for k, at in pages.items():
            t0 = time.perf_counter(); at.run(); lat[k].append(time.perf_counter() - t0)
        time.sleep(0.5)
    v3 = jm.get(third)
    tps = [[e for e in jm.get(x).events if isinstance(e, Step)][-1].tokens_per_s for x in ids + [third]]
    print(f"[{backend}] 2 running + 1 waiting: tokens/s per job {', '.join(f'{x:,.0f}' for x in tps)}  (load {load():.2f})")
    for k, xs in lat.items():
        xs.sort(); p95 = xs[min(len(xs)-1, int(0.95*(len(xs)-1)))]
        print(f"[{backend}] page run {k}: p50 {statistics.median(xs)*1000:.0f} ms, p95 {p95*1000:.0f} ms, max {xs[-1]*1000:.0f} ms over {len(xs)}")
    real_wait = v3.started - t_submit; real_run = v3.finished - v3.started
    print(f"[{backend}] third job: estimated wait {wait_est:.0f} s (real {real_wait:.0f} s), estimated run {per_step*steps:.0f} s ({how}; real {real_run:.0f} s); estimate total {wait_est+per_step*steps:.0f} s vs real {real_wait+real_run:.0f} s")
    jm.shutdown()


if __name__ == '__main__':
    main()
