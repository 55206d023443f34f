"""Pictures of the token tax: bars of "times English" per language and tokenizer, and the same
figures as a table (the chart's text alternative, which a screen reader reads row by row)."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..i18n import _
from ..phases.tokentax import BYTES, TaxRow, label, shown, times
from .charts import PALETTE, titled

# Each series differs by colour (Okabe-Ito) and by fill pattern, so none is told apart by colour alone
PATTERNS = ("", "/", ".", "x")


def tax_chart(rows: Sequence[TaxRow], names: Sequence[str]) -> go.Figure:
    """Grouped bars: for each language, each tokenizer's tokens as a multiple of English's; UTF-8
    bytes as a black diamond on the same scale; a dashed line at 1 (English)."""
    langs = [label(r.language) for r in rows]
    # plotly's %{...} placeholders are put in after translation: the catalogs see {tokens}, {times}
    each = _("{tokens} tokens, {times}× English").format(tokens="%{customdata[0]}", times="%{customdata[1]}")
    traces = [go.Bar(
        name=shown(n), x=langs, y=[r.ratio[n] for r in rows], marker_color=PALETTE[i % 6],
        marker_pattern_shape=PATTERNS[i % len(PATTERNS)],
        customdata=[[r.tokens[n], times(r.ratio[n])] for r in rows],
        hovertemplate=f"{shown(n)}<br>%{{x}}: {each}<extra></extra>")
        for i, n in enumerate(names)]
    traces.append(go.Scatter(
        name=shown(BYTES), x=langs, y=[r.ratio[BYTES] for r in rows], mode="markers",
        marker={"symbol": "diamond", "size": 10, "color": PALETTE[7]},
        customdata=[r.tokens[BYTES] for r in rows],
        hovertemplate=f"{shown(BYTES)}<br>%{{x}}: "
                      + _("{n} bytes").format(n="%{customdata}") + "<extra></extra>"))
    fig = go.Figure(traces)
    fig.add_hline(y=1, line_dash="dash", line_color="#555")
    fig.update_layout(barmode="group")
    return titled(fig, _("The same note: tokens as a multiple of English's"), _("language"),
                  _("times as many tokens as English"), height=420)


def tax_table(rows: Sequence[TaxRow], names: Sequence[str]) -> list[dict]:
    """The chart's figures as table rows: [{"Language": "Hindi", "SmolLM2": "92 (5.1×)", ...}]
    (headers and language names in the current language; the notes themselves as written)."""
    return [{_("Language"): label(r.language), **{shown(n): f"{r.tokens[n]} ({times(r.ratio[n])}×)" for n in names},
             shown(BYTES): f"{r.tokens[BYTES]} ({times(r.ratio[BYTES])}×)", _("Note"): r.text} for r in rows]
