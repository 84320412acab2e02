"""One spectral front end per song: whole-song spectrograms over chunks for long files, the CQT with
its filter banks kept between songs, the mel spectrogram the structure schemes share
(:class:`SongSpectrum`), the onset envelope and the tempo."""

from __future__ import annotations

import librosa
import numpy as np

#: Songs longer than this get their whole-song spectrograms (the shared mel spectrogram, the structure
#: schemes' CQTs) computed over chunks of :data:`CHUNK_SECONDS`: the short-time transform under a
#: whole hour's spectrogram held GBs at once (a 20-minute file: +590 MB for the mel spectrogram alone).
LONG_SONG_SECONDS = 600.0
CHUNK_SECONDS = 240.0


def chunked_frames(transform, y: np.ndarray, sr: int, hop_length: int, margin_s: float) -> np.ndarray:
    """``transform(y)`` — any centred, zero-padded frame transform at ``hop_length`` returning
    ``(…, frames)`` — computed over chunks of :data:`CHUNK_SECONDS` for songs longer than
    :data:`LONG_SONG_SECONDS` (shorter ones: one call, the same result).

    Each chunk is transformed with ``margin_s`` seconds of the song on either side (at least the
    transform's half window; a multiple of the hop, so the chunk's frames fall on the song's frame
    grid) and only its own frames are kept: frame ``f`` sees the samples it sees in the whole song,
    so the result equals the whole-song transform up to float rounding, with the transient memory of
    one chunk.
    """
    if len(y) <= LONG_SONG_SECONDS * sr:
        return transform(y)
    n_frames = 1 + len(y) // hop_length
    step = max(1, int(CHUNK_SECONDS * sr) // hop_length)  # frames per chunk
    margin = int(np.ceil(margin_s * sr / hop_length))  # in frames
    out, filled = None, 0
    for f0 in range(0, n_frames, step):
        f1 = min(n_frames, f0 + step)
        a = max(0, f0 - margin)  # first frame of the transformed span
        seg = y[a * hop_length:min(len(y), (f1 + margin) * hop_length)]
        block = transform(seg)[..., f0 - a:f0 - a + (f1 - f0)]
        if out is None:
            out = np.empty(block.shape[:-1] + (n_frames,), dtype=block.dtype)
        out[..., f0:f0 + block.shape[-1]] = block
        filled = f0 + block.shape[-1]
    return out[..., :filled]  # a transform that trims its last frame (the CQT's octaves) trims it here too


def _mel_power(y: np.ndarray, sr: int, hop_length: int) -> np.ndarray:
    """``librosa.feature.melspectrogram(y=y, sr=sr, hop_length=hop_length)``: librosa's defaults (2048-point
    frames, 128 bands, power 2, centred with zero padding) [shape=(128, 1 + len(y) // hop_length)];
    over chunks for a long song (:func:`chunked_frames`)."""
    return chunked_frames(lambda seg: librosa.feature.melspectrogram(y=seg, sr=sr, hop_length=hop_length),
                          y, sr, hop_length, margin_s=2048 / sr)


#: librosa's per-octave CQT filter banks, kept between songs (see :func:`cqt`); bounded.
_CQT_FILTERS: dict = {}
_CQT_FILTERS_MAX = 64


def _cached_vqt_filter_fft(original):
    """A memoising stand-in for librosa's private ``__vqt_filter_fft`` (the frequency-domain filter bank
    of one octave). ``vqt`` rescales the bank it gets in place, so every call returns a copy."""

    def filter_fft(sr, freqs, filter_scale, norm, sparsity, hop_length=None, window="hann", gamma=0.0,
                   dtype=np.complex64, alpha=None):
        key = (float(sr), np.asarray(freqs, np.float64).tobytes(), float(filter_scale), norm, float(sparsity),
               hop_length, repr(window), float(gamma), np.dtype(dtype).str,
               None if alpha is None else np.asarray(alpha, np.float64).tobytes())
        hit = _CQT_FILTERS.get(key)
        if hit is None:
            hit = original(sr, freqs, filter_scale, norm, sparsity, hop_length=hop_length, window=window,
                           gamma=gamma, dtype=dtype, alpha=alpha)
            if len(_CQT_FILTERS) >= _CQT_FILTERS_MAX:
                _CQT_FILTERS.clear()
            _CQT_FILTERS[key] = hit
        basis, n_fft, lengths = hit
        return basis.copy(), n_fft, np.array(lengths, copy=True)

    filter_fft.sectionist_original = original
    return filter_fft


def cqt(y: np.ndarray, sr: int, *, hop_length: int = 512, bins_per_octave: int = 12, n_bins: int = 84,
        magnitude: bool = False) -> np.ndarray:
    """``librosa.cqt(y=y, sr=sr, hop_length=…, bins_per_octave=…, n_bins=…)``, equal bit for bit, with
    the filter banks built once per process instead of once per call.

    Building the seven octaves' banks was ~30 % of a 30 s song's CQT (0.083 → 0.060 s at 36 bins per
    octave). The cache sits in librosa's private ``__vqt_filter_fft``; a librosa without it computes
    as before (``tests/test_features.py`` checks equality against the uncached call). A song longer
    than :data:`LONG_SONG_SECONDS` is transformed over chunks (:func:`chunked_frames`); ``magnitude``:
    ``np.abs`` of it, taken per chunk (half the memory of the complex result).
    """
    from librosa.core import constantq

    name = "__vqt_filter_fft"
    current = getattr(constantq, name, None)
    if current is not None and not hasattr(current, "sectionist_original"):
        setattr(constantq, name, _cached_vqt_filter_fft(current))
    # a long song over chunks; 10 s either side cover the longest filter (~1.6 s at 32.7 Hz, 36 bins
    # per octave) and the resampling of the lower octaves
    def transform(seg):
        C = librosa.cqt(y=seg, sr=sr, hop_length=hop_length, bins_per_octave=bins_per_octave, n_bins=n_bins)
        return np.abs(C) if magnitude else C

    return chunked_frames(transform, y, sr, hop_length, margin_s=10.0)


class SongSpectrum:
    """One song's mel power spectrogram at librosa's defaults, computed once and shared.

    ``analyze`` builds it once per song and hands it to the structure schemes (``merged`` and
    ``laplacian`` each tracked the beats and computed MFCCs from the same spectrogram of the same
    samples). Everything derived from it equals what the librosa call on ``y`` returns
    (``tests/test_features.py`` checks equality, bit for bit).

    Parameters
    ----------
    y : np.ndarray
        The song, mono.
    sr : int
        Its sample rate.
    hop_length : int
        Frame hop in samples (the structure schemes use 512).
    """

    def __init__(self, y: np.ndarray, sr: int, hop_length: int = 512):
        self.y = y
        self.sr = int(sr)
        self.hop_length = int(hop_length)
        self.power = _mel_power(y, sr, hop_length)
        self._log_mel = None
        self._mfcc: dict = {}
        self._beats = None

    def matches(self, y: np.ndarray, sr: int, hop_length: int) -> bool:
        """Whether this is the spectrum of ``y`` at ``sr`` with ``hop_length`` (else it must not be used)."""
        return self.y is y and self.sr == int(sr) and self.hop_length == int(hop_length)

    @property
    def log_mel(self) -> np.ndarray:
        """``librosa.power_to_db`` of :attr:`power` (what ``onset_strength`` and ``mfcc`` compute)."""
        if self._log_mel is None:
            self._log_mel = librosa.power_to_db(self.power)
        return self._log_mel

    def mfcc(self, n_mfcc: int = 20) -> np.ndarray:
        """``librosa.feature.mfcc(y=y, sr=sr, hop_length=hop_length, n_mfcc=n_mfcc)``."""
        if n_mfcc not in self._mfcc:
            self._mfcc[n_mfcc] = librosa.feature.mfcc(S=self.log_mel, sr=self.sr, n_mfcc=n_mfcc)
        return self._mfcc[n_mfcc]

    def beat_frames(self) -> np.ndarray:
        """``librosa.beat.beat_track(y=y, sr=sr, hop_length=hop_length, trim=False)[1]`` (beat frames).

        For a song longer than :data:`LONG_SONG_SECONDS` the tracker's tempo is given to it, from
        :func:`tempo_seed` (the same estimate, its tempogram averaged over chunks): librosa's own
        estimate holds the whole song's tempogram and its autocorrelation (~800 MB for 20 minutes).
        """
        if self._beats is None:
            env = librosa.onset.onset_strength(S=self.log_mel, sr=self.sr, hop_length=self.hop_length,
                                               aggregate=np.median)
            bpm = tempo_seed(env, self.sr, self.hop_length) if len(self.y) > LONG_SONG_SECONDS * self.sr else None
            self._beats = librosa.beat.beat_track(onset_envelope=env, sr=self.sr, hop_length=self.hop_length,
                                                  trim=False, bpm=bpm)[1]
        return self._beats


def tempo_seed(onset_env: np.ndarray, sr: int, hop_length: int = 512) -> float:
    """``librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=hop_length)[0]`` (what
    ``beat_track`` estimates when no tempo is given), with the tempogram averaged over chunks of
    :data:`CHUNK_SECONDS` (each frame's autocorrelation sees the same window of the envelope), so
    memory does not grow with the song; equal up to float rounding of the mean."""
    win = int(librosa.time_to_frames(8.0, sr=sr, hop_length=hop_length))  # tempo()'s ac_size of 8 s
    n = len(onset_env)
    step = max(win, int(CHUNK_SECONDS * sr / hop_length))
    total = np.zeros(win, dtype=np.float64)
    for f0 in range(0, n, step):
        f1 = min(n, f0 + step)
        a, b = max(0, f0 - win), min(n, f1 + win)
        tg = librosa.feature.tempogram(onset_envelope=onset_env[a:b], sr=sr, hop_length=hop_length, win_length=win)
        total += tg[:, f0 - a:f1 - a].sum(axis=1)
    return float(librosa.feature.tempo(sr=sr, hop_length=hop_length, tg=(total / n)[:, None], aggregate=None)[0])


def onset_envelope(y: np.ndarray, sr: int, hop_length: int = 512, *, chunk_seconds: float = 120.0) -> np.ndarray:
    """Onset strength of a whole song, computed in overlapping chunks (bounded memory).

    Equals ``librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length)`` away from chunk seams
    (the seams overlap by several frames, and the top-dB floor is applied per chunk). Each chunk ends at
    the last hop boundary, so its last frames differ from :class:`SongSpectrum`'s (it is not shared).
    """
    n_frames = 1 + len(y) // hop_length
    chunk = max(64, int(chunk_seconds * sr / hop_length))
    ctx = 8  # frames of context on each side of a chunk
    out = np.zeros(n_frames, dtype=np.float32)
    for f0 in range(0, n_frames, chunk):
        f1 = min(n_frames, f0 + chunk)
        a = max(0, f0 - ctx)
        b = min(n_frames, f1 + ctx)
        seg = y[a * hop_length: (b - 1) * hop_length + 1]
        env = librosa.onset.onset_strength(y=seg, sr=sr, hop_length=hop_length)
        out[f0:f1] = env[f0 - a: f0 - a + (f1 - f0)]
    return out


def song_tempo(onset_env: np.ndarray, sr: int, hop_length: int = 512, *, max_seconds: float = 120.0) -> float:
    """Global tempo (BPM) from an onset envelope.

    librosa's tempogram estimate is quantised (at 22 050 Hz and hop 512, 120 BPM lies between the
    bins 117.5 and 123.0), so it only seeds the beat tracker; the tempo is then the slope of a
    straight line through the tracked beat times, which resolves a steady tempo to a fraction of a
    BPM. Both run on at most ``max_seconds`` from the middle of the song (one global tempo, as in
    dance music; the tempogram of a whole long file is costly).
    """
    if onset_env.size < 4 or not np.any(onset_env > 0):
        return float("nan")
    n = int(max_seconds * sr / hop_length)
    if onset_env.size > n:
        mid = onset_env.size // 2
        onset_env = onset_env[mid - n // 2: mid - n // 2 + n]
    coarse = float(librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=hop_length)[0])
    _, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=hop_length, bpm=coarse)
    if len(beats) < 8:
        return coarse
    times = librosa.frames_to_time(beats, sr=sr, hop_length=hop_length)
    period = np.polyfit(np.arange(len(times)), times, 1)[0]
    fine = 60.0 / period if period > 0 else coarse
    # keep the tracker's refinement only when it agrees with the coarse estimate's octave
    return float(fine) if abs(fine - coarse) / coarse < 0.08 else coarse

