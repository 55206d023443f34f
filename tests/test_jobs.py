"""JobManager with fake generators: no torch training, no wall-clock asserts.

The same behaviour suite runs against both backends: jobs in the server's threads and jobs in
worker processes. Jobs are held back by gates (files, so a worker process sees them too) and every
test decides exactly when each job may go on. Jobs are module-level functions bound with
functools.partial, so they pickle.
"""
import functools
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from explainer.serve.cache import OncePerKey
from explainer.serve.jobs import JobManager, JobSpec, default_max_workers
from explainer.serve.workers import ProcessBackend

WAIT = 30  # generous upper bound for a wait(); tests never assert on timing
BACKENDS = ["thread", "process"]
CONTEXT = "forkserver"   # workers forked from one clean server process: quick to start in tests
# ... which imports torch once, so that a worker does not import it again (settle_worker sets
# its threads): an import per worker made each process test seconds slower, more on a busy machine
multiprocessing.get_context(CONTEXT).set_forkserver_preload(["torch"])


class Gate:
    """threading.Event's is_set/set/wait, kept in a file so that another process sees it."""

    def __init__(self, path):
        self.path = str(path)

    def set(self):
        Path(self.path).touch()

    def is_set(self):
        return os.path.exists(self.path)

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


@pytest.fixture
def new_gate(tmp_path):
    n = iter(range(10_000))
    return lambda: Gate(tmp_path / f"gate-{next(n)}")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def jm(backend):
    managers = []

    def make(**kw):
        if backend == "process":             # no torch preload: fake jobs, quick to start
            kw["backend"] = ProcessBackend(preload=(), context=CONTEXT, kill_after=kw.pop("kill_after", 10.0),
                                           grace_events=kw.get("cancel_grace_events", 50))
        else:
            kw.pop("kill_after", None)
        m = JobManager(torch_threads=None, **kw)     # fake jobs: leave torch's threads alone
        managers.append(m)
        return m

    yield make
    for m in managers:
        m.shutdown()


# --- jobs (module level, so that they pickle) ------------------------------------------------

def _gated(cancel, *, gate, result, events, started):
    if started:
        started.set()
    while not gate.wait(0.01):
        if cancel.is_set():
            return "stopped early"
    for e in events:
        yield e
    return result


def gated(gate, result="ok", events=(1, 2, 3), started=None):
    """A job that yields `events` once the gate opens, then returns `result`."""
    return functools.partial(_gated, gate=gate, result=result, events=events, started=started)


def _spinning(cancel, *, started):
    started.set()
    i = 0
    while not cancel.is_set():
        yield i
        i += 1
        cancel.wait(0.001)
    return f"stopped after {i}"


def spinning(started):
    """A job that yields forever until cancelled, then returns what it had."""
    return functools.partial(_spinning, started=started)


def _record(cancel, *, name, log):
    with open(log, "a") as f:
        f.write(f"{name}\n")
    yield name
    return name


def _stubborn(cancel, *, started):
    started.set()
    i = 0
    while True:
        yield i
        i += 1
        cancel.wait(0.001)


def _boom(cancel):
    yield "step 1"
    raise ValueError("the corpus is empty")


def _oom(cancel):
    yield "step 1"
    raise MemoryError()


def _diverges(cancel):
    from explainer.gpt.events import Failed
    yield 1
    yield Failed("the loss became NaN: try a lower learning rate")
    return None


def _session(cancel, *, gate, owner, i):
    while not gate.wait(0.01):
        pass
    yield {"owner": owner}
    return f"model of session {i}"


def _counted(cancel, *, folder, i, gate):
    """Marks itself running in `folder`; returns how many were running when it started."""
    mark = Path(folder) / f"running-{i}"
    mark.touch()
    seen = len(list(Path(folder).glob("running-*")))
    gate.wait(WAIT)
    yield 1
    mark.unlink()
    return seen


def _many(cancel):
    from explainer.gpt.events import Eval, Step
    for s in range(5000):
        yield Step(s, train_loss=1.0, lr=1e-3, tokens_per_s=1.0, tokens_seen=s, elapsed=0.0,
                   eta=0.0, progress=s / 5000)
        if s % 500 == 0:
            yield Eval(s, val_loss=1.0, val_bpb=1.0)
    return "ok"


def _two_then_gate(cancel, *, gate):
    yield "a"
    yield "b"
    gate.wait(WAIT)
    yield "c"


def _pid_then_spin(cancel):
    yield os.getpid()
    while not cancel.is_set():
        cancel.wait(0.01)
    return "stopped"


def _pid(cancel):
    yield os.getpid()
    return "fine"


def _stuck(cancel, *, started):
    """Ignores its cancel Event inside one long step (yields nothing): only a kill stops it."""
    started.set()
    yield "started"
    while True:
        time.sleep(0.05)


# --- the behaviour suite, on both backends ---------------------------------------------------

def test_runs_a_job_and_keeps_events_and_result(jm, new_gate):
    m = jm(max_workers=1)
    gate = new_gate()
    job = m.submit("alice", "count", gated(gate, events=("a", "b"), result=42))
    v = m.get(job)
    assert v.owner == "alice" and v.label == "count" and v.state in ("queued", "running")
    gate.set()
    v = m.wait(job, WAIT)
    assert v.state == "done" and v.events == ["a", "b"] and v.result == 42
    assert v.error is None and v.n_events == 2 and v.ended
    assert v.created <= v.started <= v.finished


def test_queue_positions_and_fifo_order(jm, new_gate, tmp_path):
    m = jm(max_workers=1)
    gate, started = new_gate(), new_gate()
    log = tmp_path / "order.txt"

    def record(name):
        return functools.partial(_record, name=name, log=str(log))

    first = m.submit("o0", "first", gated(gate, started=started))
    assert started.wait(WAIT)
    queued = [m.submit(f"o{i}", f"job {i}", record(i)) for i in range(1, 5)]
    assert m.get(first).state == "running" and m.get(first).queue_position is None
    assert [m.get(j).queue_position for j in queued] == [1, 2, 3, 4]
    assert all(m.get(j).state == "queued" for j in queued)
    gate.set()
    for j in queued:
        assert m.wait(j, WAIT).state == "done"
    assert log.read_text().split() == ["1", "2", "3", "4"]


def test_cancel_a_queued_job_removes_it_and_moves_the_others_up(jm, new_gate):
    m = jm(max_workers=1)
    gate, started = new_gate(), new_gate()
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


def test_cancel_a_running_job_sets_its_event_and_ends_cancelled(jm, new_gate):
    m = jm(max_workers=1)
    started = new_gate()
    job = m.submit("a", "spin", spinning(started))
    assert started.wait(WAIT)
    assert m.cancel(job) is True
    v = m.wait(job, WAIT)
    assert v.state == "cancelled"
    assert v.result.startswith("stopped after")   # a job that stops cleanly keeps its result
    assert v.error is None


def test_a_job_that_ignores_cancel_is_closed(jm, new_gate):
    m = jm(max_workers=1, cancel_grace_events=5)
    started = new_gate()
    job = m.submit("a", "stubborn", functools.partial(_stubborn, started=started))
    assert started.wait(WAIT)
    m.cancel(job)
    assert m.wait(job, WAIT).state == "cancelled"


def test_failure_is_isolated_and_has_a_clear_message(jm, new_gate):
    m = jm(max_workers=2)
    gate = new_gate(); gate.set()
    bad, worse = m.submit("a", "boom", _boom), m.submit("b", "oom", _oom)
    good = [m.submit(f"c{i}", "fine", gated(gate, result=i)) for i in range(4)]
    v = m.wait(bad, WAIT)
    assert v.state == "failed" and "the corpus is empty" in v.error and v.events == ["step 1"]
    assert v.result is None
    v = m.wait(worse, WAIT)
    assert v.state == "failed" and v.error.startswith("ran out of memory")
    assert [m.wait(j, WAIT).result for j in good] == [0, 1, 2, 3]


def test_a_failed_event_marks_the_job_failed(jm):
    m = jm(max_workers=1)
    v = m.wait(m.submit("a", "nan", _diverges), WAIT)
    assert v.state == "failed" and "NaN" in v.error


def test_owner_isolation_twenty_owners_at_once(jm, new_gate):
    m = jm(max_workers=2)
    gate = new_gate()
    ids, barrier = {}, threading.Barrier(20)

    def session(i):
        barrier.wait()
        owner = f"session-{i}"
        ids[owner] = m.submit(owner, "train", functools.partial(_session, gate=gate, owner=owner, i=i))

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


def test_max_workers_is_respected(jm, new_gate, tmp_path):
    m = jm(max_workers=3)
    gate = new_gate()
    jobs = [m.submit(f"o{i}", "x", functools.partial(_counted, folder=str(tmp_path), i=i, gate=gate))
            for i in range(8)]
    for _ in range(3000):     # wait until 3 run together (only possible with 3 workers)
        if len(list(tmp_path.glob("running-*"))) == 3 and m.stats()["running"] == 3:
            break
        time.sleep(0.01)
    assert sum(m.get(j).state == "running" for j in jobs) == 3
    assert sum(m.get(j).state == "queued" for j in jobs) == 5
    gate.set()
    peak = max(m.wait(j, WAIT).result for j in jobs)
    assert all(m.get(j).state == "done" for j in jobs)
    assert peak == 3


def test_max_workers_from_env(monkeypatch):
    monkeypatch.setenv("EXPLAINER_MAX_JOBS", "3")
    assert default_max_workers() == 3
    monkeypatch.setenv("EXPLAINER_MAX_JOBS", "zero")
    with pytest.raises(ValueError, match="EXPLAINER_MAX_JOBS"):
        default_max_workers()
    monkeypatch.delenv("EXPLAINER_MAX_JOBS")
    assert default_max_workers() >= 1


def test_step_events_are_thinned_but_rare_events_kept(jm):
    from explainer.gpt.events import Eval, Step
    m = jm(max_workers=1, max_step_events=100)
    v = m.wait(m.submit("a", "many", _many), WAIT)
    steps = [e.step for e in v.events if isinstance(e, Step)]
    evals = [e.step for e in v.events if isinstance(e, Eval)]
    assert len(steps) <= 100 and steps[0] == 0 and steps[-1] == 4999
    assert steps == sorted(steps)
    assert evals == list(range(0, 5000, 500))
    assert v.n_events == 5010


def test_events_since_is_incremental(jm, new_gate):
    gate = new_gate()
    m = jm(max_workers=1)
    job = m.submit("a", "x", functools.partial(_two_then_gate, gate=gate))
    while m.get(job).n_events < 2:
        m.wait(job, 0.01)
    got, n = m.events_since(job, 0)
    assert got == ["a", "b"] and n == 2
    assert m.get(job).state == "running"   # events stream while the job runs, not only at the end
    gate.set()
    m.wait(job, WAIT)
    got, n = m.events_since(job, n)
    assert got == ["c"] and n == 3
    assert m.events_since("nope", 0) == ([], 0)


def test_ended_jobs_are_evicted(jm, new_gate):
    m = jm(max_workers=1, ttl_seconds=0.0, keep_ended_per_owner=5)
    gate = new_gate(); gate.set()
    job = m.submit("a", "x", gated(gate))
    m.wait(job, WAIT)
    m.jobs_for("a")                 # eviction runs on the next call that lists jobs
    assert m.get(job) is None


def test_only_a_few_ended_jobs_per_owner_are_kept(jm, new_gate):
    m = jm(max_workers=1, keep_ended_per_owner=2)
    gate = new_gate(); gate.set()
    jobs = [m.submit("a", f"x{i}", gated(gate)) for i in range(4)]
    for j in jobs:
        m.wait(j, WAIT)
    assert [v.label for v in m.jobs_for("a")] == ["x2", "x3"]


def test_unknown_job_and_shutdown(jm, new_gate):
    m = jm(max_workers=1)
    assert m.get("no-such-job") is None and m.cancel("no-such-job") is False
    gate, started = new_gate(), new_gate()
    running = m.submit("a", "r", gated(gate, started=started))
    assert started.wait(WAIT)
    queued = m.submit("a", "q", gated(gate))
    m.shutdown()
    assert m.get(queued).state == "cancelled"
    assert m.get(running).state == "cancelled"
    with pytest.raises(RuntimeError):
        m.submit("a", "late", gated(gate))


def test_cancel_frees_the_worker_for_the_next_job(jm, new_gate):
    m = jm(max_workers=1)
    started = new_gate()
    job = m.submit("a", "spin", spinning(started))
    after = m.submit("b", "next", _pid)
    assert started.wait(WAIT)
    m.cancel(job)
    assert m.wait(job, WAIT).state == "cancelled"
    assert m.wait(after, WAIT).state == "done"


def test_a_job_spec_reports_its_estimate_and_its_result_to_the_server(jm):
    got = []
    m = jm(max_workers=1)
    spec = JobSpec(_pid, expected_seconds=12.5, on_result=got.append)
    job = m.submit("a", "spec", spec)
    v = m.wait(job, WAIT)
    assert v.state == "done" and v.expected_seconds == 12.5 and got == ["fine"]
    assert [a.id for a in m.active()] == []


def _refuse(result):
    raise OSError(28, "No space left on device")


def test_a_result_the_server_cannot_keep_is_reported_not_swallowed(jm):
    """on_result stores what the job returned (simulated ratings into the server's database): if
    that fails, the finished job says so, keeping its result, instead of losing it quietly."""
    m = jm(max_workers=1)
    v = m.wait(m.submit("a", "spec", JobSpec(_pid, on_result=_refuse)), WAIT)
    assert v.state == "done" and v.result == "fine"
    assert v.error.startswith("finished, but keeping its result failed: ") and "No space left" in v.error


def test_active_lists_running_then_queued_jobs_of_every_owner(jm, new_gate):
    m = jm(max_workers=1)
    gate, started = new_gate(), new_gate()
    first = m.submit("a", "first", gated(gate, started=started))
    assert started.wait(WAIT)
    second = m.submit("b", "second", JobSpec(_pid, expected_seconds=3.0))
    assert [(v.id, v.state) for v in m.active()] == [(first, "running"), (second, "queued")]
    assert m.active()[1].expected_seconds == 3.0
    gate.set()
    m.wait(second, WAIT)


# --- worker processes only -------------------------------------------------------------------

@pytest.fixture
def pool():
    managers = []

    def make(**kw):
        m = JobManager(torch_threads=None, backend=ProcessBackend(preload=(), context=CONTEXT, **kw),
                       max_workers=1)
        managers.append(m)
        return m
    yield make
    for m in managers:
        m.shutdown()


def test_a_killed_worker_fails_its_job_clearly_and_is_replaced(pool):
    m = pool()
    job = m.submit("a", "doomed", _pid_then_spin)
    while m.get(job).n_events < 1:
        m.wait(job, 0.05)
    pid = m.get(job).events[0]
    assert pid != os.getpid()                            # it really runs in another process
    os.kill(pid, signal.SIGKILL)
    v = m.wait(job, WAIT)
    assert v.state == "failed" and "the training process stopped unexpectedly" in v.error
    assert "signal 9" in v.error
    v = m.wait(m.submit("a", "after", _pid), WAIT)        # the pool has a fresh worker
    assert v.state == "done" and v.result == "fine" and v.events[0] not in (pid, os.getpid())


def test_a_server_that_exits_starts_no_new_worker(pool, monkeypatch):
    """At the interpreter's end multiprocessing terminates the daemonic workers; the running job's
    worker must not be replaced then (a process spawned by a parent that is going away printed
    'EOFError: Ran out of input' in the server's log whenever it was stopped during a training)."""
    m = pool()
    job = m.submit("a", "long", _pid_then_spin)
    while m.get(job).n_events < 1:
        m.wait(job, 0.05)
    pid = m.get(job).events[0]
    before = {p.pid for p in multiprocessing.active_children()}     # other tests' processes too
    monkeypatch.setattr(multiprocessing.util, "_exiting", True)     # what is_exiting() reads
    os.kill(pid, signal.SIGTERM)                                     # as the exit's terminate() does
    assert m.wait(job, WAIT).state == "failed"
    assert [p for p in multiprocessing.active_children() if p.pid not in before] == []


def test_a_worker_stuck_after_cancel_is_killed_and_replaced(pool, new_gate):
    m = pool(kill_after=0.5)
    started = new_gate()
    job = m.submit("a", "stuck", functools.partial(_stuck, started=started))
    assert started.wait(WAIT)
    m.cancel(job)
    assert m.wait(job, WAIT).state == "cancelled"
    assert m.wait(m.submit("a", "after", _pid), WAIT).state == "done"


def test_a_closure_cannot_go_to_a_process_and_says_so(pool):
    m = pool()

    def closure(cancel):
        yield 1
    with pytest.raises(TypeError, match="picklable"):
        m.submit("a", "closure", closure)


def test_workers_run_at_lower_priority_with_one_torch_thread(pool):
    m = pool()
    v = m.wait(m.submit("a", "nice", _niceness), WAIT)
    assert v.state == "done"
    assert v.result["nice"] > os.nice(0) and v.result["omp"] == "1"


def _niceness(cancel):
    yield 1
    return {"nice": os.nice(0), "omp": os.environ.get("OMP_NUM_THREADS")}


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

    from explainer.serve import jobs
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert doctest.testmod(jobs).failed == 0
    finally:
        torch.set_num_threads(before)


def test_our_own_errors_read_without_a_class_name():
    from explainer.corpus import CorpusError
    from explainer.gpt.events import failure_message
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


# --- the app's real jobs travel to a worker process -------------------------------------------

def test_a_real_tiny_pretraining_runs_in_a_worker_process_and_streams_its_events():
    from explainer.corpus import get_corpus
    from explainer.gpt.events import Finished, Step
    from explainer.gpt.paramfile import ROOT, read_metadata
    from explainer.serve import runs

    text = get_corpus("everyday").text
    for key in [k for k in runs._step_seconds if k[0] == "tiny"]:
        runs._step_seconds.pop(key)
    job = runs.pretrain_job(text, corpus_name="Everyday English", preset_name="tiny", steps=20,
                            seed=3, candidates=("night",))
    m = JobManager(max_workers=1, torch_threads=None,
                   backend=ProcessBackend(context=CONTEXT, preload=("explainer.gpt.training",)))
    try:
        jid = m.submit("a", "tiny", job)
        seen_running = 0
        while not (v := m.get(jid)).ended:
            seen_running = max(seen_running, sum(isinstance(e, Step) for e in v.events))
            m.wait(jid, 0.05)
        assert v.state == "done", v.error
        assert seen_running > 0                # steps arrived while it ran, not only at the end
        assert isinstance(v.events[-1], Finished) and v.result.facts["seed"] == 3
        assert v.result.facts["steps"] == 20 and v.result.tokenizer.n_vocab > 256
        shipped = read_metadata(ROOT / "models" / "base.safetensors")["facts"]
        assert [k for k in v.result.facts if k != "name"] == list(shipped)   # the same model card
        per_step, how = runs.seconds_per_step("tiny", job.kwargs["spec"].batch_size)
        assert how.startswith("from the latest training")      # on_result ran in this process
        assert runs.known_tokenizer(text) is not None
    finally:
        m.shutdown()


def test_the_pages_other_jobs_pickle():
    import pickle

    from explainer.gpt import paramfile
    from explainer.phases import feedback, sft
    from explainer.serve import runs

    base = paramfile.load_model(paramfile.models_dir() / "base.safetensors")
    for job in (runs.timed_job(runs.sft_job(base, [], sft.SFTSpec(steps=10)), "small", sft.SFTSpec.batch_size),
                runs.feedback_job(base, [], feedback.FeedbackSpec()),
                runs.simulate_job("/tmp/x.sqlite", base, "helpful", 4)):
        back = pickle.loads(pickle.dumps(job))
        assert back.fn is job.fn and back.on_result is None


# --- estimates under load (synthetic numbers) --------------------------------------------------

def _steps(seconds_per_step, n_total):
    """Step events of a run whose i-th step takes seconds_per_step(i) seconds."""
    from explainer.gpt.events import Step
    t, out = 0.0, []
    for i in range(1, n_total + 1):
        t += seconds_per_step(i)
        out.append(Step(i, 1.0, 1e-3, 1.0, i, elapsed=t, eta=t / i * (n_total - i), progress=i / n_total))
    return out


def test_wait_is_simulated_over_the_workers():
    from explainer.serve.runs import wait_seconds
    assert wait_seconds([], [], 2) == 0.0                       # a free worker
    assert wait_seconds([60], [], 2) == 0.0
    assert wait_seconds([60, 100], [], 2) == 60.0               # the first to end
    assert wait_seconds([60, 100], [200, 50], 2) == 150.0       # 200 at 60 s, 50 at 100 s
    assert wait_seconds([60, 100], [200], 1) == 260.0           # one worker: all in a row


def test_time_left_follows_a_run_that_slows_down_and_is_smooth():
    from explainer.serve.progress import smoothed_eta
    n = 400
    slows = lambda i: 0.1 if i <= 200 else 0.3                  # another training starts at 50%
    events = _steps(slows, n)
    at = 300                                                     # 100 slow steps in (30 s)
    truth = (n - at) * 0.3
    smooth = smoothed_eta(events[:at])
    average = events[at - 1].eta                                 # the whole-run average
    assert abs(smooth - truth) / truth < 0.3
    assert abs(smooth - truth) < abs(average - truth)
    # smooth: one slow step (an evaluation) moves the line by little
    bump = _steps(lambda i: 2.0 if i == 100 else 0.1, n)
    before, after = smoothed_eta(bump[:99]), smoothed_eta(bump[:100])
    assert after / before < 1.5
    # thinning (every other event dropped) does not change the figure much
    assert abs(smoothed_eta(events[:at][::2] + [events[at - 1]]) - smooth) / smooth < 0.1


def _steps_then_gate(cancel, *, events, gate):
    yield from events
    gate.wait(WAIT)


def test_queue_wait_counts_running_and_waiting_jobs(new_gate):
    from explainer.serve.runs import queue_wait
    gate = new_gate()
    m = JobManager(max_workers=2, torch_threads=None)
    try:
        steady = _steps(lambda i: 0.5, 200)                   # 1 s per 1% of progress
        a = m.submit("a", "a", functools.partial(_steps_then_gate, events=steady[:100], gate=gate))
        b = m.submit("b", "b", functools.partial(_steps_then_gate, events=steady[:50], gate=gate))
        c = m.submit("c", "c", JobSpec(_pid, expected_seconds=30.0))
        while m.get(a).n_events < 100 or m.get(b).n_events < 50:
            m.wait(a, 0.01)
        # running: a has 50 s left, b 75 s; c (30 s) takes a's worker at 50 s and ends at 80 s
        wait, ahead = queue_wait(m)
        assert ahead == 3 and wait == pytest.approx(75.0, rel=0.02)
        assert queue_wait(m, c) == (pytest.approx(50.0, rel=0.02), 2)
        assert queue_wait(m, a) == (0.0, 0)
    finally:
        gate.set()
        m.shutdown()
