"""The cluster palette and the app's colours and font: one colour per cluster
(:func:`cluster_color`) for every figure and every HTML chip, so cluster 3 looks the same on every
page, and how a cluster is named (:func:`cluster_name`).
"""

from __future__ import annotations

from sectionist.dashboard.ui.i18n import _


#: Qualitative palette for clusters (colour-blind-aware Tableau 10, then 10 lighter companions).
CLUSTER_PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
]
NOISE_COLOR = "#c8ccd2"
ACCENT = "#1d4ed8"
CONTINUOUS_SCALE = "Viridis"
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def cluster_color(cluster) -> str:
    """The colour of ``cluster`` (noise, ``-1``, is grey)."""
    c = int(cluster)
    if c < 0:
        return NOISE_COLOR
    return CLUSTER_PALETTE[c % len(CLUSTER_PALETTE)]


def cluster_name(cluster, names: dict | None = None) -> str:
    """How a cluster is shown: ``"3: loud · bright · dense"`` when ``names`` (cluster → name, see
    :func:`sectionist.dashboard.ui.naming.default_cluster_names`) has it, else ``"cluster 3"``; ``"noise"`` for -1.
    Not escaped: Dash text is literal; figure builders escape it where Plotly draws it."""
    c = int(cluster)
    if c == -1:
        return _("noise")
    if c < -1:
        return _("not clustered")
    name = (names or {}).get(c)
    return f"{c}: {name}" if name else _("cluster %(number)s", number=c)
