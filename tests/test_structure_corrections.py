"""Experts' corrections of a song's structure (issue 22): :mod:`sectionist.analysis.structure.constrained`
recomputes a structure so that every correction holds, :mod:`sectionist.analysis.structure.versions`
writes it as a new version (old ones untouched, the latest read by default), and
``sectionist segment --constraints/--boundaries`` reads them from CSV files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure
from sectionist.analysis.structure.beats import BeatFeatures
from sectionist.analysis.structure.constrained import (
    Correction,
    constrained_structure,
    corrected_cuts,
    segment_pairs,
    violations,
)
from sectionist.analysis.structure.versions import (
    correct_song,
    parse_version_name,
    read_version,
    song_versions,
    version_name,
)
from sectionist.analysis.structure.writer import segment_rows
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import SEGMENTS, SONGS, latest_segments, section_level

BEAT = 0.5  # seconds per beat of the synthetic beat features


def parts_features(form: str, beats: int = 16, seed: int = 0) -> BeatFeatures:
    """Beat features of a song whose parts (letters of ``form``) are fixed random beat sequences of
    ``beats`` beats each, played again with a little noise."""
    rng = np.random.default_rng(seed)
    parts = {c: rng.normal(size=(beats, 8)) for c in sorted(set(form))}
    X = np.vstack([parts[c] for c in form]) + 0.05 * rng.normal(size=(beats * len(form), 8))
    return BeatFeatures(np.arange(len(X) + 1) * BEAT, X[:, :4], X[:, 4:])


def structure(bounds, labels) -> Structure:
    return Structure(np.asarray(bounds, dtype=float), np.asarray(labels, dtype=np.int64))


def same_part(result, t1, t2) -> bool:
    at = [int(np.searchsorted(result.bounds[:, 0], t, side="right") - 1) for t in (t1, t2)]
    return result.labels[at[0]] == result.labels[at[1]]


# --------------------------------------------------------------------------------------------------
# constrained_structure


@pytest.mark.parametrize("seed", range(8))
def test_every_correction_is_honoured(seed):
    """Random corrections (three splits, a moved boundary, then same/different pairs drawn from a
    truth, a ``different`` only across the cuts) on a poor scheme result: none is broken, with and
    without the audio's evidence."""
    rng = np.random.default_rng(seed)
    form = "ABACABCA"
    feats = parts_features(form, beats=8, seed=seed)
    truth = np.array([ord(c) for c in np.repeat(list(form), 2)])  # one letter per 2 s
    base = structure([[0, 10], [10, 20], [20, 32]], [0, 1, 0])
    corrections = [Correction("split", float(t)) for t in rng.choice(np.arange(1, 32), 3, replace=False)]
    corrections.append(Correction("boundary", 20.0, float(rng.choice([17.5, 18.5, 21.5, 22.5]))))
    cuts, _pinned = corrected_cuts(base.bounds, base.labels, corrections)
    edges = np.concatenate([[0.0], cuts, [32.0]])
    segments = np.stack([edges[:-1], edges[1:]], axis=1)
    while len(corrections) < 9:
        a, b = rng.choice(32, 2, replace=False) + 0.5
        rel = "same" if truth[int(a) // 2] == truth[int(b) // 2] else "different"
        candidate = corrections + [Correction(rel, float(a), float(b), source=f"pair {a:g}/{b:g}")]
        try:  # a segment spanning two truth parts can make truth pairs contradict: those are refused
            segment_pairs(segments, candidate)
        except ParameterError:
            continue
        corrections = candidate
    for features in (feats, None):
        r = constrained_structure(base, corrections, features=features)
        assert violations(r, corrections) == []
        assert r.params["satisfied"] == len(corrections) and r.bounds[0, 0] == 0 and r.bounds[-1, 1] == 32
        assert np.allclose(r.bounds[1:, 0], r.bounds[:-1, 1])
        assert r.params["propagate"] == (features is not None)


def test_a_split_repeats_in_the_repeated_part():
    """The scheme saw (AB)(AB)(C) and labelled both AB alike: a split between A and B in the first
    cuts the second at the same beat, and the pieces take the parts they play."""
    feats = parts_features("ABABC", beats=8)
    base = structure([[0, 8], [8, 16], [16, 20]], [0, 0, 1])
    r = constrained_structure(base, [Correction("split", 4.0)], features=feats)
    np.testing.assert_allclose(r.bounds[1:, 0], [4, 8, 12, 16])
    assert same_part(r, 1, 9) and same_part(r, 5, 13) and not same_part(r, 1, 5)
    assert r.params["pinned"] == [4.0]
    # without the audio's evidence only the named segment is cut
    alone = constrained_structure(base, [Correction("split", 4.0)])
    np.testing.assert_allclose(alone.bounds[1:, 0], [4, 8, 16])


def test_a_same_correction_propagates_to_segments_that_sound_alike():
    """A1 B1 A2 B2 A3 C labelled 0 1 1 1 1 2 (A2 and A3 lumped with the B's): 'A1 is A2' moves A2 out of
    the B's and A3 follows it; the B's keep their label."""
    feats = parts_features("ABABAC", beats=8, seed=5)
    base = structure([[i * 4, i * 4 + 4] for i in range(6)], [0, 1, 1, 1, 1, 2])
    c = [Correction("same", 1.0, 9.0)]
    r = constrained_structure(base, c, features=feats)
    assert violations(r, c) == []
    assert same_part(r, 1, 17) and same_part(r, 5, 13) and not same_part(r, 1, 5) and not same_part(r, 1, 21)
    assert r.params["changed"] > 0
    # without evidence only the named segment moves: A1 joins the larger label, as lumped as it is
    alone = constrained_structure(base, c)
    assert alone.labels.tolist() == [0, 0, 0, 0, 0, 1]


def test_a_different_correction_splits_a_wrong_merge():
    feats = parts_features("ABAB", beats=8, seed=2)
    base = structure([[i * 4, i * 4 + 4] for i in range(4)], [0, 0, 0, 0])
    c = [Correction("different", 1.0, 5.0)]
    r = constrained_structure(base, c, features=feats)
    assert same_part(r, 1, 9) and same_part(r, 5, 13) and not same_part(r, 1, 5)


def test_contradictions_and_bad_pairs_name_their_source():
    base = structure([[0, 4], [4, 8], [8, 12]], [0, 1, 2])
    chain = [Correction("same", 1, 5, source="c.csv:2"), Correction("same", 5, 9, source="c.csv:3"),
             Correction("different", 1, 9, source="c.csv:4")]
    with pytest.raises(ParameterError, match=r"c\.csv:4: different.*c\.csv:2, c\.csv:3"):
        constrained_structure(base, chain)
    with pytest.raises(ParameterError, match=r"c\.csv:7: different: 1 s and 2 s are in one segment"):
        constrained_structure(base, [Correction("different", 1, 2, source="c.csv:7")])
    with pytest.raises(ParameterError, match=r"c\.csv:9: time 13 s is outside the song"):
        constrained_structure(base, [Correction("same", 1, 13, source="c.csv:9")])
    with pytest.raises(ParameterError, match="kind 'merge'"):
        Correction("merge", 1.0, 2.0)


def test_a_moved_boundary_lands_where_the_expert_put_it():
    base = structure([[0, 4], [4, 8], [8, 12]], [0, 1, 0])
    c = [Correction("boundary", 4.0, 5.0)]
    r = constrained_structure(base, c)
    np.testing.assert_allclose(r.bounds[1:, 0], [5.0, 8.0])
    assert violations(r, c) == []


# --------------------------------------------------------------------------------------------------
# versions in the store


def test_version_names_round_trip():
    assert version_name("merged", 1) == "merged" and version_name("merged", 3) == "merged~v3"
    assert parse_version_name("merged~v3") == ("merged", 3) and parse_version_name("lab-x") == ("lab-x", 1)
    with pytest.raises(ParameterError):
        version_name("merged", 0)


def _versioned_store(tmp_path, sid="s" * 16, form="ABAB"):
    """A store with one song whose version 1 of scheme ``repeats`` lumps everything into one part,
    with a phrase level."""
    store = open_store(str(tmp_path / "store"), create=True)
    duration = len(form) * 4.0
    store.write_part(SONGS, SONGS.part(song_id=sid), pd.DataFrame([{
        "song_id": sid, "uri": str(tmp_path / "song.wav"), "title": "song", "duration_s": duration}]))
    base = structure([[0, duration / 2], [duration / 2, duration]], [0, 0])
    base.levels["phrase"] = structure([[i * 2.0, i * 2.0 + 2] for i in range(int(duration / 2))],
                                      np.arange(int(duration / 2)) % 4)
    base.params = {"version": 1, "unit": 4}
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="repeats", song_id=sid), segment_rows(sid, "repeats", base))
    return store, sid


def test_a_correction_is_a_new_version_and_the_old_stays(tmp_path):
    store, sid = _versioned_store(tmp_path)
    old_part = store.part_key(SEGMENTS, "repeats/" + sid)
    old_bytes = store.read_bytes(old_part)
    feats = parts_features("ABAB", beats=8, seed=3)
    before = store.read_manifest().get("version", 0)
    v = correct_song(store, sid, "repeats", [Correction("split", 4.0)], features=feats)
    assert v == 2 and song_versions(store, sid, "repeats") == [1, 2]
    assert store.read_bytes(old_part) == old_bytes  # version 1 untouched
    assert store.read_manifest()["version"] > before  # a running app reloads
    table = store.read_table(SEGMENTS)
    assert sorted(table["version"].unique().tolist()) == [1, 2]
    shown = section_level(table)
    assert set(shown["version"]) == {2} and shown["start_s"].tolist() == [0, 4, 8, 12]
    assert shown["label"].tolist()[0] == shown["label"].tolist()[2] != shown["label"].tolist()[1]
    phrase = latest_segments(table).query("level == 'phrase'")
    assert len(phrase) == 8 and set(phrase["version"]) == {2}
    params = json.loads(shown["params"].iloc[0])
    assert params["corrections"] == [{"kind": "split", "time_a": 4.0}] and params["unit"] == 4 and params["base_version"] == 1
    # a second correction honours the first one too (its lineage)
    v3 = correct_song(store, sid, "repeats", [Correction("different", 1.0, 13.0)], features=feats)
    rows = read_version(store, sid, "repeats")
    assert v3 == 3 and set(rows["version"]) == {3}
    got = json.loads(rows["params"].iloc[0])["corrections"]
    assert got == [{"kind": "split", "time_a": 4.0}, {"kind": "different", "time_a": 1.0, "time_b": 13.0}]
    assert read_version(store, sid, "repeats", 2)["version"].eq(2).all()
    with pytest.raises(ParameterError, match="no version 1 of its 'merged' structure"):
        correct_song(store, sid, "merged", [Correction("split", 4.0)], features=feats)


def test_an_older_store_reads_as_version_1(tmp_path):
    store, sid = _versioned_store(tmp_path)
    rows = store.read_table(SEGMENTS)
    assert rows["version"].eq(1).all()  # no version column written: the declared default
    assert len(section_level(rows)) == 2


# --------------------------------------------------------------------------------------------------
# sectionist segment --constraints / --boundaries

SR = 22050
PART = 4.0  # seconds of each part of the tone song


def _tone_song(form: str) -> np.ndarray:
    """Parts of 4 s at 120 bpm: A a low chord with a click on each beat, B a high chord with noise
    bursts off the beat; a noise floor under both."""
    rng = np.random.default_rng(1)
    t = np.arange(int(PART * SR)) / SR
    burst = 0.4 * rng.normal(size=300) * np.exp(-np.arange(300) / 80)  # one drum sound, played on each hit
    out = []
    for c in form:
        freqs, hits = ((110.0, 165.0), np.arange(0, PART, 0.5)) if c == "A" else ((1320.0, 1980.0), np.arange(0.25, PART, 0.5))
        y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in freqs)
        for h in hits:
            i = int(h * SR)
            y[i:i + len(burst)] += burst
        out.append(y)
    y = np.concatenate(out)
    return (y / np.abs(y).max() * 0.7).astype(np.float32)


@pytest.fixture(scope="module")
def tone_store(tmp_path_factory):
    """A store whose one song (ABAB tones, audio on disk) has version 1 of ``repeats`` as two segments
    of one part; a pristine copy is made per test."""
    root = tmp_path_factory.mktemp("corrections")
    sf.write(root / "abab.wav", _tone_song("ABAB"), SR)
    store, sid = _versioned_store(root)
    store.write_part(SONGS, SONGS.part(song_id=sid), pd.DataFrame([{
        "song_id": sid, "uri": str(root / "abab.wav"), "title": "abab", "duration_s": 4 * PART}]))
    return root, sid


def _copy(tone_store, tmp_path):
    import shutil

    root, sid = tone_store
    shutil.copytree(root / "store", tmp_path / "store")
    return open_store(str(tmp_path / "store")), sid


def _csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_segment_cli_writes_corrected_versions(tone_store, tmp_path, capsys):
    store, sid = _copy(tone_store, tmp_path)
    b = _csv(tmp_path, "bounds.csv", "song,time\nabab,4.0\n")
    c = _csv(tmp_path, "pairs.csv", f"song,time_a,time_b,relation\n{sid},1.0,9.0,same\nabab,1.0,5.0,different\n")
    rc = main(["segment", "--store", str(store.uri), "--scheme", "repeats", "--constraints", c, "--boundaries", b])
    out = capsys.readouterr().out
    assert rc == 0 and f"{sid}: repeats version 2 (3 corrections)" in out
    shown = section_level(store.read_table(SEGMENTS)).sort_values("start_s")
    assert set(shown["version"]) == {2} and 4.0 in shown["start_s"].round(3).tolist()
    result = Structure(shown[["start_s", "end_s"]].to_numpy(), shown["label"].to_numpy())
    corrections = [Correction("split", 4.0), Correction("same", 1.0, 9.0), Correction("different", 1.0, 5.0)]
    assert violations(result, corrections) == []
    # the split repeated in the other AB: the two B's (and the two A's) are one part each
    assert same_part(result, 5.0, 13.0) and same_part(result, 1.0, 9.0) and not same_part(result, 9.0, 13.0)


@pytest.mark.parametrize("rows, where, message", [
    ("nope,1,2,same", "pairs.csv:3", "unknown song 'nope'"),
    ("abab,1,99,same", "pairs.csv:3", "time_b 99 s is outside the song"),
    ("abab,1,x,same", "pairs.csv:3", "time_b 'x' is not a number"),
    ("abab,1,2,alike", "pairs.csv:3", "relation 'alike'"),
    ("abab,1,2,different", "pairs.csv:3", "are in one segment"),
    ("abab,9,1,different", "pairs.csv:3", "tied as the same part by pairs.csv:2"),
])
def test_segment_cli_bad_rows_name_file_and_line_and_write_nothing(tone_store, tmp_path, capsys, rows, where,
                                                                   message):
    store, _sid = _copy(tone_store, tmp_path)
    c = _csv(tmp_path, "pairs.csv", f"song,time_a,time_b,relation\nabab,1,9,same\n{rows}\n")
    parts, manifest = store.list_parts(SEGMENTS), store.read_manifest()
    rc = main(["segment", "--store", str(store.uri), "--scheme", "repeats", "--constraints", c])
    err = capsys.readouterr().err
    assert rc == 2 and where in err and message in err, err
    assert store.list_parts(SEGMENTS) == parts and store.read_manifest() == manifest


def test_segment_cli_bad_boundaries_and_usage(tone_store, tmp_path, capsys):
    store, _sid = _copy(tone_store, tmp_path)
    parts = store.list_parts(SEGMENTS)
    for text, message in (("song,time\nabab,16\n", "bounds.csv:2: time 16 s is outside the song"),
                          ("song,when\nabab,3\n", "bounds.csv:1: missing column time")):
        b = _csv(tmp_path, "bounds.csv", text)
        assert main(["segment", "--store", str(store.uri), "--scheme", "repeats", "--boundaries", b]) == 2
        assert message in capsys.readouterr().err
    b = _csv(tmp_path, "bounds.csv", "song,time\nabab,3\n")
    assert main(["segment", "--store", str(store.uri), "--boundaries", b]) == 2  # three default schemes
    assert "name it with --scheme" in capsys.readouterr().err
    assert store.list_parts(SEGMENTS) == parts


def test_a_split_near_a_scheme_boundary_moves_it_and_its_repeats():
    """The scheme cut A|B half a second late in both plays of AB: a split at the true boundary of
    the first moves that cut (no sliver left), and the other A|B cut moves to where the same music
    changes, found by aligning the beats around it; the B|A boundary stays."""
    feats = parts_features("ABAB", beats=8, seed=7)
    base = structure([[0, 4.5], [4.5, 8], [8, 12.5], [12.5, 16]], [0, 1, 0, 1])
    r = constrained_structure(base, [Correction("split", 4.0)], features=feats)
    np.testing.assert_allclose(r.bounds[1:, 0], [4.0, 8.0, 12.0])
    assert r.labels.tolist() == [0, 1, 0, 1] and r.params["pinned"] == [4.0]
    alone = constrained_structure(base, [Correction("split", 4.0)])
    np.testing.assert_allclose(alone.bounds[1:, 0], [4.0, 8.0, 12.5])


# --------------------------------------------------------------------------------------------------
# POST /api/structure-corrections (sectionist/dashboard/judging/structure_routes.py)


def _job_done(runner, timeout=120.0):
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        state = runner.state("structure")
        if not state.running:
            return state
        time.sleep(0.2)
    raise AssertionError(f"the structure job did not end in {timeout} s")


def test_the_api_records_a_correction_and_recomputes_the_song(tone_store, tmp_path):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.jobs import JOBS_KEY
    from sectionist.dashboard.judging.structure_routes import current_corrections
    from sectionist.dashboard.models import get_database
    from tests.auth_helpers import csrf_header, login, make_user

    store, sid = _copy(tone_store, tmp_path)
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    app = create_app(store.uri, db_url=db_url, secret_key="s" * 40, jobs_dir=tmp_path / "jobs")
    runner = app.server.extensions[JOBS_KEY]
    expert, viewer = app.server.test_client(), app.server.test_client()
    login(expert, "eve", make_user(db_url, "eve", "expert"))
    login(viewer, "vic", make_user(db_url, "vic", "viewer"))
    split = {"song_id": sid, "scheme": "repeats", "kind": "split", "time_a": 4.0, "client_id": "c1"}
    r = expert.post("/api/structure-corrections", json=split, headers=csrf_header(expert))
    assert r.status_code == 201, r.get_json()
    answer = r.get_json()
    assert answer["correction"]["kind"] == "split" and answer["job"]["status"] == "running"
    # the same client_id again while the recompute runs: the first row, nothing new, the job busy
    again = expert.post("/api/structure-corrections", json=split, headers=csrf_header(expert))
    assert again.status_code == 200 and again.get_json()["correction"]["id"] == answer["correction"]["id"]
    assert again.get_json()["job"] == {"status": "busy", "job_id": answer["job"]["job_id"]}
    state = _job_done(runner)
    assert state.status == "done", open(tmp_path / "jobs" / "structure" / "output.log").read()[-2000:]
    assert song_versions(store, sid, "repeats") == [1, 2]
    shown = section_level(store.read_table(SEGMENTS))
    assert set(shown["version"]) == {2} and 4.0 in shown["start_s"].round(3).tolist()
    # the version the expert saw is recorded as it was named; a correction that contradicts the
    # song's current ones is refused before anything is recorded
    db = get_database(db_url)
    same = {"song_id": sid, "scheme": "repeats~v2", "kind": "same", "time_a": 1.0, "time_b": 9.0}
    assert expert.post("/api/structure-corrections", json=same, headers=csrf_header(expert)).status_code == 201
    bad = expert.post("/api/structure-corrections", json={**same, "kind": "different"}, headers=csrf_header(expert))
    assert bad.status_code == 400 and "tied as the same part" in bad.get_json()["error"]
    rows = current_corrections(db, sid, "repeats")
    assert [(r.kind, r.scheme) for r in rows] == [("split", "repeats"), ("same", "repeats~v2")]
    for payload, status in (({**same, "song_id": "nope"}, 404), ({**same, "kind": "merge"}, 400),
                            ({**same, "time_b": 99.0}, 400), ({**same, "scheme": "merged"}, 404)):
        assert expert.post("/api/structure-corrections", json=payload, headers=csrf_header(expert)).status_code == status
    assert viewer.post("/api/structure-corrections", json=same, headers=csrf_header(viewer)).status_code == 403
    assert expert.post("/api/structure-corrections", json=same).status_code in (400, 403)  # no CSRF token
    assert len(current_corrections(db, sid, "repeats")) == 2
    state = _job_done(runner)
    assert state.status == "done" and song_versions(store, sid, "repeats") == [1, 2, 3]
    latest = read_version(store, sid, "repeats")
    assert sorted(json.loads(latest["params"].iloc[0])["corrections"], key=str) == [
        {"kind": "same", "time_a": 1.0, "time_b": 9.0}, {"kind": "split", "time_a": 4.0}]


def test_boundaries_with_a_from_column_are_moves(tone_store, tmp_path):
    from sectionist.analysis.commands.segment import read_corrections

    store, sid = _copy(tone_store, tmp_path)
    b = _csv(tmp_path, "bounds.csv", "song,time,from\nabab,4.5,8.0\nabab,3.0,\n")
    got = read_corrections(store, boundaries=b)
    assert got == {sid: [Correction("boundary", 8.0, 4.5, source="bounds.csv:2"),
                         Correction("split", 3.0, source="bounds.csv:3")]}
    with pytest.raises(ParameterError, match=r"bounds\.csv:2: from 20 s is outside the song"):
        read_corrections(store, boundaries=_csv(tmp_path, "bounds.csv", "song,time,from\nabab,4.5,20\n"))
