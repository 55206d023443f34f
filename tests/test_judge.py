"""Before and after: both models judged with the same dice, greedy answers that match the SFT
benchmark's, reasons counted once per answer, and the shipped feedback model approved more often."""
import pytest
from feedback_fixtures import SHIPPED

from explainer import corpus
from explainer.gpt import chat
from explainer.gpt.paramfile import load_model
from explainer.phases import judge as J
from explainer.phases import sft
from explainer.phases.answers import CUT, answer_head
from explainer.phases.raters import RATERS


def test_feedback_and_sft_benchmarks_read_the_same_greedy_answers():
    """Two answer paths: judge.judge samples prompts side by side (batched, KV cache), sft.compare
    asks chat.answer one at a time. On the shipped tuned model and held-out questions of many
    lengths, their greedy answers must be the same text (judge marks a cut-off answer with CUT)."""
    tuned = load_model(SHIPPED / "tuned.safetensors")
    prompts = corpus.instructions.heldout_prompts(corpus.instructions.instruction_data(0), 3, 0)
    judged = J.judge(tuned, "helpful", prompts, 1, seed=0, temperature=0.0)
    rows = sft.compare(None, tuned, prompts)
    assert len({len(answer_head(tuned.tokenizer, p, chat.MAX_NEW_TOKENS, 128)) for p, _ in prompts}) > 3
    assert [j.answers[0] for j in judged] == [r.tuned.text.strip() + ("" if r.tuned.ended else CUT)
                                              for r in rows]


def test_before_after_judges_both_models_with_the_same_dice(tiny):
    """The page's and the benchmark's before/after: every held-out question greedily, a few per
    topic sampled; one model against itself comes out equal, answer for answer."""
    data = corpus.instructions.instruction_data(0)
    m = J.before_after(tiny, tiny, "helpful", per_topic=1, samples=2)
    shares = m.shares()
    assert shares["greedy"]["prompts"] == len({p.prompt for p in data.heldout})
    assert shares["sampled"] == {"prompts": 8, "answers": 16, **{k: shares["sampled"][k] for k in
                                                                  ("approved_before", "approved_after", "reasons")},
                                 "distinct_before": round(J.variety(m.sampled[0]), 3),
                                 "distinct_after": round(J.variety(m.sampled[1]), 3)}
    assert shares["sampled"]["distinct_before"] == shares["sampled"]["distinct_after"] > 0
    for how in ("greedy", "sampled"):                    # every 👎 has a reason, counted for both
        s = shares[how]
        downs = round((1 - s["approved_before"]) * s["answers"])
        assert all(b == a for b, a in s["reasons"].values())
        assert (max(b for b, _ in s["reasons"].values()) if downs else 0) <= downs
        assert sum(b for b, _ in s["reasons"].values()) >= downs
    assert [j.answers for j in m.sampled[0]] == [j.answers for j in m.sampled[1]]
    assert shares["greedy"]["approved_before"] == shares["greedy"]["approved_after"]
    alone = J.judge(tiny, "helpful", corpus.instructions.heldout_prompts(data, 1, 0), 2, 0)
    assert [j.answers for j in alone] == [j.answers for j in m.sampled[0]]


def test_reason_counts_count_each_kind_of_thumbs_down_once_per_answer():
    q = "What does a flash flood watch mean?"
    good = "A flash flood watch means that floods are possible, so be ready to move to high ground."
    before = [J.Judged(q, "weather", ["Giraffes eat leaves", "Giraffes eat leaves.", good], [-1, -1, 1])]
    after = [J.Judged(q, "weather", [good, "Rain.", good], [1, -1, 1])]
    for j in before + after:                           # the verdicts are the rule's own
        assert j.verdicts == [RATERS["helpful"].rate(q, a) for a in j.answers]
    assert J.reason_counts("helpful", before, after) == {
        "off topic": [2, 0], "too short": [2, 1], "does not end with . ! or ?": [1, 0]}


@pytest.mark.skipif(not (SHIPPED / "feedback.safetensors").is_file(), reason="no shipped feedback model")
@pytest.mark.slow
def test_shipped_feedback_model_is_approved_more_often_than_the_tuned_one():
    tuned, after = load_model(SHIPPED / "tuned.safetensors"), load_model(SHIPPED / "feedback.safetensors")
    assert after.facts["kind"] == "feedback" and after.facts["ratings"] == 300
    assert after.facts["val_loss"] > 0 and after.facts["val_loss_tuned"] == tuned.facts["val_loss"]
    prompts = corpus.instructions.heldout_prompts(corpus.instructions.instruction_data(0), per_topic=10)
    before = J.approval(J.judge(tuned, "helpful", prompts, 4, seed=0))
    now = J.approval(J.judge(after, "helpful", prompts, 4, seed=0))     # the same dice
    assert now >= before + 0.10, (before, now)          # measured when shipped: 79.4% -> 95.0%


def test_doctests():
    import doctest
    assert doctest.testmod(J).failed == 0
