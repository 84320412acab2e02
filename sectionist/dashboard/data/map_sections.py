"""Which sections the Map shows and selects, looked up in a store's data: its filters' mask, the
section a click on a density cell opens, the sections of a box or lasso (drawn on points or on
density cells), and PCA's explained variance for the axis titles."""

from __future__ import annotations

import numpy as np

from sectionist.dashboard.data.density import in_polygon, window_mask
from sectionist.store.schema import PROJECTION_INFO


def split_projection(value: str) -> tuple[str, int]:
    """A projection control's value as (kind, dimensions): ``"umap2"`` → ``("umap", 2)``."""
    kind = str(value).rstrip("0123456789")
    return kind, int(str(value)[len(kind):] or 2)


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


def map_selection_positions(data, selection, meta=None) -> np.ndarray:
    """The sections of a box/lasso selection: resolved on the server on a density map
    (:func:`region_positions`), else from the selected points (:func:`selected_positions`)."""
    pos = region_positions(data, meta, selection)
    return selected_positions(data, selection) if pos is None else pos


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
    keep = in_polygon(proj.xyz[cand, 0].astype(np.float64), proj.xyz[cand, 1].astype(np.float64), px, py)
    return cand[keep]


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
