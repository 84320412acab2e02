"""Projections: one fitted model for points and centroids; seeded."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.projection import Projector


@pytest.fixture(scope="module")
def data():
    X, y = make_blobs(n_samples=240, n_features=8, centers=3, cluster_std=1.0, random_state=2)
    return X * [1, 2, 3, 4, 5, 6, 7, 100], y  # columns on different scales: the projector standardises


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_is_shared_by_points_and_centroids(data, dims):
    X, y = data
    proj = Projector("pca", dims, random_state=0).fit(X)
    assert proj.embedding_.shape == (len(X), dims)
    # the fitted points are what transform gives for them
    np.testing.assert_allclose(proj.transform(X), proj.embedding_, atol=1e-9)
    # a centroid's projection is the projection of the centroid vector (same mean/scale/axes);
    # being linear, it is also the mean of its members' projections
    centroids = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    P = proj.transform(centroids)
    Z = (X - X.mean(0)) / X.std(0)
    ref = PCA(dims).fit(Z)
    expected = ref.transform((centroids - X.mean(0)) / X.std(0))
    np.testing.assert_allclose(np.abs(P), np.abs(expected), atol=1e-8)  # PCA axes are defined up to sign
    for c in range(3):
        np.testing.assert_allclose(P[c], proj.embedding_[y == c].mean(axis=0), atol=1e-8)
    evr = proj.explained_variance_ratio_
    assert evr.shape == (dims,) and np.all(np.diff(evr) <= 0) and 0 < evr.sum() <= 1


@pytest.mark.parametrize("kind", ["tsne", "umap"])
def test_nonlinear_maps_are_seeded_and_place_new_points(data, kind):
    X, y = data
    a = Projector(kind, 2, random_state=7).fit(X)
    b = Projector(kind, 2, random_state=7).fit(X)
    np.testing.assert_allclose(a.embedding_, b.embedding_, atol=1e-6)
    assert a.embedding_.shape == (len(X), 2) and np.isfinite(a.embedding_).all()
    # a centroid lands nearer to its own cluster's points than to the other clusters' points
    centroids = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    P = a.transform(centroids)
    for c in range(3):
        own = np.linalg.norm(a.embedding_[y == c] - P[c], axis=1).mean()
        other = np.linalg.norm(a.embedding_[y != c] - P[c], axis=1).mean()
        assert own < other


def test_tsne_3d_and_high_dimensional_input():
    X, _ = make_blobs(n_samples=120, n_features=80, centers=3, random_state=0)
    proj = Projector("tsne", 3, random_state=0).fit(X)
    assert proj.embedding_.shape == (120, 3)
    assert proj.params_["pre_pca"] == 50 and proj.params_["negative_gradient_method"] == "bh"


def test_bad_options():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ParameterError, match="'isomap'"):
        Projector("isomap").fit(X)
    with pytest.raises(ParameterError, match="n_components=4"):
        Projector("pca", 4).fit(X)
    with pytest.raises(ParameterError, match="at least 4 rows"):
        Projector("pca").fit(X[:3])
    with pytest.raises(ParameterError, match="2 columns"):
        Projector("pca").fit(X).transform(X[:, :2])
