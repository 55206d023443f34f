"""Learning from feedback on tiny models: a policy update raises the reward, the entropy term
alone makes the model surer, a run ends in a parameter file of kind "feedback", the ablations
reward by the rule or by nothing, and the CLI explains bad input."""
import pytest
import torch
import torch.nn as nn
from feedback_fixtures import SPEC, synthetic

from explainer import cli
from explainer.gpt import chat
from explainer.gpt.events import Finished, PolicyStep, RewardModelReady
from explainer.gpt.model import GPT
from explainer.gpt.paramfile import ROOT, load_model, read_metadata, save_model
from explainer.gpt.training import TrainingError, drain
from explainer.phases import feedback as fb
from explainer.phases import sft
from explainer.phases.answers import (
    answer_head,
    answer_logprobs,
    answer_text,
    sample_answers,
)
from explainer.phases.judge import before_after, logprob_per_token, mean_kl
from explainer.phases.ratings import RatingsStore
from explainer.phases.reward import RewardSpec, reward
from explainer.serve.progress import summarize


def test_run_refuses_bad_ratings(tiny):
    with pytest.raises(TrainingError, match="no ratings"):
        next(fb.run(tiny, [], fb.FeedbackSpec(**SPEC)))


# --------------------------------------------------------------------------------------------------
# Policy optimisation

class ShortIsGood(nn.Module):
    """A stand-in reward model: the shorter the answer, the higher the score."""

    def forward(self, idx, roles):
        return 3.5 - (roles == 2).sum(1).float() / 4


def fresh_reward(model, tok, prompts, rm):
    gen = torch.Generator().manual_seed(123)
    rewards = []
    for p in prompts:
        texts = [answer_text(tok, a) for a in sample_answers(model, tok, p, 8, 16, 1.0, gen)]
        rewards.append(reward(rm, tok, p, texts, 64))
    return float(torch.cat(rewards).mean())


def test_a_policy_update_raises_the_reward(tiny):
    tok, prompts = tiny.tokenizer, ["Hi", "What should I eat today?", "Tell me a story.", "Is it cold?"]
    policy, rm = GPT(tiny.config), ShortIsGood()
    policy.load_state_dict(tiny.model.state_dict())
    spec = fb.FeedbackSpec(lr=3e-3, kl_coef=0.01, entropy_coef=0.0, **SPEC)     # the reward alone
    opt = torch.optim.Adam(policy.parameters(), lr=spec.lr)
    gen = torch.Generator().manual_seed(0)
    before = fresh_reward(policy, tok, prompts, rm)
    def score(prompt, texts):
        return reward(rm, tok, prompt, texts, 64)
    steps = [fb.policy_step(policy, tiny.model, score, tok, prompts, opt, spec, gen, i) for i in range(1, 13)]
    after = fresh_reward(policy, tok, prompts, rm)
    assert after > before + 0.1, (before, after)
    assert isinstance(steps[0], PolicyStep) and [s.step for s in steps] == list(range(1, 13))
    assert steps[-1].kl > 0 and steps[0].kl == pytest.approx(0, abs=1e-6)
    assert mean_kl(policy, tiny.model, tok, prompts[:2], 2, 0, 16) > 0


def test_the_entropy_term_alone_makes_the_model_surer(tiny):
    """With the same reward for every answer the advantages are 0, so without a KL price only the
    entropy term acts: with gamma = 0 nothing moves, with gamma > 0 the model grows surer."""
    tok, prompts = tiny.tokenizer, ["Hi", "What should I eat today?", "Tell me a story.", "Is it cold?"]
    def same(prompt, texts):
        return torch.full((len(texts),), 0.5)
    def entropy(model):
        gen = torch.Generator().manual_seed(7)
        heads = [answer_head(tok, p, 16, 64) for p in prompts]
        answers = [a for p in prompts for a in sample_answers(tiny.model, tok, p, 4, 16, 1.0, gen)]
        with torch.no_grad():
            _, n, _, ent = answer_logprobs(model, None, [h for h in heads for _ in range(4)], answers,
                                           entropy=True)
        return float(ent.sum() / n.sum())
    for gamma in (0.0, 1.0):
        policy = GPT(tiny.config)
        policy.load_state_dict(tiny.model.state_dict())
        spec = fb.FeedbackSpec(lr=3e-3, kl_coef=0.0, entropy_coef=gamma, **SPEC)
        opt = torch.optim.Adam(policy.parameters(), lr=spec.lr)
        gen = torch.Generator().manual_seed(0)
        steps = [fb.policy_step(policy, tiny.model, same, tok, prompts, opt, spec, gen, i) for i in range(1, 13)]
        if gamma == 0:
            assert all(torch.equal(a, b) for a, b in zip(policy.parameters(), tiny.model.parameters()))
        else:
            assert entropy(policy) < entropy(tiny.model) - 0.5, (entropy(policy), entropy(tiny.model))
            assert steps[-1].entropy < steps[0].entropy and steps[-1].kl > 0


# --------------------------------------------------------------------------------------------------
# The whole run, the simulated raters and the CLI

def test_run_returns_a_feedback_model(tiny, tmp_path):
    spec = fb.FeedbackSpec(steps=3, reward=RewardSpec(steps=20), prompts_per_step=2, samples_per_prompt=4, **SPEC)
    events = []
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"]), events.append)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Status" and "RewardModelReady" in kinds and kinds[-1] == "Finished"
    assert kinds.count("PolicyStep") == 3 and kinds.count("RewardStep") > 0
    s = summarize(events)
    assert s.policy_steps == [1, 2, 3] and s.step == 3 and s.rm is not None and s.finished.reason == "done"
    assert s.progress == 1.0 and len(s.reward) == len(s.kl) == len(s.entropy) == 3
    assert s.samples[-1] == (3, events[-2].sample) and len(s.rm_loss[1]) == kinds.count("RewardStep")
    first = kinds.index("PolicyStep")                                    # Stop after the first step
    stopped = events[:first + 1] + [Finished(1, "cancelled", elapsed=1.0)]
    assert summarize(stopped).progress == events[first].progress < 1.0   # the share it reached
    assert out.facts["kind"] == "feedback" and out.facts["ratings"] == 144
    shipped = read_metadata(ROOT / "models" / "feedback.safetensors")["facts"]
    assert set(out.facts) == set(shipped)                                # the same model card
    save_model(tmp_path / "fb.safetensors", out.model, out.tokenizer, out.facts)
    back = load_model(tmp_path / "fb.safetensors")
    assert chat.is_chat_model(back) and back.facts["policy_steps"] == 3
    assert not torch.equal(back.model.wte.weight, tiny.model.wte.weight)   # it moved
    assert logprob_per_token(back, "Hi", "Hello.") != logprob_per_token(tiny, "Hi", "Hello.")
    assert out.facts["reward"] == "reward model"
    ready = next(e for e in events if isinstance(e, RewardModelReady))
    assert out.facts["reward_model_heldout_acc"] == round(ready.heldout_acc, 3)
    assert out.facts["reward_model_penalty"] in spec.reward.l2_states
    assert out.facts["val_loss"] > 0                                     # the model card's figure
    assert out.facts["val_loss"] == pytest.approx(sft.heldout_loss(out), abs=1e-4)


def test_rule_as_reward_ablation_rewards_by_the_rule(tiny):
    spec = fb.FeedbackSpec(steps=2, reward=RewardSpec(steps=5), prompts_per_step=2, samples_per_prompt=4, **SPEC)
    events = []
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"],
                           score=fb.rule_as_reward("helpful")), events.append)
    rewards = [e.reward for e in events if isinstance(e, PolicyStep)]
    # the tiny model's answers are gibberish: the rule gives 0 or 1 each, so a step's mean is k/8
    assert len(rewards) == 2 and all(abs(r * 8 - round(r * 8)) < 1e-6 for r in rewards)
    assert "rule itself" in out.facts["reward"]
    assert any(isinstance(e, RewardModelReady) for e in events)     # still trained and measured
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"], score=fb.NO_REWARD))
    assert out.facts["reward"].startswith("none")


def test_cli_explains_missing_ratings_and_trains(tiny, tmp_path, capsys):
    model = tmp_path / "tiny.safetensors"
    save_model(model, tiny.model, tiny.tokenizer, tiny.facts)
    db = tmp_path / "r.sqlite"
    assert cli.main(["feedback", "--ratings", str(db), "--base", str(model)]) == 2
    assert "no ratings yet" in capsys.readouterr().err
    RatingsStore(db).add_many([(x.prompt, x.answer, x.rating, x.model, x.session) for x in synthetic()])
    out = tmp_path / "fb.safetensors"
    assert cli.main(["feedback", "--ratings", str(db), "--base", str(model), "--steps", "2",
                     "--minutes", "0", "--threads", "1", "--out", str(out), "--temperature", "1",
                     "--reward-rule", "helpful"]) == 0
    printed = capsys.readouterr().out
    assert "reward model: held-out accuracy" in printed
    facts = load_model(out).facts
    assert facts["kind"] == "feedback" and facts["spec"]["temperature"] == 1.0
    assert facts["reward"] == "the 'helpful' rule itself (ablation)"


def test_cli_eval_prints_the_benchmarks_before_and_after(tiny, tmp_path, capsys):
    model = tmp_path / "tiny.safetensors"
    save_model(model, tiny.model, tiny.tokenizer, tiny.facts)
    db = tmp_path / "r.sqlite"
    RatingsStore(db).add_many([(x.prompt, x.answer, x.rating, x.model, x.session) for x in synthetic()])
    assert cli.main(["feedback", "--ratings", str(db), "--base", str(model), "--steps", "1",
                     "--minutes", "0", "--threads", "1", "--eval", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    measured = before_after(tiny, tiny, "helpful", 0, 1, 4).shares()   # the tuned side, again
    greedy = next(x for x in lines if "chat answers (greedy" in x)
    sampled = next(x for x in lines if "sampled answers (temperature 1, 4 to each of 8 held-out" in x)
    assert greedy.startswith(f"'helpful' approves {measured['greedy']['approved_before']:.1%} -> ")
    assert f"of {measured['greedy']['answers']} chat answers" in greedy
    assert sampled.startswith(f"'helpful' approves {measured['sampled']['approved_before']:.1%} -> ")
    assert "👎 by reason: " in sampled
    assert lines[-1].startswith(f"sampled answers to one question that differ: "
                                f"{measured['sampled']['distinct_before']:.0%} -> ")
    assert "; mean KL to the tuned model: " in lines[-1]


@pytest.mark.parametrize("value", ["0", "-1", "warm", "nan"])
def test_cli_refuses_a_practice_temperature_that_is_not_above_zero(value, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["feedback", "--temperature", value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --temperature" in err and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--kl", "--entropy"])
@pytest.mark.parametrize("value", ["-1", "much", "nan", "inf"])
def test_cli_refuses_a_penalty_weight_below_zero(flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["feedback", flag, value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"argument {flag}" in err and "Traceback" not in err
    assert "at least 0" in err or "is not a number" in err


def test_doctests():
    import doctest
    assert doctest.testmod(fb).failed == 0
