"""The Tokens page's "token tax" section: one weather note in eleven languages, counted by this
app's BPE, GPT-4's and SmolLM2's tokenizers (explainer/phases/tokentax.py), as a chart, the same
figures as a table, the headline sentence and a predict-then-reveal question."""
from __future__ import annotations

import streamlit as st

from ..i18n import _
from ..phases import tokentax as tt
from ..views.tokentax import tax_chart, tax_table
from . import real, ui
from .classroom import predict_then_reveal
from .panels import corpus_bpe


def _tokenizers() -> list[tuple[str, object]]:
    """The shipped base model's BPE (else one learned from the same corpus), GPT-4's, SmolLM2's."""
    base = ui.shipped_model("base")
    return tt.tokenizers(real.real_tokenizer() if real.available() else None,
                         base=base.tokenizer if base is not None else corpus_bpe())


def tax_section() -> None:
    toks = _tokenizers()
    names = [name for name, _tok in toks]
    rows = tt.token_tax(toks)
    llm = tt.real_llm(names)
    st.header(_("The token tax: one note in {n} languages").format(n=len(rows)))
    st.markdown(_(
        "A model reads, writes and is paid for by the token, and its window holds a fixed number "
        "of them. So a language that needs more tokens for the same message pays more and fits "
        "less in. Here is the same weather note (“{note}”), translated for this app into "
        "{n} languages, and what each tokenizer needs for it.").format(note=rows[0].text, n=len(rows) - 1))
    ui.plot(tax_chart(rows, names), key="tax")
    st.markdown(f"**{tt.headline(rows, llm)}** {tt.beside_published(rows, names)}")
    st.caption(_("Bars: tokens as a multiple of the English note's (the dashed line). Diamonds: UTF-8 "
                 "bytes, what a byte-level tokenizer starts from before it has learned any merges. "
                 "This app's BPE learned only English, so outside the Latin alphabet it falls back "
                 "to one token per byte."))
    if llm != tt.SMOL:
        st.caption(_("{name} is not installed on this server, so the sentence above is GPT-4's.").format(
            name=real.NAME))
    with st.expander(_("Each note and its counts (tokens, and times English)")):
        st.table(tax_table(rows, names))
    ui.explain(tt.token_tax, tax_chart)
    predict_then_reveal("tokens-tax", dict(toks)[llm])
