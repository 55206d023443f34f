"""Tests for explainer/gpt/tokenizer.py: golden examples, an independent reference trainer, round trips."""
import functools
import json
import re

import pytest
import tiktoken.load
from hypothesis import example, given, settings
from hypothesis import strategies as st

from explainer.gpt.tokenizer import (
    PAT_STR,
    SPECIALS,
    CharTokenizer,
    Merge,
    Tokenizer,
    char_tokenizer,
    cl100k,
    merge,
    printable,
    read_rank_file,
    replay_merges,
    train_bpe,
    train_bpe_simple,
    visible_whitespace,
)

ENGLISH = """\
The quick brown fox jumps over the lazy dog. It's 2024, and we've counted 1,234,567 foxes!
Don't panic: call my_function(x_1, y_2) or set MAX_VALUE = 3.14159; then return None.

    Indented lines,\ttabs\tand "quoted" text -- plus a URL: https://example.com/a_b?c=12345
He said: 'I'll be there at 10:30pm.' She'd reply, "You're late" (again)...

Numbers like 007, 1000000 and 3.5e-10 split into groups of at most three digits.
"""


@functools.lru_cache(maxsize=1)
def training_text() -> str:
    """~80 KB of real English-ish prose (CPython's own docs ship with every Python)."""
    from pydoc_data.topics import topics
    return ("\n\n".join(topics[k] for k in sorted(topics)) + ENGLISH)[:80_000]


@functools.lru_cache(maxsize=1)
def bpe():
    return train_bpe(training_text(), vocab_size=512)   # (tokenizer, merges)


def reference_encode(text: str, merges: list[Merge]) -> list[int]:
    """minbpe-style encode, independent of tiktoken: split with `re`, apply merges in training order."""
    rank = {m.pair: m.new_id for m in merges}
    ids = []
    for chunk in re.findall(PAT_STR, text):
        c = list(chunk.encode("utf-8"))
        while len(c) >= 2:
            pair = min(zip(c, c[1:]), key=lambda p: rank.get(p, float("inf")))
            if pair not in rank:
                break
            c = merge(c, pair, rank[pair])
        ids.extend(c)
    return ids


# --- training ---------------------------------------------------------------

def test_wikipedia_example_golden():
    # https://en.wikipedia.org/wiki/Byte_pair_encoding : aa -> Z, ab -> Y, ZY -> X ; "XdXac"
    tok, merges = train_bpe("aaabdaaabac", vocab_size=256 + 3 + len(SPECIALS))
    assert merges[0] == Merge(256, (97, 97), (b"a", b"a"), 4)
    assert [m.pair for m in merges] == [(97, 97), (97, 98), (256, 257)]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]   # same as minbpe's test
    assert tok.decode([258]) == "aaab"


def test_vocab_layout():
    tok, merges = bpe()
    assert tok.kind == "bpe" and tok.n_vocab == 512 and len(merges) == 512 - 256 - 4
    assert [tok.token_bytes(i) for i in range(256)] == [bytes([b]) for b in range(256)]
    assert tok.special_tokens == {s: 508 + j for j, s in enumerate(SPECIALS)}
    assert tok.eot_id == 508 and tok.token_bytes(tok.eot_id) == b"<|endoftext|>"
    assert tok.enc.n_vocab == 512 and tok.merges == merges


@pytest.mark.parametrize("text", [
    "aaabdaaabac",
    "def f(x):\n    return x * x  # squares\n" * 20,
    "Grüße aus Köln! 東京は日本の首都です。 🐷🐷🐷 " * 15,
    training_text()[:6000],
], ids=["wikipedia", "code", "unicode", "docs"])
def test_fast_trainer_learns_the_teaching_trainers_merges(text):
    """train_bpe (incremental counts, a heap) picks exactly the merges that train_bpe_simple,
    which recounts every pair after every merge, picks: same pairs, same counts, same order."""
    expected = train_bpe_simple(text, 40)                    # fewer if a small text runs out of pairs
    _, merges = train_bpe(text, vocab_size=256 + len(expected) + len(SPECIALS))
    assert [(m.pair, m.count) for m in merges] == expected


def test_training_is_deterministic():
    text = training_text()[:20_000]
    assert train_bpe(text, 400)[1] == train_bpe(text, 400)[1]


def test_merge_trace_is_consistent():
    tok, merges = bpe()
    for m in merges:
        assert m.pair[0] < m.new_id and m.pair[1] < m.new_id and m.count > 0
        assert tok.token_bytes(m.pair[0]) == m.pair_bytes[0] and tok.token_bytes(m.pair[1]) == m.pair_bytes[1]
        assert m.pair_bytes[0] + m.pair_bytes[1] == tok.token_bytes(m.new_id)
    assert [m.new_id for m in merges] == list(range(256, 256 + len(merges)))
    assert all(a.count >= b.count for a, b in zip(merges, merges[1:]))   # greedy: counts never rise


def test_re_split_plus_merges_agrees_with_tiktoken():
    tok, merges = bpe()
    for paragraph in ENGLISH.split("\n\n") + [ENGLISH, training_text()[-3000:]]:
        assert reference_encode(paragraph, merges) == tok.encode(paragraph)


def test_specials_in_training_text_are_not_learned():
    tok, merges = train_bpe("<|endoftext|>hello<|endoftext|>hello", vocab_size=256 + 4 + 4)
    assert all(b"<|" not in m.pair_bytes[0] + m.pair_bytes[1] for m in merges)
    assert tok.decode(tok.encode("hello")) == "hello" and len(tok.encode("hello")) == 1


def test_bad_training_arguments():
    with pytest.raises(ValueError, match="too small"):
        train_bpe("abc", vocab_size=100)
    with pytest.raises(ValueError, match="text too small"):
        train_bpe("abab", vocab_size=2048)


# --- replay -----------------------------------------------------------------

def test_replay_merges_ends_at_the_tokenizers_split():
    tok, merges = bpe()
    for text in [ENGLISH, "The tokenizer merges characters, step by step. 😀"]:
        assert replay_merges(text, merges, 0) == [bytes([b]) for b in text.encode("utf-8")]
        assert replay_merges(text, merges, len(merges)) == [p.bytes for p in tok.pieces(text)]
        sizes = [len(replay_merges(text, merges, n)) for n in range(0, len(merges) + 1, 50)]
        assert sizes == sorted(sizes, reverse=True)   # more merges, never more pieces
    with pytest.raises(ValueError):
        replay_merges("x", merges, len(merges) + 1)


def test_replay_merges_docstring_example():
    m = [Merge(256, (104, 101), (b"h", b"e"), 1), Merge(257, (108, 108), (b"l", b"l"), 1),
         Merge(258, (256, 257), (b"he", b"ll"), 1)]
    assert replay_merges("hello", m, 2) == [b"he", b"ll", b"o"]
    assert replay_merges("hello", m, 3) == [b"hell", b"o"]


# --- round trips ------------------------------------------------------------

MIXED = list("😀🤖👍🏽👨‍👩‍👧中文字日本語한국어שלוםمرحبا\u0301\u0308\u200d\u200b\r\n\t\x00\x1b\u00a0<|>_'0 aeZ")
TEXTS = st.one_of(st.text(), st.text(alphabet=st.sampled_from(MIXED)),
                  st.lists(st.sampled_from(SPECIALS + ("a", " ", "é", "\r\n"))).map("".join))


def _round_trip(tok, s):
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(tok.encode(s, allow_special=True)) == s
    assert b"".join(p.bytes for p in tok.pieces(s)) == s.encode("utf-8")


@pytest.mark.parametrize("kind", ["bpe", "char", "cl100k"])
@settings(deadline=None, max_examples=150)
@given(s=TEXTS)
@example(s="naïve café — 😀👨‍👩‍👧 中文 עברית e\u0301 \x00\x07\r\n<|endoftext|>")
def test_decode_encode_round_trip(kind, s):
    tok = {"bpe": lambda: bpe()[0], "char": lambda: char_tokenizer(training_text()), "cl100k": cl100k}[kind]()
    _round_trip(tok, s)


@pytest.mark.parametrize("make", [lambda: bpe()[0], lambda: char_tokenizer("hello"), cl100k])
def test_specials_cannot_be_injected_from_text(make):
    tok = make()
    text = "hi <|endoftext|><|user|><|assistant|><|end|>"
    assert not set(tok.encode(text)) & set(tok.special_tokens.values())
    assert not any(p.special for p in tok.pieces(text))
    assert tok.encode("<|endoftext|>", allow_special=True) == [tok.eot_id]
    assert tok.pieces("<|endoftext|>", allow_special=True)[0].special


def test_cl100k_golden_ids_and_cache():
    tok = cl100k()
    assert tok.encode("What should I eat today?") == [3923, 1288, 358, 8343, 3432, 30]
    assert tok is cl100k() and tok.kind == "cl100k" and tok.eot_id == 100257 and tok.n_vocab == 100277


# --- char tokenizer, pieces ---------------------------------------------------

def test_char_tokenizer_layout_and_byte_fallback():
    tok = char_tokenizer("hello world")
    assert isinstance(tok, CharTokenizer) and tok.kind == "char"
    assert tok.chars == " dehlorw" and tok.n_vocab == 8 + 256 + 4
    assert tok.encode("hello") == [3, 2, 4, 4, 5]
    assert tok.encode("hé") == [3, 8 + 0xC3, 8 + 0xA9]          # unseen "é" spelled as its 2 bytes
    assert tok.special_tokens[SPECIALS[-1]] == tok.n_vocab - 1 and tok.eot_id == 8 + 256
    assert tok.token_bytes(8 + 0xC3) == b"\xc3" and tok.decode([8 + 0xC3]) == "\ufffd"
    with pytest.raises(KeyError):
        tok.token_bytes(tok.n_vocab)


def test_pieces_printable_text():
    # GPT-4 cuts this emoji's 4 UTF-8 bytes into two tokens; neither half is valid text on its own
    assert [(p.bytes, p.text) for p in cl100k().pieces("😀 ok")] == [
        (b"\xf0\x9f\x98", "<0xF0><0x9F><0x98>"), (b"\x80", "<0x80>"), (b" ok", " ok")]
    assert printable(b"\xf0\x9f") == "<0xF0><0x9F>" and printable(b" the") == " the"
    assert visible_whitespace(" a\n\tb") == "·a↵→b"


# --- persistence --------------------------------------------------------------

def _same(a: Tokenizer, b: Tokenizer):
    facts = lambda t: (t.kind, t.name, t.n_vocab, t.eot_id, t.special_tokens)   # noqa: E731
    assert facts(a) == facts(b)
    for s in [ENGLISH, "😀 <|endoftext|> ünïcödé"]:
        assert a.encode(s) == b.encode(s) and a.encode(s, allow_special=True) == b.encode(s, allow_special=True)


def test_bpe_save_load_round_trip(tmp_path, monkeypatch):
    tok, merges = bpe()
    path = tmp_path / "tok.tiktoken"
    tok.save(path)
    loaded = Tokenizer.load(path)
    _same(tok, loaded)
    assert loaded.merges == merges                 # pairs recovered from the ranks, counts from the sidecar
    # the rank file is tiktoken's own format (cache disabled so tiktoken reads the file itself)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tiktoken.load.load_tiktoken_bpe(str(path)) == read_rank_file(path) == tok.enc._mergeable_ranks
    assert json.loads((tmp_path / "tok.tiktoken.json").read_text())["special_tokens"] == tok.special_tokens


def test_char_save_load_round_trip(tmp_path):
    tok = char_tokenizer(training_text()[:2000] + "日本")
    tok.save(tmp_path / "c.tiktoken")
    _same(tok, Tokenizer.load(tmp_path / "c.tiktoken"))


def test_save_load_rejects_broken_files(tmp_path):
    bpe()[0].save(tmp_path / "t")
    (tmp_path / "t").write_text("YQ== 0\nthis is not a rank line\n")
    with pytest.raises(ValueError, match="Error parsing line"):
        Tokenizer.load(tmp_path / "t")
    with pytest.raises(NotImplementedError):
        cl100k().save(tmp_path / "cl")


@pytest.mark.parametrize("make", [lambda: bpe()[0], lambda: char_tokenizer("héllo ✓"), cl100k])
def test_metadata_round_trip(make):
    tok = make()
    meta = json.loads(json.dumps(tok.to_metadata()))   # must survive JSON
    again = Tokenizer.from_metadata(meta)
    _same(tok, again)
    assert again.merges == tok.merges


def _corrupt(meta: dict, **changes) -> dict:
    d = json.loads(json.dumps(meta))
    for k, v in changes.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    return d


BPE_META = lambda: bpe()[0].to_metadata()       # noqa: E731
BAD = [
    (lambda: "not a dict", "must be a dict"),
    (lambda: _corrupt(BPE_META(), kind="wordpiece"), "unknown tokenizer kind"),
    (lambda: _corrupt(BPE_META(), ranks="AAE="), "list of base64"),
    (lambda: _corrupt(BPE_META(), ranks=BPE_META()["ranks"][:-1] + ["%%%"]), "not valid base64"),
    (lambda: _corrupt(BPE_META(), ranks=BPE_META()["ranks"] + ["YQ=="]), "same token twice"),
    (lambda: _corrupt(BPE_META(), ranks=BPE_META()["ranks"][1:]), "special token ids must be"),
    (lambda: _corrupt(BPE_META(), ranks=BPE_META()["ranks"][::-1]), "single bytes"),
    (lambda: _corrupt(BPE_META(), special_tokens={"<|user|>": 508}), "<|endoftext|>"),
    (lambda: _corrupt(BPE_META(), special_tokens=[1, 2]), "map strings to integer"),
    (lambda: _corrupt(BPE_META(), pat_str=None), "pat_str"),
    (lambda: _corrupt(BPE_META(), pat_str="(unclosed"), "tiktoken rejected"),
    (lambda: _corrupt(BPE_META(), merge_counts=[1, 2]), "merge_counts"),
    (lambda: _corrupt(BPE_META(), name=None), "name"),
    (lambda: _corrupt(char_tokenizer("ab").to_metadata(), ranks=["YWI=", "Yg=="]), "exactly one character"),
]


@pytest.mark.parametrize("make_bad, message", BAD)
def test_bad_metadata_raises_clear_value_error(make_bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Tokenizer.from_metadata(make_bad())


def test_token_not_buildable_from_earlier_tokens_is_rejected():
    meta = BPE_META()
    # token 256 := b"\x00\x01\x02", which no two tokens before it can spell
    meta["ranks"] = meta["ranks"][:256] + ["AAEC"] + meta["ranks"][257:]
    with pytest.raises(ValueError, match="cannot be built from two earlier tokens"):
        Tokenizer.from_metadata(meta)
