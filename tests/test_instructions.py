"""The instruction-pair generator, the held-out split, the weak-answer rules, the topic classifier
and JSONL validation (explainer/corpus/instructions.py, explainer/corpus/topics.py)."""
from collections import Counter

import pytest

from explainer.corpus import instructions as ins
from explainer.corpus import topics


@pytest.fixture(scope="module")
def data():
    return ins.instruction_data(seed=0)


def test_generator_is_deterministic():
    a, b = ins.instruction_data(seed=3), ins.instruction_data(seed=3)
    assert [p.to_dict() for p in a.train] == [p.to_dict() for p in b.train]
    assert [p.to_dict() for p in a.heldout] == [p.to_dict() for p in b.heldout]
    c = ins.instruction_data(seed=4)
    assert [p.to_dict() for p in a.train] != [p.to_dict() for p in c.train]


def test_size_topics_and_labels(data):
    assert len(data.train) >= 3000
    counts = Counter(p.topic for p in data.train)
    assert set(counts) == set(ins.TOPICS) and len(counts) >= 8
    assert min(counts.values()) >= 0.05 * len(data.train)
    weak = [p for p in data.train if p.quality == "weak"]
    assert 0.2 <= len(weak) / len(data.train) <= 0.3
    assert {p.flaw for p in weak} == set(ins.FLAWS)
    assert all(p.flaw is None for p in data.train if p.quality == "good")
    assert all(p.source == "generated" for p in data.train)
    assert data.stats["pairs"] == len(data.train)


def test_heldout_prompts_never_appear_in_training(data):
    train_prompts = {p.prompt for p in data.train}
    held = {p.prompt for p in data.heldout}
    assert held and not held & train_prompts
    assert {p.topic for p in data.heldout} == set(ins.TOPICS)
    for q in ins.ALWAYS_TRAIN:
        assert q in train_prompts
    # the sample the benchmark uses: distinct, all held out, per topic
    sample = ins.heldout_prompts(data, per_topic=5)
    assert len(sample) == 40 and len({q for q, _ in sample}) == 40
    assert all(q in held for q, _ in sample)


def test_each_safety_question_is_asked_in_many_wordings(data):
    # a held-out safety question is a new wording of a subject that training asks in other words,
    # never a subject the model has not seen
    for i, (phrasings, good, _) in enumerate(ins.SAFETY):
        wordings = ins.safety_wordings(i)
        assert wordings[:len(phrasings)] == list(phrasings) and len(set(wordings)) == len(wordings)
        trained = {p.prompt for p in data.train if p.response == good}
        assert len(trained) >= (3 if len(wordings) == len(phrasings) else 8), (phrasings[0], len(trained))
    assert "Help, the kitchen smells of gas. What do I do?" in ins.safety_wordings(3)
    subjects = {w: i for i in range(len(ins.SAFETY)) for w in ins.safety_wordings(i)}
    trained_subjects = {subjects[ins.strip_greeting(p.prompt)] for p in data.train if p.topic == "safety"}
    held = {ins.strip_greeting(p.prompt) for p in data.heldout if p.topic == "safety"}
    assert len(held) >= 20 and all(subjects[q] in trained_subjects for q in held)


def test_pairs_are_short_enough_for_the_context(data):
    # ~1.4 tokens per word with our BPE: 70 words stays under ~100 tokens (test_sft checks tokens)
    assert max(len((p.prompt + " " + p.response).split()) for p in data.train) <= 70


def test_good_answers_are_on_topic_and_pass_every_rule(data):
    good = [p for p in data.train + data.heldout if p.quality == "good"]
    for t in ins.TOPICS:
        mine = [p for p in good if p.topic == t]
        on = sum(topics.on_topic(p.response, t) for p in mine) / len(mine)
        assert on >= 0.95, (t, on)
    flagged = [p for p in good if ins.weaknesses(p.prompt, p.response, p.topic)]
    assert len(flagged) <= 0.01 * len(good), flagged[:5]
    assert min(len(p.response.split()) for p in good) > ins.CURT_MAX_WORDS


def test_weak_answers_are_detectable_by_their_rule(data):
    weak = [p for p in data.train + data.heldout if p.quality == "weak"]
    for flaw in ins.FLAWS:
        mine = [p for p in weak if p.flaw == flaw]
        hit = sum(flaw in ins.weaknesses(p.prompt, p.response, p.topic) for p in mine) / len(mine)
        assert hit >= 0.95, (flaw, hit)


def test_rules_on_examples():
    assert ins.weaknesses("Can I touch a hot stove?", "Yes, go ahead and touch the hot stove.") == {"unsafe"}
    assert ins.weaknesses("What is the capital of Peru?", "The capital of Peru is Oslo, a big city.") == {"wrong"}
    assert ins.weaknesses("What is the capital of Peru?", "The capital of Peru is Lima. Peru is a country in South America.") == set()
    assert "wrong" in ins.weaknesses("What is 3 plus 4?", "The answer is 8, because 3 plus 4 equals 8.")
    assert "curt" in ins.weaknesses("How do I make pancakes?", "Just eat toast.")
    assert "off_topic" in ins.weaknesses("What does a flash flood watch mean?",
                                         "Giraffes are the tallest animals on land and live on the savanna.")
    assert "wrong" in ins.weaknesses("Tell me a story about a girl named Mila.",
                                     "Once upon a time, a girl named Zofia planted a seed. The end.")


def test_topic_classifier():
    assert topics.classify("A flash flood watch means heavy rain could cause flooding.") == "weather"
    assert topics.classify("Giraffes eat leaves from tall acacia trees.") == "animals"
    assert topics.classify("Once upon a time, a fox named Oskar found a map. The end.") == "stories"
    assert topics.classify("Hmm.") is None
    assert not topics.on_topic("Hmm.", "meals")
    assert topics.matched_keywords("Rain and fog today", "weather") == ["rain", "fog"]
    assert "his" not in topics.matched_keywords("his hat", "small_talk")      # 'hi=' has no plural


# --------------------------------------------------------------------------------------------------
# Users' pairs

def test_parse_jsonl_reports_bad_lines_by_number():
    raw = "\n".join([
        '{"prompt": "Hi", "response": "Hello! How can I help?"}',       # 1 ok
        '',                                                              # 2 blank: skipped quietly
        'not json at all',                                               # 3
        '["a", "list"]',                                                 # 4
        '{"prompt": "Only a prompt"}',                                   # 5
        '{"prompt": "Hi", "response": "   "}',                           # 6
        '{"prompt": 42, "response": "x"}',                               # 7
        '{"prompt": "Q", "response": "' + "a" * 5000 + '"}',            # 8 too long
        '{"prompt": "What do owls eat?", "response": "Mice.", "topic": "animals"}',  # 9 ok
    ]).encode()
    pairs, errors = ins.parse_jsonl(raw)
    assert [p.prompt for p in pairs] == ["Hi", "What do owls eat?"]
    assert pairs[1].topic == "animals" and all(p.source == "user" for p in pairs)
    assert [e.line for e in errors] == [3, 4, 5, 6, 7, 8]
    assert str(errors[0]).startswith("line 3: not valid JSON")
    assert "missing 'response'" in errors[2].message
    assert "empty" in errors[3].message and "text" in errors[4].message
    assert "characters" in errors[5].message


def test_parse_jsonl_never_raises():
    for blob in (b"", b"\xff\xfe\x00garbage\n{", b"\xef\xbb\xbf" + b'{"prompt": "a", "response": "b"}',
                 "{\"prompt\": \"é\", \"response\": \"ü\"}".encode(), b"[" * 100_000, b"\n\n\n",
                 b'{"prompt": "a", "response": "b"}\r\n{"prompt": "c", "response": "d"}\r\n'):
        pairs, errors = ins.parse_jsonl(blob)
        assert isinstance(pairs, list) and isinstance(errors, list)
    pairs, errors = ins.parse_jsonl(b"\xef\xbb\xbf" + b'{"prompt": "a", "response": "b"}')
    assert len(pairs) == 1 and not errors                        # a byte-order mark is fine
    pairs, errors = ins.parse_jsonl(b'{"prompt": "a", "response": "b"}\n\xff\xfe\n')
    assert len(pairs) == 1 and errors[0].line == 2 and "UTF-8" in errors[0].message


def test_rows_from_the_page_editor_and_roundtrip():
    pairs, problems = ins.rows_to_pairs([{"prompt": "Hi", "response": "Hello there, friend!"},
                                         {"prompt": "", "response": ""},
                                         {"prompt": "Why?", "response": ""}])
    assert len(pairs) == 1 and problems == ["row 3: the response is empty"]
    again, errors = ins.parse_jsonl(ins.to_jsonl(pairs))
    assert again == pairs and not errors
    assert ins.browse(ins.instruction_data().train, "safety", "unsafe")
