"""Pictures of the token tax: bars of "times English" per language and tokenizer, and the same
figures as a table (the chart's text alternative, which a screen reader reads row by row)."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..phases.tokentax import BYTES, TaxRow, times
from .charts import PALETTE, titled

# Each series differs by colour (Okabe-Ito) and by fill pattern, so none is told apart by colour alone
PATTERNS = ("", "/", ".", "x")


def tax_chart(rows: Sequence[TaxRow], names: Sequence[str]) -> go.Figure:
    """Grouped bars: for each language, each tokenizer's tokens as a multiple of English's; UTF-8
    bytes as a black diamond on the same scale; a dashed line at 1 (English)."""
    langs = [r.language for r in rows]
    traces = [go.Bar(
        name=n, x=langs, y=[r.ratio[n] for r in rows], marker_color=PALETTE[i % 6],
        marker_pattern_shape=PATTERNS[i % len(PATTERNS)],
        customdata=[[r.tokens[n], times(r.ratio[n])] for r in rows],
        hovertemplate=f"{n}<br>%{{x}}: %{{customdata[0]}} tokens, %{{customdata[1]}}× English<extra></extra>")
        for i, n in enumerate(names)]
    traces.append(go.Scatter(
        name=BYTES, x=langs, y=[r.ratio[BYTES] for r in rows], mode="markers",
        marker={"symbol": "diamond", "size": 10, "color": PALETTE[7]},
        customdata=[r.tokens[BYTES] for r in rows],
        hovertemplate=f"{BYTES}<br>%{{x}}: %{{customdata}} bytes<extra></extra>"))
    fig = go.Figure(traces)
    fig.add_hline(y=1, line_dash="dash", line_color="#555")
    fig.update_layout(barmode="group")
    return titled(fig, "The same note: tokens as a multiple of English's", "language",
                  "times as many tokens as English", height=420)


def tax_table(rows: Sequence[TaxRow], names: Sequence[str]) -> list[dict]:
    """The chart's figures as table rows: [{"Language": "Hindi", "SmolLM2": "92 (5.1×)", ...}]."""
    return [{"Language": r.language, **{n: f"{r.tokens[n]} ({times(r.ratio[n])}×)" for n in names},
             BYTES: f"{r.tokens[BYTES]} ({times(r.ratio[BYTES])}×)", "Note": r.text} for r in rows]
