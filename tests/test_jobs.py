"""JobManager with fake generators: no torch training, no wall-clock asserts.

Jobs are held back by Events ("gates") so every test decides exactly when each job may go on.
"""
import threading
import time

import pytest

from explainer.jobs import JobManager, OncePerKey, default_max_workers

WAIT = 30  # generous upper bound for a wait(); tests never assert on timing


@pytest.fixture
def jm():
    managers = []

    def make(**kw):
        m = JobManager(torch_threads=None, **kw)     # fake jobs: leave torch's threads alone
        managers.append(m)
        return m

    yield make
    for m in managers:
        m.shutdown()


def gated(gate: threading.Event, result="ok", events=(1, 2, 3), started: threading.Event | None = None):
    """A job that yields `events` once the gate opens, then returns `result`."""
    def fn(cancel):
        if started:
            started.set()
        while not gate.wait(0.01):
            if cancel.is_set():
                return "stopped early"
        for e in events:
            yield e
        return result
    return fn


def spinning(started: threading.Event):
    """A job that yields forever until cancelled, then returns what it had."""
    def fn(cancel):
        started.set()
        i = 0
        while not cancel.is_set():
            yield i
            i += 1
            cancel.wait(0.001)
        return f"stopped after {i}"
    return fn


def test_runs_a_job_and_keeps_events_and_result(jm):
    m = jm(max_workers=1)
    gate = threading.Event()
    job = m.submit("alice", "count", gated(gate, events=("a", "b"), result=42))
    v = m.get(job)
    assert v.owner == "alice" and v.label == "count" and v.state in ("queued", "running")
    gate.set()
    v = m.wait(job, WAIT)
    assert v.state == "done" and v.events == ["a", "b"] and v.result == 42
    assert v.error is None and v.n_events == 2 and v.ended
    assert v.created <= v.started <= v.finished


def test_queue_positions_and_fifo_order(jm):
    m = jm(max_workers=1)
    gate, started = threading.Event(), threading.Event()
    order = []

    def record(name):
        def fn(cancel):
            order.append(name)
            yield name
            return name
        return fn

    first = m.submit("o0", "first", gated(gate, started=started))
    assert started.wait(WAIT)
    queued = [m.submit(f"o{i}", f"job {i}", record(i)) for i in range(1, 5)]
    assert m.get(first).state == "running" and m.get(first).queue_position is None
    assert [m.get(j).queue_position for j in queued] == [1, 2, 3, 4]
    assert all(m.get(j).state == "queued" for j in queued)
    gate.set()
    for j in queued:
        assert m.wait(j, WAIT).state == "done"
    assert order == [1, 2, 3, 4]


def test_cancel_a_queued_job_removes_it_and_moves_the_others_up(jm):
    m = jm(max_workers=1)
    gate, started = threading.Event(), threading.Event()
    m.submit("a", "blocker", gated(gate, started=started))
    assert started.wait(WAIT)
    j1, j2, j3 = (m.submit("a", f"j{i}", gated(gate)) for i in range(3))
    assert m.cancel(j2) is True
    assert m.get(j2).state == "cancelled" and m.get(j2).events == []
    assert m.get(j3).queue_position == 2
    assert m.cancel(j2) is False            # already over
    gate.set()
    assert m.wait(j3, WAIT).state == "done"
    assert m.get(j2).started is None        # it never ran


def test_cancel_a_running_job_sets_its_event_and_ends_cancelled(jm):
    m = jm(max_workers=1)
    started = threading.Event()
    job = m.submit("a", "spin", spinning(started))
    assert started.wait(WAIT)
    assert m.cancel(job) is True
    v = m.wait(job, WAIT)
    assert v.state == "cancelled"
    assert v.result.startswith("stopped after")   # a job that stops cleanly keeps its result
    assert v.error is None


def test_a_job_that_ignores_cancel_is_closed(jm):
    m = jm(max_workers=1, cancel_grace_events=5)
    started = threading.Event()

    def stubborn(cancel):
        started.set()
        i = 0
        while True:
            yield i
            i += 1
            cancel.wait(0.001)

    job = m.submit("a", "stubborn", stubborn)
    assert started.wait(WAIT)
    m.cancel(job)
    assert m.wait(job, WAIT).state == "cancelled"


def test_failure_is_isolated_and_has_a_clear_message(jm):
    m = jm(max_workers=2)
    gate = threading.Event(); gate.set()

    def boom(cancel):
        yield "step 1"
        raise ValueError("the corpus is empty")

    def oom(cancel):
        yield "step 1"
        raise MemoryError()

    bad, worse = m.submit("a", "boom", boom), m.submit("b", "oom", oom)
    good = [m.submit(f"c{i}", "fine", gated(gate, result=i)) for i in range(4)]
    v = m.wait(bad, WAIT)
    assert v.state == "failed" and "the corpus is empty" in v.error and v.events == ["step 1"]
    assert v.result is None
    v = m.wait(worse, WAIT)
    assert v.state == "failed" and v.error.startswith("ran out of memory")
    assert [m.wait(j, WAIT).result for j in good] == [0, 1, 2, 3]


def test_a_failed_event_marks_the_job_failed(jm):
    from explainer.events import Failed

    def diverges(cancel):
        yield 1
        yield Failed("the loss became NaN: try a lower learning rate")
        return None

    m = jm(max_workers=1)
    v = m.wait(m.submit("a", "nan", diverges), WAIT)
    assert v.state == "failed" and "NaN" in v.error


def test_owner_isolation_twenty_owners_at_once(jm):
    m = jm(max_workers=2)
    gate = threading.Event()
    ids, barrier = {}, threading.Barrier(20)

    def session(i):
        barrier.wait()
        owner = f"session-{i}"

        def fn(cancel, i=i):
            while not gate.wait(0.01):
                pass
            yield {"owner": owner}
            return f"model of session {i}"
        ids[owner] = m.submit(owner, "train", fn)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(3000):     # let both workers pick their first job
        if m.stats()["running"] == 2:
            break
        threading.Event().wait(0.01)
    views = {o: m.get(j) for o, j in ids.items()}
    assert sorted(v.queue_position for v in views.values() if v.state == "queued") == list(range(1, 19))
    gate.set()
    for owner, job in ids.items():
        v = m.wait(job, WAIT)
        assert v.state == "done" and v.owner == owner
        assert v.result == f"model of session {owner.split('-')[1]}"
        assert v.events == [{"owner": owner}]
        assert [x.id for x in m.jobs_for(owner)] == [job]


def test_max_workers_is_respected(jm):
    m = jm(max_workers=3)
    lock, running, peak, gate = threading.Lock(), [0], [0], threading.Event()
    three_in = threading.Barrier(3 + 1)

    def fn(cancel):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            three_in.wait(WAIT)  # only possible once 3 run together
        except threading.BrokenBarrierError:
            pass
        gate.wait(WAIT)
        yield 1
        with lock:
            running[0] -= 1

    jobs = [m.submit(f"o{i}", "x", fn) for i in range(8)]
    three_in.wait(WAIT)
    three_in.abort()          # later jobs must not wait for partners that never come
    assert sum(m.get(j).state == "running" for j in jobs) == 3
    assert sum(m.get(j).state == "queued" for j in jobs) == 5
    gate.set()
    for j in jobs:
        assert m.wait(j, WAIT).state == "done"
    assert peak[0] == 3


def test_max_workers_from_env(monkeypatch):
    monkeypatch.setenv("EXPLAINER_MAX_JOBS", "3")
    assert default_max_workers() == 3
    monkeypatch.setenv("EXPLAINER_MAX_JOBS", "zero")
    with pytest.raises(ValueError, match="EXPLAINER_MAX_JOBS"):
        default_max_workers()
    monkeypatch.delenv("EXPLAINER_MAX_JOBS")
    assert default_max_workers() >= 1


def test_step_events_are_thinned_but_rare_events_kept(jm):
    from explainer.events import Eval, Step

    def many(cancel):
        for s in range(5000):
            yield Step(s, train_loss=1.0, lr=1e-3, tokens_per_s=1.0, tokens_seen=s, elapsed=0.0,
                       eta=0.0, progress=s / 5000)
            if s % 500 == 0:
                yield Eval(s, val_loss=1.0, val_bpb=1.0)
        return "ok"

    m = jm(max_workers=1, max_step_events=100)
    v = m.wait(m.submit("a", "many", many), WAIT)
    steps = [e.step for e in v.events if isinstance(e, Step)]
    evals = [e.step for e in v.events if isinstance(e, Eval)]
    assert len(steps) <= 100 and steps[0] == 0 and steps[-1] == 4999
    assert steps == sorted(steps)
    assert evals == list(range(0, 5000, 500))
    assert v.n_events == 5010


def test_events_since_is_incremental(jm):
    gate = threading.Event()

    def fn(cancel):
        yield "a"
        yield "b"
        gate.wait(WAIT)
        yield "c"

    m = jm(max_workers=1)
    job = m.submit("a", "x", fn)
    while m.get(job).n_events < 2:
        m.wait(job, 0.01)
    got, n = m.events_since(job, 0)
    assert got == ["a", "b"] and n == 2
    gate.set()
    m.wait(job, WAIT)
    got, n = m.events_since(job, n)
    assert got == ["c"] and n == 3
    assert m.events_since("nope", 0) == ([], 0)


def test_ended_jobs_are_evicted(jm):
    m = jm(max_workers=1, ttl_seconds=0.0, keep_ended_per_owner=5)
    gate = threading.Event(); gate.set()
    job = m.submit("a", "x", gated(gate))
    m.wait(job, WAIT)
    m.jobs_for("a")                 # eviction runs on the next call that lists jobs
    assert m.get(job) is None


def test_only_a_few_ended_jobs_per_owner_are_kept(jm):
    m = jm(max_workers=1, keep_ended_per_owner=2)
    gate = threading.Event(); gate.set()
    jobs = [m.submit("a", f"x{i}", gated(gate)) for i in range(4)]
    for j in jobs:
        m.wait(j, WAIT)
    assert [v.label for v in m.jobs_for("a")] == ["x2", "x3"]


def test_unknown_job_and_shutdown(jm):
    m = jm(max_workers=1)
    assert m.get("no-such-job") is None and m.cancel("no-such-job") is False
    gate, started = threading.Event(), threading.Event()
    running = m.submit("a", "r", gated(gate, started=started))
    assert started.wait(WAIT)
    queued = m.submit("a", "q", gated(gate))
    m.shutdown()
    assert m.get(queued).state == "cancelled"
    assert m.get(running).state == "cancelled"
    with pytest.raises(RuntimeError):
        m.submit("a", "late", gated(gate))


def test_default_manager_gives_torch_one_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    m = JobManager(max_workers=1)
    try:
        assert torch.get_num_threads() == 1
    finally:
        m.shutdown()
        torch.set_num_threads(before)


def test_module_example():
    import doctest

    from explainer import jobs
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert doctest.testmod(jobs).failed == 0
    finally:
        torch.set_num_threads(before)


def test_our_own_errors_read_without_a_class_name():
    from explainer.corpus import CorpusError
    from explainer.jobs import failure_message
    assert failure_message(CorpusError("The text is empty.")) == "The text is empty."
    assert failure_message(KeyError("x")) == "KeyError: 'x'"


def test_once_per_key_computes_once_when_twenty_threads_ask_at_once():
    once, calls, got = OncePerKey(), [], []
    start = threading.Barrier(20)

    def slow(key):
        calls.append(key)
        time.sleep(0.05)                       # long enough for all the others to arrive
        return f"value of {key}"

    def ask(i):
        start.wait()
        key = "a" if i % 2 else "b"
        got.append((key, once.compute(key, lambda: slow(key))))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == ["a", "b"]        # one count per key, not twenty
    assert len(got) == 20 and all(v == f"value of {k}" for k, v in got)
    assert "a" in once and once["b"] == "value of b" and "c" not in once
