"""Map: every space on one page — a WebGL scatter of sections, filters, a detail panel, slots A/B."""

from __future__ import annotations

import json

import dash
import numpy as np
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from sectionist.analysis.glossary import describe, feature_label
from sectionist.dashboard.media import downloads
from sectionist.dashboard.ui import figures, ids
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, plotly_separators
from sectionist.dashboard.ui.components.common import GRAPH_CONFIG, graph_config, card, cluster_chip, cluster_names, control, default_run, dropdown, empty_state, fmt_time, page_header, register_song_search, run_options, song_options
from sectionist.dashboard.ui.components.detail import PLACED_NOTE, section_detail, section_summary
from sectionist.dashboard.ui.components.judging import register_judging
from sectionist.dashboard.ui.components.player import section_player, spectrogram_url
from sectionist.dashboard.ui.components.selection import click_store, register_box_selection, register_selection
from sectionist.dashboard.data.store_data import get_data
from sectionist.store.schema import PROJECTION_INFO

PAGE = "map"
dash.register_page(__name__, path="/map", name=N_("Map"), title=page_title(N_("Map")),
                   order=1)

KIND_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
BASE_COLORS = [("cluster", N_("Cluster")), ("song", N_("Song")), ("confidence", N_("Confidence")),
               ("silhouette", N_("Silhouette")), ("stability", N_("Stability"))]


# ---- pure helpers (tested and benchmarked directly) ---------------------------------------------
def projection_options(data, space) -> list[dict]:
    cat = data.projection_catalog
    cat = cat[cat["space"] == space]
    return [{"label": _("%(kind)s · %(dims)s-D", kind=KIND_NAMES.get(k, k), dims=d), "value": f"{k}{d}"}
            for k, d in zip(cat["kind"], cat["dims"])]


def split_projection(value: str) -> tuple[str, int]:
    kind = str(value).rstrip("0123456789")
    return kind, int(str(value)[len(kind):] or 2)


def color_options(data) -> list[dict]:
    opts = [{"label": _(label), "value": v} for v, label in BASE_COLORS]
    # plain names with units (sectionist.analysis.glossary), the same words the explanations use
    opts += [{"label": _("feature: %(name)s", name=feature_label(f, _)), "value": f"feature:{f}",
              "title": describe(f, _).glossary}
             for f in data.feature_names if f != "song_id"]
    return opts


def filter_mask(data, present: np.ndarray, run_id=None, songs=None, clusters=None, central=False,
                confidence=None) -> np.ndarray:
    """Boolean mask over sections for the map's filters."""
    mask = present.copy()
    arr = data.run_arrays(run_id) if run_id else None
    if songs:
        codes = data.songs.index.get_indexer(list(songs))
        mask &= np.isin(data.song_code, codes[codes >= 0])
    if clusters and arr is not None:
        mask &= np.isin(arr.label, np.asarray([int(c) for c in clusters], np.int32))
    if central:
        mask &= data.is_central
    if confidence is not None and arr is not None and (confidence[0] > 0 or confidence[1] < 1):
        conf = arr.confidence
        with np.errstate(invalid="ignore"):
            mask &= (conf >= confidence[0]) & (conf <= confidence[1])
    return mask


# ---- the map at scale: density cells past a point count, points again when zoomed in --------------
#: Past this many points after the filters, a 2-D map is binned on the server into density cells
#: (:func:`render_density`) and a 3-D map shows a stratified sample (of this many points, at most
#: :data:`MAX_3D_POINTS`); zooming
#: a 2-D map into a window that holds at most this many draws them again one by one. A parameter
#: of :func:`render_map` (``density_threshold``); this module value is the app's default: 100 000
#: points (x, y and the section of each travel as binary arrays, ~16 bytes a point in JSON) keep
#: a response under 2 MB.
DENSITY_THRESHOLD = 100_000
#: Mode-bar buttons the map leaves out: those of every graph but Autoscale, which zooms a density
#: map out to all of it again (a double click selects in lasso mode; "Reset axes" returns to the
#: window a zoom was drawn for).
MAP_MODEBAR_REMOVE = [b for b in GRAPH_CONFIG["modeBarButtonsToRemove"] if b != "autoScale2d"]
#: Cells per axis of the density grid.
DENSITY_GRID = 400
#: Points a 3-D map draws at most (a stratified sample past it): x, y, z and the section of each
#: travel as binary arrays, 16 bytes a point (base64: ~21), so 60 000 points stay under 2 MB of JSON.
MAX_3D_POINTS = 60_000


def points_limit(threshold: int, color) -> int:
    """The most points a 2-D map draws one by one for ``threshold`` and colouring ``color``: a map
    coloured by a value (confidence, silhouette, stability, a feature) sends a float32 more per
    point (16 bytes instead of 12), so it keeps to ¾ of the threshold to stay under the same size."""
    valued = color in ("confidence", "silhouette", "stability") or (isinstance(color, str)
                                                                    and color.startswith("feature:"))
    return int(threshold) * 3 // 4 if valued else int(threshold)


def window_mask(xyz: np.ndarray, view) -> np.ndarray:
    """Sections whose (x, y) lie inside ``view`` = ``[x0, x1, y0, y1]`` (NaN coordinates are outside)."""
    x0, x1, y0, y1 = (float(v) for v in view)
    x, y = xyz[:, 0], xyz[:, 1]
    with np.errstate(invalid="ignore"):
        return (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))


def density_grid(xy: np.ndarray, *, bins: int = DENSITY_GRID, extent=None, labels: np.ndarray | None = None,
                 values: np.ndarray | None = None) -> dict:
    """Bin 2-D points into ``bins`` × ``bins`` cells over ``extent`` (``[x0, x1, y0, y1]``; the points'
    bounds when None): one ``np.bincount`` over the cell index of every point.

    Returns a dict with the grid's lower edges ``x0``, ``y0``, cell sizes ``dx``, ``dy``,
    ``counts`` [shape=(bins, bins)], rows = y; with ``labels`` also ``clusters`` (the distinct labels),
    ``majority`` (index into ``clusters`` of each cell's most frequent label, -1 where empty) and
    ``level`` (0, 1, 2: the cell's density tercile among non-empty cells, on a log scale); with
    ``values`` ``mean`` (their mean per cell, NaN where empty or all NaN).
    """
    xy = np.asarray(xy)
    x, y = xy[:, 0], xy[:, 1]
    given = extent is not None
    if not given:
        ok = np.isfinite(x) & np.isfinite(y)
        extent = [x[ok].min(), x[ok].max(), y[ok].min(), y[ok].max()] if ok.any() else [0.0, 1.0, 0.0, 1.0]
    x0, x1, y0, y1 = (float(v) for v in extent)
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    dx = (x1 - x0) / bins if x1 > x0 else 1.0 / bins
    dy = (y1 - y0) / bins if y1 > y0 else 1.0 / bins
    inside = None
    if given or not ok.all():  # the points' own bounds hold every finite point: no mask to build
        with np.errstate(invalid="ignore"):
            inside = (x >= x0) & (x <= max(x1, x0 + dx * bins)) & (y >= y0) & (y <= max(y1, y0 + dy * bins))
        x, y = x[inside], y[inside]
    # cell indices in 32-bit (a million points: a few ms)
    ix = ((x - np.float32(x0)) * np.float32(1 / dx)).astype(np.int32)
    iy = ((y - np.float32(y0)) * np.float32(1 / dy)).astype(np.int32)
    np.clip(ix, 0, bins - 1, out=ix)
    np.clip(iy, 0, bins - 1, out=iy)
    cell = iy * np.int32(bins) + ix
    n_cells = bins * bins
    counts = np.bincount(cell, minlength=n_cells)
    out = {"x0": x0, "y0": y0, "dx": dx, "dy": dy, "counts": counts.reshape(bins, bins)}
    if labels is not None:
        lab = np.asarray(labels)
        clusters, code, _sizes = small_int_codes(lab if inside is None else lab[inside])
        k = max(len(clusters), 1)
        per = np.bincount(cell.astype(np.int64) * k + code, minlength=n_cells * k).reshape(n_cells, k)
        majority = np.where(counts > 0, per.argmax(axis=1), -1)
        level = np.zeros(n_cells, np.int64)
        full = counts > 0
        if full.any():
            logc = np.log(counts[full])
            cuts = np.quantile(logc, [1 / 3, 2 / 3])
            level[full] = np.digitize(logc, cuts, right=True) if cuts[1] > cuts[0] else 2
        out.update(clusters=[int(c) for c in clusters], majority=majority.reshape(bins, bins),
                   level=level.reshape(bins, bins))
    elif values is not None:
        v = np.asarray(values, np.float64)
        v = v if inside is None else v[inside]
        ok = np.isfinite(v)
        sums = np.bincount(cell[ok], weights=v[ok], minlength=n_cells)
        n = np.bincount(cell[ok], minlength=n_cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean"] = np.where(n > 0, sums / np.maximum(n, 1), np.nan).reshape(bins, bins)
    return out


def small_int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True, return_counts=True)`` in O(n) for integer values of
    a small range (cluster labels, song codes): one ``np.bincount`` instead of a sort."""
    values = np.asarray(values)
    if not len(values):
        return np.empty(0, values.dtype), np.empty(0, np.int64), np.empty(0, np.int64)
    if values.dtype.kind not in "iub" or int(values.max()) - int(values.min()) > 10_000_000:
        uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        return uniq, inverse.ravel(), counts
    lo = int(values.min())
    shifted = values.astype(np.int64) - lo
    counts = np.bincount(shifted)
    uniq = np.flatnonzero(counts)
    lookup = np.zeros(len(counts), np.int64)
    lookup[uniq] = np.arange(len(uniq))
    return (uniq + lo).astype(values.dtype), lookup[shifted], counts[uniq]


def stratified_sample(rows: np.ndarray, strata: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` of ``rows`` (sorted), drawn at random within each stratum in proportion to its size
    (a stratum keeps at least one row), seeded: the same sample on every redraw."""
    rows = np.asarray(rows)
    if len(rows) <= n:
        return rows
    rng = np.random.default_rng(seed)
    _uniq, inverse, sizes = small_int_codes(np.asarray(strata))
    quota = np.maximum(1, np.floor(sizes * (n / len(rows))).astype(np.int64))
    # rows in a random order, grouped by stratum (a stable sort keeps the random order inside
    # each); the first ``quota`` of each stratum are kept
    perm = rng.permutation(len(rows))
    # (16-bit keys: numpy's stable sort is a radix sort for them, ~10x faster on a million rows)
    keys = inverse[perm].astype(np.int16 if len(sizes) < 2**15 else np.int32)
    order = perm[np.argsort(keys, kind="stable")]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(len(rows), np.int64)
    rank[order] = np.arange(len(rows)) - np.repeat(starts, sizes)
    return np.sort(rows[rank < quota[inverse]])


def _density_filters(run_id, color, songs, clusters, central, confidence) -> dict:
    return {"run": run_id, "color": color, "songs": list(songs or []) or None,
            "clusters": list(clusters or []) or None, "central": bool(central),
            "confidence": list(confidence) if confidence is not None else None}


def _density_revision(space, projection, filters) -> str:
    # a new filter resets the zoom of a density map (its cells were binned for the old view)
    import hashlib

    key = json.dumps(filters, sort_keys=True, default=str).encode()
    return f"{space}/{projection}/density/{hashlib.sha1(key).hexdigest()[:10]}"


def render_density(data, proj, mask: np.ndarray, *, space, projection, run_id=None, color="cluster",
                   selected_section=None, view=None, filters=None, threshold=DENSITY_THRESHOLD,
                   bins: int = DENSITY_GRID, base_threshold=None):
    """The 2-D map as density cells (:func:`density_grid`, :func:`figures.density_map`) of the
    sections in ``mask`` (already filtered and, when zoomed, windowed to ``view``).

    Colour by cluster: each cell in its majority cluster's colour, shaded by density, with the
    clusters' medoid diamonds; by a value (confidence, a feature): its mean per cell; by song or
    nothing: the count per cell. Returns ``(fig, count, meta)`` like :func:`render_map`; ``meta``
    also carries ``density``, ``view``, ``filters``, ``threshold`` and the grid geometry, which a
    click on a cell (:func:`density_click_position`), a box/lasso selection
    (:func:`region_positions`) and a zoom (:func:`zoom_redraw`) are answered from.
    """
    kind, dims = split_projection(projection)
    rows = np.flatnonzero(mask)
    xy = proj.xyz[rows, :2]
    arr = data.run_arrays(run_id) if run_id else None
    names = cluster_names(data, run_id)
    kw, value_name, centres = {}, "", None
    if color == "cluster" and arr is not None:
        kw["labels"] = arr.label[rows]
    elif color in ("confidence", "silhouette", "stability") and arr is not None:
        kw["values"], value_name = getattr(arr, color)[rows], color
    elif isinstance(color, str) and color.startswith("feature:") and color.split(":", 1)[1] in data.feature_names:
        name = color.split(":", 1)[1]
        kw["values"], value_name = data.feature_values(name)[rows], feature_label(name, _)
    grid = density_grid(xy, bins=bins, extent=view, **kw)
    if "labels" in kw and data.runs.loc[run_id, "space"] == space:
        centres = figures.centre_traces(*_medoid_sample(xy, kw["labels"]), names)
    pos = data.position(selected_section) if selected_section else None
    ring_point = (proj.xyz[pos], pos) if pos is not None and proj.present[pos] else None
    revision = _density_revision(space, projection, filters or {})
    fig = figures.density_map(grid, clusters=grid.get("clusters"), cluster_names=names, value_name=value_name,
                              hover=_("Click to open the section nearest to here"),
                              count_title=_("sections per cell"), name=_("density"), centres=centres,
                              ring_point=ring_point,
                              axis_titles=figures.map_axis_titles(kind, dims,
                                                                  explained_variance(data, space, kind, dims)),
                              uirevision=revision)
    total = int(proj.present.sum())
    if view is None:
        count = _("Showing %(shown)s of %(total)s sections as density: more than %(limit)s points; zoom in "
                  "to see single sections", shown=integer(len(rows)), total=integer(total),
                  limit=integer(threshold))
    else:
        count = _("Zoomed in: %(shown)s sections in this window, still more than %(limit)s points; zoom in "
                  "further to see single sections", shown=integer(len(rows)), limit=integer(threshold))
    meta = {"ring": len(fig.data) - 1, "space": space, "projection": projection, "density": True,
            "view": list(view) if view is not None else None, "filters": filters,
            "threshold": int(threshold if base_threshold is None else base_threshold),
            "grid": {k: grid[k] for k in ("x0", "y0", "dx", "dy")}}
    return fig, count, meta


#: Points a density map's medoid diamonds are searched among (a seeded sample; a cluster that the
#: sample misses brings all its points).
MEDOID_SAMPLE = 50_000


def _medoid_sample(xy: np.ndarray, labels: np.ndarray, n: int = MEDOID_SAMPLE, seed: int = 0):
    """(xy, labels) of a seeded sample of the points, each cluster of ``labels`` in it: the medoid
    search (:func:`figures.cluster_medoids`) looks at 400 points per cluster anyway."""
    if len(labels) <= n:
        return xy, labels
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(labels), bool)
    keep[rng.choice(len(labels), n, replace=False)] = True
    clusters, _code, _sizes = small_int_codes(labels)
    missing = np.setdiff1d(clusters[clusters >= 0], labels[keep])
    if len(missing):
        keep |= np.isin(labels, missing)
    return xy[keep], labels[keep]


def _finish_points_view(fig, count, meta, *, n_shown, view, space, projection, filters, threshold, sample_note,
                        n_matching=0, total=0, base_threshold=None):
    """``render_map``'s answer when it drew points of a density-sized map: the points of a zoomed-in
    window (density meta kept, so a zoom out bins again), or a 3-D sample (noted in the count)."""
    if view is not None:
        x0, x1, y0, y1 = (float(v) for v in view)
        fig.update_layout(xaxis_range=[min(x0, x1), max(x0, x1)], yaxis_range=[min(y0, y1), max(y0, y1)],
                          uirevision=_density_revision(space, projection, filters))
        count = _("Zoomed in: showing the %(shown)s sections in this window; zoom out (mouse wheel, or the "
                  "tool bar's Autoscale) to see the density of all of them", shown=integer(n_shown))
        meta.update(density=True, view=[x0, x1, y0, y1], filters=filters,
                    threshold=int(threshold if base_threshold is None else base_threshold))
    if sample_note:
        count = _("Showing a sample of %(shown)s of the %(matching)s matching sections (%(total)s in all): a "
                  "3-D map draws at most %(limit)s points, the same share of every cluster; filter to see all",
                  shown=integer(n_shown), matching=integer(n_matching), total=integer(total),
                  limit=integer(threshold))
    return fig, count, meta


def view_from_relayout(relayout, current=None):
    """The window ``[x0, x1, y0, y1]`` a figure's ``relayoutData`` asks for; None for "all"
    (autorange, a double click); ``False`` when the event changes no axis range."""
    if not isinstance(relayout, dict):
        return False
    if relayout.get("xaxis.autorange") or relayout.get("yaxis.autorange"):
        return None
    cur = list(current) if current else [None] * 4
    found = False
    for i, axis in ((0, "xaxis"), (2, "yaxis")):
        rng = relayout.get(f"{axis}.range")
        if isinstance(rng, (list, tuple)) and len(rng) == 2:
            cur[i:i + 2] = rng
            found = True
        elif f"{axis}.range[0]" in relayout and f"{axis}.range[1]" in relayout:
            cur[i:i + 2] = [relayout[f"{axis}.range[0]"], relayout[f"{axis}.range[1]"]]
            found = True
    if not found:
        return False
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) for v in cur):
        # one axis zoomed from the full view: the other keeps the whole extent
        return _complete_view(cur)
    return [float(v) for v in cur]


def _complete_view(cur):
    big = 1e30
    out = []
    for i, v in enumerate(cur):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
        out.append(float(v) if ok else (-big if i % 2 == 0 else big))
    return out


def zoom_redraw(data, relayout, meta, selected_section=None):
    """The map again after a zoom or pan of a density map (``meta["density"]``): the points of the
    window when it holds at most the threshold, else its density cells; all of the map on a
    zoom out. ``(no_update,) * 3`` when the map is not a density map or no range changed."""
    meta = meta or {}
    if not meta.get("density") or not meta.get("space"):
        return no_update, no_update, no_update
    view = view_from_relayout(relayout, meta.get("view"))
    if view is False or view == meta.get("view"):
        return no_update, no_update, no_update
    if view is not None and any(abs(v) >= 1e30 for v in view):  # one axis zoomed: the other spans the map
        kind, dims = split_projection(meta["projection"])
        xyz = data.projection(meta["space"], kind, dims).xyz
        ext = [np.nanmin(xyz[:, 0]), np.nanmax(xyz[:, 0]), np.nanmin(xyz[:, 1]), np.nanmax(xyz[:, 1])]
        view = [float(e) if abs(v) >= 1e30 else v for v, e in zip(view, ext)]
    f = meta.get("filters") or {}
    return render_map(data, meta["space"], meta["projection"], f.get("run"), f.get("color", "cluster"),
                      f.get("songs"), f.get("clusters"), bool(f.get("central")), f.get("confidence"),
                      selected_section, view=view, density_threshold=meta.get("threshold"))


def _meta_mask(data, meta):
    """(projection, filter mask) of the map ``meta`` describes, or (None, None)."""
    meta = meta or {}
    if not meta.get("space") or not meta.get("projection"):
        return None, None
    kind, dims = split_projection(meta["projection"])
    proj = data.projection(meta["space"], kind, dims)
    f = meta.get("filters") or {}
    run = f.get("run") if f.get("run") in data.runs.index else None
    return proj, filter_mask(data, proj.present, run, f.get("songs"), f.get("clusters"), bool(f.get("central")),
                             f.get("confidence"))


def density_click_position(data, meta, x, y) -> int | None:
    """The section a click on a density cell at (``x``, ``y``) opens: the one nearest to that point
    among the map's filtered sections in that cell (or, for an empty cell, in the whole map)."""
    proj, mask = _meta_mask(data, meta)
    if proj is None:
        return None
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return None
    g = (meta or {}).get("grid")
    xs, ys = proj.xyz[:, 0], proj.xyz[:, 1]
    cand = np.empty(0, np.int64)
    if g:
        cx0 = g["x0"] + np.floor((x - g["x0"]) / g["dx"]) * g["dx"]
        cy0 = g["y0"] + np.floor((y - g["y0"]) / g["dy"]) * g["dy"]
        with np.errstate(invalid="ignore"):
            cand = np.flatnonzero(mask & (xs >= cx0) & (xs <= cx0 + g["dx"]) & (ys >= cy0) & (ys <= cy0 + g["dy"]))
    if not len(cand):
        cand = np.flatnonzero(mask)
    if not len(cand):
        return None
    d = (xs[cand] - x) ** 2 + (ys[cand] - y) ** 2
    return int(cand[int(np.nanargmin(d))])


def _in_polygon(x: np.ndarray, y: np.ndarray, px, py) -> np.ndarray:
    """Even-odd rule: which points (x, y) lie inside the polygon (px, py)."""
    px, py = np.asarray(px, np.float64), np.asarray(py, np.float64)
    inside = np.zeros(len(x), bool)
    j = len(px) - 1
    for i in range(len(px)):
        yi, yj, xi, xj = py[i], py[j], px[i], px[j]
        crosses = (yi > y) != (yj > y)
        if crosses.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = (xj - xi) * (y - yi) / (yj - yi) + xi
            inside ^= crosses & (x < xc)
        j = i
    return inside


def region_positions(data, meta, selection) -> np.ndarray | None:
    """Positions (sorted) of the map's filtered sections inside a box (``selection["range"]``) or a
    lasso (``selection["lasso"]``) drawn on a density map; None when ``selection`` holds no region or
    the map is not a density map (its points then carry their positions themselves)."""
    selection, meta = selection or {}, meta or {}
    if not meta.get("density") or not (selection.get("range") or selection.get("lasso")):
        return None
    proj, mask = _meta_mask(data, meta)
    if proj is None:
        return None
    if selection.get("range"):
        rng = selection["range"]
        xr, yr = rng.get("x") or [], rng.get("y") or []
        if len(xr) != 2 or len(yr) != 2:
            return np.empty(0, np.int64)
        return np.flatnonzero(mask & window_mask(proj.xyz, [xr[0], xr[1], yr[0], yr[1]]))
    lasso = selection["lasso"]
    px, py = list(lasso.get("x") or []), list(lasso.get("y") or [])
    if len(px) < 3 or len(px) != len(py):
        return np.empty(0, np.int64)
    cand = np.flatnonzero(mask & window_mask(proj.xyz, [min(px), max(px), min(py), max(py)]))
    keep = _in_polygon(proj.xyz[cand, 0].astype(np.float64), proj.xyz[cand, 1].astype(np.float64), px, py)
    return cand[keep]


def map_selection_positions(data, selection, meta=None) -> np.ndarray:
    """The sections of a box/lasso selection: resolved on the server on a density map
    (:func:`region_positions`), else from the selected points (:func:`selected_positions`)."""
    pos = region_positions(data, meta, selection)
    return selected_positions(data, selection) if pos is None else pos


def render_map(data, space, projection, run_id=None, color="cluster", songs=None, clusters=None, central=False,
               confidence=None, selected_section=None, view=None, density_threshold=None):
    """The map figure for the controls' values.

    Past ``density_threshold`` points (default :data:`DENSITY_THRESHOLD`) a 2-D map is drawn as
    density cells (:func:`render_density`), and a 3-D map as a stratified sample of that many (at
    most :data:`MAX_3D_POINTS`).
    ``view`` (``[x0, x1, y0, y1]``, from a zoom) restricts such a density map to a window: its
    points are drawn one by one again when the window holds at most the threshold. Below the
    threshold ``view`` is ignored (the browser zooms the points it has).

    Returns
    -------
    fig : go.Figure
    count : str
        "Showing n of N sections".
    meta : dict
        ``{"ring": index of the selection-ring trace or None, "space", "projection"}``.
    """
    if not space or not projection:
        return figures.empty_figure(_("This store has no projections yet")), "", {"ring": None}
    kind, dims = split_projection(projection)
    proj = data.projection(space, kind, dims)
    if run_id and run_id not in data.runs.index:
        run_id = None
    mask = filter_mask(data, proj.present, run_id, songs, clusters, bool(central), confidence)
    base_threshold = DENSITY_THRESHOLD if density_threshold is None else int(density_threshold)
    threshold = points_limit(base_threshold, color)
    filters = _density_filters(run_id, color, songs, clusters, central, confidence)
    dense = dims == 2 and int(np.count_nonzero(mask)) > threshold
    view = [float(v) for v in view] if dense and view is not None else None
    if view is not None:
        mask &= window_mask(proj.xyz, view)
    if dense and int(np.count_nonzero(mask)) > threshold:
        return render_density(data, proj, mask, space=space, projection=projection, run_id=run_id, color=color,
                              selected_section=selected_section, view=view, filters=filters, threshold=threshold,
                              base_threshold=base_threshold)
    rows = np.flatnonzero(mask)
    cap_3d = min(base_threshold, MAX_3D_POINTS)
    sample_note = dims == 3 and len(rows) > cap_3d
    n_matching = len(rows)
    if sample_note:  # a 3-D scene of a million points is not drawable: the same share of each cluster
        strata = data.run_arrays(run_id).label[rows] if run_id else np.zeros(len(rows), np.int8)
        rows = stratified_sample(rows, strata, cap_3d)
        threshold = cap_3d
    xyz = proj.xyz[rows]
    kw = {}
    arr = data.run_arrays(run_id) if run_id else None
    if color == "cluster" and arr is not None:
        kw["labels"] = arr.label[rows]
    elif color == "song":
        kw["categories"] = data.song_code[rows]
    elif color in ("confidence", "silhouette", "stability") and arr is not None:
        kw["values"] = getattr(arr, color)[rows]
        kw["value_name"] = color
    elif isinstance(color, str) and color.startswith("feature:"):
        name = color.split(":", 1)[1]
        if name in data.feature_names:
            kw["values"] = data.feature_values(name)[rows]
            kw["value_name"] = feature_label(name, _)
    if len(rows) <= figures.HOVER_TEXT_LIMIT:
        kw["hover_text"] = _hover_text(data, rows, arr)
    highlight = None
    pos = data.position(selected_section) if selected_section else None
    if pos is not None:
        i = int(np.searchsorted(rows, pos))
        highlight = i if i < len(rows) and rows[i] == pos else None
    # each cluster's diamond at the medoid of its shown points on this map (figures.cluster_medoids)
    centres = arr is not None and color == "cluster" and data.runs.loc[run_id, "space"] == space
    # selected but filtered out: still ring it where it sits
    ring_point = (proj.xyz[pos], pos) if highlight is None and pos is not None and proj.present[pos] else None
    fig = figures.section_map(xyz, rows, highlight=highlight, centres=centres,
                              axis_titles=figures.map_axis_titles(kind, dims, explained_variance(data, space, kind, dims)),
                              uirevision=f"{space}/{projection}", ring_point=ring_point,
                              cluster_names=cluster_names(data, run_id), **kw)
    ring = len(fig.data) - 1 if len(rows) else None
    total = int(proj.present.sum())
    count = _("Showing %(shown)s of %(total)s sections", shown=integer(len(rows)), total=integer(total))
    meta = {"ring": ring, "space": space, "projection": projection}
    if view is not None or sample_note:
        return _finish_points_view(fig, count, meta, n_shown=len(rows), view=view, space=space,
                                   projection=projection, filters=filters, threshold=threshold,
                                   sample_note=sample_note, n_matching=n_matching, total=total,
                                   base_threshold=base_threshold)
    return fig, count, meta


def explained_variance(data, space, kind, dims) -> list | None:
    """PCA's explained variance ratio per axis of a map, from ``projection_info`` (None when absent)."""
    if kind != "pca":
        return None
    info = data.table(PROJECTION_INFO)
    if info.empty or "explained_variance_ratio" not in info:
        return None
    row = info[(info["space"] == space) & (info["kind"] == kind) & (info["dims"] == int(dims))]
    if row.empty or row.iloc[0]["explained_variance_ratio"] is None:
        return None
    return [float(v) for v in row.iloc[0]["explained_variance_ratio"]]


def ring_patch(data, meta, selected):
    """A patch that moves the selection ring of the current map to the selected section."""
    if not meta or meta.get("ring") is None or not meta.get("space"):
        return no_update
    kind, dims = split_projection(meta["projection"])
    proj = data.projection(meta["space"], kind, dims)
    pos = data.position((selected or {}).get("section_id"))
    if pos is None or not proj.present[pos]:
        return figures.move_ring(meta["ring"], None, dims == 3)
    return figures.move_ring(meta["ring"], proj.xyz[pos], dims == 3, row=pos)


def _hover_text(data, rows, arr):
    # Plotly markup: the title is data and is escaped (once per song, not per point), the <br> is ours
    escaped = np.array([figures.escape_text(t) for t in data.songs["title"]], dtype=object)
    titles = escaped[data.song_code[rows]]
    starts = data.starts[rows]
    out = [f"{t}<br>{fmt_time(s)}" for t, s in zip(titles, starts)]
    if arr is not None:
        conf = arr.confidence[rows]
        # one translation for every point; the locale's decimal mark put in by hand (fast)
        line, mark = _("confidence %(value)s", value="{value}"), plotly_separators()[0]
        out = [f"{h}<br>" + line.replace("{value}", f"{c:.2f}".replace(".", mark)) if c == c else h
               for h, c in zip(out, conf)]
        if arr.placed is not None and arr.placed[rows].any():
            placed = _(PLACED_NOTE)
            out = [f"{h}<br>{placed}" if p else h for h, p in zip(out, arr.placed[rows])]
    return out


def selected_positions(data, selection) -> np.ndarray:
    """Row positions of the sections in a lasso/box selection (sorted, unique, known).

    Parameters
    ----------
    selection : dict or None
        The browser-resolved selection of ``ids.MAP_SELECTION_ROWS`` (``{"rows": [...]}``, see
        :data:`sectionist.dashboard.ui.components.selection.SELECTION_TO_ROWS_JS`), or a figure's
        ``selectedData`` whose points carry their section position as ``customdata``.
    """
    selection = selection or {}
    if "rows" in selection:
        raw = selection.get("rows") or []
    else:
        raw = [p.get("customdata") for p in selection.get("points") or [] if isinstance(p, dict)]
    pos = [int(v) for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()]
    return np.unique(np.asarray([p for p in pos if 0 <= p < data.n_sections], np.int64))


def _selection_pager():
    return html.Div(id=ids.MAP_SELECTION_PAGER, className="controls-row", style={"display": "none"}, children=[
        dcc.Store(id=ids.MAP_SELECTION_PAGE, data=0),
        html.Button("‹", id=ids.MAP_SELECTION_PREV, className="btn-icon", title=_("Previous sections")),
        html.Button("›", id=ids.MAP_SELECTION_NEXT, className="btn-icon", title=_("Next sections"))])


def selection_page(data, selection, meta, page, step: int) -> int:
    """The page of the selection list after a ‹ (``step`` -1) or › (+1), kept within the selection."""
    n = len(map_selection_positions(data, selection, meta)) if selection else 0
    last = max(0, -(-n // SELECTION_PAGE_SIZE) - 1)
    return int(min(max(0, int(page or 0) + step), last))


#: Sections listed per page of the selection card.
SELECTION_PAGE_SIZE = 12


def selection_summary(data, selection, run_id, limit: int = SELECTION_PAGE_SIZE, meta=None, page: int = 0):
    """Summary of a lasso/box selection: count, clusters, songs, one page of its sections to play
    (``page`` of ``limit``; the list is paged on the server, never sent whole).

    On a density map (``meta["density"]``) the box or lasso is resolved on the server
    (:func:`map_selection_positions`): every filtered section inside it, not only drawn points.
    """
    selection = selection or {}
    active = selection.get("active", True) if "rows" in selection else bool(selection.get("points"))
    if not selection or not active:
        return [html.Div(_("Use the lasso or box tool (in the map's tool bar) to select a group of sections."),
                         className="muted small")]
    pos = map_selection_positions(data, selection, meta)
    if not len(pos):
        return [html.Div(_("No sections in the selection."), className="muted small")]
    last = -(-len(pos) // limit) - 1
    page = min(max(0, int(page or 0)), last)
    page_rows = slice(page * limit, (page + 1) * limit)
    shown = _("Sections %(first)s–%(last)s of %(count)s", first=integer(page * limit + 1),
              last=integer(min(len(pos), (page + 1) * limit)), count=integer(len(pos)))
    chips = []
    if run_id and run_id in data.runs.index:
        labels = data.run_arrays(run_id).label[pos]
        u, c = np.unique(labels, return_counts=True)
        names = cluster_names(data, run_id)
        chips = [cluster_chip(int(lab), text=f"{figures.cluster_name(lab, names)} · {integer(n)}") for lab, n in
                 sorted(zip(u, c), key=lambda t: -t[1]) if lab >= -1]
    n_songs = len(np.unique(data.song_code[pos]))
    secs = data.sections
    rows = [html.Div(className="list-row", children=[
        html.Button("▶", id=ids.play(PAGE, secs.iloc[p]["section_id"]), className="btn-icon"),
        html.Span(secs.iloc[p]["title"], className="list-main"), html.Span(fmt_time(secs.iloc[p]["start_s"]),
                                                                           className="muted")])
        for p in pos[page_rows]]
    if n_songs == 1:
        headline = ngettext("%(sections)s section from 1 song selected", "%(sections)s sections from 1 song selected",
                            len(pos), sections=integer(len(pos)))
    else:
        headline = _("%(sections)s sections from %(songs)s songs selected", sections=integer(len(pos)),
                     songs=integer(n_songs))
    return [html.Div(headline, className="strong"),
            html.Div(chips, className="chips"), html.Div(rows, className="list"),
            html.Div(shown, className="muted small")]


def slot_view(data, slots: dict | None, run_id=None):
    """Slots A and B side by side: player, spectrogram, cluster, and their distance."""
    slots = slots or {}
    cols = []
    for name in ("A", "B"):
        sid = slots.get(name)
        sec = data.section(sid) if sid else None
        if sec is None:
            cols.append(html.Div(className="slot", children=[
                html.Div(_("Slot %(slot)s", slot=name), className="slot-name"),
                empty_state(_("Select a section, then 'Put in slot %(slot)s'.", slot=name))]))
            continue
        info = section_summary(data, sec["pos"], run_id)
        cols.append(html.Div(className="slot", children=[
            html.Div(className="slot-name", children=[_("Slot %(slot)s", slot=name), cluster_chip(info["cluster"])
                                                     if info["cluster"] is not None else None]),
            section_player(sec, compact=True, run_id=run_id),
            html.Img(src=spectrogram_url(sid), className="spectrogram small",
                     alt=_("spectrogram of %(section)s", section=sid)),
        ]))
    note = None
    a, b = data.section(slots.get("A")) if slots.get("A") else None, data.section(slots.get("B")) if slots.get("B") else None
    if a and b and run_id and run_id in data.runs.index:
        vec = data.space_vectors(data.runs.loc[run_id, "space"])
        if vec is not None:
            X, norms = vec
            if np.isfinite(norms[a["pos"]]) and np.isfinite(norms[b["pos"]]):
                d = float(np.linalg.norm(X[a["pos"]] - X[b["pos"]]))
                note = html.Div(_("Distance between A and B in %(space)s: %(distance)s (standardised units)",
                                  space=data.runs.loc[run_id, "space"], distance=number(d, 2)),
                                className="muted small")
    return [html.Div(cols, className="slots"), note]


# ---- layout -----------------------------------------------------------------------------------------
def layout(section=None, run=None, space=None, **_query):
    data = get_data()
    spaces = data.spaces()
    if section and data.position(section) is not None and run in data.runs.index and not space:
        space = data.runs.loc[run, "space"]
    space = space if space in spaces else (spaces[0] if spaces else None)
    proj_opts = projection_options(data, space) if space else []
    preferred = [o["value"] for o in proj_opts if o["value"] == "umap2"] or [o["value"] for o in proj_opts]
    run = run if run in data.runs.index else default_run(data, space)
    clusters = data.run_arrays(run).clusters if run else ()
    return html.Div(className="page page-map", children=[
        click_store(ids.MAP_GRAPH),
        dcc.Store(id=ids.selected(PAGE), data={"section_id": section if data.position(section) is not None else None,
                                               "run_id": run}),
        dcc.Store(id=ids.MAP_SLOT_STORE, data={}),
        dcc.Store(id=ids.MAP_META, data={}),
        dcc.Store(id=ids.MAP_SELECTION_ROWS, data={}),
        page_header(_("Map"), _("Every section of the corpus in one space; colour, filter, select, listen.")),
        html.Div(className="map-grid", children=[
            html.Aside(className="sidebar", children=[
                card(_("View"),
                     control(_("Space"), dropdown(ids.MAP_SPACE, [{"label": s, "value": s} for s in spaces], space)),
                     control(_("Projection"), dropdown(ids.MAP_KIND, proj_opts, preferred[0] if preferred else None)),
                     control(_("Run (clusters)"), dropdown(ids.MAP_RUN, run_options(data, space), run,
                                                           optionHeight=48)),
                     control(_("Colour by"), dropdown(ids.MAP_COLOR, color_options(data), "cluster"))),
                card(_("Filters"),
                     control(_("Songs"), dcc.Dropdown(id=ids.MAP_SONGS, multi=True, placeholder=_("all songs"),
                                                   options=song_options(data))),
                     control(_("Clusters"), dcc.Dropdown(id=ids.MAP_CLUSTERS, multi=True, placeholder=_("all clusters"),
                                                      options=_cluster_options(clusters, cluster_names(data, run)))),
                     control(_("Confidence"), dcc.RangeSlider(id=ids.MAP_CONF, min=0, max=1, step=0.05, value=[0, 1],
                                                           marks={0: "0", 0.5: number(0.5, 1), 1: "1"},
                                                           tooltip={"placement": "bottom"})),
                     dcc.Checklist(id=ids.MAP_CENTRAL, options=[{"label": " " + _("central sections only"), "value": "c"}],
                                   value=[], className="checklist")),
            ]),
            html.Section(className="map-main", children=[
                card(None,
                     html.Div(id=ids.MAP_COUNT, className="muted small map-count"),
                     dcc.Graph(id=ids.MAP_GRAPH, config=graph_config(scrollZoom=True, modeBarButtonsToRemove=MAP_MODEBAR_REMOVE),
                               className="map-graph", style={"height": "640px"},
                               figure=figures.empty_figure(_("Loading…"))),
                     className="card-flush"),
                card(_("Selection"), html.Div(id=ids.MAP_SELECTION), _selection_pager(),
                     html.Div(className="controls-row", children=[
                    control(_("Export the selection"),
                            dropdown(ids.MAP_EXPORT_KIND, downloads.choices(downloads.SELECTION_KINDS), "xspf")),
                    html.Button(_("Download selection"), id=ids.MAP_EXPORT, className="btn"),
                    dcc.Download(id=ids.MAP_DOWNLOAD)])),
                card(_("Compare by ear: slots A and B"), html.Div(id=ids.MAP_SLOT_VIEW)),
            ]),
            html.Aside(className="detail", children=[
                # the verdict first: on screen as soon as a point is clicked, above the player and details
                card(_("Section"), html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.MAP_DETAIL)),
            ]),
        ]),
    ])


def _cluster_options(clusters, names: dict | None = None):
    return [{"label": figures.cluster_name(c, names), "value": int(c)} for c in clusters]


# ---- callbacks ------------------------------------------------------------------------------------
register_selection(PAGE, graph=ids.MAP_GRAPH, run=ids.MAP_RUN)
register_box_selection(ids.MAP_GRAPH, ids.MAP_SELECTION_ROWS)
register_song_search(ids.MAP_SONGS)
register_judging(PAGE)


@callback(Output(ids.MAP_KIND, "options"), Output(ids.MAP_KIND, "value"), Output(ids.MAP_RUN, "options"),
          Output(ids.MAP_RUN, "value"), Input(ids.MAP_SPACE, "value"), State(ids.MAP_KIND, "value"),
          State(ids.MAP_RUN, "value"), prevent_initial_call=True)
def _space_changed(space, kind, run):
    data = get_data()
    opts = projection_options(data, space)
    values = [o["value"] for o in opts]
    if kind not in values:
        kind = "umap2" if "umap2" in values else (values[0] if values else None)
    return opts, kind, run_options(data, space), default_run(data, space)


@callback(Output(ids.MAP_CLUSTERS, "options"), Output(ids.MAP_CLUSTERS, "value"), Input(ids.MAP_RUN, "value"),
          prevent_initial_call=True)
def _run_changed(run):
    data = get_data()
    return _cluster_options(data.run_arrays(run).clusters if run else (), cluster_names(data, run)), []


@callback(Output(ids.MAP_GRAPH, "figure"), Output(ids.MAP_COUNT, "children"), Output(ids.MAP_META, "data"),
          Input(ids.MAP_SPACE, "value"), Input(ids.MAP_KIND, "value"), Input(ids.MAP_RUN, "value"),
          Input(ids.MAP_COLOR, "value"), Input(ids.MAP_SONGS, "value"), Input(ids.MAP_CLUSTERS, "value"),
          Input(ids.MAP_CENTRAL, "value"), Input(ids.MAP_CONF, "value"), State(ids.selected(PAGE), "data"))
def _redraw(space, projection, run, color, songs, clusters, central, confidence, selected):
    return render_map(get_data(), space, projection, run, color, songs, clusters, bool(central), confidence,
                      (selected or {}).get("section_id"))


@callback(Output(ids.MAP_GRAPH, "figure", allow_duplicate=True), Input(ids.selected(PAGE), "data"),
          Input(ids.MAP_META, "data"), prevent_initial_call=True)
def _move_ring(selected, meta):
    # also after each redraw: a selection restored while the map was being drawn gets its ring
    return ring_patch(get_data(), meta, selected)


@callback(Output(ids.MAP_DETAIL, "children"), Input(ids.selected(PAGE), "data"))
def _detail(selected):
    selected = selected or {}
    return section_detail(get_data(), selected.get("section_id"), selected.get("run_id"), PAGE,
                          autoplay=bool(selected.get("autoplay")))


def pager_style(data, selection, meta) -> dict:
    """The selection pager's style: shown only when the selection fills more than one page."""
    active = bool(selection) and (selection.get("active", True) if "rows" in selection else bool(selection.get("points")))
    n = len(map_selection_positions(data, selection, meta)) if active else 0
    return {} if n > SELECTION_PAGE_SIZE else {"display": "none"}


@callback(Output(ids.MAP_SELECTION, "children"), Output(ids.MAP_SELECTION_PAGER, "style"),
          Input(ids.MAP_SELECTION_ROWS, "data"), Input(ids.MAP_RUN, "value"),
          Input(ids.MAP_SELECTION_PAGE, "data"), State(ids.MAP_META, "data"))
def _lasso(selection, run, page, meta):
    data = get_data()
    return (selection_summary(data, selection, run, meta=meta, page=page or 0),
            pager_style(data, selection or {}, meta))


@callback(Output(ids.MAP_SELECTION_PAGE, "data"), Input(ids.MAP_SELECTION_PREV, "n_clicks"),
          Input(ids.MAP_SELECTION_NEXT, "n_clicks"), Input(ids.MAP_SELECTION_ROWS, "data"),
          State(ids.MAP_SELECTION_PAGE, "data"), State(ids.MAP_META, "data"), prevent_initial_call=True)
def _selection_page(_prev, _next, selection, page, meta):
    trig = ctx.triggered_id
    if trig not in (ids.MAP_SELECTION_PREV, ids.MAP_SELECTION_NEXT):
        return 0  # a new selection starts at its first page
    return selection_page(get_data(), selection, meta, page, -1 if trig == ids.MAP_SELECTION_PREV else 1)


@callback(Output(ids.MAP_GRAPH, "figure", allow_duplicate=True), Output(ids.MAP_COUNT, "children", allow_duplicate=True),
          Output(ids.MAP_META, "data", allow_duplicate=True), Input(ids.MAP_GRAPH, "relayoutData"),
          State(ids.MAP_META, "data"), State(ids.selected(PAGE), "data"), prevent_initial_call=True)
def _zoom(relayout, meta, selected):
    # a density map draws its points again inside a small enough window (zoom_redraw)
    return zoom_redraw(get_data(), relayout, meta, (selected or {}).get("section_id"))


@callback(Output(ids.click(ids.MAP_GRAPH), "data", allow_duplicate=True), Input(ids.click(ids.MAP_GRAPH), "data"),
          State(ids.MAP_META, "data"), prevent_initial_call=True)
def _density_click(click, meta):
    # a click on a density cell (components.selection.CLICK_TO_ROW_JS: {"cell": [x, y]}) opens the
    # section nearest to it: answered as a click on that section's point
    if not isinstance(click, dict) or not isinstance(click.get("cell"), (list, tuple)) or len(click["cell"]) != 2:
        return no_update
    pos = density_click_position(get_data(), meta, *click["cell"])
    return no_update if pos is None else {"row": pos, "at": click.get("at")}


@callback(Output(ids.MAP_SLOT_STORE, "data"), Input(ids.slot(PAGE, ALL), "n_clicks"),
          State(ids.selected(PAGE), "data"), State(ids.MAP_SLOT_STORE, "data"), prevent_initial_call=True)
def _fill_slot(clicks, selected, slots):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []) or not ctx.triggered[0].get("value"):
        return no_update
    sid = (selected or {}).get("section_id")
    if not sid:
        return no_update
    slots = dict(slots or {})
    slots[trig["slot"]] = sid
    return slots


@callback(Output(ids.MAP_SLOT_VIEW, "children"), Input(ids.MAP_SLOT_STORE, "data"), Input(ids.MAP_RUN, "value"))
def _slots(slots, run):
    return slot_view(get_data(), slots, run)


@callback(Output(ids.MAP_DOWNLOAD, "data"), Input(ids.MAP_EXPORT, "n_clicks"), State(ids.MAP_SELECTION_ROWS, "data"),
          State(ids.MAP_RUN, "value"), State(ids.MAP_EXPORT_KIND, "value"), State(ids.MAP_META, "data"),
          prevent_initial_call=True)
def _download(_clicks, selection, run, kind, meta):
    data = get_data()
    pos = map_selection_positions(data, selection, meta)
    if not len(pos):
        return no_update
    exp = downloads.export_data(data, [run] if run else [], section_ids=list(data.section_ids[pos]))
    return downloads.download(kind or "xspf", exp, f"selection of {len(pos)} sections",
                              title=_("sectionist: %(count)s selected sections", count=integer(len(pos))))
