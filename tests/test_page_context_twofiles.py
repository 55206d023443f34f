"""The Context window and Two files pages under AppTest: with no model (a clear message, no crash)
and with a tiny model (every section renders, the widgets work)."""
import functools
import re
from pathlib import Path

import pytest
import streamlit as st
from pagetest import open_page, texts

from explainer.gpt.model import GPT, preset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    st.cache_data.clear()         # the model list is cached server-wide; tests switch directories
    st.cache_resource.clear()
    yield monkeypatch


run = functools.partial(open_page, timeout=180)


@pytest.mark.parametrize("page", ["pages/5_Context_window.py", "pages/6_Two_files.py"])
def test_without_a_model_the_pages_say_so(page, tmp_path, fresh):
    at = run(page, tmp_path, fresh)
    assert "No model yet" in texts(at.info)


def test_context_window_page(tiny_dir, fresh):
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    assert [h.value for h in at.header][:4] == ["1 · Slide the window", "2 · Where the last token looks",
                                               "3 · Why there is a hard maximum",
                                               "4 · When a chat outgrows the window"]
    slider = at.slider(key="cw_n_A story")
    assert slider.value == slider.max == 64          # tiny preset: 64 tokens at most
    assert "The model sees the last **64**" in texts(at.caption)
    slider.set_value(8).run()
    assert not at.exception
    drawn = at.html[0].value
    n, struck = drawn.count('class="cw-tok '), drawn.count('class="cw-tok cw-out')
    assert struck == n - 8 and f"the first **{struck}** (struck through) are forgotten" in texts(at.caption)
    assert 'ranks **#' in texts(at.markdown)
    assert "The app dropped the" in texts(at.caption)            # the chat loses its first turn(s)
    budget = at.slider(key="cw_budget")
    budget.set_value(budget.max).run()
    fits = at.slider(key="cw_budget").max <= 64
    assert ("Everything fits" in texts(at.caption)) == fits
    picker(at, "Layer").set_value(0).run()
    at.radio(key="cw_example").set_value("A chat").run()
    assert not at.exception
    at.radio(key="cw_example").set_value("Your own text").run()
    at.text_area(key="cw_text").input("Short.").run()
    assert not at.exception and "longer text" in texts(at.info)


def picker(at, label):
    """The Layer or Head select box (their keys change with the text and window)."""
    return next(b for b in at.selectbox if b.label == label)


def best_head(at) -> tuple[int, int]:
    """(layer, head), 0-based, of the head the caption says looks most at the name."""
    m = re.search(r"The head that puts the most there is layer (\d+), head (\d+): ([\d.]+)%", texts(at.caption))
    assert m, texts(at.caption)
    return int(m[1]) - 1, int(m[2]) - 1


def own_text(at, text, word):
    at.radio(key="cw_example").set_value("Your own text").run()
    at.text_area(key="cw_text").input(text)
    at.text_input(key="cw_word").input(word).run()
    assert not at.exception


def test_context_curve_caption_says_when_no_window_shows_the_word(tiny_dir, fresh):
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    # the story on the tiny model (64 tokens at most): the name is further back than that
    assert "every mention is further back than the model's maximum window" in texts(at.caption)
    own_text(at, "Mia and her dog walked to the park. They played on the grass all day long "
                 "until the sun went down and they went home.", "xyzzy")
    shown = texts(at.caption)
    assert 'No window shows "xyzzy": it is not in the text' in shown and "Dotted lines" not in shown
    at.text_input(key="cw_word").input("park").run()                 # in view of the longest window
    assert "Dotted lines: a mention of the word leaves the window" in texts(at.caption)


def test_context_head_pickers_follow_the_text(tiny_dir, fresh):
    """Section 2's pickers start on the head that looks most at the name, for the text shown now;
    a choice made for another text does not stick; the caption adds up the name's tokens."""
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    other = "Nora and Tom went to the lake. They swam all day, and then Tom said goodbye to"
    own_text(at, other, "Nora")
    layer_b, head_b = best_head(at)
    assert (picker(at, "Layer").value, picker(at, "Head").value) == (layer_b, head_b)
    own_text(at, "Mila has a red kite. Every day Mila flies it in the park with her friend", "Mila")
    wrong = (1 - layer_b, 1 - head_b)                         # tiny: 2 layers, 2 heads
    picker(at, "Layer").set_value(wrong[0]).run()
    picker(at, "Head").set_value(wrong[1]).run()
    assert (picker(at, "Layer").value, picker(at, "Head").value) == wrong   # the choice holds
    own_text(at, other, "Nora")
    assert best_head(at) == (layer_b, head_b)
    assert (picker(at, "Layer").value, picker(at, "Head").value) == (layer_b, head_b)
    caption = texts(at.caption)
    assert re.search(r"adding up the name's \d+ tokens? in view \(1 mention\)", caption), caption
    assert "counting ⟨start⟩, the start-of-text token, as token 1" in caption


def test_context_chat_section_words(tiny_dir, fresh):
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    budget = at.slider(key="cw_budget")
    budget.set_value(budget.min).run()
    caption = texts(at.caption)
    assert "most likely next token is now “" in caption and "next word" not in caption
    assert "after dropping the" in at.metric[-1].label and "dropping the 1 " not in at.metric[-1].label



@pytest.mark.skipif(not (ROOT / "models" / "base.safetensors").is_file(), reason="no shipped model")
def test_context_chat_that_fits_drops_nothing(fresh):
    at = run("pages/5_Context_window.py", ROOT / "models", fresh)   # 128 tokens: the chat fits
    budget = at.slider(key="cw_budget")
    budget.set_value(budget.max).run()
    assert "Everything fits" in texts(at.caption)
    assert at.metric[-1].label == "… in this window (all of it fits)"


def test_two_files_page(tiny_dir, fresh):
    at = run("pages/6_Two_files.py", tiny_dir, fresh)
    assert [h.value for h in at.header] == ["1 · The parameter file", "2 · Smaller files",
                                           "3 · The run file", "4 · The same two files, at every scale",
                                           "5 · A real LLM's two files", "6 · Out into the ecosystem"]
    assert at.metric[0].label == "Size on disk" and at.metric[1].value == f"{GPT(preset('tiny', vocab_size=400)).num_params():,}"
    source = (ROOT / "explainer" / "runfile" / "run.py").read_text()
    assert any(c.value == source.rstrip() for c in at.code)      # shown in full
    assert f"{len(source.splitlines())} lines" in texts(at.markdown)
    table = at.table[0].value      # the sizes table; the last one is the GGUF's
    assert list(table["file"]) == ["fp32", "fp16", "int8"]
    assert not any(c.startswith("-0.0") and not c.strip("-0.") for c in table["change"])   # no "-0.00000"
    assert len(at.get("download_button")) == 6        # 3 parameter files, run.py, the HF zip, the GGUF
    own_gguf = [m for m in at.metric if m.label == "Tensors"][-1]      # the last section: its GGUF
    assert int(own_gguf.value) == 2 + 2 + 2 * 12 + 1     # embeddings, final norm, 2 blocks, output layer
    at.selectbox(key="tf_tensor").set_value("wte.weight").run()
    assert not at.exception


def test_context_page_reruns_reuse_the_models_answers(tiny_dir, fresh):
    """The page's forward passes are cached per model and input (app/cached.py): picking another
    head runs none again; moving the window runs only what it changes. (On SmolLM2 each pass
    takes seconds.)"""
    passes = []
    forward = GPT.forward

    def counted(self, *args, **kw):
        passes.append(1)
        return forward(self, *args, **kw)
    fresh.setattr(GPT, "forward", counted)
    at = run("pages/5_Context_window.py", tiny_dir, fresh)
    assert passes                                          # the first run computed everything
    passes.clear()
    picker(at, "Head").set_value(1 - picker(at, "Head").value).run()
    assert not at.exception and passes == []
    at.slider(key="cw_n_A story").set_value(20).run()
    moved = len(passes)
    at.slider(key="cw_n_A story").set_value(64).run()      # back: every answer is in the cache
    assert moved > 0 and len(passes) == moved
