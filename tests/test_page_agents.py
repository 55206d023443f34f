"""The Agents page under AppTest: with no agent (a clear message, no crash), and with the shipped
agent: the steps of a run (the call, the tool's result, the final answer), tools off beside it,
the URL settings, and the measured figures."""
import pytest
import streamlit as st
from pagetest import open_page, run_until, texts


@pytest.fixture(autouse=True)
def fresh():
    st.cache_data.clear()          # the model list is cached server-wide; tests switch directories
    st.cache_resource.clear()


def agent_page(models_dir, monkeypatch):
    """The page opened with the shipped models (skips where there is no agent model)."""
    if not (models_dir / "agent.safetensors").is_file():
        pytest.skip("no shipped models/agent.safetensors")
    return open_page("pages/7_Agents.py", models_dir, monkeypatch, timeout=240)


def test_without_an_agent_the_page_says_so(tmp_path, monkeypatch):
    at = open_page("pages/7_Agents.py", tmp_path, monkeypatch)
    assert "No agent model yet" in texts(at.info)
    assert "No tuned model to start from" in texts(at.info)


def test_the_agent_calls_the_calculator_and_answers(models_dir, monkeypatch):
    at = agent_page(models_dir, monkeypatch)
    assert [h.value for h in at.header] == ["1 · Ask, and watch each step", "2 · How often is it right?",
                                            "3 · A real LLM as the agent", "4 · Train your own agent"]
    md = texts(at.markdown)
    assert "**Step 1 · the model writes** a call: `calculator(23*47)`" in md
    assert "the program runs** `calculator(23*47)` → `1081`" in md
    assert "1081" in texts(at.success)                                     # the final answer
    assert "The same model, tools off" in texts(at.subheader)
    bar = [h.value for h in at.html if "ctx-bar" in h.value]
    assert bar and "free" in bar[0]
    # tools off: no result enters the context, the call is answered with an error text
    at.toggle(key="ag_tools").set_value(False).run()
    assert not at.exception
    assert "→ `1081`" not in texts(at.markdown) and "tools are off" in texts(at.markdown)


def test_the_settings_come_from_the_link(models_dir, monkeypatch):
    """?ask=capital&tools=0&steps=2: the question, tools off and the step limit, as a teacher's link."""
    if not (models_dir / "agent.safetensors").is_file():
        pytest.skip("no shipped models/agent.safetensors")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(models_dir))
    at = AppTest.from_file(str(Path(__file__).parents[1] / "pages/7_Agents.py"), default_timeout=240)
    for k, v in {"ask": "capital", "tools": "0", "steps": "2"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert at.radio(key="ag_example").value == "capital"
    assert at.toggle(key="ag_tools").value is False and at.slider(key="ag_steps").value == 2
    assert "With no tools" in texts(at.subheader)


def test_a_question_about_a_capital_uses_lookup(models_dir, monkeypatch):
    at = agent_page(models_dir, monkeypatch)
    at.radio(key="ag_example").set_value("capital").run()
    assert not at.exception
    assert "`lookup(capital of the Solomon Islands)` → `Honiara`" in texts(at.markdown)
    assert "Honiara" in texts(at.success)


def test_a_long_question_is_cut_with_a_note(models_dir, monkeypatch):
    at = agent_page(models_dir, monkeypatch)
    at.radio(key="ag_example").set_value("your own").run()
    at.text_input(key="ag_q").input("What is 2 plus 2? " * 500).run()
    assert not at.exception
    assert "of its tokens were cut so that it fits the 128-token window" in texts(at.markdown)


def test_measuring_shows_the_figures(models_dir, monkeypatch):
    """The measurement runs as a job; the page shows the question it is at, then the figures."""
    at = agent_page(models_dir, monkeypatch)
    next(b for b in at.button if b.label == "Measure the agent and the tuned model").click().run()
    assert not at.exception
    at = run_until(at, lambda at: len(at.table) > 0, limit=900)
    row = at.table[0].value.iloc[0]
    assert row["questions"] > 50 and row["calls the right tool"].endswith("%")
    assert "By kind: capital" in texts(at.caption)


def test_training_your_own_agent_runs_as_a_job(one_layer_dir, monkeypatch):
    """From a tuned model and no agent: the page trains one (100 steps of a one-layer model),
    follows the job, and then asks it in section 1."""
    at = open_page("pages/7_Agents.py", one_layer_dir, monkeypatch, timeout=240)
    assert "No agent model yet" in texts(at.info)
    at.select_slider(key="ag_train_steps").set_value(100).run()
    next(b for b in at.button if b.label == "Start tool-use tuning").click().run()
    assert not at.exception
    at = run_until(at, lambda at: "Your agent is ready" in texts(at.success), limit=900)
    assert "The prompt" in texts(at.markdown) and "No agent model yet" not in texts(at.info)
