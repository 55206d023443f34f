"""The context window: a model sees only its last N tokens, and whatever falls out is forgotten.

Everything the "Context window" page draws comes from here: cutting a token list to its last N
tokens, the next-word ranking with only that window visible, the probability of the right word
as the window grows, the last token's attention over what it can see, the token display with the
forgotten part struck through, and a chat that loses its oldest turns when it outgrows the window.

The hard maximum is the position embedding table `wpe` (block_size rows): the model has no vector
for position block_size, so it cannot look further back even if we wanted it to.

The measurement behind the page, `name_recall`: on held-out stories that introduce a name and ask
for it at the end, how often the model produces the name with the whole story in view, and how
often when the window starts after the last mention (Olsson et al. 2022, "In-context Learning and
Induction Heads", on why a two-layer transformer can copy a name it has seen once).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import plotly.graph_objects as go
import torch

from .charts import PALETTE, percent_text, titled
from .model import GPT, next_token_probs

# --------------------------------------------------------------------------------------------------
# Windows and rankings


def keep_last(ids: Sequence[int], n: int) -> tuple[list[int], int]:
    """The last n tokens and how many were dropped: keep_last([1, 2, 3, 4, 5], 3) -> ([3, 4, 5], 2)."""
    if n < 1:
        raise ValueError(f"a window holds at least 1 token, got {n}")
    ids = list(ids)
    cut = max(0, len(ids) - n)
    return ids[cut:], cut


def text_ids(tok, text: str) -> list[int]:
    """All tokens of a text as the model would read it: <|endoftext|> (start of text) first."""
    return [tok.eot_id] + tok.encode(text)


def answer_ids(tok, text: str, word: str) -> list[int]:
    """Tokens of the word that should come next, with its leading space: 'Mila' -> ids(' Mila')."""
    word = word.strip()
    return tok.encode(word if not text or text[-1:].isspace() else " " + word)


@dataclass
class Score:
    prob: float          # P(whole answer | context), chain rule over its tokens
    greedy: bool         # greedy decoding from the context writes exactly the answer's tokens
    first_rank: int      # 1-based rank of the answer's first token
    first_prob: float


@torch.no_grad()
def score_answers(model: GPT, contexts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]],
                  batch: int = 16) -> list[Score]:
    """Score each answer after its context, in batched forward passes.

    Each row is context + answer[:-1] (only its last block_size tokens if longer), padded on the
    right: causal attention means padding after a position never changes that position's output.
    Position L - m + j predicts answer token j (L = row length, m = answer length). Because we
    feed the right tokens (teacher forcing), "every position's top token is the answer's token"
    is exactly "greedy decoding writes the answer".
    """
    model.eval()
    T = model.config.block_size
    out: list[Score] = []
    for s in range(0, len(contexts), batch):
        rows = [(list(c) + list(a[:-1]))[-T:] for c, a in zip(contexts[s:s + batch], answers[s:s + batch])]
        x = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
        for i, r in enumerate(rows):
            x[i, :len(r)] = torch.tensor(r)
        probs = model(x).logits.float().softmax(-1)                       # (B, L, V)
        for i, (r, a) in enumerate(zip(rows, answers[s:s + batch])):
            at = [len(r) - len(a) + j for j in range(len(a))]
            p = probs[i, at]                                               # (m, V)
            target = p[torch.arange(len(a)), torch.tensor(a)]              # (m,)
            first = p[0]
            out.append(Score(float(target.prod()), bool((p.argmax(-1) == torch.tensor(a)).all()),
                             int((first > first[a[0]]).sum()) + 1, float(first[a[0]])))
    return out


@dataclass
class WindowRanking:
    top: list[tuple[str, float]]       # (piece, probability), most likely first
    answer: Score | None               # the right word, if one was given
    n_visible: int


def rank_window(model: GPT, tok, ids: Sequence[int], n: int, answer: Sequence[int] = (),
                k: int = 8) -> WindowRanking:
    """The next-token ranking when the model sees only the last n of `ids` (at most block_size)."""
    visible, _ = keep_last(ids, min(n, model.config.block_size))
    probs = next_token_probs(model, visible)
    p, i = probs.topk(k)
    top = [(tok.decode([int(t)]), float(q)) for q, t in zip(p, i)]
    score = score_answers(model, [visible], [list(answer)])[0] if answer else None
    return WindowRanking(top, score, len(visible))


def prob_vs_window(model: GPT, ids: Sequence[int], answer: Sequence[int],
                   sizes: Sequence[int]) -> list[float]:
    """P(right word) when the model sees only the last n tokens, for each n in `sizes`."""
    ctxs = [keep_last(ids, n)[0] for n in sizes]
    return [s.prob for s in score_answers(model, ctxs, [list(answer)] * len(ctxs))]


def window_sizes(n_tokens: int, block_size: int, lo: int = 8, points: int = 40) -> list[int]:
    """Window sizes for the chart, from `lo` to everything the model can see: about `points` of them.

    window_sizes(20, 128, points=5) -> [8, 11, 14, 17, 20]
    """
    hi = min(n_tokens, block_size)
    if hi <= lo:
        return [hi]
    step = max(1, round((hi - lo) / (points - 1)))
    return sorted(set(range(lo, hi, step)) | {hi})


def token_starts(tok, ids: Sequence[int]) -> list[int]:
    """Character offset where each token starts in the decoded text (specials take no characters).

    Used to find which tokens a character range (a mention of the name) falls in.
    """
    starts, pos, raw = [], 0, b""
    special = set(tok.special_tokens.values())
    for t in ids:
        starts.append(pos)
        if t not in special:
            raw += tok.token_bytes(t)
            pos = len(raw.decode("utf-8", errors="ignore"))
    return starts


def mention_tokens(tok, ids: Sequence[int], text: str, word: str) -> list[list[int]]:
    """Token indices (into `ids` = [eot] + tokens of text) of each mention of `word` in `text`.

    With tokens [eot, "Mila", " fed", " Mila"] and word "Mila": [[1], [3]].
    """
    starts = token_starts(tok, ids) + [len(text) + 1]
    out, at = [], text.find(word) if word else -1
    while at >= 0:
        end = at + len(word)
        out.append([i for i in range(1, len(ids)) if starts[i] < end and starts[i + 1] > at])
        at = text.find(word, end)
    return out


def mention_windows(tok, ids: Sequence[int], text: str, word: str) -> list[int]:
    """For each mention of `word`: the smallest window (counted back from the end of `ids`) that
    still contains the mention's first token."""
    return [len(ids) - m[0] for m in mention_tokens(tok, ids, text, word) if m]


def mentions_in_reach(sizes: Sequence[int], leaves: Sequence[int]) -> list[int]:
    """Of the windows at which mentions leave (`mention_windows`), those that some window of
    these sizes still shows, in order; a mention further back is never in view.

    >>> mentions_in_reach([8, 16, 64], [70, 12, 40])
    [12, 40]
    """
    return sorted(m for m in set(leaves) if m <= max(sizes, default=0))


@torch.no_grad()
def last_token_attention(model: GPT, ids: Sequence[int]) -> torch.Tensor:
    """(n_layer, n_head, T): how much the last token attends to each visible token; rows sum to 1."""
    model.eval()
    out = model(torch.tensor([list(ids)[-model.config.block_size:]]), return_attn=True)
    return torch.stack([a[0, :, -1, :] for a in out.attn])


def copy_head(att: torch.Tensor, positions: Sequence[int]) -> tuple[int, int, float]:
    """(layer, head, share) of the head that puts the most attention on `positions` (the name's
    tokens): in a model that copies names, one head puts nearly all of it there.

    att: (n_layer, n_head, T) from last_token_attention; positions index its last axis.
    """
    mass = att[:, :, list(positions)].sum(-1) if positions else torch.zeros(att.shape[:2])  # (L, H)
    layer, head = divmod(int(mass.argmax()), att.shape[1])
    return layer, head, float(mass[layer, head])


# --------------------------------------------------------------------------------------------------
# The name-recall measurement


def recall_contexts(tok, case, block_size: int) -> tuple[list[int], list[int], list[int]]:
    """(full context, windowed context, answer) token ids for one NameCase.

    full: <|endoftext|> + the story (its last block_size tokens); windowed: only the tokens that
    start at or after case.last_mention_end, so no mention of the name is in view.
    """
    ids = text_ids(tok, case.text)
    starts = token_starts(tok, ids)
    first_after = next(i for i, s in enumerate(starts) if i > 0 and s >= case.last_mention_end)
    return keep_last(ids, block_size)[0], ids[first_after:], answer_ids(tok, case.text, case.name)


def name_recall(model: GPT, tok, cases) -> dict:
    """Top-1 name recall with the whole story in view vs with a window that starts after the last
    mention of the name (so the window contains no mention at all).

    A case counts as recalled when greedy decoding writes the whole name (every token of " Name"
    is the top token), the strict measure; `*_first_token` counts only the name's first token being
    top-1, which is easier for names split into several tokens. Cases are explainer.corpus
    NameCase: text cut right before the final " Name", with last_mention_end (char offset).
    Example result: {"n": 50, "full": 0.74, "windowed": 0.0, ...}.
    """
    full_ctx, win_ctx, answers = zip(*(recall_contexts(tok, c, model.config.block_size) for c in cases))
    full = score_answers(model, full_ctx, answers)
    win = score_answers(model, win_ctx, answers)
    n = len(answers)
    return {
        "n": n, "measure": "greedy decoding writes the whole name",
        "full": sum(s.greedy for s in full) / n, "windowed": sum(s.greedy for s in win) / n,
        "full_first_token": sum(s.first_rank == 1 for s in full) / n,
        "windowed_first_token": sum(s.first_rank == 1 for s in win) / n,
        "full_mean_prob": sum(s.prob for s in full) / n, "windowed_mean_prob": sum(s.prob for s in win) / n,
        "mean_tokens_full": sum(map(len, full_ctx)) / n, "mean_tokens_windowed": sum(map(len, win_ctx)) / n,
    }


def example_story():
    """The page's default text: a held-out story (seed 16) that names its gardener, Riya, in the
    first two sentences and needs the name again at the very end."""
    from .corpus import name_recall_cases
    return name_recall_cases(1, seed=16)[0]


# --------------------------------------------------------------------------------------------------
# Chat: what apps do when a conversation outgrows the window

# A chat in which user and assistant write a story together: the hero's name is said only in the
# first turn and needed at the end (the base model learned that pattern from stories).
CHAT = [
    ("User", "Once upon a time there was a beekeeper named Sven."),
    ("Assistant", "Where did he live?"),
    ("User", "He lived in a small village by the sea."),
    ("Assistant", "One stormy night, the wind damaged the hives."),
    ("User", "Who fixed them?"),
]
CHAT_ANSWER_PREFIX = "Assistant: At the end of the day,"
CHAT_ANSWER = "Sven"


def chat_text(turns: Sequence[tuple[str, str]], prefix: str = CHAT_ANSWER_PREFIX) -> str:
    """Turns in plain text, one per line, ending with the reply the model should continue.

    chat_text([("User", "Hi")], "Assistant:") -> "User: Hi\\nAssistant:"
    """
    return "\n".join([f"{who}: {said}" for who, said in turns] + [prefix])


def fit_chat(tok, turns: Sequence[tuple[str, str]], max_tokens: int,
             prefix: str = CHAT_ANSWER_PREFIX) -> int:
    """How many of the oldest turns a chat app drops so the conversation fits in `max_tokens`
    (the newest turn is always kept). Returns the number dropped."""
    for dropped in range(len(turns)):
        if len(text_ids(tok, chat_text(turns[dropped:], prefix))) <= max_tokens:
            return dropped
    return len(turns) - 1


# --------------------------------------------------------------------------------------------------
# Pictures (plain data in, HTML or Figure out)

WINDOW_CSS = """<style>
.cw-row { line-height: 1.9; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
.cw-tok { border-radius: 3px; padding: 1px 1px; margin-right: 1px; white-space: pre; display: inline-block; }
.cw-in { background: rgba(0,114,178,0.14); }
.cw-out { color: #999; text-decoration: line-through; background: rgba(128,128,128,0.10); }
.cw-mark { outline: 2px solid #E69F00; font-weight: 700; }
.cw-turn { display: block; margin: 2px 0; }
</style>"""


def window_tokens_html(pieces: Sequence[str], n_visible: int, marked: Sequence[int] = ()) -> str:
    """Token pieces in reading order; those outside the last `n_visible` are greyed and struck
    through, those at the indices in `marked` (the name) are outlined. Hover: the token's number,
    counted from 1 (the ⟨start⟩ token is token 1), as everywhere on the page."""
    first_in = len(pieces) - n_visible
    out = []
    for i, p in enumerate(pieces):
        cls = ["cw-tok", "cw-in" if i >= first_in else "cw-out"] + (["cw-mark"] if i in marked else [])
        state = "visible" if i >= first_in else "outside the window: forgotten"
        out.append(token_span(p, " ".join(cls), f"token {i + 1}: {state}"))
    return WINDOW_CSS + f'<div class="cw-row">{"".join(out)}</div>'


def token_span(piece: str, cls: str, title: str, style: str = "") -> str:
    r"""One token as a box that never breaks inside (white-space: pre, inline-block; the lines
    break between tokens, so a name's leading space cannot end a line on its own); a newline
    in it shows as ↵ and then really starts a new line.

    >>> token_span("a<\n", "t", "token 2")
    '<span class="t" title="token 2">a&lt;↵</span><br>'
    """
    text = html.escape(piece.replace("\n", "↵")) or "&nbsp;"
    css = f' style="{style}"' if style else ""
    return f'<span class="{cls}"{css} title="{title}">{text}</span>' + "<br>" * piece.count("\n")


def chat_html(turns: Sequence[tuple[str, str]], dropped: int, prefix: str = CHAT_ANSWER_PREFIX) -> str:
    """The chat, turn by turn, each speaker in bold (the reply being written too); dropped turns
    greyed and struck through."""
    def turn(who: str, said: str, cls: str) -> str:
        return f'<span class="cw-turn {cls}"><b>{html.escape(who)}:</b> {html.escape(said)}</span>'

    rows = [turn(who, said, "cw-out" if i < dropped else "cw-in") for i, (who, said) in enumerate(turns)]
    who, said = prefix.split(":", 1) if ":" in prefix else ("", prefix)
    rows.append(turn(who, said.strip() + " …", "cw-in") if who else
                f'<span class="cw-turn cw-in">{html.escape(prefix)} …</span>')
    return WINDOW_CSS + f'<div class="cw-row">{"".join(rows)}</div>'


def window_chart(sizes: Sequence[int], probs: Sequence[float], word: str, current: int | None = None,
                 mentions: Sequence[int] = ()) -> go.Figure:
    """P(right word) against window size, with a dotted line where each mention leaves the window
    (to its left, that mention is no longer visible) and a marker at the current window."""
    fig = go.Figure(go.Scatter(x=list(sizes), y=[max(p, 1e-9) for p in probs], mode="lines+markers",
                               name=f'P("{word}")', line=dict(color=PALETTE[0], width=3)))
    shown = mentions_in_reach(sizes, mentions)
    mention_line, window_line = dict(color=PALETTE[1], dash="dot"), dict(color=PALETTE[3], width=2)
    for m in shown:
        fig.add_vline(x=m - 0.5, line=mention_line)
    if current is not None:
        fig.add_vline(x=current, line=window_line)
    # the lines are named in the legend, under the plot: labels on the plot ran into each other
    # when the window sat next to a mention
    legend = ([(f'a "{word}" leaves the window', mention_line)] if shown else []) + \
        ([("your window", window_line)] if current is not None else [])
    for name, line in legend:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=name))
    if sizes:
        fig.update_xaxes(range=[min(sizes) - 2, max(sizes) + 2])     # the text's length, no further
    fig.update_yaxes(type="log", tickvals=[1e-9, 1e-6, 1e-3, 1e-2, 0.1, 1],
                     ticktext=["≤ 1 in a billion", "1 in a million", "1 in 1,000", "1%", "10%", "100%"])
    out = titled(fig, f'How likely is "{word}" next, seeing only the last N tokens?',
                 "window size N (tokens the model can see)", "probability (log scale)", height=400)
    # three legend entries wrap on a narrow screen: under the plot they push it up, not into the title
    return out.update_layout(legend=dict(orientation="h", yref="container", yanchor="bottom", y=0,
                                         xanchor="left", x=0), margin_b=125)


ATTENTION_CSS = """<style>
.at-row { line-height: 2.1; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
.at-tok { border-radius: 3px; padding: 0 1px; margin: 2px 2px 2px 0; white-space: pre; display: inline-block; }
.at-strong { color: #fff; }
.at-key { display: flex; align-items: center; gap: 8px; font-size: 0.85em; margin-top: 4px; }
.at-scale { width: 140px; height: 12px; border-radius: 3px;
            background: linear-gradient(to right, rgba(0,114,178,0.03), rgba(0,114,178,1)); }
</style>"""
STRONG = 0.55          # from this shade on, a token's text turns white to stay readable


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
    out = []
    for i, (p, w) in enumerate(zip(pieces, weights)):
        shade = 0.03 + 0.97 * max(float(w), 0.0) / top                 # 0.03 (none) .. 1 (most)
        out.append(token_span(p, "at-tok at-strong" if shade >= STRONG else "at-tok",
                              f"token {first + i}: {percent_text(float(w))} of the attention",
                              f"background: rgba(0,114,178,{shade:.3f})"))
    key = (f'<div class="at-key"><span>none</span><span class="at-scale"></span>'
           f'<span>strongest: {percent_text(top)} of the attention</span></div>')
    return ATTENTION_CSS + f'<div class="at-row">{"".join(out)}</div>' + key
