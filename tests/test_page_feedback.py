"""The Human feedback page under AppTest: without a model, with a tiny tuned model (rate with
the thumbs, simulated raters, train from the ratings, before/after), and with a broken ratings
database (a message, never a crash)."""
import functools

import pytest
import streamlit as st
from pagetest import open_page, run_until, texts

from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import load_model, save_model
from explainer.phases import feedback as fb
from explainer.phases.judge import before_after
from explainer.phases.ratings import RatingsStore
from explainer.phases.reward import RewardSpec


@pytest.fixture(scope="module")
def tuned_dir(tmp_path_factory, tiny_bpe):
    d = tmp_path_factory.mktemp("models")
    model = GPT(preset("tiny", vocab_size=tiny_bpe.n_vocab, seed=4))
    save_model(d / "tuned.safetensors", model, tiny_bpe, {"kind": "tuned", "corpus": "tiny test"})
    return d


@pytest.fixture
def env(monkeypatch, tmp_path):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("EXPLAINER_RATINGS_DB", str(tmp_path / "ratings.sqlite"))
    # a short run: the page's "about 2 minutes" would make a slow test
    monkeypatch.setattr(fb, "FeedbackSpec", functools.partial(
        fb.FeedbackSpec, steps=2, minutes=None, max_new_tokens=12, reward=RewardSpec(steps=20),
        prompts_per_step=2, samples_per_prompt=2))
    yield monkeypatch, tmp_path / "ratings.sqlite"


run = functools.partial(open_page, "pages/4_Human_feedback.py", timeout=180)


def test_without_a_model_the_page_says_so(env, tmp_path):
    monkeypatch, _ = env
    at = run(tmp_path, monkeypatch)
    assert "No tuned model yet" in texts(at.info)
    assert [m.label for m in at.metric] == ["Your ratings", "The whole class", "Simulated raters"]
    assert all(b.disabled for b in at.button if "Train the reward model" in b.label)
    assert len(at.latex) == 1


def test_rate_with_the_thumbs(env, tuned_dir):
    monkeypatch, db = env
    at = run(tuned_dir, monkeypatch)
    answers = [m for m in at.markdown if 'class="model-text"' in m.value]   # ui.model_text: the model's words
    assert len(at.feedback) == 4 and len(answers) == 4
    assert "no ratings yet" in texts(at.info)
    at.feedback[0].set_value(1).run()
    at.feedback[1].set_value(0).run()
    at.feedback[1].set_value(0).run()                       # a double click
    rows = RatingsStore(db).ratings()
    assert [(r.rating, r.rater, r.model) for r in rows] == [(1, "person", "tuned"), (-1, "person", "tuned")]
    assert at.metric[0].value == "2" and at.metric[1].value == "2"
    assert texts(at.caption).count("1 👍 · 1 👎") == 2          # the split, of the person and the class
    assert "Only 2 ratings" in texts(at.info)
    at.feedback[0].set_value(None).run()                    # clicked off again: taken back
    assert [r.rating for r in RatingsStore(db).ratings()] == [-1]
    assert at.metric[0].value == "1" and "0 👍 · 1 👎" in texts(at.caption)
    at.button[0].click().run()                               # four new answers
    assert len(at.feedback) == 4 and all(f.value is None for f in at.feedback)
    assert "helpful" in texts(at.markdown) and "👍 when the answer" in texts(at.markdown)


def test_simulated_raters_then_training_then_before_and_after(env, tuned_dir):
    monkeypatch, db = env
    at = run(tuned_dir, monkeypatch)
    at.radio(key="fb_rater").set_value("safe").run()
    next(b for b in at.button if b.label.startswith("Rate 200")).click().run()
    run_until(at, lambda a: RatingsStore(db).counts().total >= 200)
    assert RatingsStore(db).counts(rater="sim:safe").total == 200
    at.run()
    assert at.metric[2].value.startswith("200")
    # random answers are all safe: the page explains that nothing bad was rated
    at.radio(key="fb_src").set_value("sim:safe").run()
    assert "All 200 ratings are 👍" in texts(at.info)
    # add a mix the reward model can learn from, then train
    RatingsStore(db).add_many([(f"Question {i}?", f"answer {j}.", 1 if j % 2 else -1, "tuned", "t")
                               for i in range(10) for j in range(4)])
    at.radio(key="fb_src").set_value("person").run()
    train = next(b for b in at.button if b.label.startswith("Train the reward model"))
    assert not train.disabled
    train.click().run()
    run_until(at, lambda a: any("ready" in str(s.value) for s in a.success))
    assert any("held-out" in m.label for m in at.metric)
    assert "after feedback" in at.table[0].value.columns
    assert "Chance per token" in texts(at.markdown)
    rm = next(m for m in at.metric if "held-out" in m.label)
    assert "always guessing" in rm.delta                 # the baseline is on screen, not in a tooltip
    assert "weight penalty of" in rm.help and "folds" in rm.help      # the penalty it picked
    assert "held-out 👎 answers, and wrongly" in rm.help                # what accuracy hides
    assert any(m.label.startswith("Reward (chance of 👍, last 2 steps)") for m in at.metric)
    captions = texts(at.caption)
    assert "is your feedback-trained model" in captions and "never trains on the rated answers" in captions
    # the approval counted over many held-out answers: the benchmark's measurement, on request
    assert not any(m.label.endswith("answers approved") for m in at.metric)
    next(b for b in at.button if b.label.startswith("Count the 👍 of “helpful”")).click().run(timeout=180)
    shown = {m.label: m for m in at.metric if m.label.endswith("answers approved")}
    tuned = load_model(tuned_dir / "tuned.safetensors")          # the page's: the shipped one
    want = before_after(tuned, at.session_state["feedback_model"], "helpful").shares()
    for label, how in (("Sampled answers approved", "sampled"), ("Chat answers approved", "greedy")):
        s = want[how]
        assert shown[label].value == f"{s['approved_before']:.1%} → {s['approved_after']:.1%}"
        assert f"{s['answers']:,} answers to {s['prompts']:,} held-out questions" in shown[label].help
    reasons = next(t.value for t in at.table if "reason" in t.value.columns)   # what was fixed, what is left
    assert {r["reason"]: [r["tuned model"], r["after feedback"]] for r in reasons.to_dict("records")} \
        == want["sampled"]["reasons"]


def test_a_corrupt_database_is_set_aside_and_the_page_works(env, tuned_dir):
    monkeypatch, db = env
    db.write_bytes(b"not a database at all " * 100)
    at = run(tuned_dir, monkeypatch)
    assert "kept as" in texts(at.warning)
    assert any(".corrupt-" in p.name for p in db.parent.iterdir())


def test_an_unusable_database_gives_a_message(env, tuned_dir, tmp_path):
    monkeypatch, _ = env
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("EXPLAINER_RATINGS_DB", str(blocker / "ratings.sqlite"))
    at = run(tuned_dir, monkeypatch)
    assert "Cannot create the folder" in texts(at.warning)
    assert len(at.feedback) == 4                              # rating UI still drawn
    at.feedback[0].set_value(1).run()
    assert not at.exception and "keeps working" in texts(at.warning)
