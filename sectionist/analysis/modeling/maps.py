"""A space's maps (projections): fitting them, their saved projectors, and the runs' centroids drawn on them."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd

from sectionist.store.schema import CENTROID_PROJECTIONS, CLUSTERS, PROJECTION_INFO, PROJECTIONS, RUNS

from sectionist.analysis.errors import StoreError
from sectionist.analysis.modeling.persistence import load_model, projection_model_key, require_model, save_model
from sectionist.analysis.modeling.runs import LARGE_ROWS
from sectionist.analysis.modeling.spaces import space_section_matrix
from sectionist.analysis.modeling.tables import json_text

log = logging.getLogger(__name__)


#: Projections made for every space: (kind, dimensions).
DEFAULT_PROJECTIONS = (("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2))


def ensure_maps(store, space: str, *, kinds=DEFAULT_PROJECTIONS, seed: int = 0, progress: bool = True,
                run_ids=None, large_rows: int = LARGE_ROWS) -> list[str]:
    """Fit the maps of ``space`` that do not exist yet, and draw runs' centroids on every map of it.

    Existing maps are never refitted (their coordinates are what people know); ``run_ids`` limits
    the centroid drawing on existing maps to those runs (new maps draw every run's centroids).

    Returns
    -------
    list of str
        The maps fitted now (``"{space}/{kind}{dims}"``).
    """
    missing = [(k, d) for k, d in kinds
               if not store.has_part(PROJECTION_INFO, PROJECTION_INFO.part(space=space, kind=k, dims=d))]
    if missing:
        made = project_space(store, space, kinds=missing, seed=seed, progress=progress, large_rows=large_rows)
        return [f"{space}/{k}{d}" for k, d in made]
    projectors = space_projectors(store, space)
    if projectors:
        project_centroids(store, space, projectors, space_section_matrix(store, space)[2], run_ids=run_ids)
    return []


def project_space(store, space: str, *, kinds=DEFAULT_PROJECTIONS, seed: int = 0, progress: bool = True,
                  large_rows: int = LARGE_ROWS) -> dict:
    """Fit each projection of ``space`` and write it, then project every run's centroids with it.

    Writes ``projections`` and ``projection_info`` parts ``{space}/{kind}{dims}`` (``projection_info``
    last: a map exists once it does), the fitted projector under ``models/projections/…``
    (``projection_info.model_key``, used to place sections added later), and, for every run on
    ``space``, its ``centroid_projections`` part (every map of the space). Refitting a map moves
    coordinates people know; ``sectionist analyze`` fits only the maps that do not exist yet.

    Above ``large_rows`` sections t-SNE and UMAP are fitted on a sample of
    :data:`sectionist.analysis.modeling.projection.PROJECTION_FIT_SAMPLE` sections and the others placed with the fitted
    model's ``transform`` (:func:`sectionist.analysis.modeling.projection.fit_embed`); they are part of this fit, so
    their ``placed`` stays False, and ``projection_info.params`` records ``fit_sample``.

    Returns
    -------
    dict
        ``(kind, dims) → fitted`` :class:`sectionist.analysis.modeling.projection.Projector`.
    """
    from sectionist.analysis.modeling.projection import PROJECTION_FIT_SAMPLE, fit_embed

    ids, X, cols = space_section_matrix(store, space)
    if len(ids) < 4:
        log.warning("space %s: %d section(s), too few to project", space, len(ids))
        return {}
    fitted = {}
    it = kinds
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(list(kinds), desc=f"projections {space}", leave=False, disable=None)
    for kind, dims in it:
        t0 = time.perf_counter()
        proj, E = fit_embed(X, kind, dims, random_state=seed, progress=progress,
                            fit_sample=PROJECTION_FIT_SAMPLE if len(ids) > large_rows else None)
        fitted[(kind, dims)] = proj
        part = PROJECTIONS.part(space=space, kind=kind, dims=dims)
        store.write_part(PROJECTIONS, part, map_frame(space, kind, dims, ids, E))
        seconds = round(time.perf_counter() - t0, 3)
        # the fit's seconds beside the projector too: 'sectionist repair' rebuilds projection_info from them
        key = save_model(store, projection_model_key(space, kind, dims), proj, meta={"seconds": seconds})
        store.write_part(PROJECTION_INFO, part, map_info_frame(space, kind, dims, proj, n_sections=len(ids),
                                                               seconds=seconds, model_key=key, n_placed=0))
    project_centroids(store, space, {**space_projectors(store, space, exclude=set(fitted)), **fitted}, cols)
    return fitted


def space_projectors(store, space: str, *, exclude=()) -> dict:
    """``(kind, dims) → fitted Projector`` of every map of ``space`` whose saved projector loads
    (leaving out the ``(kind, dims)`` in ``exclude``)."""
    out = {}
    for part in PROJECTION_INFO.parts_where(store.list_parts(PROJECTION_INFO), space=space):
        info = store.read_part(PROJECTION_INFO, part).iloc[0]
        if (str(info["kind"]), int(info["dims"])) in exclude:
            continue
        proj = load_model(store, info.get("model_key"))
        if proj is not None:
            out[(str(info["kind"]), int(info["dims"]))] = proj
    return out


def project_centroids(store, space: str, projectors: dict, columns: list[str], run_ids=None) -> None:
    """Write ``centroid_projections`` for every run on ``space`` (or those of ``run_ids``) with the
    space's fitted projectors."""
    runs = store.read_table(RUNS)
    if runs.empty:
        return
    for run_id in runs.loc[runs["space"] == space, "run_id"]:
        if run_ids is not None and run_id not in run_ids:
            continue
        if not store.has_part(CLUSTERS, run_id):
            continue
        rows = centroid_frame(run_id, space, store.read_part(CLUSTERS, run_id), projectors, columns)
        if rows is not None:
            store.write_part(CENTROID_PROJECTIONS, run_id, rows)


def centroid_frame(run_id: str, space: str, clusters: pd.DataFrame, projectors: dict,
                   columns: list[str]) -> pd.DataFrame | None:
    """The ``centroid_projections`` rows of a run: the centroids of its ``clusters`` part placed with each
    projector (None when it has no cluster but noise)."""
    cl = clusters[clusters["cluster"] >= 0]
    if cl.empty:
        return None
    cents = np.array([[json.loads(c)[col] for col in columns] for c in cl["centroid"]], dtype=np.float64)
    rows = []
    for (kind, dims), proj in projectors.items():
        P = proj.transform(cents)
        for i, c in enumerate(cl["cluster"]):
            rows.append({"run_id": run_id, "space": space, "kind": kind, "dims": dims, "cluster": int(c),
                         "x": P[i, 0], "y": P[i, 1], "z": P[i, 2] if dims == 3 else np.nan})
    return pd.DataFrame(rows)


def map_frame(space: str, kind: str, dims: int, ids, E: np.ndarray) -> pd.DataFrame:
    """A map's ``projections`` rows as its fit writes them: the sections ``ids`` at coordinates ``E``."""
    return pd.DataFrame({
        "space": space, "kind": kind, "dims": dims, "section_id": ids,
        "x": E[:, 0], "y": E[:, 1], "z": E[:, 2] if dims == 3 else np.full(len(ids), np.nan),
        "placed": False,
    })


def map_info_frame(space: str, kind: str, dims: int, proj, *, n_sections: int, seconds: float, model_key: str,
                   n_placed: int) -> pd.DataFrame:
    """A map's ``projection_info`` row: how the projector ``proj`` was fitted."""
    evr = proj.explained_variance_ratio_
    return pd.DataFrame([{
        "space": space, "kind": kind, "dims": dims, "params": json_text(proj.params_),
        "explained_variance_ratio": evr.tolist() if evr is not None else None,
        "n_sections": int(n_sections), "seconds": seconds, "model_key": model_key, "n_placed": int(n_placed),
    }])


def rebuild_map(store, space: str, kind: str, dims: int, *, info: pd.DataFrame | None = None,
                points: pd.DataFrame | None = None) -> dict:
    """The parts of the map ``{space}/{kind}{dims}`` that are not given (``info``: its readable
    ``projection_info`` part, ``points``: its readable ``projections`` part), made again from its saved
    projector exactly as its fit wrote them: ``{table: rows}``.

    The projector keeps its fitted rows' coordinates (``embedding_``), so the fitted points come back bit
    for bit, whatever the kind (t-SNE and UMAP included); they are rebuilt only when the space's sections
    now are the ones it was fitted on (same count, same column means and scales as the fit's). Refused
    (StoreError saying why and what to run): the projector is gone or unusable; the map was fitted on a
    sample and the other sections placed by t-SNE/UMAP's optimisation (coordinates the projector does not
    keep); sections were placed on it after its fit and its points are lost (the batches they were placed
    in are not recorded, and t-SNE/UMAP place a batch together); ``projection_info`` of a projector saved
    without its fit's seconds (stores made before repair kept them).
    """
    part = PROJECTIONS.part(space=space, kind=kind, dims=dims)
    refit = "'sectionist refit --maps' fits the maps anew (their coordinates move)"
    row = info.iloc[0].to_dict() if info is not None and len(info) else None
    key = (row["model_key"] if row is not None and isinstance(row.get("model_key"), str)
           else projection_model_key(space, kind, dims))
    proj = require_model(store, key, f"map {part}", refit)
    params = proj.params_
    if "fit_sample" in params:
        raise StoreError(f"map {part}: fitted on a sample of {params['fit_sample']} sections, the other "
                         f"{params.get('placed_by_transform', '?')} placed by {kind}'s optimisation, whose "
                         f"coordinates its projector does not keep, so it cannot be rebuilt exactly; {refit}")
    E = np.asarray(proj.embedding_, dtype=np.float64)
    new = {}
    if points is None:
        n_placed = int(row.get("n_placed") or 0) if row is not None else 0
        if n_placed:
            raise StoreError(f"map {part}: {n_placed} sections were placed on it after its fit, in batches the "
                             f"store does not record ({kind} places a batch together), so their coordinates cannot "
                             f"be reproduced exactly; {refit}")
        ids, X, _ = space_section_matrix(store, space)
        if not fitted_on(proj, X):
            raise StoreError(f"map {part}: its projector was fitted on {len(E)} sections and the {len(ids)} sections "
                             f"of space {space} now are not those (sections added or changed since its fit); which "
                             f"sections it drew is lost with its part; {refit}")
        points = new[PROJECTIONS] = map_frame(space, kind, dims, ids, E)
    placed = points["placed"].fillna(False).astype(bool).to_numpy() if "placed" in points else np.zeros(len(points), bool)
    fit_pts = points[~placed]
    if len(fit_pts) != len(E) or not all(np.array_equal(fit_pts[c].to_numpy(dtype=np.float64), E[:, i])
                                         for i, c in enumerate(("x", "y", "z")[:dims])):
        raise StoreError(f"map {part}: its projections part does not hold its projector's fitted coordinates; "
                         "nothing written")
    if row is None:
        seconds = (store.read_json(key + ".json", default={}) or {}).get("seconds")
        if seconds is None:
            raise StoreError(f"map {part}: how long its fit took is recorded nowhere else (its projector was saved "
                             f"before the fit's seconds were kept beside it), so its projection_info part cannot be "
                             f"rebuilt as it was; {refit}")
        new[PROJECTION_INFO] = map_info_frame(space, kind, dims, proj, n_sections=len(fit_pts), seconds=seconds,
                                              model_key=key, n_placed=int(placed.sum()))
    elif int(row["n_sections"]) != len(E) or int(row.get("n_placed") or 0) != int(placed.sum()):
        raise StoreError(f"map {part}: its projection_info part does not match its projector and points; "
                         "nothing written")
    return new


def fitted_on(proj, X: np.ndarray) -> bool:
    """Whether the rows ``X`` (in this order) are those ``proj`` was fitted on: same count, same column means
    and scales, computed as its fit computed them (bit for bit)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape != (len(proj.embedding_), proj.n_features_in_):
        return False
    scale = X.std(axis=0)
    scale[scale <= 1e-12] = 1.0
    return bool(np.array_equal(proj.mean_, X.mean(axis=0)) and np.array_equal(proj.scale_, scale))
