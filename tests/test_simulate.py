"""Simulated raters fill the ratings database: rows marked 'sim:<rater>', training prompts only,
of the rater's focus."""

from explainer import corpus
from explainer.gpt.training import drain
from explainer.phases import feedback as fb
from explainer.phases.ratings import RatingsStore
from explainer.phases.simulate import Rated, simulate
from explainer.serve.jobs import JobManager
from explainer.serve.runs import simulate_job


def test_simulated_ratings_are_marked(tiny, tmp_path):
    store = RatingsStore(tmp_path / "r.sqlite")
    events = []
    n = drain(simulate(store, tiny, "safe", 10, seed=1, per_prompt=4), events.append)
    assert n == 10 and events[-1] == Rated(10, 10)
    rows = store.ratings()
    assert len(rows) == 10 and {x.rater for x in rows} == {"sim:safe"}
    assert len({x.prompt for x in rows}) == 3
    assert {x.prompt for x in rows} <= set(fb.training_prompts(0, "safety"))   # the safe rater's focus
    ins = corpus.instructions
    assert not {x.prompt for x in rows} & {p for p, _ in ins.heldout_prompts(ins.instruction_data(0), 50)}



def test_the_job_rates_in_the_worker_and_the_server_stores(tiny, tmp_path):
    """The page's job: the worker returns the rated rows (a Ray worker has no access to the
    server's disk); the server's on_result stores them in its own database."""
    path = tmp_path / "r.sqlite"
    m = JobManager(max_workers=1, torch_threads=None)
    try:
        view = m.wait(m.submit("me", "sim", simulate_job(str(path), tiny, "helpful", 6, seed=2)), 120)
    finally:
        m.shutdown()
    assert view.state == "done" and view.error is None and len(view.result) == 6
    rows = RatingsStore(path).ratings()
    assert len(rows) == 6 and {x.rater for x in rows} == {"sim:helpful"}
