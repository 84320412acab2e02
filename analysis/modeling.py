"""Modelling over a store: cluster a space, project it, explain and compare runs.

Reads ``sections``, ``features`` and ``frames``; writes ``runs``, ``clusterings``, ``clusters``,
``explanations``, ``projections``, ``projection_info``, ``centroid_projections``, ``comparisons``
and ``comparison_sections`` (see ``docs/store.md``). Everything is seeded and every part is keyed
by a readable, deterministic id, so running the same thing again replaces its parts.

Entry points: :func:`cluster_store` (one run), :func:`project_space`, :func:`compare_store`,
:func:`run_default_models` (what ``sectionist analyze`` runs at the end), and the sub-commands
``sectionist cluster``, ``sectionist compare`` and ``sectionist cluster-defaults``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
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

log = logging.getLogger(__name__)

LEVELS = ("section", "frame", "section-mean")
#: Projections made for every space: (kind, dimensions).
DEFAULT_PROJECTIONS = (("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2))
N_PROTOTYPES = 5
N_BORDERLINE = 5
STABILITY_REPEATS = 5


@dataclass
class SpaceData:
    """The rows of one space, ready to cluster.

    Attributes
    ----------
    space, level : str
    section_ids : np.ndarray [shape=(n_sections,)]
        Sorted section ids.
    song_ids : np.ndarray [shape=(n_sections,)]
    X : np.ndarray [shape=(n_rows, d)]
        Rows to cluster, original units: sections, or frames at the ``frame`` level.
    groups : np.ndarray [shape=(n_rows,)] or None
        Section index of each frame (``frame`` level only).
    columns : list of str
        Column names of ``X``.
    """

    space: str
    level: str
    section_ids: np.ndarray
    song_ids: np.ndarray
    X: np.ndarray
    groups: np.ndarray | None
    columns: list

    def section_matrix(self) -> np.ndarray:
        """One row per section: ``X`` itself, or the mean of each section's frames."""
        if self.groups is None:
            return self.X
        return _group_means(self.X, self.groups, len(self.section_ids))


def _group_means(X: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, X.shape[1]))
    np.add.at(sums, groups, X)
    counts = np.bincount(groups, minlength=n).astype(np.float64)
    return sums / np.maximum(counts, 1)[:, None]


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


# ---- one run -------------------------------------------------------------------------------------


def make_run_id(space: str, method: str, k="auto", *, scaling="standard", level="section", seed=0,
                central_only=False) -> str:
    """Readable, deterministic run id, e.g. ``classical17-kmeans-auto`` or ``musicnn-kmeans-k4-frames``."""
    from .clustering import REGISTRY

    parts = [space, method]
    if method in REGISTRY and REGISTRY[method].uses_k:
        parts.append("auto" if k in (None, "auto") else f"k{int(k)}")
    if scaling != "standard":
        parts.append(scaling)
    if level == "frame":
        parts.append("frames")
    elif level == "section-mean":
        parts.append("mean")
    if central_only:
        parts.append("central")
    if seed != 0:
        parts.append(f"s{seed}")
    return "-".join(parts)


def _json(obj) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _nan_to_none(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else float(x)


def _parse_k(k):
    if k is None or k == "auto":
        return "auto"
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise ParameterError(f"k={k!r}: use 'auto' or an integer ≥ 2") from None
    if k < 1:
        raise ParameterError(f"k={k}: must be ≥ 1")
    return k


def cluster_store(store, space: str = "classical17", method: str = "kmeans", k="auto", scaling: str = "standard",
                  seed: int = 0, level: str | None = None, *, central_only: bool = False, explain: bool = True,
                  stability: bool = True, n_repeats: int = STABILITY_REPEATS, project: bool = True,
                  method_params: dict | None = None, progress: bool = True) -> str:
    """Cluster one space of a store and write the run's tables.

    Parameters
    ----------
    store : analysis.store.Store
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
    from .clustering import (
        REGISTRY,
        FeatureScaler,
        _sq_distances,
        cluster_quality,
        co_assignment_stability,
        make_method,
        mode_labels,
        silhouette_per_sample,
        stability_repeats,
    )
    from .compare import truth_scores

    t0 = time.perf_counter()
    if method not in REGISTRY:
        raise ParameterError(f"unknown clustering method {method!r}; known: {', '.join(REGISTRY)}")
    k = _parse_k(k)
    method_params = dict(method_params or {})
    data = load_space(store, space, level=level, central_only=central_only)
    n_sec = len(data.section_ids)
    if n_sec < 3:
        raise StoreError(f"{store.uri}: only {n_sec} section(s) in space {space!r}; need at least 3 to cluster")
    run_id = make_run_id(space, method, k, scaling=scaling, level=data.level, seed=seed, central_only=central_only)
    log.info("run %s: %d sections, %d rows × %d columns", run_id, n_sec, *data.X.shape)

    scaler = FeatureScaler(scaling).fit(data.X)
    Z = scaler.transform(data.X)

    def new_estimator(random_state, n_clusters=k):
        return make_method(method, n_clusters=n_clusters, random_state=random_state, **method_params)

    est = new_estimator(seed).fit(Z)
    C = est.cluster_centers_
    n_clusters = int(est.n_clusters_)

    def section_labels(fitted) -> tuple[np.ndarray, np.ndarray | None]:
        lab = fitted.predict(Z) if fitted is not est else est.labels_
        if data.groups is None:
            return lab, None
        D = np.sqrt(_sq_distances(Z, fitted.cluster_centers_))
        return mode_labels(data.groups, lab, D, n_sec)

    labels, distribution = section_labels(est)
    Zs = Z if data.groups is None else _group_means(Z, data.groups, n_sec)

    # per-section confidence, distance, probabilities
    if data.groups is None:
        confidence = np.asarray(est.confidence_, dtype=np.float64)
        proba = est.proba_
        dist = np.sqrt(((Zs - C[np.maximum(labels, 0)]) ** 2).sum(axis=1))
    else:
        confidence = distribution[np.arange(n_sec), np.maximum(labels, 0)]
        Dfr = np.sqrt(_sq_distances(Z, C))
        dist = _group_means(Dfr, data.groups, n_sec)[np.arange(n_sec), np.maximum(labels, 0)]
        proba = _group_means(est.proba_, data.groups, n_sec) if est.proba_ is not None else None
    noise = labels < 0
    dist = np.where(noise, np.nan, dist)
    confidence = np.where(noise, 0.0, confidence)

    sil = silhouette_per_sample(Zs, labels, random_state=seed)
    quality = cluster_quality(Zs, labels, random_state=seed)

    stab_rate = np.full(n_sec, np.nan)
    stab_ari = float("nan")
    if stability and n_repeats >= 2:
        fixed_k = n_clusters if REGISTRY[method].uses_k else None
        repeats = stability_repeats(lambda s: new_estimator(s, fixed_k), Z, lambda e: section_labels(e)[0],
                                    n_repeats=n_repeats, random_state=seed, progress=progress)
        stab_rate, stab_ari = co_assignment_stability(labels, repeats)

    # surrogate explanations with readable features
    explain_space = "classical" if space == "classical" else "classical17"
    fidelity = float("nan")
    ranking: dict = {}
    shap_df = None
    if explain and len(np.unique(labels)) >= 2:
        try:
            feats, fcols = _feature_matrix(store, explain_space, set(data.section_ids))
        except StoreError as exc:
            log.warning("run %s: not explained (%s)", run_id, exc)
        else:
            from .explain import explain_labels

            lab_of = dict(zip(data.section_ids, labels))
            y = np.array([lab_of[s] for s in feats["section_id"]])
            shap_df, ranking, fidelity = explain_labels(
                feats[fcols].to_numpy(np.float64), y, fcols, random_state=seed, progress=progress)
            shap_df.insert(0, "section_id", feats["section_id"].to_numpy())
            shap_df.insert(0, "run_id", run_id)

    # ground truth, where the sections carry it
    sections = read_sections(store).set_index("section_id")
    truth = sections["truth_label"].reindex(data.section_ids) if "truth_label" in sections else None
    ts = truth_scores(labels, truth.to_numpy()) if truth is not None else {"ari": np.nan, "nmi": np.nan, "n": 0}

    # per-cluster summaries
    profile_df = None
    try:
        pf, pcols = _feature_matrix(store, "classical17", set(data.section_ids))
        profile_df = pf.set_index("section_id")[pcols]
    except StoreError:
        pass
    centroids = scaler.inverse_transform(C)
    cluster_rows = []
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        ids = data.section_ids[members]
        row = {"run_id": run_id, "cluster": int(c), "size": int(len(members)),
               "n_songs": int(len(set(data.song_ids[members])))}
        if c >= 0:
            row["centroid"] = _json(dict(zip(data.columns, centroids[c].tolist())))
            order = np.argsort(dist[members], kind="stable")
            row["prototypes"] = ids[order[:N_PROTOTYPES]].tolist()
            s_order = np.argsort(np.nan_to_num(sil[members], nan=np.inf), kind="stable")
            row["borderline"] = ids[s_order[:N_BORDERLINE]].tolist()
        else:
            row["centroid"] = None
            row["prototypes"] = []
            row["borderline"] = []
        if profile_df is not None:
            prof = profile_df.reindex([i for i in ids if i in profile_df.index]).mean()
            row["profile"] = _json({kk: _nan_to_none(v) for kk, v in prof.items()})
        else:
            row["profile"] = None
        row["shap_ranking"] = _json(ranking.get(int(c), []))
        cluster_rows.append(row)

    clusterings = pd.DataFrame({
        "run_id": run_id,
        "section_id": data.section_ids,
        "label": labels.astype(np.int64),
        "confidence": confidence.astype(np.float64),
        "distance": dist.astype(np.float64),
        "silhouette": sil.astype(np.float64),
        "stability": stab_rate.astype(np.float64),
        "proba": list(np.round(proba, 6).tolist()) if proba is not None else [None] * n_sec,
        "label_distribution": list(np.round(distribution, 6).tolist()) if distribution is not None else [None] * n_sec,
    })
    k_label = f"K={n_clusters}" + (" auto" if k == "auto" and REGISTRY[method].uses_k else "")
    params = {"k": k, "k_range": list(getattr(est, "k_range", []) or []), "scaling": scaling, "level": data.level,
              "central_only": central_only, "stability_repeats": n_repeats if stability else 0,
              "explained_with": explain_space if shap_df is not None else None, **method_params}
    run = {
        "run_id": run_id, "space": space, "method": method, "scaling": scaling, "level": data.level,
        "k": n_clusters, "seed": int(seed), "params": _json(params),
        "silhouette": quality["silhouette"], "davies_bouldin": quality["davies_bouldin"],
        "calinski_harabasz": quality["calinski_harabasz"],
        "bic": est.bic_ if est.bic_ is not None else np.nan,
        "stability_ari": stab_ari, "fidelity": fidelity,
        "ari_truth": ts["ari"], "nmi_truth": ts["nmi"],
        "n_sections": int(n_sec), "n_clusters": n_clusters,
        "curves": _json(getattr(est, "curves_", {}) or {}),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label": f"{method} ({k_label}) on {space}" + (f", {data.level}" if data.level != "section" else ""),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    store.write_part(CLUSTERINGS, run_id, clusterings)
    store.write_part(CLUSTERS, run_id, pd.DataFrame(cluster_rows))
    if shap_df is not None:
        store.write_part(EXPLANATIONS, run_id, shap_df)
    else:
        store.delete_part(EXPLANATIONS, run_id)
    store.write_part(RUNS, run_id, pd.DataFrame([run]))  # last: a run exists once its runs part does
    log.info("run %s: K=%d silhouette=%.3f ARI(truth)=%s in %.1f s", run_id, n_clusters, quality["silhouette"],
             ts["ari"], run["seconds"])
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
