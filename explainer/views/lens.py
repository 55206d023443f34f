"""The logit lens as a heatmap: one row per layer (embedding at the bottom, the last layer on
top), one column per position; each cell shows the layer's likeliest next token, coloured by its
probability."""
from __future__ import annotations

import plotly.graph_objects as go

from ..gpt.lens import Lens
from ..i18n import _
from .charts import local_percent, show_piece, titled


def lens_heatmap(lens: Lens, title: str) -> go.Figure:
    """Cells: the guess at that layer and position (text), its probability (colour); hover adds
    the probability of the token that really comes next."""
    n_pos = len(lens.tokens)
    cut = lambda s: (s[:7] + "…") if len(s) > 8 else s          # noqa: E731 - keeps cells readable
    text = [[cut(show_piece(g)) for g in row] for row in lens.guess]
    layers = [layer_name(name) for name in lens.layers]
    guesses = _("after “{token}” (position {position}), {layer} guesses “{guess}” ({prob})")
    real = _("; the real next token “{token}”: {prob}")
    hover = [[guesses.format(token=show_piece(lens.tokens[j]), position=j + 1, layer=layers[i],
                             guess=show_piece(lens.guess[i][j]), prob=local_percent(f"{lens.prob[i][j]:.0%}"))
              + ("" if lens.next_prob[i][j] != lens.next_prob[i][j] else
                 real.format(token=show_piece(lens.tokens[j + 1]),
                             prob=local_percent(f"{lens.next_prob[i][j]:.1%}")))
              for j in range(n_pos)] for i in range(len(lens.layers))]
    fig = go.Figure(go.Heatmap(
        z=lens.prob, x=list(range(n_pos)), y=layers, text=text, texttemplate="%{text}",
        textfont=dict(size=11), customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title=_("prob."), thickness=12)))
    fig.update_xaxes(tickmode="array", tickvals=list(range(n_pos)),
                     ticktext=[cut(show_piece(t)) for t in lens.tokens], tickangle=-45, side="bottom")
    return titled(fig, title, _("input token (each column guesses the token after it)"), "",
                  height=170 + 24 * len(lens.layers))


def layer_name(name: str) -> str:
    """A row's name from gpt.lens ("embedding", "layer 3") in the current language."""
    if name == "embedding":
        return _("embedding")
    number = name.removeprefix("layer ")
    return _("layer {n}").format(n=number) if number.isdigit() else name
