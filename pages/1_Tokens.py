"""Step 1: text becomes tokens, tokens become IDs, IDs become rows of numbers."""
import streamlit as st

from explainer.app import links, panels, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.app.tokentax import tax_section
from explainer.gpt.scoring import embedding_rows
from explainer.gpt.tokenizer import Tokenizer, replay_merges, train_bpe_simple
from explainer.i18n import N_, _, ngettext, number
from explainer.views import charts

ui.page_setup(N_("Tokens"), "🔤")
loaded = ui.active_model()
model_tok = loaded.tokenizer if loaded is not None else panels.corpus_bpe()

st.title("🔤 " + _("1 · Tokens: how a model reads"))
st.markdown(_(
    "A computer cannot read letters, only numbers. So before a model sees any text, a "
    "**tokenizer** cuts the text into pieces called **tokens** (whole words, parts of words, "
    "single letters or symbols) and swaps every piece for its number, its **ID**. Different "
    "tokenizers cut the same text differently: compare them below, the last one a real LLM's."))

text = links.text_input(st, _("Your text"), "What should I eat today?", key="tok_text", param="text",
                        area=True, height=90, help=_("Try emoji, other languages, code, or a very long paste."))
show_ws = links.toggle(st, _("Show whitespace"), False, key="tok_ws", param="whitespace",
                       help=_("Spaces as ␣ and line breaks as ↵: spaces are part of the tokens too."))
text = panels.checked_text(text)

if text:
    toks = panels.tokenizers(model_tok)
    if real.available():
        toks.append((_("SmolLM2 ({n} tokens), a real LLM's").format(n=number(real.real_tokenizer().n_vocab, "#,##0")),
                     real.real_tokenizer()))
    cols = ui.wrapping_columns(len(toks), key="tok_cols", narrow="48rem", share="calc(50% - 1rem)")
    for col, (title, tok) in zip(cols, toks):
        with col:
            panels.token_column(title, tok, text, show_ws)
    if not real.available():
        st.info(real.MISSING, icon="📦")
    st.caption(_("Hover over a piece to see its ID and its bytes. Each tokenizer has its own "
                 "numbering: the same word gets different IDs."))
    ui.explain(Tokenizer.pieces, Tokenizer.encode)

    st.header(_("How the tokenizer learned its pieces"))
    st.markdown(_(
        "This app's tokenizer was not written by hand. It started with the 256 possible bytes and "
        "then, again and again, glued together the pair of pieces that was most frequent in the "
        "training text (**byte-pair encoding**, BPE). Slide to replay the merges on your text."))
    if model_tok.kind == "bpe":
        panels.merge_replay(model_tok, text)
        ui.explain(train_bpe_simple, replay_merges)
    else:
        st.info(_("The active model has no BPE tokenizer to replay. Pick or train a BPE model."))

    st.header(_("From IDs to numbers the network uses"))
    st.markdown(_(
        "Inside the model, each ID picks one row of a big table, the **embedding**. That row of "
        "numbers is what the network really computes with. The numbers start random and are "
        "adjusted during training, so that tokens used in similar ways end up with similar rows."))
    labels, rows = embedding_rows(loaded.model, loaded.tokenizer, text) if loaded is not None else ([], [])
    if loaded is None:
        st.info(_("No model loaded yet: train one on the Pretraining page."))
    elif not labels:
        st.info(_("Your text has no tokens for this model."))
    else:
        ui.plot(charts.embedding_heatmap(rows, labels, title=ngettext(
            "Embedding row of the first {n} token", "Embedding rows of the first {n} tokens",
            len(labels)).format(n=len(labels))), key="emb")
        st.caption(_("Blue = negative, orange = positive. Each row is one token of your text, "
                     "from the active model: the first {shown} of its {n} numbers.").format(
            shown=min(64, len(rows[0])), n=loaded.config.n_embd))
        ui.explain(embedding_rows, charts.embedding_heatmap)

predict_then_reveal("tokens-count", model_tok)
tax_section()
