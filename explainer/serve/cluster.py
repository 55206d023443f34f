"""Trainings on a Ray cluster: the job manager's third backend, for a lab of machines.

On one 2-core server a workshop's trainings queue. With `EXPLAINER_RAY_ADDRESS` set (`auto` when
the server runs on the Ray head machine, `host:6379`, or `ray://host:10001`) the JobManager
(jobs.py) keeps its queue, events, positions and cancel as with the other backends (workers.py),
but each of its workers is a Ray actor (https://docs.ray.io/en/latest/ray-core/actors.html): one
core and one torch thread on whichever machine of the cluster has one free. The actor runs the
job's generator as a streaming generator (ray-core/ray-generator.html), so every event travels
back while the job runs; the result (a LoadedModel) comes back to the server that asked, whose
models folder and `on_result` hook get it as before.

    jm = JobManager(backend="ray")               # or EXPLAINER_RAY_ADDRESS=auto make run
    jm.submit(owner, label, runs.pretrain_job(...))

Ray is an optional extra (`make cluster`); nothing imports it until a RayBackend is made.
Measured in docs/cluster.md.
"""
from __future__ import annotations

import itertools
import os
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..gpt.events import Status, failure_message
from . import workers
from .workers import Emit, JobFailed, WorkerDied

ADDRESS_ENV = "EXPLAINER_RAY_ADDRESS"
INSTALL_HINT = ("trainings on a Ray cluster need Ray, an optional extra: run `make cluster` (or "
                "`pip install -e \".[cluster]\"`), or unset EXPLAINER_RAY_ADDRESS and "
                "EXPLAINER_JOBS=ray to train on this server alone")


class ClusterError(RuntimeError):
    """Ray is missing or the cluster cannot be reached; the message says what to do."""


def require_ray():
    """The `ray` module, or a ClusterError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return ray


def connect(address: str | None = None, **init):
    """Join the Ray cluster at `address` (default: env EXPLAINER_RAY_ADDRESS, else "auto": the
    cluster started on this machine by `ray start --head`; "local" starts one for this process,
    `init` passes e.g. num_cpus=2 to ray.init). A process already connected stays on its cluster.
    The server's `explainer` package travels to the cluster's workers (Ray's py_modules), so the
    worker machines need Ray, torch and the other dependencies, not this checkout. Returns `ray`."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get(ADDRESS_ENV, "").strip() or "auto"
    # Ray's usage statistics (sent to usage-stats.ray.io) off for a head this process starts
    # ("local"; Ray's release wheels switch them off there too, nightly ones do not). A head of
    # `ray start` decides for its cluster: --disable-usage-stats (README, Many machines).
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    package = {"py_modules": [str(Path(__file__).resolve().parents[1])], "excludes": ["__pycache__"]}
    try:
        ray.init(address=None if address == "local" else address, namespace="explainer",
                 log_to_driver=False, runtime_env=package, **init)
    except Exception as e:  # noqa: BLE001 - ConnectionError, ValueError, RuntimeError, grpc's ...
        raise ClusterError(f"could not join the Ray cluster at {address!r}: {failure_message(e)}. "
                           "Is it started (`ray start --head` on the head machine; README, Many "
                           "machines)?") from None
    return ray


# ---------------------------------------------------------------------------------------------
# On a machine of the cluster: the actor that runs one job at a time


@dataclass
class Done:
    """The last item a job's stream yields when it ended: its return value."""
    result: Any


@dataclass
class Error:
    """The last item a job's stream yields when it raised: the message for people."""
    message: str


class JobRunner:
    """A Ray actor (made with ray.remote in RayBackend): run a job, yield its events, then Done or
    Error. Two calls may run at once (max_concurrency=2), so `cancel` reaches a running `run`."""

    def __init__(self, torch_threads: int, nice: int, preload: tuple[str, ...]):
        workers.settle_worker(torch_threads, nice, preload)
        self._lock = threading.Lock()
        self._cancels: dict[int, threading.Event] = {}

    def ready(self) -> tuple[int, str]:
        """(pid, node address): answered once the actor is up."""
        import ray
        return os.getpid(), ray.util.get_node_ip_address()

    def _event(self, job_id: int) -> threading.Event:
        with self._lock:                # `cancel` may arrive before `run` starts
            return self._cancels.setdefault(job_id, threading.Event())

    def cancel(self, job_id: int) -> None:
        self._event(job_id).set()

    def run(self, job_id: int, payload: bytes, grace_events: int):
        cancel = self._event(job_id)
        try:
            result = yield from workers.job_events(pickle.loads(payload), cancel, grace_events)
            yield Done(result)
        except Exception as exc:  # noqa: BLE001 - one job's crash must not end the worker
            yield Error(failure_message(exc))
        finally:
            with self._lock:
                self._cancels.pop(job_id, None)


# ---------------------------------------------------------------------------------------------
# In the server: one RayWorker per slot of the JobManager, each driving one actor


class RayBackend:
    """Jobs run in Ray actors, one core each, anywhere on the cluster at `address`.

    kill_after:    seconds a cancelled job may take to stop before its actor is killed (the next
                   job gets a fresh one)
    start_timeout: seconds to wait for a free core when an actor starts; then the job fails
    """
    name = "ray"

    def __init__(self, address: str | None = None, *, torch_threads: int = 1, nice: int = 10,
                 kill_after: float = 10.0, start_timeout: float = 180.0,
                 preload: tuple[str, ...] = ("explainer.gpt.training",), grace_events: int = 50):
        self.ray = connect(address)
        self.torch_threads, self.nice, self.preload = torch_threads, nice, tuple(preload)
        self.kill_after, self.start_timeout, self.grace_events = kill_after, start_timeout, grace_events
        self.actor_class = self.ray.remote(JobRunner).options(
            num_cpus=1, max_restarts=0, max_task_retries=0, max_concurrency=2,
            scheduling_strategy="SPREAD")
        self.workers: list[RayWorker] = []

    def default_workers(self) -> int:
        """Jobs at the same time: the cluster's cores now (start the workers before the server)."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def prepare(self, fn) -> bytes:
        return workers.pack(fn)

    def worker(self, i: int) -> RayWorker:
        w = RayWorker(self, i)
        self.workers.append(w)
        return w


class RayWorker:
    """The server's side of one actor: starts it at the first job, relays each job's stream."""

    def __init__(self, backend: RayBackend, i: int):
        self.backend, self.i = backend, i
        self.ray = backend.ray
        self.actor = None
        self.pid: int | None = None          # the actor's process and machine, once started
        self.node: str | None = None
        self.busy = False
        self.restarts = 0
        self._ids = itertools.count(1)

    def _start(self, emit: Emit) -> None:
        ray, b = self.ray, self.backend
        emit(Status("Starting a training worker on the Ray cluster ..."))
        actor = b.actor_class.remote(b.torch_threads, b.nice, b.preload)
        try:
            self.pid, self.node = ray.get(actor.ready.remote(), timeout=b.start_timeout)
        except ray.exceptions.GetTimeoutError:
            ray.kill(actor)
            cores = int(ray.cluster_resources().get("CPU", 0))
            raise JobFailed(f"no machine of the Ray cluster had a free core for this training "
                            f"within {b.start_timeout:.0f} s ({cores} cores in all). Start it "
                            "again in a moment, or start more workers (README).") from None
        except ray.exceptions.RayError as e:
            ray.kill(actor)
            raise JobFailed(f"a training worker could not start on the Ray cluster: {e}") from None
        self.actor = actor

    def _kill(self) -> None:
        if self.actor is not None:
            try:
                self.ray.kill(self.actor)
            except Exception:  # noqa: BLE001 - already dead
                pass
        self.actor, self.pid, self.node = None, None, None

    def run(self, payload: bytes, cancel: threading.Event, emit: Emit) -> Any:
        self.busy = True
        try:
            return self._run(payload, cancel, emit)
        finally:
            self.busy = False

    def _run(self, payload: bytes, cancel: threading.Event, emit: Emit) -> Any:
        ray = self.ray
        if self.actor is None:
            self._start(emit)
        job_id = next(self._ids)
        stream = self.actor.run.options(num_returns="streaming").remote(
            job_id, payload, self.backend.grace_events)
        cancelled_at = None
        while True:
            if cancel.is_set() and cancelled_at is None:
                cancelled_at = time.monotonic()
                self.actor.cancel.remote(job_id)
            if cancelled_at is not None and time.monotonic() - cancelled_at > self.backend.kill_after:
                self._kill()                    # stuck in a long step: the next job gets a new one
                return None
            try:
                ready, _ = ray.wait([stream], timeout=0.1)
                if not ready:
                    continue
                item = ray.get(next(stream))
            except StopIteration:
                return self._died("it ended without a result")
            except ray.exceptions.RayActorError as e:
                return self._died(_why(e))
            except ray.exceptions.RayError as e:    # the object or the connection was lost
                return self._died(failure_message(e).splitlines()[0])
            if isinstance(item, Done):
                return item.result
            if isinstance(item, Error):
                raise JobFailed(item.message)
            emit(item)

    def _died(self, why: str):
        where = f" ({self.node})" if self.node else ""
        self._kill()
        self.restarts += 1
        raise WorkerDied(f"the training's worker on the Ray cluster{where} stopped unexpectedly "
                         f"({why}). Nothing of this run was kept: start it again, perhaps with a "
                         "smaller model.")

    def close(self, timeout: float = 0.0) -> None:
        self._kill()


def _why(exc: BaseException) -> str:
    """Ray's long account of an actor's death, in a few words (Ray's own text also lists the
    out-of-memory killer among the usual causes of any death, so it cannot tell us which)."""
    text = str(exc).lower()
    if "its node has died" in text or "node has been marked dead" in text:
        return "its machine left the cluster"
    return "its process was killed or crashed, perhaps out of memory"
