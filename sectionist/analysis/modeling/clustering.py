"""Clustering methods behind one registry, plus the measures every run stores.

Each method is an estimator in the scikit-learn sense (``__init__`` only stores parameters,
``fit`` returns ``self``, learned attributes end in ``_``, ``random_state`` everywhere) and is
registered with :func:`register`, so the command line offers exactly the methods in
:data:`REGISTRY`. After ``fit(X)`` every method exposes

``labels_``           (n,) int, −1 = noise (HDBSCAN only)
``cluster_centers_``  (k, d) cluster centres in the (scaled) input space
``proba_``            (n, k) membership probabilities (soft methods) or ``None``
``confidence_``       (n,) in [0, 1]: the winning probability for soft methods, else the
                      distance margin ``1 − d_own / d_second``
``n_clusters_``       number of clusters (noise excluded)
``curves_``           dict of lists over the K range tried (``k``, ``inertia``, ``silhouette``,
                      ``stability``, ``bic``) when K was chosen automatically, for the elbow plot
``k_rule_``           how K was chosen: ``fixed``, ``stable-silhouette`` (the default rule, see
                      :func:`choose_k`), ``silhouette``, ``bic`` or ``density`` (HDBSCAN)
``k_min_``, ``k_max_``  the K range searched (``None`` when K was not searched)
``k_at_edge_``        whether the chosen K sits at an end of that range (see :func:`choose_k`)
``k_reason_``         one sentence on why that K
``bic_``              Bayesian information criterion (GMM) or ``None``

and ``predict(X)`` (new points to the nearest cluster / most probable component), which the
stability measure uses.

The pure helpers below (:func:`silhouette_per_sample`, :func:`cluster_quality`,
:func:`mode_labels`, :func:`co_assignment_stability`) work on arrays and know nothing about the
store.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning

from sectionist.analysis.errors import InputError, ParameterError
from sectionist.analysis.registry import Registry

log = logging.getLogger(__name__)

#: Default range of K tried when K is chosen automatically.
K_RANGE = (2, 10)
#: Rules that choose K automatically (``k_rule`` of the methods that take K); the first is the default.
K_RULES = ("stable-silhouette", "silhouette", "bic")
#: ``stable-silhouette``: a K is "as good as the best" when its silhouette is within this much of the
#: best silhouette (silhouettes live on a fixed [−1, 1] scale; on corpora of music sections adjacent
#: K differ by 0.01–0.03, while one K too many on well-separated groups costs 0.1 or more).
K_SILHOUETTE_TOLERANCE = 0.05
#: ``stable-silhouette``: a K is "stable" when the mean ARI between its fit on all rows and its refits
#: on bootstrap resamples reaches this (Hennig's 0.75 rule of thumb for stable clusters).
K_MIN_STABILITY = 0.75
#: ``stable-silhouette``: bootstrap refits per K, and the size cap of each resample.
K_STABILITY_REPEATS = 5
K_STABILITY_MAX_ROWS = 2000
#: Above this many rows, the silhouette is estimated from a fixed-size sample.
SILHOUETTE_EXACT_MAX = 8000
SILHOUETTE_SAMPLE = 4000


@dataclass(frozen=True)
class MethodSpec:
    """A registered clustering method.

    Attributes
    ----------
    name : str
        Registry key, used on the command line (``--method``) and in run ids.
    estimator : type
        The estimator class.
    soft : bool
        Whether it gives membership probabilities.
    uses_k : bool
        Whether it takes a number of clusters (HDBSCAN does not).
    description : str
        One line for ``--help``.
    """

    name: str
    estimator: type
    soft: bool
    uses_k: bool
    description: str


def _method_spec(name: str, cls: type, *, soft: bool = False, uses_k: bool = True, description: str = "") -> MethodSpec:
    return MethodSpec(name, cls, soft, uses_k, description or (cls.__doc__ or "").split("\n")[0])


#: Every clustering method, by name (a :class:`~sectionist.analysis.registry.Registry`; ``--method`` choices).
REGISTRY: Registry = Registry("clustering method", entry=_method_spec)


def register(name: str, *, soft: bool = False, uses_k: bool = True, description: str = "",
             replace: bool = False) -> Callable:
    """Class decorator adding a clustering estimator to :data:`REGISTRY` under ``name``.

    A name already registered raises ParameterError unless ``replace=True``.
    """
    return REGISTRY.register(name, replace=replace, soft=soft, uses_k=uses_k, description=description)


def make_method(name: str, **params) -> BaseEstimator:
    """An unfitted estimator of the registered method ``name`` with ``params``."""
    spec = REGISTRY[name]  # unknown: ParameterError naming the known methods
    if not spec.uses_k:
        params.pop("n_clusters", None)
    return spec.estimator(**params)


# ---- scaling -------------------------------------------------------------------------------

SCALINGS = ("standard", "l2cols", "none")


class FeatureScaler(TransformerMixin, BaseEstimator):
    """Column scaling before clustering.

    Parameters
    ----------
    kind : {"standard", "l2cols", "none"}
        ``standard``: zero mean, unit variance per column (constant columns are left at 0).
        ``l2cols``: each column divided by its L2 norm over the rows — the reference study's
        ``sklearn.preprocessing.normalize(X, axis=0)``.
    """

    def __init__(self, kind: str = "standard"):
        self.kind = kind

    def fit(self, X, y=None):
        if self.kind not in SCALINGS:
            raise ParameterError(f"scaling={self.kind!r}: use one of {', '.join(SCALINGS)}")
        X = check_rows(self, X, reset=True, what="scale")
        d = X.shape[1]
        if self.kind == "standard":
            self.center_ = X.mean(axis=0)
            scale = X.std(axis=0)
        elif self.kind == "l2cols":
            self.center_ = np.zeros(d)
            scale = np.sqrt((X**2).sum(axis=0))
        else:
            self.center_ = np.zeros(d)
            scale = np.ones(d)
        scale[~np.isfinite(scale) | (scale <= 1e-12)] = 1.0
        self.scale_ = scale
        return self

    def transform(self, X):
        """Scaled rows [shape=(n, d)]."""
        return (_check_fitted_X(self, X) - self.center_) / self.scale_

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Rows back in original units [shape=(n, d)] (e.g. cluster centres)."""
        return _check_fitted_X(self, Z) * self.scale_ + self.center_


# ---- shared kernels --------------------------------------------------------------------------


def _sq_distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (n, k), clipped at 0."""
    d = (X**2).sum(1)[:, None] - 2.0 * X @ C.T + (C**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _margin_confidence(D: np.ndarray) -> np.ndarray:
    """``1 − d_own / d_second`` from a distance matrix (n, k); 1 when k == 1."""
    if D.shape[1] < 2:
        return np.ones(D.shape[0])
    part = np.partition(D, 1, axis=1)
    d1, d2 = part[:, 0], part[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(d2 > 0, 1.0 - d1 / d2, 0.0)
    return np.clip(c, 0.0, 1.0)


def _member_centers(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    C = np.zeros((n_clusters, X.shape[1]))
    for c in range(n_clusters):
        m = labels == c
        if m.any():
            C[c] = X[m].mean(axis=0)
    return C


def _k_candidates(n: int, k_range) -> list[int]:
    lo, hi = int(k_range[0]), int(k_range[1])
    # at least ~4 rows per cluster on average: with fewer, BIC and silhouette reward splitting noise
    hi = min(hi, n - 1, max(lo, n // 4))
    if lo < 2 or hi < lo:
        raise ParameterError(f"cannot choose K automatically from {n} rows with k_range={tuple(k_range)}")
    return list(range(lo, hi + 1))


def choose_k(ks, silhouette, stability=None, *, rule: str = "stable-silhouette", bic=None,
             tolerance: float = K_SILHOUETTE_TOLERANCE,
             min_stability: float = K_MIN_STABILITY) -> tuple[int, bool, str]:
    """Choose K from the curves over the searched range (a pure function).

    Rules
    -----
    ``stable-silhouette`` (default)
        Among K ≥ 3, the candidates are the K whose silhouette is within ``tolerance`` of the best
        silhouette over K ≥ 3 and whose bootstrap ``stability`` reaches ``min_stability``; the
        **largest** candidate wins (the finest partition that is as well separated as the best and
        reproducible), so a corpus where K = 2 is only marginally better does not collapse to two
        clusters. K = 2 is chosen only when the data clearly have two groups: its silhouette beats
        every K ≥ 3 by more than ``tolerance`` and it is stable. Without a stable candidate, the
        most stable K within the tolerance is taken (and the reason says so).
    ``silhouette``
        The K with the highest silhouette (what earlier versions did).
    ``bic``
        The K with the lowest BIC (mixtures only).

    Parameters
    ----------
    ks : list of int
        The K searched, increasing and contiguous.
    silhouette, stability, bic : list of float
        Curves over ``ks`` (NaN where undefined); ``stability`` is needed by ``stable-silhouette``,
        ``bic`` by ``bic``.
    tolerance, min_stability : float
        See :data:`K_SILHOUETTE_TOLERANCE` and :data:`K_MIN_STABILITY`.

    Returns
    -------
    k : int
    at_edge : bool
        The chosen K is the largest searched, or the smallest searched while that is above 2 (a
        smaller K could have been tried): the range may have cut the choice short. K = 2 chosen from
        a range starting at 2 is not at an edge (1 cluster is no clustering).
    reason : str
        One sentence naming the rule and the numbers that decided.
    """
    ks = [int(k) for k in ks]
    if not ks:
        raise ParameterError("choose_k: no K was searched")
    if rule not in K_RULES:
        raise ParameterError(f"k_rule={rule!r}: use one of {', '.join(K_RULES)}")
    sil = np.asarray(silhouette, dtype=np.float64)
    if rule == "bic":
        if bic is None:
            raise ParameterError("k_rule='bic' needs a BIC curve (gmm only)")
        i = int(np.nanargmin(np.asarray(bic, dtype=np.float64)))
        reason = f"lowest BIC {bic[i]:.1f}"
    elif rule == "silhouette" or np.isnan(sil).all():
        i = int(np.nanargmax(sil)) if not np.isnan(sil).all() else 0
        reason = f"best silhouette {sil[i]:.3f}"
    else:
        if stability is None:
            raise ParameterError("k_rule='stable-silhouette' needs a stability curve")
        stab = np.asarray(stability, dtype=np.float64)
        s = np.where(np.isnan(sil), -np.inf, sil)
        st = np.where(np.isnan(stab), -np.inf, stab)
        ge3 = np.array([k >= 3 for k in ks])
        if ge3.any():
            best3 = float(s[ge3].max())
            two = [j for j, k in enumerate(ks) if k == 2]
            if two and s[two[0]] > best3 + tolerance and st[two[0]] >= min_stability:
                i = two[0]
                reason = (f"K=2 clearly best: silhouette {s[i]:.3f} beats every K≥3 (best {best3:.3f}) by more "
                          f"than {tolerance:g}, stability {st[i]:.2f}")
            else:
                near = [j for j in range(len(ks)) if ge3[j] and s[j] >= best3 - tolerance]
                stable = [j for j in near if st[j] >= min_stability]
                if stable:
                    i = max(stable, key=lambda j: ks[j])
                    reason = (f"largest K≥3 with silhouette within {tolerance:g} of the best ({best3:.3f}) and "
                              f"stability ≥ {min_stability:g}: silhouette {s[i]:.3f}, stability {st[i]:.2f}")
                else:
                    i = max(near, key=lambda j: (st[j], ks[j]))
                    reason = (f"no K≥3 within {tolerance:g} of the best silhouette ({best3:.3f}) reaches stability "
                              f"{min_stability:g}; the most stable of them: silhouette {s[i]:.3f}, "
                              f"stability {st[i]:.2f}")
        else:  # only K = 2 searched
            i = 0
            reason = f"only K=2 searched: silhouette {s[0]:.3f}, stability {st[0]:.2f}"
    k = ks[i]
    at_edge = len(ks) > 1 and (k == ks[-1] or (k == ks[0] and ks[0] > 2))
    return k, bool(at_edge), reason


def check_rows(estimator, X, *, reset: bool, min_rows: int = 1, what: str = "cluster") -> np.ndarray:
    """Validate the rows given to ``estimator.fit`` (``reset=True``) or to a fitted estimator.

    scikit-learn's ``validate_data``: a finite, dense, 2-D float64 array; ``fit`` records
    ``n_features_in_``, later calls must have that many columns. Problems raise :class:`InputError`
    (sparse input: scikit-learn's ``TypeError``).

    Parameters
    ----------
    estimator : BaseEstimator
    X : array-like [shape=(n, d)]
    reset : bool
        True in ``fit``.
    min_rows : int
        Fewest rows accepted.
    what : str
        What the rows are for, in the error message.

    Returns
    -------
    np.ndarray [shape=(n, d), dtype=float64]
    """
    from sklearn.utils.validation import validate_data

    try:
        X = validate_data(estimator, X, reset=reset, dtype=np.float64)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if X.shape[0] < min_rows:
        raise InputError(f"need at least {min_rows} rows to {what}, got n_samples={X.shape[0]}")
    return X


def _check_X(estimator, X, min_rows: int = 3) -> np.ndarray:
    """Rows given to ``fit``."""
    return check_rows(estimator, X, reset=True, min_rows=min_rows)


def _check_fitted_X(estimator, X) -> np.ndarray:
    """Rows given to a fitted estimator (``predict``, ``predict_proba``)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    return check_rows(estimator, X, reset=False)


def _check_k(n_clusters, n: int):
    if n_clusters == "auto" or n_clusters is None:
        return "auto"
    try:
        k = int(n_clusters)
    except (TypeError, ValueError):
        raise ParameterError(f"n_clusters={n_clusters!r}: use 'auto' or an integer ≥ 1") from None
    if not 1 <= k <= n:
        raise ParameterError(f"n_clusters={k}: must be within 1–{n} (the number of rows)")
    return k


def _silhouette_score(X, labels, random_state) -> float:
    from sklearn.metrics import silhouette_score

    ok = labels >= 0
    if len(np.unique(labels[ok])) < 2 or ok.sum() < 3:
        return float("nan")
    sample = SILHOUETTE_SAMPLE if ok.sum() > SILHOUETTE_EXACT_MAX else None
    return float(silhouette_score(X[ok], labels[ok], sample_size=sample, random_state=random_state))


def _k_stability(estimator, X, ks, labels, *, n_repeats: int = K_STABILITY_REPEATS,
                 max_rows: int = K_STABILITY_MAX_ROWS) -> list[float]:
    """Per K: mean ARI between the full-data ``labels`` and the labels predicted by refits (K fixed,
    own seed) on seeded bootstrap resamples of at most ``max_rows`` rows; the ARI is taken over all
    rows, or over a seeded sample of ``5 · max_rows`` of them on larger inputs."""
    from sklearn.base import clone
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(estimator.random_state)
    n = X.shape[0]
    size = min(n, max_rows)
    draws = [(rng.choice(n, size, replace=True), int(rng.integers(2**31 - 1))) for _ in range(n_repeats)]
    judge = np.sort(rng.choice(n, 5 * max_rows, replace=False)) if n > 5 * max_rows else np.arange(n)
    out = []
    for k, lab in zip(ks, labels):
        aris = []
        for idx, seed in draws:
            est = clone(estimator).set_params(n_clusters=int(k), random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X[idx])
            aris.append(adjusted_rand_score(np.asarray(lab)[judge], est.predict(X[judge])))
        out.append(float(np.mean(aris)))
    return out


class _Base(ClusterMixin, BaseEstimator):
    def predict(self, X):
        X = _check_fitted_X(self, X)
        return _sq_distances(X, self.cluster_centers_).argmin(axis=1)

    def _choose_k(self, X, ks, labels, silhouette, curves, bic=None) -> int:
        """Apply ``self.k_rule`` over the searched ``ks`` (full-data ``labels`` of each K); set the
        ``curves_`` (adding the bootstrap ``stability`` the rule used) and ``k_*_`` attributes and
        return the index of the chosen K."""
        rule = getattr(self, "k_rule", "stable-silhouette")
        if rule not in K_RULES:
            raise ParameterError(f"k_rule={rule!r}: use one of {', '.join(K_RULES)}")
        if rule == "bic" and bic is None:
            raise ParameterError(f"k_rule='bic' needs a mixture model; {type(self).__name__} has no BIC")
        stability = None
        if rule == "stable-silhouette":
            stability = _k_stability(self, X, ks, labels)
            curves["stability"] = stability
        k, at_edge, reason = choose_k(ks, silhouette, stability, rule=rule, bic=bic)
        requested = (int(self.k_range[0]), int(self.k_range[1]))
        if ks[-1] < requested[1]:
            reason += f"; K capped at {ks[-1]} (about 4 rows per cluster) below the asked {requested[1]}"
        self.curves_ = curves
        self.k_rule_, self.k_min_, self.k_max_ = rule, int(ks[0]), int(ks[-1])
        self.k_at_edge_, self.k_reason_ = at_edge, reason
        return ks.index(k)

    def _fixed_k(self, k):
        self.k_rule_, self.k_min_, self.k_max_, self.k_at_edge_ = "fixed", int(k), int(k), False
        self.k_reason_ = f"K={int(k)} given"

    def _finish_hard(self, X, labels, centers):
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.cluster_centers_ = np.asarray(centers, dtype=np.float64)
        self.n_clusters_ = int(self.cluster_centers_.shape[0])
        self.confidence_ = _margin_confidence(np.sqrt(_sq_distances(X, self.cluster_centers_)))
        self.proba_ = None
        if not hasattr(self, "bic_"):
            self.bic_ = None
        if not hasattr(self, "curves_"):
            self.curves_ = {}


# ---- methods -------------------------------------------------------------------------------


@register("kmeans", description="K-Means (K given or chosen by the K rule; inertia kept for the elbow)")
class KMeansMethod(_Base):
    """K-Means with K given or chosen automatically.

    Parameters
    ----------
    n_clusters : int or "auto"
        Number of clusters; ``"auto"`` tries every K in ``k_range`` and chooses one by ``k_rule``
        (silhouettes sampled above 8000 rows). The inertia curve is kept for the elbow plot.
    k_range : tuple of int
        Inclusive range of K tried when automatic.
    k_rule : {"stable-silhouette", "silhouette"}
        How ``"auto"`` chooses K (:func:`choose_k`); the curves of every rule are kept.
    n_init : int
        K-Means restarts (best inertia kept).
    random_state : int
        Seed.
    """

    def __init__(self, n_clusters="auto", k_range=K_RANGE, n_init=4, random_state=0, k_rule="stable-silhouette"):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.n_init = n_init
        self.random_state = random_state

    def _fit_k(self, X, k):
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(X)

    def fit(self, X, y=None):
        X = _check_X(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, inertia, sil, models = _k_candidates(X.shape[0], self.k_range), [], [], []
            for kk in ks:
                m = self._fit_k(X, kk)
                models.append(m)
                inertia.append(float(m.inertia_))
                sil.append(_silhouette_score(X, m.labels_, self.random_state))
            best = self._choose_k(X, ks, [m.labels_ for m in models], sil,
                                  {"k": ks, "inertia": inertia, "silhouette": sil})
            model = models[best]
        else:
            model = self._fit_k(X, k)
            self._fixed_k(k)
        self.inertia_ = float(model.inertia_)
        self._finish_hard(X, model.labels_, model.cluster_centers_)
        return self


@register("gmm", soft=True, description="Gaussian mixture (soft memberships; K given or chosen by the K rule; BIC kept)")
class GMMMethod(_Base):
    """Gaussian mixture model, soft memberships.

    Parameters
    ----------
    n_clusters : int or "auto"
        Components; ``"auto"`` chooses K in ``k_range`` by ``k_rule`` (the BIC curve is kept).
    k_rule : {"stable-silhouette", "silhouette", "bic"}
        How ``"auto"`` chooses K (:func:`choose_k`); the curves of every rule are kept.
    covariance_type : {"diag", "full", "spherical", "tied"}
        Covariance model (``diag`` scales to many features and rows).
    random_state : int
        Seed.
    """

    def __init__(self, n_clusters="auto", k_range=K_RANGE, covariance_type="diag", n_init=2, random_state=0,
                 k_rule="stable-silhouette"):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.random_state = random_state

    def _fit_k(self, X, k):
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(
            n_components=k, covariance_type=self.covariance_type, n_init=self.n_init,
            reg_covar=1e-5, random_state=self.random_state,
        ).fit(X)

    def fit(self, X, y=None):
        X = _check_X(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, bic, sil, models, labs = _k_candidates(X.shape[0], self.k_range), [], [], [], []
            for kk in ks:
                m = self._fit_k(X, kk)
                models.append(m)
                bic.append(float(m.bic(X)))
                labs.append(m.predict(X))
                sil.append(_silhouette_score(X, labs[-1], self.random_state))
            best = self._choose_k(X, ks, labs, sil, {"k": ks, "bic": bic, "silhouette": sil}, bic=bic)
            model = models[best]
        else:
            model = self._fit_k(X, k)
            self._fixed_k(k)
        self.model_ = model
        self.bic_ = float(model.bic(X))
        proba = model.predict_proba(X)
        # empty components can occur; labels index the components, centres are the means
        self.labels_ = proba.argmax(axis=1).astype(np.int64)
        self.proba_ = proba
        self.cluster_centers_ = np.asarray(model.means_, dtype=np.float64)
        self.n_clusters_ = int(proba.shape[1])
        self.confidence_ = proba.max(axis=1)
        return self

    def predict(self, X):
        X = _check_fitted_X(self, X)
        return self.model_.predict(X)

    def predict_proba(self, X):
        X = _check_fitted_X(self, X)
        return self.model_.predict_proba(X)


def _fcm_memberships(X: np.ndarray, C: np.ndarray, m: float) -> np.ndarray:
    D = np.sqrt(_sq_distances(X, C))
    D = np.maximum(D, 1e-12)
    # u_ik = 1 / sum_j (d_ik / d_ij)^(2/(m-1)), computed stably through the inverse powers
    inv = D ** (-2.0 / (m - 1.0))
    return inv / inv.sum(axis=1, keepdims=True)


def fuzzy_cmeans(X: np.ndarray, n_clusters: int, *, m: float = 2.0, max_iter: int = 300, tol: float = 1e-6,
                 random_state=0) -> tuple[np.ndarray, np.ndarray, int]:
    """Fuzzy c-means (Bezdek), initialised with k-means++ centres.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
    n_clusters : int
    m : float > 1
        Fuzzifier (2 is the usual choice; → 1 approaches hard K-Means).

    Returns
    -------
    centers : np.ndarray [shape=(k, d)]
    memberships : np.ndarray [shape=(n, k)], rows sum to 1
    n_iter : int
    """
    from sklearn.cluster import kmeans_plusplus

    if m <= 1:
        raise ParameterError(f"fuzzifier m={m}: must be > 1")
    C, _ = kmeans_plusplus(X, n_clusters, random_state=random_state)
    U = _fcm_memberships(X, C, m)
    for it in range(1, max_iter + 1):
        W = U**m
        C = (W.T @ X) / np.maximum(W.sum(axis=0)[:, None], 1e-12)
        U_new = _fcm_memberships(X, C, m)
        delta = np.abs(U_new - U).max()
        U = U_new
        if delta < tol:
            break
    return C, U, it


@register("fuzzy", soft=True, description="Fuzzy c-means (soft memberships; K given or chosen by the K rule)")
class FuzzyCMeansMethod(_Base):
    """Fuzzy c-means, soft memberships (the reference study's planned soft clustering).

    Parameters
    ----------
    n_clusters : int or "auto"
        Clusters; ``"auto"`` chooses K in ``k_range`` by ``k_rule`` (silhouettes of the hard labels).
    k_rule : {"stable-silhouette", "silhouette"}
        How ``"auto"`` chooses K (:func:`choose_k`); the curves of every rule are kept.
    m : float
        Fuzzifier, > 1.
    random_state : int
        Seed of the k-means++ initialisation.
    """

    def __init__(self, n_clusters="auto", k_range=K_RANGE, m=2.0, max_iter=300, random_state=0,
                 k_rule="stable-silhouette"):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.m = m
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y=None):
        X = _check_X(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, sil, fits = _k_candidates(X.shape[0], self.k_range), [], []
            for kk in ks:
                C, U, n_iter = fuzzy_cmeans(X, kk, m=self.m, max_iter=self.max_iter, random_state=self.random_state)
                fits.append((C, U, n_iter))
                sil.append(_silhouette_score(X, U.argmax(axis=1), self.random_state))
            best = self._choose_k(X, ks, [f[1].argmax(axis=1) for f in fits], sil, {"k": ks, "silhouette": sil})
            C, U, n_iter = fits[best]
        else:
            C, U, n_iter = fuzzy_cmeans(X, k, m=self.m, max_iter=self.max_iter, random_state=self.random_state)
            self._fixed_k(k)
        self.n_iter_ = int(n_iter)
        self.cluster_centers_ = C
        self.labels_ = U.argmax(axis=1).astype(np.int64)
        self.proba_ = U
        self.n_clusters_ = int(C.shape[0])
        self.confidence_ = U.max(axis=1)
        self.bic_ = None
        return self

    def predict_proba(self, X):
        return _fcm_memberships(_check_fitted_X(self, X), self.cluster_centers_, self.m)


@register("agglomerative", description="Agglomerative clustering, Ward linkage (K given or chosen by the K rule)")
class WardMethod(_Base):
    """Agglomerative clustering with Ward linkage.

    One tree is built and cut at every K tried. Ward needs memory quadratic in the number of
    rows, so above ``max_rows`` rows the tree is built on a seeded sample and the other rows go to
    the nearest cluster centre.

    Parameters
    ----------
    n_clusters : int or "auto"
    k_range : tuple of int
        Inclusive range of K tried when automatic.
    max_rows : int
        Largest number of rows the tree is built on.
    random_state : int
        Seed of the sample (only used above ``max_rows`` rows).
    k_rule : {"stable-silhouette", "silhouette"}
        How ``"auto"`` chooses K (:func:`choose_k`); the curves of every rule are kept.
    """

    def __init__(self, n_clusters="auto", k_range=K_RANGE, max_rows=6000, random_state=0, k_rule="stable-silhouette"):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y=None):
        from scipy.cluster.hierarchy import fcluster, linkage

        X = _check_X(self, X)
        n = X.shape[0]
        k = _check_k(self.n_clusters, n)
        rng = np.random.default_rng(self.random_state)
        idx = np.sort(rng.choice(n, self.max_rows, replace=False)) if n > self.max_rows else np.arange(n)
        Xs = X[idx]
        Z = linkage(Xs, method="ward")

        def cut(kk):
            lab = fcluster(Z, t=kk, criterion="maxclust") - 1
            C = _member_centers(Xs, lab, int(lab.max()) + 1)
            full = _sq_distances(X, C).argmin(axis=1) if n > self.max_rows else lab
            return full, C

        self.curves_ = {}
        if k == "auto":
            ks, sil, cuts = _k_candidates(n, self.k_range), [], []
            for kk in ks:
                lab, C = cut(kk)
                cuts.append((lab, C))
                sil.append(_silhouette_score(X, lab, self.random_state))
            best = self._choose_k(X, ks, [c[0] for c in cuts], sil, {"k": ks, "silhouette": sil})
            lab, C = cuts[best]
        else:
            lab, C = cut(k)
            self._fixed_k(k)
        C = _member_centers(X, lab, C.shape[0])
        self._finish_hard(X, lab, C)
        return self


@register("hdbscan", uses_k=False, description="HDBSCAN (density based, finds K itself; label -1 = noise)")
class HDBSCANMethod(_Base):
    """HDBSCAN (scikit-learn's); the number of clusters is found, sparse points are noise (−1).

    Parameters
    ----------
    min_cluster_size : int or None
        Smallest cluster; ``None`` → ``max(5, min(50, n // 50))``.
    min_samples : int or None
        Neighbourhood size for the core distance (``None`` = ``min_cluster_size``).
    random_state : int
        Unused by the algorithm (deterministic); kept for the common interface.
    """

    def __init__(self, min_cluster_size=None, min_samples=None, random_state=0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.random_state = random_state

    def fit(self, X, y=None):
        from sklearn.cluster import HDBSCAN

        X = _check_X(self, X)
        n = X.shape[0]
        mcs = self.min_cluster_size or max(5, min(50, n // 50))
        model = HDBSCAN(min_cluster_size=int(mcs), min_samples=self.min_samples, copy=True).fit(X)
        lab = model.labels_.astype(np.int64)
        k = int(lab.max()) + 1
        if k == 0:
            raise ParameterError(
                f"hdbscan found no cluster in {n} rows with min_cluster_size={mcs}; try a smaller one"
            )
        C = _member_centers(X, lab, k)
        self.labels_ = lab
        self.cluster_centers_ = C
        self.n_clusters_ = k
        self.proba_ = None
        self.bic_ = None
        self.curves_ = {}
        self.confidence_ = np.where(lab >= 0, model.probabilities_, 0.0)
        self.min_cluster_size_ = int(mcs)
        self.k_rule_, self.k_min_, self.k_max_, self.k_at_edge_ = "density", None, None, False
        self.k_reason_ = f"found by density (min_cluster_size={int(mcs)})"
        return self


# ---- measures ------------------------------------------------------------------------------


def silhouette_per_sample(X: np.ndarray, labels: np.ndarray, *, max_exact: int = SILHOUETTE_EXACT_MAX,
                          reference_size: int = SILHOUETTE_SAMPLE, random_state=0) -> np.ndarray:
    """Silhouette of every row; noise rows (label −1) get NaN.

    Up to ``max_exact`` rows this is sklearn's exact ``silhouette_samples``. Above, each row's
    mean intra- and nearest-cluster distances are estimated against a seeded, cluster-stratified
    reference sample of about ``reference_size`` rows (cost O(n · reference_size) instead of O(n²)).

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
    labels : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    from sklearn.metrics import silhouette_samples

    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(len(labels), np.nan)
    ok = labels >= 0
    present = np.unique(labels[ok])
    if len(present) < 2:
        return out
    if ok.sum() <= max_exact:
        out[ok] = silhouette_samples(X[ok], labels[ok])
        return out
    rng = np.random.default_rng(random_state)
    Xo, lo = X[ok], labels[ok]
    ref_idx = []
    frac = reference_size / len(lo)
    for c in present:
        members = np.flatnonzero(lo == c)
        take = max(2, int(round(len(members) * frac)))
        ref_idx.append(rng.choice(members, min(take, len(members)), replace=False))
    ref = np.concatenate(ref_idx)
    Xr, lr = Xo[ref], lo[ref]
    col = {c: np.flatnonzero(lr == c) for c in present}
    sil = np.empty(len(lo))
    for start in range(0, len(lo), 4096):
        block = Xo[start:start + 4096]
        D = np.sqrt(_sq_distances(block, Xr))
        means = np.stack([D[:, col[c]].mean(axis=1) for c in present], axis=1)
        own = np.searchsorted(present, lo[start:start + 4096])
        rows = np.arange(len(block))
        a = means[rows, own]
        # the row itself may be in the reference sample: correct its own-cluster mean for the zero
        n_own = np.array([len(col[c]) for c in present])[own]
        in_ref = np.isin(np.arange(start, start + len(block)), ref)
        a = np.where(in_ref & (n_own > 1), a * n_own / np.maximum(n_own - 1, 1), a)
        means[rows, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        sil[start:start + 4096] = np.nan_to_num(s, nan=0.0)
    out[ok] = sil
    return out


def cluster_quality(X: np.ndarray, labels: np.ndarray, *, random_state=0) -> dict:
    """Silhouette (sampled above 8000 rows), Davies–Bouldin and Calinski–Harabasz, noise excluded.

    Undefined values (fewer than two clusters) are NaN.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    labels = np.asarray(labels)
    ok = labels >= 0
    res = {"silhouette": float("nan"), "davies_bouldin": float("nan"), "calinski_harabasz": float("nan")}
    if len(np.unique(labels[ok])) < 2:
        return res
    res["silhouette"] = _silhouette_score(np.asarray(X, dtype=np.float64), labels, random_state)
    res["davies_bouldin"] = float(davies_bouldin_score(X[ok], labels[ok]))
    res["calinski_harabasz"] = float(calinski_harabasz_score(X[ok], labels[ok]))
    return res


def mode_labels(groups: np.ndarray, frame_labels: np.ndarray, frame_distances: np.ndarray,
                n_groups: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label each group (section) by the most frequent label of its frames.

    Ties are broken deterministically: among the tied clusters, the one whose centre has the
    smallest summed distance to the group's frames wins (then the smallest cluster number).
    Noise frames (label −1) do not vote; a group with only noise frames gets −1.

    Parameters
    ----------
    groups : np.ndarray [shape=(n_frames,)], int
        Group (section) index of each frame, in 0 … n_groups − 1.
    frame_labels : np.ndarray [shape=(n_frames,)], int
        Cluster of each frame, −1 = noise.
    frame_distances : np.ndarray [shape=(n_frames, k)]
        Distance of each frame to each cluster centre.
    n_groups : int, optional
        Number of groups (default ``groups.max() + 1``).

    Returns
    -------
    labels : np.ndarray [shape=(n_groups,)], int
    distribution : np.ndarray [shape=(n_groups, k)]
        Share of each group's (non-noise) frames in each cluster; rows sum to 1 (0 for all-noise).
    """
    groups = np.asarray(groups, dtype=np.int64)
    frame_labels = np.asarray(frame_labels, dtype=np.int64)
    frame_distances = np.asarray(frame_distances, dtype=np.float64)
    k = frame_distances.shape[1]
    n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    counts = np.zeros((n_groups, k))
    voting = frame_labels >= 0
    np.add.at(counts, (groups[voting], frame_labels[voting]), 1.0)
    dist_sum = np.zeros((n_groups, k))
    np.add.at(dist_sum, groups, frame_distances)
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top) & (top > 0)
    # among tied clusters prefer the smallest summed distance; argmin takes the lowest index on equality
    labels = np.where(tied, dist_sum, np.inf).argmin(axis=1)
    labels[top[:, 0] == 0] = -1
    total = counts.sum(axis=1, keepdims=True)
    distribution = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    return labels.astype(np.int64), distribution


def co_assignment_stability(reference: np.ndarray, repeats: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """How often each row stays with its reference cluster-mates, and the mean ARI between repeats.

    For row i in reference cluster c and a repeat that put it in cluster l, the rate is the share of
    i's reference cluster-mates that the repeat also put in l; it is averaged over the repeats.

    Parameters
    ----------
    reference : np.ndarray [shape=(n,)]
        Labels of the run.
    repeats : list of np.ndarray [shape=(n,)]
        Labels of the same rows from repeated fits (other seeds / bootstrap resamples).

    Returns
    -------
    rate : np.ndarray [shape=(n,)] in [0, 1]
    mean_ari : float
        Mean adjusted Rand index over all pairs of repeats (NaN with fewer than two repeats).
    """
    from sklearn.metrics import adjusted_rand_score

    ref = np.unique(np.asarray(reference), return_inverse=True)[1]
    n_ref = np.bincount(ref)
    rates = np.zeros(len(ref))
    for lab in repeats:
        rep = np.unique(np.asarray(lab), return_inverse=True)[1]
        N = np.zeros((n_ref.size, rep.max() + 1))
        np.add.at(N, (ref, rep), 1.0)
        mates = n_ref[ref] - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(mates > 0, (N[ref, rep] - 1) / np.maximum(mates, 1), 1.0)
        rates += r
    rates /= max(len(repeats), 1)
    aris = [adjusted_rand_score(repeats[i], repeats[j]) for i in range(len(repeats)) for j in range(i + 1, len(repeats))]
    return rates, float(np.mean(aris)) if aris else float("nan")


def stability_repeats(make_estimator: Callable[[int], BaseEstimator], X_fit: np.ndarray,
                      label_fn: Callable[[BaseEstimator], np.ndarray], *, n_repeats: int = 5,
                      max_rows: int = 20000, random_state=0, progress=None) -> list[np.ndarray]:
    """Refit on seeded bootstrap resamples (each with its own seed) and label every row each time.

    Parameters
    ----------
    make_estimator : callable(seed) -> estimator
        A fresh, unfitted estimator with the run's parameters and the given seed.
    X_fit : np.ndarray [shape=(n, d)]
        The rows the run was fitted on.
    label_fn : callable(fitted estimator) -> labels
        Labels of every unit (row or section) from a fitted repeat.
    n_repeats : int
        Number of refits.
    max_rows : int
        Size cap of each resample (so large stores stay fast).

    Returns
    -------
    list of np.ndarray
    """
    rng = np.random.default_rng(random_state)
    n = X_fit.shape[0]
    size = min(n, max_rows)
    out = []
    it = range(n_repeats)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="stability", leave=False, disable=None)
    for r in it:
        idx = rng.choice(n, size, replace=True)
        est = make_estimator(int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            # a bootstrap of a small store repeats rows: fewer distinct points than K is expected there
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_fit[idx])
        out.append(np.asarray(label_fn(est)))
    return out
