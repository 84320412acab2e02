"""Section audio streamed from songs on S3 with ranged GETs (moto's S3 server on loopback)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from s3_fixtures import moto_endpoint, s3  # noqa: F401  (fixtures)

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.store import open_store
from sectionist.store.s3 import S3RangeFile, make_client, open_uri

SR = 22050
SECONDS = 60


@pytest.fixture
def song(s3):
    """A 60 s stereo 16-bit tone sweep uploaded as WAV and FLAC.

    Returns ``{format: (samples as decoded from the whole local file, key, size)}``.
    """
    rng = np.random.default_rng(0)
    t = np.arange(SR * SECONDS) / SR
    left = 0.4 * np.sin(2 * np.pi * (220 + 3 * t) * t)
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.01 * rng.standard_normal(t.size)
    y = np.stack([left, right], axis=1)
    out = {}
    for fmt in ("WAV", "FLAC"):
        buf = io.BytesIO()
        sf.write(buf, y, SR, format=fmt, subtype="PCM_16")
        key = f"songs/sweep.{fmt.lower()}"
        s3.client.put_object(Bucket=s3.bucket, Key=key, Body=buf.getvalue())
        samples = sf.read(io.BytesIO(buf.getvalue()), dtype="float32")[0]
        out[fmt] = (samples, key, len(buf.getvalue()))
    return out


def _read_section(fh, start_s, seconds):
    with sf.SoundFile(fh) as snd:
        assert snd.samplerate == SR and snd.channels == 2 and snd.frames == SR * SECONDS
        snd.seek(int(start_s * SR))
        return snd.read(int(seconds * SR), dtype="float32")


def test_wav_section_reads_only_its_span(s3, song):
    samples, key, size = song["WAV"]
    fh = S3RangeFile(s3.bucket, key, make_client(s3.endpoint), readahead=16 * 1024)
    section = _read_section(fh, 30.0, 1.0)
    np.testing.assert_array_equal(section, samples[30 * SR:31 * SR])
    span = SR * 2 * 2  # one second, two channels, two bytes
    # the header, the span and at most as much again read ahead — not the 5 MB file
    assert fh.bytes_fetched <= 2 * span + 2 * 16 * 1024
    assert fh.bytes_fetched < size / 20
    assert fh.requests <= 5  # HEAD, header, then a growing read-ahead


def test_flac_section_reads_a_bounded_part(s3, song):
    samples, key, size = song["FLAC"]
    fh = open_uri(f"s3://{s3.bucket}/{key}", endpoint_url=s3.endpoint, readahead=32 * 1024)
    section = _read_section(fh, 45.0, 2.0)
    np.testing.assert_array_equal(section, samples[45 * SR:47 * SR])
    # FLAC seeks by bisection over frames: more requests, still a small share of the file
    assert fh.bytes_fetched < size / 4, (fh.bytes_fetched, size)


def test_range_file_semantics(s3):
    data = bytes(range(256)) * 100
    s3.client.put_object(Bucket=s3.bucket, Key="blob", Body=data)
    fh = S3RangeFile(s3.bucket, "blob", make_client(s3.endpoint), readahead=1000)
    assert fh.size == len(data) and fh.seekable() and fh.readable()
    assert fh.read(10) == data[:10]
    assert fh.read(5) == data[10:15]
    assert fh.requests == 2  # HEAD + one GET; the second read came from the read-ahead buffer
    assert fh.seek(-7, io.SEEK_END) == len(data) - 7
    assert fh.read(100) == data[-7:]
    assert fh.read(1) == b""
    fh.seek(5000)
    assert fh.read(3000) == data[5000:8000]  # one GET for more than the read-ahead
    fh.seek(100, io.SEEK_SET)
    fh.seek(50, io.SEEK_CUR)
    assert fh.tell() == 150 and fh.read(2) == data[150:152]
    with pytest.raises(ValueError, match="negative"):
        fh.seek(-1)
    fh.close()
    with pytest.raises(ValueError, match="closed"):
        fh.read(1)
    with pytest.raises(ParameterError, match="readahead"):
        S3RangeFile(s3.bucket, "blob", make_client(s3.endpoint), readahead=0)


def test_missing_song_is_a_clear_error(s3):
    with pytest.raises(StoreError, match="not found"):
        open_uri(f"s3://{s3.bucket}/songs/none.wav")
    with pytest.raises(StoreError, match="no object key"):
        open_uri(f"s3://{s3.bucket}")


def test_store_read_range(s3):
    store = open_store(s3.uri())
    store.write_bytes("blob.bin", bytes(range(200)))
    assert store.read_range("blob.bin", 10, 5) == bytes(range(10, 15))
    assert store.read_range("blob.bin", 195, 50) == bytes(range(195, 200))
    assert store.read_range("blob.bin", 500, 10) == b""
    assert store.read_range("blob.bin", 0, 0) == b""
    with pytest.raises(ParameterError):
        store.read_range("blob.bin", -1, 3)
    fh = open_uri(f"{store.uri}/blob.bin")
    assert fh.read() == bytes(range(200))


def test_read_span_on_an_s3_uri_is_the_one_span_reader(s3, song):
    """sectionist.analysis.corpus.audio.read_span: the reader the audio routes use, on s3:// with the store's client."""
    from sectionist.analysis.corpus.audio import read_span

    samples, key, _ = song["WAV"]
    uri = f"s3://{s3.bucket}/{key}"
    y, sr = read_span(uri, 30.0, 31.0, client=make_client(s3.endpoint))
    assert sr == SR and y.shape == (SR, 2)
    np.testing.assert_array_equal(y, samples[30 * SR:31 * SR])
    mono, _ = read_span(uri, 30.0, 31.0, mono=True, endpoint_url=s3.endpoint)
    np.testing.assert_allclose(mono, samples[30 * SR:31 * SR].mean(axis=1), atol=1e-6)
    capped, _ = read_span(uri, 10.0, 50.0, max_seconds=0.5, endpoint_url=s3.endpoint)
    assert capped.shape == (SR // 2, 2)
    with pytest.raises(StoreError, match="not found"):
        read_span(f"s3://{s3.bucket}/songs/none.wav", 0, 1, endpoint_url=s3.endpoint)
