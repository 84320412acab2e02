"""The saliency figure: what the network listens to in a cluster (mel band × section time)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import AXIS, base_layout, empty_figure, escape_text, fmt
from sectionist.dashboard.ui.figures.palette import ACCENT, cluster_name
from sectionist.dashboard.ui.i18n import _


#: Frequencies (Hz) marked on the saliency heatmap's band axis, where they are within its bands.
SALIENCY_TICKS_HZ = (250, 500, 1000, 2000, 4000, 8000)


def saliency_heatmap(saliency: np.ndarray, band_hz: np.ndarray, *, method: str = "", n_sections: int | None = None,
                     cluster=None, names: dict | None = None, height: int = 320) -> go.Figure:
    """What the network listens to: a cluster's saliency map (mel band × normalised section time)
    beside its mean over time (the frequency profile).

    Parameters
    ----------
    saliency : np.ndarray [shape=(n_bands, n_time)]
        Non-negative; scaled here to its maximum (brighter = more).
    band_hz : np.ndarray [shape=(n_bands,)]
        Centre frequency of each band in Hz; the bands are drawn equally spaced, as on the mel
        spectrograms, with ticks in Hz at their mel positions.
    method, n_sections, cluster, names
        Shown in the title and the figure's meta (escaped); ``names``: cluster → name.
    """
    from plotly.subplots import make_subplots

    m = np.asarray(saliency, dtype=np.float64)
    hz = np.asarray(band_hz, dtype=np.float64)
    if m.ndim != 2 or m.size == 0 or len(hz) != m.shape[0] or not np.isfinite(m).any() or np.nanmax(m) <= 0:
        return empty_figure(_("No saliency map for this cluster"), height=height)
    m = m / np.nanmax(m)
    profile = np.nanmean(m, axis=1)
    n_bands, n_time = m.shape
    bands = np.arange(n_bands)
    t = (np.arange(n_time) + 0.5) / n_time
    hz_text = [f"{fmt(f, ',.0f')} Hz" for f in hz]
    ticks = [(int(np.argmin(np.abs(hz - f))), f) for f in SALIENCY_TICKS_HZ if hz[0] <= f <= hz[-1] * 1.01]
    tickvals = [b for b, _ in ticks]
    ticktext = [f"{f // 1000}k" if f >= 1000 else str(f) for _, f in ticks]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.78, 0.22], horizontal_spacing=0.03)
    fig.add_trace(go.Heatmap(z=m, x=t, y=bands, customdata=np.repeat(np.array(hz_text)[:, None], n_time, axis=1),
                             colorscale="Magma", zmin=0, zmax=1, showscale=False,
                             hovertemplate=_("%{customdata} · %{x:.0%} into the section: %{z:.2f}")
                             + "<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=profile, y=bands, mode="lines", line=dict(color=ACCENT, width=2), fill="tozerox",
                             customdata=hz_text,
                             hovertemplate="%{customdata}: %{x:.2f}<extra>" + _("profile") + "</extra>",
                             showlegend=False), row=1, col=2)
    who = cluster_name(cluster, names) if cluster is not None else ""
    if n_sections is not None:
        sub = (_("%(cluster)s · mean of %(n)s sections", cluster=who, n=fmt(int(n_sections), ",d")) if who
               else _("mean of %(n)s sections", n=fmt(int(n_sections), ",d")))
    else:
        sub = who
    layout = base_layout(height=height, margin=dict(l=56, r=12, t=30, b=44), showlegend=False,
                         title=dict(text=escape_text(sub), font=dict(size=12), x=0.01, y=0.98),
                         xaxis=dict(title=_("time through the section"), tickformat=".0%", range=[0, 1]),
                         yaxis=dict(title=_("Hz (mel)"), tickvals=tickvals, ticktext=ticktext, range=[-0.5, n_bands - 0.5]),
                         meta=[escape_text(method)])
    layout["xaxis2"] = dict(AXIS, title=_("over time"), showticklabels=False, rangemode="tozero", domain=[0.81, 1.0])
    layout["xaxis"]["domain"] = [0.0, 0.78]
    layout["yaxis2"] = dict(AXIS, matches="y", showticklabels=False)
    fig.update_layout(layout)
    return fig
