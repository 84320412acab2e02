"""Sectioning schemes and the reference study's central-section rule."""

import librosa
import numpy as np
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.timbre import novelty_boundaries
from sectionist.analysis.sections.sectioning import SCHEMES, beat_sections, fixed_sections, make_sections, novelty_sections, select_central
from tests.conftest import click_track


@pytest.mark.parametrize(
    "duration,expected",
    [
        (45.0, [(0, 15), (15, 30), (30, 45)]),
        (40.0, [(0, 15), (15, 30), (30, 40)]),  # 10 s rest > 7.5 s: kept
        (37.5, [(0, 15), (15, 30)]),  # exactly half: dropped
        (35.0, [(0, 15), (15, 30)]),  # 5 s rest: dropped
        (10.0, [(0, 10)]),
        (7.0, []),
    ],
)
def test_fixed_keeps_last_partial_only_if_longer_than_half(duration, expected):
    np.testing.assert_allclose(fixed_sections(duration, section_seconds=15.0).reshape(-1, 2),
                               np.array(expected, float).reshape(-1, 2))


def test_fixed_section_length_is_configurable():
    b = fixed_sections(20.0, section_seconds=5.0)
    np.testing.assert_allclose(b[:, 0], [0, 5, 10, 15])
    with pytest.raises(ParameterError, match="section_seconds"):
        fixed_sections(20.0, section_seconds=0)


def test_beats_groups_n_beats():
    beats = np.arange(0.5, 20.0, 0.5)  # 39 beats at 120 BPM
    b = beat_sections(20.0, beat_times=beats, beats_per_section=4)
    assert len(b) == 10  # 9 full groups + a last group of 3 beats (> half of 4)
    np.testing.assert_allclose(b[:9, 0], beats[0:36:4])
    np.testing.assert_allclose(np.diff(b[:9], axis=1).ravel(), 2.0)
    np.testing.assert_allclose(b[-1], [18.5, 20.0])


@pytest.mark.parametrize("n", [1, 2])
def test_beats_short_fragments(n):
    beats = np.arange(0.5, 10.0, 0.5)
    b = beat_sections(10.0, beat_times=beats, beats_per_section=n)
    rest = len(beats) % n  # a last group is kept only with more than half the beats
    assert len(b) == len(beats) // n + (1 if rest > n / 2 else 0)
    np.testing.assert_allclose(b[0], [0.5, 0.5 + 0.5 * n])


def test_beats_scheme_on_tracked_beats():
    sr = 22050
    y = click_track(bpm=120, seconds=20.0, sr=sr)
    _, frames = librosa.beat.beat_track(y=y, sr=sr)
    times = librosa.frames_to_time(frames, sr=sr)
    df = make_sections("abc", 20.0, "beats", beat_times=times, beats_per_section=4)
    lengths = (df["end_s"] - df["start_s"]).to_numpy()[:-1]
    np.testing.assert_allclose(lengths, 2.0, atol=0.05)  # 4 beats at 120 BPM
    assert list(df.columns) == ["section_id", "song_id", "scheme", "index", "start_s", "end_s"]
    assert df["section_id"].iloc[1] == "abc-00001"


def test_registry_and_unknown_scheme():
    assert {"fixed", "beats", "novelty"} <= set(SCHEMES)
    with pytest.raises(ParameterError, match="unknown sectioning scheme 'nope'"):
        make_sections("x", 10.0, "nope")


def test_central_rule_on_hand_made_table():
    # rms_norm = [0, .5, .25, 1, .5]; centroid_norm = [0, .375, .375, 1, 0]
    # ratio = [0/0, .75, 1.5, 1.0, 0.0] → 4 finite → keep floor(0.6 · 4) = 2: sections 2 and 3
    rms = [0.1, 0.5, 0.3, 0.9, 0.5]
    centroid = [100, 400, 400, 900, 100]
    central, rank = select_central(rms, centroid)
    assert central.tolist() == [False, False, True, True, False]
    assert rank.tolist() == [-1, 3, 1, 2, 4]


def test_central_rule_infinite_ratio_is_kept():
    # section 0: lowest RMS (norm 0) but non-zero centroid norm → ratio inf, ranked first
    rms = [0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 0.3]
    centroid = [500, 100, 300, 200, 900, 400, 800]
    central, rank = select_central(rms, centroid, fraction=0.6)
    assert rank[0] == 1 and central[0]
    # 6 finite ratios → floor(3.6) = 3 central sections, the infinite one among them
    assert central.sum() == 3
    ratio = ((np.array(centroid) - 100) / 800) / ((np.array(rms) - 0.1) / 0.9)
    expected = set(np.argsort(-np.nan_to_num(ratio, posinf=np.inf))[:3])
    assert set(np.flatnonzero(central)) == expected


def test_central_rule_fraction_and_energy_rule():
    rms = np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    centroid = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    central, rank = select_central(rms, centroid, rule="energy", fraction=0.4)
    assert central.tolist() == [False, False, True, False, True]
    assert rank.tolist() == [3, 5, 1, 4, 2]
    central, _ = select_central(rms, centroid, fraction=1.0)
    assert central.sum() == 4  # 0/0-free, but the min-RMS section's inf counts as not finite
    with pytest.raises(ParameterError):
        select_central(rms, centroid, rule="loudest")


def test_central_rule_constant_song_ranks_nothing():
    central, rank = select_central([0.2, 0.2, 0.2], [300, 300, 300])
    assert not central.any() and (rank == -1).all()


def test_novelty_sections_respect_the_minimum_length():
    b = novelty_sections(60.0, boundaries_s=np.array([3.0, 20.0, 24.0, 45.0, 57.0]), min_section_seconds=8.0)
    # 3 s (too close to the start), 24 s (too close to 20 s) and 57 s (too close to the end) are dropped
    np.testing.assert_allclose(b, [[0, 20], [20, 45], [45, 60]])
    np.testing.assert_allclose(novelty_sections(5.0, boundaries_s=np.array([2.0])), [[0, 5]])


def test_novelty_finds_timbre_changes():
    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(sr * 20) / sr
    y = np.concatenate([
        0.3 * np.sin(2 * np.pi * 220 * t),  # 0–20 s: a low tone
        0.1 * rng.standard_normal(sr * 25),  # 20–45 s: noise
        0.3 * np.sign(np.sin(2 * np.pi * 440 * t[: sr * 15])),  # 45–60 s: a square wave
    ]).astype(np.float32)
    b = novelty_boundaries(y, sr, min_section_seconds=8.0)
    assert len(b) == 2
    np.testing.assert_allclose(b, [20.0, 45.0], atol=1.0)


def test_novelty_recovers_the_demo_songs_structure(demo_corpus):
    import json

    from sectionist.analysis.corpus.audio import load_audio

    _, paths = demo_corpus
    for path in paths:
        y, sr = load_audio(path, 22050)
        found = novelty_boundaries(y, sr)
        truth = [s["start"] for s in json.loads(path.with_suffix(".json").read_text())["sections"]][1:]
        # every change of section label in the ground truth is found within a second
        assert all(np.min(np.abs(found - t)) < 1.0 for t in truth), (found, truth)
