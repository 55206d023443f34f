"""Step 7: agents. The model alone only continues text; an agent is a loop around it that reads a
tool call in the model's output, runs the tool and writes the result back for the model to read."""
import streamlit as st

from explainer import i18n
from explainer.agents import calls, data, loop, tuning
from explainer.agents import tools as tl
from explainer.app import agents as ag
from explainer.app import links, panels, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.i18n import N_, _
from explainer.serve import runs
from explainer.views import agents as av

ui.page_setup(N_("Agents"), "🛠️")
jm = ui.get_job_manager()
view = ui.attached_job("agent_job")
busy = view is not None and not view.ended

st.title(_("🛠️ 7 · Agents: the model as the brain of a program"))
st.markdown(_(
    "A language model does not look anything up: it only continues text, one likely token after "
    "another. Ask the tuned model for the capital of a country it never read about and it writes "
    "*some* capital, confidently. Real systems wrap the model in an ordinary program, an **agent**: "
    "the model writes a **tool call** such as `calculator(23*47)`, the program runs the tool, "
    "writes the result into the context, and the model goes on, now with the fact in view."))

ui.keep_job_model("agent", view)
agent, tuned = ui.phase_model("agent"), ui.phase_model("tuned")
if agent is None:
    st.info(_("No agent model yet: it appears once models/agent.safetensors exists, or train one "
              "from your tuned model in section 4 below."))

st.header(_("1 · Ask, and watch each step"))
# The questions go to the model as they are: it learned English only, so they stay English.
EXAMPLES = {"arithmetic": "What is 23 times 47?", "capital": "What is the capital of the Solomon Islands?",
            "not in the table": "What is the capital of Atlantis?",
            "no tool needed": "What should I eat today?", "your own": ""}
EXAMPLE_NAMES = {"arithmetic": N_("arithmetic"), "capital": N_("capital"),
                 "not in the table": N_("not in the table"), "no tool needed": N_("no tool needed"),
                 "your own": N_("your own")}
TOOL_NAMES = {"calculator": N_("calculator"), "lookup": N_("lookup")}
brain = real.model_chooser(agent, key="ag_brain") if agent is not None else None
SHORT = {"arithmetic": "sum", "capital": "capital", "not in the table": "unknown",
         "no tool needed": "plain", "your own": "own"}          # ?ask=sum ... in a link
pick = links.radio(st, _("Question"), list(EXAMPLES), key="ag_example", param="ask", horizontal=True,
                   names=SHORT.get, format_func=lambda k: _(EXAMPLE_NAMES[k]))
translated = i18n.current() != i18n.SOURCE
if EXAMPLES[pick] and translated:
    ui.model_text(EXAMPLES[pick])          # the question as the model reads it, under its translated name
question = EXAMPLES[pick] or links.text_input(
    st, _("Your question"), "What is 38 times 56?", key="ag_q", param="q", max_chars=10_000,
    help=_("Ask in English: the model learned English only.") if translated else None)
c1, c2, c3, c4 = st.columns(4)
use_tools = links.toggle(c1, _("Tools on"), True, key="ag_tools", param="tools")
on = {name: links.toggle(c, _(TOOL_NAMES.get(name, name)), True, key=f"ag_{name}", param=name, box=True,
                         disabled=not use_tools, help=_(tl.TOOLS[name].about))
      for c, name in zip((c2, c3), tl.TOOLS)}
max_steps = links.slider(c4, _("Step limit"), 1, 6, loop.MAX_STEPS, key="ag_steps", param="steps",
                         help=_("The most turns the model gets (calls and the answer)."))
tools = {n: t for n, t in tl.TOOLS.items() if use_tools and on[n]}
if brain is not None and question.strip():
    left, right = st.columns(2)
    with left:
        st.subheader(_("With {tools}").format(tools=", ".join(_(TOOL_NAMES.get(n, n)) for n in tools))
                     if tools else _("With no tools"))
        parts = ag.live_run(brain, question, tools, max_steps)
    with right:
        st.subheader(_("The same model, tools off"))
        ag.live_run(brain, question, {}, max_steps)
    st.markdown(_("**The context window (with tools)**: each step adds tokens; results count too."))
    st.html(av.window_bar_html(parts, brain.config.block_size))
    st.caption(_("Each step is labelled with who wrote it (🧑 the question, 🤖 the model, 🛠️ the tool) "
                 "and coloured too: grey = the question in the chat template, green = written by the "
                 "model, orange = written by the tool. Hover over a token for its ID."))
if tuned is not None:
    predict_then_reveal("agents-plain", tuned)
ui.explain(loop.run, calls.OurForm.split, tl.calculator, tl.lookup)

st.header(_("2 · How often is it right?"))
st.markdown(_(
    "Measured now on held-out questions: **{countries} countries** and **40 sums** that appear in "
    "none of the training data (not in pretraining, not in instruction tuning, not in tool-use "
    "tuning), so a right answer can only come from the tool.").format(countries=len(data.HELDOUT_COUNTRIES)))
fig_view = ui.attached_job("ag_figures")
if agent is not None and fig_view is None and st.button(_("Measure the agent and the tuned model"), icon="📏"):
    ui.follow_job(jm.submit(ui.owner_id(), "agent figures", runs.agent_figures_job(agent, tuned)), "ag_figures")
    st.rerun()
if fig_view is not None:
    ui.poll(fig_view.id, ag.figures_panel(agent.name if agent else _("agent"), tuned.name if tuned else "—"))

st.header(_("3 · A real LLM as the agent"))
st.markdown(_(
    "SmolLM2-135M-Instruct was never tuned on our call tokens. It gets the same tools through its "
    "own chat template: a system message that describes them and two worked examples, all in plain "
    "text (`CALL: calculator(12*11)`, then a `tool` turn with `RESULT: 132`). Pick it above as the "
    "model to watch it, or measure it on the same held-out questions: a job of 67 questions, each "
    "asked with tools and without, seconds each for a 135-million-parameter model on this CPU, so "
    "allow 10-30 minutes; the page shows how far it is."))
real_view = ui.attached_job("ag_real_figures")
if real.available() and real_view is None and st.button(_("Measure SmolLM2 as an agent"), icon="📏"):
    ui.follow_job(jm.submit(ui.owner_id(), "SmolLM2 agent figures",
                            runs.agent_figures_job("smollm2", "smollm2")), "ag_real_figures")
    st.rerun()
if real_view is not None:
    ui.poll(real_view.id, ag.figures_panel("SmolLM2-135M-Instruct", _("SmolLM2 itself")))
st.caption(_(
    "Larger models are trained on many thousands of tool-use conversations, often with a tool "
    "format of their own in the chat template, so they follow a tool description reliably; a "
    "135-million-parameter model often ignores the format, answers from memory, or copies the example."))

st.header(_("4 · Train your own agent"))
if tuned is None:
    st.info(_("No tuned model to start from: train one on the Instruction tuning page."))
else:
    steps = links.select_slider(st, _("Training steps"), [100, 200, 400, 800], tuning.AgentSpec.steps,
                                disabled=busy, key="ag_train_steps", param="train_steps")
    size = tuned.facts.get("preset") or "small"
    ui.estimate_caption(lambda: runs.estimate_text(jm, size, steps, tuning.AgentSpec.batch_size,
                                                   tuning.AgentSpec.optimizer),
                        _("Starting from **{model}**: two new tokens, <|call|> and <|result|>, are "
                          "added; it learns from {conversations} conversations, only from its own "
                          "tokens (the call and the answer), never from the tool's result.").format(
                            model=tuned.name, conversations=i18n.number(data.CONVERSATIONS, "#,##0")))
    if not busy and st.button(_("Start tool-use tuning"), icon="▶️", type="primary"):
        job_id = jm.submit(ui.owner_id(), _("tool-use tuning, {steps} steps").format(steps=steps),
                           runs.timed_job(runs.agent_job(tuned, tuning.AgentSpec(steps=steps),
                                                         base_name=tuned.name),
                                          size, tuning.AgentSpec.batch_size,
                                          threads=runs.threads_for_new(jm)))
        ui.follow_job(job_id, "agent_job")
        st.rerun()
    ui.stop_button(view, key="ag_stop")
    if view is not None:
        ui.poll(view.id, panels.run_panel)
        if view.ended and view.result is not None:
            st.success(_("Your agent is ready: it answers in section 1 now."))
            panels.save_panel(view.result)
ui.explain(data.encode, tuning.run, calls.with_call_tokens)
