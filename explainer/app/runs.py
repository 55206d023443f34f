"""Training runs as jobs for the JobManager, and what the page needs to plan one. No streamlit.

`pretrain_job(...)` returns the generator function a job runs: it learns (or reuses) a
vocabulary for the text, then hands over to `explainer.pretrain.run`, whose events the page
draws and whose result (a LoadedModel) becomes the session's active model.
"""
from __future__ import annotations

import collections
import hashlib
import threading
import time
from typing import Iterator, Sequence

from .. import pretrain
from ..model import GPT, count_params, preset
from ..tokenizer import Tokenizer

STEP_CHOICES = [50, 100, 200, 400, 600, 1000, 2000, 4000]
PRESET_BLURBS = {
    "tiny": "tiny: fastest, learns a little",
    "small": "small: the demo default",
    "medium": "medium: better, several times slower",
}


def parse_candidates(text: str, limit: int = 6) -> list[str]:
    """'night, day,  giraffe,,' -> ['night', 'day', 'giraffe'] (at most `limit`, no duplicates)."""
    out = []
    for w in text.replace("\n", ",").split(","):
        w = w.strip()
        if w and w not in out:
            out.append(w[:40])
    return out[:limit]


def preset_params(name: str, vocab_size: int = 2048) -> int:
    return count_params(preset(name, vocab_size=vocab_size))


# ---------------------------------------------------------------------------------------------
# Vocabulary: learned once per text and reused (learning one takes seconds; training steps are
# what the learner wants to watch)

_tokenizers: collections.OrderedDict[str, Tokenizer] = collections.OrderedDict()
_tok_lock = threading.Lock()


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def remember_tokenizer(text: str, tok: Tokenizer) -> None:
    with _tok_lock:
        _tokenizers[_text_key(text)] = tok
        while len(_tokenizers) > 8:
            _tokenizers.popitem(last=False)


def known_tokenizer(text: str) -> Tokenizer | None:
    with _tok_lock:
        return _tokenizers.get(_text_key(text))


# ---------------------------------------------------------------------------------------------
# The job


def cadence(steps: int) -> dict:
    """How often to evaluate, rank and sample so a run of any length shows ~20 validation points,
    ~40 ranking snapshots and ~6 samples by steps (training.sample_due adds some by time).

    >>> cadence(600)
    {'eval_every': 30, 'rank_every': 15, 'sample_every': 100}
    """
    return {"eval_every": max(5, steps // 20), "rank_every": max(5, steps // 40),
            "sample_every": max(10, steps // 6)}


def pretrain_job(text: str, *, corpus_name: str, preset_name: str = "small", steps: int = 600,
                 seed: int = 0, prompt: str = pretrain.DEFAULT_PROMPT,
                 candidates: Sequence[str] = ("night", "day", "giraffe"),
                 tokenizer: Tokenizer | None = None):
    """The generator function for JobManager.submit: fn(cancel) -> events, returns a LoadedModel."""
    spec = pretrain.PretrainSpec(preset=preset_name, steps=int(steps), seed=int(seed), **cadence(int(steps)))
    candidates = tuple(candidates)

    def run(cancel: threading.Event) -> Iterator:
        tok = tokenizer or known_tokenizer(text)
        if tok is None:
            yield pretrain.Status("Learning a vocabulary from the text (which pieces of words are "
                                  "common enough to get their own token) ...")
            tok = pretrain.learn_tokenizer(text)
            remember_tokenizer(text, tok)
        if cancel.is_set():
            return None
        loaded = yield from pretrain.run(text, spec, tokenizer=tok, corpus_name=corpus_name,
                                         watch_prompts=(prompt,), candidates=candidates, cancel=cancel)
        if loaded is not None:
            loaded.facts.setdefault("name", f"trained {time.strftime('%H:%M')}")
        return loaded

    return timed_job(run, preset_name, spec.batch_size)


# ---------------------------------------------------------------------------------------------
# Estimated time: measured, not guessed

# (preset, batch size) -> (seconds, when, how); fine-tuning's batch is half pretraining's, so
# sharing one figure per preset made each page's estimate wrong by 2-3x after the other's run
_step_seconds: dict[tuple[str, int], tuple[float, float, str]] = {}
_MEASURE_TTL = 600.0
_measure_lock = threading.Lock()     # 30 people opening the page at once measure once, not 30 times


def seconds_per_step(preset_name: str, batch_size: int | None = None) -> tuple[float, str]:
    """Wall seconds per training step of this preset and batch size (default: pretraining's) on
    this server, and how we know.

    The latest finished training of that preset on this server is the best witness (it includes
    evaluations and the load at the time); without one, three steps are timed on random data
    (two after a warm-up step). Either figure is re-measured after 10 minutes, because a busy
    server is slower than an idle one.
    """
    key = (preset_name, batch_size or pretrain.PretrainSpec().batch_size)
    known = _step_seconds.get(key)
    if known and time.time() - known[1] < _MEASURE_TTL:
        return known[0], known[2]
    with _measure_lock:
        known = _step_seconds.get(key)
        if known and time.time() - known[1] < _MEASURE_TTL:
            return known[0], known[2]
        return _time_steps(*key)


def _time_steps(preset_name: str, batch_size: int) -> tuple[float, str]:
    import torch
    cfg = preset(preset_name)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.vocab_size, (batch_size, cfg.block_size), generator=g)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loss = model(x, x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    seconds, how = min(times[1:]), "timed on this server just now"
    _step_seconds[preset_name, batch_size] = (seconds, time.time(), how)
    return seconds, how


def timed_job(job_fn, preset_name: str, batch_size: int):
    """Wrap a JobManager generator function whose result is a LoadedModel with facts "steps" and
    "train_seconds" (as fine-tuning's is): the run's speed becomes the next estimate."""
    def run(cancel: threading.Event) -> Iterator:
        loaded = yield from job_fn(cancel)
        if loaded is not None:
            record_run_speed(preset_name, batch_size, loaded.facts.get("steps", 0),
                             loaded.facts.get("train_seconds", 0))
        return loaded
    return run


def record_run_speed(preset_name: str, batch_size: int, steps: int, seconds: float) -> None:
    """A finished (or stopped) run tells the next learner how long a step really takes here."""
    if steps > 0 and seconds > 0:
        _step_seconds[preset_name, batch_size] = (seconds / steps, time.time(),
                                                  "from the latest training of this size on this server")
