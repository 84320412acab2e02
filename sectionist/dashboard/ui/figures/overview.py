"""The Overview page's figure: elbow, silhouette and BIC curves against K."""

from __future__ import annotations

import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import AXIS, base_layout, empty_figure, escape_text
from sectionist.dashboard.ui.figures.palette import CLUSTER_PALETTE
from sectionist.dashboard.ui.i18n import _


def k_curves(curves: dict) -> go.Figure:
    """Elbow (inertia), silhouette and BIC against K, one line per run, in three panels.

    ``curves`` maps a run label to its decoded ``curves`` JSON (``k``, ``inertia``, ``silhouette``, ``bic``).
    """
    from plotly.subplots import make_subplots

    metrics = [("inertia", _("inertia (elbow)")), ("silhouette", _("silhouette")), ("bic", "BIC")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[m[1] for m in metrics], horizontal_spacing=0.08)
    any_line = False
    in_legend = set()
    for i, (label, curve) in enumerate(curves.items()):
        if not curve or "k" not in curve:
            continue
        color = CLUSTER_PALETTE[i % len(CLUSTER_PALETTE)]
        label = escape_text(label)
        for col, (metric, _title) in enumerate(metrics, start=1):
            ys = curve.get(metric)
            if not ys or all(v is None for v in ys):
                continue
            any_line = True
            # one legend entry per run, on its first panel with a line: a GMM has no inertia curve
            fig.add_trace(go.Scatter(x=curve["k"], y=ys, mode="lines+markers", name=label, legendgroup=label,
                                     showlegend=label not in in_legend, line=dict(color=color, width=2),
                                     marker=dict(size=6)),
                          row=1, col=col)
            in_legend.add(label)
    if not any_line:
        return empty_figure(_("No K curves stored for these runs"), height=300)
    fig.update_layout(**base_layout(height=340, margin=dict(l=48, r=16, t=40, b=40),
                                    legend=dict(orientation="h", y=-0.32)))
    # as many whole-number ticks as the panel's width allows (a phone's narrow panels get fewer)
    fig.update_xaxes(title_text="K", tickmode="auto", tickformat="d", **AXIS)
    fig.update_yaxes(**AXIS)
    fig.layout.meta = {"narrow": {"layout": stacked_panels(len(in_legend))}}
    return fig


#: Height of one panel when the three are stacked on a narrow screen, in px.
STACKED_PANEL_PX = 190


def stacked_panels(n_legend: int) -> dict:
    """The K curves' narrow variant (assets/narrow.js): the three panels one under another, each the
    figure's width, titles above them, the legend (``n_legend`` runs, one per row) below the last:
    side by side on a phone the panels were 90 px wide and their titles ran into each other."""
    gap = 60  # px between panels: the ticks of the panel above and the title of the next
    plot = 3 * STACKED_PANEL_PX + 2 * gap
    top, bottom = 30, 50 + 22 * n_legend
    layout = {"height": plot + top + bottom, "margin.t": top, "margin.b": bottom, "margin.l": 56,
              "legend.y": -(50 / plot), "legend.yanchor": "top", "legend.orientation": "v", "legend.font.size": 10}
    for i in range(3):
        hi = 1 - i * (STACKED_PANEL_PX + gap) / plot
        lo = hi - STACKED_PANEL_PX / plot
        axis = "" if i == 0 else str(i + 1)
        if i < 2:  # "K" under the last panel only: between panels it ran into the next title
            layout[f"xaxis{axis}.title.text"] = ""
        layout.update({f"xaxis{axis}.domain": [0, 1], f"yaxis{axis}.domain": [lo, hi],
                       f"annotations[{i}].x": 0.5, f"annotations[{i}].y": hi, f"annotations[{i}].yanchor": "bottom"})
    return layout
