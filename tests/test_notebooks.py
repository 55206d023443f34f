"""The notebooks in notebooks/: committed without outputs, each runs top to bottom on a fresh
kernel in the short setting (EXPLAINER_NB_SHORT=1), and a handout is one offline HTML page with
the figures in it. The index, tokens and context-window notebooks run in the normal suite; the
training ones are slow."""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import handouts  # noqa: E402

FAST = ("00_index", "01_tokens", "05_context_window")
ALL = [p.stem for p in handouts.notebooks()]
HANDOUT = "05_context_window"


def test_every_step_has_a_notebook():
    assert ALL == ["00_index", "01_tokens", "02_pretraining", "03_instruction_tuning",
                   "04_human_feedback", "05_context_window", "06_two_files"]


@pytest.mark.parametrize("name", ALL)
def test_committed_without_outputs(name):
    book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code
    assert [c.execution_count for c in code if c.execution_count is not None] == []
    assert [c.outputs for c in code if c.outputs] == []
    assert "widgets" not in book.metadata


def test_notebooks_match_their_builder(tmp_path, monkeypatch):
    """The .ipynb files are what notebooks/build.py writes (edit the builder, then rebuild)."""
    import build
    for name, book in build.NOTEBOOKS.items():
        committed = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in book.cells], name


def test_steps_end_with_try_it_yourself_and_a_question():
    for name in ALL[1:]:
        book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        text = [c.source for c in book.cells]
        i = next(i for i, s in enumerate(text) if s.startswith("### Try it yourself"))
        assert text[i + 2].startswith("**Think about it:**") and text[i + 2].rstrip().endswith("?"), name


def run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_RATINGS_DB", str(tmp_path / "ratings.sqlite"))
    book, seconds = handouts.execute(ROOT / "notebooks" / f"{name}.ipynb", short=True)
    print(f"{name}: {seconds:.1f} s")
    return book


def plotly_outputs(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs
            if "application/vnd.plotly.v1+json" in o.get("data", {})]


def errors(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("name", [n for n in ALL if n in FAST and n != HANDOUT])
def test_runs_top_to_bottom(name, tmp_path, monkeypatch):
    book = run(name, tmp_path, monkeypatch)
    assert errors(book) == []
    if name != "00_index":
        assert plotly_outputs(book), "no figure"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ALL if n not in FAST])
def test_training_notebooks_run_top_to_bottom(name, tmp_path, monkeypatch):
    book = run(name, tmp_path, monkeypatch)
    assert plotly_outputs(book), "no figure"
    if name == "04_human_feedback":      # the simulated ratings went into the store it was given
        from explainer.ratings import RatingsStore
        assert RatingsStore(tmp_path / "ratings.sqlite").counts().total >= 20


def test_handout_has_the_figures_offline(tmp_path, monkeypatch):
    """Also the context-window notebook's run top to bottom (one execution for both)."""
    book = run(HANDOUT, tmp_path, monkeypatch)
    assert errors(book) == []
    page = handouts.to_html(book)
    figures = plotly_outputs(book)
    assert len(figures) >= 2
    for fig in figures:                                        # each figure drawn in the page
        div = re.search(r'<div id="([0-9a-f-]{36})"', fig["data"]["text/html"]).group(1)
        assert f'id="{div}"' in page and re.search(rf'Plotly\.newPlot\(\s*"{div}"', page)
    assert "window.Plotly = Plotly" in page                    # plotly.js itself is in the page
    assert handouts.remote_scripts(page) == []                 # nothing fetched from the internet
    # the figures' own data: the bars' title of the full window
    assert "Only the last" in page


def test_remote_scripts_are_found():
    page = '<script src="https://cdn.example/x.js"></script><script>var s = \'<script src="https://a">\';</script>'
    assert handouts.remote_scripts(page) == ["https://cdn.example/x.js"]
