"""Training runs as jobs for the JobManager, and what the page needs to plan one. No streamlit.

`pretrain_job(...)` returns the job (a picklable JobSpec, run in a worker process): it learns (or
reuses) a vocabulary for the text, then hands over to `explainer.phases.pretrain.run`, whose events the
page draws and whose result (a LoadedModel) becomes the session's active model. The estimates
count the jobs already running and waiting (`wait_seconds`), not only the run itself.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import heapq
import threading
import time
from typing import Iterator, Sequence

from ..gpt.model import GPT, count_params, preset
from ..gpt.tokenizer import Tokenizer
from ..i18n import N_, _, ngettext, number
from ..phases import feedback, pretrain, sft, simulate
from . import workers
from .jobs import JobManager, JobSpec, JobView
from .progress import remaining_seconds

STEP_CHOICES = [50, 100, 200, 300, 400, 600, 1000, 2000, 4000]
PRESET_NAMES = {"tiny": N_("tiny"), "small": N_("small"), "medium": N_("medium")}   # shown: _(...)


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


def pretrain_job(text: str, *, corpus_name: str, preset_name: str = "small", steps: int = pretrain.PretrainSpec.steps,
                 seed: int = 0, prompt: str = pretrain.DEFAULT_PROMPT,
                 candidates: Sequence[str] = ("night", "day", "giraffe"),
                 tokenizer: Tokenizer | None = None, threads: int | None = None) -> JobSpec:
    """The job for JobManager.submit (picklable, so a worker process can run it): learn or reuse
    a vocabulary, then train; its result is a LoadedModel. `threads`: what it gets when it starts
    (threads_for_new), so that its speed informs the next estimate of the same kind."""
    spec = pretrain.PretrainSpec(preset=preset_name, steps=int(steps), seed=int(seed), **cadence(int(steps)))
    job = JobSpec(pretrain_run, (text,), {"corpus_name": corpus_name, "spec": spec, "prompt": prompt,
                                          "candidates": tuple(candidates),
                                          "tokenizer": tokenizer or known_tokenizer(text)})
    return timed_job(job, preset_name, spec.batch_size, text=text, threads=threads)


def pretrain_run(text: str, *, corpus_name: str, spec: pretrain.PretrainSpec, prompt: str,
                 candidates: tuple, tokenizer: Tokenizer | None, cancel: threading.Event) -> Iterator:
    """What a pretraining job runs (in a worker): the events of `pretrain.run`; returns the model."""
    tok = tokenizer or known_tokenizer(text)
    if tok is None:
        yield pretrain.Status(N_("Learning a vocabulary from the text (which pieces of words are "
                                 "common enough to get their own token) ..."))   # the page: _()
        tok = pretrain.learn_tokenizer(text)
        remember_tokenizer(text, tok)
    if cancel.is_set():
        return None
    loaded = yield from pretrain.run(text, spec, tokenizer=tok, corpus_name=corpus_name,
                                     watch_prompts=(prompt,), candidates=candidates, cancel=cancel)
    if loaded is not None:
        loaded.facts.setdefault("name", f"trained {time.strftime('%H:%M')}")
    return loaded


# ---------------------------------------------------------------------------------------------
# Estimated time: measured, not guessed

# (preset, batch size, torch threads, optimizer) -> (seconds, when, how). Fine-tuning's batch is
# half pretraining's, a lone run has every core while two share them, and Muon's step costs more
# than AdamW's: one figure for all made the estimates wrong by 2-3x.
Key = tuple[str, int, int, str]
_step_seconds: dict[Key, tuple[float, float, str]] = {}
_MEASURE_TTL = 600.0
_measure_lock = threading.Lock()     # 30 people opening the page at once measure once, not 30 times


def threads_for_new(jm: JobManager) -> int:
    """The torch threads a run submitted now gets (workers.share_cores): every core if it runs
    alone, its share if others run (a full queue: the share it gets when its turn comes)."""
    cores = getattr(jm.backend, "cores", None) or workers.available_cores()
    running = sum(1 for v in jm.active() if v.state == "running")
    return workers.share_cores(cores, min(running + 1, jm.max_workers))[-1]


def seconds_per_step(preset_name: str, batch_size: int | None = None, threads: int | None = None,
                     optimizer: str | None = None, wait: bool = True) -> tuple[float, str] | None:
    """Wall seconds per training step of this preset, batch size and optimizer (default:
    pretraining's) at this many torch threads (default: every core, a lone run) on this server,
    and how we know.

    The latest finished training of that kind on this server is the best witness (it includes
    evaluations and the load at the time); without one, steps are timed the way a run goes: in
    the stopwatch, one process set up as a worker (its lower priority; the run's thread share
    set for each timing), with the run's optimizer, beside whatever already runs. Either figure
    is re-measured after 10 minutes, in a background thread, while pages show the older one.
    The very first figure of a kind is measured while the caller waits, or with `wait=False` in
    the background while the caller gets None (a page draws itself meanwhile); the server's
    warm-up asks for the usual ones before anyone comes.
    """
    key = _key(preset_name, batch_size, threads, optimizer)
    known = _step_seconds.get(key)
    if known:
        if _stale(known):
            _refresh(key)
        return known[0], known[2]
    if not wait:
        _refresh(key)
        return None
    with _measure_lock:
        known = _step_seconds.get(key)
        return (known[0], known[2]) if known else _time_steps(*key)


def _key(preset_name: str, batch_size: int | None = None, threads: int | None = None,
         optimizer: str | None = None) -> Key:
    spec = pretrain.PretrainSpec
    return (preset_name, batch_size or spec.batch_size, threads or workers.available_cores(),
            optimizer or spec.optimizer)


def _stale(known: tuple[float, float, str]) -> bool:
    """A figure older than _MEASURE_TTL, to be timed again."""
    return time.time() - known[1] >= _MEASURE_TTL


_refreshing: set[Key] = set()
_refreshing_lock = threading.Lock()     # not _measure_lock: a page must not wait for a timing


def _refresh(key: Key) -> None:
    """Time `key`'s steps again in a background thread (one at a time per key)."""
    with _refreshing_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)

    def measure():
        try:
            with _measure_lock:
                known = _step_seconds.get(key)          # timed meanwhile (the warm-up, a page)?
                if not known or _stale(known):
                    _time_steps(*key)
        finally:
            _refreshing.discard(key)
    threading.Thread(target=measure, name=f"time-steps-{key}", daemon=True).start()


def step_seconds_here(preset_name: str, batch_size: int, optimizer: str, threads: int,
                      steps: int = 4) -> float:
    """Seconds of one training step in this process at `threads` torch threads (random tokens):
    the fastest after the first (which allocates)."""
    import torch

    from ..gpt.training import make_optimizer
    workers.set_torch_threads(threads)
    cfg = preset(preset_name)
    model = GPT(cfg)
    opt = make_optimizer(model, pretrain.PretrainSpec(preset=preset_name, batch_size=batch_size,
                                                      optimizer=optimizer))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.vocab_size, (batch_size, cfg.block_size), generator=g)
    times = []
    for _step in range(steps):
        t0 = time.perf_counter()
        loss = model(x, x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


_stopwatch = None       # one process that times steps, set up as a worker (started on first use)


def _stopwatch_pool():
    global _stopwatch
    if _stopwatch is None:
        import multiprocessing
        import os
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")       # as ProcessBackend's workers
        with workers.main_script_hidden():     # a page asked: the page is __main__ just now
            _stopwatch = multiprocessing.get_context("spawn").Pool(
                1, initializer=workers.settle_worker, initargs=(1, workers.NICE, ("explainer.gpt.training",)))
        import atexit
        atexit.register(_stopwatch.terminate)   # else its __del__ complains at the interpreter's end
    return _stopwatch


STOPWATCH_TIMEOUT = 120.0     # seconds; a stopwatch that cannot start must not hang a page


_stopwatch_failed = False


def _time_steps(preset_name: str, batch_size: int, threads: int, optimizer: str) -> tuple[float, str]:
    global _stopwatch, _stopwatch_failed
    began = time.time()
    try:
        if _stopwatch_failed:
            raise RuntimeError("the stopwatch process could not start before")
        seconds = _stopwatch_pool().apply_async(
            step_seconds_here, (preset_name, batch_size, optimizer, threads)).get(STOPWATCH_TIMEOUT)
    except Exception:  # noqa: BLE001 - a process that dies at start is replaced forever by Pool
        _stopwatch_failed = True
        if _stopwatch is not None:
            _stopwatch.terminate()
            _stopwatch = None
        import torch                  # then time here, at this process's own thread count
        seconds = step_seconds_here(preset_name, batch_size, optimizer, torch.get_num_threads())
    how = N_("timed on this server just now")
    key = (preset_name, batch_size, threads, optimizer)
    newer = _step_seconds.get(key)
    if newer and newer[1] > began:             # a training ended meanwhile: its figure is better
        return newer[0], newer[2]
    _step_seconds[key] = (seconds, time.time(), how)
    return seconds, how


def timed_job(job: JobSpec, preset_name: str, batch_size: int, text: str | None = None,
              threads: int | None = None) -> JobSpec:
    """The job, told how long it should take (for the queue's estimates) and, once it ends with a
    LoadedModel (facts "steps" and "train_seconds", as fine-tuning's), reporting its speed to this
    server (the next estimate for runs with `threads`, default every core) and, for `text`, its
    vocabulary (the next run on that text reuses it). Both happen in the server, wherever the job ran."""
    spec = next((a for a in (*job.args, *job.kwargs.values())             # its spec dataclass
                 if isinstance(getattr(a, "steps", None), int)), None)
    steps, optimizer = (spec.steps, getattr(spec, "optimizer", None)) if spec is not None else (None, None)
    key = _key(preset_name, batch_size, threads, optimizer)
    known = _step_seconds.get(key)
    expected = known[0] * steps if known and steps else None
    return dataclasses.replace(job, expected_seconds=expected,
                               on_result=functools.partial(_after_run, key, text))


def _after_run(key: Key, text: str | None, loaded) -> None:
    record_run_speed(key[0], key[1], loaded.facts.get("steps", 0),
                     loaded.facts.get("train_seconds", 0), key[2], key[3])
    if text is not None:
        remember_tokenizer(text, loaded.tokenizer)


def record_run_speed(preset_name: str, batch_size: int, steps: int, seconds: float,
                     threads: int | None = None, optimizer: str | None = None) -> None:
    """A finished (or stopped) run tells the next learner how long a step really takes here
    (for runs given as many threads as it was when it started; default every core)."""
    if steps > 0 and seconds > 0:
        _step_seconds[_key(preset_name, batch_size, threads, optimizer)] = (
            seconds / steps, time.time(), N_("from the latest training of this size on this server"))


# ---------------------------------------------------------------------------------------------
# Estimated wait: the jobs already running and waiting


def wait_seconds(running_left: Sequence[float], queued: Sequence[float], workers: int) -> float:
    """Seconds until a job that joins the queue now starts: the workers free up as the running
    jobs end (`running_left`: their seconds left), and each takes the next queued job in order
    (`queued`: their expected lengths), until one is free for ours.

    >>> wait_seconds([], [], 2), wait_seconds([60], [], 2), wait_seconds([60, 100], [], 2)
    (0.0, 0.0, 60.0)
    >>> wait_seconds([60, 100], [200], 2)    # the waiting job takes the first free worker
    100.0
    """
    free_at = sorted(max(0.0, float(t)) for t in running_left)[:workers]
    free_at = [0.0] * (workers - len(free_at)) + free_at
    heapq.heapify(free_at)
    for length in queued:
        heapq.heappush(free_at, heapq.heappop(free_at) + max(0.0, float(length)))
    return free_at[0]


def seconds_left(view: JobView) -> float | None:
    """A running job's seconds left (its smoothed time left), a queued one's expected length."""
    if view.state == "queued":
        return view.expected_seconds
    eta = remaining_seconds(view.events)
    if eta is None and view.expected_seconds is not None and view.started is not None:
        eta = max(0.0, view.expected_seconds - (time.time() - view.started))
    return eta


def queue_wait(jm: JobManager, job_id: str | None = None) -> tuple[float, int]:
    """(seconds until `job_id` starts, jobs before it), or for a new job if job_id is None.
    A job whose length nobody knows counts as long as the typical known one."""
    views = jm.active()
    if job_id is not None:
        ids = [v.id for v in views]
        views = views[:ids.index(job_id)] if job_id in ids else []
    lefts = [seconds_left(v) for v in views]
    known = sorted(x for x in lefts if x is not None)
    typical = known[len(known) // 2] if known else 0.0
    lefts = [typical if x is None else x for x in lefts]
    running = [x for v, x in zip(views, lefts) if v.state == "running"]
    queued = [x for v, x in zip(views, lefts) if v.state == "queued"]
    return wait_seconds(running, queued, jm.max_workers), len(views)


def estimate_text(jm: JobManager, preset_name: str, steps: int, batch_size: int | None = None,
                  optimizer: str | None = None) -> str | None:
    """The page's line under the Start button: how long the run takes, and the wait before it.
    None while this kind of run is being timed on this server (seconds_per_step, wait=False)."""
    from ..views.charts import eta_text
    known = seconds_per_step(preset_name, batch_size, threads_for_new(jm), optimizer, wait=False)
    if known is None:
        return None
    per_step, how = known
    wait, ahead = queue_wait(jm)
    line = _("Estimated time: about **{time}** ({steps} steps × {seconds} s per step, {how})").format(
        time=eta_text(per_step * steps), steps=number(steps, "#,##0"), seconds=number(per_step, "0.00"),
        how=_(how))
    if wait >= 1:
        line += ngettext(", after a wait of about **{time}**: {n} training is running or waiting "
                         "before yours",
                         ", after a wait of about **{time}**: {n} trainings are running or waiting "
                         "before yours", ahead).format(time=eta_text(wait), n=ahead)
    return line + "."


# --------------------------------------------------------------------------------------------------
# The other phases as jobs: instruction tuning, feedback, simulated ratings

def model_job(run, *args, name: str, **kwargs) -> JobSpec:
    """The job a JobManager runs for a phase whose `run(*args, cancel=..., **kwargs)` generator
    returns a LoadedModel (instruction tuning, feedback): it passes the job's cancel event and
    names the result "<name> HH:MM", the time it finished, for the model picker. A JobSpec of
    module-level functions, so a worker process can run it."""
    return JobSpec(named_run, (run, *args), {"name": name, **kwargs})


def named_run(run, *args, name: str, cancel, **kwargs):
    """`run(*args, cancel=cancel, **kwargs)`, its result named "<name> HH:MM" (see model_job)."""
    loaded = yield from run(*args, cancel=cancel, **kwargs)
    loaded.facts["name"] = f"{name} {time.strftime('%H:%M')}"
    return loaded


def sft_job(base, pairs: Sequence, spec: sft.SFTSpec = sft.SFTSpec(), *, base_name: str | None = None) -> JobSpec:
    """Instruction tuning as a job: `sft.run`'s events, then the tuned LoadedModel."""
    return model_job(sft.run, base, list(pairs), spec, name="tuned", base_name=base_name)


def feedback_job(tuned, ratings: Sequence, spec: feedback.FeedbackSpec = feedback.FeedbackSpec(), *,
                 base_name: str | None = None) -> JobSpec:
    """Learning from feedback as a job: `feedback.run`'s events, then a LoadedModel."""
    return model_job(feedback.run, tuned, list(ratings), spec, name="feedback", base_name=base_name)


def simulate_job(store_path: str, tuned, rater: str, n: int = 200, seed: int = 0) -> JobSpec:
    """Simulated ratings as a job: the worker (a process, or a Ray machine) rates and returns the
    rows; the server stores them in its own database when the job ends (`on_result`)."""
    return JobSpec(simulate.simulated_ratings, (tuned, rater, n), {"seed": seed},
                   on_result=functools.partial(simulate.store_rows, store_path))


def agent_job(tuned, spec=None, *, base_name: str | None = None) -> JobSpec:
    """Tool-use tuning as a job: `agents.tuning.run`'s events, then the agent LoadedModel."""
    from ..agents import tuning
    return model_job(tuning.run, tuned, spec or tuning.AgentSpec(), name="agent", base_name=base_name)


def agent_figures_job(agent, without=None) -> JobSpec:
    """The held-out figures of an agent (agents.measure.measuring) as a job; "smollm2" for a
    model loads the real one in the worker."""
    from ..agents import measure
    return JobSpec(measure.measuring, (agent, without))
