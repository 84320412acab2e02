"""Audio input: every format, channel counts, sample rates, and each kind of bad file."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from sectionist.analysis.corpus.audio import load_audio, probe, read_span
from sectionist.analysis.errors import AudioError
from tests.conftest import tone, write_audio

FORMATS = [
    ("wav", dict(format="WAV", subtype="PCM_16"), 44100),
    ("flac", dict(format="FLAC", subtype="PCM_24"), 44100),
    ("ogg", dict(format="OGG", subtype="VORBIS"), 44100),
    ("opus", dict(format="OGG", subtype="OPUS"), 48000),
    ("mp3", dict(format="MP3", subtype="MPEG_LAYER_III"), 44100),
]


def dominant_freq(y, sr):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spec)]


@pytest.mark.parametrize("ext,kw,sr", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_decodes_to_mono_at_analysis_rate(tmp_path, ext, kw, sr):
    path = write_audio(tmp_path / f"a.{ext}", tone(440, 3.0, sr, channels=2), sr, **kw)
    y, out_sr = load_audio(path, 22050)
    assert out_sr == 22050
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) / 22050 - 3.0) < 0.08  # lossy codecs add a little padding
    assert abs(dominant_freq(y, 22050) - 440) < 3
    assert 0.3 < np.max(np.abs(y)) < 0.7


@pytest.mark.parametrize("sr", [8000, 11025, 32000, 96000, 192000])
def test_odd_sample_rates_are_resampled(tmp_path, sr):
    path = write_audio(tmp_path / "a.wav", tone(1000, 2.0, sr), sr, subtype="FLOAT")
    y, out_sr = load_audio(path, 22050)
    assert out_sr == 22050
    assert abs(len(y) - 2.0 * 22050) <= 2
    assert abs(dominant_freq(y, 22050) - 1000) < 2


def test_configurable_rate_and_native_rate(tmp_path):
    path = write_audio(tmp_path / "a.wav", tone(440, 1.0, 48000), 48000)
    assert load_audio(path, 44100)[0].size == pytest.approx(44100, abs=2)
    y, sr = load_audio(path, None)
    assert sr == 48000 and y.size == 48000


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_downmixed_by_averaging(tmp_path, channels):
    sr = 22050
    y = np.zeros((sr, channels), np.float32)
    y[:, 0] = tone(440, 1.0, sr)
    y[:, -1] = tone(440, 1.0, sr)
    path = write_audio(tmp_path / "m.wav", y, sr, subtype="FLOAT")
    mono, _ = load_audio(path, sr)
    np.testing.assert_allclose(mono, 2 * tone(440, 1.0, sr) / channels, atol=1e-6)


def test_unreadable_file(tmp_path):
    p = tmp_path / "junk.wav"
    p.write_bytes(b"this is not audio" * 100)
    with pytest.raises(AudioError, match="unreadable or unsupported") as exc:
        load_audio(p)
    assert str(p) in str(exc.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.flac"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(p)


def test_header_only_wav_is_empty(tmp_path):
    p = write_audio(tmp_path / "h.wav", np.zeros(0, np.float32), 22050)
    with pytest.raises(AudioError, match="empty"):
        load_audio(p)


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3"])
def test_truncated_file(tmp_path, ext):
    full = write_audio(tmp_path / f"full.{ext}", tone(440, 4.0, 44100), 44100)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated|corrupt") as exc:
        load_audio(cut)
    assert str(cut) in str(exc.value)


def test_silent_file(tmp_path):
    p = write_audio(tmp_path / "s.wav", np.zeros(22050 * 3, np.float32), 22050)
    with pytest.raises(AudioError, match="silent"):
        load_audio(p)


def test_too_short_file(tmp_path):
    p = write_audio(tmp_path / "short.wav", tone(440, 0.4, 22050), 22050)
    with pytest.raises(AudioError, match=r"too short: 0\.40 s"):
        load_audio(p, min_seconds=1.0)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        probe(tmp_path / "nope.wav")


def test_fallback_decoder_reads_what_libsndfile_cannot(tmp_path):
    # ffmpeg comes from Debian (scripts/install-system-deps.sh, run by `make test`)
    assert shutil.which("ffmpeg"), "ffmpeg missing: run `make system`"
    src = write_audio(tmp_path / "src.wav", tone(440, 2.0, 44100), 44100)
    m4a = tmp_path / "a.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-c:a", "aac", str(m4a)], check=True)
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(m4a))
    y, sr = load_audio(m4a, 22050)
    assert abs(len(y) / sr - 2.0) < 0.1
    assert abs(dominant_freq(y, sr) - 440) < 3


def test_read_span_reads_only_that_span(tmp_path):
    sr = 8000
    y = np.arange(sr * 10, dtype=np.float32) / (sr * 10)
    p = write_audio(tmp_path / "ramp.wav", y, sr, subtype="FLOAT")
    span, out_sr = read_span(p, 2.0, 3.5)
    assert out_sr == sr and span.shape == (int(1.5 * sr), 1)
    np.testing.assert_allclose(span[:, 0], y[2 * sr: int(3.5 * sr)])


def test_read_span_options_and_errors(tmp_path):
    sr = 8000
    t = np.arange(sr * 4) / sr
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 440 * t)], axis=1)
    p = write_audio(tmp_path / "stereo.wav", stereo.astype(np.float32), sr, subtype="FLOAT")
    y, out_sr = read_span(str(p), 1.0, 2.0)
    assert out_sr == sr and y.shape == (sr, 2)
    mono, _ = read_span(p, 1.0, 2.0, mono=True)
    assert mono.shape == (sr,)
    np.testing.assert_allclose(mono, stereo[sr:2 * sr].mean(axis=1), atol=1e-6)
    res, res_sr = read_span(p, 1.0, 2.0, sr=16000, mono=True)
    assert res_sr == 16000 and abs(len(res) - 16000) <= 2 and res.dtype == np.float32
    capped, _ = read_span(p, 0.0, 4.0, max_seconds=0.5)
    assert len(capped) == sr // 2
    past_end, _ = read_span(p, 3.5, 9.0)
    assert len(past_end) == sr // 2  # clipped to the file
    with open(p, "rb") as fh:  # an open binary file object
        from_fh, _ = read_span(fh, 1.0, 2.0)
    np.testing.assert_array_equal(from_fh, y)
    with pytest.raises(AudioError, match="missing"):
        read_span(tmp_path / "nope.wav", 0, 1)
    with pytest.raises(AudioError, match="unsupported song URI scheme"):
        read_span("http://example.invalid/a.wav", 0, 1)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_read_span_of_a_format_libsndfile_cannot_open(tmp_path):
    sr = 22050
    t = np.arange(sr * 3) / sr
    src = write_audio(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    m4a = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-c:a", "aac", str(m4a)], check=True)
    y, out_sr = read_span(m4a, 1.0, 2.0, mono=True)
    assert abs(len(y) / out_sr - 1.0) < 0.05
    assert abs(dominant_freq(y, out_sr) - 440) < 5
