"""Step 3: instruction tuning. Question/answer examples turn the text-continuer into an assistant."""
import streamlit as st

from explainer.app import cached, links, panels, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.corpus import instructions as ins
from explainer.gpt import chat
from explainer.phases import sft
from explainer.real.beside import real_answer
from explainer.serve import runs
from explainer.views import tokens as views

ui.page_setup("Instruction tuning", "💬")
jm = ui.get_job_manager()
view = ui.attached_job("sft_job")
busy = view is not None and not view.ended

st.title("💬 3 · Instruction tuning: from text-continuer to assistant")
st.markdown(
    "After pretraining, the model only continues text: ask it a question and it writes more text "
    "that looks like its books. So we show it a few thousand short conversations, a question and "
    "a good answer, and train it a little more, but this time it only learns from the answers. "
    "It picks up the habit: read the question, answer it, then stop.")

data = cached.instruction_data()
base = ui.phase_model("base")
ui.keep_job_model("tuned", view)        # a fine-tuning of this session that ended: the tuned model
tuned = ui.phase_model("tuned")

st.header("1 · The examples it learns from")
s = data.stats
c = ui.wrapping_columns(4, key="sft_data_metrics", narrow="36rem", share="calc(50% - 1rem)")
c[0].metric("Q/A pairs", f"{s['pairs']:,}", help="Question/answer pairs to train on.")
c[1].metric("Topics", len(s["topics"]))
c[2].metric("Weak answers", f"{s['weak_share']:.0%}",
            help="Deliberately curt, off topic, wrong or unsafe, and labelled so: real data is never "
                 "perfect. The human-feedback step later teaches the model to avoid them.")
c[3].metric("Held out", f"{len({p.prompt for p in data.heldout}):,}",
            help="Questions the model never trains on: they test whether it learned to answer, "
                 "or only memorised.")
f1, f2 = st.columns(2)
topic = links.selectbox(f1, "Topic", ["all", *ins.TOPICS], key="it_topic", param="topic",
                        format_func=lambda t: ins.TOPIC_TITLES.get(t, "All topics"))
label = links.selectbox(f2, "Label", ["all", "good", *ins.FLAWS], key="it_label", param="label",
                        format_func=lambda q: q.replace("_", " "))
shown = ins.browse(data.train, topic, label)
st.dataframe([p.row() for p in shown[:500]], hide_index=True, height=260,  # question and answer
             column_order=("prompt", "response", "label", "topic"),     # first: on a narrow screen
             column_config={"prompt": st.column_config.TextColumn(width="medium"),
                            "response": st.column_config.TextColumn(width="large")})
st.caption(f"{len(shown):,} pairs match (the table shows up to 500).")
with st.expander("Add your own pairs (type them, or upload a JSONL file)"):
    edited = st.data_editor(st.session_state.get("user_rows", [{"prompt": "", "response": ""}]),
                            num_rows="dynamic", key="user_editor", width="stretch",
                            column_config={"prompt": "question", "response": "answer"})
    upload = st.file_uploader('JSONL: one {"prompt": "...", "response": "..."} per line', type=["jsonl", "json", "txt"])
    mine, problems = ins.rows_to_pairs(edited)
    if upload is not None:
        more, errors = ins.parse_jsonl(upload.getvalue())
        mine += more
        problems += [f"{upload.name}, {e}" for e in errors]
    for msg in problems[:20]:
        st.warning(f"Skipped {msg}")
    st.caption(f"{len(mine)} pair(s) of yours will be added to the training data.")

st.header("2 · One example, as the model sees it")
# keyed by the filters: after a filter change the box starts afresh (with one key for all lists
# it kept showing the old list's question above the new list's tokens)
example = links.selectbox(st, "Example", range(min(len(shown), 200)), key=f"it_example_{topic}_{label}",
                          param="example", format_func=lambda i: shown[i].prompt) if shown else None
if base is None:
    st.info("No model yet: the tokens appear once models/base.safetensors exists or you train one "
            "on the Pretraining page.")
elif example is not None:
    pair = shown[example]
    st.html(views.masked_html(chat.masked_pieces(base.tokenizer, pair.prompt, pair.response)))
    st.markdown(":green-background[**Green: learned from**] (the answer and <|end|>: the model is "
                "trained to write these) · :gray-background[**Grey: context only**] (the question "
                "is read but never trained on).")
    st.table([{"token": k, "ID": v, "meaning": chat.MEANINGS[k]}
              for k, v in chat.special_ids(base.tokenizer).items()], border="horizontal", hide_index=True)

st.header("3 · Fine-tune")
if base is None:
    st.info("No base model to start from yet.")
else:
    c1, c2 = st.columns(2)
    steps = links.select_slider(c1, "Training steps", [100, 200, 400, 800], 400, disabled=busy,
                                key="it_steps", param="tune_steps")
    weak = links.toggle(c2, "Weaker answers too", True, box=True, disabled=busy, key="it_weak", param="weak",
                        help="Learn from the deliberately weaker answers too. On by default, as in "
                             "real data: the tuned model then sometimes answers badly.")
    size = base.facts.get("preset") or "small"
    st.caption(f"Starting from **{base.name}**. "
               + runs.estimate_text(jm, size, steps, sft.SFTSpec.batch_size))
    if not busy and st.button("Start fine-tuning", icon="▶️", type="primary"):
        spec = sft.SFTSpec(steps=steps, include_weak=weak)
        job_id = jm.submit(ui.owner_id(), f"instruction tuning, {steps} steps",
                           runs.timed_job(runs.sft_job(base, data.train + mine, spec, base_name=base.name),
                                          size, spec.batch_size))
        ui.follow_job(job_id, "sft_job")
        st.rerun()
    ui.stop_button(view, key="it_stop")
    if view is not None:
        ui.poll(view.id, panels.run_panel)
        if view.ended and view.result is not None:
            st.success("Your tuned model is ready: it answers below.")
            if st.button("Make it the active model for every page"):
                ui.set_session_model(view.result)
            panels.save_panel(view.result)

st.header("4 · Same question, two models")
question = links.text_input(st, "Ask both models", "What should I eat today?", max_chars=300, key="it_q",
                            param="question")
if base is None and tuned is None:
    st.info("No model yet.")
else:
    row = cached.compare(base, tuned, [(question, "")])[0]
    for col, title, m, rep in zip(st.columns(2), ("Base model (continues the text)", "Tuned model (answers)"),
                                  (base, tuned), (row.base, row.tuned)):
        with col.container(border=True):
            st.markdown(f"**{title}** · {m.name if m else 'none yet'}")
            if rep is None:
                st.caption("Fine-tune above (or ship models/tuned.safetensors) to see this side.")
            else:
                st.text(rep.text or "(nothing)")
                st.caption("Stopped by itself with <|end|>." if rep.ended else
                           f"Did not stop: cut after {chat.MAX_NEW_TOKENS} tokens.")

    st.header("5 · Questions it never saw")
    prompts = ins.heldout_prompts(data, per_topic=1)
    rows = cached.compare(base, tuned, prompts)
    st.table(sft.table(rows), border="horizontal", hide_index=True)
    st.caption("⏹ = the model stopped by itself with <|end|>. The base model was never shown the "
               "question/answer format: it just continues the text, so its part often starts in the "
               "middle of a word and runs on.")
    for which in ("base", "tuned"):
        sc = sft.scores(rows, which)
        if sc["n"]:
            st.caption(f"{which.title()} model: {sc['end_share']:.0%} of answers end with <|end|>, "
                       f"{sc['on_topic_share']:.0%} stay on the question's topic (a keyword check: it "
                       "counts shared topic words, not whether the answer is true or sensible, so a "
                       "wrong sum still counts as on topic).")

ui.explain(chat.encode_pair, sft.TurnBatches.sample, sft.run, ins.weaknesses)

st.header("6 · A real assistant, with and without its template")
st.markdown("SmolLM2-135M-Instruct was tuned the same way, on far more conversations, with its own "
            "template. Ask it the question from section 4 inside that template, then as bare text.")
real.template_panel(question)
ui.explain(real_answer)

predict_then_reveal("sft-stop", base)
