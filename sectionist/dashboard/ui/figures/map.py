"""The Map page's figures: the WebGL scatter of sections, its density-cell form, the clusters'
medoid diamonds with their labels, the axis titles and the selection ring."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text, fast_figure, fmt
from sectionist.dashboard.ui.figures.palette import ACCENT, CONTINUOUS_SCALE, cluster_color, cluster_name, song_colors
from sectionist.dashboard.ui.i18n import N_, _


#: Above this many points, hover shows the cluster and the coordinates only (no per-point text).
HOVER_TEXT_LIMIT = 20_000
#: Coloured by song, a map showing at most this many songs draws one trace per song (named by its
#: title: hover names the song); more songs share one trace with a colour per point.
CATEGORY_TRACES_LIMIT = 60


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
                category_names=None, category_colors=None, hover_text=None, highlight: int | None = None,
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
        Integer codes of a many-valued category (songs): one trace per code when there are at most
        :data:`CATEGORY_TRACES_LIMIT` of them (named from ``category_names``), else one trace.
    category_names : sequence, optional
        Names of the category codes (indexed by code): the traces' names, shown on hover.
    category_colors : sequence of str, optional
        Colour of each code (indexed by code; default
        :func:`sectionist.dashboard.ui.figures.palette.song_colors` of the codes seen): the legend
        beside the map (:mod:`sectionist.dashboard.ui.components.song_legend`) uses the same.
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
        cluster → name (:func:`sectionist.dashboard.ui.naming.default_cluster_names`), shown in the legend.

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
        traces += category_traces(scatter, np.asarray(categories, np.int32), category_names, category_colors, size)
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


def category_traces(scatter, codes: np.ndarray, names=None, colors=None, size: float = 6) -> list[dict]:
    """The points of a map coloured by a category (songs): one trace per code, in code order, when
    there are at most :data:`CATEGORY_TRACES_LIMIT` codes; else one trace whose points carry their
    code's colour (as one byte each and a stepped colour scale past :data:`HOVER_TEXT_LIMIT`)."""
    if colors is None:
        colors = song_colors(int(codes.max()) + 1 if len(codes) else 0)
    palette = np.array(list(colors), dtype=object)
    uniq = np.unique(codes)
    if len(uniq) <= CATEGORY_TRACES_LIMIT:
        out = []
        for c in uniq:
            name = escape_text(str(names[c])) if names is not None and 0 <= c < len(names) else str(c)
            out.append(scatter(np.flatnonzero(codes == c), name=name, legendgroup=f"song-{c}", showlegend=False,
                               marker=dict(color=palette[c % len(palette)], size=size, opacity=0.85,
                                           line=dict(width=0))))
        return out
    marker = dict(size=size, opacity=0.85)
    if len(codes) <= HOVER_TEXT_LIMIT:
        marker["color"] = list(palette[codes % len(palette)])
    else:  # numbers and a stepped colour scale: no 100 000 colour strings
        # one byte a point: the distinct colours shown (song_colors has 36 at most) index a colour scale
        steps, index = np.unique(palette[codes % len(palette)].astype(str), return_inverse=True)
        index = index.ravel() % 256
        steps = list(steps[:256]) if len(steps) > 1 else [steps[0], steps[0]]
        marker.update(color=index.astype(np.uint8), cmin=0, cmax=len(steps) - 1,
                      colorscale=[[i / (len(steps) - 1), c] for i, c in enumerate(steps)])
    return [scatter(np.arange(len(codes)), name=_("song"), showlegend=False, marker=marker)]


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

    The server bins the points (``sectionist.dashboard.data.density.density_grid``); what travels is one small
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
            title = _("%(axis)s (%(share)s %%)", axis=title, share=fmt(100 * float(evr[i]), ".1f"))
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
