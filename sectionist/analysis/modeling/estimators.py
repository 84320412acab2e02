"""Clustering methods behind one registry (:data:`REGISTRY`), as scikit-learn estimators.

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
                      :func:`sectionist.analysis.modeling.kchoice.choose_k`), ``silhouette``, ``bic`` or ``density`` (HDBSCAN)
``k_min_``, ``k_max_``  the K range searched (``None`` when K was not searched)
``k_at_edge_``        whether the chosen K sits at an end of that range (see :func:`sectionist.analysis.modeling.kchoice.choose_k`)
``k_reason_``         one sentence on why that K
``bic_``              Bayesian information criterion (GMM) or ``None``

and ``predict(X)`` (new points to the nearest cluster / most probable component), which the
stability measure uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.checks import check_fit_rows, check_fitted_rows
from sectionist.analysis.modeling.kchoice import K_RANGE, K_RULES, choose_k, k_candidates, k_stability
from sectionist.analysis.modeling.kernels import margin_confidence, sq_distances
from sectionist.analysis.modeling.measures import mean_silhouette
from sectionist.analysis.registry import Registry

log = logging.getLogger(__name__)


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


def _member_centers(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    C = np.zeros((n_clusters, X.shape[1]))
    for c in range(n_clusters):
        m = labels == c
        if m.any():
            C[c] = X[m].mean(axis=0)
    return C


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


class _Base(ClusterMixin, BaseEstimator):
    def predict(self, X):
        X = check_fitted_rows(self, X)
        return sq_distances(X, self.cluster_centers_).argmin(axis=1)

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
            stability = k_stability(self, X, ks, labels)
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
        self.confidence_ = margin_confidence(np.sqrt(sq_distances(X, self.cluster_centers_)))
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
        How ``"auto"`` chooses K (:func:`sectionist.analysis.modeling.kchoice.choose_k`); the curves of every rule are kept.
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
        X = check_fit_rows(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, inertia, sil, models = k_candidates(X.shape[0], self.k_range), [], [], []
            for kk in ks:
                m = self._fit_k(X, kk)
                models.append(m)
                inertia.append(float(m.inertia_))
                sil.append(mean_silhouette(X, m.labels_, self.random_state))
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
        How ``"auto"`` chooses K (:func:`sectionist.analysis.modeling.kchoice.choose_k`); the curves of every rule are kept.
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
        X = check_fit_rows(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, bic, sil, models, labs = k_candidates(X.shape[0], self.k_range), [], [], [], []
            for kk in ks:
                m = self._fit_k(X, kk)
                models.append(m)
                bic.append(float(m.bic(X)))
                labs.append(m.predict(X))
                sil.append(mean_silhouette(X, labs[-1], self.random_state))
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
        X = check_fitted_rows(self, X)
        return self.model_.predict(X)

    def predict_proba(self, X):
        X = check_fitted_rows(self, X)
        return self.model_.predict_proba(X)


def _fcm_memberships(X: np.ndarray, C: np.ndarray, m: float) -> np.ndarray:
    D = np.sqrt(sq_distances(X, C))
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
        How ``"auto"`` chooses K (:func:`sectionist.analysis.modeling.kchoice.choose_k`); the curves of every rule are kept.
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
        X = check_fit_rows(self, X)
        k = _check_k(self.n_clusters, X.shape[0])
        self.curves_ = {}
        if k == "auto":
            ks, sil, fits = k_candidates(X.shape[0], self.k_range), [], []
            for kk in ks:
                C, U, n_iter = fuzzy_cmeans(X, kk, m=self.m, max_iter=self.max_iter, random_state=self.random_state)
                fits.append((C, U, n_iter))
                sil.append(mean_silhouette(X, U.argmax(axis=1), self.random_state))
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
        return _fcm_memberships(check_fitted_rows(self, X), self.cluster_centers_, self.m)


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
        How ``"auto"`` chooses K (:func:`sectionist.analysis.modeling.kchoice.choose_k`); the curves of every rule are kept.
    """

    def __init__(self, n_clusters="auto", k_range=K_RANGE, max_rows=6000, random_state=0, k_rule="stable-silhouette"):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y=None):
        from scipy.cluster.hierarchy import fcluster, linkage

        X = check_fit_rows(self, X)
        n = X.shape[0]
        k = _check_k(self.n_clusters, n)
        rng = np.random.default_rng(self.random_state)
        idx = np.sort(rng.choice(n, self.max_rows, replace=False)) if n > self.max_rows else np.arange(n)
        Xs = X[idx]
        Z = linkage(Xs, method="ward")

        def cut(kk):
            lab = fcluster(Z, t=kk, criterion="maxclust") - 1
            C = _member_centers(Xs, lab, int(lab.max()) + 1)
            full = sq_distances(X, C).argmin(axis=1) if n > self.max_rows else lab
            return full, C

        self.curves_ = {}
        if k == "auto":
            ks, sil, cuts = k_candidates(n, self.k_range), [], []
            for kk in ks:
                lab, C = cut(kk)
                cuts.append((lab, C))
                sil.append(mean_silhouette(X, lab, self.random_state))
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

        X = check_fit_rows(self, X)
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
