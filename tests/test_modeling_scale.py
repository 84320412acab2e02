"""The large-corpus path of the modelling (issue 16), exercised with a low threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from sectionist.analysis.modeling import explain as explain_mod
from sectionist.analysis.modeling.explain import stratified_sample
from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.projection import fit_embed
from sectionist.analysis.modeling.runs import fit_run
from sectionist.analysis.modeling.scores import run_stability
from sectionist.analysis.modeling.specs import RunSpec, SpaceData
from sectionist.store.schema import CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS


def _blobs(n=4000, k=5, d=17, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (k, d))
    truth = rng.integers(0, k, n)
    return centres[truth] + rng.normal(0, 1, (n, d)), truth


def test_large_kmeans_labels_every_row_and_agrees_with_small_path():
    X, truth = _blobs()
    data = SpaceData.from_array(X)
    small = fit_run(data, RunSpec("toy", "kmeans"))
    large = fit_run(data, RunSpec("toy", "kmeans"), large_rows=2000, fit_sample=1000)
    assert small.large is None
    assert large.large == {"rows": 4000, "fit_sample": 1000, "final": large.large["final"]}
    assert "MiniBatchKMeans" in large.large["final"]
    assert large.n_clusters == small.n_clusters == 5
    assert large.k_rule == "stable-silhouette" and large.curves["k"]
    assert large.labels.shape == (4000,) and (large.labels >= 0).all()
    assert adjusted_rand_score(small.labels, large.labels) > 0.9
    assert adjusted_rand_score(truth, large.labels) > 0.9
    assert np.isfinite(large.silhouette).all() and np.isfinite(large.distance).all()
    assert ((large.confidence >= 0) & (large.confidence <= 1)).all()
    # the per-row arrays of the sample fit are not kept on the estimator
    assert large.estimator.labels_ is None
    stab = run_stability(data, large, n_repeats=2)
    assert stab.rate.shape == (4000,) and np.isfinite(stab.rate).all()


def test_large_gmm_and_hdbscan_label_every_row():
    X, truth = _blobs(n=3000, k=4, seed=1)
    data = SpaceData.from_array(X)
    gmm = fit_run(data, RunSpec("toy", "gmm", k=4), large_rows=2000, fit_sample=800)
    assert gmm.proba.shape == (3000, 4)
    assert np.allclose(gmm.proba.sum(axis=1), 1.0)
    assert adjusted_rand_score(truth, gmm.labels) > 0.9
    hdb = fit_run(data, RunSpec("toy", "hdbscan"), large_rows=2000, fit_sample=800)
    assert hdb.large["fit_sample"] == 800 and "nearest fitted centre" in hdb.large["final"]
    assert (hdb.labels >= 0).all()  # the rows outside the sample take the nearest centre
    assert adjusted_rand_score(truth, hdb.labels) > 0.9


def test_below_threshold_is_the_ordinary_fit():
    X, _ = _blobs(n=600, k=3)
    data = SpaceData.from_array(X)
    a = fit_run(data, RunSpec("toy", "kmeans", k=3))
    b = fit_run(data, RunSpec("toy", "kmeans", k=3), large_rows=600, fit_sample=100)
    assert b.large is None
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centers, b.centers)


def test_stratified_sample_covers_every_cluster():
    labels = np.r_[np.zeros(9000, int), np.ones(900, int), np.full(20, 2)]
    idx = stratified_sample(labels, 1000, min_per_cluster=50, random_state=3)
    assert np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx])
    assert counts[2] == 20  # a cluster smaller than the minimum is taken whole
    assert counts[1] >= 50 and abs(counts[0] - 906) <= 2
    np.testing.assert_array_equal(idx, stratified_sample(labels, 1000, min_per_cluster=50, random_state=3))
    np.testing.assert_array_equal(stratified_sample(labels[:10], 1000), np.arange(10))


def test_fit_embed_places_the_rest_with_transform():
    X, _ = _blobs(n=1500, k=3, d=8, seed=2)
    proj, E = fit_embed(X, "tsne", 2, random_state=0, fit_sample=500, chunk=400)
    assert E.shape == (1500, 2) and np.isfinite(E).all()
    assert proj.params_["fit_sample"] == 500 and proj.params_["placed_by_transform"] == 1000
    assert proj.embedding_.shape == (500, 2)
    pca, Ep = fit_embed(X, "pca", 3, fit_sample=500)
    assert Ep.shape == (1500, 3) and "fit_sample" not in pca.params_  # PCA: always all rows
    with pytest.raises(Exception, match="chunk"):
        fit_embed(X, "tsne", 2, fit_sample=500, chunk=0)


def test_store_run_on_the_large_path(tmp_path, monkeypatch):
    from tests.synthetic_store import build_synthetic_store

    store = build_synthetic_store(tmp_path / "store", n_sections=3000, sections_per_song=20, part_per_song=False,
                                  melspec=False)
    monkeypatch.setattr(explain_mod, "EXPLAIN_SAMPLE", 600)
    run_id = cluster_store(store, "classical17", "kmeans", k=4, project=False, n_repeats=2, progress=False,
                           large_rows=2000)
    runs = store.read_part(RUNS, run_id)
    params = json.loads(runs["params"].iloc[0])
    assert params["large"]["rows"] == 3000 and params["large"]["fit_sample"] == 3000
    assert params["large"]["explained_sample"] == len(store.read_part(EXPLANATIONS, run_id))
    cl = store.read_part(CLUSTERINGS, run_id)
    assert len(cl) == 3000 and (cl["label"] >= 0).all() and not cl["placed"].any()
    ex = store.read_part(EXPLANATIONS, run_id)
    assert 600 <= len(ex) < 3000
    assert set(ex["cluster"]) == set(cl["label"])  # every cluster explained
    clusters = store.read_part(CLUSTERS, run_id)
    assert all(json.loads(r) for r in clusters["shap_ranking"])


def test_cli_large_rows_option(tmp_path, capsys):
    from sectionist.cli import main
    from tests.synthetic_store import build_synthetic_store

    store = build_synthetic_store(tmp_path / "store", n_sections=400, part_per_song=False, melspec=False)
    assert main(["cluster", "--store", str(tmp_path / "store"), "--k", "3", "--large-rows", "100",
                 "--no-explain", "--no-stability", "--no-project"]) == 0
    run = store.read_part(RUNS, "classical17-kmeans-k3")
    large = json.loads(run["params"].iloc[0])["large"]
    assert large["rows"] == 400 and "MiniBatchKMeans" in large["final"]
    assert "classical17-kmeans-k3" in capsys.readouterr().out
