"""A space's maps (projections): fitting them, their saved projectors, and the runs' centroids drawn on them."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd

from sectionist.store.schema import CENTROID_PROJECTIONS, CLUSTERS, PROJECTION_INFO, PROJECTIONS, RUNS

from sectionist.analysis.modeling.persistence import load_model, projection_model_key, save_model
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
        store.write_part(PROJECTIONS, part, pd.DataFrame({
            "space": space, "kind": kind, "dims": dims, "section_id": ids,
            "x": E[:, 0], "y": E[:, 1], "z": E[:, 2] if dims == 3 else np.full(len(ids), np.nan),
            "placed": False,
        }))
        key = save_model(store, projection_model_key(space, kind, dims), proj)
        evr = proj.explained_variance_ratio_
        store.write_part(PROJECTION_INFO, part, pd.DataFrame([{
            "space": space, "kind": kind, "dims": dims, "params": json_text(proj.params_),
            "explained_variance_ratio": evr.tolist() if evr is not None else None,
            "n_sections": len(ids), "seconds": round(time.perf_counter() - t0, 3),
            "model_key": key, "n_placed": 0,
        }]))
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
        cl = store.read_part(CLUSTERS, run_id)
        cl = cl[cl["cluster"] >= 0]
        if cl.empty:
            continue
        cents = np.array([[json.loads(c)[col] for col in columns] for c in cl["centroid"]], dtype=np.float64)
        rows = []
        for (kind, dims), proj in projectors.items():
            P = proj.transform(cents)
            for i, c in enumerate(cl["cluster"]):
                rows.append({"run_id": run_id, "space": space, "kind": kind, "dims": dims, "cluster": int(c),
                             "x": P[i, 0], "y": P[i, 1], "z": P[i, 2] if dims == 3 else np.nan})
        store.write_part(CENTROID_PROJECTIONS, run_id, pd.DataFrame(rows))
