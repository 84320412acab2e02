"""One run over a store (:func:`cluster_store`): load → fit → stability / explanation / truth → write.

The store steps around the pure ones: :func:`explain_from_store` and :func:`truth_from_store`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.analysis.modeling.explain import Explanation
from sectionist.analysis.modeling.maps import ensure_maps
from sectionist.analysis.modeling.persistence import run_model_key, save_model
from sectionist.analysis.modeling.runmodel import RunModel
from sectionist.analysis.modeling.roles import song_relative_space, split_space
from sectionist.analysis.modeling.runs import LARGE_ROWS, RunResult, fit_run
from sectionist.analysis.modeling.scores import STABILITY_REPEATS, run_stability, score_truth
from sectionist.analysis.modeling.spaces import feature_matrix, load_space, read_sections, relative_to_song
from sectionist.analysis.modeling.specs import RunSpec, versioned_run_id
from sectionist.analysis.modeling.tables import run_rows, write_run
from sectionist.analysis.modeling.versions import latest_version

log = logging.getLogger(__name__)


def explain_from_store(store, result: RunResult, *, progress: bool = False) -> Explanation | None:
    """Explain a run with the readable features of its sections (``classical`` runs with all
    classical features, every other run with ``classical17``; a song-relative run with those features
    relative to the song, e.g. ``classical17-role``, so that its explanation speaks of what it clustered).

    A run fitted on the large-corpus path (``result.large``) is explained on a sample of its
    sections stratified by cluster (:func:`sectionist.analysis.modeling.explain.stratified_sample`, about
    :data:`sectionist.analysis.modeling.explain.EXPLAIN_SAMPLE` sections, every cluster present): only those sections get
    ``explanations`` rows, and the clusters' SHAP rankings come from them.

    Returns
    -------
    Explanation or None
        None when the run has a single cluster or the store lacks those features (logged).
    """
    from sectionist.analysis.modeling import explain as explain_mod
    from sectionist.analysis.modeling.explain import explain_run

    if len(np.unique(result.labels)) < 2:
        return None
    base, kind = split_space(result.spec.space)
    explain_space = readable = "classical" if base == "classical" else "classical17"
    if kind is not None:
        explain_space = song_relative_space(readable, kind)
    try:
        if result.large is None:
            feats, fcols = feature_matrix(store, explain_space, set(result.section_ids))
        else:  # a hash lookup instead of isin(set) of a million strings
            feats, fcols = feature_matrix(store, readable)
            feats = feats[pd.Index(result.section_ids).get_indexer(feats["section_id"]) >= 0]
            if kind is not None:  # relative to the run's sections of each song, as the run's own rows
                feats = relative_to_song(feats.reset_index(drop=True), fcols, kind)
    except StoreError as exc:
        log.warning("run %s: not explained (%s)", result.run_id, exc)
        return None
    if result.large is not None:
        labels = result.labels_of(feats["section_id"].to_numpy())
        keep = explain_mod.stratified_sample(labels, explain_mod.EXPLAIN_SAMPLE, random_state=result.spec.seed)
        feats = feats.iloc[keep]
        result.large["explained_sample"] = int(len(keep))
    return explain_run(result, feats["section_id"].to_numpy(), feats[fcols].to_numpy(np.float64), fcols,
                       space=explain_space, progress=progress)


def truth_from_store(store, result: RunResult) -> dict:
    """:func:`sectionist.analysis.modeling.scores.score_truth` against the sections' ``truth_label``, where the store has it."""
    sections = read_sections(store).set_index("section_id")
    truth = sections["truth_label"].reindex(result.section_ids).to_numpy() if "truth_label" in sections else None
    return score_truth(result, truth)


def profiles_from_store(store, result: RunResult) -> pd.DataFrame | None:
    """classical17 features of the run's sections (indexed by section id), for the cluster profiles."""
    try:
        pf, pcols = feature_matrix(store, "classical17", set(result.section_ids))
    except StoreError:
        return None
    return pf.set_index("section_id")[pcols]


def cluster_store(store, space: str = "classical17", method: str = "kmeans", k="auto", scaling: str = "standard",
                  seed: int = 0, level: str | None = None, *, central_only: bool = False, explain: bool = True,
                  stability: bool = True, n_repeats: int = STABILITY_REPEATS, project: bool = True,
                  method_params: dict | None = None, progress: bool = True, version: int | None = None,
                  large_rows: int = LARGE_ROWS) -> str:
    """Cluster one space of a store and write the run's tables, as a new run: a run id is never refitted.

    The first fit of a set of options is written under the id those options make (its *lineage*,
    :func:`sectionist.analysis.modeling.specs.make_run_id`: e.g. ``classical17-kmeans-auto``, or
    ``classical17-gmm-auto-3f9a1c`` with a non-default covariance or K rule); fitting the same options
    again writes the next version, ``{lineage}~v2`` and so on, and leaves the earlier versions (and the
    verdicts on them) as they are. Other options are another lineage, never a version of this one.
    The fitted scaler and model are saved under ``models/runs/{run_id}.joblib`` (``runs.model_key``)
    so that sections added later can be placed without a refit (:func:`sectionist.analysis.modeling.placement.place_new_sections`).

    The steps: :func:`sectionist.analysis.modeling.spaces.load_space` → :func:`sectionist.analysis.modeling.runs.fit_run` → :func:`sectionist.analysis.modeling.scores.run_stability`,
    :func:`explain_from_store` (:func:`sectionist.analysis.modeling.explain.explain_run`), :func:`truth_from_store`
    (:func:`sectionist.analysis.modeling.scores.score_truth`) → :func:`sectionist.analysis.modeling.tables.run_rows` → :func:`sectionist.analysis.modeling.tables.write_run`.

    Parameters
    ----------
    store : store.Store
    space : str
        ``classical17``, ``classical`` or an embedder with frames in the store, or one of them relative
        to each song (``classical17-role``, :mod:`sectionist.analysis.modeling.roles`).
    method : str
        A key of :data:`sectionist.analysis.modeling.estimators.REGISTRY`.
    k : "auto" or int
        Number of clusters (ignored by ``hdbscan``).
    scaling : {"standard", "l2cols", "none"}
    seed : int
    level : {"section", "frame", "section-mean"}, optional
        See :func:`sectionist.analysis.modeling.spaces.load_space`.
    central_only : bool
        Cluster only central sections (default: all; ``sections.is_central`` lets readers filter).
    explain : bool
        Fit the surrogate model and store SHAP values (needs the ``features`` table).
    stability : bool
        Refit ``n_repeats`` times on bootstrap resamples and store co-assignment rates.
    project : bool
        Fit the space's maps that do not exist yet and draw the run's centroids on every map of the
        space (:func:`sectionist.analysis.modeling.maps.ensure_maps`; existing maps are never refitted).
    method_params : dict, optional
        Extra estimator parameters (e.g. ``{"covariance_type": "full"}``).
    version : int, optional
        Version to write (default: one more than the lineage's latest, 1 for a new lineage).
    large_rows : int
        Above this many rows the run, its explanation and its new maps take the large-corpus path
        (:func:`sectionist.analysis.modeling.runs.fit_run`, ``docs/modeling.md``).

    Returns
    -------
    str
        The run id.
    """
    t0 = time.perf_counter()
    spec = RunSpec(space, method, k, scaling=scaling, level=None, seed=seed, central_only=central_only,
                   method_params=dict(method_params or {}))
    data = load_space(store, space, level=level, central_only=central_only)
    n_sec = len(data.section_ids)
    if n_sec < 3:
        raise StoreError(f"{store.uri}: only {n_sec} section(s) in space {space!r}; need at least 3 to cluster")
    log.info("run %s: %d sections, %d rows × %d columns", replace(spec, level=data.level).run_id, n_sec, *data.X.shape)

    result = fit_run(data, spec, large_rows=large_rows)
    if version is None:
        version = latest_version(store, result.run_id) + 1
    stab = run_stability(data, result, n_repeats=n_repeats, progress=progress) if stability else None
    explanation = explain_from_store(store, result, progress=progress) if explain else None
    truth = truth_from_store(store, result)
    model_key = save_model(store, run_model_key(versioned_run_id(result.run_id, version)), RunModel.of(result))
    rows = run_rows(result, stability=stab, explanation=explanation, truth=truth, profile=profiles_from_store(store, result),
                    seconds=time.perf_counter() - t0, version=version, model_key=model_key)
    run_id = write_run(store, rows)
    log.info("run %s: K=%d silhouette=%.3f ARI(truth)=%s in %.1f s", run_id, result.n_clusters,
             result.quality["silhouette"], truth["ari"], rows.runs["seconds"].iloc[0])
    if project:
        ensure_maps(store, space, seed=seed, progress=progress, run_ids={run_id}, large_rows=large_rows)
    return run_id
