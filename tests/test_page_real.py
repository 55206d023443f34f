"""SmolLM2 on the pages under AppTest, beside a tiny model of ours: each real-model panel shows
figures the real model computes (checked against the library called directly), and where the
package is absent the pages say how to install it and hide the panels."""
import functools
import html

import pytest
import streamlit as st
from pagetest import open_page, texts

from explainer.app import real as app_real
from explainer.gpt.scoring import rank_next
from explainer.real import gguffile, smollm
from explainer.real.beside import real_answer
from explainer.real.llama import count_params
from explainer.views.charts import percent_text

needs_real = pytest.mark.skipif(not smollm.available(), reason=f"real model not installed: run `{smollm.INSTALL}`")
run = functools.partial(open_page, timeout=600)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    yield monkeypatch


@needs_real
def test_tokens_page_has_a_fourth_column_with_the_real_ids(tiny_dir, fresh):
    at = run("pages/1_Tokens.py", tiny_dir, fresh)
    assert "SmolLM2 (49,152 tokens)" in texts(at.markdown)
    ids = smollm.tokenizer().encode("What should I eat today?")
    assert "[" + ", ".join(map(str, ids)) + "]" in texts(at.code)


@needs_real
def test_pretraining_page_ranks_with_the_real_model(tiny_dir, fresh):
    at = run("pages/2_Pretraining.py", tiny_dir, fresh)
    real = smollm.load()
    r = rank_next(real.model, real.tokenizer, "A flash flood watch will be in effect all", 10,
                  ["night", "day", "giraffe"])
    shown = texts(at.caption)
    assert " · ".join(f"{c.word}: {percent_text(c.prob)} (#{c.rank:,})" for c in r.candidates) in shown
    assert f"{count_params(real.config):,} parameters; read 2 trillion tokens" in shown
    assert "123,456 tokens of Everyday English" in shown
    assert "Inside: what each layer would guess" in texts(at.header)


@needs_real
@pytest.mark.slow
def test_instruction_tuning_page_shows_the_real_answers_and_template(tiny_dir, fresh):
    at = run("pages/3_Instruction_tuning.py", tiny_dir, fresh)
    real = smollm.load()
    with_t, without = (real_answer(real, "What should I eat today?", t) for t in (True, False))
    shown = texts(at.markdown) + texts(at.caption)        # the answers as ui.model_text draws them
    for rep in (with_t, without):
        assert (html.escape(rep.text).replace("\n", "<br>") if rep.text else "(nothing)") in shown
    assert f"The template, as the {len(with_t.prompt_ids)} tokens" in texts(at.markdown)


@needs_real
@pytest.mark.slow
def test_context_window_page_on_the_real_model(tiny_dir, fresh):
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    at.radio(key="cw_model").set_value("real").run()
    assert not at.exception, [e.value for e in at.exception]
    stops = at.select_slider(key="cw_n_A story_real").options
    assert [str(x) for x in stops[:1] + stops[-2:]] == ["8", "4096", "8192"]
    labels = [m.label for m in at.metric]
    assert any("Name recalled, whole story in view (10 stories)" in label for label in labels)
    assert "rotary embeddings" in texts(at.markdown)


@needs_real
def test_two_files_page_reads_the_gguf(tiny_dir, fresh):
    at = run("pages/6_Two_files.py", tiny_dir, fresh)
    # two GGUF views (SmolLM2's, then the exported model's) share their labels: read every value
    shown = [m.value for m in at.metric if m.label == "Parameters"]
    assert f"{count_params(smollm.load().config):,}" in shown
    b = gguffile.q4_1_block(smollm.gguf_path(), "blk.0.attn_q.weight", 0)
    code = texts(at.code)
    assert b.raw.hex(" ") in code and f"scale d = {b.scale:.6g}" in code
    assert f"python run.py {smollm.FILENAME}" in code


@pytest.mark.parametrize("page", ["pages/1_Tokens.py", "pages/2_Pretraining.py", "pages/3_Instruction_tuning.py",
                                  "pages/5_Context_window.py", "pages/6_Two_files.py"])
def test_without_the_package_one_message_and_no_real_panels(page, tiny_dir, fresh):
    fresh.setattr(smollm.importlib.util, "find_spec", lambda name: None)   # package absent
    at = run(page, tiny_dir, fresh)
    shown = texts(at.info) + texts(at.caption)
    assert app_real.MISSING in shown
    assert "SmolLM2 (49,152 tokens)" not in texts(at.markdown) and "raw bytes: " not in texts(at.code)
