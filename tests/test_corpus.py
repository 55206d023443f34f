"""Tests for explainer.corpus: the Everyday English generator, name-recall cases, Python docs,
user uploads, the train/validation split and the statistics. Fast: the whole file takes seconds."""
import re

import pytest

from explainer.corpus import (
    CORPORA,
    FLOOD_PHRASE,
    NAMES,
    CorpusError,
    corpus_stats,
    describe_stats,
    everyday_documents,
    everyday_english,
    flash_flood_continuations,
    get_corpus,
    name_recall_cases,
    python_docs,
    sentences,
    split,
    story,
    user_text,
)


@pytest.fixture(scope="module")
def docs():
    return everyday_documents(seed=0)


@pytest.fixture(scope="module")
def text(docs):
    return "\n\n".join(d.text for d in docs)


@pytest.fixture(scope="module")
def stats(text, docs):
    return corpus_stats(text, docs)


# --- Everyday English ---------------------------------------------------------------------------

def test_deterministic_per_seed(text):
    assert everyday_english(seed=0) == text
    assert everyday_english(seed=1) != text
    assert everyday_english(seed=0, target_bytes=50_000) == text[: len(everyday_english(0, 50_000))]


def test_size_and_shape(text, stats):
    assert 1_000_000 <= stats.bytes < 1_300_000
    assert text.isascii()
    assert "\n\n\n" not in text                       # documents separated by exactly one blank line
    assert all(s[0].isupper() or s[0] == '"' for s in sentences(text))


def test_domains_vocabulary_and_repetition(stats):
    assert len(stats.domains) >= 6
    assert stats.domains["stories"] / stats.bytes >= 0.25
    assert stats.distinct_words >= 2000
    # no sentence can be learned by heart: the most frequent one is at most 0.5% of all
    assert stats.top_sentence_share <= 0.005, stats.top_sentence


def test_flash_flood_continuations(text, stats):
    counts = flash_flood_continuations(text)
    assert counts == stats.flash_flood
    assert sum(counts.values()) >= 1500
    assert list(counts)[0] == "night"
    assert counts["night"] / sum(counts.values()) > 0.45
    assert counts["night"] > 1.8 * counts["day"] > 1.8 * counts["weekend"]
    assert set(counts) == {"night", "day", "weekend", "morning"}
    # "until ..." forms use other wording, so "all" is always what follows "will be in effect"
    assert len(re.findall(r"will be in effect (?!all )", text)) == 0


def test_giraffes_live_at_the_zoo_not_in_the_weather(docs, text):
    assert "in effect all giraffe" not in text
    giraffe_docs = [d for d in docs if "giraffe" in d.text]
    assert len(giraffe_docs) >= 50
    assert {d.domain for d in giraffe_docs} == {"animals"}


def test_stories_introduce_and_end_with_the_same_name(docs):
    tales = [d.text for d in docs if d.domain == "stories"]
    assert len(tales) > 500
    for t in tales:
        first, last = sentences(t)[0], sentences(t)[-1]
        named = [n for n in NAMES if re.search(rf"\b{n}\b", first)]
        assert len(named) == 1, first
        assert named[0] in last
        assert t.count(named[0]) >= 3                 # intro, at least one middle, the end
        assert 40 <= len(t.split()) <= 90


def test_name_pool_is_large_and_unambiguous(docs):
    assert len(set(NAMES)) == len(NAMES) >= 150
    assert not [(a, b) for a in NAMES for b in NAMES if a != b and a in b]
    # a name never shows up outside stories, not even inside another capitalised word
    other = " ".join(d.text for d in docs if d.domain != "stories")
    capitalised = set(re.findall(r"[A-Z][A-Za-z']*", other))
    assert not [(n, w) for n in NAMES for w in capitalised if n in w]


def test_story_only_mentions_its_own_name():
    import random
    rng = random.Random(7)
    for _ in range(300):
        s = story(rng)
        assert s.mentions[0] and s.mentions[-1] and any(s.mentions[1:-1])
        assert [n for n in NAMES if n in s.text] == [s.name]


# --- name recall cases --------------------------------------------------------------------------

def test_name_recall_cases():
    cases = name_recall_cases(50, seed=1234)
    assert len(cases) == 50
    assert cases == name_recall_cases(50, seed=1234)
    assert len({c.name for c in cases}) > 30
    training = everyday_english(seed=0)
    for c in cases:
        assert len(c.text) <= 400
        assert not c.text.endswith(" ")               # next token is " " + name
        intro = c.text[: c.first_mention_end]
        assert c.name in intro and intro.endswith(".")
        assert c.intro_end == c.first_mention_end
        assert c.first_mention_end < c.last_mention_end < len(c.text)
        assert c.name in c.text[c.first_mention_end: c.last_mention_end]
        assert c.name not in c.text[c.last_mention_end:]
        assert c.text not in training                 # held out: never read during training


# --- Python docs and built-in corpora -----------------------------------------------------------

def test_python_docs():
    p = python_docs()
    assert len(p) > 400_000
    assert "for" in p and "\n\n" in p
    assert p == python_docs()


def test_get_corpus():
    assert set(CORPORA) == {"everyday", "pydocs"}
    c = get_corpus("everyday")
    assert c.key == "everyday" and c.title == CORPORA["everyday"] and c.description
    assert get_corpus("everyday") is c                # cached
    assert get_corpus("pydocs").text == python_docs()
    with pytest.raises(CorpusError, match="everyday, pydocs"):
        get_corpus("shakespeare")


# --- user text ----------------------------------------------------------------------------------

GOOD = ("Call me Ishmael. Some years ago, never mind how long precisely, I thought I would "
        "sail about a little and see the watery part of the world.\n") * 30


def test_user_text_accepts_good_text_and_cleans_it():
    assert user_text(GOOD) == GOOD
    assert user_text(GOOD.encode()) == GOOD
    raw = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    assert user_text(raw) == GOOD                     # BOM stripped, CRLF -> LF
    assert user_text("Caf\u00e9 na\u00efve \u2014 " * 200).startswith("Caf\u00e9")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    ("", "empty"),
    (b" \n\t " * 1000, "only whitespace"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(3000), "binary.*NUL"),
    ("Hello".encode("utf-16") * 1000, "UTF-16"),
    (bytes(range(1, 9)) * 1000, "binary.*control characters"),
    (GOOD.encode()[:100] + "caf\u00e9".encode("latin-1") + GOOD.encode(), "UTF-8.*offset 103"),
    (b"Too short.", "too short.*10 bytes"),
    ("x" * 2047, "too short.*2,047"),
])
def test_user_text_errors(data, message):
    with pytest.raises(CorpusError, match=message):
        user_text(data)


def test_user_text_too_large():
    with pytest.raises(CorpusError, match=r"too large.*cap is 5\.0 KB.*configurable"):
        user_text(GOOD * 2, max_bytes=5000)
    assert isinstance(CorpusError("x"), ValueError)


# --- split --------------------------------------------------------------------------------------

def test_split_on_documents(text):
    train, val = split(text)
    assert (train, val) == split(text)
    assert split(text, seed=1) != (train, val)
    assert 0.08 < len(val) / len(text) < 0.12
    train_docs, val_docs = set(train.split("\n\n")), set(val.split("\n\n"))
    assert train_docs and val_docs and not train_docs & val_docs
    assert len(train_docs) + len(val_docs) == len(set(text.split("\n\n")))


@pytest.mark.parametrize("data", [
    GOOD,                                             # lines, no blank lines
    "word " * 500,                                    # one line
    "\n\n".join(["short"] * 5) + "\n\n" + "x" * 3000,  # few documents, one huge
    ("Short paragraph.\n\n" * 9) + ("y " * 2000),      # one document swallows the budget
])
def test_split_always_gives_two_nonempty_parts(data):
    text = user_text(data)
    train, val = split(text)
    assert train.strip() and val.strip()
    assert len(val) < len(train)
    assert split(text) == (train, val)


# --- statistics ---------------------------------------------------------------------------------

def test_stats_counts_and_description():
    s = corpus_stats(f"{FLOOD_PHRASE} night. {FLOOD_PHRASE} day. It rained. It rained.")
    assert s.sentences == 4 and s.distinct_sentences == 3
    assert s.top_sentence == "It rained." and s.top_sentence_share == 0.5
    assert s.flash_flood == {"night": 1, "day": 1}
    labels = [label for label, _ in describe_stats(s)]
    assert "Distinct words" in labels and "Most repeated sentence" in labels


def test_everyday_stats_description(stats):
    rows = dict(describe_stats(stats))
    assert "Domain: stories" in rows and any("night 5" in v for v in rows.values())
