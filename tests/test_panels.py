"""The page pieces of explainer/app/panels.py that are plain functions."""
import doctest

from explainer.app import panels


def test_doctests():
    assert doctest.testmod(panels).failed == 0


def test_progress_line_for_each_way_a_run_ends():
    from types import SimpleNamespace as NS

    from explainer.app.panels import progress_line
    s = NS(total_steps=200, step=50, progress=0.25, eta=30.0, finished=None)
    assert progress_line("running", s) == (0.25, "Step 50 of 200 · about 30 s left")
    assert progress_line("failed", s) == (0.25, "Step 50 of 200 · stopped by a problem")
    s.finished = NS(reason="cancelled")                           # summarize() leaves the share reached
    assert progress_line("cancelled", s) == (0.25, "Step 50 of 200 · stopped")
    s.step, s.finished = 200, NS(reason="done")
    assert progress_line("done", s) == (1.0, "Step 200 of 200 · done")
