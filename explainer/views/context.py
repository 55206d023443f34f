"""The context-window chart: how likely the right word is, seeing only the last N tokens."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from .. import i18n
from ..i18n import _
from ..phases.context import mentions_in_reach
from .charts import PALETTE, local_percent, titled


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
    legend = ([(_('a "{word}" leaves the window').format(word=word), mention_line)] if shown else []) + \
        ([(_("your window"), window_line)] if current is not None else [])
    for name, line in legend:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=name))
    if sizes:
        fig.update_xaxes(range=[min(sizes) - 2, max(sizes) + 2])     # the text's length, no further
    fig.update_yaxes(type="log", tickvals=[1e-9, 1e-6, 1e-3, 1e-2, 0.1, 1],
                     ticktext=[_("≤ 1 in a billion"), _("1 in a million"),
                               _("1 in {n}").format(n=i18n.number(1000, "#,##0")),
                               *map(local_percent, ("1%", "10%", "100%"))])
    out = titled(fig, _('How likely is "{word}" next, seeing only the last N tokens?').format(word=word),
                 _("window size N (tokens the model can see)"), _("probability (log scale)"), height=400)
    # three legend entries wrap on a narrow screen: under the plot they push it up, not into the title
    return out.update_layout(legend=dict(orientation="h", yref="container", yanchor="bottom", y=0,
                                         xanchor="left", x=0), margin_b=125)
