"""Figure builders: pure functions from arrays and small frames to ``go.Figure``.

Nothing here reads the store or knows about Dash; callbacks pass what they looked up. One
cluster palette (:data:`CLUSTER_PALETTE`, :func:`cluster_color`) is used by every figure and by the
HTML chips, so cluster 3 has the same colour on every page.

Plotly renders a subset of HTML in every text it draws (titles, tick labels, legend names, hover
labels, annotations, Sankey nodes): ``<a href>`` becomes a clickable link, ``<b>`` bold. Every
string that comes from data (song titles, run labels, feature names, lane names…) therefore goes
through :func:`escape_text` in the builder that places it; our own markup (``<br>``,
``<extra>``) is added after escaping and keeps working. The one parameter that takes markup,
``hover_text`` of :func:`section_map`, is built by its caller with :func:`escape_text`.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.i18n import N_, _, ngettext, plotly_separators

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
#: Above this many points, hover shows the cluster and the coordinates only (no per-point text).
HOVER_TEXT_LIMIT = 20_000


def escape_text(value) -> str:
    """``value`` as text that Plotly shows literally: ``&``, ``<`` and ``>`` escaped.

    Plotly's text rendering decodes these entities back, so ``<b>bold</b>`` in a song title is
    shown as typed instead of bold, and ``<a href=…>`` is shown instead of becoming a link.
    Quotes are left alone (outside a tag they are plain text to Plotly).

    Parameters
    ----------
    value : object
        Anything; ``None`` gives ``""``, other values their ``str``.

    Returns
    -------
    str
    """
    return "" if value is None else html.escape(str(value), quote=False)


def cluster_color(cluster) -> str:
    """The colour of ``cluster`` (noise, ``-1``, is grey)."""
    c = int(cluster)
    if c < 0:
        return NOISE_COLOR
    return CLUSTER_PALETTE[c % len(CLUSTER_PALETTE)]


def cluster_name(cluster, names: dict | None = None) -> str:
    """How a cluster is shown: ``"3: loud · bright · dense"`` when ``names`` (cluster → name, see
    :meth:`sectionist.dashboard.data.StoreData.cluster_names`) has it, else ``"cluster 3"``; ``"noise"`` for -1.
    Not escaped: Dash text is literal; figure builders escape it where Plotly draws it."""
    c = int(cluster)
    if c == -1:
        return _("noise")
    if c < -1:
        return _("not clustered")
    name = (names or {}).get(c)
    return f"{c}: {name}" if name else _("cluster %(number)s", number=c)


def _fmt(value, spec: str) -> str:
    """``format(value, spec)`` with the locale's decimal mark and thousands separator (hover and
    bar texts that Plotly shows as given; Plotly's own numbers follow ``layout.separators``)."""
    text = format(value, spec)
    decimal, group = plotly_separators()[:2]
    if (decimal, group) == (".", ","):
        return text
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


#: Axis style of every figure (what the "plotly_white" template gives, set directly: assigning a
#: named template costs ~30 ms per figure, most of a 100 000-point map redraw's budget).
AXIS = dict(gridcolor="#eef1f5", zerolinecolor="#d1d5db", linecolor="#d1d5db", automargin=True)


def base_layout(**overrides) -> dict:
    """The common layout: white paper, light grid, compact margins, the app's font.

    Figures assign it whole (``fig.layout = base_layout(...)``): ~10x faster than
    ``update_layout``, which goes through plotly's relayout machinery key by key.

    ``xaxis`` / ``yaxis`` overrides are merged into :data:`AXIS`.
    """
    for axis in ("xaxis", "yaxis"):
        overrides[axis] = {**AXIS, **(overrides.get(axis) or {})}
    layout = dict(
        template="none",
        colorway=CLUSTER_PALETTE,
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=48, r=16, t=36, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#ffffff",
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        legend=dict(bgcolor="rgba(255,255,255,0.85)", bordercolor="#e5e7eb", borderwidth=1),
        # the request's decimal mark and thousands separator in ticks and hover numbers
        separators=plotly_separators(),
    )
    layout.update(overrides)
    return layout


def empty_figure(message: str | None = None, height: int | None = None) -> go.Figure:
    """A blank figure carrying a centred message (already translated; default "Nothing to show")."""
    if message is None:
        message = _("Nothing to show")
    fig = go.Figure()
    fig.layout = (base_layout(height=height, xaxis=dict(visible=False), yaxis=dict(visible=False),
                                    annotations=[dict(text=escape_text(message), showarrow=False, x=0.5, y=0.5,
                                                      xref="paper", yref="paper",
                                                      font=dict(size=14, color="#6b7280"))]))
    return fig


#: Scales of bounded per-section values on the map's colour bar (by ``value_name``).
VALUE_RANGES = {"confidence": (0.0, 1.0), "stability": (0.0, 1.0), "silhouette": (-1.0, 1.0)}
#: How those per-section values are named on the colour bar (translated where shown).
VALUE_TITLES = {"confidence": N_("confidence"), "stability": N_("stability"), "silhouette": N_("silhouette")}


def value_title(value_name: str) -> str:
    """A colour bar's title: a per-section value's code (``"confidence"``) in the request's
    language, any other name (a feature's label, already translated) escaped as it is."""
    return _(VALUE_TITLES[value_name]) if value_name in VALUE_TITLES else escape_text(value_name)


# ---- the map ---------------------------------------------------------------------------------
def section_map(xyz: np.ndarray, rows: np.ndarray, *, labels: np.ndarray | None = None,
                values: np.ndarray | None = None, value_name: str = "", categories: np.ndarray | None = None,
                category_names=None, hover_text=None, highlight: int | None = None,
                centres: bool = False, uirevision: str = "map", marker_size: float | None = None,
                axis_titles=None,
                ring_point=None, cluster_names: dict | None = None) -> go.Figure:
    """WebGL scatter of sections.

    Parameters
    ----------
    xyz : np.ndarray [shape=(n, 2 or 3)]
        Coordinates of the points to draw (already filtered).
    rows : np.ndarray [shape=(n,)]
        Section positions of those points; sent as ``customdata`` so a click names its section.
    labels : np.ndarray [shape=(n,)], optional
        Cluster labels: one trace per cluster in the cluster palette (legend toggles clusters).
    values : np.ndarray [shape=(n,)], optional
        Continuous values (confidence, a feature): one trace with a colour bar.
    categories : np.ndarray [shape=(n,)], optional
        Integer codes of a many-valued category (songs): one trace, cyclic qualitative colours.
    category_names : sequence, optional
        Names of the category codes, shown on hover when the point count is small.
    hover_text : sequence of str, optional
        Per-point hover text (use only for small maps, see :data:`HOVER_TEXT_LIMIT`). Plotly
        markup such as ``<br>`` is kept: escape the data in it with :func:`escape_text`.
    highlight : int, optional
        Index into ``xyz`` of the selected point, drawn as a ring on top.
    centres : bool
        With ``labels`` on a 2-D map: each cluster's medoid on this map (:func:`cluster_medoids`) as
        a labelled diamond, hidden with its cluster, labels placed without overlaps.
    axis_titles : sequence of str, optional
        Titles of the map's axes (:func:`map_axis_titles`).
    ring_point : (coordinates, row), optional
        Where to draw the selection ring when the selected section is not among the points
        (filtered out).
    cluster_names : dict, optional
        cluster → name (:meth:`sectionist.dashboard.data.StoreData.cluster_names`), shown in the legend.

    Returns
    -------
    go.Figure
    """
    xyz = np.asarray(xyz, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int32)
    three_d = xyz.shape[1] == 3 if xyz.ndim == 2 and len(xyz) else False
    n = len(rows)
    size = marker_size or (3 if n > 50_000 else 4 if n > 10_000 else 6 if n > 1000 else 8)
    use_text = hover_text is not None and n <= HOVER_TEXT_LIMIT
    section_hover = _("section #%{customdata}")
    traces = []

    def scatter(idx, **kw):
        trace = dict(type="scatter3d" if three_d else "scattergl", mode="markers",
                     x=xyz[idx, 0], y=xyz[idx, 1],
                     # customdata travels as a base64 typed array (fast to build and send); a click is
                     # resolved to its section in the browser (components.selection.CLICK_TO_ROW_JS)
                     customdata=rows[idx])
        if three_d:
            trace["z"] = xyz[idx, 2]
            kw["marker"]["size"] = max(2, size * 0.6)
        if use_text:
            trace["text"] = [hover_text[i] for i in idx]
            trace["hovertemplate"] = "%{text}<extra>%{fullData.name}</extra>"
        else:
            trace["hovertemplate"] = section_hover + "<extra>%{fullData.name}</extra>"
        trace.update(kw)
        return trace

    if n == 0:
        return empty_figure(_("No section matches the filters"))
    if labels is not None:
        labels = np.asarray(labels)
        order = np.argsort(labels, kind="stable")
        sorted_labels = labels[order]
        uniq, starts = np.unique(sorted_labels, return_index=True)
        ends = np.append(starts[1:], len(order))
        for c, s, e in zip(uniq, starts, ends):
            idx = order[s:e]
            traces.append(scatter(idx, name=escape_text(cluster_name(c, cluster_names)), legendgroup=str(c),
                                  marker=dict(color=cluster_color(c), size=size,
                                              opacity=0.55 if c < 0 else 0.85, line=dict(width=0))))
    elif values is not None:
        idx = np.arange(n)
        # a bounded quantity keeps its own scale (confidence 0–1, not Plotly's 0.5–1.5 around a
        # constant); other values span their data
        lo, hi = VALUE_RANGES.get(value_name, (None, None))
        traces.append(scatter(idx, name=value_title(value_name) if value_name else _("value"), showlegend=False,
                              marker=dict(color=np.asarray(values, np.float32), colorscale=CONTINUOUS_SCALE,
                                          cmin=lo, cmax=hi,
                                          size=size, opacity=0.85, showscale=True,
                                          colorbar=dict(title=dict(text=value_title(value_name), side="right"),
                                                        thickness=12, len=0.8))))
    elif categories is not None:
        idx = np.arange(n)
        codes = np.asarray(categories, np.int32)
        palette = np.array(CLUSTER_PALETTE, dtype=object)
        marker = dict(size=size, opacity=0.85)
        if n <= HOVER_TEXT_LIMIT:
            marker["color"] = list(palette[codes % len(palette)])
        else:  # numbers and a stepped colour scale: no 100 000 colour strings
            # one byte a point (the palette has < 256 colours): 100 000 points stay under 2 MB
            marker.update(color=(codes % len(palette)).astype(np.uint8), cmin=0, cmax=len(palette) - 1,
                          colorscale=[[i / (len(palette) - 1), c] for i, c in enumerate(palette)])
        traces.append(scatter(idx, name=_("song"), showlegend=False, marker=marker))
    else:
        traces.append(scatter(np.arange(n), name=_("sections"), showlegend=False,
                              marker=dict(color=ACCENT, size=size, opacity=0.7)))

    if centres and labels is not None and not three_d:  # on a 3-D map the diamonds clutter more than they help
        traces += centre_traces(xyz, labels, cluster_names)
    # the ring around the selected section is always the last trace, so a selection change can
    # move it with a small patch instead of redrawing every point (see ring_patch)
    if highlight is not None and 0 <= highlight < n:
        ring_point = (xyz[highlight], int(rows[highlight]))
    traces.append(selection_ring(ring_point[0] if ring_point else None, three_d,
                                 ring_point[1] if ring_point else None))
    layout = base_layout(
        uirevision=uirevision, dragmode="lasso" if not three_d else "orbit", clickmode="event",
        # the legend sits under the plot, never over points
        margin=dict(l=8, r=8, t=8, b=8), legend=dict(itemsizing="constant", orientation="h", x=0, xanchor="left",
                                                    y=-0.02, yanchor="top", bgcolor="rgba(255,255,255,0)",
                                                    borderwidth=0),
        xaxis=dict(showgrid=False, zeroline=False, showticklabels=False, showline=False, ticks="",
                   title=dict(text=escape_text(axis_titles[0]) if axis_titles else "", standoff=4)),
        yaxis=dict(showgrid=False, zeroline=False, showticklabels=False, showline=False, ticks="",
                   title=dict(text=escape_text(axis_titles[1]) if axis_titles and len(axis_titles) > 1 else "",
                              standoff=4)),
    )
    if three_d:
        titles = list(axis_titles or []) + ["", "", ""]
        axes = [dict(showgrid=True, zeroline=False, showticklabels=False, title=dict(text=escape_text(t)))
                for t in titles[:3]]
        layout.update(scene=dict(xaxis=axes[0], yaxis=axes[1], zaxis=axes[2], uirevision=uirevision))
    return fast_figure(traces, layout)



# ---- the map at scale: server-side density --------------------------------------------------
#: Shades of a cluster's colour in a density cell, sparse to dense (share of the colour over white).
DENSITY_SHADES = (0.35, 0.65, 1.0)


def _blend_white(hex_color: str, share: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return "#%02x%02x%02x" % tuple(int(round(255 - share * (255 - v))) for v in (r, g, b))


def density_map(grid: dict, *, clusters=None, cluster_names: dict | None = None, value_name: str = "",
                hover: str = "", count_title: str = "", name: str = "", centres: list | None = None,
                ring_point=None, axis_titles=None, uirevision: str = "map") -> go.Figure:
    """A 2-D map drawn as a grid of cells (a heatmap trace) instead of one marker per section.

    The server bins the points (``sectionist.dashboard.pages.map.density_grid``); what travels is one small
    array per cell, whatever the number of sections. Three colourings, by what ``grid`` holds:

    - ``"majority"`` (with ``clusters``): each cell in the colour of the cluster most of its sections
      belong to (index into ``clusters``, -1 for an empty cell), in three shades of its density
      (``"level"`` 0–2); the legend keys the cluster colours (legend-only entries);
    - ``"mean"``: the mean of a per-section value in each cell (NaN empty), on the map's colour scale;
    - otherwise ``"counts"``: the number of sections per cell (log scale).

    Parameters
    ----------
    grid : dict
        ``x0``, ``y0`` (lower edges), ``dx``, ``dy`` (cell size), ``counts`` [shape=(ny, nx)] and the
        colouring arrays above.
    hover : str
        Hover text of a cell (translated by the caller), e.g. that a click opens a section there.
    count_title : str
        Colour-bar title of the ``"counts"`` colouring (translated by the caller).
    name : str
        The heatmap trace's name (translated by the caller).
    centres : list of dict, optional
        Extra traces drawn on top (the clusters' medoid diamonds, :func:`centre_traces`).
    ring_point : (coordinates, row), optional
        The selected section's ring; as in :func:`section_map` it is the last trace.

    Returns
    -------
    go.Figure
    """
    counts = np.asarray(grid["counts"])
    geometry = dict(x0=float(grid["x0"]) + float(grid["dx"]) / 2, dx=float(grid["dx"]),
                    y0=float(grid["y0"]) + float(grid["dy"]) / 2, dy=float(grid["dy"]))
    base = dict(type="heatmap", name=escape_text(name), hoverongaps=False, meta="density",
                hovertemplate=escape_text(hover) + "<extra></extra>", **geometry)
    traces = []
    if grid.get("majority") is not None and clusters is not None:
        clusters = [int(c) for c in clusters]
        levels = len(DENSITY_SHADES)
        majority = np.asarray(grid["majority"])
        code = np.where(majority >= 0, 1 + majority * levels + np.asarray(grid["level"]), 0)
        n_codes = 1 + len(clusters) * levels
        colours = ["rgba(0,0,0,0)"] + [_blend_white(cluster_color(c), s) for c in clusters for s in DENSITY_SHADES]
        scale = []
        for i, col in enumerate(colours):
            scale += [[i / n_codes, col], [(i + 1) / n_codes, col]]
        traces.append(dict(base, z=code.astype(np.uint8 if n_codes < 256 else np.uint16), zmin=-0.5,
                           zmax=n_codes - 0.5, colorscale=scale, showscale=False))
        for c in clusters:  # the legend's key of the colours (the filters choose clusters here)
            traces.append(dict(type="scatter", x=[None], y=[None], mode="markers", showlegend=True,
                               name=escape_text(cluster_name(c, cluster_names)), hoverinfo="skip",
                               marker=dict(color=cluster_color(c), size=10, symbol="square")))
    elif grid.get("mean") is not None:
        lo, hi = VALUE_RANGES.get(value_name, (None, None))
        traces.append(dict(base, z=np.asarray(grid["mean"], np.float32), zmin=lo, zmax=hi,
                           colorscale=CONTINUOUS_SCALE, showscale=True,
                           colorbar=dict(title=dict(text=value_title(value_name), side="right"), thickness=12,
                                         len=0.8)))
    else:
        with np.errstate(divide="ignore"):
            z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).astype(np.float32)
        traces.append(dict(base, z=z, colorscale="Blues", zmin=0, showscale=True,
                           colorbar=dict(title=dict(text=escape_text(count_title), side="right"), thickness=12,
                                         len=0.8, tickvals=[0, 1, 2, 3, 4, 5],
                                         ticktext=["1", "10", "100", "1k", "10k", "100k"])))
    traces += list(centres or [])
    traces.append(selection_ring(ring_point[0] if ring_point else None, False, ring_point[1] if ring_point else None))
    x1 = float(grid["x0"]) + float(grid["dx"]) * counts.shape[1]
    y1 = float(grid["y0"]) + float(grid["dy"]) * counts.shape[0]
    titles = list(axis_titles or []) + ["", ""]
    layout = base_layout(
        uirevision=uirevision, dragmode="lasso", clickmode="event",
        margin=dict(l=8, r=8, t=8, b=8),
        legend=dict(itemsizing="constant", orientation="h", x=0, xanchor="left", y=-0.02, yanchor="top",
                    bgcolor="rgba(255,255,255,0)", borderwidth=0, itemclick=False, itemdoubleclick=False),
        xaxis=dict(showgrid=False, zeroline=False, showticklabels=False, showline=False, ticks="",
                   range=[float(grid["x0"]), x1], title=dict(text=escape_text(titles[0]), standoff=4)),
        yaxis=dict(showgrid=False, zeroline=False, showticklabels=False, showline=False, ticks="",
                   range=[float(grid["y0"]), y1], title=dict(text=escape_text(titles[1]), standoff=4)),
    )
    return fast_figure(traces, layout)


# ---- the map's cluster centres, their labels, its axes -------------------------------------------
def cluster_medoids(xyz: np.ndarray, labels: np.ndarray, *, max_points: int = 400,
                    random_state: int = 0) -> list[tuple[int, np.ndarray]]:
    """Where each cluster's marker goes on a map: the medoid of its points there.

    The medoid is the cluster's point with the smallest summed distance to the cluster's other
    points on this map. It is used on every map (PCA, t-SNE, UMAP): it is always one of the
    cluster's own points, inside the region they cover, even when a nonlinear map bends or splits
    the cluster (the projected centroid vector can land between or outside its points).

    Parameters
    ----------
    xyz : np.ndarray [shape=(n, 2 or 3)]
        The drawn points (already filtered).
    labels : np.ndarray [shape=(n,)]
        Their clusters; noise (< 0) gets no marker.
    max_points : int
        Per cluster, the medoid is searched among at most this many points (a seeded sample),
        with distances to the same sample: O(max_points²) per cluster whatever the map's size.
    random_state : int

    Returns
    -------
    list of (cluster, coordinates)
        One entry per cluster present in ``labels`` (sorted by cluster).
    """
    from scipy.spatial.distance import cdist

    xyz = np.asarray(xyz, dtype=np.float64)
    labels = np.asarray(labels)
    rng = np.random.default_rng(random_state)
    out = []
    for c in np.unique(labels):
        if c < 0:
            continue
        idx = np.flatnonzero(labels == c)
        idx = idx[np.isfinite(xyz[idx]).all(axis=1)]
        if not len(idx):
            continue
        if len(idx) > max_points:
            idx = np.sort(rng.choice(idx, max_points, replace=False))
        pts = xyz[idx]
        d = cdist(pts, pts).sum(axis=1)
        out.append((int(c), pts[int(np.argmin(d))]))
    return out


#: Where a marker's label may go, tried in this order (plotly textposition, unit offset of the label box).
LABEL_POSITIONS = (("top center", (0.0, 1.0)), ("bottom center", (0.0, -1.0)),
                   ("middle right", (1.0, 0.0)), ("middle left", (-1.0, 0.0)))


def place_labels(xy: np.ndarray, texts, *, plot_px: tuple[int, int] = (800, 600), char_px: float = 7.5,
                 line_px: float = 16.0, marker_px: float = 14.0) -> list[str]:
    """A text position for each marker label such that no two labels (nor a label and another
    marker) overlap, or ``""`` for a label that finds no free place (the legend still names it).

    Labels are placed greedily in the order given (put the biggest clusters first), trying
    :data:`LABEL_POSITIONS` in turn. Sizes are estimated in pixels of a plot ``plot_px`` large.

    Parameters
    ----------
    xy : np.ndarray [shape=(k, 2)]
        Marker positions in data units.
    texts : sequence of str
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy):
        return []
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    # pixels, y up; the markers' extent is drawn at ~90 % of the plot
    px = (xy - lo) / span * (np.asarray(plot_px, float) * 0.9)
    half_m = marker_px / 2
    boxes = [(p[0] - half_m, p[1] - half_m, p[0] + half_m, p[1] + half_m) for p in px]

    def hit(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    placed, out = [], []
    for i, (p, text) in enumerate(zip(px, texts)):
        w, h = max(1, len(str(text))) * char_px, line_px
        choice = ""
        for name, (ox, oy) in LABEL_POSITIONS:
            cx = p[0] + ox * (half_m + w / 2 + 2)
            cy = p[1] + oy * (half_m + h / 2 + 1)
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            others = [b for j, b in enumerate(boxes) if j != i]
            if not any(hit(box, b) for b in others + placed):
                choice = name
                placed.append(box)
                break
        out.append(choice)
    return out


def map_axis_titles(kind: str, dims: int, explained_variance_ratio=None) -> list[str]:
    """Axis titles of a map: ``"PC1 (23.4 %)"`` with PCA's explained variance, ``"UMAP 1"``,
    ``"t-SNE 2"`` otherwise (their axes have no units or order)."""
    names = {"pca": "PC", "tsne": "t-SNE ", "umap": "UMAP "}
    prefix = names.get(str(kind), f"{kind} ")
    evr = list(explained_variance_ratio) if explained_variance_ratio is not None else []
    out = []
    for i in range(int(dims)):
        title = f"{prefix}{i + 1}"
        if str(kind) == "pca" and i < len(evr) and evr[i] is not None and np.isfinite(evr[i]):
            title = _("%(axis)s (%(share)s %%)", axis=title, share=_fmt(100 * float(evr[i]), ".1f"))
        out.append(title)
    return out


def centre_traces(xyz: np.ndarray, labels: np.ndarray, names: dict | None = None) -> list[dict]:
    """The clusters' medoid diamonds on a 2-D map: one trace per cluster in the cluster's legend
    group (hiding a cluster in the legend hides its diamond), labels placed without overlaps,
    then a legend-only key saying what a diamond is."""
    meds = cluster_medoids(xyz, labels)
    if not meds:
        return []
    sizes = {int(c): int(n) for c, n in zip(*np.unique(np.asarray(labels), return_counts=True))}
    order = sorted(range(len(meds)), key=lambda i: -sizes.get(meds[i][0], 0))
    pos = place_labels(np.array([meds[i][1][:2] for i in order]), [str(meds[i][0]) for i in order])
    where = {meds[i][0]: p for i, p in zip(order, pos)}
    traces = []
    for c, pt in meds:
        traces.append(dict(type="scatter", x=[float(pt[0])], y=[float(pt[1])],
                           mode="markers+text" if where[c] else "markers", text=[str(c)],
                           textposition=where[c] or "top center", name=_("centre %(number)s", number=c),
                           legendgroup=str(c), showlegend=False, hoverinfo="text",
                           hovertext=[_("%(cluster)s: medoid of its points on this map",
                                        cluster=escape_text(cluster_name(c, names) if names else cluster_name(c)))],
                           marker=dict(symbol="diamond", size=13, color=cluster_color(c),
                                       line=dict(color="#111827", width=1.5))))
    traces.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=_("◆ cluster centre (medoid)"),
                       legendgroup="centre-key", showlegend=True, hoverinfo="skip",
                       marker=dict(symbol="diamond", size=11, color="#ffffff", line=dict(color="#111827", width=1.5))))
    return traces


def selection_ring(point, three_d: bool, row=None) -> dict:
    """The trace marking the selected section (empty when ``point`` is None)."""
    pt = [] if point is None else [float(v) for v in point]
    if three_d:
        return dict(type="scatter3d", x=pt[:1], y=pt[1:2], z=pt[2:3], mode="markers", name=_("selected"),
                    showlegend=True, legendrank=2000, hoverinfo="skip", marker=dict(size=10, color="#111827", symbol="circle-open"))
    # in the legend too (last), so the ring has a key
    return dict(type="scattergl", x=pt[:1], y=pt[1:2], mode="markers", name=_("selected"), showlegend=True,
                legendrank=2000,
                customdata=[int(row)] if row is not None and pt else [], hoverinfo="skip",
                marker=dict(symbol="circle-open", size=18, color="#111827", line=dict(width=3)))


def move_ring(ring: int, point, three_d: bool, row=None):
    """A ``dash.Patch`` moving the selection ring (trace ``ring`` of a :func:`section_map`) to
    ``point`` (x, y[, z]) of section ``row``, or emptying it when ``point`` is None."""
    from dash import Patch

    patch = Patch()
    trace = selection_ring(point, three_d, row)
    for key in ("x", "y", "z") if three_d else ("x", "y", "customdata"):
        patch["data"][ring][key] = trace[key]
    return patch


def fast_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from trace and layout dicts without plotly's per-property validation.

    Validation copies and checks every array (tens of ms for a 100 000-point map, most of the
    redraw budget); the builders that use this are covered by tests of their output instead.
    """
    return go.Figure(data=traces, layout=layout, _validate=False)


# ---- explanations ------------------------------------------------------------------------------
#: Bars and dots of explanations: towards the cluster (blue), away from it (orange).
TOWARDS_COLOR, AWAY_COLOR = "#2563eb", "#ea580c"
#: Beeswarm dots by the feature's value: low blue, average mid grey (visible on white), high red.
VALUE_SCALE = [[0.0, "#2563eb"], [0.5, "#9ca3af"], [1.0, "#dc2626"]]


def _note_annotation(note: str | None) -> list:
    """A grey line under a plot (the surrogate's note), wrapped for the narrow detail panel."""
    if not note:
        return []
    import textwrap

    text = "<br>".join(textwrap.wrap(escape_text(note), 70))
    # below the axis ticks and title (yshift in pixels, whatever the plot's height)
    return [dict(text=text, showarrow=False, x=0, y=0, yshift=-52, xref="paper", yref="paper", xanchor="left",
                 yanchor="top", align="left", font=dict(size=11, color="#6b7280"))]


def shap_bars(shap: dict | None, *, feature_values: dict | None = None, medians: dict | None = None,
              top: int = 10, title: str = "", note: str | None = None) -> go.Figure:
    """The features that place one section in its cluster, told in plain words and signed.

    A bar's length is the feature's |SHAP| (how much it matters). It points right when the
    section's value is above the corpus median ("higher than usual"), left when below; its colour
    says whether it pushes towards the section's cluster (blue) or away from it (orange). Each
    label has two lines, the plain name with its unit and how it reads: "brighter than usual →
    towards this cluster" (also in the trace's ``text``). Without ``medians`` the bars are the
    plain SHAP values (right = towards).

    Parameters
    ----------
    shap : mapping feature column → SHAP value towards the section's cluster
    feature_values : mapping feature column → the section's value, optional (hover, with unit)
    medians : mapping feature column → the corpus median, optional (gives the direction)
    top : int
        How many features, by |SHAP|.
    title : str
    note : str, optional
        A line under the plot (e.g. :func:`sectionist.analysis.glossary.surrogate_note`).
    """
    from sectionist.analysis.glossary import contribution_text, describe

    if not shap:
        return empty_figure(_("No explanation stored for this section"), height=260)
    items = sorted(shap.items(), key=lambda kv: abs(kv[1]), reverse=True)[:top][::-1]
    x, names, texts, hover, colors = [], [], [], [], []
    signed = bool(medians)
    for col, v in items:
        v = float(v)
        term = describe(col, _)
        value = (feature_values or {}).get(col)
        med = (medians or {}).get(col)
        above = None if value is None or med is None or not np.isfinite([value, med]).all() else bool(value >= med)
        x.append(abs(v) * (1 if above in (True, None) else -1) if signed else v)
        texts.append(escape_text(contribution_text(col, v, above, _)))
        names.append(f"{escape_text(term.label)}<br>{texts[-1]}")
        colors.append(TOWARDS_COLOR if v >= 0 else AWAY_COLOR)
        lines = [f"{escape_text(term.name)} ({escape_text(term.technical)})", escape_text(term.meaning)]
        if value is not None and med is not None:
            lines.append(_("this section: %(value)s %(unit)s · corpus median %(median)s", value=_fmt(value, ".4g"),
                           unit=escape_text(term.unit), median=_fmt(med, ".4g")))
        elif value is not None:
            lines.append(_("this section: %(value)s %(unit)s", value=_fmt(value, ".4g"), unit=escape_text(term.unit)))
        lines.append(_("%(text)s (SHAP %(value)s)", text=texts[-1], value=_fmt(v, "+.3f")))
        hover.append("<br>".join(lines))
    bars = dict(type="bar", x=x, y=names, orientation="h", marker=dict(color=colors), text=texts,
                textposition="none", hovertext=hover, hoverinfo="text")
    m = max((abs(v) for v in x), default=0) or 1.0
    xaxis = dict(zeroline=True, zerolinecolor="#6b7280", zerolinewidth=1.5, range=[-1.05 * m, 1.05 * m],
                 title=dict(text=_("← lower · higher than usual →") if signed else _("← away · towards the cluster →"),
                            standoff=4), automargin=True)
    if not signed:
        xaxis["range"] = [min(0.0, min(x)) * 1.05 - 0.05 * m, max(0.0, max(x)) * 1.05 + 0.05 * m]
    annotations = _note_annotation(note)
    return fast_figure([bars], base_layout(height=max(220, 40 * len(names) + 80) + (56 if annotations else 0),
                                           title=dict(text=escape_text(title), font=dict(size=13)),
                                           showlegend=False, annotations=annotations,
                                           margin=dict(l=8, r=16, t=30 if title else 8,
                                                       b=48 + (56 if annotations else 0)),
                                           xaxis=xaxis, yaxis=dict(automargin=True, tickfont=dict(size=11))))


def shap_beeswarm(shap: np.ndarray, names, values: np.ndarray | None = None, *, top: int = 10,
                  max_points: int = 2000, random_state: int = 0, note: str | None = None) -> go.Figure:
    """Beeswarm of a cluster's SHAP values: one row per feature (top by mean |SHAP|, plain names),
    dots coloured by the feature's value (standardised within the cluster: blue low, grey average,
    red high). The x axis always shows 0 (right of it: pushes towards the cluster).

    Parameters
    ----------
    shap : np.ndarray [shape=(n, f)]
    names : list of str [length f]
        Feature columns.
    values : np.ndarray [shape=(n, f)], optional
        The features' values for the same sections.
    note : str, optional
        A line under the plot (the surrogate's note of a neural-embedding run).
    """
    from sectionist.analysis.glossary import describe

    if shap is None or shap.size == 0:
        return empty_figure(_("No explanations stored for this run"), height=320)
    rng = np.random.default_rng(random_state)
    if len(shap) > max_points:
        keep = rng.choice(len(shap), max_points, replace=False)
        shap = shap[keep]
        values = values[keep] if values is not None else None
    rank = np.argsort(-np.nanmean(np.abs(shap), axis=0))[:top][::-1]
    xs, ys, cs = [], [], []
    for row, j in enumerate(rank):
        v = shap[:, j]
        ok = ~np.isnan(v)
        jitter = rng.uniform(-0.3, 0.3, ok.sum())
        xs.append(v[ok])
        ys.append(row + jitter)
        if values is not None:
            f = values[ok, j]
            sd = np.nanstd(f)
            cs.append((f - np.nanmean(f)) / (sd if sd > 0 else 1))
        else:
            cs.append(np.zeros(ok.sum()))
    x = np.concatenate(xs)
    lo, hi = (float(np.nanmin(x)), float(np.nanmax(x))) if x.size else (0.0, 0.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.05 * ((hi - lo) or 1.0)
    marker = dict(size=5, opacity=0.8, line=dict(width=0))
    if values is not None:
        marker.update(color=np.clip(np.concatenate(cs), -2.5, 2.5), colorscale=VALUE_SCALE, cmin=-2.5, cmax=2.5,
                      showscale=True, colorbar=dict(title=dict(text=_("its value"), side="right"), thickness=10,
                                                    len=0.8, tickvals=[-2, 0, 2],
                                                    ticktext=[_("low"), _("average"), _("high")]))
    else:
        marker.update(color=TOWARDS_COLOR)
    fig = go.Figure(go.Scattergl(x=x, y=np.concatenate(ys), mode="markers", hoverinfo="x", marker=marker))
    annotations = _note_annotation(note)
    fig.layout = (base_layout(
        height=max(260, 30 * len(rank) + 80) + (48 if annotations else 0), annotations=annotations,
        margin=dict(l=8, r=16, t=8, b=44 + (56 if annotations else 0)),
        xaxis=dict(title=dict(text=_("← away from · towards this cluster → (SHAP)"), standoff=4), zeroline=True,
                   zerolinecolor="#6b7280", zerolinewidth=1.5, range=[lo - pad, hi + pad]),
        yaxis=dict(tickmode="array", tickvals=list(range(len(rank))), automargin=True,
                   ticktext=[escape_text(describe(names[j], _).label) for j in rank], showgrid=False)))
    return fig


def shap_ranking(ranking, *, top: int = 12, cluster=None) -> go.Figure:
    """Bars of a cluster's mean |SHAP| per feature (``[{feature, mean_abs_shap}]``, plain names), in
    the cluster's colour when ``cluster`` is given."""
    from sectionist.analysis.glossary import describe

    if not ranking:
        return empty_figure(_("No SHAP ranking stored"), height=260)
    items = sorted(ranking, key=lambda r: -float(r["mean_abs_shap"]))[:top][::-1]
    terms = [describe(r["feature"], _) for r in items]
    fig = go.Figure(go.Bar(x=[float(r["mean_abs_shap"]) for r in items],
                           y=[escape_text(t.label) for t in terms], orientation="h",
                           hovertext=[escape_text(t.glossary) for t in terms], hoverinfo="text+x",
                           marker_color=cluster_color(cluster) if cluster is not None else ACCENT))
    fig.layout = (base_layout(height=max(200, 24 * len(items) + 60), margin=dict(l=8, r=16, t=8, b=36),
                              xaxis=dict(title=_("how much it matters (mean |SHAP|)")), yaxis=dict(automargin=True)))
    return fig


def profile_bars(profile: dict | None, overall: dict | None = None, *, cluster=None) -> go.Figure:
    """A cluster's centroid profile in plain feature names.

    With ``overall`` (feature → (corpus mean, corpus std)) the bars are the difference to the
    corpus in standard deviations, labelled in SD ("+1.2 SD"), with the cluster's mean and the
    corpus mean in the feature's own unit on hover. Without it, the bars are the cluster's means in
    their units.
    """
    from sectionist.analysis.glossary import describe

    if not profile:
        return empty_figure(_("No profile stored"), height=280)
    names = list(profile)
    vals = [float(profile[k]) for k in names]
    terms = [describe(k, _) for k in names]
    color = cluster_color(cluster) if cluster is not None else ACCENT
    if overall:
        z, hover, text = [], [], []
        for k, v, t in zip(names, vals, terms):
            mean, sd = overall.get(k, (np.nan, np.nan))
            zk = (v - mean) / sd if np.isfinite(sd) and sd > 0 else 0.0
            z.append(zk)
            text.append(_("%(value)s SD", value=_fmt(zk, "+.1f")))
            word = t.higher if zk > 0 else t.lower
            hover.append("<br>".join([
                _("%(feature)s: %(change)s than the corpus by %(sd)s SD", feature=escape_text(t.name),
                  change=escape_text(word), sd=_fmt(abs(zk), ".2f")),
                _("this cluster: %(value)s %(unit)s · corpus: %(mean)s ± %(sd)s", value=_fmt(v, ".4g"),
                  unit=escape_text(t.unit), mean=_fmt(mean, ".4g"), sd=_fmt(sd, ".3g")),
                escape_text(t.definition)]))
        m = max((abs(v) for v in z), default=0) or 1.0
        x, xaxis = z, dict(title=_("difference to the corpus (SD)"), range=[-1.45 * m, 1.45 * m])
    else:
        x, text = vals, [_fmt(v, ".3g") for v in vals]
        hover = [f"{escape_text(t.name)}: {_fmt(v, '.4g')} {escape_text(t.unit)}<br>{escape_text(t.meaning)}"
                 for v, t in zip(vals, terms)]
        xaxis = dict(title=_("mean value (each feature in its own unit)"))
    fig = go.Figure(go.Bar(
        x=x, y=[escape_text(t.label if not overall else t.name) for t in terms], orientation="h", marker_color=color,
        text=text, textposition="outside", cliponaxis=False, textfont=dict(size=10, color="#6b7280"),
        hovertext=hover, hoverinfo="text"))
    fig.layout = (base_layout(
        height=max(260, 20 * len(names) + 60), margin=dict(l=8, r=48, t=8, b=36),
        xaxis=dict(zeroline=True, zerolinecolor="#6b7280", **xaxis),
        yaxis=dict(autorange="reversed", automargin=True)))
    return fig


def cluster_sizes(clusters, sizes, n_songs=None, cluster_names: dict | None = None) -> go.Figure:
    """Bar chart of cluster sizes in the cluster palette (click a bar to open the cluster); hover
    names each cluster (``cluster_names``: cluster → name)."""
    clusters = [int(c) for c in clusters]
    hover = [_("%(cluster)s: %(sections)s sections from %(songs)s songs", cluster=escape_text(cluster_name(c, cluster_names)),
               sections=_fmt(int(s), ",d"), songs=_fmt(int(n), ",d")) if n is not None else
             _("%(cluster)s: %(sections)s sections", cluster=escape_text(cluster_name(c, cluster_names)),
               sections=_fmt(int(s), ",d"))
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


# ---- overview ------------------------------------------------------------------------------------
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


# ---- compare -------------------------------------------------------------------------------------
def contingency_heatmap(counts: np.ndarray, rows, cols, *, name_a: str = "A", name_b: str = "B",
                        mapping: dict | None = None, names_a: dict | None = None,
                        names_b: dict | None = None) -> go.Figure:
    """Contingency table of two runs as a heatmap; B's columns ordered by their aligned A label.

    ``mapping``: B label → aligned label (:func:`sectionist.analysis.modeling.compare.compare_labelings`); a B cluster
    aligned to no A cluster (its new label is not among ``rows``) is marked "unmatched", last.
    ``names_a`` / ``names_b`` (cluster → name of each run, :func:`cluster_name`) name the ticks
    after their number: ``"A3: loud · bright"``, ``"B1: fast · dark ↔ A3"``.
    """
    counts = np.asarray(counts)
    if counts.size == 0:
        return empty_figure(_("No section is clustered by both runs"))
    cols = list(cols)
    order = list(range(len(cols)))
    if mapping:
        order.sort(key=lambda j: (mapping.get(int(cols[j]), 10**9), cols[j]))
    counts = counts[:, order]
    cols = [cols[j] for j in order]
    xlab = [_aligned_text(c, mapping, rows, names_b) for c in cols]
    name_a, name_b = escape_text(name_a), escape_text(name_b)
    # the run names travel in ``meta``, not inside the template: a name is never read as %{…}
    fig = go.Figure(go.Heatmap(z=counts, x=xlab, y=[_run_cluster("A", r, names_a) for r in rows], colorscale="Blues",
                               text=counts, texttemplate="%{text}", meta=[name_a, name_b],
                               hovertemplate=_("%{y} · %{x}: %{z} sections") + "<extra></extra>",
                               colorbar=dict(thickness=10)))
    fig.layout = (base_layout(height=max(300, 34 * len(rows) + 100), margin=dict(l=60, r=16, t=8, b=60),
                              xaxis=dict(title=_("clusters of %(b)s (↔ matched in %(a)s)", a=name_a, b=name_b),
                                         type="category", side="bottom", tickangle=0,
                                         # short ticks on two lines ("B1", "↔ A3"): the names are in the hover
                                         # text (long names turned the ticks on end, over the axis title)
                                         tickvals=xlab, ticktext=[_aligned_text(c, mapping, rows).replace(" ", "<br>", 1)
                                                                  for c in cols]),
                              # the margin grows with the named ticks, so the axis title stays clear of them
                              yaxis=dict(title=dict(text=name_a, standoff=6), type="category", autorange="reversed",
                                         automargin=True)))
    return fig


def _run_cluster(run: str, c, names: dict | None = None) -> str:
    """``"A3"``: cluster 3 of run A (``"A noise"`` for -1); ``"A3: loud · bright"`` when ``names``
    has its name (escaped: an axis tick)."""
    c = int(c)
    if c == -1:
        return _("%(run)s noise", run=run)
    name = (names or {}).get(c)
    return f"{run}{c}: {escape_text(name)}" if name else f"{run}{c}"


def _aligned_text(c, mapping: dict | None, rows, names: dict | None = None) -> str:
    """Axis text of B label ``c``: ``"B1 ↔ A3"`` for the A cluster it is matched to, ``"B5 (no
    match)"`` without one, ``"B1"`` without a mapping (with B's name after its number when
    ``names`` has it)."""
    b = _run_cluster("B", c, names)
    if not mapping or int(c) not in mapping:
        return b
    m = mapping[int(c)]
    return f"{b} ↔ {_run_cluster('A', m)}" if m in set(rows) else _("%(cluster)s (no match)", cluster=b)


def sankey(counts: np.ndarray, rows, cols, *, name_a: str = "A", name_b: str = "B",
           min_count: int = 1, mapping: dict | None = None, names_a: dict | None = None,
           names_b: dict | None = None) -> go.Figure:
    """Sankey of how sections move from run A's clusters (left) to run B's (right).

    With ``mapping`` (B label → aligned A label), B's nodes take the colour of the A cluster they
    align to, so a colour means the same group on both sides. ``names_a`` / ``names_b`` (cluster →
    name of each run) name the nodes.
    """
    counts = np.asarray(counts)
    if counts.size == 0:
        return empty_figure(_("No section is clustered by both runs"))
    rows, cols = list(rows), list(cols)
    mapping = mapping or {}
    matched = {c: mapping[int(c)] for c in cols if int(c) in mapping and mapping[int(c)] in set(rows)}
    name_a, name_b = escape_text(name_a), escape_text(name_b)
    labels = [f"{name_a}: {escape_text(cluster_name(r, names_a))}" for r in rows]
    for c in cols:
        node = f"{name_b}: {escape_text(cluster_name(c, names_b))}"
        if c in matched:
            node = _("%(node)s (≈ %(run)s %(number)s)", node=node, run=name_a, number=matched[c])
        elif int(c) in mapping:
            node = _("%(node)s (unmatched)", node=node)
        labels.append(node)
    colors = [cluster_color(r) for r in rows] + [cluster_color(mapping.get(int(c), c)) for c in cols]
    src, dst, val, lcol = [], [], [], []
    for i in range(len(rows)):
        for j in range(len(cols)):
            if counts[i, j] >= min_count:
                src.append(i)
                dst.append(len(rows) + j)
                val.append(int(counts[i, j]))
                lcol.append(_rgba(cluster_color(rows[i]), 0.35))
    fig = go.Figure(go.Sankey(arrangement="snap", node=dict(label=labels, color=colors, pad=12, thickness=14,
                                                             line=dict(width=0)),
                              link=dict(source=src, target=dst, value=val, color=lcol)))
    fig.layout = (base_layout(height=max(320, 26 * max(len(rows), len(cols)) + 80),
                                    margin=dict(l=8, r=8, t=8, b=8)))
    return fig


# ---- songs ---------------------------------------------------------------------------------------
def _wrap_lane(name: str, width: int = 26) -> str:
    """An (already escaped) lane name broken at " · " into lines of about ``width`` characters, so that
    long run names do not squeeze the plot on a phone."""
    lines, line = [], ""
    for part in name.split(" · "):
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} · {part}" if line else part
    return "<br>".join(lines + [line])


def song_timeline(lanes, *, duration: float, selected: tuple | None = None, selected_lane: int | None = None,
                  waveform=None, title: str = "", song_id: str | None = None, legend_names: dict | None = None,
                  legend_title: str = "") -> go.Figure:
    """Timeline of one song: one lane per run, sections as blocks coloured by cluster.

    Parameters
    ----------
    lanes : list of (lane_name, starts, ends, labels, positions[, cluster_names[, colour_labels]])
        Per lane, arrays of equal length; ``positions`` are section positions (click → select);
        the optional dict names the lane's clusters (cluster → name) in its hover text. The optional
        ``colour_labels`` (same length) colour the blocks instead of ``labels``: the lane's labels
        aligned to a reference lane, so that one colour means matched clusters across lanes.
    duration : float
        Song length in seconds.
    selected : (start_s, end_s), optional
        The selected section, outlined on every lane.
    selected_lane : int, optional
        Outline ``selected`` on this lane only (an index into ``lanes``: several songs, one per lane).
    waveform : (times, lo, hi), optional
        Min/max envelope drawn as a top lane.
    song_id : str, optional
        Stored in ``layout.meta``: ``assets/player.js`` draws the playhead of a playing section of
        this song on the timeline.
    legend_names : dict, optional
        Colour label → name shown in the legend (the reference lane's cluster names).
    legend_title : str, optional
        Above the legend, e.g. "colours matched to <reference run>".
    """
    traces = []
    names = []
    y0 = 0
    if waveform is not None:
        t, lo, hi = waveform
        traces.append(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([hi, lo[::-1]]) * 0.42,
                                 fill="toself", mode="lines", line=dict(width=0.5, color="#64748b"),
                                 fillcolor="rgba(100,116,139,0.45)", hoverinfo="skip", showlegend=False,
                                 name=_("waveform")))
        names.append(_("waveform"))
        y0 = 1
    seen = set()
    span_hover = _("from %{base:.1f} s, %{x:.1f} s long")
    for li, (lane, starts, ends, labels, positions, *extra) in enumerate(lanes):
        lane_names = extra[0] if extra else None
        colours = extra[1] if len(extra) > 1 and extra[1] is not None else labels
        y = y0 + li
        lane = escape_text(lane)
        names.append(lane)
        starts, ends, labels, colours = np.asarray(starts), np.asarray(ends), np.asarray(labels), np.asarray(colours)
        order = np.argsort(labels, kind="stable")
        for c in np.unique(labels):
            idx = order[labels[order] == c]
            colour = int(colours[idx[0]]) if len(idx) else int(c)
            legend = cluster_name(colour, legend_names) if legend_names is not None else cluster_name(colour)
            # one bar trace per cluster and lane: bars from start to end at the lane's y
            traces.append(go.Bar(
                base=starts[idx], x=(ends - starts)[idx], y=[y] * len(idx), orientation="h",
                marker=dict(color=cluster_color(colour), line=dict(color="#ffffff", width=1)), width=0.8,
                name=escape_text(legend), legendgroup=str(colour), showlegend=colour not in seen,
                customdata=np.asarray(positions)[idx],
                # the lane's name travels in ``meta``, not inside the template: never read as %{…}
                meta=[lane],
                hovertemplate=f"%{{meta[0]}}<br>{escape_text(cluster_name(c, lane_names))}<br>{span_hover}"
                "<extra></extra>"))
            seen.add(colour)
    shapes = []
    if selected is not None:
        lo, hi = (-0.5, len(names) - 0.5) if selected_lane is None else \
            (y0 + selected_lane - 0.45, y0 + selected_lane + 0.45)
        shapes.append(dict(type="rect", x0=selected[0], x1=selected[1], y0=lo, y1=hi,
                           xref="x", yref="y", line=dict(color="#111827", width=2), fillcolor="rgba(0,0,0,0)"))
    fig = go.Figure(traces)
    # every lane gets the height its wrapped name needs (the page sizes the graph to ``layout.height``);
    # the legend is a list at the bottom of the figure, under the time axis and its title, in a bottom
    # margin sized for it (its title wrapped above one entry a line): the same on a phone as on a
    # laptop, and never over the axis
    legend_text = _wrap_lane(escape_text(legend_title), 40) if legend_title else ""
    legend_h = (18 * (legend_text.count("<br>") + 1) if legend_text else 0) + 22 * len(seen) + 10
    lanes_h = sum(max(46, 16 * (_wrap_lane(n).count("<br>") + 1) + 8) for n in names)
    top, bottom = (36 if title else 8), 52
    # Plotly reserves the legend's own height below the bottom margin (the time axis and its title)
    height = max(180, lanes_h + top + bottom + legend_h)
    fig.layout = (base_layout(
        barmode="overlay", height=height,
        shapes=shapes,
        meta={"song_id": song_id} if song_id else None,
        title=dict(text=escape_text(title), font_size=13) if title else None,
        margin=dict(l=150, r=16, t=top, b=bottom), clickmode="event",
        xaxis=dict(title=_("time (s)"), range=[0, max(duration, 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[_wrap_lane(n) for n in names],
                   autorange="reversed", automargin=True, showgrid=False, zeroline=False,
                   range=[len(names) - 0.5, -0.5]),
        legend=dict(orientation="h", xref="container", x=0, xanchor="left", yref="container", y=0, yanchor="bottom",
                    bgcolor="rgba(0,0,0,0)", borderwidth=0,
                    title=dict(text=legend_text, side="top") if legend_text else None)))
    return fig


def cluster_tracks(rows, *, duration: float, selected: tuple | None = None, title: str = "",
                   song_id: str | None = None, songs=None, cluster_names: dict | None = None) -> go.Figure:
    """"Tracks" view: one row per cluster (ordered by the caller), blocks where that cluster plays.

    ``rows`` is a list of (cluster, starts, ends, positions). ``songs``: with several songs laid end
    to end on one time axis, their (title, offset_s, length_s), marked by a line where each song
    starts and its title above. ``cluster_names`` (cluster → name) names the rows.
    """
    lanes = [(cluster_name(c, cluster_names), s, e, np.full(len(s), c), p, cluster_names) for c, s, e, p in rows]
    fig = song_timeline(lanes, duration=duration, selected=selected, title=title, song_id=song_id)
    if songs:
        for i, (name, offset, length) in enumerate(songs):
            if i:
                fig.add_shape(type="line", x0=offset, x1=offset, y0=0, y1=1, xref="x", yref="paper",
                              line=dict(color="#111827", width=1, dash="dot"))
            fig.add_annotation(x=offset + length / 2, y=1, xref="x", yref="paper", yanchor="bottom",
                               text=escape_text(name), showarrow=False, font=dict(size=11, color="#374151"))
        fig.update_layout(margin=dict(t=56), xaxis_title=_("time (s), the songs end to end"))
    return fig


SOUND_TRACK_ROW_PX = 30
NMF_COLOR = "#64748b"


def sound_tracks(panels, *, title: str = "") -> go.Figure:
    """The producers' "sound tracks": one panel per song, one row per distinct sound (in the order the
    caller gives: similar sounds adjacent), blocks where it plays; every block carries
    ``[song_id, start_s, end_s, track name]`` as customdata, so a click can play that span.

    Parameters
    ----------
    panels : list of dict
        Per song: ``song_id``, ``title``, ``duration`` (s) and ``tracks``, a list of
        (kind, label, starts, ends) with ``kind`` "sound" or "nmf" (NMF components are drawn grey,
        after the sounds) and ``label`` the row's name ("sound 3 · 41 blocks · mostly low/dark").
    title : str
        Shown above the figure.

    Returns
    -------
    go.Figure
        Rows on one numeric y axis (a title row per song, then its tracks), time on x (each song from 0).
    """
    import textwrap

    traces, tickvals, ticktext, shapes = [], [], [], []
    span_hover = _("%{base:.2f}–%{customdata[2]:.2f} s · click to listen")
    y = 0
    duration = 0.0
    for pi, panel in enumerate(panels):
        sid = str(panel["song_id"])
        duration = max(duration, float(panel.get("duration") or 0.0))
        if pi:
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y - 0.5, y1=y - 0.5,
                               line=dict(color="#9ca3af", width=1)))
        n_sounds = sum(1 for t in panel["tracks"] if t[0] == "sound")
        # the song's heading is the label of its own row (bold, long titles wrapped), so the label
        # column makes room for it and a narrow plot (a phone) does not cut it
        lines = [escape_text(line) for line in textwrap.wrap(str(panel["title"]), 28)] or [""]
        tickvals.append(y)
        count = ngettext("%(num)d sound", "%(num)d sounds", n_sounds)
        ticktext.append("<br>".join(f"<b>{line}</b>" for line in lines) + f" · {count}")
        y += 1
        for ti, (kind, label, starts, ends) in enumerate(panel["tracks"]):
            starts = np.asarray(starts, dtype=float)
            ends = np.asarray(ends, dtype=float)
            color = NMF_COLOR if kind == "nmf" else cluster_color(ti)
            name = escape_text(label)
            tickvals.append(y)
            # two short lines ("sound 3 · 41 blocks" / "mostly low/dark") keep the label column narrow
            head, _sep, tail = name.rpartition(" · ")
            track = str(label).rpartition(" · ")[0] or str(label)  # the player names it: "sound 3 · 41 blocks"
            ticktext.append(f"{head}<br>{tail}" if head else name)
            traces.append(go.Bar(
                base=starts.tolist(), x=(ends - starts).tolist(), y=[y] * len(starts), orientation="h",
                marker=dict(color=color, line=dict(color="#ffffff", width=0.5)), width=0.8, showlegend=False,
                # mixed types keep customdata a plain JSON list (a click reads it as it is)
                customdata=[[sid, float(a), float(b), track] for a, b in zip(starts, ends)],
                name=name, meta=[name, escape_text(panel["title"])],
                hovertemplate="%{meta[1]}<br>%{meta[0]}<br>" + span_hover + "<extra></extra>"))
            y += 1
    if not traces:
        return empty_figure(_("No sound tracks for these songs: run 'sectionist tracks --store …'"))
    fig = go.Figure(traces)
    fig.layout = base_layout(
        barmode="overlay", height=max(200, SOUND_TRACK_ROW_PX * y + 90), shapes=shapes,
        meta={"song_id": str(panels[0]["song_id"])} if len(panels) == 1 else None,
        title=dict(text=escape_text(title), font_size=13) if title else None,
        margin=dict(l=10, r=16, t=36 if title else 8, b=40), clickmode="event", bargap=0.1,
        xaxis=dict(title=_("time in the song (s)"), range=[0, max(duration, 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=tickvals, ticktext=ticktext, autorange=False, range=[y - 0.5, -0.5],
                   showgrid=False, zeroline=False, automargin=True, tickfont=dict(size=11)))
    return fig


# ---- judgements ------------------------------------------------------------------------------------
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


def order_by_similarity(centroids: np.ndarray) -> np.ndarray:
    """Order of clusters so that similar centroids sit next to each other (hierarchical leaf order).

    Parameters
    ----------
    centroids : np.ndarray [shape=(k, d)]
    """
    centroids = np.asarray(centroids, dtype=float)
    if len(centroids) <= 2:
        return np.arange(len(centroids))
    from scipy.cluster.hierarchy import leaves_list, linkage

    return np.asarray(leaves_list(linkage(centroids, method="average")))


def _pretty_feature(name: str) -> str:
    """A feature's column as its plain, escaped label (:func:`sectionist.analysis.glossary.feature_label`)."""
    from sectionist.analysis.glossary import feature_label

    return escape_text(feature_label(name, _))


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


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
    hz_text = [f"{_fmt(f, ',.0f')} Hz" for f in hz]
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
        sub = (_("%(cluster)s · mean of %(n)s sections", cluster=who, n=_fmt(int(n_sections), ",d")) if who
               else _("mean of %(n)s sections", n=_fmt(int(n_sections), ",d")))
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


# ---- segmentation lab ---------------------------------------------------------------------------
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
        yaxis=dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[_wrap_lane(n, 18) for n in names],
                   range=[len(names) - 0.5, -0.5], showgrid=False, zeroline=False, automargin=True,
                   fixedrange=True))
    return fast_figure(traces, layout)
