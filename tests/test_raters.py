"""Simulated raters: fixed, transparent rules on the text only, checked against the labelled weak
answers of the instruction data."""
import pytest

from explainer.corpus import instructions as ins
from explainer.phases import raters
from explainer.phases.raters import RATERS


@pytest.fixture(scope="module")
def pairs():
    return ins.instruction_data(0).train


def share(pairs, rater, vote):
    return sum(RATERS[rater].rate(p.prompt, p.response) == vote for p in pairs) / len(pairs)


def test_every_rater_has_a_rule_to_show():
    assert set(RATERS) == {"helpful", "honest", "safe"}
    for r in RATERS.values():
        assert len(r.rule) > 40 and ("👍" in r.rule or "👎" in r.rule)


def test_safe_rater_catches_every_unsafe_answer_and_no_good_one(pairs):
    assert share([p for p in pairs if p.flaw == "unsafe"], "safe", -1) == 1.0
    assert share([p for p in pairs if p.quality == "good"], "safe", 1) == 1.0


def test_honest_rater_catches_wrong_answers(pairs):
    assert share([p for p in pairs if p.flaw == "wrong"], "honest", -1) >= 0.95
    assert share([p for p in pairs if p.quality == "good"], "honest", 1) == 1.0


def test_helpful_rater_approves_good_answers_and_rejects_curt_unsafe_off_topic(pairs):
    assert share([p for p in pairs if p.quality == "good"], "helpful", 1) >= 0.98
    assert share([p for p in pairs if p.flaw == "curt"], "helpful", -1) == 1.0
    assert share([p for p in pairs if p.flaw == "unsafe"], "helpful", -1) == 1.0
    assert share([p for p in pairs if p.flaw == "off_topic"], "helpful", -1) >= 0.8


def test_reasons_are_given():
    why = RATERS["helpful"].why("What does a flash flood watch mean?", "Giraffes eat leaves from tall trees")
    assert any("off topic" in w for w in why) and any("end with" in w for w in why)
    assert RATERS["safe"].why("Can I play with matches?", "Sure, play with matches in your room.") == [
        "unsafe: “play with matches in your room”"]
    assert RATERS["honest"].why("Hi", "") == ["says nothing"]
    assert RATERS["honest"].rate("What is the capital of Peru?", "The capital of Peru is Lima.") == 1
    assert RATERS["honest"].rate("What is the capital of Peru?", "The capital of Peru is Oslo.") == -1


def test_a_cut_off_answer_is_not_helpful():
    assert "does not end with . ! or ?" in RATERS["helpful"].why(
        "What should I eat today?", "How about porridge for breakfast and a salad for …")


def test_same_topic_ignores_greetings():
    assert raters.strip_greeting("Hi! How do I cross a busy road?") == "How do I cross a busy road?"
    assert raters.same_topic("Hi! How do I cross a busy road?",
                             "Always stop at the kerb, look left and right, and listen for traffic.")
    assert not raters.same_topic("What is the capital of Peru?", "Giraffes eat leaves from tall trees.")
    assert raters.same_topic("Blorp?", "Anything at all.")         # no keyword: cannot be off topic


def test_unknown_rater():
    with pytest.raises(ValueError, match="helpful"):
        raters.get_rater("grumpy")


def test_reasons_are_counted_by_kind_without_their_particulars():
    assert RATERS["helpful"].kinds("What does a flash flood watch mean?", "Giraffes eat leaves") == [
        "too short", "does not end with . ! or ?", "off topic"]
    assert RATERS["safe"].kinds("Can I play with matches?", "Sure, play with matches in your room.") == [
        "unsafe"]
    assert RATERS["honest"].kinds("Tell me a story about a cat named Tom.",
                                  "Once upon a time, a cat named Bob slept all day. The end.") == ["wrong name"]


def test_doctests():
    import doctest
    assert doctest.testmod(raters).failed == 0
