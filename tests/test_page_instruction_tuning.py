"""The Instruction tuning page under AppTest: without a model (clear messages, no crash), with a
tiny base and tuned model (every section renders, filters work), and a fine-tuning job started
from the page runs to its end."""
import functools

import pytest
import streamlit as st
from pagetest import open_page, run_until, texts

from explainer.corpus import instructions as ins


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    yield monkeypatch


run = functools.partial(open_page, "pages/3_Instruction_tuning.py", timeout=180)


def test_without_a_model_the_page_says_so(tmp_path, fresh):
    at = run(tmp_path, fresh)
    assert "No model yet" in texts(at.info)
    assert at.metric[0].value == f"{len(ins.instruction_data(0).train):,}"     # the data still shows


def test_sections_filters_and_both_models_answer(one_layer_dir, fresh):
    at = run(one_layer_dir, fresh)
    assert [h.value for h in at.header] == [
        "1 · The examples it learns from", "2 · One example, as the model sees it", "3 · Fine-tune",
        "4 · Same question, two models", "5 · Questions it never saw",
        "6 · A real assistant, with and without its template"]
    at.selectbox[2].set_value(3).run()                       # an example of the unfiltered list
    at.selectbox[0].set_value("safety").run()
    at.selectbox[1].set_value("unsafe").run()
    matching = ins.browse(ins.instruction_data(0).train, "safety", "unsafe")
    n = len(matching)
    # a filter starts the example box afresh, on the new list's first question
    assert at.selectbox[2].value == 0 and at.selectbox[2].options[0] == matching[0].prompt
    assert f"{n:,} pairs match" in texts(at.caption)
    assert "Green: learned from" in texts(at.markdown)
    shown = texts(at.caption)
    assert "Stopped by itself" in shown or "Did not stop" in shown
    assert "of answers end with <|end|>" in shown
    assert len(at.dataframe) >= 1 and len(at.table) == 2      # pairs; special tokens, held-out answers
    assert "<|assistant|>" in list(at.table[0].value["token"])


def test_fine_tuning_job_from_the_page(one_layer_dir, fresh):
    at = run(one_layer_dir, fresh)
    at.select_slider(key="it_steps").set_value(100).run()
    start = next(b for b in at.button if b.label == "Start fine-tuning")
    start.click().run()
    assert not at.exception, [e.value for e in at.exception]
    run_until(at, lambda a: "Your tuned model is ready" in texts(a.success))
    assert "instruction tuning" not in texts(at.error)
    at.run()                                         # the next estimate comes from this run
    assert "from the latest training of this size on this server" in texts(at.caption)
