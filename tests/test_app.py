"""Every page under Streamlit's AppTest: runs without exception, key widgets are there, bad input
gets a message, and a tiny training started from the Pretraining page completes.

AppTest does not fire `run_every` timers, so a running job is followed by calling `at.run()` in
a loop (with a generous overall limit; no test asserts on how long anything took).
"""
import functools
import os
import shutil
import time
from pathlib import Path

import pytest
from pagetest import open_page, texts
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    """The shipped models, copied, so saving from a test never touches models/."""
    d = tmp_path / "models"
    d.mkdir()
    source = Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models")
    for f in source.glob("*.safetensors"):
        shutil.copy(f, d / f.name)
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(d))
    return d


app = functools.partial(open_page, timeout=TIMEOUT)


def shipped(models_dir) -> bool:
    return any(models_dir.glob("*.safetensors"))


# --- Home ------------------------------------------------------------------------------------

def test_home_shows_the_journey(models_dir):
    at = app("Home.py")
    md = texts(at.markdown)
    for stage in ("Tokens", "Pretraining", "Instruction tuning", "Human feedback",
                  "Context window", "The two files"):
        assert stage in md
    links = [e.proto.page for e in at.get("page_link")]
    assert {"Tokens", "Pretraining"} <= set(links)
    from explainer import journey
    missing = [s for s in journey.ROAD + journey.SIDE if journey.page_path(s) is None]
    assert ("Coming soon" in texts(at.caption)) == bool(missing)
    assert len(links) == len(journey.ROAD + journey.SIDE) - len(missing)
    assert at.sidebar.toggle[0].label == "Presentation mode"
    if shipped(models_dir):
        assert at.table, "the table of ready models"


# --- Tokens ----------------------------------------------------------------------------------

def test_tokens_default_text_three_tokenizers(models_dir):
    at = app("pages/1_Tokens.py")
    assert at.text_area(key="tok_text").value == "What should I eat today?"
    assert at.toggle(key="tok_ws") is not None
    md = texts(at.markdown)
    assert "GPT-4's cl100k_base" in md and "Characters (one token each; an unknown one becomes its bytes)" in md
    assert "characters per token" in md
    from explainer.gpt.tokenizer import cl100k
    ids = cl100k().encode("What should I eat today?")
    assert "[" + ", ".join(map(str, ids)) + "]" in texts(at.code)
    assert at.slider[0].label == "Merges learned so far"
    at.slider[0].set_value(0).run()
    assert not at.exception
    assert "After **0** merges" in texts(at.markdown)


@pytest.mark.parametrize("text", [
    "",
    "🦒🌧️ emoji 👩‍👩‍👧 and flags 🇯🇵",
    "Здравствуйте, 你好世界, مرحبا بالعالم, नमस्ते, שלום, e\u0301\u0301 \t\r\n<|endoftext|>",
])
def test_tokens_odd_input(text):
    at = app("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    if not text:
        assert "Type or paste some text" in texts(at.info)
    else:
        assert "characters per token" in texts(at.markdown)


def test_tokens_names_each_unknown_character_on_its_own():
    at = app("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value("12 bananas 🍌 in Zürich.").run()
    assert "“🍌”" in texts(at.caption)            # quoted one by one, not run together as "ü🍌"
    at.text_area(key="tok_text").set_value("A family 👩‍👧 and a flag 🇩🇪").run()   # invisible on their own:
    shown = texts(at.caption)                                              # named by code point
    assert "U+200D zero width joiner" in shown and "U+1F1E9 regional indicator symbol letter d" in shown


def test_tokens_long_paste_counts_agree():
    """Pieces drawn, IDs listed and "... more" all count the same tokens (the whole text's)."""
    from explainer.gpt.tokenizer import cl100k
    text = "The giraffe eats leaves, 12 of them. " * 135                   # 4,995 characters
    at = app("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value(text).run()
    drawn = " ".join(h.proto.body for h in at.get("html"))
    for n in (len(text), len(cl100k().encode(text))):                  # characters; GPT-4's
        assert f"… and {n - 400:,} more tokens" in drawn and f", ... {n - 400:,} more]" in texts(at.code)
    assert "draws and lists at most its first 400 tokens" in texts(at.caption)


def test_tokens_huge_paste_is_cut_and_says_so():
    at = app("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value("The giraffe eats leaves. " * 44_000).run()  # 1.1 MB
    assert not at.exception
    assert "only the first 1,000,000" in texts(at.warning)


# --- Pretraining -----------------------------------------------------------------------------

def test_pretraining_widgets():
    at = app("pages/2_Pretraining.py")
    assert at.radio[0].options == ["Everyday English", "Python documentation", "Upload a file", "Paste text"]
    assert at.selectbox(key="pt_preset").value == "small"
    assert at.select_slider(key="pt_steps").value == 600
    assert at.text_input(key="pt_prompt").value == "A flash flood watch will be in effect all"
    assert at.text_input(key="pt_cands").value == "night, day, giraffe"
    assert at.button(key="pt_start").label == "Start training"
    assert "Estimated time" in texts(at.caption)
    assert "Sentences" in str(at.table[0].value)      # corpus statistics


def test_pretraining_rejects_a_too_short_paste():
    at = app("pages/2_Pretraining.py")
    at.radio[0].set_value("Paste text").run()
    at.text_area[-1].set_value("Far too short to learn from.").run()
    assert "too short" in texts(at.error)
    at.button(key="pt_start").click().run()
    assert "Choose a corpus first" in texts(at.error)
    assert "job" not in at.query_params


def run_until_done(at: AppTest, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if "now your **active model**" in texts(at.success) or at.error:
            return
        time.sleep(0.5)
    pytest.fail("the training did not finish in time")


def test_tiny_training_completes_and_can_be_saved(models_dir):
    at = app("pages/2_Pretraining.py")
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.text_input(key="pt_cands").set_value("night, giraffe")
    at.run()
    at.button(key="pt_start").click().run()
    assert not at.exception
    job_id = at.query_params["job"]
    assert job_id and at.button(key="pt_stop")            # Start became Stop
    run_until_done(at)
    assert not at.error, texts(at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tokens seen"] == "102 k"                  # 50 steps x 32 x 64 = 102,400 tokens
    assert float(metrics["Validation loss"]) < 7.7           # below uniform guessing over 2,048
    assert "step 50:" in texts(at.markdown)                  # a sample at the last checkpoint
    from explainer.serve import runs  # the next estimate comes from this run
    assert runs.seconds_per_step("tiny")[1] == "from the latest training of this size on this server"
    # the trained model is this session's active model, shown in the sidebar
    assert at.sidebar.selectbox[0].value == "session"
    assert "64 tokens" in texts(at.sidebar.markdown)         # tiny's context length
    # saving: a path trick is refused, a good name is written into the models directory
    save = at.button(key="FormSubmitter:save_model-Save to models/")
    at.text_input(key="save_name").set_value("../evil")
    save.click().run()
    assert "letters, digits" in texts(at.error)
    assert not list(models_dir.parent.glob("evil*"))
    at.text_input(key="save_name").set_value("my-tiny")
    at.button(key="FormSubmitter:save_model-Save to models/").click().run()
    assert "Saved as my-tiny.safetensors" in texts(at.success)
    assert (models_dir / "my-tiny.safetensors").is_file()
    at.text_input(key="save_name").set_value("my-tiny")    # taken now: never overwritten
    at.button(key="FormSubmitter:save_model-Save to models/").click().run()
    assert "already exists" in texts(at.error)
    # the ranking on the current model is computed live, and generation writes text
    at.button(key="generate").click().run()
    assert not at.exception
    assert any(md.value.startswith("> **A flash flood watch") for md in at.markdown)


def test_reload_reattaches_to_the_job_from_the_url():
    at = app("pages/2_Pretraining.py")
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.run()
    at.button(key="pt_start").click().run()
    job_id = at.query_params["job"]
    fresh = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    fresh.query_params["job"] = job_id                       # a new session with the same URL
    run_until_done(fresh)
    assert "tiny on Everyday English, 50 steps" in texts(fresh.caption)
    assert fresh.query_params["job"] == job_id


def test_stale_job_id_in_url_is_explained():
    at = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    at.query_params["job"] = "no-such-job"
    at.run()
    assert not at.exception
    assert "no longer on this server" in texts(at.info)
    assert "job" not in at.query_params


# --- the plain-Python helpers behind the pages ----------------------------------------------

def test_doctests_of_app_helpers():
    import doctest

    from explainer import journey
    from explainer.app import panels
    from explainer.serve import progress, runs
    from explainer.serve import registry as models
    for mod in (journey, models, panels, progress, runs):
        assert doctest.testmod(mod).failed == 0, mod.__name__


def test_step_time_estimates_are_kept_per_batch_size(monkeypatch):
    """Pretraining (batch 32) and fine-tuning (batch 16) of one preset are timed apart: one
    shared figure made each page's estimate wrong by 2-3x after the other page's run."""
    from explainer.phases import sft
    from explainer.serve import runs
    monkeypatch.setattr(runs, "_step_seconds", {})
    runs.record_run_speed("small", 32, 100, 50.0)                   # a pretraining run: 0.5 s a step
    known = (0.5, "from the latest training of this size on this server")
    assert runs.seconds_per_step("small") == known
    seconds, how = runs.seconds_per_step("small", sft.SFTSpec.batch_size)
    assert how == "timed on this server just now" and seconds > 0     # timed, not the run above
    assert runs.seconds_per_step("small") == known


def test_an_old_step_time_is_shown_while_it_is_timed_again(monkeypatch):
    """After 10 minutes the step time is measured again in the background: the page run that asks
    gets the older figure at once (it used to wait seconds for the timing), and 30 asking at once
    start one timing, not 30."""
    import threading

    from explainer.serve import runs
    old = (9.0, time.time() - runs._MEASURE_TTL - 1, "from the latest training of this size on this server")
    monkeypatch.setattr(runs, "_step_seconds", {("tiny", 32): old})
    release, timings = threading.Event(), []

    def held_timing(preset_name, batch_size):
        timings.append((preset_name, batch_size))
        assert release.wait(30)
        runs._step_seconds[preset_name, batch_size] = (0.01, time.time(), "timed on this server just now")
    monkeypatch.setattr(runs, "_time_steps", held_timing)
    assert [runs.seconds_per_step("tiny", 32) for _ in range(30)] == [(9.0, old[2])] * 30
    release.set()
    deadline = time.monotonic() + 30
    while runs._step_seconds[("tiny", 32)][0] != 0.01 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runs.seconds_per_step("tiny", 32) == (0.01, "timed on this server just now")
    assert timings == [("tiny", 32)]


def test_journey_finds_pages_by_title():
    from explainer import journey
    assert journey.slug_of("pages/3_Instruction_tuning.py") == "instructiontuning"
    assert journey.page_path(journey.ROAD[0]) == "pages/1_Tokens.py"


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


def test_sidebar_names_a_half_trained_session_model():
    from explainer.app.ui import session_label, session_state_text
    spec = {"steps": 2000}
    assert session_state_text({"kind": "base", "preset": "tiny", "steps": 327, "spec": spec}) == \
        "tiny, stopped at step 327 of 2,000"
    assert session_state_text({"kind": "base", "preset": "small", "steps": 2000, "spec": spec}) == \
        "small, 2,000 steps"
    assert session_label({"kind": "base"}) == "your model (this session)"
    assert session_label({"kind": "tuned"}) == "your tuned model (this session)"


def test_models_are_listed_in_the_journey_order(tmp_path):
    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import save_model
    from explainer.phases.pretrain import learn_tokenizer
    from explainer.serve.registry import list_models

    tok = learn_tokenizer("hello world, hello there. " * 200)
    model = GPT(preset("tiny", vocab_size=tok.n_vocab))
    for name, kind in (("feedback", "feedback"), ("tuned", "tuned"), ("base", "base"), ("aaa", "base")):
        save_model(tmp_path / f"{name}.safetensors", model, tok, {"kind": kind})
    assert [m.name for m in list_models(tmp_path)] == ["base", "aaa", "tuned", "feedback"]


def test_learn_vocabulary_fits_small_texts():
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    text = "The cat sat on the mat. The dog ate a bone. " * 60   # ~2.6 KB, very repetitive
    tok = learn_vocabulary(text)
    assert 260 < tok.n_vocab <= 2048 and tok.decode(tok.encode(text)) == text


def test_save_trained_validates_names(tmp_path):
    import torch

    from explainer.gpt.model import GPT, preset
    from explainer.gpt.paramfile import LoadedModel
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    from explainer.serve.registry import list_models, save_trained

    tok = learn_vocabulary("hello world, hello there. " * 200)
    cfg = preset("tiny", vocab_size=tok.n_vocab)
    torch.manual_seed(0)
    loaded = LoadedModel(GPT(cfg), tok, cfg, {"val_loss": 5.0, "tokens_trained": 1000}, None)
    (tmp_path / "base.safetensors").write_bytes(b"not a model")   # shipped (and broken)
    for bad in ("", "../x", "/etc/passwd", "a b", ".hidden", "x" * 60, "base"):
        with pytest.raises(ValueError):
            save_trained(loaded, bad, tmp_path)
    assert save_trained(loaded, "mine", tmp_path) == tmp_path / "mine.safetensors"
    with pytest.raises(ValueError, match="already exists"):
        save_trained(loaded, "mine", tmp_path)
    infos = {m.name: m for m in list_models(tmp_path)}
    assert infos["base"].error and not infos["mine"].shipped and infos["mine"].n_params > 0


def test_a_failed_job_shows_a_clear_message():
    from explainer.app import ui

    def diverges(cancel):
        yield from ()
        raise MemoryError()

    jm = ui.get_job_manager()
    job = jm.submit("someone", "doomed", diverges)
    assert jm.wait(job, 60).state == "failed"
    at = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    at.query_params["job"] = job
    at.run()
    assert not at.exception
    assert "ran out of memory" in texts(at.error)
    assert at.button(key="pt_start")                          # you can start again


def test_a_queued_training_shows_its_place_in_line():
    import threading

    from explainer.app import ui

    jm = ui.get_job_manager()
    gate, started = threading.Event(), threading.Semaphore(0)

    def blocker(cancel):
        started.release()
        gate.wait(120)
        yield from ()

    blockers = [jm.submit("teacher", "blocker", blocker) for _ in range(jm.max_workers)]
    try:
        for _ in blockers:
            assert started.acquire(timeout=60)          # every worker is busy now
        at = app("pages/2_Pretraining.py")
        at.selectbox(key="pt_preset").set_value("tiny")
        at.select_slider(key="pt_steps").set_value(50)
        at.run()
        at.button(key="pt_start").click().run()
        assert "you are number **1**" in texts(at.info)
        assert at.button(key="pt_stop").label == "Leave the queue"
        at.button(key="pt_stop").click().run()
        assert "You left the queue" in texts(at.warning)
    finally:
        gate.set()
    for b in blockers:
        assert jm.wait(b, 60).state == "done"


def test_learn_vocabulary_copes_with_a_very_repetitive_text():
    from explainer.phases.pretrain import learn_tokenizer as learn_vocabulary
    tok = learn_vocabulary("word " * 500)
    assert 260 < tok.n_vocab < 270 and tok.decode(tok.encode("word word")) == "word word"


def test_training_on_pasted_text():
    text = ("My cat likes to sleep in the sun. Every morning she eats fish, and then she naps "
            "on the warm stones by the door.\n\n") * 25                       # ~3 KB
    at = app("pages/2_Pretraining.py")
    at.radio[0].set_value("Paste text").run()
    at.text_area[-1].set_value(text).run()
    assert not at.error and "Sentences" in str(at.table[0].value)
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.text_input(key="pt_prompt").set_value("My cat likes to")
    at.text_input(key="pt_cands").set_value("sleep, giraffe")
    at.run()
    at.button(key="pt_start").click().run()
    run_until_done(at)
    assert not at.error, texts(at.error)
    assert "tiny on pasted text, 50 steps" in texts(at.caption)
    assert "Trained on:** pasted text" in texts(at.sidebar.markdown)


def test_a_stopped_training_says_stopped_and_shows_how_far_it_got():
    """Stop at step `k` of `total`: the bar is filled k/total and says "stopped", not "done".
    The step-0 sample's half letters and control codes show as "�", and a caption explains it."""
    from explainer.app import ui
    from explainer.gpt.training import Finished, Sample, Started, Step

    total, k = 2000, 327

    def stoppable(cancel):
        yield Started(total, 1000, 4096, None)
        yield Sample(0, "gib\x1cber\ufffdi\x7fsh")
        for i in range(1, k + 1):
            yield Step(i, 5.0, 1e-3, 1000.0, i * 4096, i * 0.1, (total - i) * 0.1, i / total)
        cancel.wait(120)                        # running, until the page's Stop button is pressed
        yield Finished(k, "cancelled", 5.0, 2.0, k * 0.1, k * 4096)

    jm = ui.get_job_manager()
    job = jm.submit("someone", "a run to stop", stoppable)
    while (view := jm.get(job)).n_events < k + 2 and not view.ended:
        time.sleep(0.1)
    at = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    at.query_params["job"] = job
    at.run()
    bar = at.get("progress")[0].proto
    assert "left" in bar.text and "done" not in bar.text
    assert "What is “\ufffd”?" in texts(at.caption)
    assert "gib\ufffdber\ufffdi\ufffdsh" in texts(at.markdown) and "\x7f" not in texts(at.markdown)
    at.button(key="pt_stop").click().run()
    assert jm.wait(job, 60).state == "cancelled"
    at.run()
    assert not at.exception
    assert f"You stopped the training at step {k:,}." in texts(at.warning)
    bar = at.get("progress")[0].proto
    assert bar.text == f"Step {k:,} of {total:,} · stopped"
    assert bar.value == int(k / total * 100)                  # not a full bar


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


# --- The model for this phase ------------------------------------------------------------------

def _phase_probe():
    import streamlit as st

    from explainer.app import ui
    for phase in ("base", "tuned"):
        m = ui.phase_model(phase)
        st.write(f"{phase}={m.name if m is not None else None}")


def test_every_page_gets_the_same_model_for_a_phase(models_dir):
    if not {"base", "tuned", "feedback"} <= {p.stem for p in models_dir.glob("*.safetensors")}:
        pytest.skip("needs the shipped base, tuned and feedback models")

    def probe(active=None, tuned=None):
        at = AppTest.from_function(_phase_probe, default_timeout=TIMEOUT)
        if active:
            at.session_state["active_model"] = str(models_dir / f"{active}.safetensors")
        if tuned is not None:
            at.session_state["tuned_model"] = tuned
        return [m.value for m in at.run().markdown]

    assert probe() == ["base=base", "tuned=tuned"]
    # a chat model picked in the sidebar is no base model: the base phase takes the shipped one
    assert probe(active="feedback") == ["base=base", "tuned=tuned"]
    from explainer.gpt.paramfile import load_model
    mine = load_model(models_dir / "tuned.safetensors")
    (models_dir / "tuned.safetensors").rename(models_dir / "my-tuned.safetensors")
    import streamlit as st
    st.cache_data.clear()                      # the list of files is cached for 30 s
    # the assistant tuned in this session comes first; else the active model, if it is a tuned one
    assert probe(tuned=mine)[1] == "tuned=tuned"
    assert probe(active="my-tuned") == ["base=base", "tuned=my-tuned"]
    assert probe(active="feedback") == ["base=base", "tuned=None"]
