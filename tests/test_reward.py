"""The reward model: bad ratings are explained, it learns a rule from synthetic ratings, checks
the answer against the question, picks its weight penalty on folds, and holds out whole prompts."""
import random

import pytest
import torch
from feedback_fixtures import STORMY, SUNNY, synthetic

from explainer.gpt.events import RewardModelReady
from explainer.gpt.training import drain
from explainer.phases import reward as R
from explainer.phases.ratings import Rating


def r(rating, prompt="Q?", answer="A."):
    return Rating(prompt, answer, rating, "m", "s")


def test_check_ratings_says_what_is_missing():
    assert "no ratings yet" in R.check_ratings([])
    assert "All 30 ratings are 👍" in R.check_ratings([r(1, answer=str(i)) for i in range(30)])
    assert "All 30 ratings are 👎" in R.check_ratings([r(-1, answer=str(i)) for i in range(30)])
    assert "Only 4 ratings" in R.check_ratings([r(1), r(-1), r(1), r(-1)])
    assert "Only 1 👎" in R.check_ratings([r(1, f"P{i}?") for i in range(25)] + [r(-1)])
    assert "one question" in R.check_ratings([r(i % 2 * 2 - 1, answer=str(i)) for i in range(30)])
    assert R.check_ratings(synthetic()) is None


def test_reward_model_learns_a_simple_rule(tiny):
    spec = R.RewardSpec(heldout=0.25)
    events = []
    rm = drain(R.train_reward_model(tiny, synthetic(), spec), events.append)
    ready = events[-1]
    assert isinstance(ready, RewardModelReady)
    assert ready.n_heldout == 36 and ready.n_train == 108                 # 6 of 24 prompts held out
    assert ready.heldout_acc >= 0.9, ready
    # the flag counts agree with the accuracy: right = flagged 👎 + unflagged 👍
    assert ready.downs == 18
    right = ready.downs_flagged + (ready.n_heldout - ready.downs - ready.ups_flagged)
    assert right == round(ready.heldout_acc * ready.n_heldout)
    assert ready.flagged_text() == (f"it flags {ready.downs_flagged} of the 18 held-out 👎 answers, "
                                    f"and wrongly {ready.ups_flagged} of the 18 👍 ones")
    no_downs = RewardModelReady(40, 10, 1.0, 1.0, 1.0, 1.0, downs=0)
    assert no_downs.flagged_text().startswith("none of the held-out ratings is 👎")
    good = R.reward(rm, tiny.tokenizer, "A new question?", ["sunny lovely picnic smile."], 64)
    bad = R.reward(rm, tiny.tokenizer, "A new question?", ["thunder flood dark rain."], 64)
    assert float(good) > 0.5 > float(bad)


def on_subject(n_prompts=24, seed=0):
    """👍 when the answer is about the question's subject, 👎 when it is about another one: the
    same answers are good for one question and bad for another, so only a reward model that
    compares the answer with the question can learn it."""
    rng = random.Random(seed)
    subjects = SUNNY + STORMY
    out = []
    for p in range(n_prompts):
        subject = subjects[p % len(subjects)]
        for i in range(6):
            other = rng.choice([w for w in subjects if w != subject])
            good = i % 2 == 0
            out.append(Rating(f"Tell me about the {subject}.", f"The {subject if good else other} is here "
                              f"today.", 1 if good else -1, "tiny", "t"))
    return out


def test_reward_model_checks_the_answer_against_the_question(tiny):
    events = []
    drain(R.train_reward_model(tiny, on_subject(), R.RewardSpec(heldout=0.25)), events.append)
    assert events[-1].heldout_acc >= 0.9, events[-1]


def test_echo_is_how_much_of_the_question_the_answer_repeats():
    e0, e1, e3 = torch.eye(4)[0], torch.eye(4)[1], torch.eye(4)[3]
    v = torch.stack([e0, e1, e0, e3])[None]                                # (1, 4, 4) unit vectors
    q = torch.tensor([1.0, 1, 0, 0])[None, :, None]                        # the question: e0 e1
    a = torch.tensor([0.0, 0, 1, 1])[None, :, None]                        # the answer: e0 e3
    assert R.echo(v, q, a).item() == pytest.approx(0.5)                   # e0 echoed, e1 not


def test_penalty_is_chosen_on_folds_of_the_training_ratings(tiny):
    """Ratings that follow one summary feature, with noise in every hidden-state feature, want a
    strong penalty on the hidden states; ratings that follow many hidden-state features together
    want a weak one."""
    rm = R.RewardModel(tiny.model)
    gen = torch.Generator().manual_seed(0)
    n, f = 480, rm.n_states + R.N_SUMMARY
    x = torch.randn(n, f, generator=gen)
    prompts = [f"q{i // 4}" for i in range(n)]
    spec = R.RewardSpec(l2_states=(0.01, 3.0))
    y_summary = (x[:, rm.n_states] > 0).float()
    assert R.choose_penalty(rm, x, y_summary, prompts, spec) == 3.0
    y_states = (x[:, :10].sum(1) > 0).float()
    assert R.choose_penalty(rm, x, y_states, prompts, spec) == 0.01


def test_held_out_split_is_by_prompt():
    train, held = R.split_heldout(synthetic(), 0.25, 0)
    assert {x.prompt for x in train}.isdisjoint({x.prompt for x in held})
    assert len(held) == 36


def test_doctests():
    import doctest
    assert doctest.testmod(R).failed == 0
