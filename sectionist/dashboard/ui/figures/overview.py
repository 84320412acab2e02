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
    return fig
