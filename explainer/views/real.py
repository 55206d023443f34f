"""Pictures that put the real model beside yours: the two sizes on a log scale."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import i18n
from ..i18n import N_, _
from .charts import PALETTE, house_layout


def size_chart(rows: Sequence[tuple[str, int, int]]) -> go.Figure:
    """rows: (model, parameters, tokens trained on). Two panels of bars, log scale: each
    gridline is 10 times the one before, so a 100x gap looks as wide as 100x, not as a hair."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Parameters"), _("Tokens seen in training")),
                        horizontal_spacing=0.12)
    names = [r[0] for r in rows]
    for col, values in ((1, [r[1] for r in rows]), (2, [r[2] for r in rows])):
        fig.add_trace(go.Bar(x=names, y=values, marker_color=[PALETTE[i % 6] for i in range(len(rows))],
                             text=[_short(v) for v in values], textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: %{y:,}<extra></extra>", showlegend=False), 1, col)
        fig.update_yaxes(type="log", row=1, col=col, range=[5, 13.3], dtick=1, exponentformat="power")
    fig.update_layout(house_layout(_("Your model beside a real LLM (log scale)"), 380))
    return fig


UNITS = ((N_("{n}\u00a0T"), 1e12), (N_("{n}\u00a0B"), 1e9), (N_("{n}\u00a0M"), 1e6), (N_("{n}\u00a0K"), 1e3))


def _short(n: float) -> str:
    """1_071_872 -> '1.07 M'; 2e12 -> '2 T' (3 significant digits; units and decimal mark in the
    current language)."""
    for unit, size in UNITS:
        if n >= size:
            return _(unit).format(n=i18n.number(n / size, "@##"))
    return i18n.number(n, "#,##0")
