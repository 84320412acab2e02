"""Classical features agree with librosa's own functions called on each section alone.

Tolerance: relative 1e-4 and absolute 1e-3 (MFCCs are in dB, tens to hundreds; the rest are
float32 values computed in a different order).
"""

import librosa
import numpy as np
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.features import CLASSICAL, CLASSICAL17, FEATURE_NAMES, FEATURE_SETS, FeatureParams, feature_columns, reference_features, section_features
from sectionist.analysis.sections.spectrum import SongSpectrum, onset_envelope, song_tempo
from tests.conftest import click_track, tone

RTOL, ATOL = 1e-4, 1e-3
SR = 22050


@pytest.fixture(scope="module")
def song():
    rng = np.random.default_rng(7)
    n = SR * 34
    t = np.arange(n) / SR
    y = 0.3 * np.sin(2 * np.pi * 330 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
    y += 0.05 * rng.standard_normal(n)
    y[SR * 15: SR * 30] += 0.3 * np.sign(np.sin(2 * np.pi * 110 * t[SR * 15: SR * 30]))  # a brighter middle
    y += click_track(bpm=128, seconds=34.0, sr=SR)
    return y.astype(np.float32)


def test_feature_parity_with_librosa_per_section(song):
    p = FeatureParams(sr=SR)
    bounds = np.array([[0, 15 * SR], [15 * SR, 30 * SR], [30 * SR, len(song)]])
    df = section_features(song, bounds, p)
    assert len(df) == 3
    for k, (s, e) in enumerate(bounds):
        ref = reference_features(song[s:e], p)  # one librosa call per feature, on the section alone
        assert set(ref) == {f"{n}_{st}" for n in FEATURE_NAMES for st in ("median", "mean", "std")}
        for col, value in ref.items():
            np.testing.assert_allclose(df.loc[k, col], value, rtol=RTOL, atol=ATOL, err_msg=f"section {k}: {col}")


def test_batching_does_not_change_values(song):
    p = FeatureParams(sr=SR)
    bounds = np.array([[i * SR, (i + 2) * SR] for i in range(0, 30, 2)])
    one_block = section_features(song, bounds, p, block_frames=10**9)
    many_blocks = section_features(song, bounds, p, block_frames=50)
    np.testing.assert_allclose(one_block.to_numpy(), many_blocks.to_numpy(), rtol=1e-5, atol=1e-5)


def test_analytic_values_of_a_pure_tone():
    y = tone(440.0, 6.0, SR, amp=0.5)
    df = section_features(y, np.array([[0, len(y)]]), FeatureParams(sr=SR))
    assert df.loc[0, "spectral_centroid_median"] == pytest.approx(440, abs=15)
    assert df.loc[0, "rms_median"] == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
    assert df.loc[0, "amplitude_envelope_median"] == pytest.approx(0.5, rel=1e-3)
    assert df.loc[0, "zero_crossing_rate_median"] == pytest.approx(2 * 440 / SR, rel=0.02)
    # A is the 10th pitch class (C=1): the chroma maximum
    chroma = [df.loc[0, f"chroma{i}_median"] for i in range(1, 13)]
    assert int(np.argmax(chroma)) == 9


def test_short_sections_get_features():
    y = tone(440.0, 2.0, SR)
    df = section_features(y, np.array([[0, SR // 4], [SR // 4, SR]]), FeatureParams(sr=SR))
    assert np.isfinite(df.to_numpy()).all()


def test_feature_sets():
    assert len(CLASSICAL17) == 17
    assert CLASSICAL17[:4] == ["amplitude_envelope_median", "rms_median", "zero_crossing_rate_median",
                              "spectral_centroid_median"]
    assert CLASSICAL17[-1] == "mfcc13_median"
    assert set(CLASSICAL17) < set(CLASSICAL) and "tempo_bpm" in CLASSICAL
    assert len(CLASSICAL) == 3 * len(FEATURE_NAMES) + 1
    assert feature_columns("classical17") == FEATURE_SETS["classical17"]
    with pytest.raises(ParameterError, match="unknown feature set"):
        feature_columns("nope")


def test_tempo_from_chunked_onset_envelope():
    y = click_track(bpm=125, seconds=40.0, sr=SR)
    env = onset_envelope(y, SR, 512, chunk_seconds=10.0)
    whole = librosa.onset.onset_strength(y=y, sr=SR, hop_length=512)
    assert env.shape == whole.shape
    assert np.corrcoef(env, whole)[0, 1] > 0.99
    assert song_tempo(env, SR) == pytest.approx(125, abs=2)


@pytest.mark.parametrize("extra", [0, 1, 123, 511])
def test_song_spectrum_equals_the_separate_computations(song, extra):
    """The shared front end gives exactly what each librosa call on the samples gives."""
    y = np.concatenate([song, song[:extra]])
    sp = SongSpectrum(y, SR, 512)
    assert np.array_equal(sp.power, librosa.feature.melspectrogram(y=y, sr=SR, hop_length=512))
    assert np.array_equal(sp.mfcc(20), librosa.feature.mfcc(y=y, sr=SR, hop_length=512, n_mfcc=20))
    assert np.array_equal(sp.mfcc(13), librosa.feature.mfcc(y=y, sr=SR, hop_length=512, n_mfcc=13))
    _, beats = librosa.beat.beat_track(y=y, sr=SR, hop_length=512, trim=False)
    assert np.array_equal(sp.beat_frames(), beats)


def test_song_spectrum_of_another_song_is_refused(song):
    from sectionist.analysis.structure.beats import beat_features
    from sectionist.analysis.structure.laplacian import laplacian_structure

    sp = SongSpectrum(song, SR, 512)
    assert sp.matches(song, SR, 512)
    with pytest.raises(ParameterError, match="spectrum"):
        beat_features(song.copy(), SR, spectrum=sp)
    with pytest.raises(ParameterError, match="spectrum"):
        beat_features(song, SR, hop_length=256, spectrum=sp)
    with pytest.raises(ParameterError, match="spectrum"):
        laplacian_structure(song, 44100, spectrum=sp)


@pytest.mark.parametrize("bins_per_octave, n_bins", [(12, 84), (36, 252)])
def test_cqt_with_kept_filter_banks_equals_librosa(song, bins_per_octave, n_bins, monkeypatch):
    """The filter banks kept between calls change nothing: equal, bit for bit, to librosa's own cqt
    with its banks built afresh, on the first call (cache filled) and on later calls (cache read),
    also for a second song after the first (the banks are rescaled in place inside librosa)."""
    from librosa.core import constantq

    from sectionist.analysis.sections import spectrum

    spectrum.cqt(song[:SR], SR, bins_per_octave=bins_per_octave, n_bins=n_bins)  # installs the cache
    cached_fn = getattr(constantq, "__vqt_filter_fft")
    assert hasattr(cached_fn, "sectionist_original")
    spectrum._CQT_FILTERS.clear()
    first = spectrum.cqt(song, SR, bins_per_octave=bins_per_octave, n_bins=n_bins)
    assert spectrum._CQT_FILTERS  # filled
    other = spectrum.cqt(song[::-1].copy(), SR, bins_per_octave=bins_per_octave, n_bins=n_bins)
    again = spectrum.cqt(song, SR, bins_per_octave=bins_per_octave, n_bins=n_bins)
    monkeypatch.setattr(constantq, "__vqt_filter_fft", cached_fn.sectionist_original)
    kw = dict(sr=SR, hop_length=512, bins_per_octave=bins_per_octave, n_bins=n_bins)
    reference = librosa.cqt(y=song, **kw)
    assert np.array_equal(first, reference) and np.array_equal(again, reference)
    assert np.array_equal(other, librosa.cqt(y=song[::-1].copy(), **kw))


def test_long_songs_get_their_spectrograms_over_chunks(monkeypatch):
    """Past LONG_SONG_SECONDS the mel spectrogram and the CQT are computed over chunks (bounded
    transient memory) and equal the whole-song transforms up to float rounding, seams included;
    a transform that trims its last frame is trimmed the same."""
    from sectionist.analysis.sections import spectrum

    monkeypatch.setattr(spectrum, "LONG_SONG_SECONDS", 20.0)
    monkeypatch.setattr(spectrum, "CHUNK_SECONDS", 7.0)
    sr = 8000
    rng = np.random.default_rng(3)
    t = np.arange(int(sr * 47.3)) / sr
    y = (0.3 * np.sin(2 * np.pi * (110 + 20 * t) * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    calls = []

    def mel(seg):
        calls.append(len(seg))
        return librosa.feature.melspectrogram(y=seg, sr=sr, hop_length=256)

    chunked = spectrum.chunked_frames(mel, y, sr, 256, margin_s=2048 / sr)
    assert len(calls) == 7  # 47.3 s in 7 s chunks
    whole = librosa.feature.melspectrogram(y=y, sr=sr, hop_length=256)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, rtol=1e-4, atol=1e-6 * whole.max())
    C = spectrum.cqt(y, sr, hop_length=256, bins_per_octave=36, n_bins=6 * 36, magnitude=True)
    ref = np.abs(librosa.cqt(y=y, sr=sr, hop_length=256, bins_per_octave=36, n_bins=6 * 36))
    assert C.shape == ref.shape and C.dtype == ref.dtype
    np.testing.assert_allclose(C, ref, rtol=1e-3, atol=1e-4 * ref.max())
    trimmed = spectrum.chunked_frames(lambda seg: mel(seg)[:, :-1], y, sr, 256, margin_s=2048 / sr)
    assert trimmed.shape[1] == whole.shape[1] - 1
    short = y[: sr * 15]  # under LONG_SONG_SECONDS: one call, librosa's own result
    assert np.array_equal(spectrum._mel_power(short, sr, 256), librosa.feature.melspectrogram(y=short, sr=sr, hop_length=256))


def test_long_song_beats_come_from_the_chunked_tempo_seed(song, monkeypatch):
    """A long song's beat tracker gets its tempo from tempo_seed (tempogram averaged over chunks):
    the estimate librosa makes itself, so the same beats."""
    from sectionist.analysis.sections import spectrum

    env = librosa.onset.onset_strength(y=song, sr=SR, hop_length=512)
    monkeypatch.setattr(spectrum, "CHUNK_SECONDS", 9.0)  # 34 s of envelope in 4 chunks
    assert spectrum.tempo_seed(env, SR, 512) == librosa.feature.tempo(onset_envelope=env, sr=SR, hop_length=512)[0]
    monkeypatch.setattr(spectrum, "LONG_SONG_SECONDS", 20.0)
    sp = SongSpectrum(song, SR, 512)
    _, beats = librosa.beat.beat_track(y=song, sr=SR, hop_length=512, trim=False)
    assert np.array_equal(sp.beat_frames(), beats)
