"""Step 2: pretraining. A fresh network reads a corpus and learns to guess the next token, live."""
import streamlit as st

from explainer.app import links, panels, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.gpt import training
from explainer.gpt.lens import logit_lens
from explainer.gpt.model import PRESETS
from explainer.gpt.scoring import rank_next
from explainer.i18n import N_, _
from explainer.phases import pretrain
from explainer.real.beside import trained_on
from explainer.serve import runs
from explainer.views import charts

ui.page_setup(N_("Pretraining"), "📖")
jm = ui.get_job_manager()
view = ui.attached_job()
busy = view is not None and not view.ended

st.title("📖 " + _("2 · Pretraining: learning to guess the next token"))
st.markdown(_(
    "A new network knows nothing: its numbers are random and it writes gibberish. We show it "
    "text, a little at a time, and ask it to guess each next token. Every wrong guess nudges "
    "its numbers a tiny bit towards the right answer. After thousands of nudges it has soaked "
    "up the patterns of the text: spelling, grammar, and which words tend to follow which."))

live = st.container()      # a run, when there is one, is shown above the settings that made it
setup_label = (_("Set up a training") if view is None else
               _("The settings of this run") if busy else _("Start another training"))
with st.expander(setup_label, expanded=view is None, icon="🎛️"):
    st.subheader(_("1 · What it reads"))
    picked = panels.corpus_picker(disabled=busy)

    st.subheader(_("2 · How big, and for how long"))
    c1, c2, c3 = st.columns(3) if not ui.presenting() else (*st.columns(2), None)
    preset_name = links.selectbox(c1, _("Model size"), list(PRESETS), "small", key="pt_preset", param="size",
                                  disabled=busy,
                                  format_func=panels.shown_in_language(
                                      lambda p: f"{_(runs.PRESET_NAMES.get(p, p))} · "
                                                f"{charts.params_text(runs.preset_params(p))}"),
                                  help=_("M = million parameters: the numbers the training adjusts."))
    steps = links.select_slider(c2, _("Training steps"), runs.STEP_CHOICES, pretrain.PretrainSpec.steps, key="pt_steps", param="steps",
                                disabled=busy, help=_("One step = one small batch of text and one nudge."))
    seed = 0 if ui.presenting() else links.number_input(
        c3, _("Seed"), 0, 10_000, 0, key="pt_seed", param="seed", disabled=busy,
        help=_("Same seed, same run."))
    ui.estimate_caption(lambda: runs.estimate_text(jm, preset_name, steps))

    st.subheader(_("3 · What to watch while it learns"))
    c1, c2 = st.columns([3, 2])
    prompt = links.text_input(c1, _("Prompt"), pretrain.DEFAULT_PROMPT, key="pt_prompt", param="watch_prompt",
                              disabled=busy, max_chars=500)
    cands = runs.parse_candidates(links.text_input(c2, _("Candidate words (comma separated)"),
                                                   "night, day, giraffe", key="pt_cands",
                                                   param="watch_words", disabled=busy))

    if not busy and st.button(_("Start training"), icon="▶️", type="primary",
                              key="pt_start"):
        if picked is None:
            st.error(_("Choose a corpus first (and fix any problem shown above)."))
        else:
            title, text = picked
            job_id = jm.submit(ui.owner_id(), _("{size} on {corpus}, {steps} steps").format(
                size=_(runs.PRESET_NAMES.get(preset_name, preset_name)), corpus=_(title),
                steps=steps),
                               runs.pretrain_job(text, corpus_name=title, preset_name=preset_name,
                                                 steps=steps, seed=seed, prompt=prompt, candidates=cands,
                                                 tokenizer=ui.shipped_tokenizer(title),
                                                 threads=runs.threads_for_new(jm)))
            ui.follow_job(job_id)
            st.rerun()

if view is not None:
    with live:
        st.header(_("Watch it learn"))
        st.caption(_("Run: {label}").format(label=view.label))
        ui.stop_button(view, key="pt_stop")
        ui.poll(view.id, panels.run_panel)
        if view.ended and view.result is not None:
            st.success(_("This model is now your **active model** (see the sidebar): every page "
                         "uses it. Save it to keep it after you close the browser; to go back to a "
                         "shipped model, pick it under “Model the pages use” in the sidebar."))
            panels.save_panel(view.result)
        ui.explain(runs.pretrain_job, runs.pretrain_run, training.train)

st.header(_("Try the current model"))
loaded = ui.active_model()
if loaded is None:
    st.info(_("No model yet: start a training above."))
else:
    who = _("your model from this session") if loaded is ui.session_model() else loaded.name
    st.caption(_("Using: {who}. Everything below is computed right now by this model.").format(who=who))
    tried, words = panels.try_model(loaded)           # the prompt and words asked there
    ui.explain(rank_next)

    st.header(_("A real LLM, asked the same"))
    st.markdown(_("SmolLM2-135M-Instruct was made the same way: guess the next token, over and "
                  "over, only at a far larger scale. Same prompt and words as above, both models now."))
    real.beside_panel(loaded, tried, words)
    ui.explain(trained_on)

    st.header(_("Inside: what each layer would guess"))
    real.lens_panel(loaded, tried)
    ui.explain(logit_lens)

predict_then_reveal("pretrain-first", ui.active_model())
