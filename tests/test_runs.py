"""fit_run and the steps after it as pure functions: numpy blobs in, no store."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.explain import explain_run
from sectionist.analysis.modeling.tables import run_rows
from sectionist.analysis.modeling.runs import fit_run
from sectionist.analysis.modeling.scores import run_stability, score_truth
from sectionist.analysis.modeling.specs import RunSpec, SpaceData, options_hash


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=120, n_features=5, centers=3, cluster_std=0.8, center_box=(-10, 10), random_state=7)
    return X, y


@pytest.fixture(scope="module")
def kmeans_result(blobs):
    X, _ = blobs
    return fit_run(SpaceData.from_array(X, space="blobs"), RunSpec("blobs", "kmeans", "auto"))


def test_fit_run_recovers_known_clusters(blobs, kmeans_result):
    X, y = blobs
    r = kmeans_result
    assert r.run_id == "blobs-kmeans-auto" and r.spec.level == "section"
    assert r.n_clusters == 3 and r.curves["k"][0] == 2
    assert adjusted_rand_score(y, r.labels) == pytest.approx(1.0)
    n = len(y)
    for a in (r.labels, r.confidence, r.distance, r.silhouette):
        assert a.shape == (n,)
    assert r.proba is None and r.label_distribution is None  # hard method, section level
    assert np.all((r.confidence >= 0) & (r.confidence <= 1)) and np.all(r.distance >= 0)
    assert r.quality["silhouette"] > 0.6 and r.quality["davies_bouldin"] < 0.6
    # centroids are in the original units: the mean of each cluster's rows
    for c in range(3):
        np.testing.assert_allclose(r.centroids[c], X[r.labels == c].mean(axis=0), atol=1e-8)
    assert r.centers.shape == r.centroids.shape == (3, X.shape[1])


def test_fit_run_is_deterministic_and_pure(blobs, kmeans_result):
    X, _ = blobs
    X_before = X.copy()
    again = fit_run(SpaceData.from_array(X, space="blobs"), RunSpec("blobs", "kmeans", "auto"))
    np.testing.assert_array_equal(again.labels, kmeans_result.labels)
    np.testing.assert_array_equal(again.silhouette, kmeans_result.silhouette)
    np.testing.assert_array_equal(X, X_before)


def test_soft_method_and_frame_level(blobs):
    X, y = blobs
    soft = fit_run(SpaceData.from_array(X), RunSpec("x", "gmm", 3, method_params={"covariance_type": "full"}))
    assert soft.proba.shape == (len(y), 3)
    np.testing.assert_allclose(soft.proba.sum(axis=1), 1.0)
    # a non-default option names another run than the default one (docs/modeling.md, "Run ids")
    assert soft.spec.params == {"covariance_type": "full"}
    assert soft.run_id == "x-gmm-k3-" + options_hash({"covariance_type": "full"})
    # frame level: 4 frames per section around the section's blob; sections labelled by their frames' mode
    rng = np.random.default_rng(0)
    frames = np.repeat(X, 4, axis=0) + rng.normal(scale=0.1, size=(4 * len(X), X.shape[1]))
    groups = np.repeat(np.arange(len(X)), 4)
    fr = fit_run(SpaceData.from_array(frames, groups=groups), RunSpec("x", "kmeans", 3))
    assert fr.spec.level == "frame" and fr.run_id == "x-kmeans-k3-frames"
    assert fr.labels.shape == (len(X),) and adjusted_rand_score(y, fr.labels) == pytest.approx(1.0)
    np.testing.assert_allclose(fr.label_distribution.sum(axis=1), 1.0)
    np.testing.assert_allclose(fr.confidence, 1.0)


def test_stability_truth_and_rows(blobs, kmeans_result):
    X, y = blobs
    data = SpaceData.from_array(X, space="blobs")
    stab = run_stability(data, kmeans_result, n_repeats=3)
    assert stab.rate.shape == (len(y),) and stab.rate.min() > 0.9 and stab.ari > 0.95
    assert np.isnan(run_stability(data, kmeans_result, n_repeats=1).ari)
    truth = np.array([f"t{v}" for v in y], dtype=object)
    truth[:5] = None
    ts = score_truth(kmeans_result, truth)
    assert ts["n"] == len(y) - 5 and ts["ari"] == pytest.approx(1.0) and ts["nmi"] == pytest.approx(1.0)
    assert np.isnan(score_truth(kmeans_result, None)["ari"])
    with pytest.raises(ParameterError, match="shape"):
        score_truth(kmeans_result, truth[:3])

    expl = explain_run(kmeans_result, data.section_ids, X, data.columns, space="blobs")
    assert expl.fidelity > 0.9 and list(expl.shap.columns[:2]) == ["section_id", "cluster"]
    rows = run_rows(kmeans_result, stability=stab, explanation=expl, truth=ts, seconds=1.0)
    run = rows.runs.iloc[0]
    assert run["run_id"] == "blobs-kmeans-auto" and run["k"] == 3 and run["ari_truth"] == pytest.approx(1.0)
    assert run["stability_ari"] == stab.ari and run["fidelity"] == expl.fidelity
    assert list(rows.clusterings["label"]) == kmeans_result.labels.tolist()
    assert rows.clusters["size"].sum() == len(y) and rows.explanations["run_id"].eq(run["run_id"]).all()


def test_spec_rules():
    with pytest.raises(ParameterError, match="unknown clustering method 'spectral'; known: agglomerative"):
        RunSpec("x", "spectral")
    with pytest.raises(ParameterError, match="k='many'"):
        RunSpec("x", "kmeans", "many")
    with pytest.raises(ParameterError, match="scaling='zscore'"):
        RunSpec("x", "kmeans", scaling="zscore")
    assert RunSpec("x", "kmeans", "4").k == 4
    assert RunSpec("x", "hdbscan", level="section").run_id == "x-hdbscan"
    with pytest.raises(ParameterError, match="level"):
        RunSpec("x").run_id  # noqa: B018  (the level is known once the rows are)
    with pytest.raises(ParameterError, match="at least 3"):
        fit_run(SpaceData.from_array(np.zeros((2, 2))), RunSpec("x", "kmeans", 2))
    with pytest.raises(ParameterError, match="frame"):
        fit_run(SpaceData.from_array(np.zeros((5, 2))), RunSpec("x", "kmeans", 2, level="frame"))
