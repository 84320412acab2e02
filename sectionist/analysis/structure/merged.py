"""The ``merged`` scheme (version 4, :func:`merged_beats`): over-segment on beats, cluster the slices,
merge same-cluster neighbours.

A deliberate novelty over-segmentation on beats (a multi-scale checkerboard novelty of the
beat-synchronous harmony, timbre and Laplacian embedding, low peak threshold); the slices are
clustered by their mean place in the recurrence graph's Laplacian embedding (weighted K-Means, K ≥ 4
by the beats' silhouette, or given) and neighbours in the same cluster are merged, over the whole song
(``window=0``) or over a sliding window of ``window`` slices (hop 1) repeated until nothing more
merges; segments shorter than the minimum length (6 s) are absorbed by their more similar neighbour;
a song that repeats no part (its :func:`~sectionist.analysis.structure.graph.repetition_mass` under
0.31) gives each segment its own label. The pre-merge slices are kept in ``params``. Defaults chosen
on songs 0–11 of the development corpus (docs/evaluate.md). The steps are functions the segmentation
lab (:mod:`sectionist.analysis.sections.lab`) calls one by one: :func:`merged_front` once per song,
:func:`slice_edges`, :func:`cluster_slices` and :func:`merge_clustered` per setting.
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure, scheme
from sectionist.analysis.structure.beats import BeatFeatures, beat_input
from sectionist.analysis.structure.checkerboard import cuts_to_bounds, multiscale_novelty, novelty_peaks, over_segment
from sectionist.analysis.structure.graph import laplacian_affinity, laplacian_embedding, repetition_mass
from sectionist.analysis.structure.helpers import (
    enforce_min_length,
    first_order,
    frame_features,
    label_runs,
    majority_label,
    merge_slices,
    segment_means,
    silhouette_of,
    slice_means,
    standardise,
    ward_labels,
    weighted_kmeans,
    weighted_means,
)

#: Version of ``merged``/``novelty`` (2: beat-synchronous features, multi-scale novelty, slices clustered
#: in the Laplacian embedding of the recurrence graph, K ≥ 4, segments ≥ 6 s; 3: a song whose
#: repetition_mass is under repeat_min repeats no part, so each merged segment keeps its own label; 4:
#: neighbours left in one cluster after short segments are absorbed are merged too).
MERGED_VERSION = 4


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
    bf = beat_input(y, sr, features, beat_times)
    kw = dict(threshold=threshold, kernels=tuple(kernels), novelty_features=tuple(novelty_features),
              embed_dims=embed_dims, min_slice_beats=min_slice_beats, window=window, k=k, k_min=k_min, k_max=k_max,
              min_seconds=min_seconds, min_fraction=min_fraction, repeat_min=repeat_min)
    r = merged_beats(bf, **kw)
    return Structure(r["post"], r["labels"], _merged_params(bf, kw, r))


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
        return one_segment(bf)
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
        return silhouette_of(per_slice @ onehot, beat_lab, np.bincount(beat_lab).astype(np.float64))

    if m < 2:
        return np.zeros(m, np.int64), 1, np.zeros((m, 1))
    if k is not None:
        kk = max(1, min(int(k), m))
        _, S, lab = fit(kk)
        return first_order(lab), kk, S
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
    return first_order(best[1]), best[2], best[3]


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
        groups = label_runs(pre_labels)
    else:
        groups = merge_slices(S, dur, window=window, k=k, k_max=k_max, k_min=k_min)
    post = np.array([[pre[a, 0], pre[b - 1, 1]] for a, b in groups])
    Sp, _unused = weighted_means(S, dur, groups)
    min_len = max(float(min_seconds), float(min_fraction) * duration)
    post, _unused = enforce_min_length(post, Sp, min_len)
    if not repeats:
        return post, np.arange(len(post), dtype=np.int64), groups
    labels = first_order(np.array([majority_label(pre_labels, dur, pre, s, e) for s, e in post], dtype=np.int64))
    # absorbing short segments can leave two neighbours of one cluster: merge until nothing more merges
    runs = label_runs(labels)
    if len(runs) < len(labels):
        post = np.array([[post[a, 0], post[b - 1, 1]] for a, b in runs])
        labels = first_order(labels[[a for a, _b in runs]])
    return post, labels, groups


def song_repeats(mass: float, *, k: int | None, repeat_min: float) -> bool:
    """Whether ``merged`` lets segments share a label: the song's :func:`repetition_mass` is at least
    ``repeat_min`` (0.31: halfway between the most a non-repeating stretch of dev songs 0–11 reaches,
    0.21, and the least a whole song of them does, 0.42), or the number of clusters ``k`` was asked for."""
    return k is not None or mass >= float(repeat_min)


def one_segment(bf: BeatFeatures) -> dict:
    """:func:`merged_beats`'s answer for a song too short for two slices: one segment."""
    one = np.array([[0.0, bf.duration]])
    return dict(nov=np.zeros(bf.n), edges=np.array([0, bf.n]), pre=one, pre_labels=np.zeros(1, np.int64),
                post=one.copy(), labels=np.zeros(1, np.int64), k=1, groups=[(0, 1)], repeat_mass=0.0, repeats=False)


def _merged_params(bf: BeatFeatures, kw: dict, r: dict) -> dict:
    return dict(**{key: (list(v) if isinstance(v, tuple) else v) for key, v in kw.items()}, version=MERGED_VERSION,
                n_beats=bf.n, k_used=int(r["k"]), repeat_mass=round(float(r["repeat_mass"]), 4),
                repeats=bool(r["repeats"]), n_pre=len(r["pre"]), n_post=len(r["post"]),
                n_types=int(np.unique(r["labels"]).size),
                pre_bounds=[round(float(c), 3) for c in r["pre"][1:, 0]], pre_labels=[int(v) for v in r["pre_labels"]])


def merged_parts(y, sr, *, threshold, kernel_seconds, min_slice_seconds, window, k, k_max, k_min, min_seconds,
                  min_fraction, features=None):
    """``merged`` version 1 (MFCC-bin novelty slices, Ward on their mean :func:`frame_features`), which
    ``bench/structure_ablation.py`` compares: ``(pre, pre_labels, post, labels, params)``."""
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
    pre = cuts_to_bounds(cuts, duration)
    X = standardise(segment_means(F, fd, pre))
    pre_labels = ward_labels(X, k, k_max=k_max, k_min=k_min)
    dur = pre[:, 1] - pre[:, 0]
    groups = merge_slices(X, dur, window=window, k=k, k_max=k_max, k_min=k_min)
    post = np.array([[pre[a, 0], pre[b - 1, 1]] for a, b in groups])
    Xp, _unused = weighted_means(X, dur, groups)
    min_len = max(float(min_seconds), float(min_fraction) * duration)
    post, Xp = enforce_min_length(post, Xp, min_len)
    if window == 0:
        # the labels are the clusters the merge used (segments absorbed for length take the majority)
        labels = np.array([majority_label(pre_labels, dur, pre, s, e) for s, e in post], dtype=np.int64)
        labels = first_order(labels)
    else:
        labels = ward_labels(standardise(Xp), k, k_max=k_max, k_min=k_min)
    return pre, pre_labels, post, labels



#: ``merged`` in the registry (:mod:`sectionist.analysis.structure.schemes`).
SCHEME = scheme("merged", merged_structure, version=MERGED_VERSION, inputs=("features",),
                help="novelty over-segmentation on beats, then cluster the slices and merge same-cluster neighbours")
