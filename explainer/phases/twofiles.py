"""A model is two files: a parameter file (the learned numbers) and a run file (the program).

Everything the "Two files" page measures comes from here: what is inside a parameter file (its
size, its tensors, parameters by part of the network, the metadata it carries, one tensor's
values), what happens when it is stored smaller (fp16, int8: sizes, and the *measured* change in
validation bits per byte and in the flash-flood ranking), the run file itself, and the published
sizes of real ones. Its pictures are in views/twofiles.py.

The two-file picture is Karpathy's ("Intro to Large Language Models", 2023: Llama 2 70B is a
140 GB parameter file plus about 500 lines of C, run.c); our run file is explainer/runfile/run.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .. import i18n
from ..gpt.paramfile import LoadedModel, export, load_model
from ..i18n import N_, _

RUNFILE = Path(__file__).resolve().parents[1] / "runfile" / "run.py"
BYTES_PER = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}
PARTS = (N_("embeddings"), N_("attention"), "MLP", N_("norms"))   # shown through _()
# Documented margins (tests check them): a copy's validation bits per byte stays this close to the
# fp32 original's. Measured changes are far smaller (about 1e-5 for both on our small models).
BPB_MARGIN = {"fp32": 0.0, "fp16": 0.002, "int8": 0.02}
# Published reference figures (not measured here): (label, bytes, size as published, note); the
# size and the note are shown through _().
REFERENCES = [
    ("GPT-2 124M (fp32)", 0.5e9, N_("about 0.5 GB"), N_("GPT-2 small: 124M parameters x 4 bytes, about 0.5 GB")),
    ("Llama 2 70B (fp16)", 140e9, N_("about 140 GB"), N_("Llama 2 70B: 70B parameters x 2 bytes, about 140 GB")),
]
# The tensor table's columns as the page shows them (through _()).
COLUMNS = {"tensor": N_("tensor"), "part": N_("part"), "shape": N_("shape"), "dtype": N_("dtype"),
           "numbers": N_("numbers"), "bytes": N_("bytes")}


# --------------------------------------------------------------------------------------------------
# What is inside the parameter file


def part_of(name: str) -> str:
    """Which part of the network a tensor belongs to: 'h.0.mlp.c_fc.weight' -> 'MLP'."""
    if name.startswith(("wte.", "wpe.")):
        return "embeddings"
    if ".attn." in name:
        return "attention"
    if ".mlp." in name:
        return "MLP"
    if "ln_" in name:
        return "norms"
    return N_("other")


def tensor_table(tensors: dict[str, tuple[list[int], str]]) -> list[dict]:
    """One row per stored tensor, in file order, from read_metadata(path)["tensors"].

    {"wpe.weight": ([64, 32], "F32")} -> [{"tensor": "wpe.weight", "part": "embeddings",
    "shape": "64 × 32", "dtype": "F32", "numbers": 2048, "bytes": 8192}]
    """
    rows = []
    for name, (shape, dtype) in tensors.items():
        n = int(np.prod(shape)) if shape else 1
        rows.append({"tensor": name, "part": part_of(name), "shape": " × ".join(map(str, shape)),
                     "dtype": dtype, "numbers": n, "bytes": n * BYTES_PER.get(dtype, 4)})
    return rows


def params_by_part(tensors: dict[str, tuple[list[int], str]]) -> dict[str, int]:
    """Parameters per part (int8 scales are bookkeeping, not parameters, and are left out)."""
    out = dict.fromkeys(PARTS, 0)
    for row in tensor_table(tensors):
        if not row["tensor"].endswith(".scale"):
            out[row["part"]] = out.get(row["part"], 0) + row["numbers"]
    return out


def tokenizer_summary(tok_meta: dict) -> dict:
    """The tokenizer metadata without its long list of token bytes."""
    return {"kind": tok_meta.get("kind"), "name": tok_meta.get("name"),      # keys shown through _()
            N_("ordinary tokens stored"): len(tok_meta.get("ranks", [])),
            N_("special tokens"): tok_meta.get("special_tokens", {}),
            N_("split pattern (regex)"): tok_meta.get("pat_str")}


def tensor_values(loaded: LoadedModel, name: str) -> np.ndarray:
    """All values of one weight tensor as a flat float array."""
    return loaded.model.state_dict()[name].detach().float().flatten().numpy()


# --------------------------------------------------------------------------------------------------
# Smaller files: fp16 and int8, measured


def export_variants(loaded: LoadedModel, directory: str | Path) -> dict[str, Path]:
    """The model saved as fp32, fp16 and int8 in `directory` (kept if already there)."""
    directory = Path(directory)
    stem = Path(loaded.path).stem if loaded.path else "model"
    out = {}
    for dtype in ("fp32", "fp16", "int8"):
        p = directory / f"{stem}-{dtype}.safetensors"
        out[dtype] = p if p.is_file() else export(loaded, p, dtype)
    return out


def validation_windows(facts: dict) -> int:
    """How many validation windows pretraining measured on (eval_batches x its batch size), so that
    the fp32 row measured here is the val_bpb in a base model's training facts:
    validation_windows({"kind": "base", "spec": {"batch_size": 32}}) -> 128."""
    from ..gpt.training import TrainConfig
    from .pretrain import PretrainSpec
    spec = (facts.get("spec") or {}) if facts.get("kind") == "base" else {}
    return TrainConfig.eval_batches * spec.get("batch_size", PretrainSpec.batch_size)


def validation_data(loaded: LoadedModel, n_windows: int | None = None):
    """Fixed validation windows from the model's own corpus (the split pretraining held out) and
    the byte length of every token, for bits per byte. Returns (val_set, byte_len, corpus title).
    By default the same windows pretraining evaluated on (see validation_windows)."""
    from .. import corpus
    from ..gpt.training import Batches, token_byte_lengths
    from .pretrain import encode_documents
    keys = {title: key for key, title in corpus.CORPORA.items()}
    key = keys.get(loaded.facts.get("corpus"), "everyday")
    _train, val_text = corpus.split(corpus.get_corpus(key).text, seed=int(loaded.facts.get("seed", 0)))
    ids = encode_documents(loaded.tokenizer, val_text)
    n_windows = n_windows or validation_windows(loaded.facts)
    val = Batches(ids, ids, loaded.config.block_size).val_set(n_windows)
    return val, token_byte_lengths(loaded.tokenizer, loaded.config.vocab_size), corpus.CORPORA[key]


def compression(loaded: LoadedModel, directory: str | Path, n_windows: int | None = None,
                prompt: str = "A flash flood watch will be in effect all", word: str = "night") -> list[dict]:
    """For fp32, fp16 and int8 copies of the model: file size, validation bits per byte and its
    change against fp32, and the rank and probability of `word` after `prompt`. All measured now,
    on the same validation windows, by loading each file back."""
    from ..gpt.scoring import rank_next
    from ..gpt.training import evaluate
    val, byte_len, title = validation_data(loaded, n_windows)
    rows = []
    for dtype, path in export_variants(loaded, directory).items():
        m = load_model(path)
        _, bpb = evaluate(m.model, val, byte_len)
        r = rank_next(m.model, m.tokenizer, prompt, k=1, candidates=[word])
        rows.append({"dtype": dtype, "path": str(path), "bytes": path.stat().st_size, "val_bpb": bpb,
                     "word_rank": r.candidates[0].rank, "word_prob": r.candidates[0].prob,
                     "top_word": r.top[0][0], "corpus": title})
    for row in rows:
        row["size_vs_fp32"] = row["bytes"] / rows[0]["bytes"]
        row["bpb_change"] = row["val_bpb"] - rows[0]["val_bpb"]
    return rows


def facts_note(facts: dict, rows: list[dict]) -> str | None:
    """How the val_bpb in the file's training facts relates to the fp32 row measured here (same
    figure, or why not), or None if the facts carry no val_bpb (tuned models report val_loss on
    answers instead)."""
    if facts.get("val_bpb") is None:
        return None
    fp32 = rows[0]
    if round(fp32["val_bpb"], 4) == round(facts["val_bpb"], 4):
        return _('The fp32 row is the "val_bpb" in the training facts above: the same held-out '
                 "text, measured again here.")
    if facts.get("corpus") != fp32["corpus"]:
        why = _("on held-out text from {corpus}, which this page does not have, so here it is "
                "measured on {here}").format(corpus=_(facts["corpus"]) if facts.get("corpus")
                                             else _("its own text"), here=_(fp32["corpus"]))
    else:
        why = _("on held-out text other than the windows measured here")
    return _('The training facts say "val_bpb": {value}: that was measured when training ended, '
             "{why}.").format(value=facts["val_bpb"], why=why)


# --------------------------------------------------------------------------------------------------
# The run file and the scale


def download_name(model_name: str, dtype: str) -> str:
    """The file name a parameter-file download gets, and the name the run command uses, so the
    command on the page works on the downloaded file as it is. Safe on every system (no spaces or
    colons): download_name("feedback 17:05", "int8") -> 'feedback-17-05-int8.safetensors'."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-.") or "model"
    return f"{stem}-{dtype}.safetensors"


def runfile_source() -> str:
    return RUNFILE.read_text(encoding="utf-8")


def mb(n: float) -> str:
    """Human file size: 4_300_000 -> '4.3 MB', 140e9 -> '140 GB'."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            v = n / size
            return f"{i18n.number(v, '0' if v >= 100 else '0.0')} {unit}"   # 4,3 MB in German
    return _("{n} bytes").format(n=int(n))
