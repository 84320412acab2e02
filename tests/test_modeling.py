"""Modelling over a small synthetic store: every table written, read back and consistent."""

import json

import numpy as np
import pandas as pd
import pytest
import shap

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.modeling.explain import ClusterExplainer
from sectionist.analysis.sections.features import CLASSICAL17
from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.comparisons import compare_store
from sectionist.analysis.modeling.defaults import run_default_models
from sectionist.analysis.modeling.spaces import load_space
from sectionist.analysis.modeling.specs import make_run_id
from sectionist.analysis.modeling.projection import Projector
from sectionist.store import open_store

LABELS = ["verse", "chorus", "bridge"]
N_SONGS, PER_SONG, N_FRAMES, EMB_DIM = 6, 18, 3, 8


def make_store(root, seed=0):
    """6 songs × 18 sections; each section's features and frames come from its truth label's blob."""
    rng = np.random.default_rng(seed)
    store = open_store(root)
    centres17 = rng.normal(scale=4.0, size=(3, 17))
    centres_emb = rng.normal(scale=4.0, size=(3, EMB_DIM))
    for s in range(N_SONGS):
        song_id = f"{s:016x}"
        sec_rows, feat_rows, frame_rows = [], [], []
        for i in range(PER_SONG):
            lab = (i // 3 + s) % 3
            sid = f"{song_id}-{i:05d}"
            truth = None if (s == 0 and i < 2) else LABELS[lab]
            sec_rows.append(dict(section_id=sid, song_id=song_id, scheme="fixed", index=i, start_s=15.0 * i,
                                 end_s=15.0 * (i + 1), is_central=bool(i % 2 == 0), rank=i + 1, truth_label=truth))
            f = centres17[lab] + rng.normal(size=17)
            row = dict(section_id=sid, song_id=song_id, **{c: np.float32(v) for c, v in zip(CLASSICAL17, f)})
            row["rms_mean"] = np.float32(abs(f[1]) + 1)
            row["tempo_bpm"] = np.float32(120.0)
            feat_rows.append(row)
            for j in range(N_FRAMES):
                e = centres_emb[lab] + rng.normal(size=EMB_DIM)
                frame_rows.append(dict(song_id=song_id, section_id=sid, embedder="toy", start_s=15.0 * i + 5 * j,
                                       end_s=15.0 * i + 5 * (j + 1), **{f"e{d}": np.float32(e[d]) for d in range(EMB_DIM)}))
        store.write_part("sections", song_id, pd.DataFrame(sec_rows))
        store.write_part("features", song_id, pd.DataFrame(feat_rows))
        store.write_part("frames", f"toy/{song_id}", pd.DataFrame(frame_rows))
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def kmeans_run(store):
    run_id = cluster_store(store, "classical17", "kmeans", k="auto", seed=0, progress=False)
    return run_id


def test_run_tables_round_trip(store, kmeans_run):
    assert kmeans_run == "classical17-kmeans-auto"
    runs = store.read_table("runs")
    run = runs.set_index("run_id").loc[kmeans_run]
    n = N_SONGS * PER_SONG
    assert run["k"] == 3 and run["n_clusters"] == 3 and run["n_sections"] == n
    assert run["space"] == "classical17" and run["method"] == "kmeans" and run["level"] == "section"
    assert run["silhouette"] > 0.5 and run["ari_truth"] > 0.95 and run["nmi_truth"] > 0.9
    assert run["stability_ari"] > 0.95 and run["fidelity"] > 0.9
    curves = json.loads(run["curves"])
    assert curves["k"][0] == 2 and len(curves["inertia"]) == len(curves["k"])
    assert json.loads(run["params"])["scaling"] == "standard"

    cl = store.read_part("clusterings", kmeans_run)
    assert len(cl) == n and cl["section_id"].is_unique
    assert set(cl["label"]) == {0, 1, 2}
    assert cl["confidence"].between(0, 1).all() and (cl["distance"] >= 0).all()
    assert cl["silhouette"].between(-1, 1).all() and cl["stability"].between(0.9, 1).all()

    clusters = store.read_part("clusters", kmeans_run).set_index("cluster")
    assert clusters["size"].sum() == n
    assert (clusters["n_songs"] == N_SONGS).all()
    lab = cl.set_index("section_id")["label"]
    for c, row in clusters.iterrows():
        assert len(row["prototypes"]) == 5 and all(lab[s] == c for s in row["prototypes"])
        assert all(lab[s] == c for s in row["borderline"])
        centroid = json.loads(row["centroid"])
        assert list(centroid) == CLASSICAL17
        # centroid in original feature units = mean of its members' raw features
        feats = store.read_table("features").set_index("section_id").loc[lab.index[lab == c], CLASSICAL17]
        np.testing.assert_allclose(list(centroid.values()), feats.to_numpy(np.float64).mean(axis=0), rtol=1e-5, atol=1e-5)
        ranking = json.loads(row["shap_ranking"])
        assert len(ranking) == 17 and ranking[0]["mean_abs_shap"] >= ranking[-1]["mean_abs_shap"]
        assert set(json.loads(row["profile"])) == set(CLASSICAL17)

    for table in ("projections", "projection_info", "centroid_projections", "explanations"):
        assert not store.read_table(table).empty, table


def test_stored_shap_row_is_the_sections(store, kmeans_run):
    ex = store.read_part("explanations", kmeans_run).set_index("section_id")
    feats = store.read_table("features").sort_values("section_id").set_index("section_id")[CLASSICAL17]
    labels = store.read_part("clusterings", kmeans_run).set_index("section_id")["label"].reindex(feats.index)
    X = feats.to_numpy(np.float64)
    model = ClusterExplainer(random_state=0).fit(X, labels.to_numpy()).model_  # same seed → same surrogate
    explainer = shap.TreeExplainer(model)
    rng = np.random.default_rng(1)
    for sid in rng.choice(feats.index.to_numpy(), 4, replace=False):
        i = feats.index.get_loc(sid)
        c = labels[sid]
        expected = np.asarray(explainer.shap_values(X[i:i + 1]))[0, :, list(model.classes_).index(c)]
        stored = ex.loc[sid, [f"shap_{f}" for f in CLASSICAL17]].to_numpy(np.float64)
        np.testing.assert_allclose(stored, expected, atol=1e-5)
        assert ex.loc[sid, "cluster"] == c


def test_centroids_share_the_points_projection(store, kmeans_run):
    X = store.read_table("features").sort_values("section_id")[CLASSICAL17].to_numpy(np.float64)
    pca = Projector("pca", 2, random_state=0).fit(X)
    pts = store.read_part("projections", "classical17/pca2").sort_values("section_id")
    np.testing.assert_allclose(pts[["x", "y"]].to_numpy(), pca.embedding_, atol=1e-6)
    cp = store.read_part("centroid_projections", kmeans_run)
    cp = cp[(cp["kind"] == "pca") & (cp["dims"] == 2)].set_index("cluster")
    clusters = store.read_part("clusters", kmeans_run).set_index("cluster")
    for c, row in clusters.iterrows():
        centroid = np.array(list(json.loads(row["centroid"]).values()))
        np.testing.assert_allclose(cp.loc[c, ["x", "y"]].to_numpy(np.float64), pca.transform(centroid)[0], atol=1e-6)
    info = store.read_part("projection_info", "classical17/pca3").iloc[0]
    assert len(info["explained_variance_ratio"]) == 3
    assert set(store.read_table("centroid_projections")["kind"]) == {"pca", "tsne", "umap"}


def test_frame_level_run_uses_mode_of_frames(store):
    run_id = cluster_store(store, "toy", "kmeans", k=3, seed=0, stability=False, project=False, progress=False)
    assert run_id == "toy-kmeans-k3-frames"
    cl = store.read_part("clusterings", run_id)
    dist = np.stack(cl["label_distribution"].to_numpy())
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    np.testing.assert_array_equal(dist.argmax(axis=1), cl["label"])  # no ties with 3 frames and 3 clusters here
    np.testing.assert_allclose(cl["confidence"], dist.max(axis=1))
    run = store.read_part("runs", run_id).iloc[0]
    assert run["level"] == "frame" and run["ari_truth"] > 0.9
    # embedding runs are explained with the classical features
    assert json.loads(run["params"])["explained_with"] == "classical17"
    assert store.has_part("explanations", run_id)
    mean_id = cluster_store(store, "toy", "gmm", k=3, level="section-mean", stability=False, project=False,
                            progress=False)
    assert mean_id == "toy-gmm-k3-mean"
    cl = store.read_part("clusterings", mean_id)
    np.testing.assert_allclose(np.stack(cl["proba"].to_numpy()).sum(axis=1), 1.0, atol=1e-6)


def test_central_only_and_other_methods(store):
    run_id = cluster_store(store, "classical17", "agglomerative", k=3, scaling="l2cols", central_only=True,
                           explain=False, stability=False, project=False, progress=False)
    assert run_id == "classical17-agglomerative-k3-l2cols-central"
    cl = store.read_part("clusterings", run_id)
    assert len(cl) == N_SONGS * PER_SONG // 2
    assert not store.has_part("explanations", run_id)
    hid = cluster_store(store, "classical17", "hdbscan", explain=False, stability=False, project=False,
                        progress=False)
    assert hid == "classical17-hdbscan"


def test_compare_store(store, kmeans_run):
    cluster_store(store, "classical17", "gmm", k=3, explain=False, stability=False, project=False, progress=False)
    table = compare_store(store, ["classical17-kmeans-auto", "classical17-gmm-k3"], progress=False)
    pair = table[table["run_b"] != "truth"].iloc[0]
    assert pair["run_a"] == "classical17-gmm-k3" and pair["run_b"] == "classical17-kmeans-auto"
    assert pair["agreement"] == 1.0 and pair["ari"] == pytest.approx(1.0)
    truth = table[table["run_b"] == "truth"]
    assert len(truth) == 2 and (truth["n_sections"] == N_SONGS * PER_SONG - 2).all() and (truth["ari"] > 0.95).all()
    part = "classical17-gmm-k3__classical17-kmeans-auto"
    comp = store.read_part("comparisons", part).iloc[0]
    cont = json.loads(comp["contingency"])
    assert np.sum(cont["counts"]) == N_SONGS * PER_SONG
    secs = store.read_part("comparison_sections", part)
    assert secs["agree"].all() and (secs["label_a"] == secs["label_b_aligned"]).all()
    with pytest.raises(ParameterError, match="nope"):
        compare_store(store, ["nope"])


def test_default_models_are_idempotent(tmp_path):
    store = make_store(tmp_path / "s", seed=1)
    proj = (("pca", 2), ("tsne", 2))
    runs = run_default_models(store, embedders=("toy", "absent"), progress=False, projections=proj, n_repeats=3)
    assert runs == ["classical17-kmeans-auto", "classical17-gmm-auto", "classical17-kmeans-k4",
                    "classical17-role-kmeans-auto", "toy-kmeans-auto-frames", "toy-kmeans-auto-mean"]
    table = store.read_table("runs").set_index("run_id")
    auto = [r for r in runs if r != "classical17-kmeans-k4"]  # the reference K=4 splits one of the 3 groups
    assert (table.loc[auto, "ari_truth"] > 0.9).all()
    parts = {t: store.list_parts(t) for t in store.tables()}
    assert len(parts["comparisons"]) == 15
    timings = store.read_manifest()["timings"]["models"]
    assert set(runs) < set(timings) and timings["total"] >= timings["comparisons"] > 0
    assert set(parts["projections"]) == {"classical17/pca2", "classical17/tsne2", "classical17-role/pca2",
                                         "classical17-role/tsne2", "toy/pca2", "toy/tsne2"}
    assert table.loc[runs, "song_purity"].notna().all() and (table.loc[runs, "clusters_one_song"] >= 0).all()
    labels = store.read_part("clusterings", runs[0])["label"].to_numpy()
    assert run_default_models(store, embedders=("toy",), progress=False, projections=proj, n_repeats=3) == runs
    assert {t: store.list_parts(t) for t in store.tables()} == parts
    np.testing.assert_array_equal(store.read_part("clusterings", runs[0])["label"].to_numpy(), labels)


def test_cli(store, capsys):
    from sectionist.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["cluster", "--store", str(store.root), "--space", "classical17", "--method", "fuzzy",
                              "--k", "3", "--no-project", "--no-stability", "--seed", "2"])
    assert args.func(args) == 0
    assert "classical17-fuzzy-k3-s2" in capsys.readouterr().out
    args = parser.parse_args(["compare", "--store", str(store.root), "--runs", "classical17-fuzzy-k3-s2",
                              "classical17-kmeans-auto"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "truth" in out and "agreement" in out
    with pytest.raises(SystemExit):
        parser.parse_args(["cluster", "--store", "x", "--method", "spectral"])


def test_errors_name_the_problem(store, tmp_path):
    with pytest.raises(StoreError, match="'vggish'.*toy"):
        load_space(store, "vggish")
    with pytest.raises(ParameterError, match="level='frame'"):
        load_space(store, "classical17", level="frame")
    with pytest.raises(ParameterError, match="k='many'"):
        cluster_store(store, "classical17", "kmeans", k="many", progress=False)
    with pytest.raises(StoreError, match="no sections"):
        cluster_store(open_store(tmp_path / "empty"), progress=False)
    assert make_run_id("musicnn", "kmeans", 4, level="frame") == "musicnn-kmeans-k4-frames"


def test_demo_corpus_default_runs(demo_store):
    """Acceptance: the default runs on the demo corpus, at least one with ARI ≥ 0.6 against the truth."""
    runs = demo_store.read_table("runs").set_index("run_id")
    expected = {"classical17-kmeans-auto", "classical17-gmm-auto", "classical17-kmeans-k4",
                "classical17-role-kmeans-auto"}
    if "musicnn" in set(demo_store.read_table("frames", columns=["embedder"])["embedder"]):
        expected |= {"musicnn-kmeans-auto-frames", "musicnn-kmeans-auto-mean"}
    assert expected <= set(runs.index)
    print(runs.loc[sorted(expected), ["n_clusters", "silhouette", "ari_truth", "nmi_truth"]].to_string())
    assert runs.loc[sorted(expected), "ari_truth"].max() >= 0.6
    assert runs.loc[sorted(expected), "ari_truth"].notna().all()
    n = len(expected)
    assert len(demo_store.list_parts("comparisons")) == n * (n - 1) // 2
    for table in ("clusterings", "clusters", "explanations", "centroid_projections"):
        assert set(demo_store.list_parts(table)) >= expected, table
    kinds = set(demo_store.list_parts("projections"))
    assert {"classical17/pca2", "classical17/pca3", "classical17/tsne2", "classical17/umap2",
            "classical17-role/pca2", "classical17-role/umap2"} <= kinds
    assert runs.loc[sorted(expected), ["song_purity", "songs_effective", "clusters_one_song"]].notna().all().all()
    # issue #21's acceptance: relative to each song, K-Means finds the kinds of section at least as well
    assert runs.loc["classical17-role-kmeans-auto", "ari_truth"] >= runs.loc["classical17-kmeans-auto", "ari_truth"]
