"""The real model (SmolLM2-135M-Instruct) measured beside ours: load time and memory, ranking
latency, generation with and without the KV cache, the numpy run file, the flash-flood ranking and
name recall. `python -m explainer.bench.real` prints them alone.
"""
from __future__ import annotations

import json
import os
import statistics
import time

from ..gpt.scoring import rank_next
from .measure import PROMPT, generation_speed, load_average, rss_mb, threads

REAL_THREADS = 2
RUNFILE_TIMER = """
import sys, time
import run
W, cfg, tok_meta, _ = run.load(sys.argv[1])
tok = run.Tokenizer(tok_meta)
ids = [tok.specials["<|endoftext|>"]] + tok.encode(sys.argv[2])
list(run.generate(W, cfg, ids, 2, 0.0))                    # warm-up
t0 = time.perf_counter()
n = len(list(run.generate(W, cfg, ids, int(sys.argv[3]), 0.0)))
print(n / (time.perf_counter() - t0))
"""


def twenty_token_prompt(tok) -> str:
    """The flash-flood sentence, lengthened to about 20 tokens for the latency figure."""
    return "Heavy rain will fall on the hills tonight. " + PROMPT


def runfile_tokens_per_s(path, n_tokens: int = 20, threads_: int = REAL_THREADS) -> float:
    """Greedy tokens/s of the numpy run file on a GGUF, in a fresh process (KV cache, after load)."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path
    src = Path(__file__).resolve().parents[1] / "runfile" / "run.py"
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "run.py").write_text(src.read_text())
        (Path(d) / "timer.py").write_text(RUNFILE_TIMER)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads_), "OMP_NUM_THREADS": str(threads_)}
        r = subprocess.run([sys.executable, "timer.py", str(path), PROMPT, str(n_tokens)], cwd=d, env=env,
                           capture_output=True, text=True, timeout=900)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return float(r.stdout.split()[-1])


def bench_real(n_recall: int = 20, runfile: bool = True, ours: dict | None = None) -> dict:
    """Figures of the real model, measured now: load, memory, ranking latency, generation with and
    without the KV cache, the numpy run file, the flash-flood ranking and name recall (ours beside:
    `ours`, bench_context's result on the same stories if already measured, else measured here)."""
    from ..corpus import name_recall_cases
    from ..phases.context import name_recall
    from ..real import smollm
    from .phases import bench_context
    if not smollm.available():
        return {"skipped": f"real model not installed: run `{smollm.INSTALL}`"}
    res = {"threads": REAL_THREADS, "load_average_before": load_average()}
    with threads(REAL_THREADS):
        before = rss_mb()
        t0 = time.perf_counter()
        real = smollm.load()
        res["load_s"] = round(time.perf_counter() - t0, 2)
        res["rss_added_mb"] = round(rss_mb() - before)
        model, tok = real.model, real.tokenizer
        prompt = twenty_token_prompt(tok)
        times = []
        for _ in range(12):
            t0 = time.perf_counter()
            rank_next(model, tok, prompt, 10, ["night", "day", "giraffe"])
            times.append(time.perf_counter() - t0)
        res["ranking_ms_median"] = round(statistics.median(times[2:]) * 1000, 1)
        res["ranking_prompt_tokens"] = len(tok.encode(prompt)) + 1
        with_c, without_c = generation_speed(model, 32)
        res["generation_tokens_per_s"] = {"kv_cache": round(with_c, 1), "no_cache": round(without_c, 1),
                                          "ratio": round(with_c / without_c, 2)}
    with threads(1):           # beside it: one thread, immune to a neighbour busy on the other core
        res["generation_tokens_per_s_1_thread"] = round(generation_speed(model, 32)[0], 1)
    with threads(REAL_THREADS):
        r = rank_next(model, tok, PROMPT, 3, ["night", "day", "giraffe"])
        res["flash_flood"] = {c.word: {"prob": float(f"{c.prob:.4g}"), "rank": c.rank} for c in r.candidates}
        res["flash_flood_top3"] = [(piece, round(p, 4)) for piece, _, p in r.top]
        t0 = time.perf_counter()
        rec = name_recall(model, tok, name_recall_cases(n_recall, 1234))
        res["name_recall"] = {k: rec[k] for k in ("n", "full", "windowed", "full_first_token",
                                                  "windowed_first_token")}
        res["name_recall"]["seconds"] = round(time.perf_counter() - t0, 1)
    ours = ours if ours is not None and ours.get("n") == n_recall else bench_context(n_recall)
    res["name_recall_ours"] = ({k: ours[k] for k in ("n", "full", "windowed")} if "skipped" not in ours
                               else ours)
    if runfile:
        res["runfile_tokens_per_s"] = round(runfile_tokens_per_s(real.path), 2)
    res["load_average_after"] = load_average()
    return res


def print_real(res: dict) -> None:
    if "skipped" in res:
        print(f"  SmolLM2-135M: skipped, {res['skipped']}")
        return
    g, ff = res["generation_tokens_per_s"], res["flash_flood"]
    rows = [
        (f"SmolLM2-135M: load + dequantize (s), {res['threads']} threads", f"{res['load_s']:.2f}", "target <= 5 s"),
        ("SmolLM2-135M: resident memory added (MB)", f"{res['rss_added_mb']}", "target <= 1024 MB"),
        (f"SmolLM2-135M: next-word ranking, {res['ranking_prompt_tokens']}-token prompt (median ms)",
         f"{res['ranking_ms_median']:.0f}", "target <= 150 ms"),
        ("SmolLM2-135M: generation tokens/s: KV cache | none | ratio",
         f"{g['kv_cache']:.1f} | {g['no_cache']:.1f} | x{g['ratio']:.2f}", "target >= 20 tok/s"),
        ("SmolLM2-135M: generation tokens/s with KV cache, 1 thread",
         f"{res['generation_tokens_per_s_1_thread']:.1f}", "target >= 20 tok/s"),
        (f"SmolLM2-135M: numpy run file tokens/s (KV cache, {res['threads']} BLAS threads) | torch",
         (f"{res['runfile_tokens_per_s']:.1f}" if "runfile_tokens_per_s" in res else "not run (--quick)")
         + f" | {g['kv_cache']:.1f}", ""),
        ("SmolLM2-135M: flash flood: night | day | giraffe (prob, rank)",
         " | ".join(f"{w} {ff[w]['prob']:.3g} #{ff[w]['rank']}" for w in ("night", "day", "giraffe")), ""),
    ]
    nr, ours = res["name_recall"], res["name_recall_ours"]
    rows.append((f"name recall, {nr['n']} stories: full | windowed: SmolLM2 | ours",
                 f"{nr['full']:.0%} | {nr['windowed']:.0%}  vs  " +
                 (f"{ours['full']:.0%} | {ours['windowed']:.0%}" if "full" in ours else "ours: no model"), ""))
    for name, value, target in rows:
        print(f"  {name:66} {value:>36}  {target}")
    print(f"  load average before | after: {res['load_average_before']} | {res['load_average_after']}")


if __name__ == "__main__":     # python -m explainer.bench.real: the real model's figures alone
    out = bench_real()
    print_real(out)
    print(json.dumps(out, indent=1))
