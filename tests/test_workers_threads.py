"""Threads follow the queue: a lone job in a worker process gets every core's torch thread, two
running jobs share them, and the survivor gets them back. No wall-clock asserts: each test waits
(up to a generous bound) for the state it expects."""
import functools
import os
import time

import pytest

from explainer.serve.jobs import JobManager
from explainer.serve.workers import ProcessBackend, share_cores

WAIT = 300   # a bound for a busy machine (a worker imports torch first), not a timing assert


def test_a_lone_job_gets_every_core_and_jobs_share_them_evenly():
    assert share_cores(2, 1) == [2]
    assert share_cores(2, 2) == [1, 1]
    assert share_cores(4, 3) == [2, 1, 1]           # the earliest started gets the spare core
    assert share_cores(8, 3) == [3, 3, 2]
    assert sum(share_cores(6, 4)) == 6


def test_never_fewer_than_one_thread_even_with_more_jobs_than_cores():
    assert share_cores(2, 3) == [1, 1, 1]
    assert share_cores(1, 1) == [1]
    assert share_cores(0, 1) == [1]                 # an unknown core count still runs the job
    assert share_cores(4, 0) == []


def _report_threads(cancel, *, stop):
    """Yields torch's thread count between 'steps' until the file `stop` exists."""
    import torch
    while not os.path.exists(stop) and not cancel.is_set():
        yield torch.get_num_threads()
        cancel.wait(0.01)
    return "stopped"


@pytest.fixture
def two_workers():
    m = JobManager(max_workers=2, torch_threads=None,
                   backend=ProcessBackend(preload=(), context="forkserver", cores=2))
    yield m
    m.shutdown()


def wait_for(m, job, value):
    """Wait until the job's latest event is `value`; returns what it last was."""
    deadline = time.monotonic() + WAIT
    last = None
    while time.monotonic() < deadline:
        v = m.get(job)
        last = v.events[-1] if v.events else None
        if last == value or v.ended:
            return last
        m.wait(job, 0.02)
    return last


def test_threads_follow_the_queue_in_worker_processes(two_workers, tmp_path):
    m = two_workers
    stop_a, stop_b = tmp_path / "a", tmp_path / "b"
    a = m.submit("alice", "a", functools.partial(_report_threads, stop=str(stop_a)))
    assert wait_for(m, a, 2) == 2                   # alone: both cores
    b = m.submit("bob", "b", functools.partial(_report_threads, stop=str(stop_b)))
    assert wait_for(m, a, 1) == 1                   # two running: one each
    assert wait_for(m, b, 1) == 1
    stop_b.touch()
    assert m.wait(b, WAIT).state == "done"
    assert wait_for(m, a, 2) == 2                   # alone again: both cores back
    stop_a.touch()
    assert m.wait(a, WAIT).state == "done"


def test_a_thread_backend_leaves_the_servers_threads_alone():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    m = JobManager(max_workers=2, torch_threads=1, backend="thread")
    try:
        v = m.wait(m.submit("a", "threads", lambda cancel: iter([torch.get_num_threads()])), WAIT)
        assert v.events == [1] and torch.get_num_threads() == 1
    finally:
        m.shutdown()
        torch.set_num_threads(before)
