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


#: Blocks :func:`section_features` processes at once when it is given no ``n_threads`` (``None``: up
#: to 2); set with :func:`set_default_threads`.
_DEFAULT_THREADS: int | None = None


def set_default_threads(n_threads: int | None) -> None:
    """Set this process's default ``n_threads`` of :func:`section_features` (``None``: up to 2). The
    worker processes of a parallel analysis set 1 (:func:`sectionist.analysis.run.pool.init_worker`):
    they share the cores out already."""
    global _DEFAULT_THREADS
    _DEFAULT_THREADS = None if n_threads is None else int(n_threads)


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
        Blocks processed at once (numpy releases the GIL in FFTs and products). ``None``: this
        process's default (:func:`set_default_threads`): up to 2, or 1 in a worker process of a
        parallel analysis.

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
        n_threads = min(2, available_cores()) if _DEFAULT_THREADS is None else _DEFAULT_THREADS
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
