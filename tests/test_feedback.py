"""Learning from feedback on tiny models: the reward model learns a rule from synthetic ratings,
a policy update raises the reward, batched sampling matches the chat module, bad input is
explained, and a run ends in a parameter file of kind "feedback"."""
import random
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from explainer import chat, cli, corpus, sft
from explainer import feedback as fb
from explainer.model import GPT, preset
from explainer.paramfile import LoadedModel, load_model, save_model
from explainer.raters import RATERS
from explainer.ratings import Rating, RatingsStore
from explainer.tokenizer import train_bpe
from explainer.training import TrainingError, drain

SPEC = dict(max_new_tokens=16, minutes=None)


@pytest.fixture(scope="module")
def tiny():
    tok, _ = train_bpe(corpus.get_corpus("everyday").text[:60_000], 400)
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=3))
    model.eval()
    return LoadedModel(model, tok, model.config, {"kind": "tuned", "name": "tiny"}, None)


SUNNY = "sunny warm happy bright lovely garden picnic smile".split()
STORMY = "storm thunder flood cold dark wind rain grey".split()


def synthetic(n_prompts=24, per_prompt=6, seed=0):
    """👍 when the answer's words are sunny, 👎 when they are stormy: a rule the reward model must find."""
    rng = random.Random(seed)
    out = []
    for p in range(n_prompts):
        for i in range(per_prompt):
            good = i % 2 == 0
            words = rng.choices(SUNNY if good else STORMY, k=rng.randint(4, 8))
            out.append(Rating(f"Question number {p}?", " ".join(words) + ".", 1 if good else -1, "tiny", "t"))
    return out


# --------------------------------------------------------------------------------------------------
# Bad input

def r(rating, prompt="Q?", answer="A."):
    return Rating(prompt, answer, rating, "m", "s")


def test_check_ratings_says_what_is_missing():
    assert "no ratings yet" in fb.check_ratings([])
    assert "All 30 ratings are 👍" in fb.check_ratings([r(1, answer=str(i)) for i in range(30)])
    assert "All 30 ratings are 👎" in fb.check_ratings([r(-1, answer=str(i)) for i in range(30)])
    assert "Only 4 ratings" in fb.check_ratings([r(1), r(-1), r(1), r(-1)])
    assert "Only 1 👎" in fb.check_ratings([r(1, f"P{i}?") for i in range(25)] + [r(-1)])
    assert "one question" in fb.check_ratings([r(i % 2 * 2 - 1, answer=str(i)) for i in range(30)])
    assert fb.check_ratings(synthetic()) is None


def test_run_refuses_bad_ratings(tiny):
    with pytest.raises(TrainingError, match="no ratings"):
        next(fb.run(tiny, [], fb.FeedbackSpec(**SPEC)))


# --------------------------------------------------------------------------------------------------
# Sampling and log-probabilities

def test_batched_greedy_sampling_matches_the_chat_module(tiny):
    prompt = "What should I eat today?"
    ids = fb.sample_answers(tiny.model, tiny.tokenizer, prompt, 3, max_new_tokens=12, temperature=0)
    ref = list(chat.stream(tiny.model, tiny.tokenizer, prompt, 12))
    assert ids == [ref] * 3


def test_feedback_and_sft_benchmarks_read_the_same_greedy_answers():
    """Two answer paths: feedback.judge samples prompts side by side (batched, KV cache), sft.compare
    asks chat.answer one at a time. On the shipped tuned model and held-out questions of many
    lengths, their greedy answers must be the same text (judge marks a cut-off answer with CUT)."""
    tuned = load_model(SHIPPED / "tuned.safetensors")
    prompts = corpus.instructions.heldout_prompts(corpus.instructions.instruction_data(0), 3, 0)
    judged = fb.judge(tuned, "helpful", prompts, 1, seed=0, temperature=0.0)
    rows = sft.compare(None, tuned, prompts)
    assert len({len(fb.answer_head(tuned.tokenizer, p, chat.MAX_NEW_TOKENS, 128)) for p, _ in prompts}) > 3
    assert [j.answers[0] for j in judged] == [r.tuned.text.strip() + ("" if r.tuned.ended else fb.CUT)
                                              for r in rows]


def test_before_after_judges_both_models_with_the_same_dice(tiny):
    """The page's and the benchmark's before/after: every held-out question greedily, a few per
    topic sampled; one model against itself comes out equal, answer for answer."""
    data = corpus.instructions.instruction_data(0)
    m = fb.before_after(tiny, tiny, "helpful", per_topic=1, samples=2)
    shares = m.shares()
    assert shares["greedy"]["prompts"] == len({p.prompt for p in data.heldout})
    assert shares["sampled"] == {"prompts": 8, "answers": 16, **{k: shares["sampled"][k] for k in
                                                                  ("approved_before", "approved_after", "reasons")},
                                 "distinct_before": round(fb.variety(m.sampled[0]), 3),
                                 "distinct_after": round(fb.variety(m.sampled[1]), 3)}
    assert shares["sampled"]["distinct_before"] == shares["sampled"]["distinct_after"] > 0
    for how in ("greedy", "sampled"):                    # every 👎 has a reason, counted for both
        s = shares[how]
        downs = round((1 - s["approved_before"]) * s["answers"])
        assert all(b == a for b, a in s["reasons"].values())
        assert (max(b for b, _ in s["reasons"].values()) if downs else 0) <= downs
        assert sum(b for b, _ in s["reasons"].values()) >= downs
    assert [j.answers for j in m.sampled[0]] == [j.answers for j in m.sampled[1]]
    assert shares["greedy"]["approved_before"] == shares["greedy"]["approved_after"]
    alone = fb.judge(tiny, "helpful", corpus.instructions.heldout_prompts(data, 1, 0), 2, 0)
    assert [j.answers for j in alone] == [j.answers for j in m.sampled[0]]


def test_reason_counts_count_each_kind_of_thumbs_down_once_per_answer():
    q = "What does a flash flood watch mean?"
    good = "A flash flood watch means that floods are possible, so be ready to move to high ground."
    before = [fb.Judged(q, "weather", ["Giraffes eat leaves", "Giraffes eat leaves.", good], [-1, -1, 1])]
    after = [fb.Judged(q, "weather", [good, "Rain.", good], [1, -1, 1])]
    for j in before + after:                           # the verdicts are the rule's own
        assert j.verdicts == [RATERS["helpful"].rate(q, a) for a in j.answers]
    assert fb.reason_counts("helpful", before, after) == {
        "off topic": [2, 0], "too short": [2, 1], "does not end with . ! or ?": [1, 0]}


def test_sampling_is_seeded(tiny):
    a = fb.sample_texts(tiny, "Hi", 4, seed=5, max_new_tokens=10)
    assert a == fb.sample_texts(tiny, "Hi", 4, seed=5, max_new_tokens=10)
    assert len(set(a)) > 1 and all(t.endswith(fb.CUT) or t for t in a)


def test_log_probabilities_and_kl(tiny):
    tok, m = tiny.tokenizer, tiny.model
    head = fb.answer_head(tok, "Hi", 16, m.config.block_size)
    answer = tok.encode("Hello there.") + [chat.special_ids(tok)[chat.END]]
    with torch.no_grad():
        logp, n, kl, ent = fb.answer_logprobs(m, m, [head, head], [answer, answer[:2]], tok.eot_id,
                                              entropy=True)
        full = m(torch.tensor([head + answer])).logits[0].log_softmax(-1)
    direct = sum(float(full[len(head) - 1 + i, t]) for i, t in enumerate(answer))
    rows = full[len(head) - 1: len(head) - 1 + len(answer)]                # the answer's positions
    assert float(ent[0]) == pytest.approx(float(-(rows.exp() * rows).sum()), abs=1e-3)
    assert 0 < float(ent[1]) < float(ent[0])                              # 2 of its tokens
    assert float(logp[0]) == pytest.approx(direct, abs=1e-4)
    assert n.tolist() == [len(answer), 2]
    assert kl.abs().max() < 1e-5                                          # KL to itself is 0
    per_token = fb.logprob_per_token(tiny, "Hi", "Hello there.")
    assert per_token == pytest.approx(direct / len(answer), abs=1e-4)


# --------------------------------------------------------------------------------------------------
# Reward model

def test_reward_model_learns_a_simple_rule(tiny):
    spec = fb.FeedbackSpec(rm_heldout=0.25, **SPEC)
    events = []
    rm = drain(fb.train_reward_model(tiny, synthetic(), spec), events.append)
    ready = events[-1]
    assert isinstance(ready, fb.RewardModelReady)
    assert ready.n_heldout == 36 and ready.n_train == 108                 # 6 of 24 prompts held out
    assert ready.heldout_acc >= 0.9, ready
    # the flag counts agree with the accuracy: right = flagged 👎 + unflagged 👍
    assert ready.downs == 18
    right = ready.downs_flagged + (ready.n_heldout - ready.downs - ready.ups_flagged)
    assert right == round(ready.heldout_acc * ready.n_heldout)
    assert ready.flagged_text() == (f"it flags {ready.downs_flagged} of the 18 held-out 👎 answers, "
                                    f"and wrongly {ready.ups_flagged} of the 18 👍 ones")
    no_downs = fb.RewardModelReady(40, 10, 1.0, 1.0, 1.0, 1.0, downs=0)
    assert no_downs.flagged_text().startswith("none of the held-out ratings is 👎")
    good = fb.reward(rm, tiny.tokenizer, "A new question?", ["sunny lovely picnic smile."], 64)
    bad = fb.reward(rm, tiny.tokenizer, "A new question?", ["thunder flood dark rain."], 64)
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
    drain(fb.train_reward_model(tiny, on_subject(), fb.FeedbackSpec(rm_heldout=0.25, **SPEC)),
          events.append)
    assert events[-1].heldout_acc >= 0.9, events[-1]


def test_echo_is_how_much_of_the_question_the_answer_repeats():
    e0, e1, e3 = torch.eye(4)[0], torch.eye(4)[1], torch.eye(4)[3]
    v = torch.stack([e0, e1, e0, e3])[None]                                # (1, 4, 4) unit vectors
    q = torch.tensor([1.0, 1, 0, 0])[None, :, None]                        # the question: e0 e1
    a = torch.tensor([0.0, 0, 1, 1])[None, :, None]                        # the answer: e0 e3
    assert fb.echo(v, q, a).item() == pytest.approx(0.5)                   # e0 echoed, e1 not


def test_penalty_is_chosen_on_folds_of_the_training_ratings(tiny):
    """Ratings that follow one summary feature, with noise in every hidden-state feature, want a
    strong penalty on the hidden states; ratings that follow many hidden-state features together
    want a weak one."""
    rm = fb.RewardModel(tiny.model)
    gen = torch.Generator().manual_seed(0)
    n, f = 480, rm.n_states + fb.N_SUMMARY
    x = torch.randn(n, f, generator=gen)
    prompts = [f"q{i // 4}" for i in range(n)]
    spec = fb.FeedbackSpec(rm_l2_states=(0.01, 3.0))
    y_summary = (x[:, rm.n_states] > 0).float()
    assert fb.choose_penalty(rm, x, y_summary, prompts, spec) == 3.0
    y_states = (x[:, :10].sum(1) > 0).float()
    assert fb.choose_penalty(rm, x, y_states, prompts, spec) == 0.01


def test_held_out_split_is_by_prompt():
    train, held = fb.split_heldout(synthetic(), 0.25, 0)
    assert {x.prompt for x in train}.isdisjoint({x.prompt for x in held})
    assert len(held) == 36


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
        texts = [fb.answer_text(tok, a) for a in fb.sample_answers(model, tok, p, 8, 16, 1.0, gen)]
        rewards.append(fb.reward(rm, tok, p, texts, 64))
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
        return fb.reward(rm, tok, prompt, texts, 64)
    figures = [fb.policy_step(policy, tiny.model, score, tok, prompts, opt, spec, gen) for _ in range(12)]
    after = fresh_reward(policy, tok, prompts, rm)
    assert after > before + 0.1, (before, after)
    assert figures[-1]["kl"] > 0 and figures[0]["kl"] == pytest.approx(0, abs=1e-6)
    assert fb.mean_kl(policy, tiny.model, tok, prompts[:2], 2, 0, 16) > 0


def test_the_entropy_term_alone_makes_the_model_surer(tiny):
    """With the same reward for every answer the advantages are 0, so without a KL price only the
    entropy term acts: with gamma = 0 nothing moves, with gamma > 0 the model grows surer."""
    tok, prompts = tiny.tokenizer, ["Hi", "What should I eat today?", "Tell me a story.", "Is it cold?"]
    def same(prompt, texts):
        return torch.full((len(texts),), 0.5)
    def entropy(model):
        gen = torch.Generator().manual_seed(7)
        heads = [fb.answer_head(tok, p, 16, 64) for p in prompts]
        answers = [a for p in prompts for a in fb.sample_answers(tiny.model, tok, p, 4, 16, 1.0, gen)]
        with torch.no_grad():
            _, n, _, ent = fb.answer_logprobs(model, None, [h for h in heads for _ in range(4)], answers,
                                              tok.eot_id, entropy=True)
        return float(ent.sum() / n.sum())
    for gamma in (0.0, 1.0):
        policy = GPT(tiny.config)
        policy.load_state_dict(tiny.model.state_dict())
        spec = fb.FeedbackSpec(lr=3e-3, kl_coef=0.0, entropy_coef=gamma, **SPEC)
        opt = torch.optim.Adam(policy.parameters(), lr=spec.lr)
        gen = torch.Generator().manual_seed(0)
        figures = [fb.policy_step(policy, tiny.model, same, tok, prompts, opt, spec, gen) for _ in range(12)]
        if gamma == 0:
            assert all(torch.equal(a, b) for a, b in zip(policy.parameters(), tiny.model.parameters()))
        else:
            assert entropy(policy) < entropy(tiny.model) - 0.5, (entropy(policy), entropy(tiny.model))
            assert figures[-1]["entropy"] < figures[0]["entropy"] and figures[-1]["kl"] > 0


# --------------------------------------------------------------------------------------------------
# The whole run, the simulated raters and the CLI

def test_run_returns_a_feedback_model(tiny, tmp_path):
    spec = fb.FeedbackSpec(steps=3, rm_steps=20, prompts_per_step=2, samples_per_prompt=4, **SPEC)
    events = []
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"]), events.append)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Status" and "RewardModelReady" in kinds and kinds[-1] == "Done"
    assert kinds.count("PolicyStep") == 3
    s = fb.summarize(events)
    assert s.steps == [1, 2, 3] and s.rm is not None and s.done.reason == "done"
    assert s.progress == 1.0
    first = kinds.index("PolicyStep")                                    # Stop after the first step
    stopped = events[:first + 1] + [fb.Done(1, "cancelled", 1.0)]
    assert fb.summarize(stopped).progress == events[first].progress < 1.0   # the share it reached
    assert out.facts["kind"] == "feedback" and out.facts["ratings"] == 144
    save_model(tmp_path / "fb.safetensors", out.model, out.tokenizer, out.facts)
    back = load_model(tmp_path / "fb.safetensors")
    assert chat.is_chat_model(back) and back.facts["policy_steps"] == 3
    assert not torch.equal(back.model.wte.weight, tiny.model.wte.weight)   # it moved
    assert fb.logprob_per_token(back, "Hi", "Hello.") != fb.logprob_per_token(tiny, "Hi", "Hello.")
    assert out.facts["reward"] == "reward model"
    ready = next(e for e in events if isinstance(e, fb.RewardModelReady))
    assert out.facts["reward_model_heldout_acc"] == round(ready.heldout_acc, 3)
    assert out.facts["reward_model_penalty"] in spec.rm_l2_states
    assert out.facts["val_loss"] > 0                                     # the model card's figure
    assert out.facts["val_loss"] == pytest.approx(sft.heldout_loss(out), abs=1e-4)


def test_rule_as_reward_ablation_rewards_by_the_rule(tiny):
    spec = fb.FeedbackSpec(steps=2, rm_steps=5, prompts_per_step=2, samples_per_prompt=4, **SPEC)
    events = []
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"],
                           reward_rule="helpful"), events.append)
    rewards = [e.reward for e in events if isinstance(e, fb.PolicyStep)]
    # the tiny model's answers are gibberish: the rule gives 0 or 1 each, so a step's mean is k/8
    assert len(rewards) == 2 and all(abs(r * 8 - round(r * 8)) < 1e-6 for r in rewards)
    assert "rule itself" in out.facts["reward"]
    assert any(isinstance(e, fb.RewardModelReady) for e in events)     # still trained and measured
    out = drain(fb.run(tiny, synthetic(), spec, prompts=["Hi", "Is it cold?"], reward_rule=fb.NO_REWARD))
    assert out.facts["reward"].startswith("none")


def test_simulated_ratings_are_marked(tiny, tmp_path):
    store = RatingsStore(tmp_path / "r.sqlite")
    events = []
    n = drain(fb.simulate(store, tiny, "safe", 10, seed=1, per_prompt=4), events.append)
    assert n == 10 and events[-1] == fb.Rated(10, 10)
    rows = store.ratings()
    assert len(rows) == 10 and {x.rater for x in rows} == {"sim:safe"}
    assert len({x.prompt for x in rows}) == 3
    assert {x.prompt for x in rows} <= set(fb.training_prompts(0, "safety"))   # the safe rater's focus
    assert not {x.prompt for x in rows} & {p for p, _ in fb.ins.heldout_prompts(fb.ins.instruction_data(0), 50)}


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
    measured = fb.before_after(tiny, tiny, "helpful", 0, 1, 4).shares()   # the tuned side, again
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


SHIPPED = Path(__file__).resolve().parent.parent / "models"


@pytest.mark.skipif(not (SHIPPED / "feedback.safetensors").is_file(), reason="no shipped feedback model")
def test_shipped_feedback_model_is_approved_more_often_than_the_tuned_one():
    tuned, after = load_model(SHIPPED / "tuned.safetensors"), load_model(SHIPPED / "feedback.safetensors")
    assert after.facts["kind"] == "feedback" and after.facts["ratings"] == 300
    assert after.facts["val_loss"] > 0 and after.facts["val_loss_tuned"] == tuned.facts["val_loss"]
    prompts = fb.ins.heldout_prompts(fb.ins.instruction_data(0), per_topic=10)
    before = fb.approval(fb.judge(tuned, "helpful", prompts, 4, seed=0))
    now = fb.approval(fb.judge(after, "helpful", prompts, 4, seed=0))     # the same dice
    assert now >= before + 0.10, (before, now)          # measured when shipped: 79.4% -> 95.0%


def test_doctests():
    import doctest
    assert doctest.testmod(fb).failed == 0
