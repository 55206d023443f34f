"""LLM Explainer: the home page. The journey from text to assistant, one step per page."""
import streamlit as st

from explainer import i18n, journey
from explainer.app import ui
from explainer.i18n import N_, _
from explainer.serve import registry
from explainer.views import charts

ui.page_setup(N_("Home"), "🧠")

st.title("🧠 " + _("How a large language model is made"))
st.markdown(_(
    "A language model is a program that has read a lot of text and learned one trick: guessing "
    "the next piece of a text. Everything a chatbot does grows out of that trick. Here you follow "
    "the whole journey with a small model that trains **live on this computer**, in minutes, "
    "so every number you see is really computed while you watch."))


def stage_card(stage: journey.Stage, number: int | None) -> None:
    page = journey.page_path(stage)
    with st.container(border=True, height="stretch"):
        st.caption(_("STEP {number}").format(number=number) if number else _("SIDE TRIP"))
        st.markdown(f"#### {stage.icon} {_(stage.title)}")
        st.markdown(_(stage.blurb))
        if page:
            st.page_link(page, label=_("Open"), icon="➡️")
        else:
            st.caption(_("Coming soon"))


def model_row(name: str, kind: str, n_params: int, facts: dict) -> dict:
    """One line of the "Models ready to use" table: four short columns, so it fits a narrow screen
    or a projector's large text."""
    loss = facts.get("val_loss")
    tokens = _("{n} tokens").format(n=charts.count_text(facts.get("tokens_trained") or 0))
    tokens = tokens.replace(" ", "\u00a0")                 # the number stays with its unit
    corpus = registry.corpus_text(facts["corpus"]) if facts.get("corpus") else "?"
    return {_("model"): f"{name} ({kind})", _("parameters"): charts.params_text(n_params),
            _("trained on"): f"{corpus} ({tokens})".replace("/", "/\u200b"),
            _("val. loss"): "?" if loss is None else charts.local(f"{loss:.3f}")}


st.subheader(_("The journey"))
# Four cards in a row with arrows between them; where that row is narrow (a projector at 1024
# pixels with the sidebar open, large text, a tablet) the cards wrap two by two and the arrows go,
# instead of breaking every word over three lines. Spanish and German titles hold longer words
# ("Retroalimentación", "Preentrenamiento"): they wrap sooner, and with the text's size (rem).
narrow = "920px" if i18n.current() == i18n.SOURCE else "75rem"
cols = ui.wrapping_columns([4, 1, 4, 1, 4, 1, 4], key="journey", narrow=narrow,
                           share="calc(50% - 1rem)", vertical_alignment="center",
                           extra='.st-key-journey [data-testid="stColumn"]:has(.journey-arrow) '
                                 '{ display: none; }')
for i, stage in enumerate(journey.ROAD):
    with cols[2 * i]:
        stage_card(stage, i + 1)
    if i < len(journey.ROAD) - 1:
        cols[2 * i + 1].html('<div class="journey-arrow" style="text-align:center; font-size:2rem">'
                             '&rarr;</div>')

st.markdown("**" + _("Along the way") + "**")
side = st.columns(2)
for col, stage in zip(side, journey.SIDE):
    with col:
        stage_card(stage, None)

st.markdown("**" + _("Where it leads") + "**")
for col, stage in zip(st.columns(2), journey.AFTER):
    with col:
        stage_card(stage, 7)

st.subheader(_("Models ready to use"))
models = ui.available_models()
if not models and ui.session_model() is None:
    st.info(_("No model yet: train one on the Pretraining page (a few minutes), then it shows up here."))
rows = [model_row(m.name, _("shipped") if m.shipped else _("saved from the app"), m.n_params, m.facts)
        for m in models if m.error is None]
if ui.session_model() is not None:
    f = ui.session_model().facts
    rows.insert(0, model_row(ui.session_label(f), ui.session_state_text(f), f.get("parameters", 0), f))
if rows:
    # A table, not a data grid: it wraps long cells instead of hiding columns behind a sideways
    # scroll on narrow screens.
    st.table(rows, border="horizontal", hide_index=True)
for m in models:
    if m.error:
        st.warning(f"{m.name}: {m.error}")
st.caption(_("Val. loss (validation loss): how surprised a model is by text it never trained on (lower "
             "is better). A pretrained model is measured on every word of new text, a tuned one only on "
             "the answers to new questions, so compare the numbers within one kind, not across."))
st.caption(_("Pick the model every page uses in the sidebar. Presentation mode (sidebar) makes "
             "everything larger for a projector."))
