"""Why a section is in its cluster: a surrogate tree model and SHAP values.

A tree model (random forest by default, or gradient boosting) learns to predict each run's
cluster from readable features (the classical ones, also for embedding runs, so neural clusters
become readable). Its cross-validated accuracy is the **fidelity**: how far its explanations can be
trusted as explanations of the clustering. ``shap.TreeExplainer`` then gives, for every section,
the contribution of each feature to the surrogate's score **for that section's own cluster**.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from sectionist.analysis.modeling.checks import check_rows
from sectionist.analysis.errors import InputError, ParameterError

log = logging.getLogger(__name__)

SURROGATES = ("forest", "gbm")
#: Sections explained per run on the large-corpus path (a stratified sample, :func:`stratified_sample`).
EXPLAIN_SAMPLE = 10_000
#: Least sections per cluster in that sample (all of a smaller cluster).
EXPLAIN_MIN_PER_CLUSTER = 50


class ClusterExplainer(BaseEstimator):
    """Surrogate model + TreeExplainer for one labelling.

    Parameters
    ----------
    model : {"forest", "gbm"}
        Random forest (SHAP in probability units) or histogram gradient boosting (SHAP in log-odds).
    n_estimators, max_depth : int
        Size of the surrogate (small trees keep TreeExplainer fast on every section).
    max_tree_rows : int
        Random forest: each tree is grown on a bootstrap sample of at most this many rows.
    cv : int
        Folds of the fidelity estimate (reduced when a cluster is smaller).
    max_cv_rows : int
        Fidelity is cross-validated on a seeded sample of at most this many rows.
    random_state : int
    n_jobs : int

    Attributes
    ----------
    model_ : fitted classifier
    classes_ : np.ndarray
        Cluster labels in the order of the model's outputs.
    fidelity_ : float
        Mean cross-validated accuracy (NaN with a single cluster).
    """

    def __init__(self, model="forest", n_estimators=60, max_depth=6, cv=5, max_cv_rows=5000, max_tree_rows=20000,
                 random_state=0, n_jobs=2):
        self.model = model
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.cv = cv
        self.max_cv_rows = max_cv_rows
        self.max_tree_rows = max_tree_rows
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # y: the cluster label of each row
        return tags

    def _new_model(self, n_rows=0):
        if self.model == "forest":
            from sklearn.ensemble import RandomForestClassifier

            # each tree sees a bootstrap sample of at most max_tree_rows rows: bounded fit time
            return RandomForestClassifier(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                          max_samples=self.max_tree_rows if n_rows > self.max_tree_rows else None,
                                          random_state=self.random_state, n_jobs=self.n_jobs)
        if self.model == "gbm":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(max_iter=self.n_estimators, max_depth=min(self.max_depth, 4),
                                                  early_stopping=False, random_state=self.random_state)
        raise ParameterError(f"surrogate model {self.model!r}: use one of {', '.join(SURROGATES)}")

    def fit(self, X, y):
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
        from sklearn.utils.multiclass import check_classification_targets

        if y is None:
            raise InputError(f"{type(self).__name__} requires y to be passed, but the target y is None "
                             "(the cluster label of each row)")
        X = check_rows(self, X, reset=True, what="explain")
        y = np.asarray(y)
        if y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise InputError(f"X has {X.shape[0]} rows but y has shape {y.shape}")
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise InputError(f"y must be cluster labels: {exc}") from exc
        self.classes_, counts = np.unique(y, return_counts=True)
        self.fidelity_ = float("nan")
        if len(self.classes_) >= 2:
            rng = np.random.default_rng(self.random_state)
            idx = np.sort(rng.choice(len(y), self.max_cv_rows, replace=False)) if len(y) > self.max_cv_rows else slice(None)
            ys = y[idx]
            folds = min(self.cv, int(np.unique(ys, return_counts=True)[1].min()))
            if folds >= 2:
                splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            else:
                splitter = KFold(min(self.cv, len(ys)), shuffle=True, random_state=self.random_state)
            self.fidelity_ = float(np.mean(cross_val_score(self._new_model(), X[idx], ys, cv=splitter)))
        if len(self.classes_) < 2:
            self.model_ = None
        else:
            self.model_ = self._new_model(len(y)).fit(X, y)
        return self

    def shap_values(self, X) -> np.ndarray:
        """SHAP values of every row towards every cluster.

        Returns
        -------
        np.ndarray [shape=(n, n_features, n_classes)]
        """
        import shap

        check_is_fitted(self)
        X = check_rows(self, X, reset=False, what="explain")
        if self.model_ is None:
            return np.zeros((X.shape[0], X.shape[1], len(self.classes_)))
        # gradient boosting is explained in log-odds (shap supports its multi-class models only raw)
        kw = {"model_output": "raw"} if self.model == "gbm" else {}
        explainer = shap.TreeExplainer(self.model_, **kw)
        vals = explainer.shap_values(X, check_additivity=False)
        vals = np.asarray(vals)
        if vals.ndim == 2:  # binary gradient boosting: one log-odds output for class 1
            vals = np.stack([-vals, vals], axis=2)
        elif vals.shape[0] == len(self.classes_) and vals.shape[1] == X.shape[0]:  # older shap: list per class
            vals = np.moveaxis(vals, 0, 2)
        return vals

    def own_cluster_shap(self, X, y, *, batch_size=4000, progress=False) -> np.ndarray:
        """SHAP values of each row towards the row's own cluster ``y[i]``.

        Parameters
        ----------
        X : np.ndarray [shape=(n, n_features)]
        y : np.ndarray [shape=(n,)]
            Each row's cluster (must be among ``classes_``).

        Returns
        -------
        np.ndarray [shape=(n, n_features)]
        """
        check_is_fitted(self)
        X = check_rows(self, X, reset=False, what="explain")
        y = np.asarray(y)
        pos = np.searchsorted(self.classes_, y)
        if (pos >= len(self.classes_)).any() or (self.classes_[np.minimum(pos, len(self.classes_) - 1)] != y).any():
            raise ParameterError("some labels were not seen when the explainer was fitted")
        out = np.empty(X.shape, dtype=np.float64)
        starts = range(0, X.shape[0], batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="SHAP", leave=False, disable=None)
        for s in starts:
            vals = self.shap_values(X[s:s + batch_size])
            rows = np.arange(vals.shape[0])
            out[s:s + batch_size] = vals[rows, :, pos[s:s + batch_size]]
        return out


def shap_ranking(own_shap: np.ndarray, labels: np.ndarray, feature_names: list[str]) -> dict:
    """Per cluster, features by decreasing mean |SHAP| over the cluster's sections.

    Returns
    -------
    dict
        ``{cluster: [{"feature": name, "mean_abs_shap": value}, …]}``
    """
    out = {}
    A = np.abs(np.asarray(own_shap))
    for c in np.unique(labels):
        m = A[labels == c].mean(axis=0)
        order = np.argsort(-m, kind="stable")
        out[int(c)] = [{"feature": feature_names[j], "mean_abs_shap": float(m[j])} for j in order]
    return out


def stratified_sample(labels, size: int = EXPLAIN_SAMPLE, *, min_per_cluster: int = EXPLAIN_MIN_PER_CLUSTER,
                      random_state=0) -> np.ndarray:
    """Sorted indices of a seeded sample of about ``size`` rows stratified by label.

    Each label (cluster) gets its share of ``size``, at least ``min_per_cluster`` rows (all of a
    smaller cluster), so every cluster is explained however small. Up to ``size`` rows: all of them.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
    size : int
    min_per_cluster : int
    random_state : int

    Returns
    -------
    np.ndarray [shape=(m,)], int
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picks = []
    for c in range(len(values)):
        members = order[starts[c]:starts[c] + counts[c]]
        take = min(counts[c], max(min_per_cluster, int(round(size * counts[c] / n))))
        picks.append(rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(picks))


def explain_labels(X: np.ndarray, labels: np.ndarray, feature_names: list[str], *, random_state=0,
                   progress=False, **params) -> tuple[pd.DataFrame, dict, float]:
    """Fit a surrogate on ``X → labels`` and explain every row towards its own cluster.

    Returns
    -------
    shap_df : pd.DataFrame
        One row per input row (same order): ``cluster`` and ``shap_<feature>`` columns (float32).
    ranking : dict
        :func:`shap_ranking` of the rows.
    fidelity : float
        Cross-validated accuracy of the surrogate.
    """
    if len(feature_names) != np.asarray(X).shape[1]:
        raise ParameterError(f"{len(feature_names)} feature names for {np.asarray(X).shape[1]} columns")
    expl = ClusterExplainer(random_state=random_state, **params).fit(X, labels)
    own = expl.own_cluster_shap(X, labels, progress=progress)
    df = pd.DataFrame(own.astype(np.float32), columns=[f"shap_{f}" for f in feature_names])
    df.insert(0, "cluster", np.asarray(labels, dtype=np.int64))
    return df, shap_ranking(own, np.asarray(labels), feature_names), expl.fidelity_


@dataclass
class Explanation:
    """A run explained with readable features.

    Attributes
    ----------
    space : str
        Feature set the surrogate was fitted on (e.g. ``classical17``).
    shap : pd.DataFrame
        One row per explained section: ``section_id``, ``cluster`` and ``shap_<feature>`` (float32),
        each row's SHAP values towards its own cluster.
    ranking : dict
        :func:`shap_ranking`: per cluster, features by decreasing mean |SHAP|.
    fidelity : float
        Cross-validated accuracy of the surrogate.
    """

    space: str
    shap: pd.DataFrame
    ranking: dict
    fidelity: float


def explain_run(result, section_ids, X: np.ndarray, feature_names: list[str], *, space: str,
                progress: bool = False, **params) -> Explanation | None:
    """Explain a fitted run (:class:`sectionist.analysis.modeling.runs.RunResult`) with readable features of its sections.

    Parameters
    ----------
    result : sectionist.analysis.modeling.runs.RunResult
    section_ids : array-like [shape=(n,)]
        Sections the features describe (all in the run; a subset is fine).
    X : np.ndarray [shape=(n, n_features)]
        Their readable features (finite).
    feature_names : list of str
    space : str
        Name of the feature set, kept with the explanation.
    **params
        Passed to :class:`ClusterExplainer`; seeded with the run's seed.

    Returns
    -------
    Explanation or None
        None when the run has fewer than two clusters (nothing to tell apart).
    """
    if len(np.unique(result.labels)) < 2:
        return None
    section_ids = np.asarray(section_ids)
    y = result.labels_of(section_ids)
    shap_df, ranking, fidelity = explain_labels(np.asarray(X, dtype=np.float64), y, feature_names,
                                                random_state=result.spec.seed, progress=progress, **params)
    shap_df.insert(0, "section_id", section_ids)
    return Explanation(space, shap_df, ranking, fidelity)
