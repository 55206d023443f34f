"""A model is two files: a parameter file (the learned numbers) and a run file (the program).

Everything the "Two files" page shows comes from here: what is inside a parameter file (its size,
its tensors, parameters by part of the network, the metadata it carries, a histogram of one
tensor's values), what happens when it is stored smaller (fp16, int8: sizes, and the *measured*
change in validation bits per byte and in the flash-flood ranking), the run file itself, and how
this model's file compares with real ones.

The two-file picture is Karpathy's ("Intro to Large Language Models", 2023: Llama 2 70B is a
140 GB parameter file plus about 500 lines of C, run.c); our run file is explainer/runfile/run.py.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .charts import PALETTE, titled
from .paramfile import LoadedModel, export, load_model

RUNFILE = Path(__file__).parent / "runfile" / "run.py"
BYTES_PER = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}
PARTS = ("embeddings", "attention", "MLP", "norms")
# Documented margins (tests check them): a copy's validation bits per byte stays this close to the
# fp32 original's. Measured changes are far smaller (about 1e-5 for both on our small models).
BPB_MARGIN = {"fp32": 0.0, "fp16": 0.002, "int8": 0.02}
# Published reference figures (not measured here): (label, bytes, size as published, note).
REFERENCES = [
    ("GPT-2 124M (fp32)", 0.5e9, "about 0.5 GB", "GPT-2 small: 124M parameters x 4 bytes, about 0.5 GB"),
    ("Llama 2 70B (fp16)", 140e9, "about 140 GB", "Llama 2 70B: 70B parameters x 2 bytes, about 140 GB"),
]


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
    return "other"


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
    return {"kind": tok_meta.get("kind"), "name": tok_meta.get("name"),
            "ordinary tokens stored": len(tok_meta.get("ranks", [])),
            "special tokens": tok_meta.get("special_tokens", {}),
            "split pattern (regex)": tok_meta.get("pat_str")}


def tensor_values(loaded: LoadedModel, name: str) -> np.ndarray:
    """All values of one weight tensor as a flat float array."""
    return loaded.model.state_dict()[name].detach().float().flatten().numpy()


def histogram_chart(values: np.ndarray, name: str, bins: int = 80) -> go.Figure:
    """How a tensor's numbers are spread: most weights are small, near zero."""
    counts, edges = np.histogram(values, bins=bins)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=mids, y=counts, marker_color=PALETTE[0], width=edges[1] - edges[0],
                           hovertemplate="around %{x:.4f}: %{y:,} numbers<extra></extra>"))
    fig.update_layout(bargap=0)
    return titled(fig, f"The {values.size:,} numbers in {name}", "value", "how many numbers")


def parts_chart(counts: dict[str, int]) -> go.Figure:
    """Parameters per part of the network, as bars with their share of the total."""
    total = sum(counts.values()) or 1
    names = [k for k in counts if counts[k]]
    fig = go.Figure(go.Bar(
        x=names, y=[counts[k] for k in names], marker_color=[PALETTE[i % 6] for i in range(len(names))],
        text=[f"{counts[k]:,}<br>{counts[k] / total:.{0 if counts[k] >= total / 100 else 1}%}" for k in names],
        textposition="auto",
        hovertemplate="%{x}: %{y:,} parameters<extra></extra>"))
    return titled(fig, f"Where the {total:,} parameters are", "part of the network", "parameters")


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
    from .pretrain import PretrainSpec
    from .training import TrainConfig
    spec = (facts.get("spec") or {}) if facts.get("kind") == "base" else {}
    return TrainConfig.eval_batches * spec.get("batch_size", PretrainSpec.batch_size)


def validation_data(loaded: LoadedModel, n_windows: int | None = None):
    """Fixed validation windows from the model's own corpus (the split pretraining held out) and
    the byte length of every token, for bits per byte. Returns (val_set, byte_len, corpus title).
    By default the same windows pretraining evaluated on (see validation_windows)."""
    from . import corpus
    from .pretrain import encode_documents
    from .training import Batches, token_byte_lengths
    keys = {title: key for key, title in corpus.CORPORA.items()}
    key = keys.get(loaded.facts.get("corpus"), "everyday")
    _, val_text = corpus.split(corpus.get_corpus(key).text, seed=int(loaded.facts.get("seed", 0)))
    ids = encode_documents(loaded.tokenizer, val_text)
    n_windows = n_windows or validation_windows(loaded.facts)
    val = Batches(ids, ids, loaded.config.block_size).val_set(n_windows)
    return val, token_byte_lengths(loaded.tokenizer, loaded.config.vocab_size), corpus.CORPORA[key]


def compression(loaded: LoadedModel, directory: str | Path, n_windows: int | None = None,
                prompt: str = "A flash flood watch will be in effect all", word: str = "night") -> list[dict]:
    """For fp32, fp16 and int8 copies of the model: file size, validation bits per byte and its
    change against fp32, and the rank and probability of `word` after `prompt`. All measured now,
    on the same validation windows, by loading each file back."""
    from .model import rank_next
    from .training import evaluate
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
        return ('The fp32 row is the "val_bpb" in the training facts above: the same held-out '
                "text, measured again here.")
    if facts.get("corpus") != fp32["corpus"]:
        why = (f"on held-out text from {facts.get('corpus', 'its own text')}, which this page "
               f"does not have, so here it is measured on {fp32['corpus']}")
    else:
        why = "on held-out text other than the windows measured here"
    return (f'The training facts say "val_bpb": {facts["val_bpb"]}: that was measured when '
            f"training ended, {why}.")


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
            return f"{v:.0f} {unit}" if v >= 100 else f"{v:.1f} {unit}"
    return f"{int(n)} bytes"


def scale_chart(files: Sequence[tuple[str, float]]) -> go.Figure:
    """This model's files beside the published reference figures, on a log scale."""
    rows = [(name, size, mb(size)) for name, size in files] + [r[:3] for r in REFERENCES]
    colors = [PALETTE[0]] * len(files) + [PALETTE[3]] * len(REFERENCES)
    fig = go.Figure(go.Bar(
        y=[r[0] for r in rows], x=[r[1] for r in rows], orientation="h", marker_color=colors,
        text=[r[2] for r in rows], textposition="auto", cliponaxis=False,   # long bars: inside
        hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_xaxes(type="log", tickvals=[1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12],
                     ticktext=["100 KB", "1 MB", "10 MB", "100 MB", "1 GB", "10 GB", "100 GB", "1 TB"],
                     range=[5, 12.3])
    fig.update_yaxes(autorange="reversed")
    return titled(fig, "Parameter file sizes (log scale: each step is 10 times bigger)",
                   "file size", "", height=120 + 48 * len(rows))


# A grid, so the two rows line up; where it is narrow (800 px with the sidebar, presentation mode)
# each row stacks: who, then the two files side by side, then what they make.
TWO_FILES_CSS = """<style>
.tf-grid { container-type: inline-size; }
.tf-rows { display: grid; grid-template-columns: repeat(2, minmax(min-content, max-content)) 2em
           minmax(min-content, max-content) minmax(8em, 1fr);
           align-items: center; gap: 12px 10px; margin: 10px 0; }
.tf-file { border: 2px solid #0072B2; border-radius: 8px; padding: 8px 14px; background: rgba(0,114,178,0.07); }
.tf-file.code { border-color: #009E73; background: rgba(0,158,115,0.07); }
.tf-file b { display: block; font-size: 1.05em; overflow-wrap: anywhere; }
.tf-op { font-size: 1.6em; font-weight: 700; opacity: 0.7; text-align: center; }
.tf-who { font-weight: 700; }
.tf-makes .tf-op { vertical-align: middle; margin-right: 4px; }
@container (max-width: 54rem) {
  .tf-rows { grid-template-columns: minmax(0, 1fr) 2em minmax(0, 1fr); row-gap: 6px; }
  .tf-who { grid-column: 1 / -1; margin-top: 10px; }
  .tf-makes { grid-column: 1 / -1; }
}
</style>"""


def two_files_html(rows: Sequence[tuple[str, str, str, str, str]]) -> str:
    """Rows of the two-file picture, aligned in a grid: (who, parameter file, its size, run file,
    its size)."""
    cells = []
    for who, pname, psize, rname, rsize in rows:
        cells.append(
            f'<span class="tf-who">{html.escape(who)}</span>'
            f'<span class="tf-file"><b>{html.escape(pname)}</b>{html.escape(psize)}</span>'
            f'<span class="tf-op">+</span>'
            f'<span class="tf-file code"><b>{html.escape(rname)}</b>{html.escape(rsize)}</span>'
            f'<span class="tf-makes"><span class="tf-op">=</span> a language model that writes text</span>')
    return TWO_FILES_CSS + f'<div class="tf-grid"><div class="tf-rows">{"".join(cells)}</div></div>'
