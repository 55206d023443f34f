"""The agent's figures on held-out questions (data.heldout_questions): does it call the right
tool, is its final answer right, and how does the same model family do without tools?

An answer is right when it contains the expected value: the number as a whole number
("1081", not "10810"), or the capital's name (case and accents aside: "Bogota" for "Bogotá").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..gpt import chat
from . import data, loop
from .calls import parse_call
from .tools import TOOLS, normalize

TOOL_FOR = {"sum": "calculator", "capital": "lookup", "unknown": "lookup"}


def is_right(answer: str, expected: str) -> bool:
    """A number: the first number in the answer is it ('The answer is 1081.' yes; 'The answer is
    20, because 8 times 8 equals 21.' is not right for 8). A name: the answer holds it, case and
    accents aside ('the capital is bogota' holds 'Bogotá')."""
    if re.fullmatch(r"-?[\d.]+", expected):
        first = re.search(r"-?\d+(?:\.\d+)?", answer)
        return first is not None and first.group() == expected
    return f" {normalize(expected)} " in f" {normalize(answer)} "


@dataclass(frozen=True)
class Row:
    question: str
    kind: str
    expected: str
    call: str | None            # the first call the agent wrote
    agent_answer: str
    right_tool: bool
    agent_right: bool
    plain_answer: str | None    # the model without tools (None: not asked)
    plain_right: bool | None


@dataclass(frozen=True)
class Figures:
    n: int
    right_tool: float           # share of questions where the first call names the right tool
    agent_right: float          # share of right final answers with tools
    plain_right: float | None   # share of right answers of the model without tools
    rows: list[Row] = field(default_factory=list)

    def by_kind(self) -> dict[str, dict[str, float]]:
        out = {}
        for kind in sorted({r.kind for r in self.rows}):
            rs = [r for r in self.rows if r.kind == kind]
            out[kind] = {"n": len(rs), "right_tool": sum(r.right_tool for r in rs) / len(rs),
                         "agent_right": sum(r.agent_right for r in rs) / len(rs)}
        return out


def ask(loaded, question: str, tools=TOOLS) -> tuple[str | None, str]:
    """(the first call the model wrote or None, its final answer) with `tools`."""
    first, answer = None, ""
    for ev in loop.run(loaded, question, tools=tools):
        if isinstance(ev, loop.Wrote) and ev.call is not None and first is None:
            first = ev.call
        elif isinstance(ev, loop.Done):
            answer = ev.answer
    return first, answer


def plain_answer(loaded, question: str) -> str:
    """The model's answer without tools: a chat model of ours straight through its template;
    SmolLM2 (or an agent) through the loop with no tools."""
    if loaded.facts.get("architecture") == "llama" or "<|call|>" in loaded.tokenizer.special_tokens:
        return ask(loaded, question, tools={})[1]
    return chat.answer(loaded.model, loaded.tokenizer, question).text


def measuring(agent, without=None, questions=None, *, cancel=None):
    """Measure `agent` with tools on the held-out questions (default: data.heldout_questions), and
    `without` (e.g. the tuned model it started from) answering the same questions without tools;
    yields a Status per question, returns the Figures. "smollm2" for either loads the real model
    here (in a job's worker: the model is not sent over)."""
    from ..gpt.events import Status
    agent, without = _real_if_named(agent), _real_if_named(without)
    questions = questions if questions is not None else data.heldout_questions()
    rows = []
    for i, q in enumerate(questions):
        if cancel is not None and cancel.is_set():
            break
        yield Status(f"Question {i + 1} of {len(questions)}: {q.question}")
        call, ans = ask(agent, q.question)
        parsed = parse_call(call) if call else None
        plain = plain_answer(without, q.question) if without is not None else None
        rows.append(Row(q.question, q.kind, q.expected, call, ans,
                        bool(parsed) and parsed[0] == TOOL_FOR.get(q.kind),
                        is_right(ans, q.expected), plain,
                        None if plain is None else is_right(plain, q.expected)))
    n = max(1, len(rows))
    return Figures(len(rows), sum(r.right_tool for r in rows) / n, sum(r.agent_right for r in rows) / n,
                   None if without is None else sum(bool(r.plain_right) for r in rows) / n, rows)


def _real_if_named(model):
    if isinstance(model, str):
        from ..real import smollm
        return smollm.load()
    return model


def figures(agent, without=None, questions=None) -> Figures:
    """`measuring` run to its end: the Figures."""
    from ..gpt.training import drain
    return drain(measuring(agent, without, questions))
