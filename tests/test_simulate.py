"""Simulated raters fill the ratings database: rows marked 'sim:<rater>', training prompts only,
of the rater's focus."""
from explainer import corpus
from explainer import feedback as fb
from explainer.ratings import RatingsStore
from explainer.simulate import Rated, simulate
from explainer.training import drain
from feedback_fixtures import tiny  # noqa: F401  (a pytest fixture)


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

