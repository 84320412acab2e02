"""Tests of the demo corpus synthesiser (sectionist/analysis/corpus/demo.py and demoplan.py).

Besides format and determinism, these check by ear-free means that the songs are music with the
advertised properties: onsets on the 16th-note grid, the tempo recovered by librosa, and section
labels that are real properties of the audio (loud drops, quiet kick-free breaks, labels that a
plain k-means on classical features recovers).
"""

from __future__ import annotations

import json
import wave

import librosa
import numpy as np
import pytest

from sectionist.analysis.corpus.demo import make_corpus, synth_song
from sectionist.analysis.corpus.demoplan import LABELS, MIN_SECONDS, grid_step, song_structure
from sectionist.analysis.errors import ParameterError

SR = 22050


def _read_wav(path):
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2
        assert w.getcomptype() == "NONE"
        frames = w.readframes(w.getnframes())
        return np.frombuffer(frames, dtype="<i2"), w.getframerate(), w.getnchannels()


def _load(path):
    pcm, sr, _ = _read_wav(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    return pcm.astype(np.float32) / 32768.0, sr, meta


def _spans(meta, label):
    return [(s["start"], s["end"]) for s in meta["sections"] if s["label"] == label]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three 60-second songs (seed 0): every one has at least one drop and one break."""
    out = tmp_path_factory.mktemp("demo")
    return make_corpus(out, n_songs=3, seconds=60.0, seed=0, progress=False)


# ----------------------------------------------------------------------------- files and format


def test_files_and_sidecar_schema(corpus):
    assert [p.name for p in corpus] == ["song_00.wav", "song_01.wav", "song_02.wav"]
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in corpus[0].parent.iterdir()) == sorted(
        [p.name for p in corpus] + [p.with_suffix(".json").name for p in corpus])
    for path in corpus:
        pcm, sr, channels = _read_wav(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        assert sr == SR and channels == 1
        assert pcm.size == 60 * SR
        assert meta["duration_s"] == pytest.approx(pcm.size / sr)
        assert 117.5 <= meta["tempo_bpm"] <= 132.5
        assert isinstance(meta["tempo_bpm"], float)
        sections = meta["sections"]
        assert sections[0]["start"] == 0.0
        assert sections[-1]["end"] == pytest.approx(pcm.size / sr, abs=1e-6)
        step, _ = grid_step(round(meta["tempo_bpm"]), sr)
        for a, b in zip(sections, sections[1:]):
            assert a["end"] == b["start"]  # contiguous, no gaps or overlaps
            # boundaries on bar lines (16 steps of a whole number of samples)
            assert round(a["end"] * sr) % (16 * step) == 0
        for s in sections:
            assert set(s) == {"start", "end", "label"}
            assert s["label"] in LABELS
            assert s["end"] - s["start"] >= 4 * 60 / meta["tempo_bpm"] * 4 - 1e-6  # >= 4 bars


def test_levels_no_clipping_no_dc(corpus):
    for path in corpus:
        pcm, _, _ = _read_wav(path)
        peak = np.abs(pcm.astype(np.int32)).max()
        assert peak == pytest.approx(10 ** (-1 / 20) * 32767, abs=2)  # -1 dBFS, far from clipping
        assert abs(pcm.mean()) / 32768 < 1e-3


def test_deterministic_and_seed_dependent(corpus, tmp_path):
    again = make_corpus(tmp_path / "again", n_songs=3, seconds=60.0, seed=0, progress=False)
    for a, b in zip(corpus, again):
        assert a.read_bytes() == b.read_bytes()
        assert a.with_suffix(".json").read_bytes() == b.with_suffix(".json").read_bytes()
    # Song i depends on (seed, i) only: a smaller corpus holds the same first song.
    one = make_corpus(tmp_path / "one", n_songs=1, seconds=60.0, seed=0, progress=False)
    assert one[0].read_bytes() == corpus[0].read_bytes()
    other = make_corpus(tmp_path / "other", n_songs=1, seconds=60.0, seed=1, progress=False)
    assert other[0].read_bytes() != corpus[0].read_bytes()
    # Songs of one corpus differ from each other.
    assert corpus[0].read_bytes() != corpus[1].read_bytes()


def test_progress_bar(tmp_path, capsys):
    make_corpus(tmp_path, n_songs=1, seconds=20.0, seed=5, sample_rate=8000, progress=True)
    assert "demo songs" in capsys.readouterr().err


@pytest.mark.parametrize("seconds, sample_rate", [(20.0, 8000), (45.0, 16000), (33.3, 44100)])
def test_any_length_and_rate(seconds, sample_rate):
    y, info = synth_song(seconds, 125, sample_rate=sample_rate, rng=np.random.default_rng(7))
    assert y.dtype == np.float32 and y.size == round(seconds * sample_rate)
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0
    sec = info["sections"]
    assert sec[0]["start"] == 0.0 and sec[-1]["end"] == pytest.approx(y.size / sample_rate, abs=1e-6)
    assert all(a["end"] == b["start"] for a, b in zip(sec, sec[1:]))
    _, exact = grid_step(125, sample_rate)
    assert info["tempo_bpm"] == pytest.approx(exact, abs=1e-4)
    assert abs(exact - 125) < 0.1


@pytest.mark.parametrize("n_bars", [1, 5, 9, 16, 23, 31, 47, 64, 93, 99, 300])
def test_song_structure(n_bars):
    for seed in range(5):
        segs = song_structure(n_bars, rng=np.random.default_rng(seed))
        assert segs[0].start_bar == 0
        assert sum(s.n_bars for s in segs) == n_bars
        assert all(a.start_bar + a.n_bars == b.start_bar for a, b in zip(segs, segs[1:]))
        labels = [s.label for s in segs]
        assert set(labels) <= set(LABELS)
        if len(segs) >= 2:
            assert "drop" in labels and "break" in labels
        if n_bars >= 64:
            assert all(s.n_bars >= 8 for s in segs)  # long segments: mostly inside one section
        if len(segs) >= 5:
            assert labels[0] == "intro" and labels[-1] == "outro"
            assert labels[-2] != "build"  # a build always leads into a drop


def test_bad_parameters(tmp_path):
    with pytest.raises(ParameterError, match="seconds=10.0"):
        make_corpus(tmp_path, n_songs=1, seconds=10.0)
    with pytest.raises(ParameterError, match="n_songs=0"):
        make_corpus(tmp_path, n_songs=0)
    with pytest.raises(ParameterError, match="seed=-1"):
        make_corpus(tmp_path, seed=-1)
    with pytest.raises(ParameterError, match="sample_rate=4000"):
        make_corpus(tmp_path, sample_rate=4000)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="not a folder"):
        make_corpus(blocker, n_songs=1, seconds=MIN_SECONDS)
    with pytest.raises(ParameterError, match="seconds=nan"):
        synth_song(float("nan"), 120, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- ear-free musicality


def _grid_residuals(onsets, tempo):
    """Signed distance (s) of each onset to the nearest 16th-note grid position of ``tempo``."""
    step = 60.0 / tempo / 4
    return (onsets / step - np.round(onsets / step)) * step


def test_onsets_on_the_beat_grid(corpus):
    for path in corpus:
        y, sr, meta = _load(path)
        onsets = librosa.onset.onset_detect(y=y, sr=sr, hop_length=256, units="time")
        assert onsets.size > 100
        res = _grid_residuals(onsets, meta["tempo_bpm"])
        # The detector reports onsets a little late (peak of the onset envelope): a constant
        # latency of a frame or so, the same for every onset.
        latency = np.median(res)
        assert 0.0 <= latency < 0.04
        assert np.mean(np.abs(res) < 0.05) >= 0.8
        assert np.mean(np.abs(res - latency) < 0.025) >= 0.9
        # Control: the same onsets do not fit a grid 3 % off the true tempo.
        wrong = _grid_residuals(onsets, meta["tempo_bpm"] * 1.03)
        assert np.mean(np.abs(wrong - np.median(wrong)) < 0.025) < 0.7


def test_tempo_recovered(corpus):
    for path in corpus:
        y, sr, meta = _load(path)
        true = meta["tempo_bpm"]
        # hop 256: librosa's tempo is quantised to whole autocorrelation lags (about 1.5 BPM
        # apart here at hop 256, 3 BPM at the default hop 512).
        tempo = librosa.feature.tempo(y=y, sr=sr, hop_length=256)[0]
        assert abs(tempo - true) <= 2.0
        tempo_bt, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=256, units="time")
        assert abs(float(np.atleast_1d(tempo_bt)[0]) - true) <= 2.0
        # Where the kick plays, the beat times give the tempo without lag quantisation: a line
        # fitted to them has the true period.
        fits = 0
        for sec in meta["sections"]:
            if sec["label"] in ("intro", "drop", "outro"):
                inside = beats[(beats > sec["start"] + 0.5) & (beats < sec["end"] - 0.5)]
                if inside.size >= 8:
                    period = np.polyfit(np.arange(inside.size), inside, 1)[0]
                    assert abs(60.0 / period - true) <= 0.3
                    fits += 1
        assert fits >= 1


def test_labels_are_audible(corpus):
    """Drops are louder than breaks, and breaks have no kick (no low-frequency onsets)."""
    n_fft, hop = 2048, 512
    for path in corpus:
        y, sr, meta = _load(path)
        S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
        freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
        low = S[(freqs >= 30) & (freqs <= 120)].sum(axis=0)
        low_flux = np.maximum(0.0, np.diff(low, prepend=low[0]))
        rms = librosa.feature.rms(S=S, frame_length=n_fft)[0]
        times = librosa.frames_to_time(np.arange(S.shape[1]), sr=sr, hop_length=hop)

        def frames(label):
            spans = _spans(meta, label)
            # stay 0.5 s clear of the boundaries
            return np.any([(times >= a + 0.5) & (times <= b - 0.5) for a, b in spans], axis=0)

        drop, brk = frames("drop"), frames("break")
        assert drop.any() and brk.any(), meta["sections"]
        assert np.median(rms[drop]) > 2.0 * np.median(rms[brk])
        assert low_flux[brk].mean() < 0.05 * low_flux[drop].mean()
        # the kick's low-frequency onsets in drops are periodic at the beat
        kick_frames = librosa.util.peak_pick(low_flux * drop, pre_max=3, post_max=3, pre_avg=3,
                                             post_avg=5, delta=0.3 * low_flux[drop].max(), wait=5)
        gaps = np.diff(times[kick_frames])
        gaps = gaps[gaps < 1.0]
        assert np.median(gaps) == pytest.approx(60.0 / meta["tempo_bpm"], abs=0.03)


def test_sections_recoverable_by_clustering(tmp_path):
    """k-means on classical features of 15 s sections recovers the labels (ARI >= 0.6)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    paths = make_corpus(tmp_path, n_songs=4, seconds=90.0, seed=0, progress=False)
    X, labels = [], []
    for path in paths:
        y, sr, meta = _load(path)
        width = 15 * sr
        for k in range(y.size // width):
            seg = y[k * width:(k + 1) * width]
            S = np.abs(librosa.stft(seg))
            feats = [np.median(librosa.feature.rms(S=S)),
                     np.median(librosa.feature.zero_crossing_rate(seg)),
                     np.median(librosa.feature.spectral_centroid(S=S, sr=sr))]
            feats += list(np.median(librosa.feature.mfcc(y=seg, sr=sr, n_mfcc=13), axis=1))
            X.append(feats)
            a, b = k * 15.0, (k + 1) * 15.0
            overlap = {}
            for s in meta["sections"]:
                overlap[s["label"]] = overlap.get(s["label"], 0.0) + max(0.0, min(b, s["end"]) - max(a, s["start"]))
            labels.append(max(overlap, key=overlap.get))
    assert len(set(labels)) >= 4
    Z = StandardScaler().fit_transform(np.asarray(X))
    pred = KMeans(n_clusters=len(set(labels)), n_init=10, random_state=0).fit_predict(Z)
    assert adjusted_rand_score(labels, pred) >= 0.6
