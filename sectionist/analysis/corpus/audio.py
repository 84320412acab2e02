"""Decoding, downmixing and resampling audio, with clear per-file errors.

soundfile (libsndfile) reads WAV, FLAC, OGG/Vorbis, Opus and MP3; anything it cannot open is tried
with audioread (ffmpeg / GStreamer backends) before giving up. Audio is read in blocks, mixed
down to mono and resampled with soxr's streaming resampler into one preallocated float32 array,
so a two-hour file costs about its mono float32 size at the analysis rate and no more.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from sectionist.analysis.errors import AudioError

#: Extensions picked up when a folder is given to ``sectionist analyze``.
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".m4a", ".aac", ".wma"}
MIN_RATE, MAX_RATE = 8000, 192000
SILENCE = 1e-5  # peak below about −100 dBFS counts as silent
_BLOCK = 1 << 17


@dataclass(frozen=True)
class AudioInfo:
    path: str
    format: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes (hex)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    except OSError as exc:
        raise AudioError(path, f"cannot read file ({exc.strerror or exc})") from None
    return h.hexdigest()


def probe(path: str | Path) -> AudioInfo:
    """Format, rate, channels and length of an audio file, without decoding it all."""
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "no such file")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty file (0 bytes)")
    try:
        info = sf.info(str(p))
        return AudioInfo(str(p), info.format.lower(), int(info.samplerate), int(info.channels), int(info.frames))
    except (sf.LibsndfileError, RuntimeError) as exc:
        sf_reason = str(exc)
    try:
        import audioread

        with audioread.audio_open(str(p)) as f:
            frames = int(round(f.duration * f.samplerate))
            return AudioInfo(str(p), p.suffix.lstrip(".").lower() or "unknown", int(f.samplerate), int(f.channels), frames)
    except Exception as exc:  # audioread raises many unrelated types
        ar_reason = str(exc) or type(exc).__name__
        raise AudioError(p, f"unreadable or unsupported audio (soundfile: {sf_reason}; audioread: {ar_reason})") from None


def wav_declared_frames(path: str | Path) -> int | None:
    """Frames promised by a RIFF/WAVE header's ``data`` chunk, or ``None`` if not a plain WAV.

    libsndfile silently shortens a truncated WAV to the bytes present; comparing with the header
    is how a cut-off download is told apart from a short song.
    """
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                ch = fh.read(8)
                if len(ch) < 8:
                    return None
                cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(size + (size & 1))
                    block_align = struct.unpack("<H", fmt[12:14])[0]
                elif cid == b"data":
                    if not block_align or size == 0xFFFFFFFF:
                        return None
                    return size // block_align
                else:
                    fh.seek(size + (size & 1), 1)
    except OSError:
        return None


def _check_info(info: AudioInfo, min_seconds: float) -> None:
    if info.frames <= 0:
        raise AudioError(info.path, "empty audio (no samples)")
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise AudioError(info.path, f"unsupported sample rate {info.sample_rate} Hz (need {MIN_RATE}–{MAX_RATE} Hz)")
    if info.duration_s < min_seconds:
        raise AudioError(info.path, f"too short: {info.duration_s:.2f} s (minimum {min_seconds:g} s)")


def _blocks_soundfile(path: str):
    with sf.SoundFile(path) as f:
        while True:
            block = f.read(_BLOCK, dtype="float32", always_2d=True)
            if not len(block):
                break
            yield block


def _blocks_audioread(path: str, channels: int):
    import audioread

    with audioread.audio_open(path) as f:
        for buf in f:
            a = np.frombuffer(buf, dtype="<i2").astype(np.float32) / 32768.0
            yield a.reshape(-1, channels)


def load_audio(path: str | Path, sr: int | None = 22050, *, min_seconds: float = 0.0,
               check_silence: bool = True) -> tuple[np.ndarray, int]:
    """Decode a file to mono float32 at ``sr`` (``None`` keeps the file's rate).

    Parameters
    ----------
    path : str or Path
        An audio file (WAV, FLAC, OGG/Vorbis, Opus, MP3; other formats through audioread).
    sr : int or None
        Target sample rate in Hz.
    min_seconds : float
        Files shorter than this raise :class:`AudioError`.
    check_silence : bool
        Raise :class:`AudioError` when the file holds only silence.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    sr : int

    Raises
    ------
    AudioError
        Unreadable, unsupported, empty, truncated, too short or silent file (the message says which).
    """
    info = probe(path)
    _check_info(info, min_seconds)
    target = int(sr or info.sample_rate)
    try:
        sf.info(str(path))
        blocks = _blocks_soundfile(str(path))
    except (sf.LibsndfileError, RuntimeError):
        blocks = _blocks_audioread(str(path), info.channels)

    expected = int(np.ceil(info.frames * target / info.sample_rate)) + 16
    out = np.empty(expected, dtype=np.float32)
    n_out = 0
    n_in = 0
    resampler = None if target == info.sample_rate else soxr.ResampleStream(
        info.sample_rate, target, 1, dtype="float32", quality="HQ")

    def put(chunk):
        nonlocal out, n_out
        if n_out + len(chunk) > len(out):
            out = np.resize(out, n_out + len(chunk) + _BLOCK)
        out[n_out:n_out + len(chunk)] = chunk
        n_out += len(chunk)

    try:
        for block in blocks:
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            n_in += len(mono)
            put(mono if resampler is None else resampler.resample_chunk(mono))
        if resampler is not None:
            put(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    except (sf.LibsndfileError, RuntimeError, EOFError, OSError) as exc:
        raise AudioError(path, f"truncated or corrupt audio after {n_in / info.sample_rate:.2f} s ({exc})") from None
    except Exception as exc:
        if type(exc).__module__.startswith("audioread"):
            raise AudioError(path, f"cannot decode ({exc})") from None
        raise
    # libsndfile stops early, without an error, on a file whose data ends before its header says
    declared = wav_declared_frames(path) if info.format == "wav" else None
    promised = max(info.frames, declared or 0)
    if n_in < promised - 1:
        raise AudioError(path, f"truncated: header promises {promised / info.sample_rate:.2f} s, only "
                               f"{n_in / info.sample_rate:.2f} s could be read")
    if n_in == 0:
        raise AudioError(path, "empty audio (no samples could be decoded)")
    y = out[:n_out]
    if not np.all(np.isfinite(y)):
        raise AudioError(path, "corrupt audio (non-finite samples)")
    if check_silence and max(float(y.max()), -float(y.min())) < SILENCE:  # the peak, without an |y| copy
        raise AudioError(path, "silent: the file holds only silence")
    if n_in / info.sample_rate < min_seconds:
        raise AudioError(path, f"too short: {n_in / info.sample_rate:.2f} s (minimum {min_seconds:g} s)")
    return y, target


def open_source(uri: str | Path, **s3_options):
    """What :class:`soundfile.SoundFile` opens for the song at ``uri``: the local path as a string,
    or for ``s3://bucket/key`` a seekable file object reading with ranged GETs
    (:class:`sectionist.store.s3.S3RangeFile`; close it when done).

    ``s3_options`` (``client``, ``endpoint_url``, ``region``, ``readahead``…) apply to S3 only.

    Raises
    ------
    AudioError
        An unsupported URI scheme, or a local file that is missing.
    StoreError
        The S3 object cannot be reached (``sectionist.store.s3.S3NotFound`` when it does not exist).
    """
    uri = str(uri)
    if uri.startswith("s3://"):
        from sectionist.store.s3 import S3RangeFile

        return S3RangeFile.from_uri(uri, **s3_options)
    if "://" in uri:
        raise AudioError(uri, "unsupported song URI scheme")
    if not Path(uri).is_file():
        raise AudioError(uri, "the song's original file is missing")
    return uri


def read_span(uri: str | Path | object, start_s: float, end_s: float, *, sr: int | None = None, mono: bool = False,
              max_seconds: float | None = None, **s3_options) -> tuple[np.ndarray, int]:
    """Decode only ``[start_s, end_s)`` of a song, seeking to it (the one span reader of the project).

    Parameters
    ----------
    uri : str, Path or file object
        A local path, an ``s3://`` URI (ranged reads: only the span's bytes, the header and a
        small read-ahead travel) or an open seekable binary file object.
    start_s, end_s : float
        The span in seconds (clipped to the file).
    sr : int, optional
        Resample to this rate (default: keep the file's).
    mono : bool
        Mix the channels down and return a 1-D array.
    max_seconds : float, optional
        Read at most this many seconds from ``start_s``.
    **s3_options
        For ``s3://`` URIs: passed to :func:`open_source` (e.g. the store's ``client``).

    Returns
    -------
    y : np.ndarray [shape=(n, channels), or (n,) when ``mono``], float32
    sr : int
        The rate of ``y``.

    Raises
    ------
    AudioError
        Missing or undecodable file, unsupported URI scheme.
    StoreError
        An S3 object that cannot be read.

    Notes
    -----
    Formats libsndfile cannot open (AAC/M4A…) are decoded by ffmpeg, which seeks itself (local
    files only).
    """
    start_s = float(start_s)
    end_s = float(end_s)
    if max_seconds is not None:
        end_s = min(end_s, start_s + float(max_seconds))
    src = uri if not isinstance(uri, (str, Path)) else open_source(uri, **s3_options)
    try:
        with sf.SoundFile(src) as f:
            rate = f.samplerate
            start = max(0, int(round(start_s * rate)))
            n = max(0, int(round(end_s * rate)) - start)
            if f.seekable():
                f.seek(min(start, f.frames) if f.frames > 0 else start)
            else:  # pragma: no cover - every format soundfile opens here is seekable
                f.read(start, dtype="float32")
            y = f.read(n, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        if isinstance(src, str):
            y, rate = _read_span_ffmpeg(src, start_s, end_s)
        else:
            raise AudioError(getattr(src, "name", uri),
                             f"cannot read span {start_s:.2f}–{end_s:.2f} s ({exc})") from None
    finally:
        if src is not uri and not isinstance(src, str):
            src.close()
    if mono:
        y = y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]
    if sr is not None and int(sr) != rate and len(y):
        y = soxr.resample(y, rate, int(sr), quality="HQ").astype(np.float32, copy=False)
        rate = int(sr)
    return y, rate


def _read_span_ffmpeg(path: str, start_s: float, end_s: float, rate: int = 44100) -> tuple[np.ndarray, int]:
    """A span of a file libsndfile cannot read (AAC/M4A…): ffmpeg seeks and decodes only the span,
    as stereo float32 at ``rate``."""
    import subprocess

    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{start_s:.3f}", "-t", f"{max(0.0, end_s - start_s):.3f}",
           "-i", path, "-f", "f32le", "-ac", "2", "-ar", str(rate), "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise AudioError(path, f"cannot decode ({exc})") from None
    return np.frombuffer(out, np.float32).reshape(-1, 2).copy(), rate
