"""The segmentation lab: the sweep and its cache (sectionist/analysis/sections/lab.py) give what the ``merged`` (version 2)
and ``novelty`` structure schemes give for the same parameters — at the default settings exactly what
``sectionist segment`` stores; "save as scheme" writes segments rows, checks the name and refuses users
who may not judge; the page's callbacks (sectionist/dashboard/data/lab.py, pages/lab.py) answer from the cache."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.lab import MERGED_DEFAULTS, THRESHOLDS, LabParams, SegmentationSweep, check_scheme_name, save_scheme
from sectionist.analysis.structure.beats import BeatFeatures, beat_features
from sectionist.analysis.structure.merged import MERGED_VERSION, merged_beats, merged_structure
from sectionist.analysis.structure.novelty import novelty_structure
from sectionist.store import open_store
from sectionist.store.schema import SEGMENTS

SR = 22050


def _tone(kind: str, seconds: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    if kind == "A":
        y = 0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 165 * t)
    elif kind == "B":
        y = 0.15 * np.sin(2 * np.pi * 1760 * t) + 0.1 * np.sin(2 * np.pi * 2640 * t)
    else:
        y = 0.2 * rng.normal(size=len(t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    # a click every half second gives the beat tracker a pulse
    y[:: SR // 2] += 0.8
    return y


@pytest.fixture(scope="module")
def song():
    rng = np.random.default_rng(3)
    y = np.concatenate([_tone(k, 6.0, rng) for k in "ABACABCAABCA"])
    return (y / np.abs(y).max() * 0.7 + 0.02 * rng.normal(size=len(y))).astype(np.float32)


@pytest.fixture(scope="module")
def bf(song):
    return beat_features(song, SR)


@pytest.fixture(scope="module")
def sweep(song, bf):
    return SegmentationSweep(song, SR, features=bf)


def test_the_lab_starts_at_merged_defaults():
    sig = inspect.signature(merged_structure).parameters
    d = LabParams()
    assert (d.threshold, d.min_slice_beats, d.window, d.k, d.min_seconds) == tuple(
        sig[name].default for name in ("threshold", "min_slice_beats", "window", "k", "min_seconds"))
    assert d.merge and MERGED_DEFAULTS["k_min"] == sig["k_min"].default


def test_lab_at_default_settings_is_the_stored_merged_segmentation(song, bf, sweep):
    res = sweep.result(LabParams())
    stored = merged_structure(song, SR)  # what analyze / sectionist segment write (features computed inside)
    assert res.n_pre >= 3 and res.n_post >= 2, (res.n_pre, res.n_post)  # a real segmentation, not one block
    np.testing.assert_array_equal(res.post, stored.bounds)
    np.testing.assert_array_equal(res.labels, stored.labels)
    np.testing.assert_allclose(res.pre[1:, 0], stored.params["pre_bounds"], atol=5e-4)
    np.testing.assert_array_equal(res.pre_labels, stored.params["pre_labels"])
    assert res.k_used == stored.params["k_used"]


def test_lab_gives_a_song_that_repeats_no_part_its_own_labels_as_merged_does():
    rng = np.random.default_rng(1)
    protos = [(rng.normal(size=84) * 6, rng.normal(size=20) * 3) for _unused in range(4)]
    H = np.vstack([h + rng.normal(size=(40, 84)) for h, _t in protos])
    T = np.vstack([t + rng.normal(size=(40, 20)) for _h, t in protos])
    abcd = BeatFeatures(np.arange(161) * 0.5, H, T)
    sw = SegmentationSweep(None, SR, features=abcd)
    for p in (LabParams(), LabParams(0.5, 3, True, 4, None, 0.0), LabParams(1.0, 4, True, 0, 2, 6.0)):
        res, r = sw.result(p), merged_beats(abcd, threshold=p.threshold, min_slice_beats=p.min_slice_beats,
                                            window=p.window, k=p.k, min_seconds=p.min_seconds)
        np.testing.assert_array_equal(res.post, r["post"])
        np.testing.assert_array_equal(res.labels, r["labels"])
        assert r["repeats"] == (p.k is not None)


SETTINGS = [
    LabParams(1.0, 4, True, 0, None, 6.0),
    LabParams(0.3, 2, True, 0, 3, 4.0),
    LabParams(0.5, 3, True, 4, None, 0.0),
    LabParams(0.2, 2, True, 3, 2, 6.0),
    LabParams(2.0, 8, True, 0, None, 12.0),
    LabParams(0.0, 2, True, 0, 6, 0.0),
]


@pytest.mark.parametrize("p", SETTINGS, ids=lambda p: f"t{p.threshold}-m{p.min_slice_beats}-w{p.window}-k{p.k}")
def test_sweep_equals_merged_called_directly(bf, sweep, p):
    res = sweep.result(p)
    r = merged_beats(bf, threshold=p.threshold, min_slice_beats=p.min_slice_beats, window=p.window, k=p.k,
                     min_seconds=p.min_seconds)
    np.testing.assert_array_equal(res.cuts, bf.times[r["edges"][1:-1]])
    np.testing.assert_array_equal(res.pre, r["pre"])
    np.testing.assert_array_equal(res.pre_labels, r["pre_labels"])
    np.testing.assert_array_equal(res.post, r["post"])
    np.testing.assert_array_equal(res.labels, r["labels"])
    assert res.n_pre == len(r["pre"]) and res.n_post == len(r["post"]) and res.k_used == r["k"]


@pytest.mark.parametrize("threshold,k", [(0.4, None), (1.0, 3)])
def test_merge_off_is_the_novelty_scheme(song, bf, sweep, threshold, k):
    res = sweep.result(LabParams(threshold, 4, False, 0, k, 6.0))
    nov = novelty_structure(song, SR, threshold=threshold, k=k, features=bf)
    np.testing.assert_array_equal(res.post, nov.bounds)
    np.testing.assert_array_equal(res.labels, nov.labels)
    np.testing.assert_array_equal(res.pre, res.post)


def test_thresholds_change_the_slices_and_the_cache_is_used(song, bf):
    sw = SegmentationSweep(song, SR, features=bf, cache_size=3)
    n_distinct = sw.precompute(thresholds=THRESHOLDS, min_slices=(2,))
    assert n_distinct >= 2  # the threshold grid gives several different over-segmentations
    counts = [sw.result(LabParams(t, 2)).n_pre for t in (0.0, 5.0)]
    assert counts[0] > counts[1]
    sw.hits = sw.misses = 0
    a = sw.result(LabParams(0.0, 2, True, 0, None, 6.0))
    b = sw.result(LabParams(0.0, 2, True, 0, None, 6.0))
    assert (sw.hits, sw.misses) == (2, 0) or (sw.hits, sw.misses) == (1, 1)
    assert a.post is b.post  # the cached arrays, not a recomputation
    hits = sw.hits
    sw.result(LabParams(0.0, 2, True, 0, None, 6.0))
    assert sw.hits == hits + 1
    # least recently used dropped beyond cache_size
    for k in (2, 3, 4, 5):
        sw.result(LabParams(0.0, 2, True, 0, k, 6.0))
    assert len(sw._results) == 3 and len(sw._clusters) <= 3
    misses = sw.misses
    sw.result(LabParams(0.0, 2, True, 0, None, 6.0))
    assert sw.misses == misses + 1
    # another merge setting of the same slices reuses their clustering
    n_clusters = len(sw._clusters)
    sw.result(LabParams(0.0, 2, True, 0, None, 0.0))
    assert len(sw._clusters) == n_clusters
    # the result arrays are read-only (shared between requests)
    with pytest.raises(ValueError):
        a.post[0, 0] = 1.0


def test_a_song_too_short_for_two_slices_is_one_segment():
    rng = np.random.default_rng(0)
    y = (0.1 * rng.normal(size=SR * 2)).astype(np.float32)
    sw = SegmentationSweep(y, SR)
    res = sw.result(LabParams())
    assert res.n_pre == res.n_post == 1 and res.post[0, 1] == pytest.approx(len(y) / SR)
    stored = merged_structure(y, SR)
    np.testing.assert_array_equal(res.post, stored.bounds)


@pytest.mark.parametrize("bad", [{"threshold": -1}, {"min_slice_beats": 0}, {"min_slice_beats": 2.5},
                                 {"window": 1}, {"window": -2}, {"k": -1}, {"threshold": "x"},
                                 {"min_seconds": float("nan")}])
def test_params_are_checked(bad):
    with pytest.raises(ParameterError):
        LabParams(**bad).checked()


@pytest.mark.parametrize("name", ["verse-1", "A_b", "x" * 40])
def test_scheme_names(name):
    assert check_scheme_name(name) == "lab-" + name


@pytest.mark.parametrize("name", ["", "with space", "../up", "é", "a/b", "x" * 41, None, "semi;colon"])
def test_bad_scheme_names(name):
    with pytest.raises(ParameterError, match="letters, digits"):
        check_scheme_name(name)


def test_save_scheme_writes_segments_rows(tmp_path, song, sweep):
    store = open_store(str(tmp_path / "store"), create=True)
    store.write_manifest({})
    before = store.read_manifest()["version"]
    res = sweep.result(LabParams(0.5, 3, True, 4, None, 4.0))
    scheme = save_scheme(store, "song-1", "tight", res)
    assert scheme == "lab-tight"
    rows = store.read_table(SEGMENTS).sort_values("index")
    assert list(rows["scheme"].unique()) == ["lab-tight"] and list(rows["song_id"].unique()) == ["song-1"]
    np.testing.assert_allclose(rows[["start_s", "end_s"]].to_numpy(), res.post)
    np.testing.assert_array_equal(rows["label"].to_numpy(), res.labels)
    params = json.loads(rows["params"].iloc[0])
    assert params["source"] == "lab" and params["window"] == 4 and params["n_pre"] == res.n_pre
    assert params["version"] == MERGED_VERSION and params["min_slice_beats"] == 3 and params["kernels"] == [16, 32]
    assert store.read_manifest()["version"] == before + 1  # readers notice the new scheme
    with pytest.raises(ParameterError):
        save_scheme(store, "song-1", "no good", res)
    assert store.list_parts(SEGMENTS) == ["lab-tight/song-1"]


# ---- the dashboard side ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_store(tmp_path_factory):
    from synthetic_store import add_beat_clicks, build_synthetic_store

    root = tmp_path_factory.mktemp("lab-store")
    store = build_synthetic_store(root / "store", n_sections=12, sections_per_song=12, section_seconds=4.0,
                                  audio=True, audio_sr=8000, random_state=5)
    add_beat_clicks(store)
    return store


class _User:
    def __init__(self, can_judge):
        self.can_judge = can_judge


def test_save_lab_scheme_needs_a_judge_and_a_good_name(lab_store):
    from sectionist.dashboard.data.store_data import StoreData
    from sectionist.dashboard.data.lab import save_lab_scheme, sweep_for

    data = StoreData(lab_store.uri, check_interval=0)
    song_id = data.songs.index[0]
    p = LabParams(0.5, 3, True, 0, None, 4.0)
    ok, msg = save_lab_scheme(data, None, song_id, "mine", p)
    assert not ok and "Log in" in msg
    ok, msg = save_lab_scheme(data, _User(False), song_id, "mine", p)
    assert not ok and "role" in msg
    ok, msg = save_lab_scheme(data, _User(True), song_id, "bad name!", p)
    assert not ok and "letters, digits" in msg
    assert SEGMENTS not in lab_store.tables() or not lab_store.list_parts(SEGMENTS)
    ok, msg = save_lab_scheme(data, _User(True), song_id, "mine", p)
    assert ok and "lab-mine" in msg, msg
    rows = data.table(SEGMENTS)  # the app's cache sees the new part at once (version bumped, refreshed)
    res = sweep_for(data, song_id).result(p)
    assert len(rows) == res.n_post and set(rows["scheme"]) == {"lab-mine"}


def test_lab_view_answers_from_the_cache(lab_store):
    import time

    from sectionist.dashboard.data.store_data import StoreData
    from sectionist.dashboard.data.lab import lab_view, params_from_controls, sweep_for

    data = StoreData(lab_store.uri)
    song_id = data.songs.index[0]
    sweep = sweep_for(data, song_id)
    assert sweep_for(data, song_id) is sweep  # built once per song
    nov, lanes, counts, res = lab_view(data, song_id, params_from_controls(0.0, 2, True, 0, 0, 4.0))
    assert "slices before merging" in counts or "slice before merging" in counts
    assert len(lanes.data) >= 2 and all(len(t.customdata[0]) == 4 for t in lanes.data)
    assert lanes.data[0].customdata[0][0] == song_id
    assert nov.data[2].x.size == len(res.cuts)
    times = []
    for t in np.linspace(0, 5, 26):
        t0 = time.perf_counter()
        lab_view(data, song_id, params_from_controls(float(t), 2, True, 3, 0, 4.0))
        times.append(time.perf_counter() - t0)
    assert np.percentile(times, 95) < 0.5, times  # generous on a loaded CI machine; the bench measures p95


def test_the_lab_of_a_stored_song_shows_what_segment_stored(tmp_path):
    # the dashboard's lab (audio decoded by the page's reader) at its default settings against the
    # 'merged' part that 'sectionist segment' wrote for the same song
    from synthetic_store import add_beat_clicks, build_synthetic_store

    from sectionist.analysis.structure.writer import segment_store
    from sectionist.dashboard.data.store_data import StoreData
    from sectionist.dashboard.data.lab import lab_view, params_from_controls

    store = build_synthetic_store(tmp_path / "store", n_sections=24, sections_per_song=12, n_sounds=4,
                                  section_seconds=4.0, audio=True, audio_sr=8000, random_state=11)
    add_beat_clicks(store)
    res = segment_store(store, ["merged"], progress=False)
    assert not res["failed"], res
    data = StoreData(store.uri, check_interval=0)
    for song_id in data.songs.index:
        rows = store.read_part(SEGMENTS, SEGMENTS.part(scheme="merged", song_id=song_id)).sort_values("index")
        lab = lab_view(data, song_id, params_from_controls(None, None, True, None, 0, None))[3]
        assert lab.n_post >= 2  # a real segmentation (the clicks give the beat tracker a pulse)
        np.testing.assert_array_equal(lab.post, rows[["start_s", "end_s"]].to_numpy())
        np.testing.assert_array_equal(lab.labels, rows["label"].to_numpy())
        assert lab.pre[1:, 0].round(3).tolist() == json.loads(rows["params"].iloc[0])["pre_bounds"]


def test_songs_page_shows_a_saved_scheme_as_a_lane(lab_store, tmp_path):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.data.store_data import get_data

    app = create_app(lab_store.uri, db_url=f"sqlite:///{tmp_path / 'u.sqlite'}", secret_key="c" * 40)
    from sectionist.dashboard.pages.songs import (  # after create_app: registers the page
        lanes_figure,
        segment_lanes,
    )
    with app.server.test_request_context("/songs"):
        data = get_data()
        song_id = data.songs.index[0]
        from sectionist.dashboard.data.lab import save_lab_scheme

        ok, msg = save_lab_scheme(data, _User(True), song_id, "lane-test", LabParams(0.3, 2, True, 0, None, 2.0))
        assert ok, msg
        lanes = segment_lanes(data, song_id)
        names = [lane[0] for lane in lanes]
        assert "structure · lab-lane-test" in names
        fig = lanes_figure(data, song_id)
        ticks = " ".join(fig.layout.yaxis.ticktext)
        assert "lab-lane-test" in ticks


def test_a_song_without_audio_says_so(tmp_path):
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app

    store = build_synthetic_store(tmp_path / "store", n_sections=8, sections_per_song=8, section_seconds=3.0)
    app = create_app(store.uri, db_url=f"sqlite:///{tmp_path / 'u.sqlite'}", secret_key="f" * 40)
    from sectionist.dashboard.pages import lab as page  # after create_app: registers the page

    with app.server.test_request_context("/lab"):
        song = store.read_table("songs")["song_id"].iloc[0]
        _nov, _lanes, counts = page._redraw(song, 1.0, 2.0, ["merge"], 0, 0, 8.0)
        assert "audio cannot be read" in counts
        assert page._redraw(song, -1.0, 2.0, ["merge"], 0, 0, 8.0)[2].startswith("Invalid setting")
