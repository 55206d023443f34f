"""The Agents page's glue: draw an agent run step by step as it happens, and the held-out
figures, measured once per model (and cached for every session)."""
from __future__ import annotations

import streamlit as st

from ..agents import loop, measure
from ..gpt.paramfile import LoadedModel
from ..views import agents as av
from ..views.agents import pieces


def draw(ev, tok, parts: list) -> None:
    """One event of loop.run on the page; `parts` collects (who, tokens) for the window bar."""
    if isinstance(ev, loop.Asked):
        parts.append(("question", len(ev.ids)))
        st.markdown("**The prompt** (the question in the chat template" +
                    (f"; {ev.cut} of its tokens were cut so that it fits the {ev.block_size}-token window"
                     if ev.cut else "") + ")")
        st.html(av.segment_html(pieces(tok, ev.ids), "question"))
    elif isinstance(ev, loop.Wrote):
        parts.append(("model", len(ev.ids)))
        what = f"a call: `{ev.call}`" if ev.call else "its answer"
        st.markdown(f"**Step {ev.step} · the model writes** {what}")
        st.html(av.segment_html(pieces(tok, ev.ids), "model"))
    elif isinstance(ev, loop.ToolRan):
        parts.append(("tool", len(ev.ids)))
        if ev.tool:
            st.markdown(f"**Step {ev.step} · the program runs** `{ev.tool}({ev.args})` → `{ev.result}` "
                        "and writes the result into the context:")
        else:
            st.markdown(f"**Step {ev.step} · the call is malformed**: the program writes back `{ev.result}`")
        st.html(av.segment_html(pieces(tok, ev.ids), "tool"))
        if ev.cut:
            st.caption(f"{ev.cut} result tokens did not fit the window.")
    elif isinstance(ev, loop.Done):
        if ev.message:
            st.warning(ev.message)
        if ev.reason == "answered":
            st.success(f"**Final answer:** {ev.answer}")
        elif ev.reason == "no end":
            st.info(f"**It ran out of room before ending its answer:** {ev.answer}")


def live_run(loaded: LoadedModel, question: str, tools, max_steps: int) -> list[tuple[str, int]]:
    """Run the agent now, drawing each step as it comes; returns (who, tokens) for the bar."""
    parts: list[tuple[str, int]] = []
    for ev in loop.run(loaded, question, tools=tools, max_steps=max_steps):
        draw(ev, loaded.tokenizer, parts)
    return parts


def figures_row(fig: measure.Figures, who: str) -> dict:
    return {"model": who, "questions": fig.n, "calls the right tool": f"{fig.right_tool:.0%}",
            "final answer right (with tools)": f"{fig.agent_right:.0%}",
            "right without tools": "—" if fig.plain_right is None else f"{fig.plain_right:.0%}"}


def figures_panel(who: str, without: str):
    """A render function for ui.poll of a figures job (runs.agent_figures_job): the question
    it is at while it runs; the figures, by kind and question by question, when it is done."""
    def render(view) -> None:
        if not view.ended:
            said = [e.message for e in view.events if hasattr(e, "message")]
            st.caption(said[-1] if said else "Waiting for a free worker ...")
            return
        if view.error:
            st.error(view.error)
            return
        fig = view.result
        if fig is None:
            return
        st.table([figures_row(fig, who)], hide_index=True)
        st.caption("By kind: " + "; ".join(f"{k}: right tool {d['right_tool']:.0%}, right answer "
                                            f"{d['agent_right']:.0%} of {d['n']}" for k, d in fig.by_kind().items())
                   + f". Without tools: {without} answering alone.")
        with st.expander("Every held-out question"):
            st.dataframe([{"question": r.question, "expected": r.expected, "call": r.call or "—",
                           "with tools": r.agent_answer, "without tools": r.plain_answer} for r in fig.rows],
                         hide_index=True)
    return render
