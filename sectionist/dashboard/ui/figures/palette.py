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


#: Songs coloured on the map: up to this many hues around the colour wheel, 30° apart; a store with
#: more songs goes round again at another lightness, so 36 songs get 36 colours no two alike
#: (:func:`song_colors`). Past three rounds colours repeat (a legend of so many songs is no help:
#: filter the songs instead).
SONG_HUES = 12
#: (saturation %, lightness %) of each round: medium, light, dark — all readable on white.
SONG_SHADES = ((72, 46), (80, 68), (65, 30))


def song_colors(n_songs: int) -> list[str]:
    """``n_songs`` colours for the songs in title order (song code ``i`` → ``song_colors(n)[i]``).

    Neighbours in the list differ in hue by 30° or more (songs next to each other in the legend never
    look alike); songs 12 apart share a hue at another lightness. Colours depend on the number of
    songs only, so a song keeps its colour whatever the map's filters show."""
    import colorsys

    n = max(int(n_songs), 0)
    hues = min(max(n, 1), SONG_HUES)
    out = []
    for i in range(n):
        shade = (i // hues) % len(SONG_SHADES)
        sat, light = SONG_SHADES[shade]
        # the hue steps by 5/12 of the wheel (150°) so consecutive songs sit far apart; 5 and 12 are
        # coprime, so every hue is used once per round; the light round sits between the others' hues
        step = 5 if hues == SONG_HUES else 1
        hue = ((i * step) % hues) / hues + (0.5 / hues if shade == 1 else 0.0)
        r, g, b = colorsys.hls_to_rgb(hue, light / 100, sat / 100)
        out.append("#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255)))
    return out
