"""librosa's gallery example "Laplacian segmentation" (``docs/examples/plot_segmentation.py``, McFee &
Ellis 2014), verbatim, as a peer of the structure bench (bench/structure_ablation.py).

The gallery's code from loading the song to ``bound_frames``, with its constants (CQT 36 bins per
octave over 7 octaves, hop 512 at 22 050 Hz, recurrence width 3, time-lag median 7, MFCC path
similarity, eigenvector median 9, **k = 5** segment types), its ``librosa.load`` and beat tracker, and
its conversion of labels to boundaries. Only what the gallery leaves to chance or to plotting differs:

- ``KMeans(n_clusters=5, random_state=0)``: the gallery seeds nothing (sklearn's default
  ``n_init="auto"`` is kept);
- the result is returned as segments: ``bound_times`` (``frames_to_time(bound_frames)``) paired
  with ``bound_segs``, as the gallery's last plot draws them. They start at the first beat (the
  bench's scorer treats the lead-in before it as unlabelled) and end at the last frame.

Two quirks of the gallery are kept, not fixed: ``bound_frames = beats[bound_beats]`` indexes the
beat list with indices of ``Csync``'s columns, whose column j > 0 starts at ``beats[j - 1]`` (the
column before the first beat is column 0), so every inner boundary lands one beat late; and when
the last column (after the last beat) starts a new segment, ``beats[len(beats)]`` raises
IndexError — the song then fails, as the gallery would.

sectionist's own ``laplacian`` scheme (:mod:`sectionist.analysis.structure.laplacian`) follows the
same graph but differs: k chosen per song by the silhouette among 3…10, its own CQT and beats (the
shared SongSpectrum, at most MAX_BEATS beats), KMeans ``n_init=10``, and boundaries at the start of
each beat interval (no one-beat shift), covering 0 … duration.

Usage: .venv/bin/python bench/peers/librosa_gallery.py WAV ...   (prints one JSON line per song)
"""

from __future__ import annotations

import json
import sys

import numpy as np

#: The gallery's fixed number of segment types.
K = 5


def gallery_segments(y: np.ndarray, sr: int, *, k: int = K, random_state: int = 0):
    """The gallery's segmentation of ``y`` (mono, as ``librosa.load`` gives it).

    Returns ``(intervals, labels)``: intervals of shape (n, 2) in seconds from the first beat to
    the last frame, labels the cluster ids (``bound_segs``). Raises IndexError where the gallery does.
    """
    import librosa
    import scipy
    import scipy.linalg
    import scipy.ndimage
    import scipy.sparse.csgraph
    import sklearn.cluster

    BINS_PER_OCTAVE = 12 * 3
    N_OCTAVES = 7
    C = librosa.amplitude_to_db(np.abs(librosa.cqt(y=y, sr=sr, bins_per_octave=BINS_PER_OCTAVE,
                                                   n_bins=N_OCTAVES * BINS_PER_OCTAVE)), ref=np.max)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, trim=False)
    Csync = librosa.util.sync(C, beats, aggregate=np.median)

    R = librosa.segment.recurrence_matrix(Csync, width=3, mode="affinity", sym=True)
    df = librosa.segment.timelag_filter(scipy.ndimage.median_filter)
    Rf = df(R, size=(1, 7))

    mfcc = librosa.feature.mfcc(y=y, sr=sr)
    Msync = librosa.util.sync(mfcc, beats)
    path_distance = np.sum(np.diff(Msync, axis=1) ** 2, axis=0)
    sigma = np.median(path_distance)
    path_sim = np.exp(-path_distance / sigma)
    R_path = np.diag(path_sim, k=1) + np.diag(path_sim, k=-1)

    deg_path = np.sum(R_path, axis=1)
    deg_rec = np.sum(Rf, axis=1)
    mu = deg_path.dot(deg_path + deg_rec) / np.sum((deg_path + deg_rec) ** 2)
    A = mu * Rf + (1 - mu) * R_path

    L = scipy.sparse.csgraph.laplacian(A, normed=True)
    evals, evecs = scipy.linalg.eigh(L)
    evecs = scipy.ndimage.median_filter(evecs, size=(9, 1))
    Cnorm = np.cumsum(evecs ** 2, axis=1) ** 0.5
    X = evecs[:, :k] / Cnorm[:, k - 1:k]

    KM = sklearn.cluster.KMeans(n_clusters=k, random_state=random_state)
    seg_ids = KM.fit_predict(X)

    bound_beats = 1 + np.flatnonzero(seg_ids[:-1] != seg_ids[1:])
    bound_beats = librosa.util.fix_frames(bound_beats, x_min=0)
    bound_segs = list(seg_ids[bound_beats])
    bound_frames = beats[bound_beats]
    bound_frames = librosa.util.fix_frames(bound_frames, x_min=None, x_max=C.shape[1] - 1)

    bound_times = librosa.frames_to_time(bound_frames)
    intervals = np.column_stack([bound_times[:-1], bound_times[1:]])
    return intervals, np.asarray(bound_segs[:len(intervals)])


def segment_file(path: str):
    """:func:`gallery_segments` of the song at ``path``, loaded as the gallery loads it."""
    import librosa

    y, sr = librosa.load(path)
    return gallery_segments(y, sr)


def main(argv=None) -> int:
    for path in (sys.argv[1:] if argv is None else argv):
        intervals, labels = segment_file(path)
        print(json.dumps({"path": path, "intervals": intervals.round(4).tolist(), "labels": labels.tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
