"""Step 3: instruction tuning. Question/answer examples turn the text-continuer into an assistant."""
import streamlit as st

from explainer import i18n
from explainer.app import cached, links, panels, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.corpus import instructions as ins
from explainer.gpt import chat
from explainer.i18n import N_, _, ngettext
from explainer.phases import sft
from explainer.real.beside import real_answer
from explainer.serve import runs
from explainer.views import tokens as views

ui.page_setup(N_("Instruction tuning"), "💬")
jm = ui.get_job_manager()
view = ui.attached_job("sft_job")
busy = view is not None and not view.ended

st.title(_("💬 3 · Instruction tuning: from text-continuer to assistant"))
st.markdown(_(
    "After pretraining, the model only continues text: ask it a question and it writes more text "
    "that looks like its books. So we show it a few thousand short conversations, a question and "
    "a good answer, and train it a little more, but this time it only learns from the answers. "
    "It picks up the habit: read the question, answer it, then stop."))

data = cached.instruction_data()
base = ui.phase_model("base")
ui.keep_job_model("tuned", view)        # a fine-tuning of this session that ended: the tuned model
tuned = ui.phase_model("tuned")

# the label filter's values (compared in code) and what they show
LABELS = {"all": N_("all"), "good": N_("good"), "curt": N_("curt"), "off_topic": N_("off topic"),
          "wrong": N_("wrong"), "unsafe": N_("unsafe"), "weak": N_("weak")}


def topic_title(topic: str) -> str:
    return _(ins.TOPIC_TITLES[topic]) if topic in ins.TOPIC_TITLES else topic


def in_english(question: str) -> str:
    """A question of the (English) training data in a widget that cannot mark it `lang="en"`:
    as it is on an English page, said to be English on any other."""
    return question if i18n.current() == i18n.SOURCE else _("{question} (in English)").format(question=question)


st.header(_("1 · The examples it learns from"))
s = data.stats
c = ui.wrapping_columns(4, key="sft_data_metrics", narrow="36rem", share="calc(50% - 1rem)")
c[0].metric(_("Q/A pairs"), i18n.number(s["pairs"], "#,##0"), help=_("Question/answer pairs to train on."))
c[1].metric(_("Topics"), len(s["topics"]))
c[2].metric(_("Weak answers"), i18n.percent(s["weak_share"]),
            help=_("Deliberately curt, off topic, wrong or unsafe, and labelled so: real data is never "
                   "perfect. The human-feedback step later teaches the model to avoid them."))
c[3].metric(_("Held out"), i18n.number(len({p.prompt for p in data.heldout}), "#,##0"),
            help=_("Questions the model never trains on: they test whether it learned to answer, "
                   "or only memorised."))
f1, f2 = st.columns(2)
topic = links.selectbox(f1, _("Topic"), ["all", *ins.TOPICS], key="it_topic", param="topic",
                        format_func=lambda t: topic_title(t) if t in ins.TOPIC_TITLES else _("All topics"))
label = links.selectbox(f2, _("Label"), ["all", "good", *ins.FLAWS], key="it_label", param="label",
                        format_func=lambda q: _(LABELS[q]) if q in LABELS else q.replace("_", " "))
shown = ins.browse(data.train, topic, label)
cols = {"prompt": _("prompt"), "response": _("response"), "label": _("label"), "topic": _("topic")}


def table_row(p) -> dict:
    """A pair for the table, its topic and label in the page's language (the pair stays English)."""
    flaw = _(LABELS.get(p.flaw, p.flaw or "")) if p.flaw else ""
    quality = _("weak: {flaw}").format(flaw=flaw) if p.flaw else _(LABELS.get(p.quality, p.quality))
    return {cols["topic"]: topic_title(p.topic), cols["label"]: quality,
            cols["prompt"]: p.prompt, cols["response"]: p.response}


st.dataframe([table_row(p) for p in shown[:500]], hide_index=True, height=260,  # question and answer
             column_order=(cols["prompt"], cols["response"], cols["label"], cols["topic"]),  # first: on a narrow screen
             column_config={cols["prompt"]: st.column_config.TextColumn(width="medium"),
                            cols["response"]: st.column_config.TextColumn(width="large")})
st.caption(ngettext("{n} pair matches (the table shows up to 500).",
                    "{n} pairs match (the table shows up to 500).", len(shown)).format(
    n=i18n.number(len(shown), "#,##0")))
with st.expander(_("Add your own pairs (type them, or upload a JSONL file)")):
    # columns named in the page's language (a language of its own key: its edits name its columns)
    q_col, a_col = _("question"), _("answer")
    edited = st.data_editor([{q_col: "", a_col: ""}], num_rows="dynamic", width="stretch",
                            key="user_editor" if i18n.current() == i18n.SOURCE else f"user_editor_{i18n.current()}")
    upload = st.file_uploader(_('JSONL: one {"prompt": "...", "response": "..."} per line'),
                              type=["jsonl", "json", "txt"])
    mine, problems = ins.rows_to_pairs([{"prompt": r.get(q_col), "response": r.get(a_col)} for r in edited])
    if upload is not None:
        more, errors = ins.parse_jsonl(upload.getvalue())
        mine += more
        problems += [f"{upload.name}, {e}" for e in errors]
    for msg in problems[:20]:
        st.warning(_("Skipped {problem}").format(problem=msg))
    st.caption(ngettext("{n} pair of yours will be added to the training data.",
                        "{n} pairs of yours will be added to the training data.", len(mine)).format(
        n=i18n.number(len(mine), "#,##0")))

st.header(_("2 · One example, as the model sees it"))
# keyed by the filters: after a filter change the box starts afresh (with one key for all lists
# it kept showing the old list's question above the new list's tokens)
example = links.selectbox(st, _("Example"), range(min(len(shown), 200)), key=f"it_example_{topic}_{label}",
                          param="example", format_func=lambda i: in_english(shown[i].prompt)) if shown else None
if base is None:
    st.info(_("No model yet: the tokens appear once models/base.safetensors exists or you train one "
              "on the Pretraining page."))
elif example is not None:
    pair = shown[example]
    st.html(views.masked_html(chat.masked_pieces(base.tokenizer, pair.prompt, pair.response)))
    st.markdown(_(":green-background[**Green: learned from**] (the answer and <|end|>: the model is "
                  "trained to write these) · :gray-background[**Grey: context only**] (the question "
                  "is read but never trained on)."))
    st.table([{_("token"): k, _("ID"): v, _("meaning"): _(chat.MEANINGS[k])}
              for k, v in chat.special_ids(base.tokenizer).items()], border="horizontal", hide_index=True)

st.header(_("3 · Fine-tune"))
if base is None:
    st.info(_("No base model to start from yet."))
else:
    c1, c2 = st.columns(2)
    steps = links.select_slider(c1, _("Training steps"), [100, 200, 400, 800], 400, disabled=busy,
                                key="it_steps", param="tune_steps")
    weak = links.toggle(c2, _("Weaker answers too"), True, box=True, disabled=busy, key="it_weak", param="weak",
                        help=_("Learn from the deliberately weaker answers too. On by default, as in "
                               "real data: the tuned model then sometimes answers badly."))
    size = base.facts.get("preset") or "small"
    ui.estimate_caption(lambda: runs.estimate_text(jm, size, steps, sft.SFTSpec.batch_size,
                                                   sft.SFTSpec.optimizer),
                        _("Starting from **{name}**.").format(name=base.name))
    if not busy and st.button(_("Start fine-tuning"), icon="▶️", type="primary"):
        spec = sft.SFTSpec(steps=steps, include_weak=weak)
        job_id = jm.submit(ui.owner_id(), f"instruction tuning, {steps} steps",
                           runs.timed_job(runs.sft_job(base, data.train + mine, spec, base_name=base.name),
                                          size, spec.batch_size, threads=runs.threads_for_new(jm)))
        ui.follow_job(job_id, "sft_job")
        st.rerun()
    ui.stop_button(view, key="it_stop")
    if view is not None:
        ui.poll(view.id, panels.run_panel)
        if view.ended and view.result is not None:
            st.success(_("Your tuned model is ready: it answers below."))
            if st.button(_("Make it the active model for every page")):
                ui.set_session_model(view.result)
            panels.save_panel(view.result)

st.header(_("4 · Same question, two models"))
question = links.text_input(st, _("Ask both models"), "What should I eat today?", max_chars=300, key="it_q",
                            param="question")
if base is None and tuned is None:
    st.info(_("No model yet."))
else:
    row = cached.compare(base, tuned, [(question, "")])[0]
    for col, title, m, rep in zip(st.columns(2), (_("Base model (continues the text)"), _("Tuned model (answers)")),
                                  (base, tuned), (row.base, row.tuned)):
        with col.container(border=True):
            st.markdown(_("**{title}** · {name}").format(title=title, name=m.name if m else _("none yet")))
            if rep is None:
                st.caption(_("Fine-tune above (or ship models/tuned.safetensors) to see this side."))
            else:
                if rep.text:
                    ui.model_text(rep.text)
                else:
                    st.caption(_("(nothing)"))
                st.caption(_("Stopped by itself with <|end|>.") if rep.ended else
                           _("Did not stop: cut after {n} tokens.").format(n=chat.MAX_NEW_TOKENS))

    st.header(_("5 · Questions it never saw"))
    prompts = ins.heldout_prompts(data, per_topic=1)
    rows = cached.compare(base, tuned, prompts)
    st.table(sft.table(rows), border="horizontal", hide_index=True)
    st.caption(_("⏹ = the model stopped by itself with <|end|>. The base model was never shown the "
                 "question/answer format: it just continues the text, so its part often starts in the "
                 "middle of a word and runs on."))
    score_lines = {
        "base": N_("Base model: {end} of answers end with <|end|>, {on_topic} stay on the question's "
                   "topic (a keyword check: it counts shared topic words, not whether the answer is "
                   "true or sensible, so a wrong sum still counts as on topic)."),
        "tuned": N_("Tuned model: {end} of answers end with <|end|>, {on_topic} stay on the question's "
                    "topic (a keyword check: it counts shared topic words, not whether the answer is "
                    "true or sensible, so a wrong sum still counts as on topic).")}
    for which in ("base", "tuned"):
        sc = sft.scores(rows, which)
        if sc["n"]:
            st.caption(_(score_lines[which]).format(end=i18n.percent(sc["end_share"]),
                                                    on_topic=i18n.percent(sc["on_topic_share"])))

ui.explain(chat.encode_pair, sft.TurnBatches.sample, sft.run, ins.weaknesses)

st.header(_("6 · A real assistant, with and without its template"))
st.markdown(_("SmolLM2-135M-Instruct was tuned the same way, on far more conversations, with its own "
              "template. Ask it the question from section 4 inside that template, then as bare text."))
real.template_panel(question)
ui.explain(real_answer)

predict_then_reveal("sft-stop", base)
