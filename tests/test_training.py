"""The training loop: events, learning, determinism, divergence, cancel, bits per byte."""
import math
import re
import threading

import pytest
import torch

from explainer.gpt.model import GPT, preset
from explainer.gpt.tokenizer import char_tokenizer
from explainer.gpt.training import (
    Batches,
    Eval,
    Finished,
    RankSnapshot,
    Sample,
    Started,
    Step,
    TrainConfig,
    TrainingError,
    evaluate,
    lr_at,
    sample_due,
    token_byte_lengths,
    train,
)
from explainer.phases.pretrain import encode_documents

TEXT = "\n\n".join(f"Story {i}. The cat sat on the mat and the dog ran in the park." for i in range(300))


@pytest.fixture(scope="module")
def setup():
    tok = char_tokenizer(TEXT)
    ids = encode_documents(tok, TEXT)
    return tok, Batches(ids[:-2000], ids[-2000:], 64)


def run(setup, steps=60, seed=0, **kw):
    tok, data = setup
    m = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=seed))
    kw.setdefault("sample_seconds", 0)      # samples by step count only, unless a test asks
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


def test_evaluate_counts_each_masked_token_once_across_chunks(setup):
    """20 windows are scored as a chunk of 16 and one of 4; a chunk with few masked tokens must
    weigh less, so the result is the mean over all masked tokens, wherever they fall."""
    tok, data = setup
    m = GPT(preset("tiny", vocab_size=tok.n_vocab)).eval()
    x, y, _ = data.val_set(20)
    mask = (torch.rand(y.shape, generator=torch.Generator().manual_seed(0)) < 0.5).long()
    mask[16:] = 0
    mask[16:, :3] = 1                                                # the last chunk: 3 tokens a window
    loss, _ = evaluate(m, (x, y, mask), None)
    with torch.no_grad():
        nll = torch.nn.functional.cross_entropy(m(x).logits.flatten(0, 1), y.flatten(), reduction="none")
    assert loss == pytest.approx(float((nll * mask.flatten()).sum() / mask.sum()), rel=1e-5)


def test_too_short_text_is_a_clear_error(setup):
    with pytest.raises(TrainingError, match="too short"):
        Batches(torch.arange(10), torch.arange(100), 64)


def test_model_job_passes_cancel_and_names_the_result():
    from types import SimpleNamespace

    from explainer.serve.runs import model_job

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


def test_timed_samples_come_between_checkpoints_one_per_step_at_most(setup):
    # sample_seconds tiny and no real cap: every step is "due", so every step gets one sample
    _, ev = run(setup, 40, sample_seconds=1e-9, sample_spread=0, max_samples=10**6)
    assert [e.step for e in ev if isinstance(e, Sample)] == list(range(0, 41))


def test_timed_samples_are_bounded(setup):
    _, ev = run(setup, 40, sample_seconds=1e-9, sample_spread=0, max_samples=3)
    steps = [e.step for e in ev if isinstance(e, Sample)]
    timed = [s for s in steps if s % 30]                   # 0, 30 and the last step: by the count
    assert 1 <= len(timed) <= 3 + 1 and steps == sorted(set(steps))   # + the final sample (40)
    assert {0, 30, 40} <= set(steps)


def test_sample_due_every_few_seconds_then_ever_rarer():
    cfg = TrainConfig(sample_seconds=15, sample_spread=0.2, max_samples=30)
    assert not sample_due(14.0, 30.0, 0, cfg) and sample_due(15.0, 30.0, 0, cfg)
    assert not sample_due(100.0, 600.0, 0, cfg) and sample_due(120.0, 600.0, 0, cfg)  # 0.2 x 600
    assert not sample_due(1e6, 240.0, 30, cfg)                       # the cap
    assert not sample_due(1e6, 240.0, 0, TrainConfig(sample_seconds=0))


@pytest.mark.parametrize("minutes", [1, 4, 45, 600])
def test_timed_samples_stay_few_however_long_the_run(minutes):
    """Simulated clock: a step every 0.12 s for `minutes`; gaps never exceed max(15 s, 20% of the
    time so far) by more than a step, and their number stays under the cap."""
    cfg = TrainConfig()
    last, times = 0.0, []
    for i in range(1, int(minutes * 60 / 0.12) + 1):
        now = i * 0.12
        if sample_due(now - last, now, len(times), cfg):
            last = now
            times.append(now)
    gaps = [b - a for a, b in zip([0.0] + times, times)]
    assert len(times) <= cfg.max_samples
    assert all(g <= max(cfg.sample_seconds, cfg.sample_spread * t) + 0.13 for g, t in zip(gaps, times))
    assert times[0] == pytest.approx(cfg.sample_seconds, abs=0.13)          # the first after 15 s


def test_events_doctests():
    """The event vocabulary's examples (which stop reasons count as a completed run)."""
    import doctest

    from explainer.gpt import events
    assert doctest.testmod(events).failed == 0
