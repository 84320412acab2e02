"""Modelling over a store: cluster a space, project it, explain and compare runs.

Reads ``sections``, ``features`` and ``frames``; writes ``runs``, ``clusterings``, ``clusters``,
``explanations``, ``projections``, ``projection_info``, ``centroid_projections``, ``comparisons``
and ``comparison_sections`` (see ``docs/store.md``). Everything is seeded and every part is keyed
by a readable, deterministic id, so running the same thing again replaces its parts.

One run is a chain of steps (``docs/modeling.md``): :func:`load_space` reads the rows,
:func:`analysis.runs.fit_run` fits them without the store, :func:`analysis.runs.run_stability`,
:func:`analysis.explain.explain_run` and :func:`analysis.runs.score_truth` add stability, SHAP
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

from store.schema import (
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

from .errors import ParameterError, StoreError
from .explain import Explanation
from .runs import (  # noqa: F401  (LEVELS, SpaceData, make_run_id: re-exported for callers of this module)
    LEVELS,
    STABILITY_REPEATS,
    RunResult,
    RunSpec,
    SpaceData,
    Stability,
    fit_run,
    make_run_id,
    parse_k,
    run_stability,
    score_truth,
)

log = logging.getLogger(__name__)

#: Projections made for every space: (kind, dimensions).
DEFAULT_PROJECTIONS = (("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2))
N_PROTOTYPES = 5
N_BORDERLINE = 5


# ---- reading the store -------------------------------------------------------------------------


def feature_spaces() -> dict:
    from .features import FEATURE_SETS

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
    from .features import feature_columns

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


# ---- one run: load → fit_run → stability / explanation / truth → write ---------------------------

_parse_k = parse_k  # kept for callers of the former private name


def _json(obj) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _nan_to_none(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else float(x)


def explain_from_store(store, result: RunResult, *, progress: bool = False) -> Explanation | None:
    """Explain a run with the readable features of its sections (``classical`` runs with all
    classical features, every other run with ``classical17``).

    Returns
    -------
    Explanation or None
        None when the run has a single cluster or the store lacks those features (logged).
    """
    from .explain import explain_run

    if len(np.unique(result.labels)) < 2:
        return None
    explain_space = "classical" if result.spec.space == "classical" else "classical17"
    try:
        feats, fcols = _feature_matrix(store, explain_space, set(result.section_ids))
    except StoreError as exc:
        log.warning("run %s: not explained (%s)", result.run_id, exc)
        return None
    return explain_run(result, feats["section_id"].to_numpy(), feats[fcols].to_numpy(np.float64), fcols,
                       space=explain_space, progress=progress)


def truth_from_store(store, result: RunResult) -> dict:
    """:func:`analysis.runs.score_truth` against the sections' ``truth_label``, where the store has it."""
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
             created_at: str | None = None) -> RunRows:
    """Turn a fitted run and its other steps into the rows of its tables (pure; see ``docs/store.md``).

    Parameters
    ----------
    result : RunResult
        From :func:`analysis.runs.fit_run`.
    stability : Stability, optional
        From :func:`analysis.runs.run_stability`; None: not asked for (NaN rates, 0 repeats).
    explanation : Explanation, optional
        From :func:`analysis.explain.explain_run`.
    truth : dict, optional
        From :func:`analysis.runs.score_truth` (``ari``, ``nmi``); None: no truth (NaN).
    profile : pd.DataFrame, optional
        Readable features of the sections (index: section id), averaged per cluster.
    seconds : float
        Wall time of the run.
    created_at : str, optional
        ISO time stamp (default: now, UTC).

    Returns
    -------
    RunRows
    """
    spec = result.spec
    run_id = result.run_id
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
    })
    n_clusters = result.n_clusters
    k_label = f"K={n_clusters}" + (" auto" if spec.k == "auto" and spec.uses_k else "")
    params = {"k": spec.k, "k_range": result.k_range, "scaling": spec.scaling, "level": spec.level,
              "central_only": spec.central_only, "stability_repeats": stability.n_repeats if stability else 0,
              "explained_with": explanation.space if explanation is not None else None, **spec.params}
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
                  method_params: dict | None = None, progress: bool = True) -> str:
    """Cluster one space of a store and write the run's tables.

    The steps: :func:`load_space` → :func:`analysis.runs.fit_run` → :func:`analysis.runs.run_stability`,
    :func:`explain_from_store` (:func:`analysis.explain.explain_run`), :func:`truth_from_store`
    (:func:`analysis.runs.score_truth`) → :func:`run_rows` → :func:`write_run`.

    Parameters
    ----------
    store : store.Store
    space : str
        ``classical17``, ``classical`` or an embedder with frames in the store.
    method : str
        A key of :data:`analysis.clustering.REGISTRY`.
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
        (Re)compute the space's projections and every run's centroid projections afterwards.
    method_params : dict, optional
        Extra estimator parameters (e.g. ``{"covariance_type": "full"}``).

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

    result = fit_run(data, spec)
    stab = run_stability(data, result, n_repeats=n_repeats, progress=progress) if stability else None
    explanation = explain_from_store(store, result, progress=progress) if explain else None
    truth = truth_from_store(store, result)
    rows = run_rows(result, stability=stab, explanation=explanation, truth=truth, profile=_profiles(store, result),
                    seconds=time.perf_counter() - t0)
    run_id = write_run(store, rows)
    log.info("run %s: K=%d silhouette=%.3f ARI(truth)=%s in %.1f s", run_id, result.n_clusters,
             result.quality["silhouette"], truth["ari"], rows.runs["seconds"].iloc[0])
    if project:
        project_space(store, space, seed=seed, progress=progress)
    return run_id


# ---- projections -------------------------------------------------------------------------------------


def _space_section_matrix(store, space: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Section ids and one row per section of ``space`` (all sections; embedders: frame means)."""
    if space in feature_spaces():
        df, cols = _feature_matrix(store, space)
        return df["section_id"].to_numpy(), df[cols].to_numpy(np.float64), cols
    data = load_space(store, space, level="section-mean")
    return data.section_ids, data.X, data.columns


def project_space(store, space: str, *, kinds=DEFAULT_PROJECTIONS, seed: int = 0, progress: bool = True) -> dict:
    """Fit each projection of ``space`` and write it, then project every run's centroids with it.

    Writes ``projections`` and ``projection_info`` parts ``{space}/{kind}{dims}`` and, for every
    run on ``space``, its ``centroid_projections`` part (all kinds).

    Returns
    -------
    dict
        ``(kind, dims) → fitted`` :class:`analysis.projection.Projector`.
    """
    from .projection import Projector

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
        proj = Projector(kind, dims, random_state=seed).fit(X)
        fitted[(kind, dims)] = proj
        E = proj.embedding_
        part = f"{space}/{kind}{dims}"
        store.write_part(PROJECTIONS, part, pd.DataFrame({
            "space": space, "kind": kind, "dims": dims, "section_id": ids,
            "x": E[:, 0], "y": E[:, 1], "z": E[:, 2] if dims == 3 else np.full(len(ids), np.nan),
        }))
        evr = proj.explained_variance_ratio_
        store.write_part(PROJECTION_INFO, part, pd.DataFrame([{
            "space": space, "kind": kind, "dims": dims, "params": _json(proj.params_),
            "explained_variance_ratio": evr.tolist() if evr is not None else None,
            "n_sections": len(ids), "seconds": round(time.perf_counter() - t0, 3),
        }]))
    project_centroids(store, space, fitted, cols)
    return fitted


def project_centroids(store, space: str, projectors: dict, columns: list[str]) -> None:
    """Write ``centroid_projections`` for every run on ``space`` with the space's fitted projectors."""
    runs = store.read_table(RUNS)
    if runs.empty:
        return
    for run_id in runs.loc[runs["space"] == space, "run_id"]:
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


def compare_store(store, runs: list[str] | None = None, *, progress: bool = True) -> pd.DataFrame:
    """Compare every pair of runs (on their common sections) and every run with the ground truth.

    Writes ``comparisons`` and ``comparison_sections`` parts ``{run_a}__{run_b}`` (pairs in sorted
    order), removes parts of pairs whose runs are gone, and returns one tidy table: one row per
    pair, ``run_b == "truth"`` for the ground-truth rows.

    Returns
    -------
    pd.DataFrame
        Columns run_a, run_b, n_sections, agreement, ari, nmi.
    """
    from .compare import compare_labelings, truth_scores

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


# ---- the default set -----------------------------------------------------------------------------------


def default_run_specs(store, embedders=("musicnn",)) -> list[dict]:
    """The runs ``sectionist analyze`` makes: K-Means and GMM on classical17, K-Means on each embedder
    with frames in the store (frame level with mode aggregation, and on section means)."""
    specs = [dict(space="classical17", method="kmeans"), dict(space="classical17", method="gmm")]
    have = set(embedders_in_store(store))
    for emb in embedders:
        if emb in have:
            specs.append(dict(space=emb, method="kmeans", level="frame"))
            specs.append(dict(space=emb, method="kmeans", level="section-mean"))
        else:
            log.info("embedder %s: no frames in %s; its runs are skipped", emb, store.uri)
    return specs


def run_default_models(store, *, embedders=("musicnn",), seed: int = 0, progress: bool = True,
                       projections=DEFAULT_PROJECTIONS, n_repeats: int = STABILITY_REPEATS) -> list[str]:
    """Cluster, explain, project and compare the default runs of a store.

    Run ids are deterministic (e.g. ``classical17-kmeans-auto``), so calling it again replaces
    the same parts.

    Returns
    -------
    list of str
        The run ids made.
    """
    specs = default_run_specs(store, embedders)
    run_ids = []
    spaces = []
    timings: dict = {}
    t_all = time.perf_counter()
    it = specs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(specs, desc="models")
    for spec in it:
        t0 = time.perf_counter()
        run_ids.append(cluster_store(store, seed=seed, project=False, progress=progress, n_repeats=n_repeats, **spec))
        timings[run_ids[-1]] = round(time.perf_counter() - t0, 2)
        if spec["space"] not in spaces:
            spaces.append(spec["space"])
    for space in spaces:
        t0 = time.perf_counter()
        project_space(store, space, kinds=projections, seed=seed, progress=progress)
        timings[f"projections {space}"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    compare_store(store, progress=progress)
    timings["comparisons"] = round(time.perf_counter() - t0, 2)
    timings["total"] = round(time.perf_counter() - t_all, 2)
    manifest = store.read_manifest()
    manifest.setdefault("timings", {})["models"] = timings
    store.write_manifest(manifest)
    log.info("models: %s", timings)
    return run_ids


# ---- command line ------------------------------------------------------------------------------------


def register_cli(subparsers, options) -> None:
    """Add ``cluster``, ``compare`` and ``cluster-defaults`` (``options``: the shared options)."""
    from .clustering import REGISTRY, SCALINGS

    p = subparsers.add_parser(
        "cluster", help="cluster one space of a store with one method",
        description="Cluster the sections of a store in one space (a feature set or an embedder) with one "
        "method; store labels, confidences, silhouettes, stability, SHAP explanations and the space's "
        "projections. The run id is printed; running the same options again replaces that run.",
    )
    options.store(p)
    p.add_argument("--space", default="classical17",
                   help="classical17 (the study's 17 features), classical (all features) or an embedder name")
    p.add_argument("--method", default="kmeans", choices=sorted(REGISTRY),
                   help="; ".join(f"{n}: {s.description}" for n, s in sorted(REGISTRY.items())))
    p.add_argument("--k", default="auto", help="number of clusters, or 'auto' (default) to choose it")
    p.add_argument("--scaling", default="standard", choices=SCALINGS,
                   help="column scaling: standard (z-scores, default) or l2cols (the study's column L2 norm)")
    p.add_argument("--level", choices=("frame", "section-mean"), default=None,
                   help="embedder spaces: cluster frames and take each section's most frequent label "
                   "(frame, default) or cluster section means (section-mean)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--central-only", action="store_true", help="cluster only the central sections")
    p.add_argument("--no-explain", action="store_true", help="skip the surrogate model and SHAP values")
    p.add_argument("--no-stability", action="store_true", help="skip the bootstrap stability refits")
    p.add_argument("--no-project", action="store_true", help="skip (re)computing the space's projections")
    p.add_argument("--compare", action="store_true", help="also compare all runs afterwards")
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
        "cluster-defaults", help="(re)make the default runs of a store: clusterings, projections, comparisons",
        description="What 'sectionist analyze' does at the end: K-Means and GMM on classical17, K-Means on "
        "each embedder with frames in the store, projections, explanations and comparisons.",
    )
    options.store(m)
    m.add_argument("--embedders", nargs="*", default=["musicnn"], help="embedders to cluster (default musicnn)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    m.set_defaults(func=_cmd_models)


def _open(args):
    from store import open_store

    settings = getattr(args, "settings", None)  # resolved by the entry point (S3 endpoint, cache…)
    return open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))


def _print_table(df: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 500, "display.width", 160):
        print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _cmd_cluster(args) -> int:
    store = _open(args)
    run_id = cluster_store(store, args.space, args.method, k=args.k, scaling=args.scaling, seed=args.seed,
                           level=args.level, central_only=args.central_only, explain=not args.no_explain,
                           stability=not args.no_stability, project=not args.no_project)
    run = store.read_part(RUNS, run_id)
    _print_table(run[["run_id", "k", "silhouette", "davies_bouldin", "stability_ari", "fidelity", "ari_truth"]])
    if args.compare:
        _print_table(compare_store(store))
    return 0


def _cmd_compare(args) -> int:
    _print_table(compare_store(_open(args), args.runs))
    return 0


def _cmd_models(args) -> int:
    store = _open(args)
    runs = run_default_models(store, embedders=tuple(args.embedders), seed=args.seed)
    table = store.read_table(RUNS)
    _print_table(table[table["run_id"].isin(runs)][["run_id", "k", "silhouette", "stability_ari", "fidelity",
                                                    "ari_truth", "nmi_truth"]])
    return 0
