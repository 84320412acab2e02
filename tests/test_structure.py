"""Per-song structure segmentations (sectionist/analysis/structure/): merged, novelty, laplacian, kmeans15,
the segments table, ``sectionist segment``, their evaluation rows and the REAPER pre/post-merge tracks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.errors import ParameterError
from sectionist.analysis.evaluate import STRUCTURE_RUN, evaluate_store
from sectionist.analysis.export.data import build, merge_tracks
from sectionist.analysis.export.files import export_files
from sectionist.analysis.sections.sectioning import SCHEMES
from sectionist.analysis.structure.beats import BeatFeatures, beat_features
from sectionist.analysis.structure.checkerboard import checkerboard_novelty, multiscale_novelty, novelty_peaks
from sectionist.analysis.structure.graph import laplacian_embedding, repetition_mass
from sectionist.analysis.structure.helpers import enforce_min_length, merge_slices, slice_means, weighted_kmeans
from sectionist.analysis.structure.merged import cluster_slices, merge_clustered, merged_beats
from sectionist.analysis.structure.schemes import STRUCTURES, compute_structure
from sectionist.analysis.structure.writer import segment_rows, song_segments
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import SECTIONS, SEGMENTS, SONGS

SR = 22050
PART = 10.0  # seconds of each part of the ABAB song
TRUTH = [(0.0, 10.0, "A"), (10.0, 20.0, "B"), (20.0, 30.0, "A"), (30.0, 40.0, "B")]


def _part(kind: str, seconds: float, rng) -> np.ndarray:
    """A: low chord with a kick click every beat (120 BPM); B: bright tones with hi-hat noise bursts."""
    t = np.arange(int(seconds * SR)) / SR
    if kind == "A":
        y = 0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 165 * t)
        hits, burst = np.arange(0, seconds, 0.5), 0.04 * np.sin(2 * np.pi * 60 * t[:800]) * 10
    else:
        y = 0.15 * np.sin(2 * np.pi * 1760 * t) + 0.1 * np.sin(2 * np.pi * 2640 * t)
        hits, burst = np.arange(0.25, seconds, 0.5), 0.3 * rng.normal(size=400)
    for h in hits:
        i = int(h * SR)
        seg = burst[: max(0, min(len(burst), len(y) - i))]
        y[i:i + len(seg)] += seg * np.exp(-np.arange(len(seg)) / 200)
    return y


@pytest.fixture(scope="module")
def abab():
    rng = np.random.default_rng(0)
    y = np.concatenate([_part(k, PART, rng) for k in "ABAB"])
    # a noise floor, as in any recording: without it the parts are so stationary that the median
    # beat-to-beat MFCC distance (the Laplacian's path bandwidth) is ~0 and the graph falls apart
    return (y / np.abs(y).max() * 0.7 + 0.02 * rng.normal(size=len(y))).astype(np.float32)


@pytest.fixture(scope="module")
def abab_features(abab):
    return beat_features(abab, SR)


def label_at(result, t: float) -> int:
    i = int(np.searchsorted(result.bounds[:, 0], t, side="right") - 1)
    return int(result.labels[i])


def inner_bounds(result) -> np.ndarray:
    return result.bounds[1:, 0]


def test_merged_finds_the_abab_boundaries_and_parts(abab, abab_features):
    r = compute_structure(abab, SR, "merged", features=abab_features, k_min=2)  # default k_min = 3: whole songs
    b = inner_bounds(r)
    assert len(b) == 3 and np.all(np.abs(b - [10, 20, 30]) <= 0.5), b
    assert label_at(r, 5) == label_at(r, 25) != label_at(r, 15) == label_at(r, 35)
    assert r.n_types == 2
    assert r.params["n_pre"] >= r.params["n_post"] == 4
    # the pre-merge slices are kept and contain the merged boundaries
    assert set(np.round(b, 3)) <= set(r.params["pre_bounds"])
    assert len(r.params["pre_labels"]) == r.params["n_pre"]


def test_novelty_is_the_over_segmentation_with_the_same_clusters(abab, abab_features):
    nov = compute_structure(abab, SR, "novelty", features=abab_features, k_min=2)
    merged = compute_structure(abab, SR, "merged", features=abab_features, k_min=2)
    assert len(nov.bounds) == merged.params["n_pre"]
    assert list(nov.labels) == merged.params["pre_labels"]


def test_windowed_merge_matches_global_on_abab_and_stops_when_nothing_merges(abab, abab_features):
    g = compute_structure(abab, SR, "merged", features=abab_features, window=0, k_min=2)
    w = compute_structure(abab, SR, "merged", features=abab_features, window=4, k_min=2)
    assert np.allclose(inner_bounds(w), inner_bounds(g), atol=0.5)
    assert label_at(w, 5) == label_at(w, 25) != label_at(w, 15)
    # merge_slices on features: AABBAA; a window of 3 merges within each run only
    X = np.array([[0.0], [0.1], [5.0], [5.1], [0.05], [0.0]])
    assert merge_slices(X, np.ones(6), window=0) == [(0, 2), (2, 4), (4, 6)]
    groups = merge_slices(X, np.ones(6), window=3)
    assert groups == [(0, 2), (2, 4), (4, 6)]
    with pytest.raises(ParameterError, match="window=1"):
        merge_slices(X, np.ones(6), window=1)


def test_windowed_merge_is_local_where_global_is_not():
    # a slow drift: globally the ends differ, so global clustering cuts; locally neighbours are alike,
    # and a window of 3 merges more (repeated until nothing merges)
    X = np.concatenate([np.linspace(0, 10, 12)[:, None], np.zeros((12, 1))], axis=1)
    X[6:, 1] = 0.01
    g = merge_slices(X, np.ones(12), window=0)
    w = merge_slices(X, np.ones(12), window=3)
    assert len(g) >= 2
    for groups in (g, w):
        assert groups[0][0] == 0 and groups[-1][1] == 12
        assert all(a[1] == b[0] for a, b in zip(groups[:-1], groups[1:]))


def test_min_length_is_respected(abab, abab_features):
    r = compute_structure(abab, SR, "merged", features=abab_features, min_seconds=15.0)
    assert np.all(np.diff(r.bounds, axis=1) >= 15.0 - 1e-6)
    r = compute_structure(abab, SR, "merged", features=abab_features, min_fraction=0.45)
    assert np.all(np.diff(r.bounds, axis=1) >= 0.45 * 40 - 1e-6)
    bounds = np.array([[0, 5], [5, 6], [6, 20]], float)
    X = np.array([[0.0], [9.0], [10.0]])
    nb, _ = enforce_min_length(bounds, X, 2.0)
    assert nb.tolist() == [[0, 5], [5, 20]]  # the 1 s slice joins its more similar neighbour


def test_laplacian_finds_the_repetition(abab):
    r = compute_structure(abab, SR, "laplacian", k_min=2)  # the default k_min = 3 is for whole songs
    assert r.bounds[0, 0] == 0 and r.bounds[-1, 1] == pytest.approx(40.0, abs=0.05)
    assert label_at(r, 5) == label_at(r, 25) != label_at(r, 15) == label_at(r, 35)  # A and B come back
    b = inner_bounds(r)
    assert len(b) == 3 and np.all(np.abs(b - [10, 20, 30]) <= 0.5), b  # beat-level: within half a second
    assert r.params["k"] == 2
    default = compute_structure(abab, SR, "laplacian")
    assert 3 <= default.params["k"] <= 10 and label_at(default, 5) == label_at(default, 25)


def test_kmeans15_labels_fixed_sections_per_song():
    rng = np.random.default_rng(1)
    y = np.concatenate([_part("A", 30, rng), _part("B", 30, rng)]).astype(np.float32)
    r = compute_structure(y, SR, "kmeans15")
    assert r.bounds.tolist() == [[0, 15], [15, 30], [30, 45], [45, 60]]
    assert list(r.labels) == [0, 0, 1, 1]


def test_unknown_scheme_lists_the_valid_ones(abab):
    with pytest.raises(ParameterError, match="known: kmeans15, laplacian, merged, novelty, repeats"):
        compute_structure(abab, SR, "nope")
    with pytest.raises(ParameterError, match="structure scheme 'nope'"):
        AnalysisConfig(structure_schemes=("merged", "nope"))
    assert AnalysisConfig().structure_schemes == ("repeats", "merged", "laplacian")
    assert AnalysisConfig(structure_schemes=()).config_hash() != AnalysisConfig().config_hash()
    assert {"merged", "laplacian"} <= set(SCHEMES)  # usable as the main sectioning scheme too
    assert SCHEMES["merged"].func(40.0, y=abab, sr=SR).shape == (4, 2)


def test_segments_table_round_trip(tmp_path, abab):
    store = open_store(str(tmp_path / "s"))
    parts = song_segments("a" * 16, abab, SR, ["merged", "kmeans15"])
    for (table, part), df in parts.items():
        assert table is SEGMENTS
        store.write_part(table, part, df)
    back = store.read_table(SEGMENTS).sort_values(["scheme", "index"]).reset_index(drop=True)
    want = pd.concat([df for df in parts.values()]).sort_values(["scheme", "index"]).reset_index(drop=True)
    assert back[["song_id", "scheme", "index", "label", "n_types"]].astype(str).equals(
        want[["song_id", "scheme", "index", "label", "n_types"]].astype(str))
    assert np.allclose(back["start_s"], want["start_s"]) and str(back["label"].dtype) == "int64"
    assert json.loads(back[back["scheme"] == "merged"]["params"].iloc[0])["n_post"] == 4
    assert store.has_part(SEGMENTS, "merged/" + "a" * 16)


def _song_store(root, audio_dir, y):
    """A store with two songs (one of them with no audio file) and a truth JSON beside the first."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    sf.write(audio_dir / "abab.wav", y, SR)
    (audio_dir / "abab.json").write_text(json.dumps(
        {"title": "abab", "sections": [{"start": s, "end": e, "label": lab} for s, e, lab in TRUTH]}))
    store = open_store(str(root))
    for sid, title in (("a" * 16, "abab"), ("b" * 16, "gone")):
        store.write_part(SONGS, SONGS.part(song_id=sid), pd.DataFrame([{
            "song_id": sid, "uri": str(audio_dir / f"{title}.wav"), "title": title, "duration_s": 40.0,
            "truth_path": str(audio_dir / f"{title}.json")}]))
        store.write_part(SECTIONS, SECTIONS.part(song_id=sid), pd.DataFrame({
            "section_id": [f"{sid}-{i:05d}" for i in range(4)], "song_id": sid, "scheme": "fixed",
            "index": range(4), "start_s": [0.0, 10.0, 20.0, 30.0], "end_s": [10.0, 20.0, 30.0, 40.0],
            "is_central": True, "rank": 1, "truth_label": None}))
    return store


def test_segment_cli_resumes_reports_failed_songs_and_rejects_bad_schemes(tmp_path, abab, capsys):
    store = _song_store(tmp_path / "store", tmp_path / "audio", abab)
    rc = main(["segment", "--store", str(tmp_path / "store"), "--scheme", "merged", "kmeans15", "-q"])
    out = capsys.readouterr().out
    assert rc == 1  # the song without audio failed, the other was written
    assert "segmented 1 songs (2 parts)" in out and "failed: gone" in out
    assert store.has_part(SEGMENTS, "merged/" + "a" * 16) and store.has_part(SEGMENTS, "kmeans15/" + "a" * 16)
    before = (tmp_path / "store").joinpath(SEGMENTS.name, "merged").stat().st_mtime_ns
    rc = main(["segment", "--store", str(tmp_path / "store"), "--scheme", "merged", "-q"])
    out = capsys.readouterr().out
    assert "1 parts already there" in out and "segmented 0 songs" in out
    assert (tmp_path / "store").joinpath(SEGMENTS.name, "merged").stat().st_mtime_ns == before
    rc = main(["segment", "--store", str(tmp_path / "store"), "--scheme", "merged", "bogus"])
    err = capsys.readouterr().err
    assert rc == 2 and "bogus" in err and "kmeans15, laplacian, merged, novelty" in err


def test_evaluate_scores_structure_rows(tmp_path, abab):
    store = _song_store(tmp_path / "store", tmp_path / "audio", abab)
    sid = "a" * 16
    # hand-made: the truth itself (scores 1), and one label for everything (pairwise recall 1, ARI 0)
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="merged", song_id=sid), pd.DataFrame({
        "song_id": sid, "scheme": "merged", "index": range(4), "start_s": [0.0, 10.0, 20.0, 30.0],
        "end_s": [10.0, 20.0, 30.0, 40.0], "label": [0, 1, 0, 1], "n_types": 2, "params": "{}"}))
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="kmeans15", song_id=sid), pd.DataFrame({
        "song_id": sid, "scheme": "kmeans15", "index": range(2), "start_s": [0.0, 20.0],
        "end_s": [20.0, 40.0], "label": [0, 0], "n_types": 1, "params": "{}"}))
    table, skipped = evaluate_store(store, progress=False)
    assert [s[1] for s in skipped] == ["gone"]
    rows = table[table["run_id"] == STRUCTURE_RUN].set_index(["scheme", "metric"])["value"]
    for m in ("hr_f_0.5", "hr_f_3", "pairwise_f", "nce_f", "ari_frames"):
        assert rows[("merged", m)] == pytest.approx(1.0)
    assert rows[("kmeans15", "pairwise_r")] == pytest.approx(1.0)
    assert rows[("kmeans15", "ari_frames")] == pytest.approx(0.0)
    assert rows[("kmeans15", "hr_r_0.5")] == pytest.approx(1 / 3)  # finds 20 of 10, 20, 30
    # the sections' own rows are still there, and --scheme selects structure schemes too
    assert ((table["scheme"] == "fixed") & (table["run_id"] == "")).any()
    only, _ = evaluate_store(store, schemes=["kmeans15"], progress=False)
    assert set(only["scheme"]) == {"kmeans15"}


def test_reaper_export_has_pre_and_post_merge_tracks(abab, abab_features):
    sid = "a" * 16
    r = compute_structure(abab, SR, "merged", features=abab_features, k_min=2)
    structure = segment_rows(sid, "merged", r)
    tracks = dict(merge_tracks(structure, sid))
    pre, post = tracks["merged: pre-merge slices"], tracks["merged: post-merge segments"]
    assert len(pre) == r.params["n_pre"] and len(post) == 4
    assert pre["start_s"].iloc[0] == 0 and pre["end_s"].iloc[-1] == pytest.approx(40.0)
    assert list(post["cluster"]) == list(r.labels)
    assert merge_tracks(structure, "b" * 16) == []
    sections = pd.DataFrame({"section_id": [f"{sid}-00000"], "song_id": sid, "scheme": "fixed", "index": [0],
                             "start_s": [0.0], "end_s": [40.0]})
    songs = pd.DataFrame([{"song_id": sid, "title": "abab <&>", "uri": "/x/abab.wav", "duration_s": 40.0}])
    data = build(sections, songs, {})
    data.structure = structure
    rpp = export_files("reaper", data)["project.rpp"].decode()
    assert "merged: pre-merge slices" in rpp and "merged: post-merge segments" in rpp
    assert rpp.count("part 1") >= 2 and rpp.count("<ITEM") == 1 + len(pre) + len(post)


def test_every_structure_scheme_is_documented():
    for spec in STRUCTURES.values():
        assert spec.help and spec.func.__doc__


def test_schemes_declare_the_shared_inputs_they_take():
    """song_segments hands each scheme the shared inputs its module declares; an unknown one is refused."""
    from sectionist.analysis.structure.base import scheme

    assert {name: spec.inputs for name, spec in STRUCTURES.items()} == {
        "repeats": ("features",), "merged": ("features",), "novelty": ("features",), "laplacian": ("spectrum",),
        "kmeans15": ()}
    with pytest.raises(ParameterError, match="inputs"):
        scheme("x", lambda y, sr: None, help="x", inputs=("cqt",))


# ---- merged's beat-synchronous parts --------------------------------------------------------------

def test_beat_features_cover_the_song_on_beats(abab, abab_features):
    bf = abab_features
    assert isinstance(bf, BeatFeatures)
    assert bf.times[0] == 0.0 and bf.duration == pytest.approx(len(abab) / SR)
    assert np.all(np.diff(bf.times) > 0) and len(bf.times) == bf.n + 1
    assert bf.harmony.shape == (bf.n, 84) and bf.timbre.shape == (bf.n, 20)
    assert 60 <= bf.n <= 100  # 120 BPM over 40 s: ~80 beats
    given = beat_features(abab, SR, beat_times=np.arange(0.5, 40, 0.5))
    assert np.allclose(given.times[1:-1], np.arange(0.5, 40, 0.5), atol=512 / SR)


def test_checkerboard_novelty_equals_the_features_curve_and_peaks_obey_distance():
    from sectionist.analysis.sections.timbre import novelty_curve

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (40, 6)), rng.normal(4, 1, (40, 6)), rng.normal(0, 1, (40, 6))])
    for L, c in zip((4, 8, 16, 70), checkerboard_novelty(X, (4, 8, 16, 70))):
        assert np.allclose(c, novelty_curve(X, L))
    nov = multiscale_novelty([X, X[:, :3]], (4, 8, 16))
    assert nov.shape == (120,) and nov.max() <= 1.0
    peaks = novelty_peaks(nov, threshold=1.0, min_distance=4)
    assert np.any(np.abs(peaks - 40) <= 2) and np.any(np.abs(peaks - 80) <= 2)
    assert np.all(np.diff(peaks) >= 4) and peaks.min() >= 4 and peaks.max() <= 116
    assert len(novelty_peaks(nov, threshold=1e6, min_distance=4)) == 0
    assert novelty_peaks(np.zeros(10), threshold=1.0, min_distance=2).size == 0
    with pytest.raises(ParameterError, match="threshold"):
        novelty_peaks(nov, threshold=-1, min_distance=4)


def test_weighted_kmeans_and_slice_means():
    X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [9.0]])
    lab = weighted_kmeans(X, 2, seed=0)
    assert lab[0] == lab[1] == lab[2] != lab[3] and lab[3] == lab[4]
    assert np.array_equal(lab, weighted_kmeans(X, 2, seed=0))  # deterministic
    # weights count: 0 4 | 6 10 unweighted; a heavy 10 keeps its centre, so 6 joins 0 and 4
    Y = np.array([[0.0], [4.0], [6.0], [10.0]])
    plain, heavy = weighted_kmeans(Y, 2, seed=0), weighted_kmeans(Y, 2, np.array([1, 1, 1, 100.0]), seed=0)
    assert plain[0] == plain[1] != plain[2] == plain[3]
    assert heavy[0] == heavy[1] == heavy[2] != heavy[3]
    assert np.allclose(slice_means(np.arange(6.0)[:, None], np.array([0, 2, 6]))[:, 0], [0.5, 3.5])


def test_cluster_slices_groups_slices_whose_beats_recur():
    # beats of an A B A B song (20 each): A-beats connected to A-beats, B to B, plus a weak chain
    lab = np.repeat([0, 1, 0, 1], 20)
    A = (lab[:, None] == lab[None, :]).astype(float) * 0.5
    A += np.diag(np.ones(79), 1) + np.diag(np.ones(79), -1)
    np.fill_diagonal(A, 0)
    evecs, cnorm = laplacian_embedding(A, median_size=1)
    edges = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80])  # two slices per part
    labels, k, S = cluster_slices(evecs, cnorm, edges, k_min=2, k_max=4)
    assert k == 2 and list(labels) == [0, 0, 1, 1, 0, 0, 1, 1] and S.shape == (8, 2)
    fixed, k3, _ = cluster_slices(evecs, cnorm, edges, k=3)
    assert k3 == 3 and len(set(fixed)) == 3
    # fewer slices than k_min + 1: K is still chosen (up to slices − 1), not one cluster for all
    few, kf, _ = cluster_slices(evecs, cnorm, np.array([0, 20, 40, 60, 80]), k_min=5)
    assert kf == 3 and len(set(few)) == 3


def parts_song(form: str, seed: int = 0, beats: int = 40) -> BeatFeatures:
    """Beat features of a song whose parts (letters of ``form``, ``beats`` beats each) each have their
    own harmony and timbre; a letter that comes back is the same part again (plus noise)."""
    rng = np.random.default_rng(seed)
    protos = {c: (rng.normal(size=84) * 6, rng.normal(size=20) * 3) for c in sorted(set(form))}
    H = np.vstack([protos[c][0] + rng.normal(size=(beats, 84)) for c in form])
    T = np.vstack([protos[c][1] + rng.normal(size=(beats, 20)) for c in form])
    return BeatFeatures(np.arange(len(H) + 1) * 0.5, H, T)


def test_a_song_that_repeats_no_part_gives_every_segment_its_own_label():
    abab, abcd = parts_song("ABAB"), parts_song("ABCD")
    assert repetition_mass(abab.harmony) > 0.5 and repetition_mass(abcd.harmony) < 0.1
    r = merged_beats(abab, k_min=2)
    assert r["repeats"] and r["labels"][0] == r["labels"][2] != r["labels"][1] == r["labels"][3]
    own = merged_beats(abcd)
    assert not own["repeats"] and list(own["labels"]) == list(range(len(own["post"])))
    # the test changes labels only: the same slices, clusters and merged segments without it
    shared = merged_beats(abcd, repeat_min=0.0)
    assert shared["repeats"]
    np.testing.assert_array_equal(own["post"], shared["post"])
    np.testing.assert_array_equal(own["pre_labels"], shared["pre_labels"])
    # slices of clusters 0 1 0 1 (10 s each): shared labels, or one label per segment
    pre = np.array([[0, 10], [10, 20], [20, 30], [30, 40]], float)
    for repeats, want in ((True, [0, 1, 0, 1]), (False, [0, 1, 2, 3])):
        post, labels, _groups = merge_clustered(pre, np.array([0, 1, 0, 1]), np.eye(4), 40.0, repeats=repeats)
        assert list(labels) == want and len(post) == 4
    # asking for K clusters asks for shared labels
    assert merged_beats(abcd, k=2)["repeats"]
    s = compute_structure(np.zeros(10), SR, "merged", features=abcd)
    assert s.params["repeats"] is False and s.params["repeat_mass"] < 0.1 and s.n_types == len(s.bounds)


def test_merged_wants_beat_features_and_records_its_version(abab):
    with pytest.raises(ParameterError, match="BeatFeatures"):
        compute_structure(abab, SR, "merged", features=(np.zeros((10, 3)), 0.1))
    with pytest.raises(ParameterError, match="novelty_features"):
        compute_structure(abab, SR, "merged", novelty_features=("loudness",))
    assert STRUCTURES["merged"].version >= 2 and STRUCTURES["merged"].key == f"merged@{STRUCTURES['merged'].version}"
    assert STRUCTURES["laplacian"].key == "laplacian"
    # the config hashes the schemes' versions: a new merged version recomputes stale segments
    assert AnalysisConfig().hashed_dict()["structure_schemes"] == (
        STRUCTURES["repeats"].key, STRUCTURES["merged"].key, "laplacian")


def test_segment_recomputes_parts_of_an_older_scheme_version(tmp_path, abab):
    store = _song_store(tmp_path / "store", tmp_path / "audio", abab)
    sid = "a" * 16
    stale = pd.DataFrame({"song_id": sid, "scheme": "merged", "index": range(1), "start_s": [0.0],
                          "end_s": [40.0], "label": [0], "n_types": 1, "params": json.dumps({"version": 1})})
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="merged", song_id=sid), stale)
    main(["segment", "--store", str(tmp_path / "store"), "--scheme", "merged", "-q"])
    rows = store.read_part(SEGMENTS, SEGMENTS.part(scheme="merged", song_id=sid))
    assert len(rows) > 1 and json.loads(rows["params"].iloc[0])["version"] == STRUCTURES["merged"].version


def test_shared_spectrum_gives_the_same_segments(abab):
    """analyze hands song_segments the song's SongSpectrum (beats and MFCCs once): same rows as without."""
    from sectionist.analysis.sections.spectrum import SongSpectrum

    schemes = ["merged", "novelty", "laplacian"]
    alone = song_segments("a" * 16, abab, SR, schemes)
    shared = song_segments("a" * 16, abab, SR, schemes, spectrum=SongSpectrum(abab, SR, 512))
    assert alone.keys() == shared.keys()
    for key in alone:
        pd.testing.assert_frame_equal(alone[key], shared[key], check_exact=True)
    bf, bf_shared = beat_features(abab, SR), beat_features(abab, SR, spectrum=SongSpectrum(abab, SR, 512))
    for name in ("times", "harmony", "timbre"):
        assert np.array_equal(getattr(bf, name), getattr(bf_shared, name))


def test_merge_clustered_joins_neighbours_left_in_one_cluster_by_absorption():
    # a 2 s slice of another cluster between two of cluster 0 is absorbed (min 6 s): what is left is
    # one cluster twice in a row, so it merges into one segment ("repeated until nothing more merges")
    pre = np.array([[0.0, 10.0], [10.0, 12.0], [12.0, 22.0]])
    post, labels, _groups = merge_clustered(pre, np.array([0, 1, 0]), np.array([[0, 0], [1, 1], [0, 0.1]]), 22.0,
                                            min_seconds=6.0)
    assert post.tolist() == [[0.0, 22.0]] and labels.tolist() == [0]
    # without absorption nothing changes
    post, labels, _groups = merge_clustered(pre, np.array([0, 1, 0]), np.array([[0, 0], [1, 1], [0, 0.1]]), 22.0,
                                            min_seconds=1.0)
    assert post.tolist() == pre.tolist() and labels.tolist() == [0, 1, 0]


def test_merged_builds_the_recurrence_graph_once_and_equals_the_separate_calls(monkeypatch):
    """The graph and the repetition test share one harmony recurrence: same values as each
    computing its own, one computation."""
    from sectionist.analysis.structure import graph

    song = parts_song("ABAB", seed=3)
    fresh = parts_song("ABAB", seed=3)
    expected_mass = graph.repetition_mass(fresh.harmony)
    expected_A = graph.laplacian_affinity(fresh.harmony.T, fresh.timbre.T)
    calls = []
    real = graph.harmony_recurrence
    monkeypatch.setattr(graph, "harmony_recurrence", lambda C: calls.append(1) or real(C))
    r = merged_beats(song)
    assert len(calls) == 1
    assert r["repeat_mass"] == expected_mass
    assert np.array_equal(graph.laplacian_affinity(song.harmony.T, song.timbre.T, recurrence=song.recurrence()),
                          expected_A)


def test_long_files_are_segmented_on_at_most_max_beats_units():
    """Memory and time of the n × n graphs stay bounded on a long file: past MAX_BEATS beats, every
    k-th beat is a unit; a song with fewer keeps all of its beats."""
    from sectionist.analysis.structure import beats as st

    few = np.arange(0, 1000 * 20, 20)
    assert np.array_equal(st.coarsen_beats(few), few)
    many = np.arange(0, 7000 * 20, 20)
    kept = st.coarsen_beats(many)
    assert len(kept) <= st.MAX_BEATS and np.array_equal(kept, many[::4])
    # the schemes see the coarsened beats: beat times 0.25 s apart for 20 minutes (4 800 beats)
    sr, seconds = 8000, 1200
    y = (0.1 * np.sin(2 * np.pi * 220 * np.arange(sr * seconds) / sr)).astype(np.float32)
    y[:: sr // 4] += 0.8  # clicks
    bf = st.beat_features(y, sr, hop_length=512, beat_times=np.arange(0.25, seconds, 0.25), n_octaves=5)
    assert bf.n <= st.MAX_BEATS and bf.times[-1] == seconds
