"""The Judgements page's figure: the experts' agreement per run."""

from __future__ import annotations

import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import escape_text
from sectionist.dashboard.ui.i18n import _, plotly_separators


def agreement_bars(per_run, run_labels: dict | None = None) -> go.Figure:
    """Experts' agreement rate per run with its 95 % Wilson interval (horizontal bars).

    ``per_run``: :func:`sectionist.dashboard.judging.stats.agreement_per_run` (columns run_id, rate, ci_low,
    ci_high, agree, n); runs without a rate are left out. ``run_labels``: run id → shown name.
    """
    import textwrap

    df = per_run.dropna(subset=["rate"])
    # long run names wrap onto lines of 28 characters, so the bars keep room on a phone
    labels = ["<br>".join(escape_text(line) for line in textwrap.wrap(str((run_labels or {}).get(r, r)), 28) or [""])
              for r in df["run_id"]]
    fig = go.Figure(go.Bar(
        x=df["rate"], y=labels, orientation="h", marker_color="#4f46e5",
        error_x={"type": "data", "symmetric": False, "array": (df["ci_high"] - df["rate"]).tolist(),
                 "arrayminus": (df["rate"] - df["ci_low"]).tolist(), "color": "#111827"},
        customdata=list(zip(df["agree"], df["n"], df["unsure"] if "unsure" in df.columns else [0] * len(df))),
        hovertemplate="%{y}<br>" + _("agree %{customdata[0]} of %{customdata[1]} decided (%{x:.0%}),"
                                     " %{customdata[2]} unsure left out") + "<extra></extra>",
    ))
    fig.update_layout(height=max(180, 36 * len(df) + 14 * sum(label.count("<br>") for label in labels) + 80),
                      margin={"l": 10, "r": 20, "t": 10, "b": 40},
                      xaxis={"range": [0, 1], "tickformat": ".0%", "title": _("experts agree (95 % CI)")},
                      yaxis={"autorange": "reversed", "automargin": True}, plot_bgcolor="#fff", paper_bgcolor="#fff",
                      separators=plotly_separators())
    return fig
