"""The beats' recurrence graph (McFee & Ellis 2014): the harmony recurrence, the balanced affinity
with the timbre path, its normalised Laplacian embedding, and how much a song repeats itself."""

from __future__ import annotations

import numpy as np


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
    that repeats no part (:func:`sectionist.analysis.structure.merged.merged_beats`). ``recurrence``:
    :func:`harmony_recurrence` of ``harmony`` when it was computed already
    (:meth:`sectionist.analysis.structure.beats.BeatFeatures.recurrence`).
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

