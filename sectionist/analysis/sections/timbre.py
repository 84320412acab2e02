"""A song's timbre over time: MFCCs of coarse bins, Foote's checkerboard novelty along them, and the
boundaries of the ``novelty`` sectioning scheme."""

from __future__ import annotations

import librosa
import numpy as np
import scipy.fft


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

