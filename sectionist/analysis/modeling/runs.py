"""One clustering run as a pure function over arrays: :func:`fit_run` (stability and ground-truth
scores: :mod:`sectionist.analysis.modeling.scores`).

No store access here: :mod:`sectionist.analysis.modeling.cluster` loads a :class:`sectionist.analysis.modeling.specs.SpaceData` from a store, calls the
steps and writes their results; the steps work as well on any array::

    spec = RunSpec(space="toy", method="kmeans", k=3)
    result = fit_run(SpaceData.from_array(X), spec)          # labels, confidences, metrics, …
    stab = run_stability(SpaceData.from_array(X), result)    # bootstrap refits
    scores = score_truth(result, y_true)                     # ARI / NMI against known labels

The explanation step (a surrogate model and SHAP values) is :func:`sectionist.analysis.modeling.explain.explain_run`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.runmodel import RunModel, place_sections
from sectionist.analysis.modeling.specs import RunSpec, SpaceData, group_means

log = logging.getLogger(__name__)

__all__ = ["RunResult", "fit_run", "section_labels"]


#: Above this many rows (sections, or frames at the frame level) a run takes the large-corpus path
#: (:func:`fit_run`, ``docs/modeling.md``); the ``large_rows`` parameter overrides it.
LARGE_ROWS = 100_000
#: Rows of the seeded sample that the method (and its K rule) is fitted on in the large-corpus path.
LARGE_FIT_SAMPLE = 20_000
#: Mini-batch size of the final K-Means pass over all rows in the large-corpus path.
MINIBATCH_SIZE = 4096
#: Reference rows of the per-section silhouette estimate in the large-corpus path (4000 on the
#: ordinary path above 8000 rows; that estimate was half of a large run's time).
LARGE_SILHOUETTE_REFERENCE = 1000


@dataclass
class RunResult:
    """Everything one fit gives, per section and per run (before any explanation or writing).

    Attributes
    ----------
    spec : RunSpec
        With ``level`` filled.
    section_ids, song_ids : np.ndarray [shape=(n_sections,)]
    columns : list of str
        Columns of the space (the centroids' keys).
    labels : np.ndarray [shape=(n_sections,)], int
        Cluster of each section, −1 = noise.
    confidence : np.ndarray [shape=(n_sections,)] in [0, 1]
        Winning probability (soft methods), distance margin (hard methods) or, at the frame level,
        the share of the section's frames in its cluster; 0 for noise.
    distance : np.ndarray [shape=(n_sections,)]
        Distance to the own cluster's centre in the scaled space (frames: mean over the section's
        frames); NaN for noise.
    proba : np.ndarray [shape=(n_sections, n_clusters)] or None
        Membership probabilities (soft methods; frames: mean over the section's frames).
    label_distribution : np.ndarray [shape=(n_sections, n_clusters)] or None
        Frame level: share of each section's frames in each cluster.
    silhouette : np.ndarray [shape=(n_sections,)]
        Per-section silhouette in the scaled space (NaN for noise).
    quality : dict
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz`` over the sections.
    n_clusters : int
    centers : np.ndarray [shape=(n_clusters, d)]
        Cluster centres in the scaled space.
    centroids : np.ndarray [shape=(n_clusters, d)]
        Cluster centres in the space's original units.
    curves : dict
        Scores over the K range tried when K was chosen automatically (elbow plot; with the
        ``stable-silhouette`` rule also the bootstrap ``stability`` of each K).
    k_range : list of int
        The K range the method was given (empty when it takes no K).
    k_rule : str
        How K was chosen: ``fixed``, ``stable-silhouette``, ``silhouette``, ``bic`` or ``density``
        (:func:`sectionist.analysis.modeling.kchoice.choose_k`).
    k_min, k_max : int or None
        The K range actually searched (None when K was not searched: HDBSCAN).
    k_at_edge : bool
        The chosen K sits at an end of that range (a warning is logged).
    k_reason : str
        Why that K, in one sentence.
    bic : float or None
    estimator : fitted estimator
    scaler : fitted :class:`sectionist.analysis.modeling.scaling.FeatureScaler`
    large : dict or None
        Large-corpus path only (:func:`fit_run`): ``rows``, ``fit_sample`` (rows the method was
        fitted on) and ``final`` (how every row was labelled); None on the ordinary path.
    """

    spec: RunSpec
    section_ids: np.ndarray
    song_ids: np.ndarray
    columns: list
    labels: np.ndarray
    confidence: np.ndarray
    distance: np.ndarray
    proba: np.ndarray | None
    label_distribution: np.ndarray | None
    silhouette: np.ndarray
    quality: dict
    n_clusters: int
    centers: np.ndarray
    centroids: np.ndarray
    curves: dict
    k_range: list
    bic: float | None
    estimator: Any
    scaler: Any
    k_rule: str = "fixed"
    k_min: int | None = None
    k_max: int | None = None
    k_at_edge: bool = False
    k_reason: str = ""
    large: dict | None = None

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def n_sections(self) -> int:
        return len(self.section_ids)

    def labels_of(self, section_ids) -> np.ndarray:
        """Labels of the given sections (all must belong to the run)."""
        pos = dict(zip(self.section_ids, range(len(self.section_ids))))
        return self.labels[[pos[s] for s in section_ids]]


def section_labels(data: SpaceData, Z: np.ndarray, fitted, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Section labels (and frame-label distribution) of a fitted estimator over the scaled rows ``Z``."""
    from sectionist.analysis.modeling.kernels import sq_distances
    from sectionist.analysis.modeling.measures import mode_labels

    lab = fitted.predict(Z) if labels is None else labels
    if data.groups is None:
        return lab, None
    D = np.sqrt(sq_distances(Z, fitted.cluster_centers_))
    return mode_labels(data.groups, lab, D, len(data.section_ids))


def sample_rows(n: int, size: int, random_state=0) -> np.ndarray:
    """Sorted indices of a seeded uniform sample of ``min(n, size)`` of ``n`` rows, without replacement."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, size, replace=False))


def fit_run(data: SpaceData, spec: RunSpec, *, large_rows: int = LARGE_ROWS,
            fit_sample: int = LARGE_FIT_SAMPLE) -> RunResult:
    """Scale the rows, fit the method and measure the run: a pure function (no store).

    Up to ``large_rows`` rows the method is fitted on all rows. Above, the **large-corpus path**
    (:func:`_fit_large`): the method, and its K rule, are fitted on a seeded sample of
    ``fit_sample`` rows; K-Means then refines its centres with ``MiniBatchKMeans`` over all rows
    (initialised at the sample's centres, same K); every other method labels all rows with the
    sample fit's ``predict`` (GMM and fuzzy c-means: their probabilities; Ward and HDBSCAN: the
    nearest fitted centre, so no row is noise). Silhouettes are estimated against a sample (as
    above 8000 rows on either path, here against :data:`LARGE_SILHOUETTE_REFERENCE` reference rows).

    Parameters
    ----------
    data : SpaceData
        At least 3 sections.
    spec : RunSpec
        Its ``level``, when set, must be the data's.
    large_rows : int
        Row count above which the large-corpus path is taken (default :data:`LARGE_ROWS`).
    fit_sample : int
        Rows the large-corpus path fits the method on (default :data:`LARGE_FIT_SAMPLE`).

    Returns
    -------
    RunResult
    """
    from sectionist.analysis.modeling.kernels import sq_distances
    from sectionist.analysis.modeling.measures import cluster_quality, silhouette_per_sample
    from sectionist.analysis.modeling.scaling import FeatureScaler

    if spec.level is not None and spec.level != data.level:
        raise ParameterError(f"level={spec.level!r}, but the rows are at the {data.level!r} level")
    spec = replace(spec, level=data.level)
    n_sec = len(data.section_ids)
    if n_sec < 3:
        raise ParameterError(f"only {n_sec} section(s) in space {spec.space!r}; need at least 3 to cluster")
    seed = spec.seed
    if data.X.shape[0] > large_rows:
        return _fit_large(data, spec, fit_sample=fit_sample)
    scaler = FeatureScaler(spec.scaling).fit(data.X)
    Z = scaler.transform(data.X)
    est = spec.estimator().fit(Z)
    C = est.cluster_centers_
    labels, distribution = section_labels(data, Z, est, labels=est.labels_)
    Zs = Z if data.groups is None else group_means(Z, data.groups, n_sec)

    # per-section confidence, distance, probabilities
    own = np.maximum(labels, 0)
    if data.groups is None:
        confidence = np.asarray(est.confidence_, dtype=np.float64)
        proba = est.proba_
        dist = np.sqrt(((Zs - C[own]) ** 2).sum(axis=1))
    else:
        confidence = distribution[np.arange(n_sec), own]
        Dfr = np.sqrt(sq_distances(Z, C))
        dist = group_means(Dfr, data.groups, n_sec)[np.arange(n_sec), own]
        proba = group_means(est.proba_, data.groups, n_sec) if est.proba_ is not None else None
    noise = labels < 0
    dist = np.where(noise, np.nan, dist)
    confidence = np.where(noise, 0.0, confidence)

    if getattr(est, "k_at_edge_", False):
        log.warning("run %s: K=%d is at the edge of its search range %d–%d (%s); a wider --k-min/--k-max may "
                    "choose differently", spec.run_id, est.n_clusters_, est.k_min_, est.k_max_, est.k_reason_)
    return RunResult(
        spec=spec, section_ids=data.section_ids, song_ids=data.song_ids, columns=list(data.columns),
        labels=labels, confidence=confidence, distance=dist, proba=proba, label_distribution=distribution,
        silhouette=silhouette_per_sample(Zs, labels, random_state=seed),
        quality=cluster_quality(Zs, labels, random_state=seed),
        n_clusters=int(est.n_clusters_), centers=C, centroids=scaler.inverse_transform(C),
        curves=getattr(est, "curves_", {}) or {}, k_range=list(getattr(est, "k_range", []) or []),
        bic=est.bic_, estimator=est, scaler=scaler,
        k_rule=getattr(est, "k_rule_", "fixed"), k_min=getattr(est, "k_min_", None),
        k_max=getattr(est, "k_max_", None), k_at_edge=bool(getattr(est, "k_at_edge_", False)),
        k_reason=getattr(est, "k_reason_", ""),
    )


def _fit_large(data: SpaceData, spec: RunSpec, *, fit_sample: int) -> RunResult:
    """The large-corpus path of :func:`fit_run` (``spec.level`` filled): fit on a sample, label all rows."""
    from sklearn.cluster import MiniBatchKMeans

    from sectionist.analysis.modeling.measures import cluster_quality, silhouette_per_sample
    from sectionist.analysis.modeling.scaling import FeatureScaler

    seed = spec.seed
    n_rows, n_sec = data.X.shape[0], len(data.section_ids)
    scaler = FeatureScaler(spec.scaling).fit(data.X)
    Z = scaler.transform(data.X)
    idx = sample_rows(n_rows, fit_sample, seed)
    est = spec.estimator().fit(Z[idx])
    final = "sample fit, predict for all rows"
    if spec.method == "kmeans":
        mbk = MiniBatchKMeans(n_clusters=int(est.n_clusters_), init=est.cluster_centers_, n_init=1,
                              batch_size=MINIBATCH_SIZE, random_state=seed).fit(Z)
        est.cluster_centers_ = np.asarray(mbk.cluster_centers_, dtype=np.float64)
        est.inertia_ = float(mbk.inertia_)
        final = f"MiniBatchKMeans over all rows (batch {MINIBATCH_SIZE}) from the sample's centres"
    elif not hasattr(est, "predict_proba"):
        final = "sample fit, the other rows take the nearest fitted centre"
    soft = getattr(est, "proba_", None) is not None
    model = RunModel(spec, list(data.columns), scaler, est, soft)
    pl = place_sections(model, data)
    labels = pl.labels
    Zs = Z if data.groups is None else group_means(Z, data.groups, n_sec)
    est.labels_, est.proba_, est.confidence_ = None, None, None  # per-row arrays of the sample fit
    large = {"rows": int(n_rows), "fit_sample": int(len(idx)), "final": final}
    if getattr(est, "k_at_edge_", False):
        log.warning("run %s: K=%d is at the edge of its search range %d–%d (%s); a wider --k-min/--k-max may "
                    "choose differently", spec.run_id, est.n_clusters_, est.k_min_, est.k_max_, est.k_reason_)
    return RunResult(
        spec=spec, section_ids=data.section_ids, song_ids=data.song_ids, columns=list(data.columns),
        labels=labels, confidence=pl.confidence, distance=pl.distance, proba=pl.proba,
        label_distribution=pl.label_distribution,
        silhouette=silhouette_per_sample(Zs, labels, reference_size=LARGE_SILHOUETTE_REFERENCE, random_state=seed),
        quality=cluster_quality(Zs, labels, random_state=seed),
        n_clusters=int(est.n_clusters_), centers=est.cluster_centers_,
        centroids=scaler.inverse_transform(est.cluster_centers_),
        curves=getattr(est, "curves_", {}) or {}, k_range=list(getattr(est, "k_range", []) or []),
        bic=est.bic_, estimator=est, scaler=scaler,
        k_rule=getattr(est, "k_rule_", "fixed"), k_min=getattr(est, "k_min_", None),
        k_max=getattr(est, "k_max_", None), k_at_edge=bool(getattr(est, "k_at_edge_", False)),
        k_reason=getattr(est, "k_reason_", ""), large=large,
    )
