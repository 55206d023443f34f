"""Your model as a Hugging Face folder: `transformers` loads it with no code of ours.

    AutoModelForCausalLM.from_pretrained(folder)    # a GPT2LMHeadModel
    AutoTokenizer.from_pretrained(folder)           # a PreTrainedTokenizerFast

Our GPT is GPT-2's maths (pre-LayerNorm blocks, learned positions, tanh GELU, tied embeddings),
so the folder says GPT-2 in config.json. Two differences in the weights: GPT-2 names every tensor
under `transformer.`, and its linear layers are `Conv1D`, which store a weight as (in, out), the
transpose of nn.Linear's (out, in). The output layer is the embedding (tie_word_embeddings), not
stored twice.

The tokenizer goes into tokenizer.json, the `tokenizers` library's format:
  - our BPE and cl100k: split by the same regex (`Split`), bytes spelled as characters
    (`ByteLevel`), then merges (vocab.merges: tiktoken's rule as a list); `ignore_merges` takes
    a piece that is already a token whole, as tiktoken does;
  - characters: one token per known character, any other character as its UTF-8 bytes
    (`byte_fallback`: the tokens <0x00> ... <0xFF> at the byte-fallback ids).
Special tokens (<|endoftext|>, <|user|>, ...) are added tokens. One difference stays:
AutoTokenizer turns "<|end|>" typed in a text into the special token, our tokenizer never does.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save as st_save

from ..gpt.chat import ASSISTANT, END, EOT, USER
from ..gpt.model import GPTConfig
from ..gpt.paramfile import LoadedModel
from ..gpt.tokenizer import Tokenizer
from .vocab import byte_level, spell

LAYER_NORM_EPS = 1e-5          # nn.LayerNorm's default, which our blocks use
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


# --------------------------------------------------------------------------------------------------
# config.json and the weights

def config(cfg: GPTConfig, tok: Tokenizer, name: str) -> dict:
    """GPT-2's config for our GPT: the same shape, dropout off, GELU's tanh form ("gelu_new")."""
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "_name_or_path": name,
        "vocab_size": cfg.vocab_size, "n_positions": cfg.block_size, "n_ctx": cfg.block_size,
        "n_embd": cfg.n_embd, "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_inner": 4 * cfg.n_embd,
        "activation_function": "gelu_new", "layer_norm_epsilon": LAYER_NORM_EPS,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "summary_first_dropout": 0.0,
        "initializer_range": 0.02, "scale_attn_weights": True, "use_cache": True,
        "bos_token_id": tok.eot_id, "eos_token_id": tok.eot_id, "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }


def weights(loaded: LoadedModel) -> dict[str, np.ndarray]:
    """GPT2LMHeadModel's names and layouts: `h.0.attn.c_attn.weight` (3C, C) becomes
    `transformer.h.0.attn.c_attn.weight` (C, 3C); the tied lm_head is left out."""
    out = {}
    for name, t in loaded.model.state_dict().items():
        if name == "lm_head.weight":
            continue
        a = t.detach().cpu().float().numpy()
        out["transformer." + name] = np.ascontiguousarray(a.T if name.endswith(CONV1D) else a)
    return out


# --------------------------------------------------------------------------------------------------
# The tokenizer files

def _added(specials: dict[str, int]) -> list[dict]:
    return [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for s, i in sorted(specials.items(), key=lambda kv: kv[1])]


def tokenizer_json(tok: Tokenizer) -> dict:
    """tokenizer.json for any of our tokenizers (see the module docstring)."""
    if tok.kind == "char":
        fallback = len(tok.chars)
        vocab = {c: i for i, c in enumerate(tok.chars)}
        vocab.update({f"<0x{b:02X}>": fallback + b for b in range(256)})
        return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": _added(tok.special_tokens),
                "normalizer": None, "pre_tokenizer": None, "post_processor": None,
                "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
                "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                          "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": True,
                          "ignore_merges": False, "vocab": vocab, "merges": []}}
    bpe = byte_level(tok)
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": _added(bpe.specials),
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": bpe.pat_str}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": {spell(b): i for i, b in bpe.tokens.items()},
                  "merges": [list(p) for p in bpe.merges]},
    }


def chat_template(tok: Tokenizer) -> str | None:
    """Our chat format as a Jinja template, for a tokenizer that has its tokens: each user turn
    <|endoftext|><|user|>question<|assistant|>, an answer followed by <|end|> (chat.format_text)."""
    if not {EOT, USER, ASSISTANT, END} <= set(tok.special_tokens):
        return None
    return ("{% for m in messages %}{% if m['role'] == 'user' %}" + EOT + USER + "{{ m['content'] }}" + ASSISTANT
            + "{% elif m['role'] == 'assistant' %}{{ m['content'] }}" + END + "{% endif %}{% endfor %}")


def tokenizer_config(tok: Tokenizer, block_size: int) -> dict:
    d = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": block_size,
         "bos_token": EOT, "eos_token": EOT, "clean_up_tokenization_spaces": False,
         "add_bos_token": False, "add_eos_token": False}
    template = chat_template(tok)
    if template:
        d["chat_template"] = template
    return d


# --------------------------------------------------------------------------------------------------
# The folder

def files(loaded: LoadedModel) -> dict[str, bytes]:
    """Every file of the folder, by name."""
    tok, cfg = loaded.tokenizer, loaded.config
    if tok.n_vocab > cfg.vocab_size:
        raise ValueError(f"the tokenizer has {tok.n_vocab:,} tokens but the model only {cfg.vocab_size:,} rows")
    stop = [tok.eot_id] + ([tok.special_tokens[END]] if END in tok.special_tokens else [])

    def js(d):
        return json.dumps(d, indent=2, ensure_ascii=False).encode("utf-8")
    return {
        "config.json": js(config(cfg, tok, loaded.name)),
        "generation_config.json": js({"bos_token_id": tok.eot_id, "eos_token_id": stop}),
        "model.safetensors": st_save(weights(loaded), metadata={"format": "pt"}),
        "tokenizer.json": js(tokenizer_json(tok)),
        "tokenizer_config.json": js(tokenizer_config(tok, cfg.block_size)),
        "special_tokens_map.json": js({"bos_token": EOT, "eos_token": EOT}),
    }


def write(loaded: LoadedModel, folder: str | os.PathLike) -> Path:
    """Write the folder (created if needed; each file written whole, then renamed into place)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files(loaded).items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)
    return folder


def zipped(loaded: LoadedModel) -> bytes:
    """The folder as one zip (for a download button): `<name>/config.json`, ..."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files(loaded).items():
            z.writestr(f"{loaded.name}/{name}", data)
    return buf.getvalue()
