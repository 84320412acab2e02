"""Pure helpers the structure schemes share: frame features and segment means, standardising,
Ward and weighted K-Means clusters, the silhouette, label runs, merging slices, absorbing short
segments, the strain grid of a sequence of unit labels and short edge segments joined to their
neighbours (arrays in, arrays out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError


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
        return np.zeros(n, np.int64) if k is None or n < 2 else first_order(np.arange(n) % max(1, min(k, n)))
    Z = linkage(X, method="ward")
    if k is not None:
        return first_order(fcluster(Z, t=min(int(k), n), criterion="maxclust"))
    D = squareform(pdist(X))
    best, best_s = np.zeros(n, np.int64), -np.inf
    for kk in range(min(k_min, n - 1), min(k_max, n - 1) + 1):
        lab = fcluster(Z, t=kk, criterion="maxclust")
        if np.unique(lab).size < 2:
            continue
        s = silhouette(D, lab)
        if s > best_s + 1e-12:
            best, best_s = lab, s
    return first_order(best)


def silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient from a square distance matrix (as scikit-learn's, singletons 0)."""
    _, lab = np.unique(labels, return_inverse=True)
    onehot = np.eye(lab.max() + 1)[lab]  # (n, k)
    return silhouette_of(D @ onehot, lab, onehot.sum(axis=0))


def silhouette_of(sums: np.ndarray, lab: np.ndarray, sizes: np.ndarray) -> float:
    """The silhouette from each point's summed distance to every cluster ``sums`` [shape=(n, k)], the
    points' clusters ``lab`` (0…k−1) and the clusters' sizes."""
    own = sizes[lab]
    a = sums[np.arange(len(lab)), lab] / np.maximum(own - 1, 1)
    other = sums / sizes
    other[np.arange(len(lab)), lab] = np.inf
    b = other.min(axis=1)
    sil = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(sil.mean())


def first_order(labels) -> np.ndarray:
    """Labels renumbered 0, 1, … in order of first appearance."""
    labels = np.asarray(labels)
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inv].astype(np.int64)


def label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """``[i, j)`` index runs of equal consecutive labels."""
    cut = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    edges = np.concatenate([[0], cut, [len(labels)]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def weighted_means(X: np.ndarray, w: np.ndarray, groups: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Duration-weighted means of ``X`` over index groups, and the groups' total weights."""
    out = np.array([np.average(X[a:b], axis=0, weights=w[a:b]) for a, b in groups])
    return out, np.array([w[a:b].sum() for a, b in groups])


def majority_label(labels, dur, pre, s, e) -> int:
    """The label of ``labels`` (one per slice ``pre``, lengths ``dur``) covering most of ``[s, e]``."""
    inside = (pre[:, 0] >= s - 1e-9) & (pre[:, 1] <= e + 1e-9)
    if not inside.any():
        return int(labels[0])
    return int(pd.Series(dur[inside]).groupby(labels[inside]).sum().idxmax())


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
        return label_runs(ward_labels(X, k, k_max=k_max, k_min=k_min))
    groups = [(i, i + 1) for i in range(n)]
    for _ in range(max_passes):
        G, _w = weighted_means(X, durations, groups)
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


def strain_grid(lab: np.ndarray, unit: int, lines=(), first: int = 0, *, min_beats: float = 16, max_beats: float = 64,
                match: float = 0.75, share: float = 0.75) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    """Sections as a grid of equal blocks of units that are played twice in a row (the strains of a
    fiddle tune played AABB), or None when no such grid explains the song.

    For each block length of ``min_beats``…``max_beats`` beats (whole units of ``unit`` beats) and
    each phase, the full blocks are compared with their neighbours: a block is played again next to
    itself when at least ``match`` of its units have the label of the neighbour's unit in the same place.
    Of the grids where at least ``share`` of the blocks are played again next to themselves (two pairs
    at least), the one kept has the largest mean share of units a block has in common with its closer
    neighbour (ties: a block starting at unit ``first``,
    the song's first full unit; then the most block lines on ``lines``, the unit indices where
    phrases start; then the shorter block, then the first phase). Returns the
    blocks (unit index runs ``[a, b)``; a partial block before the phase and after the last full one)
    and their labels: a block takes the label of the first earlier block it matches, else a new one."""
    lab = np.asarray(lab)
    m = len(lab)
    lines = set(int(v) for v in lines)
    best = None
    for size in range(max(1, int(np.ceil(min_beats / unit))), int(max_beats // unit) + 1):
        for phase in range(size):
            starts = list(range(phase, m - size + 1, size))
            if len(starts) < 4:
                continue
            blocks = np.array([lab[s:s + size] for s in starts])
            sim = (blocks[1:] == blocks[:-1]).mean(axis=1)
            near = np.zeros(len(starts))
            near[1:] = sim
            near[:-1] = np.maximum(near[:-1], sim)
            if (sim >= match).sum() < 2 or float((near >= match).mean()) < share:
                continue
            key = (round(float(near.mean()), 9), phase == first % size, float(np.mean([v in lines for v in starts])))
            if best is None or key > best[0]:
                best = (key, size, phase, starts)
    if best is None:
        return None
    _key, size, phase, starts = best
    spans = ([(0, phase)] if phase > 0 else []) + [(s, s + size) for s in starts]
    if spans[-1][1] < m:
        spans.append((spans[-1][1], m))
    labels, seen = [], []
    for a, b in spans:
        key = lab[a:b]
        hit = next((k for k, (c, d) in enumerate(seen) if d - c == b - a and np.mean(lab[c:d] == key) >= match), None)
        if hit is None:
            seen.append((a, b))
            hit = len(seen) - 1
        labels.append(hit)
    return spans, first_order(np.array(labels, dtype=np.int64))


def edge_keep(bounds: np.ndarray, share: float) -> np.ndarray:
    """Which segments of ``bounds`` (seconds) to keep as they are: all but a first or last one shorter
    than ``share`` × the median length of the others (a pickup before the first full unit, a final
    chord ringing on), which joins its neighbour."""
    lengths = np.diff(np.asarray(bounds, dtype=np.float64), axis=1).ravel()
    keep = np.ones(len(lengths), bool)
    if len(lengths) < 3:
        return keep
    inner = float(np.median(lengths[1:-1]))
    keep[0] = lengths[0] >= share * inner
    keep[-1] = lengths[-1] >= share * inner
    return keep


def absorb_edges(bounds, labels, conf, keep):
    """``bounds``, ``labels`` and ``conf`` with a first or last segment that ``keep`` drops joined to
    its neighbour (which keeps its label), labels renumbered in first-appearance order."""
    bounds, labels, conf = np.array(bounds, dtype=np.float64), np.asarray(labels), np.asarray(conf, dtype=np.float64)
    if len(bounds) > 1 and not keep[0]:
        bounds[1, 0] = bounds[0, 0]
        bounds, labels, conf, keep = bounds[1:], labels[1:], conf[1:], keep[1:]
    if len(bounds) > 1 and not keep[-1]:
        bounds[-2, 1] = bounds[-1, 1]
        bounds, labels, conf = bounds[:-1], labels[:-1], conf[:-1]
    return bounds, first_order(labels), conf
