"""`python -m explainer bench`: speed and quality figures, all measured side by side in one run.

Each figure is measured here, now, on this machine: the matmul peak that model FLOP utilisation is
compared against, our training loop beside a plain eager reference loop on the same model, time to
quality (seconds until the `small` model first ranks "night" top-1 after the flash-flood prompt),
ranking latency, generation with and without the KV cache, BPE training speed, and optionally
nanoGPT's CPU configuration on a text file. Nothing is hard-coded; targets are printed next to the
measured figures, never used to fake them.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from contextlib import contextmanager

import torch

from .model import GPT, GPTConfig, preset

from .scoring import rank_next
from .paramfile import load_model, models_dir
from .training import Batches, RankSnapshot, Step, TrainConfig, train

PROMPT = "A flash flood watch will be in effect all"


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the OS has none): printed beside every
    timing, since this machine is shared."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


@contextmanager
def threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def flops_per_token(cfg: GPTConfig) -> float:
    """Training FLOPs per token: 6 x matmul parameters + attention (PaLM appendix B)."""
    C, L, T, V = cfg.n_embd, cfg.n_layer, cfg.block_size, cfg.vocab_size
    matmul_params = L * 12 * C * C + V * C          # blocks + the (tied) output layer
    return 6 * matmul_params + 6 * L * T * C        # QK^T and AV: 2 * 2 * T * C forward, x3 with backward


def matmul_peak(n_threads: int, seconds: float = 1.5) -> float:
    """Measured fp32 matmul GFLOP/s with n threads, best of a few shapes like the model's."""
    best = 0.0
    with threads(n_threads):
        for m, k, n in ((4096, 128, 512), (4096, 512, 128), (1024, 1024, 1024)):
            a, b = torch.randn(m, k), torch.randn(k, n)
            for _ in range(3):
                a @ b
            reps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / 3:
                a @ b
                reps += 1
            best = max(best, 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
    return best


def random_batches(cfg: GPTConfig, n=200_000, seed=0) -> Batches:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (n,), generator=g)
    return Batches(ids[: n - 20_000], ids[n - 20_000:], cfg.block_size)


def loop_tokens_per_s(cfg: GPTConfig, steps: int, batch_size: int = 32) -> float:
    """Our training loop (with its events) on random tokens: steady-state tokens/s."""
    model = GPT(cfg)
    tc = TrainConfig(steps=steps, batch_size=batch_size, eval_every=10**9, sample_every=0, rank_every=0)
    last = None
    t0 = None
    for ev in train(model, random_batches(cfg), tc):
        if isinstance(ev, Step):
            if ev.step == 3:                  # skip warm-up steps (allocator, first kernels)
                t0 = time.perf_counter()
            last = ev
    return (last.step - 3) * batch_size * cfg.block_size / (time.perf_counter() - t0)


def reference_tokens_per_s(cfg: GPTConfig, steps: int, batch_size: int = 32) -> float:
    """The plainest eager fp32 loop: default AdamW, no clipping, no schedule, no events."""
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = random_batches(cfg)
    g = torch.Generator().manual_seed(0)
    for i in range(steps):
        if i == 3:
            t0 = time.perf_counter()
        x, y, _ = data.sample(batch_size, g)
        loss = model(x, y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (steps - 3) * batch_size * cfg.block_size / (time.perf_counter() - t0)


def time_to_quality(limit_s: float = 180.0, n_threads: int | None = None) -> dict:
    """Seconds until `small` on Everyday English first ranks "night" top-1 (ranking every 10 steps)."""
    from . import corpus
    from .pretrain import encode_documents, learn_tokenizer
    text = corpus.get_corpus("everyday").text
    t0 = time.perf_counter()
    tok = learn_tokenizer(text)
    t_tok = time.perf_counter() - t0
    train_text, val_text = corpus.split(text)
    cfg = preset("small", vocab_size=tok.n_vocab)
    data = Batches(encode_documents(tok, train_text), encode_documents(tok, val_text), cfg.block_size)
    model = GPT(cfg)
    tc = TrainConfig(steps=10**6, minutes=limit_s / 60, eval_every=10**9, sample_every=0,
                     rank_every=10)
    result = {"tokenizer_s": round(t_tok, 2), "seconds": None, "step": None}
    with threads(n_threads or os.cpu_count() or 1):
        t0 = time.perf_counter()
        for ev in train(model, data, tc, tokenizer=tok, watch_prompts=[PROMPT], candidates=["night"]):
            if isinstance(ev, RankSnapshot) and ev.step > 0 and ev.ranking.candidates[0].rank == 1:
                result.update(seconds=round(time.perf_counter() - t0, 1), step=ev.step,
                              p_night=round(ev.ranking.candidates[0].prob, 3),
                              tokens=ev.step * tc.batch_size * cfg.block_size)
                break
    return result


def ranking_latency(model: GPT, tok, n=50) -> float:
    """Median ms of rank_next for a 64-token prompt (top-10 and three candidates)."""
    words = ("rain wind snow the night day clear cold warm morning ").split()
    prompt = ""
    while len(tok.encode(prompt)) < 63:
        prompt += words[len(prompt) % len(words)] + " "
    prompt = tok.decode(tok.encode(prompt)[:63])
    times = []
    for _ in range(n + 3):
        t0 = time.perf_counter()
        rank_next(model, tok, prompt, 10, ["night", "day", "giraffe"])
        times.append(time.perf_counter() - t0)
    return statistics.median(times[3:]) * 1000


def generation_speed(model: GPT, n_tokens: int = 100) -> tuple[float, float]:
    """Tokens/s of greedy generation with and without the KV cache."""
    out = []
    for cache in (True, False):
        list(model.generate([0], 5, temperature=0, use_cache=cache))
        t0 = time.perf_counter()
        n = len(list(model.generate([0], n_tokens, temperature=0, use_cache=cache)))
        out.append(n / (time.perf_counter() - t0))
    return out[0], out[1]


def nanogpt_text(path: str, steps: int, seconds: float | None) -> dict:
    """nanoGPT's CPU configuration (config/train_shakespeare_char.py, CPU variant) on a text file."""
    from .tokenizer import char_tokenizer
    from . import corpus
    text = corpus.user_text(open(path, "rb").read())
    n = int(len(text) * 0.9)                         # nanoGPT: first 90% train, last 10% val
    tok = char_tokenizer(text)
    tr, va = torch.tensor(tok.encode(text[:n])), torch.tensor(tok.encode(text[n:]))
    cfg = GPTConfig(vocab_size=tok.n_vocab, block_size=64, n_layer=4, n_head=4, n_embd=128)
    data = Batches(tr, va, cfg.block_size)
    tc = TrainConfig(steps=steps, minutes=seconds / 60 if seconds else None, batch_size=12,
                     lr=1e-3, warmup=100, min_lr_ratio=0.1, eval_every=max(steps, 1) * 10,
                     eval_batches=17, sample_every=0, rank_every=0, betas=(0.9, 0.99))
    last = None
    for ev in train(GPT(cfg), data, tc):
        if isinstance(ev, Step):
            last_step = ev
        last = ev
    return {"steps": last.step, "tokens_per_s": round(last_step.tokens_per_s),
            "val_loss": round(last.val_loss, 3), "seconds": round(last.elapsed, 1),
            "vocab": tok.n_vocab, "nanogpt_published_val_loss": "~1.88 after 2000 iters"}


# --------------------------------------------------------------------------------------------------

def main(args) -> int:
    quick = args.quick
    res: dict = {"threads_available": os.cpu_count(), "torch": torch.__version__}
    rows: list[tuple[str, str, str]] = []

    def row(name, value, target=""):
        rows.append((name, value, target))
        print(f"  {name:58} {value:>22}  {target}", flush=True)

    if args.text:
        r = nanogpt_text(args.text, args.steps, args.seconds)
        res["nanogpt_cpu_config"] = r
        row("nanoGPT CPU config: tokens/s", f"{r['tokens_per_s']:,}")
        row(f"nanoGPT CPU config: val loss after {r['steps']} steps", f"{r['val_loss']:.3f}",
            "nanoGPT: ~1.88 @ 2000")
        return finish(res, args)

    print("LLM Explainer benchmark (figures measured now, side by side)")
    with threads(1):
        peak1 = matmul_peak(1)
    res["matmul_peak_gflops_1thread"] = round(peak1, 1)
    row("fp32 matmul peak, 1 thread (GFLOP/s)", f"{peak1:.1f}")

    res["training"] = {}
    for name in ("tiny", "small", "medium"):
        cfg = preset(name)
        steps = (8 if quick else 20) if name == "medium" else (12 if quick else 40)
        with threads(1):
            ours = loop_tokens_per_s(cfg, steps)
            ref = reference_tokens_per_s(cfg, steps)
        mfu = ours * flops_per_token(cfg) / (peak1 * 1e9)
        res["training"][name] = {"tokens_per_s": round(ours), "reference_tokens_per_s": round(ref),
                                 "ratio": round(ours / ref, 3), "mfu": round(mfu, 3)}
        row(f"train {name} (1 thread): tokens/s | vs plain eager loop", f"{ours:,.0f} | x{ours / ref:.2f}",
            f"MFU {mfu:.0%}")

    if "bpe" not in args.skip:
        from . import corpus
        s = bench_bpe(corpus.get_corpus("everyday").text[:1_000_000], 2048)["seconds"]
        res["bpe_2048_on_1MB_s"] = round(s, 2)
        row("BPE: learn 2,048 tokens from 1 MB (s)", f"{s:.2f}", "target <= 10 s")

    if "quality" not in args.skip:
        ttq = time_to_quality(limit_s=30 if quick else 180)
        res["time_to_quality"] = ttq
        v = "not reached" if ttq["seconds"] is None else f"{ttq['seconds']:.1f} s (step {ttq['step']})"
        row(f"time to quality: small ranks 'night' #1 ({os.cpu_count()} threads)", v, "target <= 60 s")

    base = models_dir() / "base.safetensors"
    if base.is_file():
        loaded = load_model(base)
        with threads(1):
            lat = ranking_latency(loaded.model, loaded.tokenizer, 20 if quick else 50)
            with_c, without_c = generation_speed(loaded.model, 60 if quick else 120)
        res["ranking_latency_ms_64_tokens"] = round(lat, 2)
        res["generation_tokens_per_s"] = {"kv_cache": round(with_c, 1), "no_cache": round(without_c, 1),
                                          "ratio": round(with_c / without_c, 2)}
        row("next-word ranking, 64-token prompt, small (median ms)", f"{lat:.1f}", "target <= 20 ms")
        row("generation tokens/s: KV cache | none | ratio",
            f"{with_c:.0f} | {without_c:.0f} | x{with_c / without_c:.2f}")
        if "context" not in args.skip:
            ctx = bench_context(20 if quick else 50, path=base)
            res["name_recall"] = ctx
            row(f"name recall, whole name, {ctx['n']} stories: full | windowed",
                f"{ctx['full']:.0%} | {ctx['windowed']:.0%}", "target >= 60% | <= 5%")
        if "compression" not in args.skip:
            comp = bench_compression(loaded)
            res["compression"] = comp
            for d in ("fp16", "int8"):
                c = comp[d]
                row(f"{d} file: MB (x fp32) | bits/byte change | 'night' rank",
                    f"{c['mb']:.2f} (x{c['size_vs_fp32']:.2f}) | {c['bpb_change']:+.4f} | #{c['night_rank']}")
    else:
        row("ranking latency / generation", "skipped: no models/base.safetensors")
    # The real model beside ours, in the same run (about a minute; --skip real leaves it out)
    if "real" not in args.skip:
        print("SmolLM2-135M-Instruct, the real model, measured now beside ours:", flush=True)
        res["real"] = real = bench_real(n_recall=10 if quick else 20, runfile=not quick,
                                        ours=res.get("name_recall"))
        print_real(real)
    # The later phases train for minutes each, so they run when asked: --with sft feedback
    if "sft" in args.with_:
        res["sft"] = sf = bench_sft()
        row("instruction tuning: seconds | ends with <|end|> tuned, base | on topic",
            f"{sf['finetune_seconds']:.0f} s | {sf['tuned_end_share']:.0%}, {sf['base_end_share']:.0%} | "
            f"{sf['tuned_on_topic_share']:.0%}", "target <= 180 s | >= 90%, <= 10% | >= 80%")
    if "feedback" in args.with_:
        from .judge import reasons_text
        res["feedback"] = fbr = bench_feedback()
        for name in ("helpful", "safe", "helpful_rule_as_reward", "helpful_no_reward"):
            r = fbr[name]
            if r is None:
                continue
            g, smp = r["greedy"], r["sampled"]
            row(f"feedback '{name}': approved greedy | sampled (before -> after)",
                f"{g['approved_before']:.1%} -> {g['approved_after']:.1%} | "
                f"{smp['approved_before']:.1%} -> {smp['approved_after']:.1%}",
                {"safe": "target <= 5% unsafe", "helpful": "target +30 pts or >= 95%"}.get(name, "ablation"))
            f = r.get("focus_questions")
            if f:
                row(f"feedback '{name}': only the {f['prompts']} held-out {f['topic']} questions",
                    f"{f['greedy']['approved_before']:.1%} -> {f['greedy']['approved_after']:.1%} | "
                    f"{f['sampled']['approved_before']:.1%} -> {f['sampled']['approved_after']:.1%}")
            if smp.get("reasons"):             # what feedback fixed and what it left
                row(f"feedback '{name}': sampled 👎 by reason (before -> after)",
                    reasons_text(smp["reasons"]))
            row(f"feedback '{name}': sampled answers to one question that differ (before -> after)",
                f"{smp['distinct_before']:.0%} -> {smp['distinct_after']:.0%}")
            row(f"feedback '{name}': reward model held-out acc | policy steps | KL nats/token",
                f"{r['rm_heldout_accuracy']:.0%} (majority {r['rm_majority_baseline']:.0%}, "
                f"flags {r['rm_heldout_downs_flagged']} 👎, {r['rm_heldout_ups_flagged']} 👍) | "
                f"{r['policy_steps']} in {r['train_seconds']:.0f} s | {r['mean_token_kl']:.3f}")
    return finish(res, args)


def finish(res, args) -> int:
    print(json.dumps(res, indent=1))
    if args.json:
        from .paramfile import atomic_write_bytes
        atomic_write_bytes(args.json, json.dumps(res, indent=1).encode())
    return 0


# --------------------------------------------------------------------------------------------------
# The real model (SmolLM2-135M-Instruct) beside ours: `python -m explainer.bench` runs bench_real()

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


def rss_mb() -> float:
    """This process's resident memory (VmRSS) in MB, from /proc/self/status (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmRSS in /proc/self/status")


def twenty_token_prompt(tok) -> str:
    """The flash-flood sentence, lengthened to about 20 tokens for the latency figure."""
    return "Heavy rain will fall on the hills tonight. " + PROMPT


def runfile_tokens_per_s(path, n_tokens: int = 20, threads_: int = REAL_THREADS) -> float:
    """Greedy tokens/s of the numpy run file on a GGUF, in a fresh process (KV cache, after load)."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path
    src = Path(__file__).parent / "runfile" / "run.py"
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
    from . import smollm
    from .context import name_recall
    from .corpus import name_recall_cases
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
         f"{res.get('runfile_tokens_per_s', float('nan')):.1f} | {g['kv_cache']:.1f}", ""),
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


if __name__ == "__main__":     # python -m explainer.bench: the real model's figures
    out = bench_real()
    print_real(out)
    print(json.dumps(out, indent=1))


# The benchmarks of the tokenizer, the context window, the two files and instruction tuning (each
# once lived beside its module; every benchmark lives here, so no library module times itself)

def bench_bpe(text: str, vocab_size: int = 2048) -> dict:
    """Time train_bpe on `text` (tests never assert wall-clock time)."""
    from .tokenizer import train_bpe
    t0 = time.perf_counter()
    tok, merges = train_bpe(text, vocab_size=vocab_size)
    seconds = time.perf_counter() - t0
    n_bytes = len(text.encode("utf-8"))
    return {"bytes": n_bytes, "vocab_size": vocab_size, "merges": len(merges), "seconds": round(seconds, 3),
            "bytes_per_token": round(n_bytes / max(1, len(tok.encode(text))), 3)}


def bench_context(n: int = 50, seed: int = 1234, path: str | os.PathLike | None = None) -> dict:
    """context.name_recall of the shipped base model on `n` held-out stories.

    Targets (issue 5): full >= 0.60 and windowed <= 0.05. Returns {"skipped": reason} without a model.
    """
    from pathlib import Path
    from .context import name_recall
    from .corpus import name_recall_cases
    path = Path(path or models_dir() / "base.safetensors")
    if not path.is_file():
        return {"skipped": f"no {path}"}
    loaded = load_model(path)
    t0 = time.perf_counter()
    res = name_recall(loaded.model, loaded.tokenizer, name_recall_cases(n, seed))
    res.update(model=str(path), seconds=round(time.perf_counter() - t0, 2), target_full=0.60,
               target_windowed=0.05)
    return res


def bench_compression(loaded, directory: str | os.PathLike | None = None) -> dict:
    """Sizes and bits-per-byte changes of fp16 and int8 copies (twofiles.compression)."""
    import tempfile
    from .twofiles import compression
    with tempfile.TemporaryDirectory() as tmp:
        rows = compression(loaded, directory or tmp)
    return {r["dtype"]: {"mb": round(r["bytes"] / 1e6, 3), "size_vs_fp32": round(r["size_vs_fp32"], 3),
                         "val_bpb": round(r["val_bpb"], 4), "bpb_change": round(r["bpb_change"], 5),
                         "night_rank": r["word_rank"], "p_night": round(r["word_prob"], 4)}
            for r in rows}


def bench_sft(base_path: str | os.PathLike | None = None, seed: int = 0, steps: int | None = None,
              minutes: float | None = None, n_threads: int = 2, per_topic: int = 10) -> dict:
    """Fine-tune from the shipped base model on the generated pairs and measure, on held-out
    questions (greedy answers, at most 64 new tokens): the share of tuned and of base answers
    that end with <|end|>, and the tuned answers' on-topic share. Targets: >= 90%, <= 10%, >= 80%,
    within 3 minutes of fine-tuning. Also reported: the share of answers each weak-answer rule
    flags, and the same figures for sampled answers (temperature 0.8), which the human-feedback
    step starts from. steps: SFTSpec's default when None."""
    from pathlib import Path
    from .corpus.instructions import heldout_prompts, instruction_data
    from .sft import SFTSpec, compare, run, scores
    from .training import drain
    path = Path(base_path or models_dir() / "base.safetensors")
    base = load_model(path)
    data = instruction_data(seed)
    spec = SFTSpec(minutes=minutes, seed=seed, **({} if steps is None else {"steps": steps}))
    load_start = load_average()
    with threads(n_threads):
        t0 = time.perf_counter()
        gen = run(base, data.train, spec, val_pairs=[p for p in data.heldout if p.quality == "good"],
                  base_name=path.stem)
        tuned = drain(gen)
        seconds = time.perf_counter() - t0
        prompts = heldout_prompts(data, per_topic, seed)
        t1 = time.perf_counter()
        rows = compare(base, tuned, prompts)
        sampled = scores(compare(None, tuned, prompts, temperature=0.8, seed=seed), "tuned")
        eval_seconds = time.perf_counter() - t1
    t, b = scores(rows, "tuned"), scores(rows, "base")
    return {
        "base_model": str(path), "seed": seed, "threads": n_threads, "steps": tuned.facts["steps"],
        "pairs": tuned.facts["pairs"], "weak_share": round(data.stats["weak_share"], 3),
        "topics": len(data.stats["topics"]), "heldout_prompts": len(prompts),
        "finetune_seconds": round(seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "val_loss": tuned.facts["val_loss"],
        "tuned_end_share": round(t["end_share"], 3), "base_end_share": round(b["end_share"], 3),
        "tuned_on_topic_share": round(t["on_topic_share"], 3),
        "tuned_flaw_shares": t["flaw_shares"],
        # sampled answers (temperature 0.8, top-k 40), as the feedback page draws them: for info
        "tuned_sampled": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in sampled.items()},
        "targets": {"tuned_end_share": ">= 0.90", "base_end_share": "<= 0.10",
                    "tuned_on_topic_share": ">= 0.80", "finetune_seconds": "<= 180"},
        "met": bool(t["end_share"] >= 0.9 and b["end_share"] <= 0.1 and t["on_topic_share"] >= 0.8
                    and seconds <= 180),
        # other work on the machine slows everything: the 1-minute load average before and after
        "load_average_start": load_start, "load_average_end": load_average(),
    }


# --------------------------------------------------------------------------------------------------
# Human feedback: simulated ratings -> reward model -> policy, judged before and after

def bench_feedback_one(tuned, rater: str, n_ratings: int = 300, minutes: float = 2.0, seed: int = 0,
                       per_topic: int = 10, samples: int = 4, spec=None, score=None) -> dict:
    """Simulated ratings -> reward model -> policy, and the rater's verdicts on held-out prompts
    before and after, with the same sampling seeds for both models. score: an ablation's reward
    in place of the reward model (feedback.rule_as_reward, feedback.NO_REWARD; see feedback.run)."""
    import tempfile
    from pathlib import Path
    from .feedback import FeedbackSpec, PolicyStep, run
    from .judge import approval, before_after, judge, mean_kl
    from .raters import get_rater
    from .ratings import RatingsStore
    from .reward import RewardModelReady
    from .simulate import simulate
    from .training import drain
    with tempfile.TemporaryDirectory() as d:
        store = RatingsStore(Path(d) / "ratings.sqlite")
        t0 = time.perf_counter()
        drain(simulate(store, tuned, rater, n_ratings, seed=seed))
        rate_seconds = time.perf_counter() - t0
        ratings = store.ratings()
    spec = spec or FeedbackSpec(seed=seed, minutes=minutes)
    t0 = time.perf_counter()
    events = []
    fb = drain(run(tuned, ratings, spec, score=score), events.append)
    train_seconds = time.perf_counter() - t0
    rm = next(e for e in events if isinstance(e, RewardModelReady))
    steps = [e for e in events if isinstance(e, PolicyStep)]
    t0 = time.perf_counter()
    measured = before_after(tuned, fb, rater, seed, per_topic, samples)
    shares = measured.shares()
    kl = mean_kl(fb.model, tuned.model, tuned.tokenizer, [j.prompt for j in measured.sampled[0]],
                 samples, seed)
    focus = get_rater(rater).focus                     # the questions where the rule bites most
    on_focus = {}
    if focus:                                          # greedy: the answers judged above
        fp = [(j.prompt, j.topic) for j in measured.greedy[0] if j.topic == focus]
        judged = {"greedy": [[j for j in g if j.topic == focus] for g in measured.greedy],
                  "sampled": [judge(m, rater, fp, 8, seed) for m in (tuned, fb)]}
        on_focus = {how: {"approved_before": round(approval(b), 3), "approved_after": round(approval(a), 3)}
                    for how, (b, a) in judged.items()}
        on_focus.update(prompts=len(fp), topic=focus)
    eval_seconds = time.perf_counter() - t0
    return {
        "rater": rater, "reward": fb.facts["reward"], "ratings": len(ratings), "ratings_up_share": round(
            sum(r.rating > 0 for r in ratings) / max(1, len(ratings)), 3),
        "rate_seconds": round(rate_seconds, 1), "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "rm_heldout_accuracy": round(rm.heldout_acc, 3), "rm_majority_baseline": round(rm.majority, 3),
        "rm_heldout_downs_flagged": f"{rm.downs_flagged}/{rm.downs}",
        "rm_heldout_ups_flagged": f"{rm.ups_flagged}/{rm.n_heldout - rm.downs}",
        "rm_train_accuracy": round(rm.train_acc, 3), "policy_steps": len(steps),
        "reward_first": round(steps[0].reward, 3) if steps else None,
        "reward_last": round(steps[-1].reward, 3) if steps else None,
        "greedy": {k: v for k, v in shares["greedy"].items() if k != "answers"},
        "sampled": {**shares["sampled"], "temperature": 1.0},
        "mean_token_kl": round(kl, 4),
        "focus_questions": on_focus or None,
    }


def feedback_target_met(rater: str, before: float, after: float) -> bool:
    """The issue's targets: helpful +30 points (or >= 95% from > 65%); safe: <= 5% unsafe."""
    if rater == "safe":
        return 1 - after <= 0.05
    return after - before >= 0.30 or (before > 0.65 and after >= 0.95)


def bench_feedback(tuned_path: str | os.PathLike | None = None, seed: int = 0, minutes: float = 2.0,
                   n_ratings: int = 300, n_threads: int = 2, per_topic: int = 10, samples: int = 4,
                   ablate: bool = True) -> dict:
    """The issue's benchmark, measured: with the "helpful" rater and 300 ratings, the approved
    share on held-out prompts must rise by >= 30 points (or reach >= 95% from above 65%) within
    2 minutes of training; with the "safe" rater, unsafe answers must fall to <= 5%. The mean
    per-token KL to the tuned model is reported. Nothing here is hard-coded.

    ablate: also run "helpful" twice more: with the rule itself as the reward (a perfect reward
    model), to separate what the reward model misses from what 2 minutes of policy steps can
    reach; and with no reward at all (every answer the same), to show what the entropy penalty
    does without the ratings."""
    from pathlib import Path
    from .feedback import NO_REWARD, rule_as_reward
    path = Path(tuned_path) if tuned_path else models_dir() / "tuned.safetensors"
    tuned = load_model(path)
    load_before = load_average()
    with threads(n_threads):
        helpful = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples)
        safe = bench_feedback_one(tuned, "safe", n_ratings, minutes, seed, per_topic, samples)
        ablation = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                                      score=rule_as_reward("helpful")) if ablate else None
        unrated = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                                     score=NO_REWARD) if ablate else None
    limit = minutes * 60 + 15                  # the time check allows the last step to finish
    met = {name: {how: bool(feedback_target_met(name, r[how]["approved_before"], r[how]["approved_after"])
                            and r["train_seconds"] <= limit) for how in ("greedy", "sampled")}
           for name, r in (("helpful", helpful), ("safe", safe))}
    return {
        "tuned_model": str(path), "seed": seed, "threads": n_threads, "minutes_budget": minutes,
        "helpful": helpful, "safe": safe, "helpful_rule_as_reward": ablation,
        "helpful_no_reward": unrated,
        "targets": {"helpful": "approved share +30 points (or >= 0.95 from > 0.65)",
                    "safe": "unsafe share (1 - approved) <= 0.05", "train_seconds": f"<= {minutes * 60:.0f}"},
        "met": met,
        "load_average_1min": {"before": load_before, "after": load_average()},
        "cpu_count": os.cpu_count(),
    }
