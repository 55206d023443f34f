r"""Tokens as coloured boxes: one renderer (`token_boxes`) and the pictures made with it.

Three pages draw tokens: the Tokens page (pieces with their IDs), Instruction tuning (the chat
template, coloured by the loss mask), and the Context window (the window, struck through where
it forgets; the attention of the last token as shades of blue). Each picture turns its data into
`Box`es (text, hover title, colour, classes for state) and lets `token_boxes` draw them:

    >>> print(token_boxes([Box("Hi", "ID 7", color="#eee", id=7)])[len(TOKEN_CSS):].replace("><", ">\n<"))
    <div class="tok-row">
    <span class="tok" style="background:#eee" title="ID 7">
    <span class="tok-text" lang="en">Hi</span>
    <span class="tok-id">7</span>
    </span>
    </div>
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from ..i18n import _, ngettext, number
from .charts import PALETTE, percent_text, show_piece

TOKEN_CSS = """<style>
.tok-row { line-height: 1.2; display: flex; flex-wrap: wrap; gap: 3px; margin: 0.25rem 0 0.75rem 0; }
.tok { display: inline-flex; flex-direction: column; align-items: center; border-radius: 4px;
       padding: 2px 4px; border: 1px solid rgba(128,128,128,0.35); max-width: 100%; box-sizing: border-box; }
.tok-text { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap;
            overflow-wrap: anywhere; font-size: 1.0em; }   /* a long piece wraps in a narrow column */
.tok-id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.72em; opacity: 0.75; }
.tok-more { align-self: center; opacity: 0.7; padding-left: 0.5em; }
.cw-row { line-height: 1.9; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
.cw-tok { border-radius: 3px; padding: 1px 1px; margin-right: 1px; white-space: pre; display: inline-block; }
.cw-in { background: rgba(0,114,178,0.14); }
.cw-out { color: inherit; opacity: 0.7; text-decoration: line-through; background: rgba(128,128,128,0.10); }  /* faded, still 4.5:1 */
.cw-mark { outline: 2px solid #E69F00; font-weight: 700; }
.cw-turn { display: block; margin: 2px 0; }
.at-row { line-height: 2.1; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em;
          background: #fff; color: #000; padding: 2px 6px; border-radius: 4px; }  /* shades on white, both themes */
.at-tok { border-radius: 3px; padding: 0 1px; margin: 2px 2px 2px 0; white-space: pre; display: inline-block; }
.at-strong { color: #fff; }
.at-key { display: flex; align-items: center; gap: 8px; font-size: 0.85em; margin-top: 4px; }
.at-scale { width: 140px; height: 12px; border-radius: 3px;
            background: linear-gradient(to right, rgba(0,114,178,0.03), rgba(0,114,178,1)); }
</style>"""


@dataclass(frozen=True)
class Box:
    text: str                       # the piece as drawn (a newline shows as ↵)
    title: str                      # hover text
    cls: str = "tok"                # CSS classes: the picture's box, then its state (cw-out = faded,
                                    # cw-mark = marked, at-strong = white text on a dark colour)
    color: str | None = None        # background colour of this token
    id: int | None = None           # drawn small under the piece (stacked boxes only)
    bold: bool = False              # special tokens
    outline: str | None = None      # a 2 px border in this colour


def token_boxes(boxes: Sequence[Box], *, row: str = "tok-row", stacked: bool = True, tail: str = "",
                lang: str | None = "en") -> str:
    r"""The one token-box renderer: the boxes in reading order inside a `row` div, after TOKEN_CSS.

    stacked: boxes in a wrapping flex row, each piece above its ID (the Tokens page). Otherwise
    inline text boxes that never break inside (white-space: pre); the lines break between tokens,
    so a name's leading space cannot end a line on its own, and a newline really starts a new line.
    `tail` is HTML after the last box ("… and 20 more tokens").
    `lang`: the pieces' language, on each piece. They are data, never translated: the corpora's, the
    models' and the pages' examples are English, so by default `lang="en"` (a screen reader on a
    Spanish page reads them with English sounds, as ui.model_text does); None leaves it unsaid.

    >>> token_boxes([Box("a<\n", "token 2", cls="t")], row="r", stacked=False)[len(TOKEN_CSS):]
    '<div class="r"><span class="t" lang="en" title="token 2">a&lt;↵</span><br></div>'
    """
    said = f' lang="{lang}"' if lang else ""
    out = []
    for b in boxes:
        text = html.escape(b.text.replace("\n", "↵")) or "&nbsp;"
        if b.bold:
            text = f"<b>{text}</b>"
        style = ";".join(([f"background:{b.color}"] if b.color else []) +
                         ([f"border:2px solid {b.outline}"] if b.outline else []))
        css = f' style="{style}"' if style else ""
        if stacked:
            label = f'<span class="tok-id">{b.id}</span>' if b.id is not None else ""
            inner, after, outer = f'<span class="tok-text"{said}>{text}</span>{label}', "", ""
        else:
            inner, after, outer = text, "<br>" * b.text.count("\n"), said
        out.append(f'<span class="{b.cls}"{outer}{css} title="{html.escape(b.title)}">{inner}</span>{after}')
    return TOKEN_CSS + f'<div class="{row}">{"".join(out)}{tail}</div>'


# --------------------------------------------------------------------------------------------------
# Step 1: a text's pieces and their IDs


def _tint(i: int) -> str:
    """A see-through version of palette colour i: readable under dark or light text."""
    h = PALETTE[i % 6].lstrip("#")
    r, g, b = (int(h[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},0.28)"


def token_pieces_html(pieces: Sequence[tuple[str, int, bytes]], show_whitespace: bool = False,
                      show_ids: bool = True, max_pieces: int = 2000, total: int | None = None) -> str:
    """Coloured token pieces with their IDs underneath, as HTML.

    `pieces`: [(printable text, id, bytes)], the first of the text's tokens. Hovering a piece
    shows its ID and bytes. Adjacent pieces alternate colours so the boundaries are visible. At
    most `max_pieces` are drawn; the tail counts the rest of `total` (the text's tokens, if the
    pieces are only its start).
    >>> "title=\\"ID 42" in token_pieces_html([("Hi", 42, b"Hi")])
    True
    """
    none = _("(none)")
    boxes = [Box(show_piece(text, show_whitespace),
                 _("ID {id} · bytes {bytes}").format(id=tid, bytes=raw.hex(" ") if raw else none),
                 color=_tint(i), id=tid if show_ids else None)
             for i, (text, tid, raw) in enumerate(pieces[:max_pieces])]
    more = (len(pieces) if total is None else total) - min(len(pieces), max_pieces)
    said = ngettext("… and {n} more token", "… and {n} more tokens", more).format(n=number(more, "#,##0"))
    tail = f'<span class="tok-more">{html.escape(said)}</span>' if more > 0 else ""
    return token_boxes(boxes, tail=tail)


# --------------------------------------------------------------------------------------------------
# Step 3: the chat template and its loss mask

LEARNED_BG, CONTEXT_BG = "rgba(0,158,115,0.30)", "rgba(128,128,128,0.15)"   # Okabe-Ito green, grey


def replayed_html(text: str, merges, n: int) -> tuple[str, list[bytes]]:
    """The pieces of `text` when only the first n BPE merges are known, as token boxes with the ID
    each piece has by then (a page's merge slider and a notebook's draw the same), and the pieces."""
    from ..gpt.tokenizer import printable, replay_merges
    parts = replay_merges(text, merges, n)
    id_of = {bytes([b]): b for b in range(256)} | {m.pair_bytes[0] + m.pair_bytes[1]: m.new_id
                                                   for m in merges[:n]}
    return token_pieces_html([(printable(p), id_of.get(p, -1), p) for p in parts], True), parts


def masked_html(pieces) -> str:
    """Token boxes of one turn (chat.masked_pieces) coloured by the loss mask: green = learned
    from, grey = context only; special tokens in bold. Hover shows the ID."""
    learned, context = _("learned from"), _("context only")
    return token_boxes([Box(p.text.replace(" ", "␣"),
                            f"ID {p.id} · {learned if p.learned else context}",
                            color=LEARNED_BG if p.learned else CONTEXT_BG, id=p.id, bold=p.special,
                            outline="#009E73" if p.learned else None) for p in pieces])


# --------------------------------------------------------------------------------------------------
# The context window: what the model sees, and where it looks


def window_tokens_html(pieces: Sequence[str], n_visible: int, marked: Sequence[int] = ()) -> str:
    """Token pieces in reading order; those outside the last `n_visible` are greyed and struck
    through, those at the indices in `marked` (the name) are outlined. Hover: the token's number,
    counted from 1 (the ⟨start⟩ token is token 1), as everywhere on the page."""
    first_in = len(pieces) - n_visible
    seen, gone = _("token {n}: visible"), _("token {n}: outside the window: forgotten")
    boxes = [Box(p, (seen if i >= first_in else gone).format(n=i + 1),
                 cls=" ".join(["cw-tok", "cw-in" if i >= first_in else "cw-out"]
                              + (["cw-mark"] if i in marked else [])))
             for i, p in enumerate(pieces)]
    return token_boxes(boxes, row="cw-row", stacked=False)


STRONG = 0.92          # from this shade on, white text (4.5:1 or more); below it, black (4.6:1 or more)


def attention_html(pieces: Sequence[str], weights: Sequence[float], first: int = 1) -> str:
    """The visible tokens in reading order, as text that wraps at any screen width, each on a
    shade of blue as strong as the share of attention the last token gives it (the most attended
    token full blue, no attention hardly any), with a key under it. Hover: the token's number in the
    text (the first visible one is number `first`) and its share.

    >>> out = attention_html(["Mia", " ran"], [0.75, 0.25], first=3)
    >>> 'title="token 3: 75.0% of the attention"' in out, "strongest: 75.0%" in out
    (True, True)
    """
    top = max(max(weights, default=0.0), 1e-9)
    boxes = []
    for i, (p, w) in enumerate(zip(pieces, weights)):
        shade = 0.03 + 0.97 * max(float(w), 0.0) / top                 # 0.03 (none) .. 1 (most)
        boxes.append(Box(p, _("token {n}: {share} of the attention").format(n=first + i,
                                                                            share=percent_text(float(w))),
                         cls="at-tok at-strong" if shade >= STRONG else "at-tok",
                         color=f"rgba(0,114,178,{shade:.3f})"))
    strongest = _("strongest: {share} of the attention").format(share=percent_text(top))
    none = _("none")                 # not inside the f-string: the catalogs' extractor skips those
    key = (f'<div class="at-key"><span>{html.escape(none)}</span><span class="at-scale"></span>'
           f'<span>{html.escape(strongest)}</span></div>')
    return token_boxes(boxes, row="at-row", stacked=False) + key


def chat_html(turns: Sequence[tuple[str, str]], dropped: int, prefix: str) -> str:
    """The chat, turn by turn, each speaker in bold (the reply being written, `prefix`, too);
    dropped turns greyed and struck through."""
    def turn(who: str, said: str, cls: str) -> str:
        return f'<span class="cw-turn {cls}"><b>{html.escape(who)}:</b> {html.escape(said)}</span>'

    rows = [turn(who, said, "cw-out" if i < dropped else "cw-in") for i, (who, said) in enumerate(turns)]
    who, said = prefix.split(":", 1) if ":" in prefix else ("", prefix)
    rows.append(turn(who, said.strip() + " …", "cw-in") if who else
                f'<span class="cw-turn cw-in">{html.escape(prefix)} …</span>')
    return TOKEN_CSS + f'<div class="cw-row">{"".join(rows)}</div>'
