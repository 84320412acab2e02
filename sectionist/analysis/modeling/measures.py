"""Measures every run stores: silhouettes, cluster quality, frame-label modes and co-assignment stability.

Pure helpers over arrays; they know nothing about the store.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from sectionist.analysis.modeling.kernels import sq_distances


#: Above this many rows, the silhouette is estimated from a fixed-size sample.
SILHOUETTE_EXACT_MAX = 8000
SILHOUETTE_SAMPLE = 4000


def mean_silhouette(X, labels, random_state) -> float:
    from sklearn.metrics import silhouette_score

    ok = labels >= 0
    if len(np.unique(labels[ok])) < 2 or ok.sum() < 3:
        return float("nan")
    sample = SILHOUETTE_SAMPLE if ok.sum() > SILHOUETTE_EXACT_MAX else None
    return float(silhouette_score(X[ok], labels[ok], sample_size=sample, random_state=random_state))


def silhouette_per_sample(X: np.ndarray, labels: np.ndarray, *, max_exact: int = SILHOUETTE_EXACT_MAX,
                          reference_size: int = SILHOUETTE_SAMPLE, random_state=0) -> np.ndarray:
    """Silhouette of every row; noise rows (label −1) get NaN.

    Up to ``max_exact`` rows this is sklearn's exact ``silhouette_samples``. Above, each row's
    mean intra- and nearest-cluster distances are estimated against a seeded, cluster-stratified
    reference sample of about ``reference_size`` rows (cost O(n · reference_size) instead of O(n²)).

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
    labels : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    from sklearn.metrics import silhouette_samples

    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(len(labels), np.nan)
    ok = labels >= 0
    present = np.unique(labels[ok])
    if len(present) < 2:
        return out
    if ok.sum() <= max_exact:
        out[ok] = silhouette_samples(X[ok], labels[ok])
        return out
    rng = np.random.default_rng(random_state)
    Xo, lo = X[ok], labels[ok]
    ref_idx = []
    frac = reference_size / len(lo)
    for c in present:
        members = np.flatnonzero(lo == c)
        take = max(2, int(round(len(members) * frac)))
        ref_idx.append(rng.choice(members, min(take, len(members)), replace=False))
    ref = np.concatenate(ref_idx)
    Xr, lr = Xo[ref], lo[ref]
    col = {c: np.flatnonzero(lr == c) for c in present}
    sil = np.empty(len(lo))
    for start in range(0, len(lo), 4096):
        block = Xo[start:start + 4096]
        D = np.sqrt(sq_distances(block, Xr))
        means = np.stack([D[:, col[c]].mean(axis=1) for c in present], axis=1)
        own = np.searchsorted(present, lo[start:start + 4096])
        rows = np.arange(len(block))
        a = means[rows, own]
        # the row itself may be in the reference sample: correct its own-cluster mean for the zero
        n_own = np.array([len(col[c]) for c in present])[own]
        in_ref = np.isin(np.arange(start, start + len(block)), ref)
        a = np.where(in_ref & (n_own > 1), a * n_own / np.maximum(n_own - 1, 1), a)
        means[rows, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        sil[start:start + 4096] = np.nan_to_num(s, nan=0.0)
    out[ok] = sil
    return out


def cluster_quality(X: np.ndarray, labels: np.ndarray, *, random_state=0) -> dict:
    """Silhouette (sampled above 8000 rows), Davies–Bouldin and Calinski–Harabasz, noise excluded.

    Undefined values (fewer than two clusters) are NaN.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    labels = np.asarray(labels)
    ok = labels >= 0
    res = {"silhouette": float("nan"), "davies_bouldin": float("nan"), "calinski_harabasz": float("nan")}
    if len(np.unique(labels[ok])) < 2:
        return res
    res["silhouette"] = mean_silhouette(np.asarray(X, dtype=np.float64), labels, random_state)
    res["davies_bouldin"] = float(davies_bouldin_score(X[ok], labels[ok]))
    res["calinski_harabasz"] = float(calinski_harabasz_score(X[ok], labels[ok]))
    return res


def mode_labels(groups: np.ndarray, frame_labels: np.ndarray, frame_distances: np.ndarray,
                n_groups: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label each group (section) by the most frequent label of its frames.

    Ties are broken deterministically: among the tied clusters, the one whose centre has the
    smallest summed distance to the group's frames wins (then the smallest cluster number).
    Noise frames (label −1) do not vote; a group with only noise frames gets −1.

    Parameters
    ----------
    groups : np.ndarray [shape=(n_frames,)], int
        Group (section) index of each frame, in 0 … n_groups − 1.
    frame_labels : np.ndarray [shape=(n_frames,)], int
        Cluster of each frame, −1 = noise.
    frame_distances : np.ndarray [shape=(n_frames, k)]
        Distance of each frame to each cluster centre.
    n_groups : int, optional
        Number of groups (default ``groups.max() + 1``).

    Returns
    -------
    labels : np.ndarray [shape=(n_groups,)], int
    distribution : np.ndarray [shape=(n_groups, k)]
        Share of each group's (non-noise) frames in each cluster; rows sum to 1 (0 for all-noise).
    """
    groups = np.asarray(groups, dtype=np.int64)
    frame_labels = np.asarray(frame_labels, dtype=np.int64)
    frame_distances = np.asarray(frame_distances, dtype=np.float64)
    k = frame_distances.shape[1]
    n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    counts = np.zeros((n_groups, k))
    voting = frame_labels >= 0
    np.add.at(counts, (groups[voting], frame_labels[voting]), 1.0)
    dist_sum = np.zeros((n_groups, k))
    np.add.at(dist_sum, groups, frame_distances)
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top) & (top > 0)
    # among tied clusters prefer the smallest summed distance; argmin takes the lowest index on equality
    labels = np.where(tied, dist_sum, np.inf).argmin(axis=1)
    labels[top[:, 0] == 0] = -1
    total = counts.sum(axis=1, keepdims=True)
    distribution = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    return labels.astype(np.int64), distribution


def co_assignment_stability(reference: np.ndarray, repeats: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """How often each row stays with its reference cluster-mates, and the mean ARI between repeats.

    For row i in reference cluster c and a repeat that put it in cluster l, the rate is the share of
    i's reference cluster-mates that the repeat also put in l; it is averaged over the repeats.

    Parameters
    ----------
    reference : np.ndarray [shape=(n,)]
        Labels of the run.
    repeats : list of np.ndarray [shape=(n,)]
        Labels of the same rows from repeated fits (other seeds / bootstrap resamples).

    Returns
    -------
    rate : np.ndarray [shape=(n,)] in [0, 1]
    mean_ari : float
        Mean adjusted Rand index over all pairs of repeats (NaN with fewer than two repeats).
    """
    from sklearn.metrics import adjusted_rand_score

    ref = np.unique(np.asarray(reference), return_inverse=True)[1]
    n_ref = np.bincount(ref)
    rates = np.zeros(len(ref))
    for lab in repeats:
        rep = np.unique(np.asarray(lab), return_inverse=True)[1]
        N = np.zeros((n_ref.size, rep.max() + 1))
        np.add.at(N, (ref, rep), 1.0)
        mates = n_ref[ref] - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(mates > 0, (N[ref, rep] - 1) / np.maximum(mates, 1), 1.0)
        rates += r
    rates /= max(len(repeats), 1)
    aris = [adjusted_rand_score(repeats[i], repeats[j]) for i in range(len(repeats)) for j in range(i + 1, len(repeats))]
    return rates, float(np.mean(aris)) if aris else float("nan")


def stability_repeats(make_estimator: Callable[[int], BaseEstimator], X_fit: np.ndarray,
                      label_fn: Callable[[BaseEstimator], np.ndarray], *, n_repeats: int = 5,
                      max_rows: int = 20000, random_state=0, progress=None) -> list[np.ndarray]:
    """Refit on seeded bootstrap resamples (each with its own seed) and label every row each time.

    Parameters
    ----------
    make_estimator : callable(seed) -> estimator
        A fresh, unfitted estimator with the run's parameters and the given seed.
    X_fit : np.ndarray [shape=(n, d)]
        The rows the run was fitted on.
    label_fn : callable(fitted estimator) -> labels
        Labels of every unit (row or section) from a fitted repeat.
    n_repeats : int
        Number of refits.
    max_rows : int
        Size cap of each resample (so large stores stay fast).

    Returns
    -------
    list of np.ndarray
    """
    rng = np.random.default_rng(random_state)
    n = X_fit.shape[0]
    size = min(n, max_rows)
    out = []
    it = range(n_repeats)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="stability", leave=False, disable=None)
    for r in it:
        idx = rng.choice(n, size, replace=True)
        est = make_estimator(int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            # a bootstrap of a small store repeats rows: fewer distinct points than K is expected there
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_fit[idx])
        out.append(np.asarray(label_fn(est)))
    return out
