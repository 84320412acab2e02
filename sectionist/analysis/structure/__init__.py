"""Per-song structure: segmentations whose labels say which segments of a song are the same part.

Each structure scheme maps one song's audio to segments ``[start_s, end_s)`` covering the song and
an integer label per segment, local to the song (segments with the same label are the same part):

- ``merged`` (version 3, :func:`merged_beats`): deliberate novelty over-segmentation on beats (a
  multi-scale checkerboard novelty of the beat-synchronous harmony, timbre and Laplacian embedding,
  low peak threshold), then the slices are clustered by their mean place in the recurrence graph's
  Laplacian embedding (weighted K-Means, K ≥ 4 by the beats' silhouette, or given) and neighbours in
  the same cluster are merged, over the whole song (``window=0``) or over a sliding window of
  ``window`` slices (hop 1) repeated until nothing more merges; segments shorter than the minimum
  length (6 s) are absorbed by their more similar neighbour; a song that repeats no part (its
  :func:`repetition_mass` under 0.31) gives each segment its own label. The pre-merge slices are kept in
  ``params``. Defaults chosen on songs 0–11 of the development corpus (docs/evaluate.md). The steps
  are functions the segmentation lab (:mod:`sectionist.analysis.sections.lab`) calls one by one: :func:`merged_front`
  once per song, :func:`slice_edges`, :func:`cluster_slices` and :func:`merge_clustered` per setting.
- ``novelty``: the same over-segmentation (``merged``'s slices before merging), labelled by the same
  per-song clustering (so its label scores tie ``merged``'s on songs that repeat a part; ``bench/structure_ablation.py`` also
  scores the slices unclustered, one label each).
- ``laplacian``: McFee & Ellis (2014) spectral clustering on beat-synchronous features, as in
  librosa's gallery example "Laplacian segmentation" (CQT recurrence with time-lag median filtering,
  MFCC path similarity, balanced combination, normalised Laplacian eigenvectors, K-Means), with the
  number of segment types chosen per song by the silhouette among k = 3…10.
- ``kmeans15``: the baseline: fixed 15 s sections, K-Means per song on their classical features
  (K chosen per song by the silhouette).

Functions here are pure (arrays in, arrays out); :func:`segment_rows` turns a result into rows of the
:data:`sectionist.store.schema.SEGMENTS` table, and :func:`segment_store` (``sectionist segment``) (re)computes
them for an analysed store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sectionist.store.schema import SEGMENTS, SONGS

from sectionist.analysis.errors import ParameterError, SectionistError
from sectionist.analysis.registry import Registry

#: The structure schemes ``analyze`` writes by default.
DEFAULT_SCHEMES: tuple[str, ...] = ("merged", "laplacian")


@dataclass
class Structure:
    """One song's segmentation with structure labels.

    Attributes
    ----------
    bounds : np.ndarray [shape=(k, 2)]
        ``[start_s, end_s)`` of each segment, in time order, covering the song.
    labels : np.ndarray [shape=(k,), dtype=int64]
        Segment type, local to the song (0 … n_types − 1).
    params : dict
        The parameters used and what was chosen (JSON-serialisable), e.g. ``k`` and, for ``merged``,
        the pre-merge boundaries ``pre_bounds`` and labels ``pre_labels``.
    """

    bounds: np.ndarray
    labels: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_types(self) -> int:
        return int(np.unique(self.labels).size)


@dataclass(frozen=True)
class StructureSpec:
    """A registered structure scheme; ``version`` goes up whenever its defaults or method change (it
    is hashed into the analysis config and stored in each part's ``params``, so stale segments are
    recomputed by ``analyze`` and ``sectionist segment``)."""

    name: str
    func: Callable
    help: str
    version: int = 1

    @property
    def key(self) -> str:
        """``name`` (version 1) or ``name@version``: what the analysis config hashes."""
        return self.name if self.version == 1 else f"{self.name}@{self.version}"


STRUCTURES: Registry = Registry(
    "structure scheme",
    entry=lambda name, func, help="", version=1: StructureSpec(
        name, func, help or (func.__doc__ or "").strip().splitlines()[0], int(version)))


# ---- features and clustering helpers (pure) --------------------------------------------------------

def frame_features(y: np.ndarray, sr: int, *, hop_length: int = 512, n_mfcc: int = 13) -> tuple[np.ndarray, float]:
    """Frame-level MFCC, chroma and log-RMS of a song.

    Returns
    -------
    F : np.ndarray [shape=(n_frames, n_mfcc + 12 + 1)]
    frame_dur : float
        Seconds per frame.
    """
    import librosa

    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop_length))
    mel = librosa.feature.melspectrogram(S=S ** 2, sr=sr, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)
    chroma = librosa.feature.chroma_stft(S=S ** 2, sr=sr)
    rms = librosa.amplitude_to_db(librosa.feature.rms(S=S, frame_length=2048), ref=1.0)
    n = min(mfcc.shape[1], chroma.shape[1], rms.shape[1])
    return np.vstack([mfcc[:, :n], chroma[:, :n], rms[:, :n]]).T.astype(np.float64), hop_length / sr


def segment_means(F: np.ndarray, frame_dur: float, bounds: np.ndarray) -> np.ndarray:
    """Mean of the frame features ``F`` over each segment of ``bounds`` (seconds) [shape=(k, d)]."""
    n = F.shape[0]
    c = np.vstack([np.zeros((1, F.shape[1])), np.cumsum(F, axis=0)])
    a = np.clip(np.floor(bounds[:, 0] / frame_dur).astype(int), 0, n - 1)
    b = np.clip(np.ceil(bounds[:, 1] / frame_dur).astype(int), a + 1, n)
    return (c[b] - c[a]) / (b - a)[:, None]


def standardise(X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` to zero mean and unit variance (constant columns to 0)."""
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)


def ward_labels(X: np.ndarray, k: int | None = None, *, k_max: int = 8, k_min: int = 2) -> np.ndarray:
    """Ward clusters of the rows of ``X``; ``k`` given, or chosen by the silhouette over k_min…k_max.

    One row, or rows all alike, give one cluster. Labels are renumbered by first appearance.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    n = X.shape[0]
    if n < 3 or np.allclose(X, X[0]):
        return np.zeros(n, np.int64) if k is None or n < 2 else _first_order(np.arange(n) % max(1, min(k, n)))
    Z = linkage(X, method="ward")
    if k is not None:
        return _first_order(fcluster(Z, t=min(int(k), n), criterion="maxclust"))
    D = squareform(pdist(X))
    best, best_s = np.zeros(n, np.int64), -np.inf
    for kk in range(min(k_min, n - 1), min(k_max, n - 1) + 1):
        lab = fcluster(Z, t=kk, criterion="maxclust")
        if np.unique(lab).size < 2:
            continue
        s = silhouette(D, lab)
        if s > best_s + 1e-12:
            best, best_s = lab, s
    return _first_order(best)


def silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient from a square distance matrix (as scikit-learn's, singletons 0)."""
    _, lab = np.unique(labels, return_inverse=True)
    onehot = np.eye(lab.max() + 1)[lab]  # (n, k)
    return _silhouette_of(D @ onehot, lab, onehot.sum(axis=0))


def _silhouette_of(sums: np.ndarray, lab: np.ndarray, sizes: np.ndarray) -> float:
    """The silhouette from each point's summed distance to every cluster ``sums`` [shape=(n, k)], the
    points' clusters ``lab`` (0…k−1) and the clusters' sizes."""
    own = sizes[lab]
    a = sums[np.arange(len(lab)), lab] / np.maximum(own - 1, 1)
    other = sums / sizes
    other[np.arange(len(lab)), lab] = np.inf
    b = other.min(axis=1)
    sil = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(sil.mean())


def _first_order(labels) -> np.ndarray:
    """Labels renumbered 0, 1, … in order of first appearance."""
    labels = np.asarray(labels)
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inv].astype(np.int64)


def _runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """``[i, j)`` index runs of equal consecutive labels."""
    cut = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    edges = np.concatenate([[0], cut, [len(labels)]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _weighted(X: np.ndarray, w: np.ndarray, groups: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Duration-weighted means of ``X`` over index groups, and the groups' total weights."""
    out = np.array([np.average(X[a:b], axis=0, weights=w[a:b]) for a, b in groups])
    return out, np.array([w[a:b].sum() for a, b in groups])


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
    from sectionist.analysis.sections.features import novelty_curve, timbre_bins

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


def _cuts_to_bounds(cuts, duration: float) -> np.ndarray:
    edges = np.concatenate([[0.0], np.sort(np.asarray(cuts, dtype=np.float64)), [float(duration)]])
    return np.stack([edges[:-1], edges[1:]], axis=1)


def merge_slices(X: np.ndarray, durations: np.ndarray, *, window: int = 0, k: int | None = None,
                 k_max: int = 8, k_min: int = 2, max_passes: int = 50) -> list[tuple[int, int]]:
    """Groups of consecutive slices to merge (index runs ``[i, j)``), by clustering the slices.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
        Standardised features of each slice.
    durations : np.ndarray [shape=(n,)]
        Slice lengths (weights of the merged means).
    window : int
        0: cluster all slices once and merge neighbours in the same cluster. ``w ≥ 2``: slide a window
        of ``w`` segments (hop 1), cluster the segments inside each window, and merge a pair of
        neighbours when they fall in the same cluster in most of the windows that hold both; repeat
        on the merged segments until nothing more merges.
    k, k_max, k_min : see :func:`ward_labels`.
    """
    n = X.shape[0]
    if window < 0 or window == 1:
        raise ParameterError(f"window={window}: use 0 (whole song) or ≥ 2 slices")
    if n <= 1:
        return [(0, n)] if n else []
    if window == 0 or window >= n:
        return _runs(ward_labels(X, k, k_max=k_max, k_min=k_min))
    groups = [(i, i + 1) for i in range(n)]
    for _ in range(max_passes):
        G, _w = _weighted(X, durations, groups)
        m = len(groups)
        if m < 2:
            break
        same = np.zeros(m - 1)
        seen = np.zeros(m - 1)
        w = min(window, m)
        for s in range(m - w + 1):
            lab = ward_labels(G[s:s + w], k, k_max=k_max, k_min=2)
            same[s:s + w - 1] += lab[1:] == lab[:-1]
            seen[s:s + w - 1] += 1
        join = same > seen / 2
        if not join.any():
            break
        new, cur = [], list(groups[0])
        for j in range(m - 1):
            if join[j]:
                cur[1] = groups[j + 1][1]
            else:
                new.append(tuple(cur))
                cur = list(groups[j + 1])
        new.append(tuple(cur))
        groups = new
    return groups


def enforce_min_length(bounds: np.ndarray, X: np.ndarray, min_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Absorb segments shorter than ``min_seconds`` into their more similar neighbour.

    Returns the new bounds and the new (duration-weighted) features; the shortest segment goes first.
    """
    bounds, X = bounds.copy(), X.copy()
    while len(bounds) > 1:
        lengths = bounds[:, 1] - bounds[:, 0]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_seconds - 1e-9:
            break
        if i == 0:
            j = 1
        elif i == len(bounds) - 1:
            j = i - 1
        else:
            dl, dr = np.linalg.norm(X[i] - X[i - 1]), np.linalg.norm(X[i] - X[i + 1])
            j = i - 1 if dl <= dr else i + 1
        a, b = min(i, j), max(i, j)
        wa, wb = lengths[a], lengths[b]
        X[a] = (X[a] * wa + X[b] * wb) / max(wa + wb, 1e-12)
        bounds[a, 1] = bounds[b, 1]
        bounds = np.delete(bounds, b, axis=0)
        X = np.delete(X, b, axis=0)
    return bounds, X


# ---- beat-synchronous building blocks of ``merged`` (pure) ---------------------------------------

@dataclass(frozen=True)
class BeatFeatures:
    """One song's beat-synchronous features (what ``merged`` and ``novelty`` work on).

    Attributes
    ----------
    times : np.ndarray [shape=(n + 1,)]
        Edges of the ``n`` beat intervals in seconds: ``0``, the beats, the song's duration.
    harmony : np.ndarray [shape=(n, n_bins)]
        Log CQT (dB), the median of each beat interval.
    timbre : np.ndarray [shape=(n, n_mfcc)]
        MFCCs, the mean of each beat interval.
    """

    times: np.ndarray
    harmony: np.ndarray
    timbre: np.ndarray
    _recurrence: list = field(default_factory=list, init=False, repr=False, compare=False)

    def recurrence(self) -> np.ndarray:
        """:func:`harmony_recurrence` of :attr:`harmony`, computed once (``merged``'s graph and its
        repetition test both read it) [shape=(n, n)]."""
        if not self._recurrence:
            self._recurrence.append(harmony_recurrence(np.asarray(self.harmony).T))
        return self._recurrence[0]

    @property
    def n(self) -> int:
        return int(self.harmony.shape[0])

    @property
    def duration(self) -> float:
        return float(self.times[-1])


def beat_features(y: np.ndarray, sr: int, *, hop_length: int = 512, bins_per_octave: int = 12,
                  n_octaves: int = 7, n_mfcc: int = 20, beat_times: np.ndarray | None = None,
                  spectrum=None) -> BeatFeatures:
    """Beat-synchronous log CQT (harmony) and MFCC (timbre) of a song (beats tracked unless given).

    Cheaper than the gallery Laplacian's front end: 12 CQT bins per octave (not 36), one beat tracking.
    ``spectrum``: the song's :class:`sectionist.analysis.sections.features.SongSpectrum` (same ``hop_length``), whose beats
    and MFCCs are used instead of computing them again (same values).
    """
    import librosa

    from sectionist.analysis.sections.features import cqt

    duration = len(y) / sr
    spectrum = _check_spectrum(spectrum, y, sr, hop_length)
    beats = _beat_frames(y, sr, hop_length, spectrum, beat_times)
    C = librosa.amplitude_to_db(cqt(y, sr, hop_length=hop_length, bins_per_octave=bins_per_octave,
                                    n_bins=n_octaves * bins_per_octave, magnitude=True), ref=np.max)
    M = (spectrum.mfcc(n_mfcc) if spectrum is not None
         else librosa.feature.mfcc(y=y, sr=sr, hop_length=hop_length, n_mfcc=n_mfcc))
    n_frames = min(C.shape[1], M.shape[1])
    frames = librosa.util.fix_frames(np.asarray(beats), x_min=0, x_max=n_frames)
    frames = frames[frames <= n_frames]
    H = librosa.util.sync(C[:, :n_frames], frames, aggregate=np.median, pad=False)
    T = librosa.util.sync(M[:, :n_frames], frames, pad=False)
    times = librosa.frames_to_time(frames, sr=sr, hop_length=hop_length).astype(np.float64)
    times[0], times[-1] = 0.0, duration
    n = min(H.shape[1], T.shape[1], len(times) - 1)
    return BeatFeatures(times[: n + 1], H[:, :n].T.astype(np.float64), T[:, :n].T.astype(np.float64))


def checkerboard_novelty(X: np.ndarray, kernels: tuple[int, ...]) -> list[np.ndarray]:
    """:func:`sectionist.analysis.sections.features.novelty_curve` of ``X`` for each kernel half-width, from one
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


def laplacian_embedding(A: np.ndarray, *, median_size: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors of the normalised Laplacian of ``A`` (ascending eigenvalues), median-filtered
    along time over ``median_size`` rows, and their cumulative row norms (McFee & Ellis, Eq. 10).

    Row ``i`` of ``evecs[:, :k] / cnorm[:, k - 1:k]`` is beat ``i`` in the ``k``-type embedding.
    """
    import scipy.linalg
    import scipy.ndimage
    import scipy.sparse.csgraph

    L = scipy.sparse.csgraph.laplacian(A, normed=True)
    _, evecs = scipy.linalg.eigh(L)
    evecs = scipy.ndimage.median_filter(evecs, size=(median_size, 1))
    return evecs, np.cumsum(evecs ** 2, axis=1) ** 0.5


def slice_means(X: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of the rows of ``X`` over each index run ``edges[i]:edges[i + 1]`` [shape=(len(edges) − 1, d)]."""
    c = np.vstack([np.zeros((1, X.shape[1])), np.cumsum(X, axis=0)])
    e = np.asarray(edges, dtype=np.int64)
    return (c[e[1:]] - c[e[:-1]]) / np.maximum(np.diff(e), 1)[:, None]


def weighted_kmeans(X: np.ndarray, k: int, w: np.ndarray | None = None, *, n_init: int = 10, n_iter: int = 100,
                    seed: int = 0) -> np.ndarray:
    """Weighted K-Means (k-means++ starts, Lloyd iterations, best of ``n_init`` by weighted inertia).

    In NumPy for the few dozen rows of a song's slices, where scikit-learn's per-call threading
    overhead dominates. Deterministic for a given ``seed``. Returns labels 0…k−1 [shape=(n,)].
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    best, best_inertia = np.zeros(n, np.int64), np.inf
    for _unused in range(n_init):
        centres = [X[rng.choice(n, p=w / w.sum())]]
        for _unused2 in range(1, k):
            d2 = np.min(((X[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1) * w
            centres.append(X[rng.choice(n, p=d2 / d2.sum())] if d2.sum() > 0 else X[rng.integers(n)])
        C = np.asarray(centres)
        lab = np.full(n, -1)
        for _unused3 in range(n_iter):
            D = ((X[:, None, :] - C[None]) ** 2).sum(-1)
            new = D.argmin(axis=1)
            if np.array_equal(new, lab):
                break
            lab = new
            # the weighted mean of each non-empty cluster (row sums in index order, as np.average's)
            wsum = np.bincount(lab, weights=w, minlength=k)
            num = np.zeros_like(C)
            np.add.at(num, lab, X * w[:, None])
            full = wsum > 0
            C[full] = num[full] / wsum[full, None]
        inertia = float((w * ((X - C[lab]) ** 2).sum(-1)).sum())
        if inertia < best_inertia - 1e-12:
            best, best_inertia = lab.astype(np.int64), inertia
    return best


def cluster_slices(evecs: np.ndarray, cnorm: np.ndarray, edges: np.ndarray, *, k: int | None = None,
                   k_min: int = 2, k_max: int = 10, seed: int = 0) -> tuple[np.ndarray, int, np.ndarray]:
    """Cluster slices (beat index runs ``edges``) by their mean position in the Laplacian embedding.

    For each ``kk`` in ``k_min…k_max`` (at most the number of slices − 1; or only ``k``): each slice is the mean of its beats' rows of
    the ``kk``-type embedding, the slices are clustered by :func:`weighted_kmeans` into ``kk``
    (weighted by their number of beats), and the ``kk`` whose clusters have the highest silhouette over the beats (each
    beat carrying its slice's cluster, in that embedding) wins; ties go to the smaller ``kk``.
    Slices are thus alike when the recurrence graph connects their beats (repeated harmony and a
    continuous timbre path), not when their mean features are close.

    Returns the slice labels (first-appearance order), the ``k`` used and the slices' coordinates.
    """
    from scipy.spatial.distance import pdist, squareform

    m = len(edges) - 1
    w = np.diff(edges).astype(np.float64)
    beat_slice = np.repeat(np.arange(m), np.diff(edges))

    def fit(kk):
        E = evecs[:, :kk] / np.maximum(cnorm[:, kk - 1:kk], 1e-12)
        S = slice_means(E, edges)
        lab = weighted_kmeans(S, kk, w, seed=seed)
        return E, S, lab

    def beat_silhouette(E, lab):
        # every beat carries its slice's cluster: sum the beats' distances per slice first (n × m),
        # then per cluster (the silhouette of ``lab[beat_slice]`` without an n × n × k product)
        per_slice = np.add.reduceat(squareform(pdist(E)), edges[:-1], axis=1)
        _, inv = np.unique(lab, return_inverse=True)
        onehot = np.eye(inv.max() + 1)[inv]  # (m, k)
        beat_lab = inv[beat_slice]
        return _silhouette_of(per_slice @ onehot, beat_lab, np.bincount(beat_lab).astype(np.float64))

    if m < 2:
        return np.zeros(m, np.int64), 1, np.zeros((m, 1))
    if k is not None:
        kk = max(1, min(int(k), m))
        _, S, lab = fit(kk)
        return _first_order(lab), kk, S
    best = None
    for kk in range(max(2, min(k_min, m - 1)), min(k_max, m - 1) + 1):  # few slices: k_min lowered to m − 1
        E, S, lab = fit(kk)
        if np.unique(lab).size < 2:
            continue
        s = beat_silhouette(E, lab)
        if best is None or s > best[0] + 1e-9:
            best = (s, lab, kk, S)
    if best is None:
        return np.zeros(m, np.int64), 1, np.zeros((m, 1))
    return _first_order(best[1]), best[2], best[3]


# ---- the schemes -----------------------------------------------------------------------------------

def _merged_parts(y, sr, *, threshold, kernel_seconds, min_slice_seconds, window, k, k_max, k_min, min_seconds,
                  min_fraction, features=None):
    duration = len(y) / sr
    cuts = over_segment(y, sr, threshold=threshold, kernel_seconds=kernel_seconds,
                        min_slice_seconds=min_slice_seconds)
    F, fd = features if features is not None else frame_features(y, sr)
    pre, pre_labels, post, labels = merge_cuts(cuts, duration, (F, fd), window=window, k=k, k_max=k_max,
                                               k_min=k_min, min_seconds=min_seconds, min_fraction=min_fraction)
    params = dict(threshold=threshold, kernel_seconds=kernel_seconds, min_slice_seconds=min_slice_seconds,
                  window=window, k=k, k_max=k_max, k_min=k_min, min_seconds=min_seconds, min_fraction=min_fraction,
                  n_pre=len(pre), n_post=len(post), n_types=int(np.unique(labels).size),
                  pre_bounds=[round(float(c), 3) for c in pre[1:, 0]], pre_labels=[int(v) for v in pre_labels])
    return pre, pre_labels, post, labels, params


def merge_cuts(cuts, duration: float, features, *, window: int = 0, k: int | None = None, k_max: int = 8,
               k_min: int = 2, min_seconds: float = 8.0, min_fraction: float = 0.0):
    """``merged``'s steps after the over-segmentation: the slices between ``cuts`` (seconds) of a song
    of ``duration`` s are clustered on their mean :func:`frame_features` ``features`` (``(F,
    frame_dur)``), same-cluster neighbours merged (:func:`merge_slices`), short segments absorbed
    (:func:`enforce_min_length`) and the segments labelled.

    Returns
    -------
    pre, pre_labels, post, labels
        The slices (shape (n, 2)) and their clusters; the merged segments (shape (m, 2)) and theirs.
    """
    F, fd = features
    pre = _cuts_to_bounds(cuts, duration)
    X = standardise(segment_means(F, fd, pre))
    pre_labels = ward_labels(X, k, k_max=k_max, k_min=k_min)
    dur = pre[:, 1] - pre[:, 0]
    groups = merge_slices(X, dur, window=window, k=k, k_max=k_max, k_min=k_min)
    post = np.array([[pre[a, 0], pre[b - 1, 1]] for a, b in groups])
    Xp, _unused = _weighted(X, dur, groups)
    min_len = max(float(min_seconds), float(min_fraction) * duration)
    post, Xp = enforce_min_length(post, Xp, min_len)
    if window == 0:
        # the labels are the clusters the merge used (segments absorbed for length take the majority)
        labels = np.array([_majority(pre_labels, dur, pre, s, e) for s, e in post], dtype=np.int64)
        labels = _first_order(labels)
    else:
        labels = ward_labels(standardise(Xp), k, k_max=k_max, k_min=k_min)
    return pre, pre_labels, post, labels


def _majority(labels, dur, pre, s, e) -> int:
    inside = (pre[:, 0] >= s - 1e-9) & (pre[:, 1] <= e + 1e-9)
    if not inside.any():
        return int(labels[0])
    return int(pd.Series(dur[inside]).groupby(labels[inside]).sum().idxmax())


def merged_beats(bf: BeatFeatures, *, threshold: float = 1.0, kernels: tuple[int, ...] = (16, 32),
                 novelty_features: tuple[str, ...] = ("harmony", "timbre", "embedding"), embed_dims: int = 8,
                 min_slice_beats: int = 4, window: int = 0, k: int | None = None, k_min: int = 4,
                 k_max: int = 10, min_seconds: float = 6.0, min_fraction: float = 0.0, seed: int = 0,
                 repeat_min: float = 0.31) -> dict:
    """``merged`` on beat-synchronous features: every step's result (see :func:`merged_structure`).

    Returns a dict with ``nov`` (the novelty curve, one value per beat), ``edges`` (beat indices of
    the slices), ``pre`` / ``pre_labels`` (slices in seconds and their clusters), ``post`` /
    ``labels`` (merged segments), ``k``, ``groups`` (slice index runs merged), ``repeat_mass``
    (:func:`repetition_mass`) and ``repeats`` (whether labels are shared: a mass ≥ ``repeat_min``,
    or ``k`` given; otherwise every merged segment has its own label).
    """
    n = bf.n
    if n < 2 * min_slice_beats + 1:
        return _one_segment(bf)
    nov, evecs, cnorm = merged_front(bf, kernels=kernels, novelty_features=novelty_features, embed_dims=embed_dims)
    edges = slice_edges(nov, threshold=threshold, min_slice_beats=min_slice_beats)
    pre = np.stack([bf.times[edges[:-1]], bf.times[edges[1:]]], axis=1)
    pre_labels, k_used, S = cluster_slices(evecs, cnorm, edges, k=k, k_min=k_min, k_max=k_max, seed=seed)
    mass = repetition_mass(bf.harmony, recurrence=bf.recurrence())
    repeats = song_repeats(mass, k=k, repeat_min=repeat_min)
    post, labels, groups = merge_clustered(pre, pre_labels, S, bf.duration, window=window, k=k, k_min=k_min,
                                           k_max=k_max, min_seconds=min_seconds, min_fraction=min_fraction,
                                           repeats=repeats)
    return dict(nov=nov, edges=edges, pre=pre, pre_labels=pre_labels, post=post, labels=labels, k=k_used,
                groups=groups, repeat_mass=mass, repeats=repeats)


def song_repeats(mass: float, *, k: int | None, repeat_min: float) -> bool:
    """Whether ``merged`` lets segments share a label: the song's :func:`repetition_mass` is at least
    ``repeat_min`` (0.31: halfway between the most a non-repeating stretch of dev songs 0–11 reaches,
    0.21, and the least a whole song of them does, 0.42), or the number of clusters ``k`` was asked for."""
    return k is not None or mass >= float(repeat_min)


def _one_segment(bf: BeatFeatures) -> dict:
    """:func:`merged_beats`'s answer for a song too short for two slices: one segment."""
    one = np.array([[0.0, bf.duration]])
    return dict(nov=np.zeros(bf.n), edges=np.array([0, bf.n]), pre=one, pre_labels=np.zeros(1, np.int64),
                post=one.copy(), labels=np.zeros(1, np.int64), k=1, groups=[(0, 1)], repeat_mass=0.0, repeats=False)


def merged_front(bf: BeatFeatures, *, kernels: tuple[int, ...] = (16, 32),
                 novelty_features: tuple[str, ...] = ("harmony", "timbre", "embedding"),
                 embed_dims: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of :func:`merged_beats` that no threshold, slice length, K or merge setting changes:
    the beats' :func:`laplacian_embedding` and the :func:`multiscale_novelty` curve (the segmentation
    lab computes it once per song). Returns ``(nov, evecs, cnorm)``."""
    n = bf.n
    A = laplacian_affinity(bf.harmony.T, bf.timbre.T, recurrence=bf.recurrence())
    evecs, cnorm = laplacian_embedding(A)
    d = max(1, min(int(embed_dims), n))
    sources = {"harmony": lambda: standardise(bf.harmony), "timbre": lambda: standardise(bf.timbre),
               "embedding": lambda: evecs[:, :d] / np.maximum(cnorm[:, d - 1:d], 1e-12)}
    unknown = set(novelty_features) - set(sources)
    if unknown or not novelty_features:
        raise ParameterError(f"novelty_features={novelty_features}: choose among {', '.join(sources)}")
    nov = multiscale_novelty([sources[f]() for f in novelty_features], kernels)
    return nov, evecs, cnorm


def slice_edges(nov: np.ndarray, *, threshold: float, min_slice_beats: int) -> np.ndarray:
    """Beat indices ``0, peaks…, n`` of the slices cut at :func:`novelty_peaks` of ``nov`` (one value per beat)."""
    peaks = novelty_peaks(nov, threshold=threshold, min_distance=int(min_slice_beats))
    return np.concatenate([[0], peaks, [len(nov)]]).astype(np.int64)


def merge_clustered(pre: np.ndarray, pre_labels: np.ndarray, S: np.ndarray, duration: float, *, window: int = 0,
                    k: int | None = None, k_min: int = 4, k_max: int = 10, min_seconds: float = 6.0,
                    min_fraction: float = 0.0, repeats: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """:func:`merged_beats`'s steps after :func:`cluster_slices`: neighbours of the same cluster merged
    (``window`` 0: runs of ``pre_labels``; else :func:`merge_slices` on the slice coordinates ``S``),
    segments shorter than ``max(min_seconds, min_fraction × duration)`` absorbed, each labelled by its
    majority slice cluster — or, when the song ``repeats`` no part (:func:`song_repeats`), each by its
    own label. Returns ``(post, labels, groups)``."""
    dur = pre[:, 1] - pre[:, 0]
    if window == 0:
        groups = _runs(pre_labels)
    else:
        groups = merge_slices(S, dur, window=window, k=k, k_max=k_max, k_min=k_min)
    post = np.array([[pre[a, 0], pre[b - 1, 1]] for a, b in groups])
    Sp, _unused = _weighted(S, dur, groups)
    min_len = max(float(min_seconds), float(min_fraction) * duration)
    post, _unused = enforce_min_length(post, Sp, min_len)
    if not repeats:
        return post, np.arange(len(post), dtype=np.int64), groups
    labels = _first_order(np.array([_majority(pre_labels, dur, pre, s, e) for s, e in post], dtype=np.int64))
    # absorbing short segments can leave two neighbours of one cluster: merge until nothing more merges
    runs = _runs(labels)
    if len(runs) < len(labels):
        post = np.array([[post[a, 0], post[b - 1, 1]] for a, b in runs])
        labels = _first_order(labels[[a for a, _b in runs]])
    return post, labels, groups


def _merged_params(bf: BeatFeatures, kw: dict, r: dict) -> dict:
    return dict(**{key: (list(v) if isinstance(v, tuple) else v) for key, v in kw.items()}, version=MERGED_VERSION,
                n_beats=bf.n, k_used=int(r["k"]), repeat_mass=round(float(r["repeat_mass"]), 4),
                repeats=bool(r["repeats"]), n_pre=len(r["pre"]), n_post=len(r["post"]),
                n_types=int(np.unique(r["labels"]).size),
                pre_bounds=[round(float(c), 3) for c in r["pre"][1:, 0]], pre_labels=[int(v) for v in r["pre_labels"]])


#: The most beat intervals a structure scheme works on. Its graphs are n × n and the Laplacian's
#: eigendecomposition costs n³: a 60-minute mix (~7 000 beats) took 5.1 GB and 211 s in one worker
#: (bench/worker_memory.py). Past it every k-th beat is kept, k the smallest that fits, so the units
#: of a long file are bars or phrases; a song under ~17 minutes at 120 bpm keeps every beat.
MAX_BEATS = 2048


def coarsen_beats(beats: np.ndarray, max_beats: int = MAX_BEATS) -> np.ndarray:
    """``beats`` when there are at most ``max_beats``, else every k-th of them (k = ⌈n / max_beats⌉)."""
    beats = np.asarray(beats)
    if len(beats) <= max_beats:
        return beats
    return beats[::-(-len(beats) // int(max_beats))]


def _beat_frames(y, sr, hop_length, spectrum, beat_times) -> np.ndarray:
    """Beat frames of the song: from ``beat_times`` when given, else the shared SongSpectrum's beat
    tracking, else librosa's beat tracker on ``y``; at most :data:`MAX_BEATS` (:func:`coarsen_beats`)."""
    import librosa

    if beat_times is not None:
        beats = librosa.time_to_frames(np.asarray(beat_times), sr=sr, hop_length=hop_length)
    elif spectrum is not None:
        beats = spectrum.beat_frames()
    else:
        _, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop_length, trim=False)
    return coarsen_beats(beats)


def _check_spectrum(spectrum, y, sr, hop_length):
    """``spectrum`` (a SongSpectrum or None), refused when it was computed from other samples or another hop."""
    if spectrum is not None and not spectrum.matches(y, sr, hop_length):
        raise ParameterError(f"spectrum: not the SongSpectrum of this song at sr={sr} and hop_length={hop_length}")
    return spectrum


def _beat_input(y, sr, features, beat_times) -> BeatFeatures:
    if features is None:
        return beat_features(y, sr, beat_times=beat_times)
    if not isinstance(features, BeatFeatures):
        raise ParameterError("features: expected the BeatFeatures of sectionist.analysis.structure.beat_features(y, sr) "
                             f"(got {type(features).__name__}; frame_features() is not used by merged since version 2)")
    return features


#: Version of ``merged``/``novelty`` (2: beat-synchronous features, multi-scale novelty, slices clustered
#: in the Laplacian embedding of the recurrence graph, K ≥ 4, segments ≥ 6 s; 3: a song whose
#: repetition_mass is under repeat_min repeats no part, so each merged segment keeps its own label; 4:
#: neighbours left in one cluster after short segments are absorbed are merged too).
MERGED_VERSION = 4


@STRUCTURES.register("merged", version=MERGED_VERSION,
                     help="novelty over-segmentation on beats, then cluster the slices and merge same-cluster neighbours")
def merged_structure(y: np.ndarray, sr: int, *, threshold: float = 1.0, kernels: tuple[int, ...] = (16, 32),
                     novelty_features: tuple[str, ...] = ("harmony", "timbre", "embedding"), embed_dims: int = 8,
                     min_slice_beats: int = 4, window: int = 0, k: int | None = None, k_min: int = 4,
                     k_max: int = 10, min_seconds: float = 6.0, min_fraction: float = 0.0, repeat_min: float = 0.31,
                     features: BeatFeatures | None = None, beat_times: np.ndarray | None = None, **_) -> Structure:
    """Over-segment with novelty on beats, cluster the slices, merge neighbours of the same cluster.

    1. :func:`beat_features`: beat-synchronous log CQT (harmony) and MFCC (timbre).
    2. :func:`laplacian_affinity` (recurrence of the harmony, path-enhanced, plus the timbre path) and
       its :func:`laplacian_embedding`.
    3. Over-segmentation: :func:`multiscale_novelty` (checkerboard kernels of ``kernels`` beats on the
       standardised harmony, timbre and the ``embed_dims``-dimensional embedding — ``novelty_features``),
       :func:`novelty_peaks` at least ``min_slice_beats`` apart with a prominence above ``threshold`` ×
       the curve's MAD. Slices start and end on beats.
    4. :func:`cluster_slices`: each slice is the mean of its beats in the embedding, K-Means, K by
       the silhouette over ``k_min…k_max`` (or ``k``).
    5. Neighbours of the same cluster merge — over the whole song (``window=0``) or over a sliding
       window of ``window`` slices, hop 1, repeated until nothing more merges (:func:`merge_slices`).
    6. Segments shorter than ``max(min_seconds, min_fraction × duration)`` join their more similar
       neighbour (:func:`enforce_min_length`); labels: each segment's majority slice cluster — unless
       the song repeats no part (its :func:`repetition_mass` under ``repeat_min``, K automatic): then
       every segment has its own label (:func:`song_repeats`).

    Defaults chosen on songs 0–11 of the development corpus only (docs/evaluate.md).

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
    features : BeatFeatures, optional
        Precomputed :func:`beat_features` (reused across schemes and parameter sweeps).
    beat_times : np.ndarray, optional
        Beat times in seconds (else tracked).

    Returns
    -------
    Structure
        The merged segments and their clusters; ``params["pre_bounds"]``/``["pre_labels"]`` hold the
        over-segmentation.
    """
    bf = _beat_input(y, sr, features, beat_times)
    kw = dict(threshold=threshold, kernels=tuple(kernels), novelty_features=tuple(novelty_features),
              embed_dims=embed_dims, min_slice_beats=min_slice_beats, window=window, k=k, k_min=k_min, k_max=k_max,
              min_seconds=min_seconds, min_fraction=min_fraction, repeat_min=repeat_min)
    r = merged_beats(bf, **kw)
    return Structure(r["post"], r["labels"], _merged_params(bf, kw, r))


@STRUCTURES.register("novelty", version=MERGED_VERSION,
                     help="merged's novelty over-segmentation before merging, with the same clusters")
def novelty_structure(y: np.ndarray, sr: int, *, threshold: float = 1.0, kernels: tuple[int, ...] = (16, 32),
                      novelty_features: tuple[str, ...] = ("harmony", "timbre", "embedding"), embed_dims: int = 8,
                      min_slice_beats: int = 4, k: int | None = None, k_min: int = 4, k_max: int = 10,
                      features: BeatFeatures | None = None, beat_times: np.ndarray | None = None, **_) -> Structure:
    """The over-segmentation ``merged`` starts from (same threshold), labelled by the same slice clusters."""
    bf = _beat_input(y, sr, features, beat_times)
    kw = dict(threshold=threshold, kernels=tuple(kernels), novelty_features=tuple(novelty_features),
              embed_dims=embed_dims, min_slice_beats=min_slice_beats, k=k, k_min=k_min, k_max=k_max)
    r = merged_beats(bf, **kw)
    params = {key: (list(v) if isinstance(v, tuple) else v) for key, v in kw.items()}
    return Structure(r["pre"], r["pre_labels"], dict(params, version=MERGED_VERSION, k_used=int(r["k"])))


def harmony_recurrence(Csync: np.ndarray) -> np.ndarray:
    """The recurrence part of :func:`laplacian_affinity`: mutual k-NN affinity of the beats' log CQT
    (``Csync``, shape (d, n_beats); width 3), median-filtered over 7 beats along the time lag."""
    import librosa
    import scipy.ndimage

    R = librosa.segment.recurrence_matrix(Csync, width=3, mode="affinity", sym=True)
    return librosa.segment.timelag_filter(scipy.ndimage.median_filter)(R, size=(1, 7))


def repetition_mass(harmony: np.ndarray, *, min_lag: int = 32, recurrence: np.ndarray | None = None) -> float:
    """How much a song repeats itself: the share of :func:`harmony_recurrence`'s affinity (of the
    beat-synchronous ``harmony``, shape (n_beats, d)) between beats more than ``min_lag`` beats apart.

    A song whose parts come back links beats far apart (0.42–0.65 on the development corpus's songs
    0–11); a song that plays each part once links mostly near neighbours (at most 0.21 on the
    first, non-repeating parts of those songs). ``merged`` reads a mass under ``repeat_min`` as a song
    that repeats no part (:func:`merged_beats`). ``recurrence``: :func:`harmony_recurrence` of
    ``harmony`` when it was computed already (:meth:`BeatFeatures.recurrence`).
    """
    n = harmony.shape[0]
    if n < 7:  # too short for the recurrence graph (width 3): nothing to repeat
        return 0.0
    R = harmony_recurrence(np.asarray(harmony).T) if recurrence is None else recurrence
    i, j = np.nonzero(R)
    total = float(R[i, j].sum())
    return float(R[i, j][np.abs(i - j) > int(min_lag)].sum() / total) if total > 0 else 0.0


def laplacian_affinity(Csync: np.ndarray, Msync: np.ndarray, *, recurrence: np.ndarray | None = None) -> np.ndarray:
    """McFee & Ellis's balanced graph: recurrence (path-enhanced) + MFCC path similarity (Eq. 2–9).

    Parameters
    ----------
    Csync : np.ndarray [shape=(d, n_beats)]
        Beat-synchronous log CQT.
    Msync : np.ndarray [shape=(d', n_beats)]
        Beat-synchronous MFCCs.
    recurrence : np.ndarray, optional
        :func:`harmony_recurrence` of ``Csync`` when it was computed already.
    """
    Rf = harmony_recurrence(Csync) if recurrence is None else recurrence
    path_distance = np.sum(np.diff(Msync, axis=1) ** 2, axis=0)
    sigma = np.median(path_distance)
    path_sim = np.exp(-path_distance / (sigma if sigma > 0 else 1.0))
    R_path = np.diag(path_sim, k=1) + np.diag(path_sim, k=-1)
    deg_path, deg_rec = R_path.sum(axis=1), Rf.sum(axis=1)
    mu = deg_path.dot(deg_path + deg_rec) / max(np.sum((deg_path + deg_rec) ** 2), 1e-12)
    return mu * Rf + (1 - mu) * R_path


def laplacian_labels(A: np.ndarray, *, k: int | None = None, k_min: int = 3, k_max: int = 10,
                     seed: int = 0) -> tuple[np.ndarray, int]:
    """Segment types of each beat from the normalised Laplacian of ``A`` (Eq. 10, Algorithm 1).

    ``k`` given, or chosen per song: the ``k`` in ``k_min…k_max`` whose K-Means labels have the
    highest silhouette in their own embedding (the first ``k`` normalised eigenvectors; ties go to
    the smaller ``k``; ``k_min`` = 3 because 2 under-segmented songs 0–11 of the development corpus:
    HR F 0.5 s 0.54 → 0.81, pairwise F 0.66 → 0.81 on its even songs). Returns the beat labels and the
    ``k`` used.
    """
    import scipy.linalg
    import scipy.ndimage
    import scipy.sparse.csgraph
    from scipy.spatial.distance import pdist, squareform
    from sklearn.cluster import KMeans

    L = scipy.sparse.csgraph.laplacian(A, normed=True)
    _, evecs = scipy.linalg.eigh(L)
    evecs = scipy.ndimage.median_filter(evecs, size=(9, 1))
    Cnorm = np.cumsum(evecs ** 2, axis=1) ** 0.5
    n = A.shape[0]

    def fit(kk):
        X = evecs[:, :kk] / np.maximum(Cnorm[:, kk - 1:kk], 1e-12)
        return X, KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(X)

    if k is not None:
        k = max(1, min(int(k), n))
        return fit(k)[1], k
    best, best_k, best_s = np.zeros(n, np.int64), 1, -np.inf
    for kk in range(k_min, min(k_max, n - 1) + 1):
        X, lab = fit(kk)
        if np.unique(lab).size < 2:
            continue
        s = silhouette(squareform(pdist(X)), lab)
        if s > best_s + 1e-9:
            best, best_k, best_s = lab, kk, s
    return best, best_k


@STRUCTURES.register("laplacian", help="McFee & Ellis (2014) Laplacian segmentation on beat-synchronous CQT/MFCC")
def laplacian_structure(y: np.ndarray, sr: int, *, k: int | None = None, k_min: int = 3, k_max: int = 10,
                        beat_times: np.ndarray | None = None, spectrum=None, **_) -> Structure:
    """McFee & Ellis (2014) spectral structure on beat-synchronous features (librosa's gallery method).

    Log CQT (36 bins/octave, 7 octaves) and MFCCs are aggregated between beats (median, mean);
    :func:`laplacian_affinity` builds the graph, :func:`laplacian_labels` labels each beat interval;
    segments are runs of equal labels. Songs with fewer than 12 beat intervals are one segment.
    ``spectrum``: the song's :class:`sectionist.analysis.sections.features.SongSpectrum` (hop 512): beats and MFCCs from it.
    """
    import librosa

    from sectionist.analysis.sections.features import cqt

    duration = len(y) / sr
    hop = 512
    spectrum = _check_spectrum(spectrum, y, sr, hop)
    beats = _beat_frames(y, sr, hop, spectrum, beat_times)
    C = librosa.amplitude_to_db(cqt(y, sr, hop_length=hop, bins_per_octave=36, n_bins=7 * 36, magnitude=True), ref=np.max)
    beats = librosa.util.fix_frames(np.asarray(beats), x_min=0, x_max=C.shape[1])
    if len(beats) < 13:
        return Structure(np.array([[0.0, duration]]), np.zeros(1, np.int64), dict(k=1, n_beats=len(beats)))
    Csync = librosa.util.sync(C, beats, aggregate=np.median)
    mfcc = spectrum.mfcc(20) if spectrum is not None else librosa.feature.mfcc(y=y, sr=sr, hop_length=hop)
    Msync = librosa.util.sync(mfcc, beats)
    n = min(Csync.shape[1], Msync.shape[1])
    lab, k_used = laplacian_labels(laplacian_affinity(Csync[:, :n], Msync[:, :n]), k=k, k_min=k_min, k_max=k_max)
    t = librosa.frames_to_time(beats, sr=sr, hop_length=hop)
    t = np.append(t[:n], duration)  # interval i spans t[i]..t[i+1]; the last runs to the end
    t[0] = 0.0
    runs = _runs(lab)
    bounds = np.array([[t[a], t[b]] for a, b in runs])
    bounds[-1, 1] = duration
    return Structure(bounds, _first_order(lab[[a for a, _ in runs]]), dict(k=k_used, k_max=k_max, n_beats=int(n)))


@STRUCTURES.register("kmeans15", help="baseline: fixed 15 s sections, K-Means per song on classical features")
def kmeans15_structure(y: np.ndarray, sr: int, *, section_seconds: float = 15.0, k: int | None = None,
                       k_max: int = 10, seed: int = 0, **_) -> Structure:
    """Fixed sections of ``section_seconds`` clustered per song by K-Means on their classical features.

    Features: the ``classical`` space's statistics (:func:`sectionist.analysis.sections.features.section_features`),
    standardised per song; K chosen by the silhouette over 2…``k_max`` unless given.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from sectionist.analysis.sections.features import FeatureParams, section_features

    if section_seconds <= 0:
        raise ParameterError(f"section_seconds={section_seconds}: must be > 0")
    duration = len(y) / sr
    starts = np.arange(0.0, duration - section_seconds / 2 + 1e-9, section_seconds)  # as the fixed scheme
    bounds = np.stack([starts, starts + section_seconds], axis=1) if starts.size else np.array([[0.0, duration]])
    bounds[-1, 1] = duration  # a short tail (≤ half a section) joins the last section
    feats = section_features(y, np.round(bounds * sr).astype(np.int64), FeatureParams(sr=sr))
    X = standardise(feats.select_dtypes("number").to_numpy(np.float64))
    n = len(X)
    if k is not None or n < 4:
        kk = max(1, min(int(k or 1), n))
        lab = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(X) if n > 1 else np.zeros(n, int)
    else:
        best_s, lab = -np.inf, np.zeros(n, int)
        for kk in range(2, min(k_max, n - 1) + 1):
            cand = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(X)
            if np.unique(cand).size > 1 and (s := silhouette_score(X, cand)) > best_s:
                best_s, lab = s, cand
    return Structure(bounds, _first_order(lab), dict(section_seconds=section_seconds, k=k, k_max=k_max))


def compute_structure(y: np.ndarray, sr: int, scheme: str, **params) -> Structure:
    """Run the structure scheme ``scheme`` (unknown: ParameterError listing the known ones)."""
    return STRUCTURES[scheme].func(y, sr, **params)


def segment_rows(song_id: str, scheme: str, result: Structure) -> pd.DataFrame:
    """Rows of the :data:`~sectionist.store.schema.SEGMENTS` table for one song and scheme."""
    k = len(result.bounds)
    blob = json.dumps({key: v for key, v in result.params.items() if key != "features"}, sort_keys=True)
    return pd.DataFrame({
        "song_id": song_id, "scheme": scheme, "index": np.arange(k, dtype=np.int32),
        "start_s": result.bounds[:, 0].astype(np.float64), "end_s": result.bounds[:, 1].astype(np.float64),
        "label": np.asarray(result.labels, dtype=np.int64), "n_types": np.int32(result.n_types), "params": blob,
    })


def song_segments(song_id: str, y: np.ndarray, sr: int, schemes, *, spectrum=None) -> dict:
    """Table parts ``{(SEGMENTS, part): rows}`` of one song for each scheme (frame features shared;
    ``spectrum``, the song's :class:`sectionist.analysis.sections.features.SongSpectrum` at hop 512, shares beats and MFCCs)."""
    parts, feats = {}, None
    for scheme in schemes:
        spec = STRUCTURES[scheme]
        kw = {}
        if scheme in ("merged", "novelty"):
            feats = feats or beat_features(y, sr, spectrum=spectrum)
            kw["features"] = feats
        elif scheme == "laplacian":
            kw["spectrum"] = spectrum
        parts[(SEGMENTS, SEGMENTS.part(scheme=scheme, song_id=song_id))] = segment_rows(
            song_id, scheme, spec.func(y, sr, **kw))
    return parts


# ---- a store ---------------------------------------------------------------------------------------

def segment_store(store, schemes=DEFAULT_SCHEMES, *, force: bool = False, sample_rate: int = 22050,
                  progress: bool = True) -> dict:
    """(Re)compute the structure segmentations of every analysed song of ``store`` from its audio.

    Resumable: a song whose part of a scheme exists and was written by the scheme's current
    :attr:`StructureSpec.version` is skipped unless ``force``. A song that fails
    (missing or unreadable audio) is reported and the others go on.

    Returns
    -------
    dict
        ``written``: list of (song_id, scheme); ``skipped``: count; ``failed``: list of (song_id, title, reason).
    """
    from tqdm.auto import tqdm

    from sectionist.analysis.corpus.audio import load_audio

    schemes = [STRUCTURES[s].name for s in schemes]  # unknown names fail before any work
    if SONGS not in store.tables():
        raise SectionistError(f"{store.uri}: no analysed songs (run 'sectionist analyze' first)")
    songs = store.read_table(SONGS, columns=["song_id", "uri", "title"])
    written, failed, skipped = [], [], 0
    for song in tqdm(songs.sort_values("title").to_dict("records"), desc="segment", unit="song",
                     disable=not progress):
        sid = song["song_id"]
        todo = [s for s in schemes if force or not _current_part(store, s, sid)]
        skipped += len(schemes) - len(todo)
        if not todo:
            continue
        try:
            y, sr = load_audio(str(song["uri"]), sample_rate)
            parts = song_segments(sid, y, sr, todo)
        except (SectionistError, OSError, ValueError) as exc:
            failed.append((sid, song.get("title"), str(exc)))
            continue
        for (table, part), df in parts.items():
            store.write_part(table, part, df)
            written.append((sid, part.split("/")[0]))
    return {"written": written, "skipped": skipped, "failed": failed}


def _current_part(store, scheme: str, song_id: str) -> bool:
    """Whether the song's part of ``scheme`` exists and was written by the scheme's current version."""
    part = SEGMENTS.part(scheme=scheme, song_id=song_id)
    if not store.has_part(SEGMENTS, part):
        return False
    version = STRUCTURES[scheme].version
    if version == 1:
        return True
    rows = store.read_part(SEGMENTS, part, columns=["params"])
    try:
        return len(rows) > 0 and json.loads(rows["params"].iloc[0]).get("version") == version
    except (ValueError, TypeError, KeyError):
        return False


def register_cli(sub, options) -> None:
    p = sub.add_parser(
        "segment", help="per-song structure segmentations (merged, laplacian, …) of an analysed store",
        description="Cut each analysed song into segments with per-song structure labels (which segments "
        "are the same part) and store them in the 'segments' table, one part per scheme and song. "
        "Schemes: " + "; ".join(f"{k}: {v.help}" for k, v in sorted(STRUCTURES.items())) + ". "
        "Resumable: songs already segmented by the scheme's current version are skipped (--force "
        "recomputes); a song whose "
        "audio cannot be read is reported and the others go on.")
    options.store(p)
    p.add_argument("--scheme", nargs="+", default=list(DEFAULT_SCHEMES), metavar="S",
                   help=f"structure schemes ({', '.join(sorted(STRUCTURES))}) [{' '.join(DEFAULT_SCHEMES)}]")
    p.add_argument("--force", action="store_true", help="recompute songs already segmented")
    p.add_argument("--sample-rate", type=int, default=22050, help="analysis rate in Hz [22050]")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_segment)


def cmd_segment(args) -> int:
    from sectionist.store import open_store

    t0 = time.perf_counter()
    for s in args.scheme:
        STRUCTURES[s]  # unknown: ParameterError listing the valid schemes, before the store is opened
    settings = getattr(args, "settings", None)  # S3 endpoint, region, read cache
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    res = segment_store(store, args.scheme, force=args.force, sample_rate=args.sample_rate, progress=not args.quiet)
    print(f"segmented {len({s for s, _ in res['written']})} songs ({len(res['written'])} parts) in "
          f"{time.perf_counter() - t0:.1f} s; {res['skipped']} parts already there; {len(res['failed'])} failed")
    for sid, title, reason in res["failed"]:
        print(f"failed: {title} ({sid}): {reason}")
    return 1 if res["failed"] else 0
