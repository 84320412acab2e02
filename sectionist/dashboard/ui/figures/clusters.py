"""The Clusters page's figures: cluster sizes and the songs a cluster draws from."""

from __future__ import annotations

import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text, fmt
from sectionist.dashboard.ui.figures.palette import cluster_color, cluster_name
from sectionist.dashboard.ui.i18n import _


def cluster_sizes(clusters, sizes, n_songs=None, cluster_names: dict | None = None) -> go.Figure:
    """Bar chart of cluster sizes in the cluster palette (click a bar to open the cluster); hover
    names each cluster (``cluster_names``: cluster → name)."""
    clusters = [int(c) for c in clusters]
    hover = [_("%(cluster)s: %(sections)s sections from %(songs)s songs", cluster=escape_text(cluster_name(c, cluster_names)),
               sections=fmt(int(s), ",d"), songs=fmt(int(n), ",d")) if n is not None else
             _("%(cluster)s: %(sections)s sections", cluster=escape_text(cluster_name(c, cluster_names)),
               sections=fmt(int(s), ",d"))
             for c, s, n in zip(clusters, sizes, n_songs if n_songs is not None else [None] * len(clusters))]
    fig = go.Figure(go.Bar(x=[str(c) for c in clusters], y=list(sizes), marker_color=[cluster_color(c) for c in clusters],
                           hovertext=hover, hoverinfo="text", customdata=clusters))
    fig.layout = (base_layout(height=220, margin=dict(l=48, r=8, t=8, b=36),
                                    xaxis=dict(title=_("cluster"), type="category"), yaxis=dict(title=_("sections"))))
    return fig


def song_shares(titles, counts) -> go.Figure:
    """Horizontal bars: how many of a cluster's sections each song contributes (top songs)."""
    if len(titles) == 0:
        return empty_figure(_("No sections"), height=200)
    fig = go.Figure(go.Bar(x=list(counts)[::-1], y=[escape_text(t) for t in titles][::-1], orientation="h",
                           marker_color="#64748b"))
    fig.layout = (base_layout(height=max(200, 22 * len(titles) + 50), margin=dict(l=180, r=16, t=8, b=36),
                                    xaxis=dict(title=_("sections in this cluster"))))
    return fig
