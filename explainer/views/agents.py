"""Pictures of an agent run: the context as token boxes coloured by who wrote each token (the
question, the model, the tool), and a bar of the context window filling up. Plain data in, HTML
out; the page and the notebook draw the same. Who wrote a step is said in text as well as by its
colour: each step's boxes come under a label ("🤖 written by the model"), each box's hover title
says it, and the bar has a text legend (WCAG 1.4.1: no information by colour alone).

    >>> "ctx-bar" in window_bar_html([("question", 12), ("model", 9), ("tool", 4)], 128)
    True
"""
from __future__ import annotations

import html
from typing import Sequence

from .. import i18n
from ..gpt.tokenizer import printable
from ..i18n import N_, _, ngettext
from .tokens import Box, token_boxes

# Okabe-Ito: grey for what the person wrote, green for the model's own tokens, orange for the tool's
WHO_COLORS = {"question": "rgba(128,128,128,0.18)", "model": "rgba(0,158,115,0.30)",
              "tool": "rgba(230,159,0,0.40)", "cut": "rgba(128,128,128,0.08)"}
WHO_TITLES = {"question": N_("the question (in the chat template)"), "model": N_("written by the model"),
              "tool": N_("written by the tool, not the model"), "cut": N_("fell out: it did not fit the window")}
WHO_NAMES = {"question": N_("question"), "model": N_("model"), "tool": N_("tool"), "cut": N_("cut")}
WHO_MARKS = {"question": "🧑", "model": "🤖", "tool": "🛠️", "cut": "✂️"}   # a shape beside the colour
WHO_SOLID = {"question": "#999999", "model": "#009E73", "tool": "#E69F00"}
LABEL_CSS = ("font-size:.8em;font-weight:600;margin:.35rem 0 0 0;padding-left:.4em;"
             "border-left:4px solid {color}")


def pieces(tok, ids) -> list[tuple[str, int, bool]]:
    """(printable text, id, special) per token, special tokens by name ('<|call|>')."""
    names = {v: k for k, v in tok.special_tokens.items()}
    return [(names.get(i) or printable(tok.token_bytes(i)), i, i in names) for i in ids]


def who_label_html(who: str) -> str:
    """The visible text label above a step's boxes: '🤖 written by the model'."""
    color = WHO_SOLID.get(who, "rgba(128,128,128,.5)")
    return (f'<div class="who-tag" style="{LABEL_CSS.format(color=color)}">'
            f'<span aria-hidden="true">{WHO_MARKS[who]}</span> {html.escape(_(WHO_TITLES[who]))}</div>')


def segment_html(pieces: Sequence[tuple[str, int, bool]], who: str) -> str:
    """One step's tokens [(printable text, id, special)] as inline boxes in `who`'s colour, under
    a text label saying who wrote them."""
    title = _(WHO_TITLES[who])
    return who_label_html(who) + token_boxes(
        [Box(t.replace(" ", "␣"), f"ID {i} · {title}", color=WHO_COLORS[who],
             id=i, bold=special, cls="tok" + (" cw-out" if who == "cut" else ""))
         for t, i, special in pieces])


def window_bar_html(parts: Sequence[tuple[str, int]], block_size: int) -> str:
    """The context window as a bar: one segment per (who, tokens), in order, then the free room."""
    used = sum(n for _w, n in parts)

    def hover(w: str, n: int) -> str:
        return html.escape(ngettext("{who}: {n} token", "{who}: {n} tokens", n).format(
            who=_(WHO_TITLES[w]), n=i18n.number(n)))
    segs = "".join(f'<div title="{hover(w, n)}" '
                   f'style="width:{100 * n / block_size:.2f}%;background:{WHO_SOLID[w]}"></div>'
                   for w, n in parts if n > 0)
    legend = " · ".join(f'<span style="color:{WHO_SOLID[w]}">■</span> <span aria-hidden="true">{WHO_MARKS[w]}</span> '
                        f'{html.escape(_(WHO_NAMES[w]))} {i18n.number(n)}' for w, n in parts if n)
    free = _("free {free} of {size} tokens").format(free=i18n.number(max(0, block_size - used)),
                                                    size=i18n.number(block_size))
    return (f'<div class="ctx-bar" style="display:flex;height:18px;border:1px solid rgba(128,128,128,.5);'
            f'border-radius:4px;overflow:hidden;margin:.25rem 0">{segs}</div>'
            f'<div style="font-size:.85em">{legend} · {html.escape(free)}</div>')


def run_html(events, tok) -> str:
    """A whole agent run (the events of agents.loop.run) as token boxes, one segment per step:
    the prompt grey, the model's tokens green, the tool's orange (duck-typed: views sit below
    agents, so the events are told apart by their fields)."""
    out = []
    for ev in events:
        who = ("tool" if hasattr(ev, "result") else "model" if hasattr(ev, "call")
               else "question" if hasattr(ev, "block_size") else None)
        if who is not None:
            out.append(segment_html(pieces(tok, ev.ids), who))
    return "".join(out)
