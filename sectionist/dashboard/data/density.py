"""The Map at scale as array computations: the density grid a big 2-D map is drawn from, the
stratified sample of a big 3-D map, the medoid search's sample, and the windows and polygons of a
zoom, a box or a lasso. Pure numpy; nothing here reads the store or builds a figure."""

from __future__ import annotations

import numpy as np


#: Cells per axis of the density grid.
DENSITY_GRID = 400


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


#: Points a density map's medoid diamonds are searched among (a seeded sample; a cluster that the
#: sample misses brings all its points).
MEDOID_SAMPLE = 50_000


def medoid_sample(xy: np.ndarray, labels: np.ndarray, n: int = MEDOID_SAMPLE, seed: int = 0):
    """(xy, labels) of a seeded sample of the points, each cluster of ``labels`` in it: the medoid
    search (:func:`sectionist.dashboard.ui.figures.map.cluster_medoids`) looks at 400 points per cluster anyway."""
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


def in_polygon(x: np.ndarray, y: np.ndarray, px, py) -> np.ndarray:
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
