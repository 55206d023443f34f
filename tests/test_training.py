"""The training loop: events, learning, determinism, divergence, cancel, bits per byte."""
import math
import re
import threading

import pytest
import torch

from explainer.model import GPT, preset
from explainer.pretrain import encode_documents
from explainer.tokenizer import char_tokenizer
from explainer.training import (Batches, Eval, Finished, RankSnapshot, Sample, Started, Step,
                                TrainConfig, TrainingError, evaluate, lr_at, train,
                                token_byte_lengths)

TEXT = "\n\n".join(f"Story {i}. The cat sat on the mat and the dog ran in the park." for i in range(300))


@pytest.fixture(scope="module")
def setup():
    tok = char_tokenizer(TEXT)
    ids = encode_documents(tok, TEXT)
    return tok, Batches(ids[:-2000], ids[-2000:], 64)


def run(setup, steps=60, seed=0, **kw):
    tok, data = setup
    m = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=seed))
    cfg = TrainConfig(steps=steps, batch_size=8, eval_every=20, sample_every=30, rank_every=20,
                      seed=seed, **kw)
    events = list(train(m, data, cfg, tokenizer=tok, watch_prompts=["The cat sat on the"],
                        candidates=["mat", "dog"]))
    return m, events


def test_events_tell_the_whole_story_and_loss_falls(setup):
    _, ev = run(setup)
    assert isinstance(ev[0], Started) and isinstance(ev[-1], Finished)
    steps = [e for e in ev if isinstance(e, Step)]
    evals = [e for e in ev if isinstance(e, Eval)]
    assert [e.step for e in steps] == list(range(1, 61))
    assert [e.step for e in evals] == [0, 20, 40, 60]
    assert evals[-1].val_loss < evals[0].val_loss - 1.0
    assert all(s.tokens_per_s > 0 and 0 < s.progress <= 1 for s in steps)
    assert steps[-1].progress == 1.0 and steps[-1].eta == pytest.approx(0, abs=1e-6)
    assert {e.step for e in ev if isinstance(e, Sample)} == {0, 30, 60}
    snaps = [e for e in ev if isinstance(e, RankSnapshot)]
    assert [s.step for s in snaps] == [0, 20, 40, 60]
    assert [c.word for c in snaps[-1].ranking.candidates] == ["mat", "dog"]
    assert ev[-1].reason == "done" and ev[-1].tokens_seen == 60 * 8 * 64


def test_same_seed_same_losses(setup):
    loss = lambda ev: [e.train_loss for e in ev if isinstance(e, Step)]
    a, b, c = run(setup, 15)[1], run(setup, 15)[1], run(setup, 15, seed=1)[1]
    assert loss(a) == loss(b) and loss(a) != loss(c)


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, lr=1e-3, warmup=10, min_lr_ratio=0.1)
    assert lr_at(0, 0, cfg) == pytest.approx(1e-4)
    assert lr_at(0.1, 10, cfg) > lr_at(0.5, 50, cfg) > lr_at(1.0, 99, cfg)
    assert lr_at(1.0, 99, cfg) == pytest.approx(1e-4)


def test_divergence_stops_with_a_clear_message(setup):
    with pytest.raises(TrainingError, match="diverged.*lower learning rate"):
        run(setup, 30, lr=1e6, grad_clip=1e9, warmup=1)


def test_cancel_between_steps(setup):
    tok, data = setup
    stop = threading.Event()
    m = GPT(preset("tiny", vocab_size=tok.n_vocab))
    seen = []
    for e in train(m, data, TrainConfig(steps=1000, batch_size=4, sample_every=0), cancel=stop):
        seen.append(e)
        if isinstance(e, Step) and e.step == 5:
            stop.set()
    assert seen[-1].reason == "cancelled" and seen[-1].step == 5


def test_minutes_budget_ends_the_run(setup):
    tok, data = setup
    m = GPT(preset("tiny", vocab_size=tok.n_vocab))
    ev = list(train(m, data, TrainConfig(steps=10**6, minutes=0.02, batch_size=4, sample_every=0)))
    assert ev[-1].reason == "time" and 0 < ev[-1].step < 10**6


def test_bits_per_byte_is_loss_over_bytes(setup):
    tok, data = setup
    m = GPT(preset("tiny", vocab_size=tok.n_vocab)).eval()
    vs = data.val_set(4)
    bl = token_byte_lengths(tok, tok.n_vocab)
    loss, bpb = evaluate(m, vs, bl)
    x, y, _ = vs
    n_bytes = float(bl[y.flatten()].sum())
    assert bpb == pytest.approx(loss * y.numel() / math.log(2) / n_bytes, rel=1e-5)


def test_too_short_text_is_a_clear_error(setup):
    with pytest.raises(TrainingError, match="too short"):
        Batches(torch.arange(10), torch.arange(100), 64)


def test_model_job_passes_cancel_and_names_the_result():
    from types import SimpleNamespace
    from explainer.training import model_job

    def run(x, *, cancel, scale):
        yield x * scale
        return SimpleNamespace(facts={"stopped": cancel.is_set()})

    fn = model_job(run, 3, name="tuned", scale=2)
    cancel = threading.Event()
    gen = fn(cancel)
    assert next(gen) == 6
    cancel.set()
    with pytest.raises(StopIteration) as done:
        next(gen)
    facts = done.value.value.facts
    assert facts["stopped"] is True and re.fullmatch(r"tuned \d\d:\d\d", facts["name"])
