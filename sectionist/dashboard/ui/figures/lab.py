"""The segmentation lab's figures: the novelty curve with its threshold, and the lanes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, escape_text, fast_figure, wrap_lane
from sectionist.dashboard.ui.figures.palette import ACCENT, cluster_color


def novelty_threshold(times, novelty, *, prominence: float, cuts, title: str = "", curve_name: str = "",
                      threshold_name: str = "", cut_name: str = "", x_title: str = "") -> go.Figure:
    """The lab's novelty curve with the threshold drawn on it: a dashed line at the prominence a
    peak needs to become a cut, and a marker on the curve at each cut. Texts come translated from
    the caller (``curve_name``, ``threshold_name``, ``cut_name`` name the traces)."""
    times, novelty, cuts = np.asarray(times, float), np.asarray(novelty, float), np.asarray(cuts, float)
    at_cut = np.interp(cuts, times, novelty) if len(times) else cuts
    traces = [
        dict(type="scatter", x=times, y=novelty, mode="lines", name=escape_text(curve_name),
             line=dict(color="#475569", width=1.2), hovertemplate="%{x:.1f} s: %{y:.3f}<extra></extra>"),
        dict(type="scatter", x=[0.0, float(times[-1]) if len(times) else 1.0], y=[prominence, prominence],
             mode="lines", name=escape_text(threshold_name), line=dict(color="#dc2626", width=1.5, dash="dash"),
             hoverinfo="skip"),
        dict(type="scatter", x=cuts, y=at_cut, mode="markers", name=escape_text(cut_name),
             marker=dict(color=ACCENT, size=7, symbol="triangle-down"),
             hovertemplate="%{x:.1f} s<extra></extra>"),
    ]
    layout = base_layout(height=220, title=dict(text=escape_text(title), font_size=13) if title else None,
                         margin=dict(l=48, r=16, t=36 if title else 8, b=40), showlegend=True,
                         xaxis=dict(title=escape_text(x_title), range=[0, float(times[-1]) if len(times) else 1.0]),
                         yaxis=dict(rangemode="tozero", fixedrange=True),
                         legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right",
                                     bgcolor="rgba(0,0,0,0)", borderwidth=0))
    return fast_figure(traces, layout)


def segmentation_lanes(lanes, *, duration: float, song_id: str, title: str = "", x_title: str = "",
                       hover: str = "") -> go.Figure:
    """The lab's lanes (the composers' two REAPER tracks): one row per lane, its segments as blocks
    coloured by cluster; every block carries ``[song_id, start_s, end_s, lane name]`` as customdata
    so that a click can play that span.

    Parameters
    ----------
    lanes : list of (name, starts, ends, labels)
        Names already translated (escaped here).
    hover : str
        The hover line under the lane's name (translated), e.g. "click to listen".
    """
    traces, names = [], []
    for li, (name, starts, ends, labels) in enumerate(lanes):
        lane = escape_text(name)
        names.append(lane)
        starts, ends, labels = np.asarray(starts, float), np.asarray(ends, float), np.asarray(labels, int)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            traces.append(dict(
                type="bar", base=starts[idx].tolist(), x=(ends - starts)[idx].tolist(), y=[li] * len(idx),
                orientation="h", width=0.8, showlegend=False, name=f"{lane} {int(c)}",
                marker=dict(color=cluster_color(int(c)), line=dict(color="#ffffff", width=1)),
                customdata=[[str(song_id), float(a), float(b), str(name)] for a, b in zip(starts[idx], ends[idx])],
                meta=[lane, escape_text(hover)],
                hovertemplate="%{meta[0]}<br>%{base:.1f}–%{customdata[2]:.1f} s<br>%{meta[1]}<extra></extra>"))
    layout = base_layout(
        barmode="overlay", height=80 + 56 * max(1, len(names)), clickmode="event",
        meta={"song_id": str(song_id)},
        title=dict(text=escape_text(title), font_size=13) if title else None,
        margin=dict(l=10, r=16, t=36 if title else 8, b=40),
        xaxis=dict(title=escape_text(x_title), range=[0, max(float(duration), 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[wrap_lane(n, 18) for n in names],
                   range=[len(names) - 0.5, -0.5], showgrid=False, zeroline=False, automargin=True,
                   fixedrange=True))
    return fast_figure(traces, layout)
