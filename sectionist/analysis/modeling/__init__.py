"""Modelling over a store: cluster a space, project it, explain and compare runs.

Reads ``sections``, ``features`` and ``frames``; writes ``runs``, ``clusterings``, ``clusters``,
``explanations``, ``projections``, ``projection_info``, ``centroid_projections``, ``comparisons``
and ``comparison_sections`` (see ``docs/store.md``). Everything is seeded and every part is keyed
by a readable, deterministic id; a run id is never refitted (fitting the same options again
writes the next version, ``{lineage}~v{n}``), and sections added later are placed into existing
runs and maps with their saved models (:func:`place_new_sections`).

One run is a chain of steps (``docs/modeling.md``): :func:`load_space` reads the rows,
:func:`sectionist.analysis.modeling.runs.fit_run` fits them without the store, :func:`sectionist.analysis.modeling.runs.run_stability`,
:func:`sectionist.analysis.modeling.explain.explain_run` and :func:`sectionist.analysis.modeling.runs.score_truth` add stability, SHAP
explanations and ground-truth scores, :func:`run_rows` turns it all into table rows and
:func:`write_run` writes them.

Entry points: :func:`cluster_store` (one run), :func:`project_space`, :func:`compare_store`,
:func:`run_default_models` (what ``sectionist analyze`` runs at the end), and the sub-commands
``sectionist cluster``, ``sectionist compare`` and ``sectionist cluster-defaults``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import combinations

import numpy as np
import pandas as pd

from sectionist.store.schema import (
    CENTROID_PROJECTIONS,
    CLUSTERINGS,
    CLUSTERS,
    COMPARISON_SECTIONS,
    COMPARISONS,
    EXPLANATIONS,
    FEATURES,
    PROJECTION_INFO,
    PROJECTIONS,
    RUNS,
    SECTIONS,
    embedders_in,
    frame_columns,
    read_frames,
    section_vectors,
)

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.modeling.explain import Explanation
from sectionist.analysis.modeling.runs import LARGE_FIT_SAMPLE, LARGE_ROWS, LEVELS, STABILITY_REPEATS, RunResult, RunSpec, SpaceData, Stability, RunModel, fit_run, make_run_id, parse_k, place_sections, placed_drift, run_stability, score_truth, subset_space, versioned_run_id

log = logging.getLogger(__name__)

#: The reference study's number of clusters: always fitted as a named default run next to the automatic K.
REFERENCE_K = 4
#: Projections made for every space: (kind, dimensions).
DEFAULT_PROJECTIONS = (("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2))
N_PROTOTYPES = 5
N_BORDERLINE = 5


# ---- reading the store -------------------------------------------------------------------------


def feature_spaces() -> dict:
    from sectionist.analysis.sections.features import FEATURE_SETS

    return FEATURE_SETS


def embedders_in_store(store) -> list[str]:
    """Embedders that have frames in the store."""
    return embedders_in(store)


def read_sections(store) -> pd.DataFrame:
    sections = store.read_table(SECTIONS)
    if sections.empty or "section_id" not in sections:
        raise StoreError(f"{store.uri}: no sections table (run 'sectionist analyze' first)")
    return sections.sort_values("section_id").reset_index(drop=True)


def _feature_matrix(store, space: str, section_ids=None) -> tuple[pd.DataFrame, list[str]]:
    """Section ids and the columns of feature set ``space``, rows with non-finite values dropped."""
    from sectionist.analysis.sections.features import feature_columns

    feats = store.read_table(FEATURES)
    if feats.empty:
        raise StoreError(f"{store.uri}: no features table (run 'sectionist analyze' first)")
    wanted = feature_columns(space)
    cols = [c for c in wanted if c in feats.columns]
    missing = [c for c in wanted if c not in feats.columns]
    if space == "classical17" and missing:
        raise StoreError(f"{store.uri}: features table lacks {', '.join(missing)}")
    if not cols:
        raise StoreError(f"{store.uri}: features table has no column of feature set {space!r}")
    df = feats[["section_id", "song_id"] + cols].sort_values("section_id")
    if section_ids is not None:
        df = df[df["section_id"].isin(set(section_ids))]
    vals = df[cols].to_numpy(dtype=np.float64)
    finite = np.isfinite(vals).all(axis=1)
    if not finite.all():
        log.warning("%s: %d section(s) with missing %s feature values left out", store.uri, (~finite).sum(), space)
    return df[finite].reset_index(drop=True), cols


def load_space(store, space: str, *, level: str | None = None, central_only: bool = False) -> SpaceData:
    """Rows of ``space`` (a feature set or an embedder) for clustering.

    Parameters
    ----------
    space : str
        ``classical17``, ``classical``, or an embedder with frames in the store.
    level : {"section", "frame", "section-mean"}, optional
        Feature sets are section level; embedders default to ``frame`` (cluster frames, label each
        section by its most frequent frame label) or ``section-mean`` (cluster section means).
    central_only : bool
        Keep only sections marked ``is_central``.
    """
    sections = read_sections(store)
    keep = sections
    if central_only:
        keep = sections[sections["is_central"].fillna(False).astype(bool)]
        if keep.empty:
            raise StoreError(f"{store.uri}: no central sections")
    wanted = set(keep["section_id"])
    if space in feature_spaces():
        if level not in (None, "section"):
            raise ParameterError(f"level={level!r}: feature set {space!r} is section level only")
        df, cols = _feature_matrix(store, space, wanted)
        return SpaceData(space, "section", df["section_id"].to_numpy(), df["song_id"].to_numpy(),
                         df[cols].to_numpy(np.float64), None, cols)
    level = level or "frame"
    if level not in ("frame", "section-mean"):
        raise ParameterError(f"level={level!r}: embedder spaces use 'frame' or 'section-mean'")
    fr = read_frames(store, space)
    fr = fr[fr["section_id"].isin(wanted)]
    song_of = dict(zip(sections["section_id"], sections["song_id"]))
    if level == "section-mean":
        section_ids, X, cols = section_vectors(store, space, frames=fr)
        if not len(section_ids):
            raise StoreError(f"{store.uri}: no usable frames of {space!r}")
        song_ids = np.array([song_of.get(s, "") for s in section_ids])
        return SpaceData(space, level, section_ids, song_ids, X, None, cols)
    cols = frame_columns(fr.columns)
    if not cols:
        raise StoreError(f"{store.uri}: frames of {space!r} have no e0..eN columns")
    fr = fr.sort_values(["section_id", "start_s"], kind="stable")
    vals = fr[cols].to_numpy(np.float64)
    finite = np.isfinite(vals).all(axis=1)
    fr, vals = fr[finite], vals[finite]
    if fr.empty:
        raise StoreError(f"{store.uri}: no usable frames of {space!r}")
    section_ids, groups = np.unique(fr["section_id"].to_numpy(), return_inverse=True)
    song_ids = np.array([song_of.get(s, "") for s in section_ids])
    return SpaceData(space, level, section_ids, song_ids, vals, groups.astype(np.int64), cols)


# ---- fitted models in the store, and run versions -----------------------------------------------

#: Store folder of the fitted models (``models/runs/{run_id}.joblib``, ``models/projections/{space}/{kind}{dims}.joblib``).
MODELS_PREFIX = "models"
#: Libraries whose versions are recorded beside each saved model; a model saved under other
#: versions of any of them is not loaded (its run or map does not cover new sections; see :func:`load_model`).
MODEL_LIBRARIES = ("numpy", "scipy", "scikit-learn", "joblib", "openTSNE", "umap-learn", "pynndescent")


def run_model_key(run_id: str) -> str:
    """Store key of a run's fitted model."""
    RUNS.part(run_id=run_id)  # a bad run id: StoreError
    return f"{MODELS_PREFIX}/runs/{run_id}.joblib"


def projection_model_key(space: str, kind: str, dims: int) -> str:
    """Store key of a map's fitted projector."""
    return f"{MODELS_PREFIX}/projections/{PROJECTIONS.part(space=space, kind=kind, dims=dims)}.joblib"


def model_libraries() -> dict:
    """``{library: version}`` of :data:`MODEL_LIBRARIES` installed here (and of sectionist)."""
    import importlib.metadata as md

    from sectionist.analysis import __version__

    out = {"sectionist": __version__}
    for name in MODEL_LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def save_model(store, key: str, obj) -> str:
    """Save a fitted model under ``key`` (joblib) with the library versions beside it (``key + ".json"``).

    Both are written atomically; returns ``key``. Model files are pickles: load them only from a
    store you trust (the dashboard never loads them).
    """
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    store.write_bytes(key, buf.getvalue())
    store.write_json(key + ".json", {"libraries": model_libraries(), "type": type(obj).__name__,
                                     "bytes": len(buf.getvalue())})
    return key


def load_model(store, key):
    """The model saved under ``key``, or None with a warning when it is absent or was saved by other
    library versions (what it would place is then reported as not covered, never guessed)."""
    import io
    import warnings

    if not isinstance(key, str) or not key:
        return None
    if not store.exists(key):
        log.warning("%s/%s: model file missing; what it would place stays uncovered", store.uri, key)
        return None
    saved = (store.read_json(key + ".json", default={}) or {}).get("libraries") or {}
    now = model_libraries()
    differ = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) != v}
    if differ:
        msg = (f"{store.uri}/{key} was saved with other library versions ("
               + ", ".join(f"{k} {a or '?'} here {b}" for k, (a, b) in sorted(differ.items()))
               + "); it is not used, so new sections stay uncovered by it: 'sectionist refit' fits a new "
               "version with these libraries")
        warnings.warn(msg, stacklevel=2)
        log.warning(msg)
        return None
    import joblib

    try:
        return joblib.load(io.BytesIO(store.read_bytes(key)))
    except Exception as exc:  # a damaged or foreign file must not stop the analysis
        log.warning("%s/%s: model file unreadable (%s: %s); what it would place stays uncovered",
                    store.uri, key, type(exc).__name__, exc)
        return None


def latest_version(store, lineage: str, runs: pd.DataFrame | None = None) -> int:
    """The highest version of ``lineage`` in the store (0 when it has none)."""
    runs = store.read_table(RUNS) if runs is None else runs
    if runs.empty:
        return 0
    mine = runs[runs["lineage"] == lineage]
    return int(mine["version"].max()) if len(mine) else 0


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest version of each lineage among ``runs`` rows."""
    if runs.empty:
        return runs
    return runs.sort_values(["lineage", "version"]).groupby("lineage", as_index=False).tail(1)


# ---- one run: load → fit_run → stability / explanation / truth → write ---------------------------

_parse_k = parse_k  # kept for callers of the former private name


def _json(obj) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _nan_to_none(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else float(x)


def explain_from_store(store, result: RunResult, *, progress: bool = False) -> Explanation | None:
    """Explain a run with the readable features of its sections (``classical`` runs with all
    classical features, every other run with ``classical17``).

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
    explain_space = "classical" if result.spec.space == "classical" else "classical17"
    try:
        if result.large is None:
            feats, fcols = _feature_matrix(store, explain_space, set(result.section_ids))
        else:  # a hash lookup instead of isin(set) of a million strings
            feats, fcols = _feature_matrix(store, explain_space)
            feats = feats[pd.Index(result.section_ids).get_indexer(feats["section_id"]) >= 0]
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
    """:func:`sectionist.analysis.modeling.runs.score_truth` against the sections' ``truth_label``, where the store has it."""
    sections = read_sections(store).set_index("section_id")
    truth = sections["truth_label"].reindex(result.section_ids).to_numpy() if "truth_label" in sections else None
    return score_truth(result, truth)


def _profiles(store, result: RunResult) -> pd.DataFrame | None:
    """classical17 features of the run's sections (indexed by section id), for the cluster profiles."""
    try:
        pf, pcols = _feature_matrix(store, "classical17", set(result.section_ids))
    except StoreError:
        return None
    return pf.set_index("section_id")[pcols]


@dataclass
class RunRows:
    """The rows one run writes: a ``runs`` row, and its ``clusterings``, ``clusters`` and
    ``explanations`` parts (``explanations`` None: the run is not explained and its part is removed)."""

    runs: pd.DataFrame
    clusterings: pd.DataFrame
    clusters: pd.DataFrame
    explanations: pd.DataFrame | None


def run_rows(result: RunResult, *, stability: Stability | None = None, explanation: Explanation | None = None,
             truth: dict | None = None, profile: pd.DataFrame | None = None, seconds: float = float("nan"),
             created_at: str | None = None, version: int = 1, model_key: str | None = None) -> RunRows:
    """Turn a fitted run and its other steps into the rows of its tables (pure; see ``docs/store.md``).

    Parameters
    ----------
    result : RunResult
        From :func:`sectionist.analysis.modeling.runs.fit_run`.
    stability : Stability, optional
        From :func:`sectionist.analysis.modeling.runs.run_stability`; None: not asked for (NaN rates, 0 repeats).
    explanation : Explanation, optional
        From :func:`sectionist.analysis.modeling.explain.explain_run`.
    truth : dict, optional
        From :func:`sectionist.analysis.modeling.runs.score_truth` (``ari``, ``nmi``); None: no truth (NaN).
    profile : pd.DataFrame, optional
        Readable features of the sections (index: section id), averaged per cluster.
    seconds : float
        Wall time of the run.
    created_at : str, optional
        ISO time stamp (default: now, UTC).
    version : int
        Version of the run within its lineage (``result.run_id``): version 1 is written under the
        lineage's id, a later one under ``{lineage}~v{version}`` (:func:`sectionist.analysis.modeling.runs.versioned_run_id`).
    model_key : str, optional
        Store key of the run's saved :class:`sectionist.analysis.modeling.runs.RunModel` (:func:`save_model`).

    Returns
    -------
    RunRows
    """
    spec = result.spec
    lineage = result.run_id
    run_id = versioned_run_id(lineage, version)
    labels, n_sec = result.labels, result.n_sections
    ranking = explanation.ranking if explanation is not None else {}
    ts = truth if truth is not None else {"ari": np.nan, "nmi": np.nan, "n": 0}
    stab_rate = stability.rate if stability is not None else np.full(n_sec, np.nan)
    stab_ari = stability.ari if stability is not None else float("nan")

    cluster_rows = []
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        ids = result.section_ids[members]
        row = {"run_id": run_id, "cluster": int(c), "size": int(len(members)),
               "n_songs": int(len(set(result.song_ids[members])))}
        if c >= 0:
            row["centroid"] = _json(dict(zip(result.columns, result.centroids[c].tolist())))
            order = np.argsort(result.distance[members], kind="stable")
            row["prototypes"] = ids[order[:N_PROTOTYPES]].tolist()
            s_order = np.argsort(np.nan_to_num(result.silhouette[members], nan=np.inf), kind="stable")
            row["borderline"] = ids[s_order[:N_BORDERLINE]].tolist()
        else:
            row["centroid"] = None
            row["prototypes"] = []
            row["borderline"] = []
        if profile is not None:
            prof = profile.reindex([i for i in ids if i in profile.index]).mean()
            row["profile"] = _json({kk: _nan_to_none(v) for kk, v in prof.items()})
        else:
            row["profile"] = None
        row["shap_ranking"] = _json(ranking.get(int(c), []))
        cluster_rows.append(row)

    proba, distribution = result.proba, result.label_distribution
    clusterings = pd.DataFrame({
        "run_id": run_id,
        "section_id": result.section_ids,
        "label": labels.astype(np.int64),
        "confidence": result.confidence.astype(np.float64),
        "distance": result.distance.astype(np.float64),
        "silhouette": result.silhouette.astype(np.float64),
        "stability": stab_rate.astype(np.float64),
        "proba": list(np.round(proba, 6).tolist()) if proba is not None else [None] * n_sec,
        "label_distribution": list(np.round(distribution, 6).tolist()) if distribution is not None else [None] * n_sec,
        "placed": False,
    })
    n_clusters = result.n_clusters
    k_label = f"K={n_clusters}" + (" auto" if spec.k == "auto" and spec.uses_k else "")
    params = {"k": spec.k, "k_range": result.k_range, "scaling": spec.scaling, "level": spec.level,
              "central_only": spec.central_only, "stability_repeats": stability.n_repeats if stability else 0,
              "explained_with": explanation.space if explanation is not None else None,
              "k_reason": result.k_reason, **spec.params}
    if result.large is not None:
        params["large"] = result.large
    quality = result.quality
    run = {
        "run_id": run_id, "space": spec.space, "method": spec.method, "scaling": spec.scaling, "level": spec.level,
        "k": n_clusters, "seed": int(spec.seed), "params": _json(params),
        "silhouette": quality["silhouette"], "davies_bouldin": quality["davies_bouldin"],
        "calinski_harabasz": quality["calinski_harabasz"],
        "bic": result.bic if result.bic is not None else np.nan,
        "stability_ari": stab_ari, "fidelity": explanation.fidelity if explanation is not None else float("nan"),
        "ari_truth": ts["ari"], "nmi_truth": ts["nmi"],
        "n_sections": int(n_sec), "n_clusters": n_clusters,
        "curves": _json(result.curves),
        "created_at": created_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label": f"{spec.method} ({k_label}) on {spec.space}" + (f", {spec.level}" if spec.level != "section" else ""),
        "seconds": round(seconds, 3),
        "lineage": lineage, "version": int(version), "model_key": model_key,
        "n_placed": 0, "placed_drift": float("nan"),
        "k_rule": result.k_rule, "k_min": result.k_min, "k_max": result.k_max, "k_at_edge": bool(result.k_at_edge),
    }
    shap_df = None
    if explanation is not None:
        shap_df = explanation.shap.copy()
        shap_df.insert(0, "run_id", run_id)
    return RunRows(pd.DataFrame([run]), clusterings, pd.DataFrame(cluster_rows), shap_df)


def write_run(store, rows: RunRows) -> str:
    """Write a run's parts (its ``runs`` part last: a run exists once that part does); returns the run id."""
    run_id = rows.runs["run_id"].iloc[0]
    store.write_part(CLUSTERINGS, run_id, rows.clusterings)
    store.write_part(CLUSTERS, run_id, rows.clusters)
    if rows.explanations is not None:
        store.write_part(EXPLANATIONS, run_id, rows.explanations)
    else:
        store.delete_part(EXPLANATIONS, run_id)
    store.write_part(RUNS, run_id, rows.runs)
    return run_id


def cluster_store(store, space: str = "classical17", method: str = "kmeans", k="auto", scaling: str = "standard",
                  seed: int = 0, level: str | None = None, *, central_only: bool = False, explain: bool = True,
                  stability: bool = True, n_repeats: int = STABILITY_REPEATS, project: bool = True,
                  method_params: dict | None = None, progress: bool = True, version: int | None = None,
                  large_rows: int = LARGE_ROWS) -> str:
    """Cluster one space of a store and write the run's tables, as a new run: a run id is never refitted.

    The first fit of a set of options is written under its readable id (its *lineage*, e.g.
    ``classical17-kmeans-auto``); fitting the same options again writes the next version,
    ``{lineage}~v2`` and so on, and leaves the earlier versions (and the verdicts on them) as they are.
    The fitted scaler and model are saved under ``models/runs/{run_id}.joblib`` (``runs.model_key``)
    so that sections added later can be placed without a refit (:func:`place_new_sections`).

    The steps: :func:`load_space` → :func:`sectionist.analysis.modeling.runs.fit_run` → :func:`sectionist.analysis.modeling.runs.run_stability`,
    :func:`explain_from_store` (:func:`sectionist.analysis.modeling.explain.explain_run`), :func:`truth_from_store`
    (:func:`sectionist.analysis.modeling.runs.score_truth`) → :func:`run_rows` → :func:`write_run`.

    Parameters
    ----------
    store : store.Store
    space : str
        ``classical17``, ``classical`` or an embedder with frames in the store.
    method : str
        A key of :data:`sectionist.analysis.modeling.clustering.REGISTRY`.
    k : "auto" or int
        Number of clusters (ignored by ``hdbscan``).
    scaling : {"standard", "l2cols", "none"}
    seed : int
    level : {"section", "frame", "section-mean"}, optional
        See :func:`load_space`.
    central_only : bool
        Cluster only central sections (default: all; ``sections.is_central`` lets readers filter).
    explain : bool
        Fit the surrogate model and store SHAP values (needs the ``features`` table).
    stability : bool
        Refit ``n_repeats`` times on bootstrap resamples and store co-assignment rates.
    project : bool
        Fit the space's maps that do not exist yet and draw the run's centroids on every map of the
        space (:func:`ensure_maps`; existing maps are never refitted).
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
    rows = run_rows(result, stability=stab, explanation=explanation, truth=truth, profile=_profiles(store, result),
                    seconds=time.perf_counter() - t0, version=version, model_key=model_key)
    run_id = write_run(store, rows)
    log.info("run %s: K=%d silhouette=%.3f ARI(truth)=%s in %.1f s", run_id, result.n_clusters,
             result.quality["silhouette"], truth["ari"], rows.runs["seconds"].iloc[0])
    if project:
        ensure_maps(store, space, seed=seed, progress=progress, run_ids={run_id}, large_rows=large_rows)
    return run_id


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
        project_centroids(store, space, projectors, _space_section_matrix(store, space)[2], run_ids=run_ids)
    return []


# ---- projections -------------------------------------------------------------------------------------


def _space_section_matrix(store, space: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Section ids and one row per section of ``space`` (all sections; embedders: frame means)."""
    if space in feature_spaces():
        df, cols = _feature_matrix(store, space)
        return df["section_id"].to_numpy(), df[cols].to_numpy(np.float64), cols
    data = load_space(store, space, level="section-mean")
    return data.section_ids, data.X, data.columns


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

    ids, X, cols = _space_section_matrix(store, space)
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
            "space": space, "kind": kind, "dims": dims, "params": _json(proj.params_),
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


# ---- comparisons -------------------------------------------------------------------------------------


def compare_store(store, runs: list[str] | None = None, *, progress: bool = True, involving=None) -> pd.DataFrame:
    """Compare every pair of runs (on their common sections) and every run with the ground truth.

    ``involving`` (a set of run ids) limits the pairs to those with at least one of these runs (e.g.
    the runs whose placed sections changed).

    Writes ``comparisons`` and ``comparison_sections`` parts ``{run_a}__{run_b}`` (pairs in sorted
    order), removes parts of pairs whose runs are gone, and returns one tidy table: one row per
    pair, ``run_b == "truth"`` for the ground-truth rows.

    Returns
    -------
    pd.DataFrame
        Columns run_a, run_b, n_sections, agreement, ari, nmi.
    """
    from sectionist.analysis.modeling.compare import compare_labelings, truth_scores

    all_runs = store.read_table(RUNS)
    present = sorted(all_runs["run_id"]) if not all_runs.empty else []
    wanted = sorted(present if runs is None else runs)
    unknown = sorted(set(wanted) - set(present))
    if unknown:
        raise ParameterError(f"unknown run(s) {', '.join(unknown)}; runs in {store.uri}: {', '.join(present) or 'none'}")
    labels = {r: store.read_part(CLUSTERINGS, r, columns=["section_id", "label"]).set_index("section_id")["label"]
              for r in wanted}
    rows = []
    pairs = list(combinations(wanted, 2))
    if involving is not None:
        pairs = [(a, b) for a, b in pairs if a in involving or b in involving]
    it = pairs
    if progress and pairs:
        from tqdm.auto import tqdm

        it = tqdm(pairs, desc="comparisons", leave=False, disable=None)
    for a, b in it:
        common = labels[a].index.intersection(labels[b].index).sort_values()
        part = f"{a}__{b}"
        if len(common) == 0:
            log.warning("runs %s and %s share no section; not compared", a, b)
            continue
        la, lb = labels[a].reindex(common).to_numpy(), labels[b].reindex(common).to_numpy()
        comp = compare_labelings(la, lb)
        store.write_part(COMPARISONS, part, pd.DataFrame([{
            "run_a": a, "run_b": b, "n_sections": len(common), "agreement": comp.agreement, "ari": comp.ari,
            "nmi": comp.nmi, "mapping": _json({str(kk): int(v) for kk, v in comp.mapping.items()}),
            "contingency": _json({"rows": comp.rows, "cols": comp.cols, "counts": comp.counts.tolist()}),
        }]))
        store.write_part(COMPARISON_SECTIONS, part, pd.DataFrame({
            "section_id": np.asarray(common), "label_a": la, "label_b": lb,
            "label_b_aligned": comp.b_aligned.astype(np.int64), "agree": comp.agree,
        }))
        rows.append({"run_a": a, "run_b": b, "n_sections": len(common), "agreement": comp.agreement,
                     "ari": comp.ari, "nmi": comp.nmi})
    # stale pairs (a run was removed or renamed)
    valid = {f"{a}__{b}" for a, b in combinations(present, 2)}
    for table in (COMPARISONS, COMPARISON_SECTIONS):
        for part in store.list_parts(table):
            if part not in valid:
                store.delete_part(table, part)
    try:
        sections = read_sections(store).set_index("section_id")
    except StoreError:
        sections = pd.DataFrame()
    if "truth_label" in sections:
        for r in wanted:
            truth = sections["truth_label"].reindex(labels[r].index).to_numpy()
            ts = truth_scores(labels[r].to_numpy(), truth)
            if ts["n"]:
                rows.append({"run_a": r, "run_b": "truth", "n_sections": ts["n"], "agreement": ts["agreement"],
                             "ari": ts["ari"], "nmi": ts["nmi"]})
    return pd.DataFrame(rows, columns=["run_a", "run_b", "n_sections", "agreement", "ari", "nmi"])


# ---- placement: new sections into existing runs and maps -----------------------------------------------


@dataclass
class PlacementReport:
    """What :func:`place_new_sections` did.

    Attributes
    ----------
    runs : dict
        ``run_id → sections placed now``.
    maps : dict
        ``"{space}/{kind}{dims}" → sections placed now``.
    uncovered : dict
        ``run_id or map → sections it does not cover`` because it has no usable saved model (a run
        or map from an older store, or a model saved by other library versions).
    """

    runs: dict
    maps: dict
    uncovered: dict

    def lines(self) -> list[str]:
        out = []
        if self.runs:
            out.append("placed new sections into runs: " + ", ".join(f"{r} (+{n})" for r, n in self.runs.items()))
        if self.maps:
            out.append("placed new sections on maps: " + ", ".join(f"{m} (+{n})" for m, n in self.maps.items()))
        for what, n in self.uncovered.items():
            out.append(f"NOT COVERED: {what} has no usable fitted model and does not cover {n} newer section(s); "
                       f"'sectionist refit {what}' fits a new version on every section" if "/" not in what else
                       f"NOT COVERED: map {what} has no usable fitted projector and lacks {n} newer section(s); "
                       "'sectionist refit --maps' refits the maps (they move)")
        return out


def _run_params(row) -> dict:
    try:
        return json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    except json.JSONDecodeError:
        return {}


def _candidate_sections(sections: pd.DataFrame, central_only: bool) -> set:
    if central_only:
        sections = sections[sections["is_central"].fillna(False).astype(bool)]
    return set(sections["section_id"])


def _placed_clusterings(run_id: str, pl) -> pd.DataFrame:
    n = len(pl.section_ids)
    return pd.DataFrame({
        "run_id": run_id, "section_id": pl.section_ids, "label": pl.labels.astype(np.int64),
        "confidence": pl.confidence.astype(np.float64), "distance": pl.distance.astype(np.float64),
        "silhouette": np.full(n, np.nan), "stability": np.full(n, np.nan),
        "proba": list(np.round(pl.proba, 6).tolist()) if pl.proba is not None else [None] * n,
        "label_distribution": (list(np.round(pl.label_distribution, 6).tolist())
                               if pl.label_distribution is not None else [None] * n),
        "placed": True,
    })


def _update_run_placement(store, run_id: str, clusterings: pd.DataFrame) -> bool:
    """Set the run's ``n_placed`` and ``placed_drift`` from its clusterings; True when they changed."""
    run = store.read_part(RUNS, run_id)
    placed = clusterings["placed"].fillna(False).astype(bool).to_numpy()
    n_placed = int(placed.sum())
    drift = placed_drift(clusterings["distance"].to_numpy()[placed], clusterings["distance"].to_numpy()[~placed])
    old_n = int(run["n_placed"].iloc[0]) if "n_placed" in run else 0
    old_d = float(run["placed_drift"].iloc[0]) if "placed_drift" in run and run["placed_drift"].notna().iloc[0] else np.nan
    if old_n == n_placed and (old_d == drift or (np.isnan(old_d) and np.isnan(drift))):
        return False
    run["n_placed"] = n_placed
    run["placed_drift"] = drift
    store.write_part(RUNS, run_id, run)
    return True


def place_new_sections(store, *, progress: bool = True) -> PlacementReport:
    """Label and map the sections that existing runs and maps do not cover yet, with their saved models.

    Every run keeps its fitted sections' rows exactly; rows for the new sections are added to its
    ``clusterings`` part with ``placed = True`` (labels from the run's saved scaler and model, at
    the frame level the mode of the frames' labels; no silhouette or stability, which belong to
    the fit) and its ``n_placed`` / ``placed_drift`` are updated. Every map likewise gets the new
    sections' coordinates from its saved projector (``projections.placed``). Runs and maps without
    a usable saved model are left as they are and reported in :attr:`PlacementReport.uncovered`.
    Safe to interrupt: a rerun places what is still missing and repairs the counts.

    Returns
    -------
    PlacementReport
    """
    report = PlacementReport({}, {}, {})
    runs = store.read_table(RUNS)
    if not store.list_parts(SECTIONS):
        return report
    sections = read_sections(store)
    spaces: dict = {}
    rows = list(runs.to_dict("records")) if not runs.empty else []
    it = rows
    if progress and rows:
        from tqdm.auto import tqdm

        it = tqdm(rows, desc="placing", leave=False, disable=None)
    for row in it:
        run_id = row["run_id"]
        if not store.has_part(CLUSTERINGS, run_id):
            continue
        # the covered sections first (three columns); the whole part only when rows are added
        cl = store.read_part(CLUSTERINGS, run_id, columns=["section_id", "distance", "placed"])
        params = _run_params(row)
        todo = _candidate_sections(sections, bool(params.get("central_only"))) - set(cl["section_id"])
        if todo:
            key = row.get("model_key")
            model = load_model(store, key) if isinstance(key, str) else None
            if model is None:
                report.uncovered[run_id] = len(todo)
            else:
                level = row["level"] if row["level"] != "section" else None
                try:
                    data = subset_space(load_space(store, row["space"], level=level), todo)
                except StoreError as exc:
                    log.warning("run %s: new sections not placed (%s)", run_id, exc)
                    report.uncovered[run_id] = len(todo)
                    data = None
                if data is not None and len(data.section_ids):
                    new = _placed_clusterings(run_id, place_sections(model, data))
                    cl = pd.concat([store.read_part(CLUSTERINGS, run_id), new], ignore_index=True)
                    store.write_part(CLUSTERINGS, run_id, cl)
                    report.runs[run_id] = len(new)
        if "placed" in cl and _update_run_placement(store, run_id, cl):
            report.runs.setdefault(run_id, 0)
    for part in store.list_parts(PROJECTION_INFO):
        info = store.read_part(PROJECTION_INFO, part).iloc[0]
        pts = store.read_part(PROJECTIONS, part) if store.has_part(PROJECTIONS, part) else None
        if pts is None:
            continue
        space = str(info["space"])
        if space not in spaces:
            try:
                spaces[space] = _space_section_matrix(store, space)
            except StoreError as exc:
                log.warning("space %s: maps not extended (%s)", space, exc)
                spaces[space] = None
        if spaces[space] is None:
            continue
        ids, X, _ = spaces[space]
        new = ~np.isin(ids, pts["section_id"].to_numpy())
        if new.any():
            key = info.get("model_key")
            proj = load_model(store, key) if isinstance(key, str) else None
            if proj is None:
                report.uncovered[part] = int(new.sum())
            else:
                E = proj.transform(X[new])
                dims = int(info["dims"])
                add = pd.DataFrame({"space": space, "kind": info["kind"], "dims": dims, "section_id": ids[new],
                                    "x": E[:, 0], "y": E[:, 1],
                                    "z": E[:, 2] if dims == 3 else np.full(int(new.sum()), np.nan), "placed": True})
                pts = pd.concat([pts, add], ignore_index=True)
                store.write_part(PROJECTIONS, part, pts)
                report.maps[part] = len(add)
        n_placed = int(pts["placed"].fillna(False).astype(bool).sum()) if "placed" in pts else 0
        if int(info.get("n_placed", 0) or 0) != n_placed:
            info_df = store.read_part(PROJECTION_INFO, part)
            info_df["n_placed"] = n_placed
            store.write_part(PROJECTION_INFO, part, info_df)
    return report


# ---- modelling as resumable units ---------------------------------------------------------------------


def _modeling_hash(specs, projections, seed, n_repeats) -> str:
    import hashlib

    blob = _json({"specs": specs, "projections": [list(p) for p in projections], "seed": seed,
                  "n_repeats": n_repeats})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _mark(store, unit: str, config_hash: str, *, done: bool = True) -> None:
    """Record (or, with ``done=False``, forget) a finished modelling unit in the manifest."""
    manifest = store.read_manifest()
    m = manifest.get("modeling") or {}
    if m.get("hash") != config_hash:
        m = {"hash": config_hash, "done": []}
    units = [u for u in m.get("done", []) if u != unit]
    if done:
        units.append(unit)
    m["done"] = units
    manifest["modeling"] = m
    store.write_manifest(manifest)


def _is_marked(store, unit: str, config_hash: str) -> bool:
    m = store.read_manifest().get("modeling") or {}
    return m.get("hash") == config_hash and unit in (m.get("done") or [])


def _centroids_complete(store, run_id: str, maps: set) -> bool:
    if not store.has_part(CENTROID_PROJECTIONS, run_id):
        return False
    cp = store.read_part(CENTROID_PROJECTIONS, run_id, columns=["kind", "dims"])
    return {(str(k), int(d)) for k, d in zip(cp["kind"], cp["dims"])} >= maps


# ---- the default set -----------------------------------------------------------------------------------


def default_run_specs(store, embedders=("musicnn",)) -> list[dict]:
    """The runs ``sectionist analyze`` makes: K-Means and GMM on classical17 with K chosen by the K rule,
    K-Means on classical17 with the reference study's K = 4 (``classical17-kmeans-k4``), and K-Means on
    each embedder with frames in the store (frame level with mode aggregation, and on section means)."""
    specs = [dict(space="classical17", method="kmeans"), dict(space="classical17", method="gmm"),
             dict(space="classical17", method="kmeans", k=REFERENCE_K)]
    have = set(embedders_in_store(store))
    for emb in embedders:
        if emb in have:
            specs.append(dict(space=emb, method="kmeans", level="frame"))
            specs.append(dict(space=emb, method="kmeans", level="section-mean"))
        else:
            log.info("embedder %s: no frames in %s; its runs are skipped", emb, store.uri)
    return specs


def _spec_lineage(spec: dict, seed: int) -> str:
    """The run id (lineage) that :func:`cluster_store` gives the options ``spec``."""
    level = spec.get("level") or ("section" if spec["space"] in feature_spaces() else "frame")
    return make_run_id(spec["space"], spec["method"], spec.get("k", "auto"), scaling=spec.get("scaling", "standard"),
                       level=level, seed=seed, central_only=spec.get("central_only", False))


def run_default_models(store, *, embedders=("musicnn",), seed: int = 0, progress: bool = True,
                       projections=DEFAULT_PROJECTIONS, n_repeats: int = STABILITY_REPEATS,
                       report: dict | None = None, large_rows: int = LARGE_ROWS) -> list[str]:
    """The modelling step of ``sectionist analyze``: bring a store's runs, maps and comparisons up to date.

    Resumable, unit by unit, whatever happened to the songs:

    1. sections that existing runs and maps do not cover are **placed** with their saved models
       (:func:`place_new_sections`; fitted rows never change, no run id is refitted);
    2. each default run (:func:`default_run_specs`) whose lineage has no version yet is fitted;
    3. each default map that does not exist yet is fitted, and every run's centroids are drawn on
       every map of its space;
    4. the comparisons are (re)computed when a run was added or placed into, or when the last
       comparison step did not finish.

    Each finished unit is recorded in ``manifest["modeling"]["done"]`` with the hash of these
    settings; a unit counts as done when its last part exists (``runs``, ``projection_info``) or,
    for the comparisons, when it is recorded. A kill at any point is finished by running the same
    command again.

    Parameters
    ----------
    report : dict, optional
        Filled with ``placement`` (:class:`PlacementReport`) and ``fitted`` (run ids and maps fitted now).
    large_rows : int
        Above this many rows runs and maps take the large-corpus path (``docs/modeling.md``).

    Returns
    -------
    list of str
        The run ids of the default runs (the latest version of each default lineage).
    """
    specs = default_run_specs(store, embedders)
    config_hash = _modeling_hash(specs, projections, seed, n_repeats)
    timings: dict = {}
    fitted: list = []
    t_all = time.perf_counter()

    # 1. placement
    t0 = time.perf_counter()
    compared = _is_marked(store, "comparisons", config_hash)  # the last comparison step finished
    placement = place_new_sections(store, progress=progress)
    changed = set(placement.runs)
    if changed:
        _mark(store, "comparisons", config_hash, done=False)
    timings["placement"] = round(time.perf_counter() - t0, 2)

    # 2. runs
    runs = store.read_table(RUNS)
    lineages = set(runs["lineage"]) if not runs.empty else set()
    spaces = []
    it = specs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(specs, desc="models")
    for spec in it:
        if spec["space"] not in spaces:
            spaces.append(spec["space"])
        lineage = _spec_lineage(spec, seed)
        unit = f"run:{lineage}"
        if lineage not in lineages:
            _mark(store, "comparisons", config_hash, done=False)
            t0 = time.perf_counter()
            run_id = cluster_store(store, seed=seed, project=False, progress=progress, n_repeats=n_repeats,
                                   version=1, large_rows=large_rows, **spec)
            timings[run_id] = round(time.perf_counter() - t0, 2)
            fitted.append(run_id)
            changed.add(run_id)
        if not _is_marked(store, unit, config_hash):
            _mark(store, unit, config_hash)

    # 3. maps, then every run's centroids on every map of its space
    for space in spaces:
        missing = [(k, d) for k, d in projections
                   if not store.has_part(PROJECTION_INFO, PROJECTION_INFO.part(space=space, kind=k, dims=d))]
        if missing:
            t0 = time.perf_counter()
            made = project_space(store, space, kinds=missing, seed=seed, progress=progress, large_rows=large_rows)
            fitted.extend(f"{space}/{k}{d}" for k, d in made)
            timings[f"projections {space}"] = round(time.perf_counter() - t0, 2)
        for k, d in projections:
            part = PROJECTION_INFO.part(space=space, kind=k, dims=d)
            if store.has_part(PROJECTION_INFO, part) and not _is_marked(store, f"projection:{part}", config_hash):
                _mark(store, f"projection:{part}", config_hash)
        runs = store.read_table(RUNS)
        maps = {(k, d) for k, d in projections
                if store.has_part(PROJECTION_INFO, PROJECTION_INFO.part(space=space, kind=k, dims=d))}
        on_space = runs.loc[runs["space"] == space, "run_id"].tolist() if not runs.empty else []
        stale = [r for r in on_space if maps and not _centroids_complete(store, r, maps)]
        if stale:
            projectors = space_projectors(store, space)
            if projectors:
                cols = _space_section_matrix(store, space)[2]
                project_centroids(store, space, projectors, cols, run_ids=set(stale))

    # 4. comparisons: all of them when the last step did not finish, else the pairs of changed runs
    if not compared or changed:
        t0 = time.perf_counter()
        compare_store(store, progress=progress, involving=changed if compared else None)
        timings["comparisons"] = round(time.perf_counter() - t0, 2)
        _mark(store, "comparisons", config_hash)
    timings["total"] = round(time.perf_counter() - t_all, 2)
    manifest = store.read_manifest()
    manifest.setdefault("timings", {})["models"] = timings
    store.write_manifest(manifest)
    log.info("models: %s", timings)
    if report is not None:
        report["placement"] = placement
        report["fitted"] = fitted
    runs = store.read_table(RUNS)
    out = []
    for spec in specs:
        mine = runs[runs["lineage"] == _spec_lineage(spec, seed)]
        if len(mine):
            out.append(str(mine.sort_values("version")["run_id"].iloc[-1]))
    return out


# ---- command line ------------------------------------------------------------------------------------


def register_cli(subparsers, options) -> None:
    """Add ``cluster``, ``compare`` and ``cluster-defaults`` (``options``: the shared options)."""
    from sectionist.analysis.modeling.clustering import K_MIN_STABILITY, K_RANGE, K_RULES, K_SILHOUETTE_TOLERANCE, K_STABILITY_REPEATS, REGISTRY, SCALINGS

    p = subparsers.add_parser(
        "cluster", help="cluster one space of a store with one method",
        description="Cluster the sections of a store in one space (a feature set or an embedder) with one "
        "method; store labels, confidences, silhouettes, stability, SHAP explanations and the space's "
        "projections. The run id is printed; running the same options again writes a new version "
        "{run}~v2 (a run id is never refitted, so verdicts on it stay valid).",
    )
    options.store(p)
    p.add_argument("--space", default="classical17",
                   help="classical17 (the study's 17 features), classical (all features) or an embedder name")
    p.add_argument("--method", default="kmeans", choices=sorted(REGISTRY),
                   help="; ".join(f"{n}: {s.description}" for n, s in sorted(REGISTRY.items())))
    p.add_argument("--k", default="auto", help="number of clusters, or 'auto' (default) to choose it by --k-rule")
    p.add_argument("--k-min", type=int, default=None, metavar="K",
                   help=f"smallest K searched when K is automatic (default {K_RANGE[0]}; at least 2)")
    p.add_argument("--k-max", type=int, default=None, metavar="K",
                   help=f"largest K searched when K is automatic (default {K_RANGE[1]}; also at most one cluster "
                   "per 4 rows)")
    p.add_argument("--k-rule", choices=K_RULES, default=None,
                   help="how an automatic K is chosen (default stable-silhouette): the largest K ≥ 3 whose "
                   f"silhouette is within {K_SILHOUETTE_TOLERANCE:g} of the best and whose bootstrap stability "
                   f"(mean ARI of {K_STABILITY_REPEATS} refits on resamples) is at least {K_MIN_STABILITY:g}; "
                   "K=2 only when its silhouette beats every larger K by more than the tolerance. silhouette: "
                   "the best silhouette; bic: the lowest BIC (gmm). A K at the edge of the range is flagged "
                   "(runs.k_at_edge, 'sectionist info', the Overview)")
    p.add_argument("--covariance-type", choices=("diag", "full", "spherical", "tied"), default=None,
                   help="gmm: covariance model (default diag)")
    p.add_argument("--min-cluster-size", type=int, default=None, metavar="N",
                   help="hdbscan: smallest cluster (default max(5, min(50, rows/50)); at least 2)")
    p.add_argument("--min-samples", type=int, default=None, metavar="N",
                   help="hdbscan: neighbourhood size of the core distance (default: --min-cluster-size; at least 1)")
    p.add_argument("--scaling", default="standard", choices=SCALINGS,
                   help="column scaling: standard (z-scores, default) or l2cols (the study's column L2 norm)")
    p.add_argument("--level", choices=("frame", "section-mean"), default=None,
                   help="embedder spaces: cluster frames and take each section's most frequent label "
                   "(frame, default) or cluster section means (section-mean)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--central-only", action="store_true", help="cluster only the central sections")
    p.add_argument("--no-explain", action="store_true", help="skip the surrogate model and SHAP values")
    p.add_argument("--no-stability", action="store_true", help="skip the bootstrap stability refits")
    p.add_argument("--no-project", action="store_true", help="skip the maps: by default the space's missing maps are fitted (existing ones never are) and "
                   "the run's centroids are drawn on every map of the space")
    p.add_argument("--compare", action="store_true", help="also compare all runs afterwards")
    _large_rows_option(p)
    p.set_defaults(func=_cmd_cluster)

    c = subparsers.add_parser(
        "compare", help="compare every pair of runs in a store (and each run with the ground truth)",
        description="Align the cluster labels of every pair of runs (Hungarian method), store the "
        "contingency tables, agreement, ARI and NMI, and print one tidy table, with ARI/NMI against "
        "the ground-truth section labels where the store has them.",
    )
    options.store(c)
    c.add_argument("--runs", nargs="+", default=None, help="only these run ids (default: all)")
    c.set_defaults(func=_cmd_compare)

    m = subparsers.add_parser(
        "cluster-defaults", help="bring a store's default runs, maps and comparisons up to date (new sections are "
        "placed; nothing is refitted)",
        description="What 'sectionist analyze' does at the end: K-Means and GMM on classical17 (K by the "
        "stable-silhouette rule, see 'sectionist cluster --help'), K-Means with the study's K=4 on classical17, K-Means on "
        "each embedder with frames in the store, projections, explanations and comparisons.",
    )
    options.store(m)
    m.add_argument("--embedders", nargs="*", default=["musicnn"], help="embedders to cluster (default musicnn)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _large_rows_option(m)
    m.set_defaults(func=_cmd_models)


def _large_rows_option(parser) -> None:
    from sectionist.analysis.modeling.explain import EXPLAIN_SAMPLE
    from sectionist.analysis.modeling.projection import PROJECTION_FIT_SAMPLE

    parser.add_argument(
        "--large-rows", type=int, default=LARGE_ROWS, metavar="N",
        help=f"above N rows (default {LARGE_ROWS}) take the large-corpus path: each method and its K rule are "
        f"fitted on a seeded sample of {LARGE_FIT_SAMPLE} rows, K-Means then refined by MiniBatchKMeans over "
        f"all rows, other methods label all rows with the sample fit; t-SNE and UMAP fitted on "
        f"{PROJECTION_FIT_SAMPLE} sections and the others placed with transform; SHAP on about "
        f"{EXPLAIN_SAMPLE} sections stratified by cluster (docs/modeling.md)")


def _open(args):
    from sectionist.store import open_store

    settings = getattr(args, "settings", None)  # resolved by the entry point (S3 endpoint, cache…)
    return open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))


def _print_table(df: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 500, "display.width", 160):
        print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def cluster_method_params(method: str, k="auto", *, k_min=None, k_max=None, k_rule=None, covariance_type=None,
                          min_cluster_size=None, min_samples=None) -> dict:
    """The estimator parameters of ``sectionist cluster``'s method options, checked.

    Options that do not apply (a K range with a fixed K or with ``hdbscan``, ``--min-cluster-size``
    with another method, …) and out-of-range values raise :class:`ParameterError` naming the option
    and the value, before anything is read or written.

    Returns
    -------
    dict
        E.g. ``{"k_range": (3, 12), "k_rule": "stable-silhouette"}`` or ``{"min_cluster_size": 8}``.
    """
    from sectionist.analysis.modeling.clustering import K_RANGE, REGISTRY

    spec = REGISTRY[method]
    auto = parse_k(k) == "auto"
    params: dict = {}
    if k_min is not None or k_max is not None or k_rule is not None:
        given = ", ".join(f"--{n}" for n, v in (("k-min", k_min), ("k-max", k_max), ("k-rule", k_rule)) if v is not None)
        if not spec.uses_k:
            raise ParameterError(f"{given}: method {method!r} finds K itself (use --min-cluster-size/--min-samples)")
        if not auto:
            raise ParameterError(f"{given}: only with an automatic K, but --k {k} fixes it")
        lo = K_RANGE[0] if k_min is None else int(k_min)
        hi = K_RANGE[1] if k_max is None else int(k_max)
        if lo < 2:
            raise ParameterError(f"--k-min {lo}: must be at least 2")
        if hi < lo:
            raise ParameterError(f"--k-max {hi}: must be at least --k-min ({lo})")
        if k_min is not None or k_max is not None:
            params["k_range"] = (lo, hi)
        if k_rule is not None:
            if k_rule == "bic" and method != "gmm":
                raise ParameterError(f"--k-rule bic: only gmm has a BIC, not {method!r}")
            params["k_rule"] = k_rule
    if covariance_type is not None:
        if method != "gmm":
            raise ParameterError(f"--covariance-type {covariance_type}: a gmm option, not one of {method!r}")
        params["covariance_type"] = covariance_type
    for name, value, least in (("min-cluster-size", min_cluster_size, 2), ("min-samples", min_samples, 1)):
        if value is None:
            continue
        if method != "hdbscan":
            raise ParameterError(f"--{name} {value}: an hdbscan option, not one of {method!r}")
        if int(value) < least:
            raise ParameterError(f"--{name} {value}: must be at least {least}")
        params[name.replace("-", "_")] = int(value)
    return params


def _cmd_cluster(args) -> int:
    params = cluster_method_params(args.method, args.k, k_min=args.k_min, k_max=args.k_max, k_rule=args.k_rule,
                                   covariance_type=args.covariance_type, min_cluster_size=args.min_cluster_size,
                                   min_samples=args.min_samples)
    store = _open(args)
    run_id = cluster_store(store, args.space, args.method, k=args.k, scaling=args.scaling, seed=args.seed,
                           level=args.level, central_only=args.central_only, explain=not args.no_explain,
                           stability=not args.no_stability, project=not args.no_project, method_params=params,
                           large_rows=args.large_rows)
    run = store.read_part(RUNS, run_id)
    cols = ["run_id", "k", "k_rule", "silhouette", "davies_bouldin", "stability_ari", "fidelity", "ari_truth"]
    _print_table(run[[c for c in cols if c in run]])
    if run.get("k_at_edge") is not None and bool(run["k_at_edge"].fillna(False).iloc[0]):
        print(f"warning: K={int(run['k'].iloc[0])} is at the edge of the searched range "
              f"{int(run['k_min'].iloc[0])}–{int(run['k_max'].iloc[0])}; try a wider --k-min/--k-max")
    if args.compare:
        _print_table(compare_store(store))
    return 0


def _cmd_compare(args) -> int:
    _print_table(compare_store(_open(args), args.runs))
    return 0


def _cmd_models(args) -> int:
    store = _open(args)
    runs = run_default_models(store, embedders=tuple(args.embedders), seed=args.seed, large_rows=args.large_rows)
    table = store.read_table(RUNS)
    _print_table(table[table["run_id"].isin(runs)][["run_id", "k", "silhouette", "stability_ari", "fidelity",
                                                    "ari_truth", "nmi_truth"]])
    return 0
