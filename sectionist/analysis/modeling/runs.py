"""One clustering run as pure functions over arrays: fit, stability, ground-truth scores.

No store access here: :mod:`sectionist.analysis.modeling` loads a :class:`SpaceData` from a store, calls the
steps below and writes their results; the steps work as well on any array::

    spec = RunSpec(space="toy", method="kmeans", k=3)
    result = fit_run(SpaceData.from_array(X), spec)          # labels, confidences, metrics, …
    stab = run_stability(SpaceData.from_array(X), result)    # bootstrap refits
    scores = score_truth(result, y_true)                     # ARI / NMI against known labels

The explanation step (a surrogate model and SHAP values) is :func:`sectionist.analysis.modeling.explain.explain_run`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sectionist.analysis.errors import ParameterError

log = logging.getLogger(__name__)

__all__ = [
    "Placement",
    "RunModel",
    "RunResult",
    "RunSpec",
    "SpaceData",
    "Stability",
    "fit_run",
    "make_run_id",
    "parse_k",
    "place_sections",
    "placed_drift",
    "run_stability",
    "score_truth",
]

#: Bootstrap refits of the stability step.
STABILITY_REPEATS = 5
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
LEVELS = ("section", "frame", "section-mean")


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

    @classmethod
    def from_array(cls, X, *, space: str = "array", section_ids=None, song_ids=None, groups=None,
                   columns=None) -> SpaceData:
        """A space from a plain array (no store): one row per section, or frames with ``groups``.

        Parameters
        ----------
        X : array-like [shape=(n_rows, d)]
        section_ids, song_ids : array-like [shape=(n_sections,)], optional
            Default ``s00000 …`` and one song.
        groups : array-like [shape=(n_rows,)], optional
            Section index of each row (frame level).
        columns : list of str, optional
            Default ``x0 … x{d-1}``.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ParameterError(f"X must be 2-D (rows × columns), got shape {X.shape}")
        if groups is not None:
            groups = np.asarray(groups, dtype=np.int64)
            if groups.shape != (X.shape[0],):
                raise ParameterError(f"groups has shape {groups.shape}, X has {X.shape[0]} rows")
        n_sec = X.shape[0] if groups is None else int(groups.max()) + 1
        ids = np.asarray(section_ids) if section_ids is not None else np.array([f"s{i:05d}" for i in range(n_sec)])
        songs = np.asarray(song_ids) if song_ids is not None else np.full(n_sec, "song")
        if len(ids) != n_sec or len(songs) != n_sec:
            raise ParameterError(f"{len(ids)} section ids and {len(songs)} song ids for {n_sec} sections")
        cols = list(columns) if columns is not None else [f"x{j}" for j in range(X.shape[1])]
        return cls(space, "section" if groups is None else "frame", ids, songs, X, groups, cols)

    def section_matrix(self) -> np.ndarray:
        """One row per section: ``X`` itself, or the mean of each section's frames."""
        if self.groups is None:
            return self.X
        return group_means(self.X, self.groups, len(self.section_ids))


def group_means(X: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Mean row of each group [shape=(n, d)] (0 for an empty group)."""
    sums = np.zeros((n, X.shape[1]))
    np.add.at(sums, groups, X)
    counts = np.bincount(groups, minlength=n).astype(np.float64)
    return sums / np.maximum(counts, 1)[:, None]


def parse_k(k):
    """``"auto"`` or an int ≥ 1 from a user's ``k``."""
    if k is None or k == "auto":
        return "auto"
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise ParameterError(f"k={k!r}: use 'auto' or an integer ≥ 2") from None
    if k < 1:
        raise ParameterError(f"k={k}: must be ≥ 1")
    return k


def make_run_id(space: str, method: str, k="auto", *, scaling="standard", level="section", seed=0,
                central_only=False) -> str:
    """Readable, deterministic run id, e.g. ``classical17-kmeans-auto`` or ``musicnn-kmeans-k4-frames``."""
    from sectionist.analysis.modeling.clustering import REGISTRY

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


@dataclass(frozen=True)
class RunSpec:
    """What to fit: everything that names a run.

    Parameters
    ----------
    space : str
        Feature set or embedder the rows come from (names the run; the rows are a :class:`SpaceData`).
    method : str
        A key of :data:`sectionist.analysis.modeling.clustering.REGISTRY` (unknown: ParameterError listing the known ones).
    k : "auto" or int
        Number of clusters (ignored by methods that find K themselves, e.g. ``hdbscan``).
    scaling : {"standard", "l2cols", "none"}
    level : {"section", "frame", "section-mean"} or None
        ``None`` until the rows are loaded; :func:`fit_run` fills it from the data.
    seed : int
        Seeds the estimator, the silhouette sample, the stability resamples and the surrogate.
    central_only : bool
        Whether only central sections were loaded (names the run).
    method_params : tuple of (name, value) pairs
        Extra estimator parameters; a dict is accepted and kept in its order.
    """

    space: str
    method: str = "kmeans"
    k: Any = "auto"
    scaling: str = "standard"
    level: str | None = None
    seed: int = 0
    central_only: bool = False
    method_params: tuple = field(default=())

    def __post_init__(self):
        from sectionist.analysis.modeling.clustering import REGISTRY, SCALINGS

        REGISTRY[self.method]  # unknown method: ParameterError naming the known ones
        object.__setattr__(self, "k", parse_k(self.k))
        if self.scaling not in SCALINGS:
            raise ParameterError(f"scaling={self.scaling!r}: use one of {', '.join(SCALINGS)}")
        if self.level is not None and self.level not in LEVELS:
            raise ParameterError(f"level={self.level!r}: use one of {', '.join(LEVELS)}")
        params = self.method_params
        items = tuple(params.items()) if isinstance(params, dict) else tuple(tuple(p) for p in params)
        object.__setattr__(self, "method_params", items)
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def params(self) -> dict:
        """``method_params`` as a dict."""
        return dict(self.method_params)

    @property
    def uses_k(self) -> bool:
        from sectionist.analysis.modeling.clustering import REGISTRY

        return REGISTRY[self.method].uses_k

    @property
    def run_id(self) -> str:
        """See :func:`make_run_id` (needs ``level``)."""
        if self.level is None:
            raise ParameterError("the run's level is known once its rows are loaded (fit_run fills it)")
        return make_run_id(self.space, self.method, self.k, scaling=self.scaling, level=self.level, seed=self.seed,
                           central_only=self.central_only)

    def estimator(self, random_state: int | None = None, n_clusters=None):
        """An unfitted estimator of the method (``n_clusters`` default: ``k``; seed default: ``seed``)."""
        from sectionist.analysis.modeling.clustering import make_method

        return make_method(self.method, n_clusters=self.k if n_clusters is None else n_clusters,
                           random_state=self.seed if random_state is None else random_state, **self.params)


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
        (:func:`sectionist.analysis.modeling.clustering.choose_k`).
    k_min, k_max : int or None
        The K range actually searched (None when K was not searched: HDBSCAN).
    k_at_edge : bool
        The chosen K sits at an end of that range (a warning is logged).
    k_reason : str
        Why that K, in one sentence.
    bic : float or None
    estimator : fitted estimator
    scaler : fitted :class:`sectionist.analysis.modeling.clustering.FeatureScaler`
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


def _section_labels(data: SpaceData, Z: np.ndarray, fitted, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Section labels (and frame-label distribution) of a fitted estimator over the scaled rows ``Z``."""
    from sectionist.analysis.modeling.clustering import _sq_distances, mode_labels

    lab = fitted.predict(Z) if labels is None else labels
    if data.groups is None:
        return lab, None
    D = np.sqrt(_sq_distances(Z, fitted.cluster_centers_))
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
    from sectionist.analysis.modeling.clustering import FeatureScaler, _sq_distances, cluster_quality, silhouette_per_sample

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
    labels, distribution = _section_labels(data, Z, est, labels=est.labels_)
    Zs = Z if data.groups is None else group_means(Z, data.groups, n_sec)

    # per-section confidence, distance, probabilities
    own = np.maximum(labels, 0)
    if data.groups is None:
        confidence = np.asarray(est.confidence_, dtype=np.float64)
        proba = est.proba_
        dist = np.sqrt(((Zs - C[own]) ** 2).sum(axis=1))
    else:
        confidence = distribution[np.arange(n_sec), own]
        Dfr = np.sqrt(_sq_distances(Z, C))
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

    from sectionist.analysis.modeling.clustering import FeatureScaler, cluster_quality, silhouette_per_sample

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


def k_note(run: dict) -> str | None:
    """How a run's K was chosen, in a few words (the Overview's "K choice" badge): ``"⚠ K at edge of
    2–10 (stable-silhouette)"`` when the chosen K sits at an end of its search range (``runs.k_at_edge``),
    else the rule (``"fixed"``, ``"stable-silhouette"`` …); None for runs written before the rule was
    recorded.

    Parameters
    ----------
    run : dict
        A ``runs`` row (``k_rule``, ``k_at_edge``, ``k_min``, ``k_max``).
    """
    rule = run.get("k_rule")
    if not isinstance(rule, str) or not rule:
        return None
    edge = run.get("k_at_edge")
    if isinstance(edge, (bool, np.bool_)) and bool(edge):
        return f"⚠ K at edge of {int(run['k_min'])}–{int(run['k_max'])} ({rule})"
    return rule


@dataclass
class Stability:
    """How stable a run's clusters are under bootstrap refits.

    Attributes
    ----------
    rate : np.ndarray [shape=(n_sections,)] in [0, 1]
        Per section, how often it stays with its cluster-mates (NaN when not measured).
    ari : float
        Mean ARI between the refits (NaN when not measured).
    n_repeats : int
        Refits asked for (fewer than 2: not measured).
    """

    rate: np.ndarray
    ari: float
    n_repeats: int


def run_stability(data: SpaceData, result: RunResult, *, n_repeats: int = STABILITY_REPEATS,
                  progress: bool = False) -> Stability:
    """Refit the run's method on ``n_repeats`` seeded bootstrap resamples; co-assignment rates and ARI.

    Methods that take K are refitted with the run's K. Fewer than 2 repeats: NaN (not measured).

    Parameters
    ----------
    data : SpaceData
        The rows the run was fitted on.
    result : RunResult

    Returns
    -------
    Stability
    """
    from sectionist.analysis.modeling.clustering import co_assignment_stability, stability_repeats

    n_sec = len(data.section_ids)
    if n_repeats < 2:
        return Stability(np.full(n_sec, np.nan), float("nan"), int(n_repeats))
    spec = result.spec
    Z = result.scaler.transform(data.X)
    fixed_k = result.n_clusters if spec.uses_k else None
    repeats = stability_repeats(lambda s: spec.estimator(random_state=s, n_clusters=fixed_k), Z,
                                lambda e: _section_labels(data, Z, e)[0], n_repeats=n_repeats,
                                random_state=spec.seed, progress=progress)
    rate, ari = co_assignment_stability(result.labels, repeats)
    return Stability(rate, ari, int(n_repeats))


def score_truth(result: RunResult, truth) -> dict:
    """ARI and NMI of the run's labels against ground-truth labels of its sections.

    Parameters
    ----------
    result : RunResult
    truth : array-like [shape=(n_sections,)] or None
        Truth label of each of ``result.section_ids`` (None / NaN / "" where unknown).

    Returns
    -------
    dict
        ``ari``, ``nmi`` (NaN without truth), ``n`` (sections with truth) and, with truth,
        ``agreement``.
    """
    from sectionist.analysis.modeling.compare import truth_scores

    if truth is None:
        return {"ari": np.nan, "nmi": np.nan, "n": 0}
    truth = np.asarray(truth, dtype=object)
    if truth.shape != (result.n_sections,):
        raise ParameterError(f"truth has shape {truth.shape}; the run has {result.n_sections} sections")
    return truth_scores(result.labels, truth)


# ---- placement: labelling new sections with a fitted run's model ----------------------------------


@dataclass
class RunModel:
    """What a fitted run needs to label new sections: its scaler, its estimator and its space.

    Saved beside each run (``runs.model_key``) so that sections added later can be placed into
    the run's clusters without refitting it (:func:`place_sections`).

    Attributes
    ----------
    spec : RunSpec
        With ``level`` filled.
    columns : list of str
        Columns of the space, in the order the scaler expects.
    scaler : fitted :class:`sectionist.analysis.modeling.clustering.FeatureScaler`
    estimator : fitted estimator with ``predict`` (and ``predict_proba`` for soft methods) and
        ``cluster_centers_``; at the frame level it labels frames, and a section takes the mode of
        its frames' labels (:func:`sectionist.analysis.modeling.clustering.mode_labels`), as in :func:`fit_run`.
    soft : bool
        Whether the run stores membership probabilities.
    """

    spec: RunSpec
    columns: list
    scaler: Any
    estimator: Any
    soft: bool

    @classmethod
    def of(cls, result: RunResult) -> RunModel:
        """The model of a fitted run, without the per-row arrays of the fit (kept small)."""
        import copy

        est = copy.copy(result.estimator)
        for name in ("labels_", "proba_", "confidence_"):
            if hasattr(est, name):
                setattr(est, name, None)
        return cls(result.spec, list(result.columns), result.scaler, est, result.proba is not None)


@dataclass
class Placement:
    """Labels of sections placed into a fitted run (same meaning as the :class:`RunResult` arrays).

    Attributes
    ----------
    section_ids : np.ndarray [shape=(n,)]
    labels : np.ndarray [shape=(n,)], int
    confidence : np.ndarray [shape=(n,)]
    distance : np.ndarray [shape=(n,)]
        Distance to the own cluster's centre in the run's scaled space (frames: mean over frames).
    proba : np.ndarray [shape=(n, k)] or None
    label_distribution : np.ndarray [shape=(n, k)] or None
    """

    section_ids: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    distance: np.ndarray
    proba: np.ndarray | None
    label_distribution: np.ndarray | None


def place_sections(model: RunModel, data: SpaceData) -> Placement:
    """Label the sections of ``data`` with a fitted run's model, without refitting it (pure).

    Parameters
    ----------
    model : RunModel
    data : SpaceData
        Rows in the run's space and level, columns in the run's order.

    Returns
    -------
    Placement
    """
    from sectionist.analysis.modeling.clustering import _margin_confidence, _sq_distances, mode_labels

    if data.level != model.spec.level:
        raise ParameterError(f"run {model.spec.run_id}: its level is {model.spec.level!r}, the rows are "
                             f"at the {data.level!r} level")
    if list(data.columns) != list(model.columns):
        raise ParameterError(f"run {model.spec.run_id}: the rows have {len(data.columns)} columns, the run was "
                             f"fitted on {len(model.columns)} ({', '.join(map(str, model.columns[:5]))}, …)")
    n = len(data.section_ids)
    if n == 0:
        empty = np.zeros(0)
        return Placement(data.section_ids, np.zeros(0, np.int64), empty, empty, None, None)
    est = model.estimator
    Z = model.scaler.transform(data.X)
    C = np.asarray(est.cluster_centers_, dtype=np.float64)
    D = np.sqrt(_sq_distances(Z, C))
    frame_labels = np.asarray(est.predict(Z), dtype=np.int64)
    P = np.asarray(est.predict_proba(Z), dtype=np.float64) if model.soft else None
    if data.groups is None:
        labels, distribution = frame_labels, None
        confidence = P.max(axis=1) if P is not None else _margin_confidence(D)
        distance = D[np.arange(n), np.maximum(labels, 0)]
        proba = P
    else:
        labels, distribution = mode_labels(data.groups, frame_labels, D, n)
        confidence = distribution[np.arange(n), np.maximum(labels, 0)]
        distance = group_means(D, data.groups, n)[np.arange(n), np.maximum(labels, 0)]
        proba = group_means(P, data.groups, n) if P is not None else None
    noise = labels < 0
    return Placement(data.section_ids, labels, np.where(noise, 0.0, confidence),
                     np.where(noise, np.nan, distance), proba, distribution)


def placed_drift(placed_distance, fitted_distance) -> float:
    """Mean distance of placed sections to their centre ÷ that of the fitted ones (NaN if either is empty).

    Near 1: the new sections sit in the clusters as snugly as the fitted ones; well above 1: the
    clusters no longer describe them (a refit, ``sectionist refit``, is worth it).
    """
    p = np.asarray(placed_distance, dtype=np.float64)
    f = np.asarray(fitted_distance, dtype=np.float64)
    p, f = p[np.isfinite(p)], f[np.isfinite(f)]
    if not len(p) or not len(f) or f.mean() <= 0:
        return float("nan")
    return float(p.mean() / f.mean())


def versioned_run_id(lineage: str, version: int) -> str:
    """The run id of ``version`` of a lineage: the lineage itself for version 1, else ``{lineage}~v{version}``."""
    version = int(version)
    if version < 1:
        raise ParameterError(f"version={version}: versions start at 1")
    return lineage if version == 1 else f"{lineage}~v{version}"


def subset_space(data: SpaceData, section_ids) -> SpaceData:
    """The rows of ``data`` that belong to ``section_ids`` (kept in ``data``'s order)."""
    keep = np.isin(data.section_ids, np.asarray(list(section_ids), dtype=object))
    if data.groups is None:
        return replace(data, section_ids=data.section_ids[keep], song_ids=data.song_ids[keep], X=data.X[keep])
    new_index = np.cumsum(keep) - 1
    rows = keep[data.groups]
    return replace(data, section_ids=data.section_ids[keep], song_ids=data.song_ids[keep], X=data.X[rows],
                   groups=new_index[data.groups[rows]].astype(np.int64))
