"""The agent loop: an ordinary program around the model. It lets the model write; when the model
writes a tool call, it runs the tool, appends the result to the context and lets the model go on.

Each step is an event (as training reports events), so the page, the notebook, the CLI and the
tests draw the same steps:

    Asked     the question entering the context (and how many of its tokens did not fit)
    Wrote     what the model wrote in one step: its tokens, and the call in them if any
    ToolRan   the tool, its argument and the result text entering the context
    Done      the final answer and why the loop stopped

A malformed call, an unknown tool or a tool error becomes a result text the model reads; a model
that keeps calling stops at `max_steps`; the context never grows past the model's window.

    >>> for ev in run(agent, "What is 23 times 47?"): print(ev)           # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..gpt.chat import question_room
from .calls import MALFORMED, form_for, parse_call
from .tools import TOOLS, run_tool

MAX_STEPS = 4
MAX_NEW_TOKENS = 40        # per step: a call or a one-sentence answer


@dataclass(frozen=True)
class Asked:
    ids: list[int]              # the prompt: template + question
    cut: int                    # question tokens left out so that the rest fits the window
    block_size: int


@dataclass(frozen=True)
class Wrote:
    step: int
    ids: list[int]              # the model's own tokens this step
    text: str
    call: str | None            # the call it wrote ("calculator(23*47)"), None for an answer


@dataclass(frozen=True)
class ToolRan:
    step: int
    tool: str | None            # None: the call was malformed
    args: str
    result: str                 # the text the model reads next ("1081", "error: ...")
    ids: list[int]              # the result's tokens entering the context
    cut: int = 0                # result tokens left out: the window was full


@dataclass(frozen=True)
class Done:
    answer: str
    reason: str                 # "answered", "no end", "step limit", "window full"
    context: list[int] = field(default_factory=list)
    message: str = ""


def run(loaded, question: str, tools=TOOLS, max_steps: int = MAX_STEPS,
        max_new_tokens: int = MAX_NEW_TOKENS, form=None) -> Iterator:
    """Ask `loaded` (our GPT or SmolLM2) `question` with `tools` (a dict name -> Tool; {} = off)."""
    form = form or form_for(loaded, tools)
    T = loaded.config.block_size
    ctx, cut = form.start(question, question_room(T, max_new_tokens))
    yield Asked(list(ctx), cut, T)
    for step in range(1, max_steps + 1):
        room = min(max_new_tokens, T - len(ctx))
        if room <= 0:
            yield Done("", "window full", ctx, f"The context window ({T} tokens) is full.")
            return
        new = list(loaded.model.generate(ctx, room, temperature=0.0, stop_ids=form.stop_ids))
        new, call = form.split(new)
        ctx = ctx + new
        yield Wrote(step, new, form.text(new), call)
        if call is None:
            ended = bool(new) and new[-1] in form.stop_ids
            yield Done(form.text(new), "answered" if ended else "no end", ctx)
            return
        parsed = parse_call(call)
        result = run_tool(*parsed, tools) if parsed else MALFORMED
        ids = form.result_ids(result)
        keep = max(0, T - len(ctx))
        ctx = ctx + ids[:keep]
        yield ToolRan(step, parsed and parsed[0], parsed[1] if parsed else call, result,
                      ids[:keep], len(ids) - len(ids[:keep]))
    yield Done("", "step limit", ctx, f"Stopped after {max_steps} steps: the model kept calling tools.")


def steps(loaded, question: str, **kw) -> list:
    """All events of one run, as a list (for tests, measurements and the notebook)."""
    return list(run(loaded, question, **kw))


def shown(tok, ids) -> str:
    """Token ids as text with the special tokens by name: '<|call|>calculator(23*47)<|end|>'."""
    names = {v: k for k, v in tok.special_tokens.items()}
    out, run_ = [], []
    for i in ids:
        if i in names:
            out += [tok.decode(run_), names[i]]
            run_ = []
        else:
            run_.append(i)
    return "".join(out + [tok.decode(run_)])


def event_line(ev, tok) -> str:
    """One printable line per event, as the CLI and the notebook show a run."""
    if isinstance(ev, Asked):
        cut = f" ({ev.cut} question tokens cut to fit the {ev.block_size}-token window)" if ev.cut else ""
        return f"context: {len(ev.ids)} tokens{cut}"
    if isinstance(ev, Wrote):
        return f"step {ev.step}  model wrote: {shown(tok, ev.ids)!r}"
    if isinstance(ev, ToolRan):
        what = f"{ev.tool}({ev.args})" if ev.tool else f"malformed call {ev.args!r}"
        cut = f" ({ev.cut} result tokens did not fit the window)" if ev.cut else ""
        return f"step {ev.step}  tool ran: {what} -> {ev.result!r}{cut}"
    if isinstance(ev, Done):
        return (f"{ev.message}\n" if ev.message else "") + f"answer: {ev.answer}"
    return str(ev)
