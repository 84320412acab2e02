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

from .errors import ParameterError

FRAME_FEATURES = (
    "amplitude_envelope",
    "rms",
    "zero_crossing_rate",
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_rolloff",
    "spectral_flatness",
)
STATS = ("median", "mean", "std")
N_CHROMA = 12
ROLL_PERCENT = 0.85


def feature_names(n_mfcc: int = 20) -> list[str]:
    """Per-frame feature names, in column order."""
    return (
        list(FRAME_FEATURES)
        + [f"chroma{i}" for i in range(1, N_CHROMA + 1)]
        + [f"mfcc{i}" for i in range(1, n_mfcc + 1)]
        + [f"mfcc_delta{i}" for i in range(1, n_mfcc + 1)]
    )


FEATURE_NAMES = feature_names(20)
#: The reference study's 17 features (median over the section's frames).
CLASSICAL17 = [
    f"{n}_median"
    for n in ["amplitude_envelope", "rms", "zero_crossing_rate", "spectral_centroid"]
    + [f"mfcc{i}" for i in range(1, 14)]
]
CLASSICAL = [f"{n}_{s}" for n in FEATURE_NAMES for s in STATS] + ["tempo_bpm"]
FEATURE_SETS: dict[str, list[str]] = {"classical17": CLASSICAL17, "classical": CLASSICAL}


def feature_columns(space: str, available=None) -> list[str]:
    """Columns of the ``features`` table that make up feature set ``space``."""
    try:
        cols = FEATURE_SETS[space]
    except KeyError:
        raise ParameterError(f"unknown feature set {space!r}; known: {', '.join(FEATURE_SETS)}") from None
    if available is not None:
        cols = [c for c in cols if c in set(available)]
    return cols


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


def frame_features(y: np.ndarray, p: FeatureParams, window: np.ndarray | None = None,
                   mel_basis: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-frame features of one section, as librosa computes them on ``y`` alone.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The section's samples (mono, float32) at ``p.sr``.

    Returns
    -------
    dict of str → np.ndarray [shape=(t,)] or [shape=(k, t)]
    """
    frames = _frame_padded(y, p.n_fft, p.hop_length, "constant")
    if window is None:
        window = librosa.filters.get_window("hann", p.n_fft, fftbins=True).astype(np.float32)
    # the one STFT of this section: every spectral feature below is derived from S
    D = np.fft.rfft(frames * window, axis=1).T.astype(np.complex64)  # (1 + n_fft/2, t)
    return _features_from(y, frames, D, p, mel_basis)


def _features_from(y, frames, D, p: FeatureParams, mel_basis=None):
    S = np.abs(D)
    power = S**2
    out: dict[str, np.ndarray] = {}
    out["amplitude_envelope"] = np.max(np.abs(frames), axis=1)
    out["rms"] = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).astype(np.float32)
    zframes = _frame_padded(y, p.n_fft, p.hop_length, "edge")
    out["zero_crossing_rate"] = np.mean(librosa.zero_crossings(zframes, axis=1, pad=False), axis=1)
    freq = librosa.fft_frequencies(sr=p.sr, n_fft=p.n_fft)
    out["spectral_centroid"] = librosa.feature.spectral_centroid(S=S, sr=p.sr, n_fft=p.n_fft, freq=freq)[0]
    out["spectral_bandwidth"] = librosa.feature.spectral_bandwidth(S=S, sr=p.sr, n_fft=p.n_fft, freq=freq)[0]
    out["spectral_rolloff"] = librosa.feature.spectral_rolloff(
        S=S, sr=p.sr, n_fft=p.n_fft, freq=freq, roll_percent=ROLL_PERCENT)[0]
    out["spectral_flatness"] = librosa.feature.spectral_flatness(S=S)[0]
    out["chroma"] = librosa.feature.chroma_stft(S=power, sr=p.sr, n_fft=p.n_fft, tuning=0.0)
    if mel_basis is None:
        mel_basis = librosa.filters.mel(sr=p.sr, n_fft=p.n_fft, n_mels=p.n_mels)
    mel = mel_basis @ power
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=p.n_mfcc)
    out["mfcc"] = mfcc
    out["mfcc_delta"] = _delta(mfcc)
    out["_mel"] = mel
    return out


def _delta(mfcc: np.ndarray, width: int = 9) -> np.ndarray:
    """librosa's delta, with the window narrowed for very short sections (fewer than 9 frames)."""
    t = mfcc.shape[-1]
    if t < width:
        width = t if t % 2 == 1 else t - 1
    if width < 3:
        return np.zeros_like(mfcc)
    return librosa.feature.delta(mfcc, width=width)


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


def section_features(y: np.ndarray, bounds: np.ndarray, p: FeatureParams, *, block_frames: int = 8192,
                     return_mel: bool = False):
    """Aggregated features of every section of one song.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The whole song, mono float32 at ``p.sr``.
    bounds : np.ndarray [shape=(k, 2)]
        Start and end sample of each section.
    block_frames : int
        Frames transformed per batched FFT (bounds memory: about ``block_frames × n_fft × 12`` bytes).
    return_mel : bool
        Also return each section's mean log-mel spectrum [shape=(k, n_mels)].

    Returns
    -------
    pandas.DataFrame, one row per section, columns ``<feature>_<stat>`` (float32).
    """
    if bounds.ndim != 2 or bounds.shape[1] != 2:
        raise ParameterError(f"bounds must have shape (k, 2), got {bounds.shape}")
    window = librosa.filters.get_window("hann", p.n_fft, fftbins=True).astype(np.float32)
    mel_basis = librosa.filters.mel(sr=p.sr, n_fft=p.n_fft, n_mels=p.n_mels)
    rows: list[dict] = []
    mels: list[np.ndarray] = []
    # group sections into blocks so one batched FFT serves many sections
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    pending_frames = 0

    def flush():
        nonlocal pending, pending_frames
        if not pending:
            return
        stacked = np.concatenate([f for _, f in pending], axis=0)
        D = np.fft.rfft(stacked * window, axis=1).T.astype(np.complex64)
        i0 = 0
        for seg, fr in pending:
            t = fr.shape[0]
            ff = _features_from(seg, fr, D[:, i0:i0 + t], p, mel_basis)
            rows.append(aggregate(ff, p.n_mfcc))
            if return_mel:
                mels.append(np.mean(librosa.power_to_db(ff["_mel"]), axis=1))
            i0 += t
        pending, pending_frames = [], 0

    for s, e in bounds:
        seg = y[int(s):int(e)]
        fr = _frame_padded(seg, p.n_fft, p.hop_length, "constant")
        pending.append((seg, fr))
        pending_frames += fr.shape[0]
        if pending_frames >= block_frames:
            flush()
    flush()
    df = pd.DataFrame(rows).astype(np.float32)
    if return_mel:
        return df, (np.vstack(mels).astype(np.float32) if mels else np.zeros((0, p.n_mels), np.float32))
    return df


def onset_envelope(y: np.ndarray, sr: int, hop_length: int = 512, *, chunk_seconds: float = 120.0) -> np.ndarray:
    """Onset strength of a whole song, computed in overlapping chunks (bounded memory).

    Equals ``librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length)`` away from chunk seams
    (the seams overlap by several frames, and the top-dB floor is applied per chunk).
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


def song_tempo(onset_env: np.ndarray, sr: int, hop_length: int = 512) -> float:
    """Global tempo (BPM) from an onset envelope.

    librosa's tempogram estimate is quantised (at 22 050 Hz and hop 512, 120 BPM lies between the
    bins 117.5 and 123.0), so it only seeds the beat tracker; the tempo is then the slope of a
    straight line through the tracked beat times, which resolves a steady tempo to a fraction of a BPM.
    """
    if onset_env.size < 4 or not np.any(onset_env > 0):
        return float("nan")
    coarse = float(librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=hop_length)[0])
    _, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=hop_length, bpm=coarse)
    if len(beats) < 8:
        return coarse
    times = librosa.frames_to_time(beats, sr=sr, hop_length=hop_length)
    period = np.polyfit(np.arange(len(times)), times, 1)[0]
    fine = 60.0 / period if period > 0 else coarse
    # keep the tracker's refinement only when it agrees with the coarse estimate's octave
    return float(fine) if abs(fine - coarse) / coarse < 0.08 else coarse
