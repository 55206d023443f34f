"""The real model's parameter file, a GGUF, read as a learner would: its tensors, their number
types and sizes, and what one 4-bit block holds.

A GGUF (llama.cpp's format) is a header (metadata: config, tokenizer, chat template) followed by
tensors. SmolLM2's weight matrices are Q4_1: every run of 32 weights is one 20-byte block, a scale
d and a minimum m (fp16 each) and 32 four-bit codes q in 0..15, the weight being d * q + m. Its
embedding is Q8_0 (32 signed bytes and a scale per block); the norms are plain F32.

`summary` reads only the header and tensor table (a memory map: no weights decoded). `q4_1_block`
decodes one block by hand, byte by byte; tests check it against the `gguf` package's dequantizer.

Reference: the GGUF format (ggml-org/ggml docs/gguf.md); ggml-quants.c (block_q4_1: low nibbles
are weights 0..15, high nibbles weights 16..31).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK = 32                 # weights per Q4_1 / Q8_0 block
Q4_1_BYTES = 20            # 2 (scale, fp16) + 2 (minimum, fp16) + 16 (32 four-bit codes)


@dataclass(frozen=True)
class TensorRow:
    name: str
    shape: tuple[int, ...]         # as PyTorch writes it: (out, in)
    type: str                      # "Q4_1", "Q8_0", "F32"
    params: int
    bytes: int

    @property
    def bits_per_weight(self) -> float:
        return 8 * self.bytes / self.params


@dataclass(frozen=True)
class TypeRow:
    type: str
    tensors: int
    params: int
    bytes: int

    @property
    def bits_per_weight(self) -> float:
        return 8 * self.bytes / self.params


@dataclass(frozen=True)
class Summary:
    path: str
    file_bytes: int
    meta: dict                     # every metadata key except the tokenizer's long lists
    n_vocab: int
    tensors: list[TensorRow]
    types: list[TypeRow]           # one row per number type, largest first

    @property
    def n_params(self) -> int:
        """Each weight counted once (the output layer is the embedding, tied: not stored twice)."""
        return sum(t.params for t in self.tensors)

    @property
    def config(self):
        """The network's shape as our LlamaConfig (smollm.config_from reads the vocabulary size
        from the token list, left out of `meta`: a list of the right length stands in)."""
        from .smollm import config_from
        return config_from({**self.meta, "tokenizer.ggml.tokens": range(self.n_vocab)})

    @property
    def header_bytes(self) -> int:
        return self.file_bytes - sum(t.bytes for t in self.tensors)


@functools.lru_cache(maxsize=2)
def _reader(path: str):
    """One GGUFReader per file and process: parsing the header's 49,152 tokens takes seconds;
    the tensors are a memory map of the file."""
    from .smollm import gguf_reader
    return gguf_reader(path)


LONG = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")


def summary(path) -> Summary:
    """The file's header and tensor table; the weights stay on disk.

    e.g. SmolLM2: 272 tensors; Q4_1 210 tensors, 5.0 bits each (20 bytes per 32 weights)."""
    reader = _reader(str(path))
    meta = {k: f.contents() for k, f in reader.fields.items()
            if not k.startswith("GGUF.") and k not in LONG}
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    rows = [TensorRow(t.name, tuple(int(d) for d in reversed(t.shape)), t.tensor_type.name,
                      int(t.n_elements), int(t.n_bytes)) for t in reader.tensors]
    types: dict[str, list[TensorRow]] = {}
    for r in rows:
        types.setdefault(r.type, []).append(r)
    by_type = sorted((TypeRow(k, len(v), sum(r.params for r in v), sum(r.bytes for r in v))
                      for k, v in types.items()), key=lambda t: -t.bytes)
    return Summary(str(path), Path(path).stat().st_size, meta, n_vocab, rows, by_type)


# --------------------------------------------------------------------------------------------------
# One Q4_1 block, by hand

@dataclass(frozen=True)
class Q41Block:
    tensor: str
    index: int                     # which block of the tensor (row-major, 32 weights each)
    raw: bytes                     # the 20 bytes as stored
    scale: float                   # d
    minimum: float                 # m
    codes: list[int]               # 32 four-bit numbers, 0..15
    weights: list[float]           # d * code + m

    @property
    def levels(self) -> list[float]:
        """The 16 values a weight of this block can take."""
        return [self.scale * q + self.minimum for q in range(16)]

    def text(self) -> str:
        """The block byte by byte, as the Two files page and its notebook show it: the raw bytes,
        d and m with the bytes they come from, the 32 codes, the first weights d × code + m."""
        return (f"raw bytes: {self.raw.hex(' ')}\n"
                f"scale d = {self.scale:.6g}   (bytes {self.raw[:2].hex(' ')}, fp16)\n"
                f"minimum m = {self.minimum:.6g}   (bytes {self.raw[2:4].hex(' ')}, fp16)\n"
                f"codes: {' '.join(map(str, self.codes))}\n"
                f"weights = d × code + m: {', '.join(f'{w:.3f}' for w in self.weights[:8])}, …")


def q4_1_block(path, tensor: str, index: int = 0) -> Q41Block:
    """Decode block `index` of a Q4_1 tensor from its raw bytes: fp16 d, fp16 m, 16 bytes whose low
    nibbles are codes 0..15 and high nibbles codes 16..31. ValueError for another type."""
    reader = _reader(str(path))
    t = next((t for t in reader.tensors if t.name == tensor), None)
    if t is None:
        raise ValueError(f"no tensor {tensor!r} in {Path(path).name}")
    if t.tensor_type.name != "Q4_1":
        raise ValueError(f"{tensor} is {t.tensor_type.name}, not Q4_1")
    n_blocks = int(t.n_elements) // BLOCK
    if not 0 <= index < n_blocks:
        raise ValueError(f"{tensor} has blocks 0 to {n_blocks - 1}")
    raw = bytes(np.asarray(t.data).reshape(-1)[index * Q4_1_BYTES:(index + 1) * Q4_1_BYTES])
    d, m = (float(x) for x in np.frombuffer(raw[:4], dtype="<f2"))
    packed = raw[4:]
    codes = [b & 0x0F for b in packed] + [b >> 4 for b in packed]
    return Q41Block(tensor, index, raw, d, m, codes, [d * q + m for q in codes])
