"""Figure builders: plain data in, plotly Figure out; the house style of every chart.

Every chart has a title and labelled axes and uses the Okabe-Ito palette, which stays
distinguishable for the common kinds of colour blindness (Okabe & Ito, "Color Universal Design",
2008). Live charts are downsampled to a few hundred points: 30 browsers redrawing 2,000-point
figures every second is real load on a small server.

Nothing here imports streamlit or torch; the pages pass lists and numbers.
"""
from __future__ import annotations

import functools
import math
import numbers
import re
from decimal import Decimal
from typing import Sequence

import plotly.graph_objects as go

from .. import i18n
from ..i18n import N_, _

# Okabe-Ito, in the order we use them: blue, orange, bluish green, vermillion, reddish purple,
# sky blue, yellow, black (the last two are hard to read on white, so they come last).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TRAIN_COLOR, VAL_COLOR = PALETTE[0], PALETTE[1]


def downsample(xs: Sequence, ys: Sequence, max_points: int = 300) -> tuple[list, list]:
    """At most `max_points` evenly spaced points, always keeping the first and the last.

    >>> downsample(range(10), range(10), max_points=4)
    ([0, 3, 6, 9], [0, 3, 6, 9])
    >>> downsample([1, 2], [5, 6])
    ([1, 2], [5, 6])
    """
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} vs {len(ys)})")
    n = len(xs)
    if n <= max_points:
        return xs, ys
    if max_points < 2:
        return xs[-1:], ys[-1:]
    idx = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
    return [xs[i] for i in idx], [ys[i] for i in idx]


def _figure(traces: list[dict], title: str, x: str, y: str, height: int = 360,
            xaxis: dict | None = None, yaxis: dict | None = None) -> go.Figure:
    """One figure from plain dicts, validated once. (Building the same figure step by step with
    add_trace/update_layout costs 2-3 times more, and the live charts are rebuilt every second
    for every watching browser.)"""
    layout = dict(house_layout(title, height), xaxis=dict(title=dict(text=x), **(xaxis or {})),
                  yaxis=dict(title=dict(text=y), **(yaxis or {})))
    return go.Figure(dict(data=traces, layout=layout))


def house_layout(title: str, height: int) -> dict:
    """Title, size, palette, margins and legend of every chart. The title has the top line to
    itself and the legend the line under it, just above the plot: side by side, they ran into
    each other on a narrow screen."""
    layout = dict(title=dict(text=title, y=1.0, yanchor="top", pad=dict(t=TITLE_PAD)), height=height,
                  colorway=PALETTE, margin=dict(l=60, r=20, t=TOP_MARGIN, b=50),
                  legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    if i18n.current() != i18n.SOURCE:      # plotly's own numbers (axes, hover): 1.234,5 in German
        layout["separators"] = _symbols(i18n.current())[0] + _symbols(i18n.current())[1]
    return layout


TITLE_PAD, TOP_MARGIN = 12, 78     # the title's line, then the legend's, above the plot
TITLE_LINE = 26                    # one more title line, at presentation mode's 18 points


def two_line_title(fig: go.Figure, width: int) -> go.Figure:
    """A house-layout figure whose title is longer than `width` characters, with the title on two
    lines (`wrap_title`) and one more line of room above the plot for it; returns the figure."""
    title = fig.layout.title.text or ""
    wrapped = wrap_title(title, width)
    if wrapped != title:                      # plotly lifts a taller title: pad it down one line
        fig.update_layout(title_text=wrapped, margin_t=(fig.layout.margin.t or TOP_MARGIN) + TITLE_LINE,
                          title_pad_t=(fig.layout.title.pad.t or TITLE_PAD) + TITLE_LINE)
    return fig


def wrap_title(title: str, width: int) -> str:
    """A title longer than `width` characters on two lines, broken at the space nearest its
    middle (a title already broken is left alone).

    >>> wrap_title('How likely is "Riya" next, seeing only the last N tokens', 34)
    'How likely is "Riya" next,<br>seeing only the last N tokens'
    """
    if len(title) <= width or "<br>" in title or " " not in title:
        return title
    mid = len(title) // 2
    cut = min((i for i, ch in enumerate(title) if ch == " "), key=lambda i: abs(i - mid))
    return title[:cut] + "<br>" + title[cut + 1:]


def titled(fig: go.Figure, title: str, x: str, y: str, height: int = 360) -> go.Figure:
    """The house layout (title, axis titles, palette, legend) applied to an existing figure.
    Used by the pages' own pictures (explainer/views/); returns the figure."""
    fig.update_layout(house_layout(title, height), xaxis=dict(title=dict(text=x)),
                      yaxis=dict(title=dict(text=y)))
    return fig


# ---------------------------------------------------------------------------------------------
# Training


def loss_chart(train_steps: Sequence[int], train_loss: Sequence[float],
               val_steps: Sequence[int] = (), val_loss: Sequence[float] = (),
               max_points: int = 300, title: str = N_("Loss while training (lower is better)")) -> go.Figure:
    """Training loss per step (a line) and validation loss at each evaluation (line + markers).

    Loss is the average surprise of the model at the real next token, in nats: a model guessing
    uniformly among 2,048 tokens scores ln(2048) = 7.6.
    """
    xs, ys = downsample(train_steps, train_loss, max_points)
    traces = [dict(type="scatter", x=xs, y=ys, mode="lines" if len(xs) > 1 else "markers",  # 1: a dot
                   name=_("training text"),
                   line=dict(color=TRAIN_COLOR, width=2))]
    if len(val_steps):
        vx, vy = downsample(val_steps, val_loss, max_points)
        traces.append(dict(type="scatter", x=vx, y=vy, mode="lines+markers",
                           name=_("validation text (unseen)"), line=dict(color=VAL_COLOR, width=3, dash="dot"),
                           marker=dict(symbol="diamond", size=8)))
    fig = _figure(traces, _(title), _("training step"), _("loss (nats per token)"))
    # the first steps: whole-step ticks 0 ... 4 (plotly centred one point on -1 ... 1 by halves)
    steps = [*train_steps, *val_steps]
    if steps and max(steps) < 5:
        return fig.update_xaxes(range=[-0.3, 4.3], dtick=1)
    return fig.update_xaxes(rangemode="nonnegative")


def next_word_bars(top: Sequence[tuple[str, float]], title: str = N_("Top next words"),
                   highlight: Sequence[str] = ()) -> go.Figure:
    """Horizontal bars, most likely first (at the top). `top`: [(piece, probability)].

    Pieces are shown with their leading space as '␣' so " night" and "night" can be told apart;
    pieces in `highlight` (the candidate words) get the second colour.
    """
    labels = [show_piece(p) for p, _ in top]
    probs = [float(q) for _, q in top]
    marked = {w.strip() for w in highlight}
    colors = [PALETTE[1] if p.strip() in marked else PALETTE[0] for p, _ in top]
    bar = dict(type="bar", x=probs[::-1], y=list(range(len(labels)))[::-1], orientation="h",
               marker=dict(color=colors[::-1]), text=[percent_text(q) for q in probs][::-1],
               textposition="outside", cliponaxis=False, textfont=dict(size=13),
               hovertemplate="%{customdata}: %{text}<extra></extra>", customdata=labels[::-1])
    hi = (max(probs, default=0.0) or 1.0) * 1.3     # room for the labels outside, even when narrow
    vals, texts = percent_ticks(hi)
    return _figure([bar], _(title), _("probability"), _("next token"), height=max(260, 60 + 28 * len(labels)),
                   xaxis=dict(tickmode="array", tickvals=vals, ticktext=texts, range=[0, hi]),
                   yaxis=dict(tickmode="array", tickvals=list(range(len(labels))), ticktext=labels,
                              autorange="reversed", tickfont=dict(size=14)))


def nice_ticks(hi: float, n: int = 5) -> list[float]:
    """At most n+1 round values from 0 to `hi`, spaced 1, 2, 2.5 or 5 times a power of ten.

    >>> nice_ticks(0.2, 4), nice_ticks(0.0018, 5)
    ([0.0, 0.05, 0.1, 0.15, 0.2], [0.0, 0.0005, 0.001, 0.0015])
    """
    if not hi > 0 or not math.isfinite(hi):
        return [0.0]
    base = 10.0 ** math.floor(math.log10(hi / max(n, 1)))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if hi / (m * base) <= n)
    k = int(math.floor(hi / step + 1e-9))
    return [round(i * step, 12) for i in range(k + 1)]


def percent_ticks(hi: float, n: int = 5) -> tuple[list[float], list[str]]:
    """Tick values from 0 to `hi` and their labels in percent, with as many decimals as it takes
    for every label to be exact (so no two read the same, however small the values).

    >>> percent_ticks(0.0018)
    ([0.0, 0.0005, 0.001, 0.0015], ['0%', '0.05%', '0.10%', '0.15%'])
    >>> percent_ticks(0.6, 3)[1]
    ['0%', '20%', '40%', '60%']
    """
    vals = nice_ticks(hi, n)
    for d in range(0, 9):
        if all(abs(round(v * 100, d) - v * 100) < 1e-9 for v in vals):
            break
    return vals, [local_percent(f"{v * 100:.{d}f}%" if v else "0%") for v in vals]


def percent_text(p: float) -> str:
    """A probability in percent with at least two significant digits below 1%.

    >>> percent_text(0.4567), percent_text(0.0012), percent_text(0.000049), percent_text(0)
    ('45.7%', '0.12%', '0.0049%', '0%')
    >>> percent_text(3e-12)                      # never a row of zeros for "not quite impossible"
    '<0.000001%'
    """
    if p >= 0.01:
        return local_percent(f"{p:.1%}")
    if p <= 0:
        return local_percent("0%")
    if p < 1e-8:
        return local_percent("<0.000001%")
    return local_percent(f"{p * 100:.{min(8, 1 - math.floor(math.log10(p * 100)))}f}%")


def candidates_chart(steps: Sequence[int], series: dict[str, Sequence[float]],
                     title: str = N_("Your candidate words over training")) -> go.Figure:
    """Each candidate word's probability after the prompt, at each snapshot (log scale, so 0.001%
    and 50% both stay visible)."""
    traces = [dict(type="scatter", x=list(steps), y=[max(float(p), 1e-12) for p in probs],  # log: no 0
                   mode="lines+markers", name=word, marker=dict(size=7),
                   line=dict(color=PALETTE[i % len(PALETTE)], width=3,
                             dash=["solid", "dash", "dot", "dashdot"][i % 4]))
              for i, (word, probs) in enumerate(series.items())]
    ys = [y for t in traces for y in t["y"]] or [1.0]
    vals = log_ticks(min(ys))
    return _figure(traces, _(title), _("training step"), _("probability (log scale)"),
                   yaxis=dict(type="log", tickvals=vals, ticktext=[chance_text(v) for v in vals]))


def log_ticks(lo: float, most: int = 8) -> list[float]:
    """Probability ticks for a log axis from lo up to 100%: 1-2-5 in every power of ten while
    they fit, else only powers of ten, else every second or third one, at most `most` in view.

    >>> log_ticks(0.01)
    [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    >>> log_ticks(1e-9)                         # 100% is always a tick
    [1e-08, 1e-06, 0.0001, 0.01, 1.0]
    """
    bottom = min(-1, math.floor(math.log10(max(lo, 1e-12))))            # the lowest power of ten
    for mantissas, every in (((1, 2, 5), 1), ((1,), 1), ((1,), 2), ((1,), 3)):
        vals = [round(m * 10.0 ** e, 12) for e in range(bottom, 0) if e % every == 0
                for m in mantissas] + [1.0]
        if len(vals) <= most:
            break
    return vals


def chance_text(p: float) -> str:
    """A probability as a learner reads it: percent down to 0.1%, then "1 in N".

    >>> chance_text(0.5), chance_text(0.002), chance_text(0.0005), chance_text(1e-6)
    ('50%', '0.2%', '1 in 2,000', '1 in 1,000,000')
    """
    if p >= 0.001:
        return local_percent(f"{p * 100:.4g}%")
    return _("1 in {n}").format(n=local(f"{round(1 / p):,}"))


def feedback_charts(steps: Sequence[int], reward: Sequence[float], kl: Sequence[float],
                    entropy: Sequence[float], max_points: int = 300) -> tuple[go.Figure, go.Figure, go.Figure]:
    """Learning from feedback, one figure per number: the reward (should rise), the KL to the
    tuned model (the price paid for it: how far the assistant has drifted from where it started),
    and the entropy (how unsure the assistant is of its next word; the entropy penalty lowers it).

    Reward is the reward model's mean chance of 👍 for the step's answers (0 to 1); KL and entropy
    are in nats per answer token. None is ever negative, so no axis goes below 0; a single step is
    drawn as a dot, since a line needs two points, and the first steps get whole-step ticks. (The
    axis says "thumbs up" in words: a rotated 👍 on a vertical axis reads as a pointing hand.)
    """
    figs = []
    for values, title, y_label, color in (
            (reward, _("Reward: the reward model's chance of 👍"), _("chance of a thumbs up"), PALETTE[0]),
            (kl, _("KL to the tuned model"), _("KL (nats per token)"), PALETTE[1]),
            (entropy, _("Unsureness: entropy of the next word"), _("entropy (nats per token)"), PALETTE[2])):
        xs, ys = downsample(steps, values, max_points)
        traces = [dict(type="scatter", x=xs, y=ys, mode="lines" if len(xs) > 1 else "markers",
                       name=_("each step"), line=dict(color=color, width=1), opacity=0.55,
                       marker=dict(color=color, size=8),
                       hovertemplate=_("policy step %{x}: %{y:.3f}") + "<extra></extra>")]
        if len(steps) > 1:         # one step's 64 answers are a noisy sample: show the trend too
            mx, my = downsample(steps, rolling_mean(values, SMOOTH), max_points)
            traces.append(dict(type="scatter", x=mx, y=my, mode="lines",
                               name=_("average of {n} steps").format(n=SMOOTH),
                               line=dict(color=color, width=3),
                               hovertemplate=_("policy step %{x}: %{y:.3f} (average)") + "<extra></extra>"))
        whole = dict(dtick=1) if steps and max(steps) < 10 else None     # no "step 1.5" at the start
        figs.append(_figure(traces, title, _("policy step"), y_label, xaxis=whole,
                            yaxis=dict(rangemode="nonnegative")))
    return figs[0], figs[1], figs[2]


SMOOTH = 10     # steps in the feedback charts' moving average


def rolling_mean(values: Sequence[float], n: int) -> list[float]:
    """The mean of each value and the up to n-1 before it.

    >>> rolling_mean([1, 2, 3, 4], 2)
    [1.0, 1.5, 2.5, 3.5]
    """
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - n] if i >= n else 0.0)
        out.append(total / min(i + 1, n))
    return out


# ---------------------------------------------------------------------------------------------
# Tokens and embeddings


def embedding_heatmap(rows: Sequence[Sequence[float]], labels: Sequence[str], max_dims: int = 64,
                      title: str = N_("Each token becomes a row of numbers (its embedding)")) -> go.Figure:
    """One row per token, one column per embedding dimension (the first `max_dims`), diverging
    colours centred on zero (blue negative, orange positive: Okabe-Ito ends)."""
    cut = [list(map(float, r[:max_dims])) for r in rows]
    lim = max((abs(v) for r in cut for v in r), default=1.0) or 1.0
    ylabels = [f"{i}: {show_piece(t)}" for i, t in enumerate(labels, start=1)]   # counted from 1, as on every page
    heat = dict(type="heatmap", z=cut, y=ylabels, x=list(range(len(cut[0]) if cut else 0)),
                zmin=-lim, zmax=lim, zmid=0, colorscale=[[0, PALETTE[0]], [0.5, "#f7f7f7"], [1, PALETTE[1]]],
                colorbar=dict(title=dict(text=_("value"))),
                hovertemplate=_("token %{y}<br>dimension %{x}: %{z:.3f}") + "<extra></extra>")
    return _figure([heat], _(title), _("embedding dimension"), _("token (position: piece)"),
                   height=max(240, 90 + 26 * len(ylabels)), yaxis=dict(autorange="reversed", type="category"))


def show_piece(text: str, show_whitespace: bool = True) -> str:
    """A token piece made visible: spaces as '␣', newlines as '↵', tabs as '→'.

    >>> show_piece(" night\\n")
    '␣night↵'
    """
    if not show_whitespace:
        return text
    return text.replace(" ", "␣").replace("\n", "↵").replace("\r", "␍").replace("\t", "→")


def count_text(n: float) -> str:
    """A count short enough for a narrow metric: 950 -> '950', 190_464 -> '190 k', 9_830_400 -> '9.8 M'.

    >>> count_text(950), count_text(12_345), count_text(190_464), count_text(9_830_400)
    ('950', '12.3 k', '190 k', '9.8 M')
    """
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            v = n / size
            return local(f"{v:.1f}" if v < 100 else f"{v:.0f}") + f" {unit}"
    return local(f"{n:,.0f}")


def params_text(n: int) -> str:
    """A parameter count in millions, as the model-size picker and the models table show it
    (no-break space: the unit stays with its number): 1_071_872 -> '1.07\u00a0M'."""
    return local(f"{n / 1e6:.2f}") + "\u00a0M"


def eta_text(seconds: float | None) -> str:
    """Human time: 75 -> '1 min 15 s'.

    >>> eta_text(75), eta_text(8.2), eta_text(None)
    ('1 min 15 s', '8 s', '…')
    """
    if seconds is None or not math.isfinite(seconds):
        return "…"
    s = int(round(max(0.0, seconds)))
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


# ---------------------------------------------------------------------------------------------
# Numbers in the learner's language


@functools.cache
def _symbols(code: str) -> tuple[str, str, str, str]:
    """The language's decimal sign, group sign, and what stands before and after a percentage:
    ('.', ',', '', '%') in English, (',', '.', '', '\u00a0%') in German."""
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol
    pattern = Locale.parse(code).percent_formats[None].pattern
    before, after = re.fullmatch(r"([^#0,.]*)[#0,.]+([^#0,.]*)", pattern).groups()
    return get_decimal_symbol(code), get_group_symbol(code), before, after


def local(text: str) -> str:
    """A number Python wrote the English way ('12,345.5', '0.01235', '9.8'), with the current
    language's signs and the same digits (the same rounding): '12.345,5' in German. English:
    `text` unchanged.

    >>> local("12,345.5"), i18n.with_language("de", local, "12,345.5"), i18n.with_language("de", local, "1e-05")
    ('12,345.5', '12.345,5', '1e-05')
    """
    code = i18n.current()
    if code == i18n.SOURCE:
        return text
    m = re.fullmatch(r"-?[\d,]+(\.\d+)?", text)
    if m is None:                     # '1.2e-05', 'nan': only the decimal sign changes
        return text.replace(".", _symbols(code)[0])
    pattern = ("#,##0" if "," in text else "0") + ("." + "0" * (len(m[1]) - 1) if m[1] else "")
    return i18n.number(Decimal(text.replace(",", "")), pattern)


def local_percent(text: str) -> str:
    """A percentage Python wrote the English way ('45.7%', '<0.000001%') as the current
    language writes it: '45,7\u00a0%' in German and Spanish.

    >>> local_percent("45.7%"), i18n.with_language("de", local_percent, "45.7%")
    ('45.7%', '45,7\xa0%')
    """
    code = i18n.current()
    if code == i18n.SOURCE or not text.endswith("%"):
        return text
    less = "<" if text.startswith("<") else ""
    _decimal, _group, before, after = _symbols(code)
    return less + before + local(text[len(less):-1]) + after


# ---------------------------------------------------------------------------------------------
# The numbers behind a chart (its text alternative)


def figure_table(fig: go.Figure, max_rows: int = 50, max_cols: int = 16) -> tuple[list[dict], int]:
    """The numbers behind a chart as table rows, and how many rows there were before thinning:
    what a screen reader reads instead of the picture, and what no colour has to carry (ui.plot
    shows it under every chart). Lines and bars: one row per category or x value (the axis title
    heads the first column), one column per trace, a bar's own label (its `text`) where it has
    one; a heatmap: one row per y, one column per x (the first `max_cols`). Rows are thinned
    evenly to `max_rows`, the first and the last kept; hidden and empty traces are left out.

    >>> bars = _figure([dict(type="bar", x=[0.75, 0.25], y=[0, 1], orientation="h", name="p",
    ...                      text=["75%", "25%"])], "t", "probability", "word",
    ...                yaxis=dict(tickmode="array", tickvals=[0, 1], ticktext=["␣night", "␣day"]))
    >>> figure_table(bars)
    ([{'word': '␣night', 'p': '75%'}, {'word': '␣day', 'p': '25%'}], 2)
    """
    layout = fig.layout
    rows: dict = {}
    for i, tr in enumerate(fig.data):
        if tr.visible == "legendonly" or tr.visible is False:
            continue
        if tr.type == "heatmap":
            return _heatmap_table(tr, layout, max_rows, max_cols)
        flip = getattr(tr, "orientation", None) == "h"
        keys, values = (tr.y, tr.x) if flip else (tr.x, tr.y)
        if keys is None or values is None or all(v is None for v in values):
            continue
        key_axis, value_axis = (layout.yaxis, layout.xaxis) if flip else (layout.xaxis, layout.yaxis)
        head = key_axis.title.text or "x"
        name = tr.name or value_axis.title.text or _("series {n}").format(n=i + 1)
        texts = tr.text if isinstance(tr.text, (list, tuple)) else None
        for j, (k, v) in enumerate(zip(keys, values)):
            row = rows.setdefault(k, {head: _tick_label(key_axis, k)})
            row[name] = str(texts[j]) if texts is not None and j < len(texts) else _number(v)
    table = list(rows.values())
    if all(isinstance(k, numbers.Real) for k in rows):      # a line's steps, merged in order
        table = [rows[k] for k in sorted(rows)]
    columns = list(dict.fromkeys(c for row in table for c in row))
    table = [{c: row.get(c, "") for c in columns} for row in table]        # a gap stays empty
    return _thin(table, max_rows), len(table)


def _heatmap_table(tr, layout, max_rows: int, max_cols: int) -> tuple[list[dict], int]:
    xs = list(tr.x) if tr.x is not None else list(range(len(tr.z[0]) if len(tr.z) else 0))
    ys = list(tr.y) if tr.y is not None else list(range(len(tr.z)))
    texts = tr.text if isinstance(tr.text, (list, tuple)) else None
    head = layout.yaxis.title.text or _("row")
    table = []
    for r, (y, zrow) in enumerate(zip(ys, tr.z)):
        row = {head: _tick_label(layout.yaxis, y)}
        for c, (x, z) in enumerate(list(zip(xs, zrow))[:max_cols]):
            cell = _number(z)
            label = _tick_label(layout.xaxis, x)          # tokens: numbered, as they may repeat
            row[f"{c + 1}: {label}" if layout.xaxis.ticktext else label] = (
                f"{texts[r][c]} ({cell})" if texts else cell)
        table.append(row)
    return _thin(table, max_rows), len(table)


def _tick_label(axis, value) -> str:
    """A category as its axis shows it (tickvals -> ticktext), else the value itself."""
    if axis.tickvals is not None and axis.ticktext is not None and value in axis.tickvals:
        return str(axis.ticktext[list(axis.tickvals).index(value)])
    return _number(value) if isinstance(value, numbers.Real) else str(value)


def _number(v) -> str:
    """1234 -> '1,234', 0.012345 -> '0.01235', None -> ''."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, numbers.Real) and float(v).is_integer() and abs(v) < 1e15:
        return local(f"{int(v):,}")
    return local(f"{float(v):.4g}") if isinstance(v, numbers.Real) else str(v)


def _thin(rows: list, most: int) -> list:
    """At most `most` rows, evenly spaced, the first and the last kept (as downsample)."""
    return downsample(rows, rows, most)[0]
