"""Sound tracks (sectionist/analysis/sections/soundtracks.py): beat fragments clustered into sounds with a just-noticeable
threshold, blocks, leaf order, NMF component tracks, the sound_tracks table and ``sectionist tracks``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sectionist.analysis.sections import soundtracks as st
from sectionist.analysis.corpus.audio import read_span
from sectionist.analysis.errors import ParameterError
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import SONGS, SOUND_TRACKS

SR = 22050
BEAT = 0.5  # 120 BPM
DARK = [1.0, 0.5, 0.25, 0.12]          # a low, dark instrument: few weak harmonics
DARK2 = [1.0, 0.8, 0.6, 0.5, 0.4]      # the same register, a little richer
BRIGHT = [0.2] + [0.6] * 12            # a bright instrument: many strong harmonics


def note(amps, f0=110.0, gain=1.0, seconds=BEAT):
    """One plucked note of an additive instrument (harmonic amplitudes ``amps``)."""
    t = np.arange(round(seconds * SR)) / SR
    y = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t) for k, a in enumerate(amps))
    return (gain * y * np.minimum(1, t / 0.005) * np.exp(-3 * t)).astype(np.float32)


def song(parts, beats_per=2, n_rep=8, click=0.3):
    """Instruments ``parts`` (note makers) taking turns every ``beats_per`` beats, one note a beat, over
    a click on every beat; returns the samples and the true change times."""
    notes = [p() for _ in range(n_rep) for p in parts for _ in range(beats_per)]
    y = np.concatenate(notes)
    for b in np.arange(0, len(y) / SR - 1e-9, BEAT):
        i = round(b * SR)
        y[i:i + 64] += click * np.hanning(64).astype(np.float32)
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def fragment_distance(a, b):
    """Distance (dB) between the mean features of two one-instrument songs."""
    feats = []
    for y in (a, b):
        bounds = np.append(np.arange(0, len(y) / SR - 1e-9, 2 * BEAT), len(y) / SR)
        X, _, _ = st.fragment_features(st.mel_spectrogram(y, SR), bounds, SR)
        feats.append(X.mean(axis=0))
    return float(np.linalg.norm(feats[0] - feats[1]))


def test_beat_fragments_groups_beats_and_joins_short_ends():
    beats = np.arange(0.5, 10.0, 0.5)  # 0.5 … 9.5
    b = st.beat_fragments(beats, 10.0, 2)
    assert b[0] == 0.0 and b[-1] == 10.0
    assert np.allclose(np.diff(b)[1:-1], 1.0)
    # a head before the first beat of at least half a fragment is a fragment of its own
    assert np.allclose(st.beat_fragments(beats, 10.0, 4)[1:-1], np.arange(0.5, 10.0, 2.0)[1:])
    assert len(st.beat_fragments(np.array([]), 4.0, 1)) == 9  # fallback grid at 120 BPM
    with pytest.raises(ParameterError, match="3"):
        st.beat_fragments(beats, 10.0, 3)


def test_threshold_measured():
    """The just-noticeable threshold sits between loudness changes of one instrument and different
    instruments (these numbers are quoted in docs/soundtracks.md)."""
    a = song([lambda: note(DARK)], n_rep=4)
    # the instrument 6 and 12 dB quieter against the same click
    quiet6 = song([lambda: note(DARK, gain=0.5)], n_rep=4)
    quiet12 = song([lambda: note(DARK, gain=0.25)], n_rep=4)
    same = [fragment_distance(a, quiet6), fragment_distance(a, quiet12)]
    other = [fragment_distance(a, song([lambda: note(DARK2)], n_rep=4)),
             fragment_distance(a, song([lambda: note(BRIGHT, 440)], n_rep=4))]
    assert max(same) < 0.5 < st.JND_DB < 9.0 < min(other), (same, other)


def test_two_timbres_make_two_tracks_with_the_right_blocks():
    y = song([lambda: note(DARK), lambda: note(BRIGHT, 440)], beats_per=2, n_rep=8)
    res = st.song_tracks(y, SR, beats=1)
    assert 110 < res.tempo_bpm < 130
    sounds = res.tracks[res.tracks["kind"] == "sound"]
    assert sorted(sounds["track"].unique()) == [0, 1]
    dark_track = sounds.loc[sounds["start_s"].idxmin(), "track"]
    for track, first in ((dark_track, 0.0), (1 - dark_track, 1.0)):
        blocks = sounds[sounds["track"] == track].sort_values("start_s")
        assert len(blocks) == 8
        # each block is the instrument's 2 beats (1 s), every 2 s, within one STFT hop of the truth
        starts = blocks["start_s"].to_numpy()
        assert np.allclose(starts[1:], first + 2.0 * np.arange(1, 8), atol=0.05)
        assert np.allclose((blocks["end_s"] - blocks["start_s"]).to_numpy()[:-1], 1.0, atol=0.05)
    assert (sounds["fragment_beats"] == 1).all()
    assert sounds["label"].str.match(r"sound [12] · 8 blocks · mostly (low/dark|mid|high/bright)").all()
    # 2-beat fragments: each fragment spans two beats
    res2 = st.song_tracks(y, SR, beats=2)
    assert np.allclose(np.median(np.diff(res2.bounds)), 1.0, atol=0.05)


def test_same_timbre_six_db_quieter_is_one_sound():
    y = song([lambda: note(DARK), lambda: note(DARK, gain=0.5)], beats_per=2, n_rep=8)
    res = st.song_tracks(y, SR, beats=1)
    assert res.tracks.query("kind == 'sound'")["track"].nunique() == 1
    # a threshold under the measured loudness difference would split them: the threshold decides
    res_strict = st.song_tracks(y, SR, beats=1, threshold=1e-3)
    assert res_strict.tracks.query("kind == 'sound'")["track"].nunique() > 1


def test_leaf_order_puts_similar_sounds_adjacent():
    # dark, bright, dark2: first appearance numbers them 0, 1, 2, so 0 and 2 sit apart unless reordered
    y = song([lambda: note(DARK), lambda: note(BRIGHT, 440), lambda: note(DARK2)], beats_per=2, n_rep=6)
    res = st.song_tracks(y, SR, beats=1)
    sounds = res.tracks[res.tracks["kind"] == "sound"]
    assert sounds["track"].nunique() == 3
    first = sounds.sort_values("start_s").drop_duplicates("track")["track"].tolist()  # dark, bright, dark2
    dark, dark2 = first[0], first[2]
    assert abs(dark - dark2) == 1
    # the pure function on centroids
    C = np.array([[0.0, 0.0], [10.0, 10.0], [0.5, 0.0], [10.0, 9.0]])
    order = list(st.leaf_order(C))
    assert sorted(order) == [0, 1, 2, 3]
    assert abs(order.index(0) - order.index(2)) == 1 and abs(order.index(1) - order.index(3)) == 1


def test_nmf_tracks_separate_overlapping_sounds():
    # a low drone under the whole song, a bright note every other 2 beats on top of it
    low = song([lambda: note(DARK)], beats_per=2, n_rep=16, click=0.0)
    hi = song([lambda: note(BRIGHT, 880), lambda: np.zeros(int(BEAT * SR), np.float32)], beats_per=2, n_rep=8,
              click=0.0)
    y = (0.5 * low + 0.5 * hi).astype(np.float32)
    res = st.song_tracks(y, SR, beats=1, nmf=2)
    nmf = res.tracks[res.tracks["kind"] == "nmf"]
    assert sorted(nmf["track"].unique()) == [0, 1]
    cover = nmf.assign(d=nmf["end_s"] - nmf["start_s"]).groupby("track")["d"].sum()
    length = len(y) / SR
    # one component plays throughout (the drone), the other about half of the time (the bright part)
    assert cover.max() > 0.9 * length
    assert 0.3 * length < cover.min() < 0.7 * length
    assert nmf["label"].str.startswith("component ").all()
    assert all("component" in json.loads(p) for p in nmf["params"])
    with pytest.raises(ParameterError, match="at least 1"):
        st.nmf_tracks(st.mel_spectrogram(y, SR), res.bounds, SR, 0)


def _store_with_songs(root, songs):
    store = open_store(root / "store", create=True)
    for sid, (title, path, dur) in songs.items():
        store.write_part(SONGS, SONGS.part(song_id=sid), pd.DataFrame(
            {"song_id": [sid], "uri": [str(path)], "title": [title], "duration_s": [dur]}))
    return store


def test_table_round_trip_cli_resume_and_errors(tmp_path, capsys):
    y = song([lambda: note(DARK), lambda: note(BRIGHT, 440)], beats_per=2, n_rep=6)
    good = tmp_path / "good.wav"
    sf.write(good, y, SR)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    store = _store_with_songs(tmp_path, {"a" * 16: ("Good song", good, len(y) / SR),
                                         "b" * 16: ("Broken song", bad, 3.0)})
    rc = main(["tracks", "--store", str(store.root), "--beats", "1", "--nmf", "2", "-q"])
    out = capsys.readouterr()
    assert rc == 1
    assert "1 songs written" in out.out and "1 failed" in out.out
    assert "Broken song" in out.err and str(bad) in out.err  # the error names the file
    part = store.read_part(SOUND_TRACKS, SOUND_TRACKS.part(song_id="a" * 16))
    assert set(part["kind"]) == {"sound", "nmf"}
    assert part["track"].dtype == np.int64 and part["start_s"].dtype == np.float64
    assert (part["song_id"] == "a" * 16).all() and (part["fragment_beats"] == 1).all()
    assert not store.has_part(SOUND_TRACKS, SOUND_TRACKS.part(song_id="b" * 16))
    # the same values come back as written by the pure step
    again = st.song_tracks(read_span(str(good), 0, 1e9, sr=st.SR, mono=True)[0], st.SR, beats=1, nmf=2).tracks
    assert np.allclose(part["start_s"].to_numpy(), again["start_s"].to_numpy())
    assert list(part["label"]) == list(again["label"])
    # resume: the finished song is skipped, the broken one is tried again
    mtime = (store.root / "sound_tracks" / f"{'a' * 16}.parquet").stat().st_mtime_ns
    rc = main(["tracks", "--store", str(store.root), "--beats", "1", "--nmf", "2", "-q"])
    out = capsys.readouterr()
    assert rc == 1 and "0 songs written, 1 already done, 1 failed" in out.out
    assert (store.root / "sound_tracks" / f"{'a' * 16}.parquet").stat().st_mtime_ns == mtime
    # other options redo it; --songs by title
    rc = main(["tracks", "--store", str(store.root), "--beats", "2", "--songs", "Good song", "-q"])
    assert rc == 0 and "1 songs written" in capsys.readouterr().out
    part = store.read_part(SOUND_TRACKS, SOUND_TRACKS.part(song_id="a" * 16))
    assert set(part["kind"]) == {"sound"} and (part["fragment_beats"] == 2).all()
    # bad options: a clear error, nothing written
    assert main(["tracks", "--store", str(store.root), "--songs", "No such song", "-q"]) == 2
    assert "No such song" in capsys.readouterr().err
    assert main(["tracks", "--store", str(store.root), "--threshold", "-1", "-q"]) == 2
    assert "--threshold" in capsys.readouterr().err


def test_help_explains(capsys):
    with pytest.raises(SystemExit):
        main(["tracks", "--help"])
    text = capsys.readouterr().out
    for word in ("--beats", "--nmf", "--threshold", "just-noticeable", "resume"):
        assert word in text


def test_analyze_writes_sound_tracks_only_when_asked(tmp_path):
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze

    y = song([lambda: note(DARK), lambda: note(BRIGHT, 440)], beats_per=2, n_rep=6)
    folder = tmp_path / "songs"
    folder.mkdir()
    sf.write(folder / "two.wav", y, SR)
    base = AnalysisConfig(embed=False, cluster=False, structure_schemes=())
    off = open_store(tmp_path / "off", create=True)
    analyze([folder], off, base, progress=False)
    assert off.list_parts(SONGS) and not off.list_parts(SOUND_TRACKS)
    on = open_store(tmp_path / "on", create=True)
    cfg = base.replace(sound_tracks=True)
    assert cfg.config_hash() == base.config_hash()  # adds a table; the sections do not change
    analyze([folder], on, cfg, progress=False)
    (part,) = on.list_parts(SOUND_TRACKS)
    got = on.read_part(SOUND_TRACKS, part)
    assert set(got["kind"]) == {"sound"} and got["track"].nunique() == 2
    assert (got["fragment_beats"] == 2).all()
    # 'sectionist tracks' with the same defaults finds it done
    assert tracks_done(on) == {"done": 0, "skipped": 1}


def tracks_done(store):
    res = st.tracks_store(store, progress=False)
    return {"done": len(res["done"]), "skipped": len(res["skipped"])}
