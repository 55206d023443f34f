"""A job's events summarized for the pages (explainer/serve/progress.py)."""
import doctest

from explainer.serve import progress


def test_doctests():
    assert doctest.testmod(progress).failed == 0


def test_summarize_events_in_order():
    from explainer.gpt.scoring import CandidateScore, Ranking
    from explainer.gpt.training import (
        Eval,
        Finished,
        RankSnapshot,
        Sample,
        Started,
        Step,
    )
    from explainer.phases.pretrain import Status
    from explainer.serve.progress import summarize

    def ranking(p):
        return Ranking("A flash flood watch will be in effect all", [(" night", 5, p)],
                       [CandidateScore("night", p, 1)], 10, False)

    events = [Status("Learning a vocabulary"), Started(100, 1000, 2048, None), Eval(0, 7.6, 3.1),
              Sample(0, "gibberish"), RankSnapshot(0, ranking(0.001)),
              Step(1, 7.5, 1e-3, 5000.0, 2048, 0.4, 40.0, 0.01),
              Step(2, 7.2, 1e-3, 5100.0, 4096, 0.8, 39.0, 0.02), RankSnapshot(2, ranking(0.2)),
              Finished(2, "cancelled", 7.0, 2.9, 0.9, 4096)]
    s = summarize(events[:2])
    assert s.total_steps == 100 and s.status is None
    assert summarize(events[:1]).status == "Learning a vocabulary"
    s = summarize(events)
    assert s.train_loss == ([1, 2], [7.5, 7.2]) and s.val_loss == ([0], [7.6])
    assert s.candidate_steps == [0, 2] and s.candidate_probs == {"night": [0.001, 0.2]}
    assert s.samples == [(0, "gibberish")] and s.finished.reason == "cancelled"
    assert s.progress == 0.02                                  # stopped: the share it reached
    assert summarize(events[:-1] + [Finished(2, "done", 7.0, 2.9, 0.9, 4096)]).progress == 1.0
