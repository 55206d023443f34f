"""A tokenizer as the outside world writes one: every token as a string, and the merges.

Hugging Face's tokenizer.json and llama.cpp's GGUF both store a byte-level BPE the way GPT-2 did:
each token's bytes spelled with one printable character per byte (`byte_chars`), and the merges
as pairs of such strings, applied lowest first. Our BPE is a tiktoken Encoding, which keeps no
merge list, only ranks: it glues the adjacent pair whose concatenation has the lowest rank. The
same rule as a merge list: every way of cutting a token in two known tokens is a merge, ordered by
the rank of the token it makes (`merges`). A character tokenizer is no BPE: see `to_hf.py`.

References: Radford et al. 2019 (GPT-2's bytes_to_unicode); tiktoken's byte_pair_merge.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from ..gpt.tokenizer import Tokenizer

NORMAL, CONTROL, UNUSED = 1, 3, 5        # GGUF token types (llama.cpp's llama_token_type)


@functools.lru_cache(maxsize=1)
def byte_chars() -> list[str]:
    """The character that stands for each byte: printable ones (! to ~, ¡ to ¬, ® to ÿ) stand for
    themselves, the other 68 take the characters from U+0100 up, in byte order.

    >>> c = byte_chars(); c[ord("a")], c[ord(" ")], c[ord("\\n")], c[0xF0]
    ('a', 'Ġ', 'Ċ', 'ð')
    """
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    moved = iter(range(256, 256 + 256 - len(keep)))
    return [chr(b) if b in keep else chr(next(moved)) for b in range(256)]


def spell(b: bytes) -> str:
    """Token bytes in byte-level characters: b" the" -> "Ġthe"."""
    chars = byte_chars()
    return "".join(chars[x] for x in b)


@dataclass(frozen=True)
class ByteLevelBPE:
    tokens: dict[int, bytes]            # id -> bytes, ordinary tokens only (cl100k has gaps)
    merges: list[tuple[str, str]]       # spelled pairs, first applied first
    specials: dict[str, int]            # text -> id
    pat_str: str                        # the split regex applied before merging
    n_vocab: int


def merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """tiktoken's rule as a merge list: every cut of a token into two known tokens, ordered by the
    token's rank, then by the ranks of its two parts.

    >>> r = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"bc": 4, b"abc": 5}
    >>> merges(r)
    [(b'a', b'b'), (b'b', b'c'), (b'a', b'bc'), (b'ab', b'c')]
    """
    out = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        cuts = [(token[:k], token[k:]) for k in range(1, len(token))
                if token[:k] in ranks and token[k:] in ranks]
        out += sorted(cuts, key=lambda c: (ranks[c[0]], ranks[c[1]]))
    return out


def byte_level(tok: Tokenizer) -> ByteLevelBPE:
    """Our BPE or cl100k as a byte-level BPE; ValueError for a tokenizer that is not one."""
    if tok.kind not in ("bpe", "cl100k"):
        raise ValueError(f"a {tok.kind!r} tokenizer is not a byte-level BPE")
    ranks = tok.enc._mergeable_ranks
    pairs = [(spell(a), spell(b)) for a, b in merges(ranks)]
    return ByteLevelBPE({i: t for t, i in ranks.items()}, pairs, dict(tok.special_tokens), tok.pat_str,
                        tok.n_vocab)
