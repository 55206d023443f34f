"""Pictures of the "Two files" page: a tensor's values, parameters by part, file sizes on a log
scale, and the two-file picture itself."""
from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import i18n
from ..i18n import _
from ..phases.twofiles import REFERENCES, mb
from .charts import PALETTE, local_percent, titled


def histogram_chart(values: np.ndarray, name: str, bins: int = 80) -> go.Figure:
    """How a tensor's numbers are spread: most weights are small, near zero."""
    counts, edges = np.histogram(values, bins=bins)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=mids, y=counts, marker_color=PALETTE[0], width=edges[1] - edges[0],
                           hovertemplate=_("around %{x:.4f}: %{y:,} numbers") + "<extra></extra>"))
    fig.update_layout(bargap=0)
    title = _("The {n} numbers in {tensor}").format(n=i18n.number(values.size, "#,##0"), tensor=name)
    return titled(fig, title, _("value"), _("how many numbers"))


def parts_chart(counts: dict[str, int]) -> go.Figure:
    """Parameters per part of the network, as bars with their share of the total."""
    total = sum(counts.values()) or 1
    names = [k for k in counts if counts[k]]
    fig = go.Figure(go.Bar(
        x=[_(k) for k in names], y=[counts[k] for k in names],
        marker_color=[PALETTE[i % 6] for i in range(len(names))],
        text=[f"{i18n.number(counts[k], '#,##0')}<br>"
              f"{local_percent(format(counts[k] / total, '.0%' if counts[k] >= total / 100 else '.1%'))}"
              for k in names],
        textposition="auto",
        hovertemplate=_("%{x}: %{y:,} parameters") + "<extra></extra>"))
    return titled(fig, _("Where the {n} parameters are").format(n=i18n.number(total, "#,##0")),
                  _("part of the network"), _("parameters"))


def scale_chart(files: Sequence[tuple[str, float]]) -> go.Figure:
    """This model's files beside the published reference figures, on a log scale."""
    rows = [(name, size, mb(size)) for name, size in files] + [(r[0], r[1], _(r[2])) for r in REFERENCES]
    colors = [PALETTE[0]] * len(files) + [PALETTE[3]] * len(REFERENCES)
    fig = go.Figure(go.Bar(
        y=[r[0] for r in rows], x=[r[1] for r in rows], orientation="h", marker_color=colors,
        text=[r[2] for r in rows], textposition="auto", cliponaxis=False,   # long bars: inside
        hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_xaxes(type="log", tickvals=[1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12],
                     ticktext=["100 KB", "1 MB", "10 MB", "100 MB", "1 GB", "10 GB", "100 GB", "1 TB"],
                     range=[5, 12.3])
    fig.update_yaxes(autorange="reversed")
    return titled(fig, _("Parameter file sizes (log scale: each step is 10 times bigger)"),
                  _("file size"), "", height=120 + 48 * len(rows))


# A grid, so the two rows line up; where it is narrow (800 px with the sidebar, presentation mode)
# each row stacks: who, then the two files side by side, then what they make.
TWO_FILES_CSS = """<style>
.tf-grid { container-type: inline-size; }
.tf-rows { display: grid; grid-template-columns: repeat(2, minmax(min-content, max-content)) 2em
           minmax(min-content, max-content) minmax(8em, 1fr);
           align-items: center; gap: 12px 10px; margin: 10px 0; }
.tf-file { border: 2px solid #0072B2; border-radius: 8px; padding: 8px 14px; background: rgba(0,114,178,0.07); }
.tf-file.code { border-color: #009E73; background: rgba(0,158,115,0.07); }
.tf-file b { display: block; font-size: 1.05em; overflow-wrap: anywhere; }
.tf-op { font-size: 1.6em; font-weight: 700; opacity: 0.7; text-align: center; }
.tf-who { font-weight: 700; }
.tf-makes .tf-op { vertical-align: middle; margin-right: 4px; }
@container (max-width: 54rem) {
  .tf-rows { grid-template-columns: minmax(0, 1fr) 2em minmax(0, 1fr); row-gap: 6px; }
  .tf-who { grid-column: 1 / -1; margin-top: 10px; }
  .tf-makes { grid-column: 1 / -1; }
}
</style>"""


def two_files_html(rows: Sequence[tuple[str, str, str, str, str]]) -> str:
    """Rows of the two-file picture, aligned in a grid: (who, parameter file, its size, run file,
    its size)."""
    cells, makes = [], html.escape(_("a language model that writes text"))
    for who, pname, psize, rname, rsize in rows:
        cells.append(
            f'<span class="tf-who">{html.escape(who)}</span>'
            f'<span class="tf-file"><b>{html.escape(pname)}</b>{html.escape(psize)}</span>'
            f'<span class="tf-op">+</span>'
            f'<span class="tf-file code"><b>{html.escape(rname)}</b>{html.escape(rsize)}</span>'
            f'<span class="tf-makes"><span class="tf-op">=</span> {makes}</span>')
    return TWO_FILES_CSS + f'<div class="tf-grid"><div class="tf-rows">{"".join(cells)}</div></div>'
