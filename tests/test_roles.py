"""Song-relative ("role") spaces and song purity: the standardisation, the measures, a role run over a
store (its purity columns, explanation, map, placement of a new song), the CLI, and older stores."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.maps import project_space
from sectionist.analysis.modeling.persistence import load_model
from sectionist.analysis.modeling.placement import place_new_sections
from sectionist.analysis.modeling.purity import MOSTLY_ONE_SONG, song_purity
from sectionist.analysis.modeling.roles import (is_song_relative, song_relative, song_relative_space,
                                                split_space)
from sectionist.analysis.modeling.runmodel import place_sections
from sectionist.analysis.modeling.spaces import default_level, feature_matrix, load_space, space_section_matrix
from sectionist.analysis.modeling.specs import SpaceData
from sectionist.analysis.sections.features import CLASSICAL17
from sectionist.store import open_store
from sectionist.store.schema import CLUSTERS, RUNS

OLD_STORE = Path(__file__).parent / "fixtures" / "store_layout_v0"
N_SONGS, PER_SONG, EMB_DIM = 4, 8, 5
KINDS = ("quiet", "loud")


# ---- the standardisation ---------------------------------------------------------------------------
def test_song_relative_is_a_z_score_within_each_song():
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0],  # song a: column 1 flat
                  [100.0, -4.0], [300.0, 8.0],  # song b
                  [7.0, 2.0]])  # song c: one section
    songs = np.array(["a", "a", "a", "b", "b", "c"])
    Z = song_relative(X, songs)
    s = np.std([1.0, 3.0, 5.0])  # population standard deviation (ddof=0)
    np.testing.assert_allclose(Z[:3, 0], [(1 - 3) / s, 0.0, (5 - 3) / s], rtol=1e-12)
    np.testing.assert_array_equal(Z[:3, 1], 0.0)  # flat within the song
    np.testing.assert_allclose(Z[3:5], [[-1.0, -1.0], [1.0, 1.0]], rtol=1e-12)  # two sections: ±1
    np.testing.assert_array_equal(Z[5], [0.0, 0.0])  # a song with one section
    # the same numbers whatever the other songs and the order of the rows
    order = np.array([5, 3, 0, 4, 2, 1])
    np.testing.assert_allclose(song_relative(X[order], songs[order]), Z[order], rtol=1e-12)
    np.testing.assert_allclose(song_relative(X[:3], songs[:3]), Z[:3], rtol=1e-12)
    # -rel: the difference from the song's mean
    R = song_relative(X, songs, kind="rel")
    np.testing.assert_allclose(R, [[-2, 0], [0, 0], [2, 0], [-100, -6], [100, 6], [0, 0]], atol=1e-12)


def test_song_relative_leaves_missing_values_out():
    X = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 6.0], [np.nan, np.inf], [9.0, 1.0]])
    songs = np.array(["a", "a", "a", "b", "b"])
    Z = song_relative(X, songs)
    s = np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(Z[:3, 0], [-1 / s, 0.0, 1 / s], rtol=1e-12)
    assert np.isnan(Z[0, 1]) and np.isnan(Z[3]).all()  # non-finite stays missing
    np.testing.assert_allclose(Z[1:3, 1], [-1.0, 1.0], rtol=1e-12)  # stats over the finite values only
    np.testing.assert_array_equal(Z[4], [0.0, 0.0])  # one finite value in its song: 0
    assert song_relative(np.empty((0, 3)), np.array([])).shape == (0, 3)


def test_song_relative_refuses_bad_input():
    with pytest.raises(ParameterError, match="kind 'zscore'"):
        song_relative(np.ones((2, 2)), ["a", "b"], kind="zscore")
    with pytest.raises(ParameterError, match="3 song ids for 2 rows"):
        song_relative(np.ones((2, 2)), ["a", "b", "c"])
    with pytest.raises(ParameterError, match="2-D"):
        song_relative(np.ones(3), ["a", "b", "c"])


def test_space_names():
    assert split_space("classical17-role") == ("classical17", "role")
    assert split_space("musicnn-rel") == ("musicnn", "rel")
    assert split_space("classical17") == ("classical17", None) and split_space("-role") == ("-role", None)
    assert song_relative_space("classical") == "classical-role" and is_song_relative("classical-role")
    assert not is_song_relative("classical17")
    assert default_level("classical17-role") == "section" and default_level("musicnn-role") == "frame"
    with pytest.raises(ParameterError, match="already song-relative"):
        song_relative_space("classical17-role")


# ---- song purity ------------------------------------------------------------------------------------
def test_song_purity_on_a_hand_made_labelling():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, -1, 2, 2])
    songs = np.array(["a", "a", "b", "a", "b", "c", "d", "a", "c", "d"])
    clusters, run = song_purity(labels, songs)
    c = clusters.set_index("cluster")
    assert c.loc[0, "song_purity"] == pytest.approx(2 / 3)
    assert c.loc[0, "songs_effective"] == pytest.approx(1 / ((2 / 3) ** 2 + (1 / 3) ** 2))  # 1.8
    assert c.loc[1, "song_purity"] == pytest.approx(0.25) and c.loc[1, "songs_effective"] == pytest.approx(4.0)
    assert c.loc[2, "song_purity"] == MOSTLY_ONE_SONG == 0.5  # half from one song counts as mostly one song
    assert c.loc[2, "songs_effective"] == pytest.approx(2.0)
    assert np.isnan(c.loc[-1, "song_purity"]) and np.isnan(c.loc[-1, "songs_effective"])
    assert list(c["size"]) == [1, 3, 4, 2]
    # size-weighted over the 9 clustered sections, noise left out
    assert run["song_purity"] == pytest.approx((3 * 2 / 3 + 4 * 0.25 + 2 * 0.5) / 9)
    assert run["songs_effective"] == pytest.approx((3 * 1.8 + 4 * 4.0 + 2 * 2.0) / 9)
    assert run["clusters_one_song"] == 2
    # every cluster one song: purity 1, one effective song each
    _, pure = song_purity([0, 0, 1, 1], ["x", "x", "y", "y"])
    assert pure == {"song_purity": 1.0, "songs_effective": 1.0, "clusters_one_song": 2}
    _, noise = song_purity([-1, -1], ["x", "y"])
    assert np.isnan(noise["song_purity"]) and noise["clusters_one_song"] == 0
    with pytest.raises(ParameterError, match="one of each per section"):
        song_purity([0, 1], ["x"])


# ---- a store whose songs differ much more than their parts ------------------------------------------
def _song_rows(song_id, offset, kind_dir, rng, *, index0=0):
    secs, feats, frames = [], [], []
    emb_offset = offset[:EMB_DIM]
    for i in range(PER_SONG):
        kind = i % 2
        sid = f"{song_id}-{i:05d}"
        secs.append(dict(section_id=sid, song_id=song_id, scheme="fixed", index=i, start_s=15.0 * i,
                         end_s=15.0 * (i + 1), is_central=bool(i < 6), rank=i + 1, truth_label=KINDS[kind]))
        f = offset + (1 if kind else -1) * kind_dir + rng.normal(scale=0.3, size=17)
        feats.append(dict(section_id=sid, song_id=song_id, **{c: np.float32(v) for c, v in zip(CLASSICAL17, f)}))
        for j in range(2):
            e = emb_offset + (1 if kind else -1) * kind_dir[:EMB_DIM] + rng.normal(scale=0.3, size=EMB_DIM)
            frames.append(dict(song_id=song_id, section_id=sid, embedder="toy", start_s=15.0 * i + 7.5 * j,
                               end_s=15.0 * i + 7.5 * (j + 1), **{f"e{d}": np.float32(e[d]) for d in range(EMB_DIM)}))
    return pd.DataFrame(secs), pd.DataFrame(feats), pd.DataFrame(frames)


def write_song(store, s, offset, kind_dir, rng):
    song_id = f"{s:016x}"
    secs, feats, frames = _song_rows(song_id, offset, kind_dir, rng)
    store.write_part("sections", song_id, secs)
    store.write_part("features", song_id, feats)
    store.write_part("frames", f"toy/{song_id}", frames)
    return song_id


def songs_store(root, seed=0):
    """4 songs × 8 sections, quiet and loud in turn; each song far from the others (its own "mix"),
    its quiet and loud sections a little apart along one direction shared by every song."""
    rng = np.random.default_rng(seed)
    store = open_store(root)
    kind_dir = rng.normal(size=17)
    kind_dir *= 2.0 / np.linalg.norm(kind_dir)
    for s in range(N_SONGS):
        write_song(store, s, rng.normal(scale=20.0, size=17), kind_dir, rng)
    return store, kind_dir, rng


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    store, kind_dir, rng = songs_store(tmp_path_factory.mktemp("roles") / "store")
    role = cluster_store(store, "classical17-role", "kmeans", k=2, stability=False, project=False, progress=False)
    absolute = cluster_store(store, "classical17", "kmeans", k=N_SONGS, stability=False, project=False,
                             progress=False)
    return store, role, absolute


def test_role_space_rows_are_the_features_relative_to_each_song(fitted):
    store, _, _ = fitted
    base = load_space(store, "classical17")
    role = load_space(store, "classical17-role")
    assert role.space == "classical17-role" and role.level == "section" and role.columns == base.columns
    np.testing.assert_array_equal(role.section_ids, base.section_ids)
    np.testing.assert_allclose(role.X, song_relative(base.X, base.song_ids), rtol=1e-12)
    for song in np.unique(role.song_ids):  # each song's columns: mean 0, standard deviation 1
        rows = role.X[role.song_ids == song]
        np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-9)
        np.testing.assert_allclose(rows.std(axis=0), 1.0, rtol=1e-9)
    df, cols = feature_matrix(store, "classical17-role")
    np.testing.assert_allclose(df[cols].to_numpy(), role.X, rtol=1e-12)
    ids, X, _ = space_section_matrix(store, "classical17-role")
    np.testing.assert_allclose(X, role.X, rtol=1e-12)
    # central sections only: relative to the song's central sections
    central = load_space(store, "classical17-role", central_only=True)
    base_c = load_space(store, "classical17", central_only=True)
    assert len(central.section_ids) == N_SONGS * 6
    np.testing.assert_allclose(central.X, song_relative(base_c.X, base_c.song_ids), rtol=1e-12)
    # an embedder's section means, and its frames (relative to the song's frames)
    mean = load_space(store, "toy-role", level="section-mean")
    emb = load_space(store, "toy", level="section-mean")
    np.testing.assert_allclose(mean.X, song_relative(emb.X, emb.song_ids), rtol=1e-12)
    fr, fr_base = load_space(store, "toy-rel", level="frame"), load_space(store, "toy", level="frame")
    np.testing.assert_allclose(fr.X, song_relative(fr_base.X, fr_base.song_ids[fr_base.groups], kind="rel"),
                               rtol=1e-12)
    with pytest.raises(ParameterError, match="section level only"):
        load_space(store, "classical17-role", level="frame")
    # the projector export takes a role space as any other
    from sectionist.analysis.export.data import space_vectors

    ids, X = space_vectors(store, "toy-role")
    np.testing.assert_array_equal(ids, mean.section_ids)
    np.testing.assert_allclose(X, mean.X, rtol=1e-12)
    np.testing.assert_allclose(space_vectors(store, "classical17-role")[1], role.X, rtol=1e-12)
    with pytest.raises(ParameterError, match="unknown space 'nope-role'"):
        space_vectors(store, "nope-role")


def test_a_role_run_finds_kinds_and_stores_its_song_purity(fitted):
    store, role, absolute = fitted
    assert role == "classical17-role-kmeans-k2"
    runs = store.read_table(RUNS).set_index("run_id")
    # the absolute run follows the songs, the role run the kinds of section
    assert runs.loc[absolute, "song_purity"] == 1.0 and runs.loc[absolute, "clusters_one_song"] == N_SONGS
    assert runs.loc[absolute, "songs_effective"] == 1.0
    assert runs.loc[role, "ari_truth"] == pytest.approx(1.0)
    assert runs.loc[role, "song_purity"] == pytest.approx(1 / N_SONGS)
    assert runs.loc[role, "songs_effective"] == pytest.approx(N_SONGS)
    assert runs.loc[role, "clusters_one_song"] == 0
    assert runs.loc[role, "label"].endswith("on classical17-role, relative to each song")
    clusters = store.read_part(CLUSTERS, role)
    assert list(clusters["song_purity"]) == [0.25, 0.25] and list(clusters["songs_effective"]) == [4.0, 4.0]
    assert (store.read_part(CLUSTERS, absolute)["song_purity"] == 1.0).all()
    # explained with the same features relative to the song, under their own names
    params = json.loads(runs.loc[role, "params"])
    assert params["explained_with"] == "classical17-role"
    assert json.loads(runs.loc[absolute, "params"])["explained_with"] == "classical17"
    shap_cols = [c for c in store.read_part("explanations", role).columns if c.startswith("shap_")]
    assert shap_cols == [f"shap_{c}" for c in CLASSICAL17]
    model = load_model(store, runs.loc[role, "model_key"])
    assert model.spec.space == "classical17-role"


def test_a_new_song_is_placed_relative_to_itself(fitted, tmp_path):
    src, role, absolute = fitted
    shutil.copytree(src.root, tmp_path / "s")
    store = open_store(tmp_path / "s", create=False)
    project_space(store, "classical17-role", kinds=(("pca", 2),), progress=False)
    rng = np.random.default_rng(7)
    kind_dir = load_space(store, "classical17").X[1] - load_space(store, "classical17").X[0]  # loud − quiet
    kind_dir *= 2.0 / np.linalg.norm(kind_dir)
    # a song far louder and brighter than any fitted one, its parts twice as far apart
    new_song = write_song(store, 99, rng.normal(scale=60.0, size=17), 2 * kind_dir, rng)
    report = place_new_sections(store, progress=False)
    assert report.runs[role] == PER_SONG and report.runs[absolute] == PER_SONG and not report.uncovered
    assert report.maps["classical17-role/pca2"] == PER_SONG
    cl = store.read_part("clusterings", role).set_index("section_id")
    truth = store.read_table("sections").set_index("section_id")["truth_label"]
    fitted_ids = cl.index[~cl["placed"]]
    cluster_of = {k: int(cl.loc[fitted_ids[truth[fitted_ids] == k], "label"].mode()[0]) for k in KINDS}
    new_ids = sorted(s for s in cl.index if s.startswith(new_song))
    assert cl.loc[new_ids, "placed"].all()
    assert [int(cl.loc[s, "label"]) for s in new_ids] == [cluster_of[truth[s]] for s in new_ids]
    # exactly the saved model on the new song's features standardised within that song alone
    feats = store.read_part("features", new_song).sort_values("section_id")
    X = feats[CLASSICAL17].to_numpy(np.float64)
    model = load_model(store, store.read_part(RUNS, role)["model_key"].iloc[0])
    alone = place_sections(model, SpaceData.from_array(song_relative(X, feats["song_id"]), space="classical17-role",
                                                       section_ids=feats["section_id"].to_numpy(), columns=CLASSICAL17))
    np.testing.assert_array_equal(cl.loc[new_ids, "label"].to_numpy(), alone.labels)
    np.testing.assert_allclose(cl.loc[new_ids, "distance"].to_numpy(), alone.distance, rtol=1e-9)
    # the absolute run puts the whole new song in one cluster: it follows songs
    assert store.read_part("clusterings", absolute).set_index("section_id").loc[new_ids, "label"].nunique() == 1
    # a refit is the next version of the role run, on every section, with its purity
    from sectionist.analysis.modeling.refit import refit_runs

    assert refit_runs(store, [role], progress=False) == [f"{role}~v2"]
    v2 = store.read_part(RUNS, f"{role}~v2").iloc[0]
    assert v2["space"] == "classical17-role" and v2["n_sections"] == (N_SONGS + 1) * PER_SONG
    assert v2["ari_truth"] == pytest.approx(1.0) and v2["song_purity"] == pytest.approx(1 / (N_SONGS + 1))


def test_cli_clusters_a_role_space(fitted, tmp_path, capsys):
    from sectionist.cli import build_parser

    shutil.copytree(fitted[0].root, tmp_path / "s")
    parser = build_parser()
    args = parser.parse_args(["cluster", "--store", str(tmp_path / "s"), "--space", "classical17-role", "--method",
                              "gmm", "--k", "2", "--no-project", "--no-stability", "--no-explain"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "classical17-role-gmm-k2" in out
    assert "song_purity" in out.splitlines()[0] and "clusters_one_song" in out.splitlines()[0]
    row = open_store(tmp_path / "s", create=False).read_part(RUNS, "classical17-role-gmm-k2").iloc[0]
    assert row["space"] == "classical17-role" and row["ari_truth"] == pytest.approx(1.0)
    assert row["song_purity"] == pytest.approx(1 / N_SONGS)


def test_an_older_store_reads_without_song_purity(tmp_path):
    shutil.copytree(OLD_STORE, tmp_path / "old")
    store = open_store(tmp_path / "old", create=False)
    runs = store.read_table(RUNS)
    assert len(runs) and {"song_purity", "songs_effective", "clusters_one_song"} <= set(runs.columns)
    assert runs[["song_purity", "songs_effective", "clusters_one_song"]].isna().all().all()
    clusters = store.read_table(CLUSTERS)
    assert len(clusters) and clusters[["song_purity", "songs_effective"]].isna().all().all()


def test_repair_accepts_a_part_written_before_song_purity(fitted):
    from sectionist.analysis.run.repair import same_values

    store, role, _ = fitted
    stored = store.read_part(RUNS, role)
    older = stored.copy()
    older[["song_purity", "songs_effective", "clusters_one_song"]] = np.nan  # as an older part reads
    assert same_values(store, RUNS, older, stored)
    other = stored.copy()
    other["song_purity"] = 0.9
    assert not same_values(store, RUNS, other, stored)
