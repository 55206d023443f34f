"""Step-time estimates (explainer/serve/runs.py): kept per batch size, and an old figure shown
while it is timed again."""
import doctest
import time

from explainer.serve import runs


def test_doctests():
    assert doctest.testmod(runs).failed == 0


def test_step_time_estimates_are_kept_per_batch_size(monkeypatch):
    """Pretraining (batch 32) and fine-tuning (batch 16) of one preset are timed apart: one
    shared figure made each page's estimate wrong by 2-3x after the other page's run."""
    from explainer.phases import sft
    from explainer.serve import runs
    monkeypatch.setattr(runs, "_step_seconds", {})
    runs.record_run_speed("small", 32, 100, 50.0)                   # a pretraining run: 0.5 s a step
    known = (0.5, "from the latest training of this size on this server")
    assert runs.seconds_per_step("small") == known
    seconds, how = runs.seconds_per_step("small", sft.SFTSpec.batch_size)
    assert how == "timed on this server just now" and seconds > 0     # timed, not the run above
    assert runs.seconds_per_step("small") == known


def test_step_times_are_kept_per_thread_share_and_optimizer(monkeypatch):
    """A lone run has every core, two share them; Muon's step costs more than AdamW's: a figure
    for one never stands in for the other, and the next run's share is what the queue gives it."""
    from explainer.serve import workers
    monkeypatch.setattr(runs, "_step_seconds", {})
    cores = workers.available_cores()
    runs.record_run_speed("small", 32, 100, 50.0, threads=1)
    runs.record_run_speed("small", 32, 100, 30.0, threads=cores, optimizer="adamw")
    assert runs.seconds_per_step("small", 32, 1)[0] == 0.5
    assert runs.seconds_per_step("small", 32, cores, "adamw")[0] == 0.3
    seconds, how = runs.seconds_per_step("small", 32, cores, "muon") if cores > 1 else (1, "-")
    assert cores == 1 or how == "timed on this server just now"

    class Queue:                                  # a JobManager with n trainings running
        def __init__(self, n):
            self.backend, self.max_workers = type("B", (), {"cores": 2})(), 2
            self.n = n

        def active(self):
            return [type("V", (), {"state": "running"})()] * self.n
    assert [runs.threads_for_new(Queue(n)) for n in (0, 1, 2)] == [2, 1, 1]


def held_timings(monkeypatch, seconds: float):
    """Replace the stopwatch by one that waits for `release.set()`, then records `seconds` per
    step; returns (release, the keys it was asked to time)."""
    import threading
    release, timings = threading.Event(), []

    def held_timing(*k):
        timings.append(k)
        assert release.wait(30)
        runs._step_seconds[k] = (seconds, time.time(), "timed on this server just now")
    monkeypatch.setattr(runs, "_time_steps", held_timing)
    return release, timings


def wait_until(done, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_an_old_step_time_is_shown_while_it_is_timed_again(monkeypatch):
    """After 10 minutes the step time is measured again in the background: the page run that asks
    gets the older figure at once (it used to wait seconds for the timing), and 30 asking at once
    start one timing, not 30."""
    old = (9.0, time.time() - runs._MEASURE_TTL - 1, "from the latest training of this size on this server")
    key = runs._key("tiny", 32)
    monkeypatch.setattr(runs, "_step_seconds", {key: old})
    release, timings = held_timings(monkeypatch, 0.01)
    assert [runs.seconds_per_step("tiny", 32) for _ in range(30)] == [(9.0, old[2])] * 30
    release.set()
    wait_until(lambda: runs._step_seconds[key][0] == 0.01)
    assert runs.seconds_per_step("tiny", 32) == (0.01, "timed on this server just now")
    assert timings == [key]


def test_a_page_need_not_wait_for_a_first_timing(monkeypatch):
    """wait=False (the pages' estimate): a kind of run never timed here gives None at once and is
    timed in the background, once however many pages ask; then its figure comes."""
    from explainer.serve import jobs
    key = runs._key("tiny", 32)
    monkeypatch.setattr(runs, "_step_seconds", {})
    release, timings = held_timings(monkeypatch, 0.02)
    jm = jobs.JobManager(max_workers=1, backend="thread")
    assert [runs.estimate_text(jm, "tiny", 50, 32) for _ in range(20)] == [None] * 20
    release.set()
    wait_until(lambda: runs.seconds_per_step("tiny", 32, wait=False) is not None)
    assert timings == [key]
    assert "50 steps × 0.02 s per step" in runs.estimate_text(jm, "tiny", 50, 32)


def test_the_stopwatch_process_does_not_run_the_page_again(tmp_path, monkeypatch):
    """While a page runs, Streamlit makes the page's script `__main__`; a process spawned then
    would run the page again, outside Streamlit (440 lines of warnings in the server's log, and
    the page's work done twice). The stopwatch is started with that script hidden."""
    import sys
    import types
    marker = tmp_path / "ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\n")
    as_streamlit_does = types.ModuleType("__main__")
    as_streamlit_does.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", as_streamlit_does)
    monkeypatch.setattr(runs, "_stopwatch", None)
    pool = runs._stopwatch_pool()
    try:
        assert pool.apply_async(sum, ([1, 2],)).get(120) == 3      # the process is up and working
    finally:
        pool.terminate()
    assert not marker.exists()
