"""Measuring on this machine: its load, torch's threads, memory, the matmul peak, our training loop
beside a plain eager loop, time to quality, ranking latency and generation speed.

The benchmark (`suite.py`) prints these side by side; `phases.py` and `real.py` use
them for the later phases and the real model. Nothing here is a target or a stored figure.
"""
from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import replace

import torch

from ..gpt.events import Eval
from ..gpt.model import GPT, GPTConfig, preset
from ..gpt.scoring import rank_next
from ..gpt.training import Batches, RankSnapshot, Step, TrainConfig, train

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


def rss_mb() -> float:
    """This process's resident memory (VmRSS) in MB, from /proc/self/status (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmRSS in /proc/self/status")


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
    from .. import corpus
    from ..phases.pretrain import encode_documents, learn_tokenizer
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


def nanogpt_data(path: str):
    """nanoGPT's shakespeare_char setup on a text file: characters as tokens, the first 90% to
    train on, the last 10% to validate on, and its CPU model shape. Returns (GPTConfig, Batches)."""
    from .. import corpus
    from ..gpt.tokenizer import char_tokenizer
    text = corpus.user_text(open(path, "rb").read())
    n = int(len(text) * 0.9)                         # nanoGPT: first 90% train, last 10% val
    tok = char_tokenizer(text)
    tr, va = torch.tensor(tok.encode(text[:n])), torch.tensor(tok.encode(text[n:]))
    cfg = GPTConfig(vocab_size=tok.n_vocab, block_size=64, n_layer=4, n_head=4, n_embd=128)
    return cfg, Batches(tr, va, cfg.block_size)


def nanogpt_recipe(steps: int = 2000, seconds: float | None = None) -> TrainConfig:
    """nanoGPT's CPU recipe (config/train_shakespeare_char.py with its CPU overrides): AdamW 1e-3,
    100 warmup steps, cosine to 1e-4 over `steps`, batch 12, beta2 0.99, clipping at 1."""
    return TrainConfig(steps=steps, minutes=seconds / 60 if seconds else None, batch_size=12,
                       lr=1e-3, warmup=100, min_lr_ratio=0.1, eval_every=max(steps, 1) * 10,
                       eval_batches=17, sample_every=0, rank_every=0, betas=(0.9, 0.99))


def speedrun_recipe() -> TrainConfig:
    """Ours for the speedrun: the same model, Muon for the blocks' matrices (AdamW 3e-3 for the
    rest), batch 24, warmup-stable-decay over 400 steps, evaluated every 25 (docs/speedrun.md).
    Its validation windows are the recipe's (8 x 24 = 16 x 12)."""
    return TrainConfig(steps=400, batch_size=24, lr=3e-3, warmup=20, min_lr_ratio=0.1,
                       optimizer="muon", muon_lr=0.02, schedule="wsd", cooldown=0.3,
                       eval_every=25, eval_batches=8, sample_every=0, rank_every=0,
                       betas=(0.9, 0.99))


def timed_run(cfg: GPTConfig, data: Batches, tc: TrainConfig, target: float | None = None) -> dict:
    """Train a fresh model; seconds of training (evaluations left out: each is timed from the
    step before it to its result and subtracted) until the validation loss first reaches `target`,
    or to the end. Returns seconds, cpu_seconds (this process's CPU time, which other programs on
    a shared machine change far less), steps, val_loss, evals, eval_seconds, reached."""
    t0 = prev = c0 = cprev = None
    eval_s, eval_c, evals, out = 0.0, 0.0, 0, None
    for ev in train(GPT(cfg), data, tc):
        now, cpu = time.perf_counter(), time.process_time()
        if isinstance(ev, Eval):
            if t0 is None:                            # the evaluation before the first step
                t0, c0 = now, cpu
            else:
                eval_s += now - prev
                eval_c += cpu - cprev
                evals += 1
                out = ev
                if target is not None and ev.val_loss <= target:
                    break
        prev, cprev = now, cpu
    return {"seconds": round(now - t0 - eval_s, 1), "cpu_seconds": round(cpu - c0 - eval_c, 1),
            "steps": out.step, "val_loss": round(out.val_loss, 3),
            "evals": evals, "eval_seconds": round(eval_s, 1),
            "reached": target is None or out.val_loss <= target}


def speedrun(path: str, target: float = 1.886) -> dict:
    """nanoGPT's recipe for its 2000 steps, then ours until the validation loss <= target, back to
    back in this process on the same data, model shape and validation windows."""
    cfg, data = nanogpt_data(path)
    load = load_average()
    recipe = timed_run(cfg, data, replace(nanogpt_recipe(), eval_batches=16))
    ours = timed_run(cfg, data, speedrun_recipe(), target)
    return {"recipe": recipe, "ours": ours, "target": target, "threads": torch.get_num_threads(),
            "ratio": round(ours["seconds"] / recipe["seconds"], 3),
            "cpu_ratio": round(ours["cpu_seconds"] / recipe["cpu_seconds"], 3),
            "load_average": [load, load_average()]}


def nanogpt_text(path: str, steps: int, seconds: float | None) -> dict:
    """nanoGPT's CPU configuration (config/train_shakespeare_char.py, CPU variant) on a text file."""
    cfg, data = nanogpt_data(path)
    tc = nanogpt_recipe(steps, seconds)
    last = None
    for ev in train(GPT(cfg), data, tc):
        if isinstance(ev, Step):
            last_step = ev
        last = ev
    return {"steps": last.step, "tokens_per_s": round(last_step.tokens_per_s),
            "val_loss": round(last.val_loss, 3), "seconds": round(last.elapsed, 1),
            "vocab": cfg.vocab_size, "nanogpt_published_val_loss": "~1.88 after 2000 iters"}
