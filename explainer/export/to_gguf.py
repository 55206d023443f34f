"""Your model as a GGUF file, llama.cpp's format, in the layout it reads for GPT-2.

One file, as SmolLM2 ships: a header of key/value metadata (`gpt2.*`: the network's shape;
`tokenizer.ggml.*`: every token spelled byte-level, their types, the merges, the special ids),
then the tensors, float32, under llama.cpp's GPT-2 names (and for a chat model its template and
<|end|> as the end of a turn; <|endoftext|> opens every text, as in training):

    wte.weight -> token_embd.weight      h.0.ln_1 -> blk.0.attn_norm     h.0.attn.c_attn -> blk.0.attn_qkv
    wpe.weight -> position_embd.weight   h.0.ln_2 -> blk.0.ffn_norm      h.0.attn.c_proj -> blk.0.attn_output
    ln_f -> output_norm                  h.0.mlp.c_fc -> blk.0.ffn_up    h.0.mlp.c_proj -> blk.0.ffn_down

Our weights are (out, in) as GGUF wants them (the gguf package reverses the shape into ggml's
order). The output layer is written too (`output.weight`, the embedding again), as llama.cpp's own
converter does for GPT-2, whose older readers require it.

The split regex: llama.cpp knows a fixed list of pre-tokenizers by name. cl100k's regex is
llama 3's ("llama-bpe"); ours has no name there, so the file says "gpt-2", the nearest (ours
keeps numbers to 3 digits and newlines after punctuation), and carries our exact regex under
`explainer.tokenizer.pat_str`, which run.py reads. A character tokenizer is no BPE: no GGUF.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..gpt.paramfile import LoadedModel
from ..gpt.chat import END
from .to_hf import LAYER_NORM_EPS, chat_template
from .vocab import CONTROL, NORMAL, UNUSED, byte_level, spell

ARCH = "gpt2"
NAMES = {"wte": "token_embd", "wpe": "position_embd", "ln_f": "output_norm", "ln_1": "attn_norm",
         "ln_2": "ffn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
         "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
PRE = {"cl100k": "llama-bpe", "bpe": "gpt-2"}


def gguf_name(name: str) -> str:
    """Our tensor name as llama.cpp's: "h.3.mlp.c_fc.bias" -> "blk.3.ffn_up.bias"."""
    stem, kind = name.rsplit(".", 1)
    if stem.startswith("h."):
        _, i, rest = stem.split(".", 2)
        return f"blk.{i}.{NAMES[rest]}.{kind}"
    return f"{NAMES[stem]}.{kind}"


def vocabulary(loaded: LoadedModel) -> tuple[list[str], list[int], list[str]]:
    """(tokens, types, merges) for all vocab_size ids: ordinary tokens spelled byte-level, specials
    as their text (control), ids no token has (cl100k's gaps, rows past the tokenizer) "[PAD<id>]"."""
    tok = loaded.tokenizer
    if tok.kind == "char":
        raise ValueError("a character tokenizer has no merges: llama.cpp reads byte-level BPE "
                         "(our BPE or cl100k) for GPT-2; export this model with --format hf instead")
    bpe = byte_level(tok)
    tokens = [f"[PAD{i}]" for i in range(loaded.config.vocab_size)]
    types = [UNUSED] * loaded.config.vocab_size
    for i, b in bpe.tokens.items():
        tokens[i], types[i] = spell(b), NORMAL
    for s, i in bpe.specials.items():
        tokens[i], types[i] = s, CONTROL
    return tokens, types, [f"{a} {b}" for a, b in bpe.merges]


def write(loaded: LoadedModel, path: str | os.PathLike) -> Path:
    """Write the GGUF (whole, then renamed into place)."""
    import gguf
    cfg, tok, path = loaded.config, loaded.tokenizer, Path(path)
    tokens, types, merges = vocabulary(loaded)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        w = gguf.GGUFWriter(tmp, ARCH)
        w.add_name(loaded.name)
        w.add_context_length(cfg.block_size)
        w.add_embedding_length(cfg.n_embd)
        w.add_feed_forward_length(4 * cfg.n_embd)
        w.add_block_count(cfg.n_layer)
        w.add_head_count(cfg.n_head)
        w.add_layer_norm_eps(LAYER_NORM_EPS)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(PRE[tok.kind])
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(tok.eot_id)
        w.add_add_bos_token(True)             # every text starts with <|endoftext|>, as in training
        w.add_eos_token_id(tok.eot_id)
        if END in tok.special_tokens:         # a chat model's answer ends there: llama.cpp stops
            w.add_eot_token_id(tok.special_tokens[END])
        template = chat_template(tok)
        if template:
            w.add_chat_template(template)
        w.add_string("explainer.tokenizer.kind", tok.kind)
        w.add_string("explainer.tokenizer.pat_str", tok.pat_str)
        sd = loaded.model.state_dict()
        for name, t in sd.items():
            if name != "lm_head.weight":
                w.add_tensor(gguf_name(name), t.detach().cpu().float().numpy())
        w.add_tensor("output.weight", sd["wte.weight"].detach().cpu().float().numpy())
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_bytes(loaded: LoadedModel) -> bytes:
    """The file's bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as d:
        return write(loaded, Path(d) / "model.gguf").read_bytes()
