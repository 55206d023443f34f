"""The Pretraining page under AppTest: widgets, bad input, a tiny training started from the page
runs to its end and can be saved, a reload reattaches to the job in the URL, and a failed, queued
or stopped job is shown as such.

AppTest does not fire `run_every` timers, so a running job is followed by calling `at.run()` in
a loop (with a generous overall limit; no test asserts on how long anything took).
"""
import time

import pytest
from pagetest import ROOT, open_page, run_until, texts

from explainer.phases import pretrain
from streamlit.testing.v1 import AppTest

TIMEOUT = 120
pytestmark = pytest.mark.usefixtures("models_dir")


def test_pretraining_widgets():
    at = open_page("pages/2_Pretraining.py")
    assert at.radio[0].options == ["Everyday English", "Python documentation", "Upload a file", "Paste text"]
    assert at.selectbox(key="pt_preset").value == "small"
    assert at.select_slider(key="pt_steps").value == pretrain.PretrainSpec.steps
    assert at.text_input(key="pt_prompt").value == "A flash flood watch will be in effect all"
    assert at.text_input(key="pt_cands").value == "night, day, giraffe"
    assert at.button(key="pt_start").label == "Start training"
    run_until(at, lambda at: "steps ×" in texts(at.caption))     # a step is timed meanwhile
    assert "Estimated time: about" in texts(at.caption)
    assert "Sentences" in str(at.table[0].value)      # corpus statistics


def test_pretraining_rejects_a_too_short_paste():
    at = open_page("pages/2_Pretraining.py")
    at.radio[0].set_value("Paste text").run()
    at.text_area[-1].set_value("Far too short to learn from.").run()
    assert "too short" in texts(at.error)
    at.button(key="pt_start").click().run()
    assert "Choose a corpus first" in texts(at.error)
    assert "job" not in at.query_params


def trained(at: AppTest) -> bool:
    """The page's training ended: the model it made is active, or a problem is shown."""
    return "now your **active model**" in texts(at.success) or bool(at.error)


def test_tiny_training_completes_and_can_be_saved(models_dir):
    at = open_page("pages/2_Pretraining.py")
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.text_input(key="pt_cands").set_value("night, giraffe")
    at.run()
    at.button(key="pt_start").click().run()
    assert not at.exception
    job_id = at.query_params["job"]
    assert job_id and at.button(key="pt_stop")            # Start became Stop
    run_until(at, trained)
    assert not at.error, texts(at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tokens seen"] == "102 k"                  # 50 steps x 32 x 64 = 102,400 tokens
    assert float(metrics["Validation loss"]) < 7.7           # below uniform guessing over 2,048
    assert "step 50:" in texts(at.markdown)                  # a sample at the last checkpoint
    from explainer.serve import runs  # the next estimate comes from this run
    assert runs.seconds_per_step("tiny")[1] == "from the latest training of this size on this server"
    # the trained model is this session's active model, shown in the sidebar
    assert at.selectbox(key="_active_model").value == "session"
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
    assert any(md.value.startswith("> ") and "**A flash flood watch" in md.value and 'lang="en"' in md.value
               for md in at.markdown)                    # the model's words, marked as English


def test_reload_reattaches_to_the_job_from_the_url():
    at = open_page("pages/2_Pretraining.py")
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.run()
    at.button(key="pt_start").click().run()
    job_id = at.query_params["job"]
    fresh = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    fresh.query_params["job"] = job_id                       # a new session with the same URL
    run_until(fresh, trained)
    assert "tiny on Everyday English, 50 steps" in texts(fresh.caption)
    assert fresh.query_params["job"] == job_id


def test_stale_job_id_in_url_is_explained():
    at = AppTest.from_file(str(ROOT / "pages/2_Pretraining.py"), default_timeout=TIMEOUT)
    at.query_params["job"] = "no-such-job"
    at.run()
    assert not at.exception
    assert "no longer on this server" in texts(at.info)
    assert "job" not in at.query_params


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
        at = open_page("pages/2_Pretraining.py")
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


def test_training_on_pasted_text():
    text = ("My cat likes to sleep in the sun. Every morning she eats fish, and then she naps "
            "on the warm stones by the door.\n\n") * 25                       # ~3 KB
    at = open_page("pages/2_Pretraining.py")
    at.radio[0].set_value("Paste text").run()
    at.text_area[-1].set_value(text).run()
    assert not at.error and "Sentences" in str(at.table[0].value)
    at.selectbox(key="pt_preset").set_value("tiny")
    at.select_slider(key="pt_steps").set_value(50)
    at.text_input(key="pt_prompt").set_value("My cat likes to")
    at.text_input(key="pt_cands").set_value("sleep, giraffe")
    at.run()
    at.button(key="pt_start").click().run()
    run_until(at, trained)
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
