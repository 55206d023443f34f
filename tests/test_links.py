"""Teacher links under AppTest: a page opened with query parameters shows those values, a bad or
out-of-range one falls back to the default with a message naming it, `<param>_hide=1` hides the
control while its value applies, changed values go back into the URL (defaults stay out), and
the sidebar's link leaves out what is private (teacher key, job ids, presentation mode)."""
import json
import shutil
from pathlib import Path

import pytest
from pagetest import run_until, texts
from streamlit.testing.v1 import AppTest

from explainer.app import links
from explainer.phases.pretrain import DEFAULT_PROMPT

ROOT = Path(__file__).resolve().parents[1]
PRETRAINING = "pages/2_Pretraining.py"


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    """No model at all: the Pretraining page shows only its setup (fast). Each test has its own
    directory, so the server-wide model list (cached per directory) needs no clearing."""
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    d = tmp_path / "models"
    d.mkdir()
    for f in (ROOT / "models").glob("*.safetensors"):
        shutil.copy(f, d / f.name)
    if not any(d.iterdir()):
        pytest.skip("no shipped models in models/")
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(d))
    return d


def opened(page: str, **params) -> AppTest:
    """The page, opened with `?k=v&...` as a browser opens a link (a new session)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link(at) -> str:
    return at.sidebar.code[0].value


def keys(widgets) -> list:
    return [w.key for w in widgets]


# ---------------------------------------------------------------------------------------------


def test_a_link_opens_the_page_as_the_teacher_set_it(no_models):
    at = opened(PRETRAINING, size="tiny", steps="200", seed="7", watch_prompt="Once upon a time",
                watch_words="king, queen", corpus="pydocs")
    assert at.selectbox(key="pt_preset").value == "tiny"
    assert at.select_slider(key="pt_steps").value == 200
    assert at.number_input(key="pt_seed").value == 7
    assert at.text_input(key="pt_prompt").value == "Once upon a time"
    assert at.text_input(key="pt_cands").value == "king, queen"
    assert at.radio(key="pt_corpus").value == "Python documentation"
    run_until(at, lambda at: "200 steps" in texts(at.caption))     # the estimate uses the linked value
    assert not at.warning
    assert at.query_params == {"size": "tiny", "steps": "200", "seed": "7", "watch_prompt": "Once upon a time",
                               "watch_words": "king, queen", "corpus": "pydocs"}
    assert link(at).startswith("?") and "steps=200" in link(at) and "watch_prompt=Once+upon+a+time" in link(at)


def test_changed_values_go_into_the_url_and_defaults_stay_out(no_models):
    at = opened(PRETRAINING)
    assert at.query_params == {} and "no settings changed" in link(at)
    at.select_slider(key="pt_steps").set_value(200).run()
    at.selectbox(key="pt_preset").set_value("tiny").run()
    assert at.query_params == {"steps": "200", "size": "tiny"}
    assert link(at) == "?steps=200&size=tiny"
    again = opened(PRETRAINING, **at.query_params)          # the copied link, in a new session
    assert again.select_slider(key="pt_steps").value == 200 and again.selectbox(key="pt_preset").value == "tiny"
    at.select_slider(key="pt_steps").set_value(300).run()     # back to the default: out of the URL
    assert at.query_params == {"size": "tiny"}


@pytest.mark.parametrize("name, raw, key, default, reason", [
    ("steps", "abc", "pt_steps", 300, "not one of 50, 100"),
    ("size", "huge", "pt_preset", "small", "not one of tiny"),
    ("seed", "99999", "pt_seed", 0, "outside 0 to 10000"),
    ("seed", "1.5", "pt_seed", 0, "not a whole number"),
    ("watch_prompt", "x" * 501, "pt_prompt", DEFAULT_PROMPT, "longer than 500 characters"),
])
def test_a_bad_value_falls_back_with_a_message(no_models, name, raw, key, default, reason):
    good = {"seed": "3"} if name == "steps" else {"steps": "100"}     # a good one beside it
    at = opened(PRETRAINING, **{name: raw}, **good)
    message = texts(at.warning)
    assert f"`{name}=" in message and "was ignored" in message and reason in message, message
    widgets = [*at.select_slider, *at.selectbox, *at.number_input, *at.text_input]
    assert next(w for w in widgets if w.key == key).value == default
    assert next(w for w in widgets if w.key == f"pt_{next(iter(good))}").value == int(*good.values())
    assert at.query_params == good                           # the bad value is gone from the URL
    at.run()                                                 # said once, not on every rerun
    assert "was ignored" not in texts(at.warning)


def test_hide_flag_hides_the_control_and_keeps_its_value(no_models):
    at = opened(PRETRAINING, steps="200", steps_hide="1", seed_hide="1")
    assert "pt_steps" not in keys(at.select_slider) and "pt_seed" not in keys(at.number_input)
    assert "pt_preset" in keys(at.selectbox)                 # the others stay
    run_until(at, lambda at: "200 steps" in texts(at.caption))     # the hidden value applies
    at.selectbox(key="pt_preset").set_value("tiny").run()    # and keeps applying on later runs
    run_until(at, lambda at: "200 steps" in texts(at.caption))
    assert at.query_params == {"steps": "200", "steps_hide": "1", "seed_hide": "1", "size": "tiny"}
    assert "steps_hide=1" in link(at) and "seed_hide=1" in link(at)


def test_a_hidden_bad_value_still_says_so(no_models):
    at = opened(PRETRAINING, steps="7", steps_hide="1")
    assert "`steps=7` was ignored" in texts(at.warning)
    assert "300 steps" in texts(at.caption)


def test_private_parameters_stay_out_of_the_link(no_models):
    at = opened(PRETRAINING, steps="100", present="1", key="s3cret-teacher-key")
    assert "steps=100" in link(at)
    assert "s3cret" not in link(at) and "present" not in link(at) and "key=" not in link(at)
    assert at.query_params["present"] == "1"                 # still in this browser's own URL


def test_charts_download_as_svg_or_png_and_the_model_comes_from_the_link(shipped):
    at = opened("pages/1_Tokens.py", text="Hello class", whitespace="1", merges="5", download="svg",
                model="tuned")
    assert at.text_area(key="tok_text").value == "Hello class"
    assert at.toggle(key="tok_ws").value is True
    merges = next(s for s in at.slider if s.key.startswith("tok_merges"))
    assert merges.value == 5 and "After **5** merges" in texts(at.markdown)
    assert at.selectbox(key="_active_model").value.endswith("tuned.safetensors")
    assert at.sidebar.radio[0].value == "svg"
    charts = [json.loads(e.proto.config) for e in at.get("plotly_chart")]
    assert charts, "the embedding heatmap"
    assert all(c["toImageButtonOptions"]["format"] == "svg" for c in charts)
    assert at.query_params["download"] == "svg" and at.query_params["model"] == "tuned"
    at.sidebar.radio[0].set_value("png").run()
    charts = [json.loads(e.proto.config) for e in at.get("plotly_chart")]
    assert [c["toImageButtonOptions"]["format"] for c in charts] == ["png"] * len(charts)
    assert "download" not in at.query_params


def test_an_unknown_model_name_is_named(shipped):
    at = opened("pages/1_Tokens.py", model="no-such-model")
    assert "`model=no-such-model` was ignored" in texts(at.sidebar.warning)
    assert "model" not in at.query_params


def test_parameters_parse_as_documented():
    import doctest
    result = doctest.testmod(links)
    assert result.attempted >= 4 and result.failed == 0
    assert links.number("temperature", 0.0, 2.0, 0.8, 0.1).parse("1.25") == 1.2
    assert links.flag("weak", True).parse("off") is False
    with pytest.raises(ValueError, match="not 1 or 0"):
        links.flag("weak", True).parse("maybe")
    with pytest.raises(ValueError, match="outside"):
        links.number("temperature", 0.0, 2.0, 0.8, 0.1).parse("nan")
    layer = links.choice("layer", range(4), 0, names=lambda i: str(i + 1))
    assert layer.parse("1") == 0 and layer.text(3) == "4"


def test_context_window_link_sets_text_window_and_head(tiny_dir, monkeypatch):
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(tiny_dir))
    at = opened("pages/5_Context_window.py", cw_text="chat", window="20", layer="2", head="1", room="500")
    assert at.radio(key="cw_example").value == "A chat"
    assert at.slider(key="cw_n_A chat").value == 20 and "The model sees the last **20**" in texts(at.caption)
    layer, head = (next(b for b in at.selectbox if b.label == name) for name in ("Layer", "Head"))
    assert (layer.value, head.value) == (1, 0)                  # counted from 1 in the link, as shown
    other = opened("pages/5_Context_window.py", cw_text="chat", window="20", layer="1", head="2")
    assert [b.value for b in other.selectbox if b.label in ("Layer", "Head")] == [0, 1]   # not a default
    assert "`room=500` was ignored (outside 16 to " in texts(at.warning)
    at.radio(key="cw_example").set_value("A story").run()      # another text: its own default window
    assert at.slider(key="cw_n_A story").value == at.slider(key="cw_n_A story").max
    assert at.query_params == {}                                # all defaults now: a bare link


@pytest.mark.slow                     # ~20 s: the page asks the real SmolLM2 too
def test_every_control_of_the_pretraining_page_hidden_still_works(shipped):
    """The page reads some settings by their key (the prompt for the real model beside ours):
    hidden, they still hold the link's value."""
    names = ["corpus", "size", "steps", "seed", "watch_prompt", "watch_words", "prompt", "words",
             "temperature", "top_k", "length", "write_seed", "model", "download", "lang"]
    at = opened(PRETRAINING, prompt="The cat sat on the", **{f"{n}_hide": "1" for n in names})
    assert not at.radio and not at.select_slider and not at.slider and not at.number_input
    assert not at.text_input and not at.selectbox
    assert "The cat sat on the" in texts(at.markdown)           # the real model is asked it too
