"""The real model (SmolLM2-135M-Instruct) on the pages: loaded once per server and shared by every
session, one clear message where it is not installed, and the page sections that put it beside
the learner's model. Every figure here is computed by the model when the page runs.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from .. import i18n
from ..i18n import N_, _
from ..real import gguffile, smollm
from ..real.beside import chance_text, pieces, real_answer, scale_text, trained_on
from ..views import charts
from ..views.lens import lens_heatmap
from ..views.real import size_chart
from ..views.tokens import token_pieces_html
from . import cached, links, ui

NAME = "SmolLM2-135M-Instruct"
MISSING_TEXT = N_("The real model ({name}) is not installed on this server, so its panels are hidden. "
                  "To see them: `{install}` (a 98 MB file), then restart the app.")
MISSING = MISSING_TEXT.format(name=NAME, install=smollm.INSTALL)      # in English


def missing() -> str:
    """MISSING in the page's language."""
    return _(MISSING_TEXT).format(name=NAME, install=smollm.INSTALL)


def available() -> bool:
    return smollm.available()


@st.cache_resource(show_spinner=False)
def _real_model():
    return smollm.load()


def real_model():
    """The real model, read from its GGUF once per server (smollm.load also caches per process);
    the spinner (in the page's language) shows only if loading takes over half a second."""
    with st.spinner(_("Loading {name} (once per server, about 5 s) ...").format(name=NAME)):
        return _real_model()


@st.cache_resource(show_spinner=False)
def real_tokenizer():
    """Its tokenizer alone (from the file's metadata; no weights)."""
    return smollm.tokenizer()


def real_or_note():
    """The real model, or None after one info line saying how to install it."""
    if not available():
        st.info(missing(), icon="📦")
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
    for col, m, who in ((left, loaded, _("Your model ({name})").format(name=loaded.name)), (right, real, NAME)):
        r = cached.ranking(m, prompt, cands)
        what, n_params, n_tokens = trained_on(m)
        with col.container(border=True):
            st.markdown(f"**{who}**")
            ui.plot(charts.next_word_bars([(p, q) for p, _i, q in r.top], title=_("Top 10 next tokens"),
                                          highlight=list(cands)), key=f"beside_{'SmolL' if m is real else 'Your'}")
            st.caption(" · ".join(f"{c.word}: {chance_text(c)}" for c in r.candidates))
            st.caption(_("{n} parameters; read {what}.").format(n=i18n.number(n_params, "#,##0"), what=what))
    ours, theirs = trained_on(loaded), trained_on(real)
    ui.plot(size_chart([(_("yours ({name})").format(name=loaded.name), ours[1], ours[2]), (NAME, theirs[1], theirs[2])]),
            key="beside_sizes")
    st.caption(scale_text(loaded, real))


def lens_panel(loaded, prompt: str) -> None:
    """The logit lens of both models on the same prompt."""
    st.markdown(_(
        "Each layer passes a vector per token to the next. Only the last one is turned into a "
        "guess, but we can turn **every** layer's vector into a guess with the same final step "
        "(the last norm and the output layer): the **logit lens**. Read a column from the bottom "
        "up to watch the guess form. Dark = sure."))
    real = real_model() if available() else None     # where absent, the section above said so
    models = [("Your", _("Your model ({name})").format(name=loaded.name), loaded)] + (
        [("SmolL", NAME, real)] if real is not None else [])
    for key, who, m in models:
        lens = cached.lens(m, prompt, 12)
        ui.plot(lens_heatmap(lens, _("{model}: what each layer would guess next").format(model=who)),
                key=f"lens_{key}")


# ---------------------------------------------------------------------------------------------
# Instruction tuning: a real assistant, with and without its template


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_answers(_real, question):
    return real_answer(_real, question, True), real_answer(_real, question, False)


def _answers(real, question):
    with st.spinner(_("SmolLM2 is answering ...")):
        return _cached_answers(real, question)


def template_panel(question: str) -> None:
    """The real model's answer inside its chat template and as bare text, and the template's tokens."""
    real = real_or_note()
    if real is None:
        return
    with_t, without = _answers(real, question)
    left, right = st.columns(2)
    for col, title, rep in ((left, _("Inside its chat template"), with_t),
                            (right, _("As bare text (no template)"), without)):
        with col.container(border=True):
            st.markdown(f"**{title}**")
            if rep.text:
                ui.model_text(rep.text)        # SmolLM2's own words: never translated
            else:
                st.caption(_("(nothing)"))
            st.caption(_("Stopped by itself.") if rep.ended else
                       _("Did not stop: cut after {n} tokens.").format(n=60))
    st.markdown(_("**The template, as the {n} tokens the model reads** (hover for IDs)").format(
        n=len(with_t.prompt_ids)))
    st.html(token_pieces_html(pieces(real.tokenizer, with_t.prompt_ids), show_whitespace=True))
    st.caption(_("<|im_start|> and <|im_end|> are single special tokens that open and close a turn; "
                 "the system turn is the template's default, added when a chat has none."))


# ---------------------------------------------------------------------------------------------
# Context window: either model


RECALL_STORIES = 10     # SmolLM2 on 10 stories: ~10 s on 2 busy cores (load average 8), once per server


def model_chooser(loaded, key: str):
    """Yours or the real model (a radio); the real one only where it is installed."""
    if not available():
        st.caption(missing())
        return loaded
    pick = links.radio(st, _("Model"), ("yours", "real"), horizontal=True, key=key, param=key,
                       format_func=lambda k: _("Yours ({name})").format(name=loaded.name) if k == "yours"
                       else _("{name} (a real LLM, {n}-token window)").format(
                           name=NAME, n=i18n.number(8192, "#,##0")))
    return real_model() if pick == "real" else loaded


def recall_panel(loaded) -> None:
    """Name recall with the whole story vs a window after the last mention, measured now."""
    r = cached.name_recall(loaded, RECALL_STORIES)
    c1, c2 = st.columns(2)
    c1.metric(_("Name recalled, whole story in view ({n} stories)").format(n=r["n"]), i18n.percent(r["full"]),
              help=_("About {n} tokens in view; greedy decoding must write the whole name.").format(
                  n=i18n.number(r["mean_tokens_full"], "0")))
    c2.metric(_("… window starting after the last mention"), i18n.percent(r["windowed"]),
              help=_("About {n} tokens in view, none of them the name.").format(
                  n=i18n.number(r["mean_tokens_windowed"], "0")))


# ---------------------------------------------------------------------------------------------
# Two files: the GGUF as a parameter file


@st.cache_resource(show_spinner=False)
def _cached_summary(path: str):
    return gguffile.summary(path)


def _summary(path: str):
    with st.spinner(_("Reading the GGUF's header (once per server) ...")):
        return _cached_summary(path)


def gguf_view(path, key: str):
    """Any GGUF read from its header (gguffile.summary; the weights stay on disk): size,
    parameters, tensors and header size, one row per number type, every tensor. Returns the summary."""
    f = _summary(str(path))
    c = ui.wrapping_columns(4, key=key, narrow="36rem", share="calc(50% - 1rem)")
    mb, mb_nbsp = _("{n} MB"), _("{n}\u00a0MB")        # a metric's value; a table cell that must not break
    c[0].metric(_("Size on disk"), mb.format(n=i18n.number(f.file_bytes / 1e6, "0.0")),
                help=_("{n} bytes: {file}").format(n=i18n.number(f.file_bytes, "#,##0"), file=path.name))
    c[1].metric(_("Parameters"), i18n.number(f.n_params, "#,##0"))
    c[2].metric(_("Tensors"), len(f.tensors))
    header_help = (N_("Config, the {n}-token vocabulary, its merges and the chat template.")
                   if "tokenizer.chat_template" in f.meta else N_("Config, the {n}-token vocabulary, its merges."))
    c[3].metric(_("Header"), mb.format(n=i18n.number(f.header_bytes / 1e6, "0.0")),
                help=_(header_help).format(n=i18n.number(f.n_vocab, "#,##0")))
    st.table([{_("number type"): t.type, _("tensors"): t.tensors, _("weights"): i18n.number(t.params, "#,##0"),
               _("size"): mb_nbsp.format(n=i18n.number(t.bytes / 1e6, "0.0")),
               _("bits per weight"): i18n.number(t.bits_per_weight, "0.0")}
              for t in f.types], border="horizontal", hide_index=True)
    with st.expander(_("All {n} tensors with their shapes, types and sizes").format(n=len(f.tensors))):
        st.dataframe([{_("tensor"): t.name, _("shape"): " × ".join(map(str, t.shape)), _("type"): t.type,
                       _("bytes"): t.bytes} for t in f.tensors], hide_index=True, width="stretch")
    return f


def gguf_panel(run_source_name: str = "run.py") -> None:
    """The real model's file: sizes and number types read from it, one Q4_1 block decoded, and
    the command that runs it with the numpy run file."""
    if not available():
        st.info(missing(), icon="📦")
        return
    path = smollm.gguf_path()
    f = gguf_view(path, "tf_gguf")
    st.markdown(_(
        "**What a Q4_1 block is.** The weights are cut into runs of 32. Each run is stored as one "
        "block of 20 bytes: a **scale** d and a **minimum** m (2 bytes each) and 32 codes of 4 bits "
        "(0 to 15, two per byte). A weight is d × code + m, so each block has just 16 possible "
        "values: 5 bits per weight instead of 32."))
    q4 = [t.name for t in f.tensors if t.type == "Q4_1"]
    c1, c2 = st.columns([3, 1])
    name = links.selectbox(c1, _("Tensor"), q4, "blk.0.attn_q.weight" if "blk.0.attn_q.weight" in q4 else None,
                           key="tf_q4_tensor", param="gguf_tensor")
    n_blocks = next(t.params for t in f.tensors if t.name == name) // gguffile.BLOCK
    index = links.number_input(c2, _("Block"), 0, n_blocks - 1, 0, key="tf_q4_block", param="gguf_block",
                               help=_("0 to {n}").format(n=i18n.number(n_blocks - 1, "#,##0")))
    b = gguffile.q4_1_block(path, name, int(index))
    st.code(b.text(), language=None)
    st.markdown(_("**Run it with the numpy run file above**, in a folder holding run.py and the GGUF:"))
    st.code(f'python {run_source_name} {path.name} "A flash flood watch will be in effect all"\n'
            f'python {run_source_name} {path.name} "What is the capital of France?" --chat', language="bash",
            wrap_lines=True)
    st.caption(_("On this server the file is {path} (from `{install}`). run.py parses the "
                 "GGUF header and decodes Q4_1 and Q8_0 blocks itself, with numpy only.").format(
        path=path, install=smollm.INSTALL))
    ui.explain(gguffile.summary, gguffile.q4_1_block)
