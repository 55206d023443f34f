"""The Agents page's glue: draw an agent run step by step as it happens, and the held-out
figures, measured once per model (and cached for every session)."""
from __future__ import annotations

import html
import re

import streamlit as st

from .. import i18n
from ..agents import loop, measure
from ..gpt.paramfile import LoadedModel
from ..i18n import N_, _, ngettext
from ..views import agents as av
from ..views.agents import pieces

# The kinds of held-out question (measure.Row.kind), as the page names them
KINDS = {"sum": N_("sum"), "capital": N_("capital"), "unknown": N_("unknown"), "plain": N_("plain"),
         "atlas": N_("atlas")}
# Texts made elsewhere and shown in a translated form here or by the training panel (their source
# stays English: tool descriptions go into SmolLM2's system message, the model reads them).
ELSEWHERE = [N_("arithmetic: + - * / ( ) and ** on numbers"),              # tools.TOOLS[...].about
             N_("the capital of any of the 193 UN member states"),
             N_("Adding <|call|> and <|result|> to the vocabulary, writing the conversations ...")]  # tuning.run's Status
# The tools' error results, explained in the learner's language beside the English text the model reads
ERRORS = {"error: tools are off": N_("the tools are switched off"),
          "error: number too large": N_("the number is too large"),
          "error: division by zero": N_("division by zero"),
          "error: exponent too large": N_("the exponent is too large (at most 100)"),
          "error: no real root": N_("a negative number has no real root"),
          "error: only numbers": N_("only numbers and + - * / ( ) and ** are allowed"),
          "error: empty": N_("the call is empty"),
          "error: not an arithmetic expression": N_("that is not an arithmetic expression"),
          "error: expression too long": N_("the expression is too long (at most 100 characters)"),
          "error: query too long": N_("the question is too long (at most 100 characters)"),
          "error: no entry for": N_("the table has no entry for that"),
          "error: unknown tool": N_("there is no tool by that name"),
          "error: write a call as": N_("a call must look like tool(argument), for example calculator(2*3)")}
PROGRESS = re.compile(r"Question (\d+) of (\d+): (.*)", re.DOTALL)      # measure.measuring's Status


def error_meaning(result: str) -> str | None:
    """What a tool's error result says, in the session's language (None: not a known error)."""
    for start, meaning in ERRORS.items():
        if result.startswith(start):
            return _(meaning)
    return None


def draw(ev, tok, parts: list, block_size: int | None = None, max_steps: int | None = None) -> None:
    """One event of loop.run on the page; `parts` collects (who, tokens) for the window bar."""
    if isinstance(ev, loop.Asked):
        parts.append(("question", len(ev.ids)))
        if ev.cut:
            st.markdown(_("**The prompt** (the question in the chat template; {cut} of its tokens were "
                          "cut so that it fits the {size}-token window)").format(
                              cut=i18n.number(ev.cut), size=ev.block_size))
        else:
            st.markdown(_("**The prompt** (the question in the chat template)"))
        st.html(av.segment_html(pieces(tok, ev.ids), "question"))
    elif isinstance(ev, loop.Wrote):
        parts.append(("model", len(ev.ids)))
        if ev.call:
            st.markdown(_("**Step {step} · the model writes** a call: `{call}`").format(step=ev.step, call=ev.call))
        else:
            st.markdown(_("**Step {step} · the model writes** its answer").format(step=ev.step))
        st.html(av.segment_html(pieces(tok, ev.ids), "model"))
    elif isinstance(ev, loop.ToolRan):
        parts.append(("tool", len(ev.ids)))
        if ev.tool:
            st.markdown(_("**Step {step} · the program runs** `{tool}({args})` → `{result}` and writes the "
                          "result into the context:").format(step=ev.step, tool=ev.tool, args=ev.args,
                                                              result=ev.result))
        else:
            st.markdown(_("**Step {step} · the call is malformed**: the program writes back `{result}`").format(
                step=ev.step, result=ev.result))
        meaning = error_meaning(ev.result)
        if meaning is not None and i18n.current() != i18n.SOURCE:
            st.caption(_("The tool's result stays in English: the model learned to read it that way. "
                         "It means: {meaning}.").format(meaning=meaning))
        st.html(av.segment_html(pieces(tok, ev.ids), "tool"))
        if ev.cut:
            st.caption(ngettext("{n} result token did not fit the window.",
                                "{n} result tokens did not fit the window.", ev.cut).format(n=i18n.number(ev.cut)))
    elif isinstance(ev, loop.Done):
        if ev.reason == "window full" and block_size:
            st.warning(_("The context window ({size} tokens) is full.").format(size=i18n.number(block_size)))
        elif ev.reason == "step limit" and max_steps:
            st.warning(ngettext("Stopped after {n} step: the model kept calling tools.",
                                "Stopped after {n} steps: the model kept calling tools.", max_steps).format(n=max_steps))
        elif ev.message:
            st.warning(ev.message)
        if ev.reason == "answered":
            st.success(_("**Final answer:** {answer}").format(answer=ev.answer))
        elif ev.reason == "no end":
            st.info(_("**It ran out of room before ending its answer:** {answer}").format(answer=ev.answer))


def live_run(loaded: LoadedModel, question: str, tools, max_steps: int) -> list[tuple[str, int]]:
    """Run the agent now, drawing each step as it comes; returns (who, tokens) for the bar."""
    parts: list[tuple[str, int]] = []
    for ev in loop.run(loaded, question, tools=tools, max_steps=max_steps):
        draw(ev, loaded.tokenizer, parts, loaded.config.block_size, max_steps)
    return parts


def figures_row(fig: measure.Figures, who: str) -> dict:
    """The measured figures as one table row; the column names in the session's language."""
    return {_("model"): who, _("questions"): fig.n, _("calls the right tool"): i18n.percent(fig.right_tool),
            _("final answer right (with tools)"): i18n.percent(fig.agent_right),
            _("right without tools"): "—" if fig.plain_right is None else i18n.percent(fig.plain_right)}


def progress_text(message: str) -> tuple[str, str | None]:
    """A figures job's Status ("Question 3 of 67: What is ...?") in the session's language, and
    the question apart (it is the model's input: it stays English)."""
    m = PROGRESS.fullmatch(message)
    if m is None:
        return _(message), None
    return _("Question {i} of {n}:").format(i=m[1], n=m[2]), m[3]


def figures_panel(who: str, without: str):
    """A render function for ui.poll of a figures job (runs.agent_figures_job): the question
    it is at while it runs; the figures, by kind and question by question, when it is done."""
    def render(view) -> None:
        if not view.ended:
            said = [e.message for e in view.events if hasattr(e, "message")]
            if not said:
                st.caption(_("Waiting for a free worker ..."))
                return
            text, question = progress_text(said[-1])
            if question is None:
                st.caption(text)
            else:                      # the question as the model reads it, marked as English
                st.caption(f'{html.escape(text)} <span lang="en">{html.escape(question)}</span>',
                           unsafe_allow_html=True)
            return
        if view.error:
            st.error(view.error)
            return
        fig = view.result
        if fig is None:
            return
        st.table([figures_row(fig, who)], hide_index=True)
        kinds = "; ".join(_("{kind}: right tool {tool}, right answer {answer} of {n}").format(
            kind=_(KINDS.get(k, k)), tool=i18n.percent(d["right_tool"]), answer=i18n.percent(d["agent_right"]),
            n=d["n"]) for k, d in fig.by_kind().items())
        st.caption(_("By kind: {kinds}. Without tools: {without} answering alone.").format(kinds=kinds, without=without))
        with st.expander(_("Every held-out question")):
            st.dataframe([{_("question"): r.question, _("expected"): r.expected, _("call"): r.call or "—",
                           _("with tools"): r.agent_answer, _("without tools"): r.plain_answer} for r in fig.rows],
                         hide_index=True)
    return render
