"""Classical audio features of sections, from one short-time Fourier transform.

Every feature is computed per frame and then aggregated over each section's frames with the
median (the reference study's choice), the mean and the standard deviation.

Frames are laid out exactly as librosa lays them out for the section's own samples
(``center=True``: half a window of zeros on each side of the *section*), so each value equals
what librosa's function returns when called on that section alone — but the spectrogram is
computed once, in one batched FFT over the song's sections, and every spectral feature is derived
from it (``S=``), instead of one STFT per feature and section as in the study's notebook.
Songs are processed in blocks of sections, so memory stays bounded for long files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import librosa
import numpy as np
import pandas as pd
import scipy.fft

from sectionist.analysis.run.cpu import available_cores
from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.feature_names import (  # noqa: F401  (re-exported: the names live there, librosa-free)
    CLASSICAL,
    CLASSICAL17,
    FEATURE_NAMES,
    FEATURE_SETS,
    FRAME_FEATURES,
    N_CHROMA,
    STATS,
    feature_columns,
    feature_names,
)

ROLL_PERCENT = 0.85


@dataclass(frozen=True)
class FeatureParams:
    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 20


def _frame_padded(y: np.ndarray, n_fft: int, hop: int, mode: str) -> np.ndarray:
    """Frames of ``y`` as librosa makes them with ``center=True`` [shape=(t, n_fft)]."""
    pad = n_fft // 2
    yp = np.pad(y, (pad, pad), mode=mode)
    if yp.size < n_fft:
        yp = np.pad(yp, (0, n_fft - yp.size))
    return librosa.util.frame(yp, frame_length=n_fft, hop_length=hop, axis=0)


class _Kernels:
    """Window, frequencies and filter banks, built once per parameter set."""

    _cache: dict = {}

    def __init__(self, p: FeatureParams):
        self.window = librosa.filters.get_window("hann", p.n_fft, fftbins=True).astype(np.float32)
        self.freq = librosa.fft_frequencies(sr=p.sr, n_fft=p.n_fft).astype(np.float64)
        f32 = self.freq.astype(np.float32)
        self.moments = np.ascontiguousarray(np.stack([np.ones_like(f32), f32, f32**2], axis=1))
        mel = librosa.filters.mel(sr=p.sr, n_fft=p.n_fft, n_mels=p.n_mels)
        chroma = librosa.filters.chroma(sr=p.sr, n_fft=p.n_fft, tuning=0.0, n_chroma=N_CHROMA)
        self.banks = np.ascontiguousarray(np.vstack([mel, chroma]).T.astype(np.float32))

    @classmethod
    def get(cls, p: FeatureParams) -> "_Kernels":
        if p not in cls._cache:
            cls._cache[p] = cls(p)
        return cls._cache[p]


def _zero_crossing_rate(y: np.ndarray, n_fft: int, hop: int, n_frames: int) -> np.ndarray:
    """librosa.feature.zero_crossing_rate (edge padding, threshold 1e-10, 0 counts as positive),
    counted once on the signal with a cumulative sum instead of once per overlapping frame."""
    pad = n_fft // 2
    yp = np.pad(y, (pad, pad), mode="edge")
    if yp.size < n_fft:
        yp = np.pad(yp, (0, n_fft - yp.size))
    sign = np.signbit(np.where(np.abs(yp) <= 1e-10, 0.0, yp))
    cross = np.concatenate([[0], np.cumsum(sign[1:] != sign[:-1], dtype=np.int64)])
    starts = np.arange(n_frames) * hop
    return (cross[starts + n_fft - 1] - cross[starts]) / n_fft


def _rolloff_bins(S: np.ndarray, threshold: np.ndarray, block: int = 32) -> np.ndarray:
    """Per frame, the first bin where the cumulative magnitude reaches ``threshold``.

    Same answer as ``argmax(cumsum(S, axis=1) >= threshold)`` (librosa's roll-off), but the running
    sum is taken over blocks of bins first and then only inside the block where it crosses.
    """
    t, F = S.shape
    nb = F // block
    if nb < 2:
        return np.argmax(np.cumsum(S, axis=1, dtype=np.float64) >= threshold.astype(np.float64)[:, None], axis=1)
    cum_blocks = np.cumsum(S[:, : nb * block].reshape(t, nb, block).sum(axis=2, dtype=np.float64), axis=1)
    thr = threshold.astype(np.float64)[:, None]
    b = np.minimum(np.argmax(cum_blocks >= thr, axis=1), nb - 1)
    # the crossing may lie in the tail bins after the last full block
    after = cum_blocks[:, -1] < thr[:, 0]
    b = np.where(after, nb, b)
    before = np.where(b > 0, cum_blocks[np.arange(t), np.maximum(b - 1, 0)], 0.0)
    width = np.where(after, F - nb * block, block)
    cols = b[:, None] * block + np.arange(block)[None, :]
    inside = S[np.arange(t)[:, None], np.minimum(cols, F - 1)].astype(np.float64)
    inside[np.arange(block)[None, :] >= width[:, None]] = 0.0
    cum = before[:, None] + np.cumsum(inside, axis=1)
    j = np.argmax(cum >= thr, axis=1)
    return np.minimum(b * block + j, F - 1)


def _features_from(y, frames, D, p: FeatureParams):
    """Every per-frame feature from the section's frames and its one spectrogram.

    ``D`` is frames-major [shape=(t, 1 + n_fft/2)], complex. The formulas are librosa's (same
    defaults), written once over shared intermediates and laid out for contiguous memory access.
    """
    k = _Kernels.get(p)
    tiny = np.finfo(np.float32).tiny
    S = np.abs(D)
    power = S * S
    t = frames.shape[0]
    out: dict[str, np.ndarray] = {}
    out["amplitude_envelope"] = np.maximum(frames.max(axis=1), -frames.min(axis=1))
    out["rms"] = np.sqrt(np.einsum("ij,ij->i", frames, frames) / p.n_fft)
    out["zero_crossing_rate"] = _zero_crossing_rate(y, p.n_fft, p.hop_length, t)
    # centroid and bandwidth (p=2): first and second moments of the L1-normalised magnitude spectrum
    moments = (S @ k.moments).astype(np.float64)  # Σ S, Σ S·f, Σ S·f² per frame
    total = moments[:, 0]
    norm = np.where(total < tiny, 1.0, total)
    centroid = moments[:, 1] / norm
    out["spectral_centroid"] = centroid
    # Σ Sn·(f − c)² = Σ Sn·f² − 2c·Σ Sn·f + c²·Σ Sn
    out["spectral_bandwidth"] = np.sqrt(np.maximum(moments[:, 2] / norm - 2 * centroid**2
                                                   + centroid**2 * (total / norm), 0.0))
    out["spectral_rolloff"] = k.freq[_rolloff_bins(S, ROLL_PERCENT * total)]
    # flatness (power=2, amin=1e-10)
    P = np.maximum(np.float32(1e-10), power)
    out["spectral_flatness"] = np.exp(np.mean(np.log(P), axis=1)) / np.mean(P, axis=1)
    banks = power @ k.banks  # mel bands and chroma bins in one product
    mel = banks[:, : p.n_mels].T  # (n_mels, t)
    chroma = banks[:, p.n_mels:]
    cmax = chroma.max(axis=1, keepdims=True)
    out["chroma"] = (chroma / np.where(cmax < tiny, 1.0, cmax)).T
    mel_db = librosa.power_to_db(mel)
    mfcc = scipy.fft.dct(mel_db, axis=0, type=2, norm="ortho")[: p.n_mfcc]
    out["mfcc"] = mfcc
    out["mfcc_delta"] = _delta(mfcc)
    out["_mel_db"] = mel_db
    return out


def _delta(mfcc: np.ndarray, width: int = 9) -> np.ndarray:
    """``librosa.feature.delta(mfcc, width=width)`` (first-order Savitzky–Golay, ``mode='interp'``).

    Inside, the derivative is a correlation with the least-squares slope kernel; within half a
    window of each end, 'interp' fits one straight line to the first (last) ``width`` frames, so
    those frames all get that line's slope. The window is narrowed for sections of fewer frames.
    """
    t = mfcc.shape[-1]
    if t < width:
        width = t if t % 2 == 1 else t - 1
    if width < 3:
        return np.zeros_like(mfcc)
    half = width // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    kernel = x / np.sum(x * x)
    out = np.empty(mfcc.shape, dtype=np.float64)
    m = mfcc.astype(np.float64)
    win = np.lib.stride_tricks.sliding_window_view(m, width, axis=-1)  # (k, t - width + 1, width)
    out[..., half: t - half] = win @ kernel
    out[..., :half] = (m[..., :width] @ kernel)[..., None]
    out[..., t - half:] = (m[..., t - width:] @ kernel)[..., None]
    return out.astype(mfcc.dtype)


def aggregate(ff: dict[str, np.ndarray], n_mfcc: int) -> dict[str, float]:
    """Median, mean and standard deviation of every per-frame feature over the frames."""
    rows = []
    names = []
    for name in FRAME_FEATURES:
        rows.append(ff[name])
        names.append(name)
    for key, n in (("chroma", N_CHROMA), ("mfcc", n_mfcc), ("mfcc_delta", n_mfcc)):
        for i in range(n):
            rows.append(ff[key][i])
            names.append(f"{key}{i + 1}")
    M = np.vstack(rows).astype(np.float64)
    med, mean, std = np.median(M, axis=1), M.mean(axis=1), M.std(axis=1)
    out = {}
    for i, n in enumerate(names):
        out[f"{n}_median"] = med[i]
        out[f"{n}_mean"] = mean[i]
        out[f"{n}_std"] = std[i]
    return out


def section_features(y: np.ndarray, bounds: np.ndarray, p: FeatureParams, *, block_frames: int = 1500,
                     return_mel: bool = False, n_threads: int | None = None):
    """Aggregated features of every section of one song.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The whole song, mono float32 at ``p.sr``.
    bounds : np.ndarray [shape=(k, 2)]
        Start and end sample of each section.
    block_frames : int
        Frames transformed per batched FFT (bounds memory: about ``block_frames × n_fft × 12`` bytes
        per thread).
    return_mel : bool
        Also return each section's mean log-mel spectrum [shape=(k, n_mels)].
    n_threads : int or None
        Blocks processed at once (numpy releases the GIL in FFTs and products). ``None``: up to 2,
        or 1 inside a worker process of a parallel analysis (``SECTIONIST_WORKER=1``).

    Returns
    -------
    pandas.DataFrame, one row per section, columns ``<feature>_<stat>`` (float32).
    """
    if bounds.ndim != 2 or bounds.shape[1] != 2:
        raise ParameterError(f"bounds must have shape (k, 2), got {bounds.shape}")
    window = _Kernels.get(p).window
    frames_of = [1 + (int(e) - int(s)) // p.hop_length for s, e in bounds]
    # group consecutive sections into blocks so one batched FFT serves many sections
    blocks: list[list[int]] = [[]]
    count = 0
    for i, t in enumerate(frames_of):
        if count >= block_frames and blocks[-1]:
            blocks.append([])
            count = 0
        blocks[-1].append(i)
        count += t

    def run_block(idx: list[int]):
        segs = [y[int(bounds[i, 0]):int(bounds[i, 1])] for i in idx]
        frames = [_frame_padded(seg, p.n_fft, p.hop_length, "constant") for seg in segs]
        # window every frame of the block straight into one buffer, then one batched FFT
        windowed = np.empty((sum(f.shape[0] for f in frames), p.n_fft), dtype=np.float32)
        i0 = 0
        for fr in frames:
            np.multiply(fr, window, out=windowed[i0:i0 + fr.shape[0]])
            i0 += fr.shape[0]
        D = scipy.fft.rfft(windowed, axis=1, workers=fft_workers)
        del windowed
        out, i0 = [], 0
        for seg, fr in zip(segs, frames):
            t = fr.shape[0]
            ff = _features_from(seg, fr, D[i0:i0 + t], p)
            mel = np.mean(ff["_mel_db"], axis=1) if return_mel else None
            out.append((aggregate(ff, p.n_mfcc), mel))
            i0 += t
        return out

    if n_threads is None:
        n_threads = 1 if os.environ.get("SECTIONIST_WORKER") else min(2, available_cores())
    fft_workers = n_threads
    if n_threads > 1 and len(blocks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            results = [r for block in pool.map(run_block, blocks) for r in block]
    else:
        results = [r for block in blocks if block for r in run_block(block)]
    df = pd.DataFrame([r for r, _ in results]).astype(np.float32)
    if return_mel:
        mels = [m for _, m in results]
        return df, (np.vstack(mels).astype(np.float32) if mels else np.zeros((0, p.n_mels), np.float32))
    return df


def reference_features(seg: np.ndarray, p: FeatureParams) -> dict[str, float]:
    """The reference study's way, for tests and benchmarks: one librosa call (and so one STFT) per
    feature on the section alone, aggregated like :func:`aggregate`.

    Returns
    -------
    dict of ``<feature>_<stat>`` → float
    """
    kw = dict(n_fft=p.n_fft, hop_length=p.hop_length)
    per_frame = {
        "rms": librosa.feature.rms(y=seg, frame_length=p.n_fft, hop_length=p.hop_length)[0],
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(seg, frame_length=p.n_fft, hop_length=p.hop_length)[0],
        "spectral_centroid": librosa.feature.spectral_centroid(y=seg, sr=p.sr, **kw)[0],
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(y=seg, sr=p.sr, **kw)[0],
        "spectral_rolloff": librosa.feature.spectral_rolloff(y=seg, sr=p.sr, roll_percent=ROLL_PERCENT, **kw)[0],
        "spectral_flatness": librosa.feature.spectral_flatness(y=seg, **kw)[0],
    }
    # amplitude envelope (no librosa function): the largest |sample| of each centred frame
    frames = librosa.util.frame(np.pad(seg, p.n_fft // 2), frame_length=p.n_fft, hop_length=p.hop_length)
    per_frame["amplitude_envelope"] = np.abs(frames).max(axis=0)
    chroma = librosa.feature.chroma_stft(y=seg, sr=p.sr, tuning=0.0, **kw)
    mfcc = librosa.feature.mfcc(y=seg, sr=p.sr, n_mfcc=p.n_mfcc, n_mels=p.n_mels, **kw)
    delta = librosa.feature.delta(mfcc)
    for i in range(N_CHROMA):
        per_frame[f"chroma{i + 1}"] = chroma[i]
    for i in range(p.n_mfcc):
        per_frame[f"mfcc{i + 1}"] = mfcc[i]
        per_frame[f"mfcc_delta{i + 1}"] = delta[i]
    out = {}
    for name, v in per_frame.items():
        out[f"{name}_median"], out[f"{name}_mean"], out[f"{name}_std"] = np.median(v), np.mean(v), np.std(v)
    return out


# ---- one spectral front end per song ---------------------------------------------------------------

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


def timbre_bins(y: np.ndarray, sr: int, *, bin_seconds: float = 0.5, n_mfcc: int = 20,
                chunk_seconds: float = 120.0) -> np.ndarray:
    """Coarse timbre description of a whole song: MFCCs of the mean mel spectrum of each bin.

    Computed in chunks of ``chunk_seconds`` (bounded memory); bins never straddle chunks.

    Returns
    -------
    X : np.ndarray [shape=(n_bins, n_mfcc)]
    bin_dur : float
        The bins' actual length in seconds (a whole number of 512-sample frames).
    """
    hop = 512
    per_bin = max(1, int(round(bin_seconds * sr / hop)))
    chunk = int(chunk_seconds * sr) // (per_bin * hop) * (per_bin * hop)
    out = []
    for a in range(0, len(y), chunk):
        seg = y[a:a + chunk]
        if len(seg) < hop:
            break
        mel = librosa.feature.melspectrogram(y=seg, sr=sr, n_fft=2048, hop_length=hop, n_mels=64)
        n = mel.shape[1] // per_bin
        if n == 0:
            continue
        pooled = mel[:, : n * per_bin].reshape(mel.shape[0], n, per_bin).mean(axis=2)
        out.append(scipy.fft.dct(librosa.power_to_db(pooled, ref=1.0, top_db=None), axis=0, type=2,
                                 norm="ortho")[:n_mfcc].T)
    X = np.vstack(out) if out else np.zeros((0, n_mfcc), np.float32)
    return X, per_bin * hop / sr


def novelty_curve(X: np.ndarray, kernel_bins: int) -> np.ndarray:
    """Foote's checkerboard novelty along the diagonal of the cosine self-similarity of ``X``.

    Parameters
    ----------
    X : np.ndarray [shape=(t, d)]
        One feature vector per time bin.
    kernel_bins : int
        Half-width of the (Gaussian-tapered) checkerboard kernel, in bins.

    Returns
    -------
    np.ndarray [shape=(t,)], ≥ 0; high where the past and the future half-windows differ.
    """
    t = X.shape[0]
    L = int(kernel_bins)
    if t < 2 * L + 1 or L < 1:
        return np.zeros(t)
    Z = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-8
    Zp = np.pad(Z, ((L, L), (0, 0)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(Zp, 2 * L, axis=0)[:t]  # (t, d, 2L)
    S = np.einsum("tdi,tdj->tij", win, win)  # local self-similarity blocks (t, 2L, 2L)
    g = np.exp(-0.5 * (np.linspace(-1, 1, 2 * L) / 0.5) ** 2)
    sign = np.concatenate([-np.ones(L), np.ones(L)])
    kernel = np.outer(g, g) * np.outer(sign, sign)  # +1 within each half, −1 across past/future
    nov = np.einsum("tij,ij->t", S, kernel)
    return np.maximum(nov, 0.0)


def novelty_boundaries(y: np.ndarray, sr: int, *, min_section_seconds: float = 8.0,
                       bin_seconds: float = 0.5) -> np.ndarray:
    """Section boundaries (seconds) where the song's timbre changes, from a novelty curve.

    Peaks of :func:`novelty_curve` at least ``min_section_seconds`` apart and standing out from the
    curve (prominence above its median absolute deviation) become boundaries; the checkerboard
    kernel spans one minimum section on each side.
    """
    from scipy.signal import find_peaks

    X, bin_dur = timbre_bins(y, sr, bin_seconds=bin_seconds)
    L = max(2, int(round(min_section_seconds / bin_dur)))
    nov = novelty_curve(X, L)
    if not np.any(nov > 0):
        return np.zeros(0)
    mad = np.median(np.abs(nov - np.median(nov)))
    peaks, _ = find_peaks(nov, distance=L, prominence=max(mad, 1e-3 * nov.max()))
    peaks = peaks[(peaks >= L // 2) & (peaks <= len(nov) - L // 2)]
    return peaks * bin_dur  # novelty at bin t compares bins before t with bins from t on


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
