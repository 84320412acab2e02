"""Clustering methods on synthetic blobs with known answers."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

from sectionist.analysis.modeling.estimators import REGISTRY, fuzzy_cmeans, make_method
from sectionist.analysis.modeling.measures import cluster_quality, co_assignment_stability, mode_labels, silhouette_per_sample, stability_repeats
from sectionist.analysis.modeling.scaling import FeatureScaler
from sectionist.analysis.errors import ParameterError


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=400, n_features=6, centers=4, cluster_std=1.0, random_state=3)
    return FeatureScaler().fit_transform(X), y


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_method_recovers_blobs(blobs, name):
    X, y = blobs
    est = make_method(name, n_clusters=4, random_state=0).fit(X)
    assert adjusted_rand_score(y, est.labels_) > 0.9
    assert est.cluster_centers_.shape == (est.n_clusters_, X.shape[1])
    assert est.labels_.shape == (len(y),)
    assert np.all((est.confidence_ >= 0) & (est.confidence_ <= 1))
    # predict sends the fitted rows (non-noise) to the clusters they were given
    ok = est.labels_ >= 0
    assert np.mean(est.predict(X)[ok] == est.labels_[ok]) > 0.95


@pytest.mark.parametrize("name", ["kmeans", "gmm", "fuzzy", "agglomerative"])
@pytest.mark.parametrize("true_k", [3, 6])
def test_auto_k_picks_true_k(name, true_k):
    X, _ = make_blobs(n_samples=60 * true_k, n_features=4, centers=true_k, cluster_std=0.5,
                      center_box=(-20, 20), random_state=true_k)
    est = make_method(name, n_clusters="auto", random_state=0).fit(FeatureScaler().fit_transform(X))
    assert est.n_clusters_ == true_k
    curves = est.curves_
    assert curves["k"] == list(range(2, 11))
    assert len(curves["silhouette"]) == 9
    if name == "kmeans":
        assert len(curves["inertia"]) == 9 and curves["inertia"][0] > curves["inertia"][-1]
    if name == "gmm":
        assert int(np.argmin(curves["bic"])) + 2 == true_k


@pytest.mark.parametrize("name", ["gmm", "fuzzy"])
def test_soft_memberships_sum_to_one(blobs, name):
    X, _ = blobs
    est = make_method(name, n_clusters=4, random_state=0).fit(X)
    assert est.proba_.shape == (len(X), 4)
    np.testing.assert_allclose(est.proba_.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(est.proba_ >= 0)
    np.testing.assert_array_equal(est.labels_, est.proba_.argmax(axis=1))
    np.testing.assert_allclose(est.confidence_, est.proba_.max(axis=1))


def test_fuzzy_cmeans_memberships_are_softer_with_larger_m(blobs):
    X, _ = blobs
    _, U2, _ = fuzzy_cmeans(X, 4, m=2.0, random_state=0)
    _, U3, _ = fuzzy_cmeans(X, 4, m=3.0, random_state=0)
    assert U3.max(axis=1).mean() < U2.max(axis=1).mean()
    with pytest.raises(ParameterError, match="m=1"):
        fuzzy_cmeans(X, 4, m=1.0)


def test_hdbscan_marks_noise():
    X, _ = make_blobs(n_samples=300, n_features=2, centers=3, cluster_std=0.3, random_state=0)
    far = np.array([[40.0, 40.0], [-40.0, 35.0]])
    est = make_method("hdbscan", min_cluster_size=10).fit(np.vstack([X, far]))
    assert est.n_clusters_ == 3
    assert np.all(est.labels_[-2:] == -1)
    assert np.all(est.confidence_[-2:] == 0)


def test_mode_labels_majority_and_ties():
    # section 0: frames labelled 1, 1, 0 → 1 (majority)
    # section 1: frames 0, 1 tie; its frames are closer in total to centre 1 → 1
    # section 2: frames 1, 0 tie; closer in total to centre 0 → 0
    # section 3: frames 0, 1 tie with equal summed distances → the smaller label, 0
    # section 4: only noise frames → -1
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 4])
    labels = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, -1])
    dist = np.array([
        [2.0, 1.0], [2.0, 1.0], [1.0, 2.0],
        [1.0, 1.5], [3.0, 0.1],
        [1.0, 0.9], [0.2, 3.0],
        [1.0, 2.0], [2.0, 1.0],
        [5.0, 5.0],
    ])
    out, distribution = mode_labels(groups, labels, dist)
    np.testing.assert_array_equal(out, [1, 1, 0, 0, -1])
    np.testing.assert_allclose(distribution[0], [1 / 3, 2 / 3])
    np.testing.assert_allclose(distribution[1], [0.5, 0.5])
    np.testing.assert_allclose(distribution[4], [0.0, 0.0])
    # order of frames does not matter
    perm = np.random.default_rng(0).permutation(len(groups))
    out2, _ = mode_labels(groups[perm], labels[perm], dist[perm])
    np.testing.assert_array_equal(out, out2)


def test_stability_on_blobs_is_one(blobs):
    X, _ = blobs
    est = make_method("kmeans", n_clusters=4, random_state=0).fit(X)
    reps = stability_repeats(lambda s: make_method("kmeans", n_clusters=4, random_state=s), X,
                             lambda e: e.predict(X), n_repeats=4, random_state=0)
    rate, mean_ari = co_assignment_stability(est.labels_, reps)
    assert mean_ari > 0.99
    assert rate.mean() > 0.99
    assert rate.shape == (len(X),)


def test_co_assignment_counts_cluster_mates():
    ref = np.array([0, 0, 0, 0, 1, 1])
    rep = np.array([5, 5, 5, 7, 7, 7])  # row 3 left its mates; rows 4–5 gained one
    rate, mean_ari = co_assignment_stability(ref, [rep])
    np.testing.assert_allclose(rate, [2 / 3, 2 / 3, 2 / 3, 0.0, 1.0, 1.0])
    assert np.isnan(mean_ari)  # one repeat: no pair to compare


def test_unstable_data_scores_lower():
    X = np.random.default_rng(0).normal(size=(300, 5))  # no structure at all
    reps = stability_repeats(lambda s: make_method("kmeans", n_clusters=6, random_state=s), X,
                             lambda e: e.predict(X), n_repeats=4, random_state=0)
    ref = make_method("kmeans", n_clusters=6, random_state=0).fit(X).labels_
    rate, mean_ari = co_assignment_stability(ref, reps)
    assert mean_ari < 0.9 and rate.mean() < 0.9


def test_l2cols_is_the_study_normalisation():
    X = np.random.default_rng(1).normal(size=(50, 4)) * [1, 10, 100, 1000]
    sc = FeatureScaler("l2cols").fit(X)
    np.testing.assert_allclose(sc.transform(X), normalize(X, axis=0))
    np.testing.assert_allclose(sc.inverse_transform(sc.transform(X)), X)
    st = FeatureScaler("standard").fit(X)
    np.testing.assert_allclose(st.transform(X).std(axis=0), 1.0)
    with pytest.raises(ParameterError, match="scaling='zscore'"):
        FeatureScaler("zscore").fit(X)


def test_sampled_silhouette_is_close_to_exact():
    X, y = make_blobs(n_samples=3000, n_features=5, centers=4, cluster_std=2.5, random_state=0)
    exact = silhouette_per_sample(X, y)
    approx = silhouette_per_sample(X, y, max_exact=1000, reference_size=1200, random_state=0)
    assert np.abs(exact - approx).mean() < 0.02
    assert np.corrcoef(exact, approx)[0, 1] > 0.98


def test_quality_measures(blobs):
    X, y = blobs
    q = cluster_quality(X, y)
    assert q["silhouette"] > 0.5 and q["davies_bouldin"] < 1.0 and q["calinski_harabasz"] > 100
    assert np.isnan(cluster_quality(X, np.zeros(len(X), int))["silhouette"])


def test_bad_parameters_are_named():
    X = np.zeros((10, 2))
    with pytest.raises(ParameterError, match="'spectral'"):
        make_method("spectral")
    with pytest.raises(ParameterError, match="n_clusters=50"):
        make_method("kmeans", n_clusters=50).fit(np.random.default_rng(0).normal(size=(10, 2)))
    X[0, 0] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        make_method("kmeans", n_clusters=2).fit(X)
