"""Surrogate model + SHAP: fidelity, own-cluster rows, indexing."""

import numpy as np
import pytest
import shap
from sklearn.datasets import make_blobs

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.explain import ClusterExplainer, explain_labels, shap_ranking


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X, y = make_blobs(n_samples=300, n_features=2, centers=3, cluster_std=0.6, random_state=4)
    noise = rng.normal(size=(300, 3))  # three columns that say nothing about the clusters
    return np.hstack([noise[:, :1], X[:, :1], noise[:, 1:2], X[:, 1:], noise[:, 2:]]), y


def test_fidelity_and_own_cluster_rows(data):
    X, y = data
    expl = ClusterExplainer(n_estimators=30, max_depth=5, random_state=0).fit(X, y)
    assert expl.fidelity_ > 0.95
    own = expl.own_cluster_shap(X, y, batch_size=64)
    full = expl.shap_values(X)
    assert full.shape == (300, 5, 3)
    np.testing.assert_allclose(own, full[np.arange(300), :, y])
    # additivity: expected value + SHAP row = the surrogate's probability of the row's own cluster
    base = np.asarray(shap.TreeExplainer(expl.model_).expected_value)
    proba = expl.model_.predict_proba(X)[np.arange(300), y]
    np.testing.assert_allclose(base[y] + own.sum(axis=1), proba, atol=1e-6)


def test_shap_row_identity(data):
    """The stored row i is section i's: recompute SHAP for single rows and compare."""
    X, y = data
    names = [f"f{j}" for j in range(X.shape[1])]
    df, ranking, fidelity = explain_labels(X, y, names, random_state=0, n_estimators=30, max_depth=5)
    expl = ClusterExplainer(n_estimators=30, max_depth=5, random_state=0).fit(X, y)
    explainer = shap.TreeExplainer(expl.model_)
    for i in [0, 17, 123, 299]:
        row = np.asarray(explainer.shap_values(X[i:i + 1]))[0, :, y[i]]
        np.testing.assert_allclose(df.loc[i, [f"shap_{n}" for n in names]].to_numpy(np.float64), row, atol=1e-5)
        assert df.loc[i, "cluster"] == y[i]
    # rows of different sections really differ (a shifted index would be caught)
    assert not np.allclose(df.iloc[0, 1:].to_numpy(float), df.iloc[1, 1:].to_numpy(float))
    assert fidelity > 0.95


def test_ranking_puts_informative_features_first(data):
    X, y = data
    names = ["noise_a", "x", "noise_b", "y", "noise_c"]
    _, ranking, _ = explain_labels(X, y, names, random_state=0, n_estimators=30, max_depth=5)
    assert set(ranking) == {0, 1, 2}
    for c, items in ranking.items():
        assert {it["feature"] for it in items[:2]} == {"x", "y"}, c
        values = [it["mean_abs_shap"] for it in items]
        assert values == sorted(values, reverse=True)


def test_ranking_by_hand():
    own = np.array([[1.0, -3.0], [-1.0, 1.0], [0.0, 2.0]])
    r = shap_ranking(own, np.array([0, 0, 1]), ["a", "b"])
    assert r[0] == [{"feature": "b", "mean_abs_shap": 2.0}, {"feature": "a", "mean_abs_shap": 1.0}]
    assert r[1][0] == {"feature": "b", "mean_abs_shap": 2.0}


def test_gbm_surrogate(data):
    X, y = data
    expl = ClusterExplainer(model="gbm", n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    own = expl.own_cluster_shap(X[:20], y[:20])
    assert own.shape == (20, 5) and np.isfinite(own).all()
    assert expl.fidelity_ > 0.9


def test_bad_input(data):
    X, y = data
    with pytest.raises(ParameterError, match="'svm'"):
        ClusterExplainer(model="svm").fit(X, y)
    with pytest.raises(ParameterError, match="2 feature names"):
        explain_labels(X, y, ["a", "b"])
    expl = ClusterExplainer(n_estimators=5, random_state=0).fit(X, y)
    with pytest.raises(ParameterError, match="not seen"):
        expl.own_cluster_shap(X[:2], np.array([0, 9]))
