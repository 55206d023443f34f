"""Where a job's generator really runs: a thread of the server, or a worker process of a pool.

The `JobManager` (jobs.py) keeps the queue, the events and the states; a *backend* only runs one
job at a time per worker and reports back. That is the seam a cluster engine plugs into (Ray:
cluster.py):

    class Backend(Protocol):
        name: str
        def prepare(self, fn) -> Any            # at submit, in the page's run: check and pack the job
        def worker(self, i: int) -> Worker      # one per slot, started once and reused
    class Worker(Protocol):
        def run(self, job, cancel: threading.Event, emit) -> Any   # blocks; emit(event) each event;
        def close(self, timeout: float) -> None                     # returns the result or raises

`ThreadBackend` runs jobs in the server's own threads (simple; tests use it with closures).
`ProcessBackend` runs them in a pool of spawned processes at a lower CPU priority than the server,
so a page's script run always gets a core. Threads follow the queue: the manager tells each busy
worker its share of the cores (`share_cores`: a lone training gets them all, two share them), and
the worker sets its torch threads to it between steps (at each event). Jobs sent to a process
must pickle: a `jobs.JobSpec` or functools.partial of a module-level generator function with plain
arguments (spec dataclasses, texts, LoadedModels). Events and the result come back pickled (our
own child process, so trusted): a 4 MB LoadedModel pickles in ~16 ms and loads in ~13 ms, keeping
every fact as it was; a parameter-file round trip took 45-350 ms (docs/speed-jobs.md).
"""
from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import multiprocessing.connection
import multiprocessing.util
import os
import pickle
import queue
import sys
import threading
import time
from typing import Any, Callable, Iterator

Emit = Callable[[Any], None]


class JobFailed(Exception):
    """A job that failed in a worker process; the message is already written for people."""


class WorkerDied(JobFailed):
    """The worker process running the job stopped (killed, out of memory, crashed)."""


def job_events(fn: Callable[[threading.Event], Iterator], cancel: threading.Event,
               grace_events: int = 50) -> Iterator:
    """Run one job as a generator: yield each event of `fn(cancel)` and return its return value,
    so `result = yield from job_events(...)` relays a job (the Ray actor in cluster.py does).

    After `cancel` is set, a generator that goes on yielding more than `grace_events` events is
    closed (a job that ignores its cancel Event cannot hold a worker for ever).
    """
    gen = fn(cancel)
    after_cancel = 0
    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value
        yield event
        if cancel.is_set():
            after_cancel += 1
            if after_cancel > grace_events:
                gen.close()
                return None


def drive(fn: Callable[[threading.Event], Iterator], cancel: threading.Event, emit: Emit,
          grace_events: int = 50) -> Any:
    """Run one job: emit each event its generator yields and return the generator's return value
    (job_events, with a callback).

    >>> def count(cancel):
    ...     yield 1; yield 2
    ...     return "two"
    >>> seen = []; drive(count, threading.Event(), seen.append), seen
    ('two', [1, 2])
    """
    events = job_events(fn, cancel, grace_events)
    while True:
        try:
            emit(next(events))
        except StopIteration as stop:
            return stop.value


def pack(fn) -> bytes:
    """Pickle a job now, in the page's run, so a job that cannot travel fails at once."""
    try:
        return pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError("a job for a worker process must be picklable: a JobSpec or "
                        "functools.partial of a module-level function with plain arguments, "
                        f"not a closure ({e})") from None


NICE = 10      # workers run this much below the server's priority: pages stay responsive


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_torch_threads(n: int) -> None:
    """Set torch's intra-op threads (2 jobs on 2 cores must not spawn 2 threads each and fight).
    torch is imported lazily so the manager works without it. The setting is process-wide."""
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def share_cores(cores: int, running: int) -> list[int]:
    """Torch threads for each of `running` jobs on `cores` cores, earliest started first: all of
    them for a lone job, an even split when more run, never fewer than one each.

    >>> share_cores(2, 1), share_cores(2, 2), share_cores(4, 3), share_cores(2, 3)
    ([2], [1, 1], [2, 1, 1], [1, 1, 1])
    """
    base, extra = divmod(max(cores, 1), max(running, 1))
    return [max(1, base + (i < extra)) for i in range(running)]


# ---------------------------------------------------------------------------------------------
# In the server's process: one thread per worker


class ThreadBackend:
    """Jobs run in the server's own threads. Any callable fn(cancel) works, closures too."""
    name = "thread"

    def __init__(self, grace_events: int = 50):
        self.grace_events = grace_events

    def prepare(self, fn):
        return fn

    def worker(self, i: int) -> "ThreadWorker":
        return ThreadWorker(self.grace_events)


class ThreadWorker:
    def __init__(self, grace_events: int):
        self.grace_events = grace_events

    def run(self, fn, cancel: threading.Event, emit: Emit) -> Any:
        return drive(fn, cancel, emit, self.grace_events)

    def close(self, timeout: float = 0.0) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# In worker processes: a pool started once, a dead worker replaced


class ProcessBackend:
    """Jobs run in worker processes ("spawn": never fork a server that runs torch and Streamlit
    threads). Each worker: `torch_threads` intra-op threads, priority `nice` below the server.
    Spawn re-imports the main module in each worker: a script that starts one needs
    `if __name__ == "__main__":` (streamlit's and pytest's entry points have it).

    kill_after: seconds a cancelled job may take to stop before its worker is killed and replaced
    preload:    modules each worker imports once at start (so a job does not wait for torch)
    cores:      the cores the running jobs share (None: this machine's); torch_threads is where a
                worker starts, before the manager gives it its share
    """
    name = "process"

    def __init__(self, torch_threads: int = 1, nice: int = NICE, kill_after: float = 10.0,
                 preload: tuple[str, ...] = ("explainer.gpt.training",), grace_events: int = 50,
                 context: str = "spawn", cores: int | None = None):
        self.torch_threads, self.nice, self.kill_after = torch_threads, nice, kill_after
        self.cores = cores or available_cores()
        self.preload, self.grace_events = tuple(preload), grace_events
        self.ctx = multiprocessing.get_context(context)
        # A worker's OpenMP threads sleep when they wait instead of spinning: a niced worker with
        # two threads, one of them preempted by the server or another process, then slows to the
        # pace of one thread instead of collapsing (docs/speed-jobs.md). Spawned workers read it
        # when torch loads; a setting the user made stays.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    def prepare(self, fn) -> bytes:
        return pack(fn)

    def worker(self, i: int) -> "ProcessWorker":
        return ProcessWorker(self, i)


class ProcessWorker:
    """The server's side of one worker process: sends it jobs, relays its events."""

    def __init__(self, backend: ProcessBackend, i: int):
        self.backend, self.i = backend, i
        self._ids = itertools.count(1)
        self.proc = self.conn = None
        self.restarts = 0
        self._send_lock = threading.Lock()      # the job's thread and the manager's both send
        self._threads = backend.torch_threads   # its share of the cores, as last asked
        self._start()

    def _start(self) -> None:
        b = self.backend
        parent, child = b.ctx.Pipe(duplex=True)
        self.proc = b.ctx.Process(target=_child_main, name=f"explainer-worker-{self.i}", daemon=True,
                                  args=(child, b.torch_threads, b.nice, b.preload, b.grace_events))
        with main_script_hidden():
            self.proc.start()
        child.close()
        self.conn = parent
        if self._threads != b.torch_threads:    # a replacement takes over its predecessor's share
            self.set_threads(self._threads)

    def _replace(self) -> None:
        self._stop_process(0.0)
        if multiprocessing.util.is_exiting():
            return      # the server is ending and its exit stopped the worker: none to start
        self.restarts += 1
        self._start()

    def _send(self, msg) -> None:
        with self._send_lock:
            self.conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))

    def set_threads(self, n: int) -> None:
        """Ask the worker to use n torch threads from its next step on (its share of the cores)."""
        self._threads = n
        try:
            self._send(("threads", n))
        except OSError:
            pass                                # it died: run() notices and replaces it

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def run(self, payload: bytes, cancel: threading.Event, emit: Emit) -> Any:
        if not self.proc.is_alive():
            self._replace()
        job_id = next(self._ids)
        cancelled_at = None
        try:
            self._send(("run", job_id, payload))
        except OSError:
            return self._died()
        while True:
            if cancel.is_set() and cancelled_at is None:
                cancelled_at = time.monotonic()
                try:
                    self._send(("cancel", job_id))
                except OSError:
                    pass                        # it died: the sentinel says so below
            ready = multiprocessing.connection.wait([self.conn, self.proc.sentinel], timeout=0.1)
            if self.conn in ready:              # read what it sent before looking at its death
                try:
                    kind, value = pickle.loads(self.conn.recv_bytes())
                except (EOFError, OSError):
                    return self._died()
                if kind == "event":
                    emit(value)
                elif kind == "done":
                    return value
                elif kind == "error":
                    raise JobFailed(value)
                continue
            if self.proc.sentinel in ready:
                return self._died()
            if cancelled_at is not None and time.monotonic() - cancelled_at > self.backend.kill_after:
                self._replace()                 # stuck in a long step: a fresh worker, job cancelled
                return None

    def _died(self):
        self.proc.join(1.0)
        code = self.proc.exitcode
        how = ("it was killed (signal 9): often the server ran out of memory" if code == -9 else
               f"signal {-code}" if code is not None and code < 0 else
               f"exit code {code}" if code is not None else "it stopped answering")
        self._replace()
        raise WorkerDied(f"the training process stopped unexpectedly ({how}). Nothing of this "
                         "run was kept: start it again, perhaps with a smaller model.")

    def _stop_process(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self._send(("stop",))
        except OSError:
            pass
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()

    def close(self, timeout: float = 5.0) -> None:
        self._stop_process(timeout)


def settle_worker(torch_threads: int, nice: int, preload) -> None:
    """Set up a process that runs jobs (ours, or a Ray actor's): its torch threads, a priority
    `nice` below the server's, and the modules every job needs, imported once."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(torch_threads)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    set_torch_threads(torch_threads)
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _child_main(conn, torch_threads: int, nice: int, preload, grace_events: int) -> None:
    """A worker process: take a job, run it, send its events and result; until told to stop or
    the server goes away (then the pipe closes and the worker exits with it)."""
    settle_worker(torch_threads, nice, preload)
    inbox: queue.Queue = queue.Queue()
    current: dict = {}                          # job id -> its cancel Event
    share = [torch_threads]                     # the torch threads the manager last asked for

    def listen():
        while True:
            try:
                msg = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                os._exit(0)                     # the server is gone
            if msg[0] == "run":
                current.clear()
                current[msg[1]] = threading.Event()
                inbox.put(msg)
            elif msg[0] == "cancel":
                ev = current.get(msg[1])
                if ev is not None:
                    ev.set()
            elif msg[0] == "threads":
                share[0] = msg[1]               # applied by the job's own thread, between steps
            else:
                inbox.put(msg)

    threading.Thread(target=listen, name="explainer-worker-inbox", daemon=True).start()

    def send(msg) -> None:
        conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))

    def relay(event) -> None:
        set_torch_threads(share[0])             # between steps: never inside one of torch's ops
        send(("event", event))

    from ..gpt.events import failure_message
    while True:
        msg = inbox.get()
        if msg[0] == "stop":
            return
        _, job_id, payload = msg
        cancel = current.get(job_id) or threading.Event()
        try:
            fn = pickle.loads(payload)
            set_torch_threads(share[0])
            result = drive(fn, cancel, relay, grace_events)
        except BaseException as exc:  # noqa: BLE001 - one job's crash must not end the worker
            send(("error", failure_message(exc)))
            continue
        try:
            send(("done", result))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            send(("error", f"the result could not be sent back to the server: {exc}"))


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def main_script_hidden():
    """Our spawned processes (job workers, the step stopwatch) need nothing from the parent's
    `__main__` (their code lives in explainer's modules), but spawn re-runs a `__main__` that was
    started as a script path; an unguarded one would then run again in every such process:
    Streamlit's AppTest writes such scripts, and while a page runs Streamlit makes the page itself
    `__main__`. Hide its path while a process starts."""
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        path = main.__dict__.pop("__file__", None) if main is not None else None
        try:
            yield
        finally:
            if path is not None:
                main.__file__ = path
