"""Checkerboard novelty (Foote) for the structure schemes: the multi-scale curve and its peaks on
beats (``merged``, ``novelty``), and the frame-based over-segmentation of ``merged`` version 1."""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import ParameterError


def over_segment(y: np.ndarray, sr: int, *, threshold: float = 1.0, kernel_seconds: float = 6.0,
                 min_slice_seconds: float = 2.0, bin_seconds: float = 0.25) -> np.ndarray:
    """Novelty boundaries (seconds) of a deliberate over-segmentation.

    Peaks of the checkerboard novelty (kernel half-width ``kernel_seconds``) on MFCC bins of
    ``bin_seconds``, at least ``min_slice_seconds`` apart, with a prominence above ``threshold`` ×
    the curve's median absolute deviation (lower threshold: more slices). The two steps are
    :func:`novelty_of` and :func:`novelty_cuts` (the segmentation lab calls them apart, computing the
    curve once and the cuts per threshold).
    """
    _check_cut_params(threshold, min_slice_seconds)
    nov, bin_dur = novelty_of(y, sr, kernel_seconds=kernel_seconds, bin_seconds=bin_seconds)
    return novelty_cuts(nov, bin_dur, len(y) / sr, threshold=threshold, min_slice_seconds=min_slice_seconds)


def _check_cut_params(threshold, min_slice_seconds):
    if threshold < 0:
        raise ParameterError(f"threshold={threshold}: must be ≥ 0")
    if min_slice_seconds <= 0:
        raise ParameterError(f"min_slice_seconds={min_slice_seconds}: must be > 0")


def novelty_of(y: np.ndarray, sr: int, *, kernel_seconds: float = 6.0,
               bin_seconds: float = 0.25) -> tuple[np.ndarray, float]:
    """The checkerboard novelty curve of :func:`over_segment` and its bin length in seconds."""
    from sectionist.analysis.sections.timbre import novelty_curve, timbre_bins

    if kernel_seconds <= 0:
        raise ParameterError(f"kernel_seconds={kernel_seconds}: must be > 0")
    X, bin_dur = timbre_bins(y, sr, bin_seconds=bin_seconds)
    L = max(2, int(round(kernel_seconds / bin_dur)))
    return novelty_curve(X, L), bin_dur


def novelty_cuts(nov: np.ndarray, bin_dur: float, duration: float, *, threshold: float = 1.0,
                 min_slice_seconds: float = 2.0) -> np.ndarray:
    """Cut times (seconds) at the peaks of a novelty curve ``nov`` (one value per ``bin_dur`` s):
    at least ``min_slice_seconds`` apart and from either end, prominence above ``threshold`` × the
    curve's median absolute deviation (:func:`novelty_prominence`)."""
    from scipy.signal import find_peaks

    _check_cut_params(threshold, min_slice_seconds)
    if not np.any(nov > 0):
        return np.zeros(0)
    dist = max(1, int(round(min_slice_seconds / bin_dur)))
    peaks, _unused = find_peaks(nov, distance=dist, prominence=novelty_prominence(nov, threshold))
    t = peaks * bin_dur
    return t[(t >= min_slice_seconds) & (t <= duration - min_slice_seconds)]


def novelty_prominence(nov: np.ndarray, threshold: float) -> float:
    """The prominence a peak of ``nov`` needs to become a cut: ``threshold`` × the curve's median
    absolute deviation (at least 0.1 % of its maximum)."""
    mad = np.median(np.abs(nov - np.median(nov)))
    return float(max(threshold * mad, 1e-3 * nov.max())) if len(nov) else 0.0


def cuts_to_bounds(cuts, duration: float) -> np.ndarray:
    """``[start, end)`` rows between 0, the sorted ``cuts`` and ``duration`` [shape=(len(cuts) + 1, 2)]."""
    edges = np.concatenate([[0.0], np.sort(np.asarray(cuts, dtype=np.float64)), [float(duration)]])
    return np.stack([edges[:-1], edges[1:]], axis=1)


def checkerboard_novelty(X: np.ndarray, kernels: tuple[int, ...]) -> list[np.ndarray]:
    """:func:`sectionist.analysis.sections.timbre.novelty_curve` of ``X`` for each kernel half-width, from one
    self-similarity matrix (equal results; cheaper for several kernels) [each shape=(t,)]."""
    t = X.shape[0]
    Z = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-8
    out = []
    for L in (int(v) for v in kernels):
        if t < 2 * L + 1 or L < 1:
            out.append(np.zeros(t))
            continue
        Zp = np.pad(Z, ((L, L), (0, 0)), mode="edge")
        S = np.ascontiguousarray(Zp @ Zp.T)
        s0, s1 = S.strides
        blocks = np.lib.stride_tricks.as_strided(S, shape=(t, 2 * L, 2 * L), strides=(s0 + s1, s0, s1),
                                                 writeable=False)
        g = np.exp(-0.5 * (np.linspace(-1, 1, 2 * L) / 0.5) ** 2)
        sign = np.concatenate([-np.ones(L), np.ones(L)])
        out.append(np.maximum(np.einsum("tij,ij->t", blocks, np.outer(g, g) * np.outer(sign, sign)), 0.0))
    return out


def multiscale_novelty(feats: list[np.ndarray], kernels: tuple[int, ...]) -> np.ndarray:
    """Mean of checkerboard novelty curves over feature sets × kernel half-widths (in rows), each
    scaled to a maximum of 1 (a curve that is all zero counts as zero) [shape=(n,)]."""
    curves = []
    for X in feats:
        for c in checkerboard_novelty(X, kernels):
            curves.append(c / c.max() if c.max() > 0 else c)
    return np.mean(curves, axis=0) if curves else np.zeros(0)


def novelty_peaks(nov: np.ndarray, *, threshold: float, min_distance: int) -> np.ndarray:
    """Indices of the peaks of ``nov`` at least ``min_distance`` apart (and from either end) whose
    prominence exceeds ``threshold`` × the curve's median absolute deviation."""
    from scipy.signal import find_peaks

    if threshold < 0:
        raise ParameterError(f"threshold={threshold}: must be ≥ 0")
    if min_distance < 1:
        raise ParameterError(f"min_distance={min_distance}: must be ≥ 1")
    if nov.size == 0 or not np.any(nov > 0):
        return np.zeros(0, np.int64)
    mad = np.median(np.abs(nov - np.median(nov)))
    peaks, _ = find_peaks(nov, distance=min_distance, prominence=max(threshold * mad, 1e-3 * nov.max()))
    return peaks[(peaks >= min_distance) & (peaks <= len(nov) - min_distance)].astype(np.int64)

