"""Background jobs shared by every session of one server: a queue and a few workers.

A workshop of 30 people pressing "Start training" at once must not start 30 trainings on
2 cores. So a page never trains inside its script run: it hands a generator function to the
one `JobManager` of the server, which runs at most `max_workers` of them at a time (sharing
the cores) and queues the rest in arrival order. The page then polls `get(job_id)` about once
a second and draws what the job has yielded so far. Where a job runs is the backend's business
(workers.py): the server's threads ("thread"), a pool of worker processes ("process", the
app's default, env EXPLAINER_JOBS) or a Ray cluster ("ray", cluster.py); a job for a process is
a picklable `JobSpec`.

    >>> def count(cancel):                     # a job: a generator function taking a cancel Event
    ...     for i in range(3):
    ...         if cancel.is_set():
    ...             return "stopped"
    ...         yield i                        # each yielded value is a progress event
    ...     return "three"                     # the return value is the job's result
    >>> jm = JobManager(max_workers=1)
    >>> job = jm.submit("alice", "count to three", count)
    >>> view = jm.wait(job, timeout=10)
    >>> view.state, view.events, view.result
    ('done', [0, 1, 2], 'three')
    >>> jm.shutdown()

Nothing here knows about Streamlit or GPTs; the tests drive it with fake generators.
"""
from __future__ import annotations

import collections
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..gpt.events import Failed, Step, failure_message
from . import workers

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)

JobFn = Callable[[threading.Event], Iterator[Any]]


def _ray_backend(**kwargs):
    from .cluster import RayBackend     # Ray is an optional extra: imported only when chosen
    return RayBackend(**kwargs)


BACKENDS = {"thread": workers.ThreadBackend, "process": workers.ProcessBackend, "ray": _ray_backend}


@dataclass
class JobSpec:
    """A job that can travel to a worker process: a module-level generator function and plain,
    picklable arguments. Calling it with the cancel Event runs `fn(*args, cancel=cancel, **kwargs)`.

    expected_seconds: how long it should take on its own (for the queue's wait estimates)
    on_result:        called in the server with the result when the job ends with one (e.g. to
                      remember how fast it ran); never sent to the worker

    >>> def count(n, *, cancel):
    ...     yield from range(n)
    ...     return n
    >>> list(JobSpec(count, (2,))(threading.Event()))
    [0, 1]
    """
    fn: Callable[..., Iterator[Any]]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected_seconds: float | None = None
    on_result: Callable[[Any], None] | None = None

    def __call__(self, cancel: threading.Event) -> Iterator[Any]:
        return self.fn(*self.args, cancel=cancel, **self.kwargs)

    def __getstate__(self):
        return {**self.__dict__, "on_result": None}     # the server-side hook stays home


def backend_from_env(default: str = "process") -> str:
    """Where jobs run: env EXPLAINER_JOBS ("process", "thread" or "ray"), else "ray" if env
    EXPLAINER_RAY_ADDRESS is set (cluster.py), else `default`. "ray" without Ray installed is
    refused with the command that installs it."""
    name = os.environ.get("EXPLAINER_JOBS", "").strip().lower()
    name = name or ("ray" if os.environ.get("EXPLAINER_RAY_ADDRESS", "").strip() else default)
    if name not in BACKENDS:
        raise ValueError(f"EXPLAINER_JOBS must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "ray":
        from .cluster import require_ray
        require_ray()
    return name


def default_max_workers(backend: Any = None) -> int:
    """Concurrent jobs: env EXPLAINER_MAX_JOBS if set, else the backend's own count (a cluster's
    cores), else one per CPU core."""
    env = os.environ.get("EXPLAINER_MAX_JOBS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"EXPLAINER_MAX_JOBS must be a whole number, got {env!r}") from None
        if n < 1:
            raise ValueError(f"EXPLAINER_MAX_JOBS must be at least 1, got {n}")
        return n
    if hasattr(backend, "default_workers"):
        return backend.default_workers()
    return os.cpu_count() or 1


def is_step_event(event: Any) -> bool:
    """Events we may thin out when a job yields too many: the per-step progress ones.

    Evaluations, samples and ranking snapshots are rare and each one matters, so they are kept.
    """
    return isinstance(event, Step)


# ---------------------------------------------------------------------------------------------
# What a page sees: an immutable snapshot


@dataclass(frozen=True)
class JobView:
    id: str
    owner: str
    label: str
    state: str                     # queued | running | done | failed | cancelled
    queue_position: int | None     # 1 = next to start; None unless queued
    events: list                   # what the job yielded so far (step events thinned when many)
    n_events: int                  # how many events were yielded in total (cursor for events_since)
    error: str | None              # clear message when failed
    result: Any                    # the generator's return value (done, or cancelled after a stop)
    created: float                 # time.time() stamps
    started: float | None
    finished: float | None
    expected_seconds: float | None = None   # the submitter's estimate of its length, if any

    @property
    def ended(self) -> bool:
        return self.state in ENDED


@dataclass
class _Job:
    id: str
    owner: str
    label: str
    fn: Any                        # what the backend runs (a callable, or its pickled bytes)
    expected_seconds: float | None = None
    on_result: Callable[[Any], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = QUEUED
    events: list = field(default_factory=list)      # [(seq, event)]
    n_steps_kept: int = 0
    n_events: int = 0
    error: str | None = None
    result: Any = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None


# ---------------------------------------------------------------------------------------------
# The manager


class JobManager:
    """One per server. Thread-safe: every public method takes the lock briefly.

    max_workers:     jobs that run at the same time (default: env EXPLAINER_MAX_JOBS or cores)
    max_step_events: per job, step events kept; when exceeded, every other one is dropped, so a
                     long run keeps an evenly spread history (first and latest always kept)
    max_events:      hard cap on all events kept per job (a runaway generator cannot eat memory)
    ttl_seconds:     ended jobs are forgotten this long after they end
    keep_ended_per_owner: ended jobs kept per owner (their results can hold whole models)
    torch_threads:   intra-op threads for the server's process (None: leave torch alone); worker
                     processes share the cores among the jobs running (`_share_cores`)
    backend:         "thread" (jobs run in this process), "process" (a pool of worker
                     processes), "ray" (actors on a Ray cluster, cluster.py), or a backend object
    """

    def __init__(self, max_workers: int | None = None, *, max_step_events: int = 1000,
                 max_events: int = 5000, ttl_seconds: float = 2 * 3600,
                 keep_ended_per_owner: int = 5, thin: Callable[[Any], bool] = is_step_event,
                 cancel_grace_events: int = 50, torch_threads: int | None = 1,
                 backend: str | Any = "thread"):
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_step_events = max_step_events
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds
        self.keep_ended_per_owner = keep_ended_per_owner
        self.cancel_grace_events = cancel_grace_events
        self._thin = thin
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)   # notified on every state change
        self._jobs: dict[str, _Job] = {}
        self._queue: collections.deque[_Job] = collections.deque()
        self._busy: list = []                             # slots running a job, earliest first
        self._share_lock = threading.Lock()               # one core-sharing message round at a time
        self._closed = False
        if torch_threads is not None:
            workers.set_torch_threads(torch_threads)
        if isinstance(backend, str):
            if backend not in BACKENDS:
                raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
            backend = BACKENDS[backend](grace_events=cancel_grace_events)
        self.backend = backend
        self.max_workers = max_workers if max_workers is not None else default_max_workers(backend)
        self._slots = [backend.worker(i) for i in range(self.max_workers)]   # started once, reused
        self._workers = [threading.Thread(target=self._work, args=(slot,), name=f"explainer-job-{i}",
                                          daemon=True) for i, slot in enumerate(self._slots)]
        for t in self._workers:
            t.start()

    # --- the public surface ------------------------------------------------------------------

    def submit(self, owner: str, label: str, fn: JobFn) -> str:
        """Queue `fn` for `owner`; returns the job id (random, so it cannot be guessed).
        A process backend needs a picklable `fn` (a JobSpec) and says so at once if it is not."""
        job = _Job(id=uuid.uuid4().hex[:16], owner=str(owner), label=str(label),
                   fn=self.backend.prepare(fn), expected_seconds=getattr(fn, "expected_seconds", None),
                   on_result=getattr(fn, "on_result", None))
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            self._evict_locked()
            self._jobs[job.id] = job
            self._queue.append(job)
            self._changed.notify_all()
        return job.id

    def get(self, job_id: str) -> JobView | None:
        """A snapshot of the job, or None if no such job (never existed, or expired)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return self._view_locked(job) if job else None

    def events_since(self, job_id: str, n: int) -> tuple[list, int]:
        """Events numbered >= n (numbering counts every event ever yielded) and the next cursor.

        >>> # events, n = jm.events_since(job, 0); ...later...; more, n = jm.events_since(job, n)
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return [], n
            return [ev for seq, ev in job.events if seq >= n], job.n_events

    def cancel(self, job_id: str) -> bool:
        """Stop a job: a queued one leaves the queue; a running one is asked to stop (its cancel
        Event is set) and ends as cancelled. Returns False if the job is unknown or already over."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state in ENDED:
                return False
            job.cancel.set()
            if job.state == QUEUED:
                self._queue.remove(job)
                self._end_locked(job, CANCELLED)
            return True

    def jobs_for(self, owner: str) -> list[JobView]:
        """This owner's jobs, oldest first. Nobody sees anybody else's."""
        with self._lock:
            self._evict_locked()
            return [self._view_locked(j) for j in self._jobs.values() if j.owner == owner]

    def wait(self, job_id: str, timeout: float | None = None) -> JobView | None:
        """Block until the job has ended (or timeout); returns its snapshot."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                job = self._jobs.get(job_id)
                if job is None or job.state in ENDED:
                    return self._view_locked(job) if job else None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return self._view_locked(job)
                self._changed.wait(left)

    def active(self) -> list[JobView]:
        """Every owner's running jobs, then the queued ones in queue order: what a new job waits
        for (estimates only: labels and events, but pages show a learner only their own jobs)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == RUNNING]
            return [self._view_locked(j) for j in running + list(self._queue)]

    def stats(self) -> dict:
        """Counts by state, for a status line: {'queued': 3, 'running': 2, ...}."""
        with self._lock:
            counts = collections.Counter(j.state for j in self._jobs.values())
            return {s: counts.get(s, 0) for s in (QUEUED, RUNNING, DONE, FAILED, CANCELLED)}

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything, stop the workers and wait (up to timeout) for them to exit."""
        with self._lock:
            self._closed = True
            while self._queue:
                self._end_locked(self._queue.popleft(), CANCELLED)
            for job in self._jobs.values():
                job.cancel.set()
            self._changed.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._workers:
            t.join(max(0.0, deadline - time.monotonic()))
        for slot in self._slots:
            slot.close(max(0.5, deadline - time.monotonic()))

    # --- the workers -------------------------------------------------------------------------

    def _work(self, slot) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                job = self._queue.popleft()       # FIFO
                job.state, job.started = RUNNING, time.time()
                self._busy.append(slot)
                self._changed.notify_all()
            self._share_cores()
            try:
                self._run(job, slot)
            finally:
                with self._lock:
                    self._busy.remove(slot)
                self._share_cores()

    def _share_cores(self) -> None:
        """Tell each busy worker its share of the cores (workers.share_cores): a lone training
        uses them all, two share them. Backends whose workers cannot change (threads of this
        process, Ray actors) have no `set_threads` and keep theirs."""
        cores = getattr(self.backend, "cores", None)
        if not cores:
            return
        with self._share_lock:                  # so the last message a worker gets is the latest
            with self._lock:
                busy = list(self._busy)
            for slot, n in zip(busy, workers.share_cores(cores, len(busy))):
                slot.set_threads(n)

    def _run(self, job: _Job, slot) -> None:
        state, error, result = DONE, None, None

        def emit(event):
            nonlocal error
            with self._lock:
                self._record_locked(job, event)
                if isinstance(event, Failed) and error is None:
                    error = event.message or "the run failed"

        try:
            result = slot.run(job.fn, job.cancel, emit)
        except BaseException as exc:  # noqa: BLE001 - one job's crash must never kill the worker
            state, error = FAILED, failure_message(exc)
        if state == DONE and error is not None:
            state = FAILED
        elif state == DONE and job.cancel.is_set():
            state = CANCELLED
        if state != FAILED and result is not None and job.on_result is not None:
            try:
                job.on_result(result)
            except Exception as exc:  # noqa: BLE001 - the job's result stays; the page says what failed
                error = f"finished, but keeping its result failed: {failure_message(exc)}"
        with self._lock:
            job.result = result if state != FAILED else None
            job.error = error
            job.fn = None                       # drop the closure (it may hold a big corpus)
            self._end_locked(job, state)

    # --- bookkeeping (lock held) -------------------------------------------------------------

    def _record_locked(self, job: _Job, event: Any) -> None:
        job.events.append((job.n_events, event))
        job.n_events += 1
        if self._thin(event):
            job.n_steps_kept += 1
            if job.n_steps_kept > self.max_step_events:
                self._thin_locked(job, only_steps=True)
        if len(job.events) > self.max_events:
            self._thin_locked(job, only_steps=False)
        self._changed.notify_all()

    def _thin_locked(self, job: _Job, only_steps: bool) -> None:
        """Drop every other thinnable event (keeping the first and the latest)."""
        candidates = [i for i, (_, ev) in enumerate(job.events) if not only_steps or self._thin(ev)]
        drop = set(candidates[1:-1:2])
        job.events = [e for i, e in enumerate(job.events) if i not in drop]
        job.n_steps_kept = sum(1 for _, ev in job.events if self._thin(ev))

    def _end_locked(self, job: _Job, state: str) -> None:
        job.state, job.finished = state, time.time()
        job.fn = None
        self._changed.notify_all()

    def _evict_locked(self) -> None:
        now = time.time()
        ended_by_owner: dict[str, list[_Job]] = collections.defaultdict(list)
        for job in list(self._jobs.values()):
            if job.state in ENDED:
                if now - job.finished > self.ttl_seconds:
                    del self._jobs[job.id]
                else:
                    ended_by_owner[job.owner].append(job)
        for jobs in ended_by_owner.values():
            jobs.sort(key=lambda j: j.finished)
            for job in jobs[:max(0, len(jobs) - self.keep_ended_per_owner)]:   # oldest first
                del self._jobs[job.id]

    def _view_locked(self, job: _Job) -> JobView:
        position = None
        if job.state == QUEUED:
            position = next(i for i, j in enumerate(self._queue, 1) if j is job)
        return JobView(id=job.id, owner=job.owner, label=job.label, state=job.state,
                       queue_position=position, events=[ev for _, ev in job.events],
                       n_events=job.n_events, error=job.error, result=job.result,
                       created=job.created, started=job.started, finished=job.finished,
                       expected_seconds=job.expected_seconds)
