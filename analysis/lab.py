"""The segmentation lab's sweep: one song's novelty curve and frame features computed once, then the
cuts at every threshold of a grid and the merge of each setting, cached, so that moving a slider of
the lab page (``dashboard/pages/lab.py``) costs a look-up or one merge of a few dozen slices.

The steps are those of the ``merged`` and ``novelty`` structure schemes (:mod:`analysis.structure`):
:func:`~analysis.structure.novelty_of` (the curve, once per song), :func:`~analysis.structure.novelty_cuts`
(the cuts of a threshold and a minimum slice length, precomputed over :data:`THRESHOLDS`) and
:func:`~analysis.structure.merge_cuts` (clustering and merging; results kept in an LRU keyed by the
cut positions and the merge parameters, so that thresholds giving the same cuts share one merge).
A result equals those functions called directly on the audio with the same parameters (the MFCC-bin
novelty and Ward clustering of the ``merged`` scheme's first version; merge off: the slices with
their clusters), which ``tests/test_lab.py`` checks.

:func:`save_scheme` writes a chosen segmentation of a song to the store as the ``segments`` part of
the scheme ``lab-<name>``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

from store.schema import SEGMENTS

from .errors import ParameterError
from .structure import (
    Structure,
    _cuts_to_bounds,
    frame_features,
    merge_cuts,
    novelty_cuts,
    novelty_of,
    novelty_prominence,
    segment_means,
    segment_rows,
    standardise,
    ward_labels,
)

#: The threshold slider's grid (× the novelty's median absolute deviation); cuts are precomputed on it.
THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(51))
#: Choices of the minimum slice length (seconds) and of the merge window (0: the whole song).
MIN_SLICE_SECONDS: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
WINDOWS: tuple[int, ...] = (0, *range(3, 31))
#: Choices of the number of clusters (None: chosen per song by the silhouette).
KS: tuple[int | None, ...] = (None, *range(2, 11))
#: Prefix of the schemes the lab saves.
SCHEME_PREFIX = "lab-"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class LabParams:
    """One setting of the lab's controls.

    ``threshold``: novelty peak prominence over the curve's MAD; ``min_slice_seconds``: shortest slice;
    ``merge``: cluster the slices and merge same-cluster neighbours; ``window``: 0 merges over the whole
    song, ``w ≥ 2`` over a sliding window of ``w`` slices (hop 1) until nothing merges; ``k``: number of
    clusters (None: by the silhouette); ``min_seconds``: shortest merged segment.
    """

    threshold: float = 1.0
    min_slice_seconds: float = 2.0
    merge: bool = True
    window: int = 0
    k: int | None = None
    min_seconds: float = 8.0

    def checked(self) -> LabParams:
        """These parameters as plain numbers, or :class:`ParameterError` naming the wrong one."""
        try:
            threshold, min_slice = float(self.threshold), float(self.min_slice_seconds)
            window, min_seconds = int(self.window), float(self.min_seconds)
            k = None if self.k in (None, "", "auto", 0) else int(self.k)
        except (TypeError, ValueError):
            raise ParameterError(f"lab parameters {self}: not numbers") from None
        if not (np.isfinite(threshold) and threshold >= 0):
            raise ParameterError(f"threshold={self.threshold}: must be ≥ 0")
        if not (np.isfinite(min_slice) and min_slice > 0):
            raise ParameterError(f"min_slice_seconds={self.min_slice_seconds}: must be > 0")
        if window < 0 or window == 1:
            raise ParameterError(f"window={self.window}: use 0 (whole song) or ≥ 2 slices")
        if k is not None and k < 1:
            raise ParameterError(f"k={self.k}: must be ≥ 1 (or None: chosen by the silhouette)")
        if not (np.isfinite(min_seconds) and min_seconds >= 0):
            raise ParameterError(f"min_seconds={self.min_seconds}: must be ≥ 0")
        return LabParams(round(threshold, 6), round(min_slice, 6), bool(self.merge), window, k, round(min_seconds, 6))


@dataclass(frozen=True)
class LabResult:
    """The slices of a setting (``pre``, shape (n, 2), and their clusters) and the segments after
    merging (``post`` and ``labels``; the slices themselves when merging is off)."""

    params: LabParams
    cuts: np.ndarray
    pre: np.ndarray
    pre_labels: np.ndarray
    post: np.ndarray
    labels: np.ndarray

    @property
    def n_pre(self) -> int:
        return len(self.pre)

    @property
    def n_post(self) -> int:
        return len(self.post)

    def structure(self, kernel_seconds: float = 6.0) -> Structure:
        """The post-merge segmentation as a :class:`~analysis.structure.Structure` (what is saved)."""
        p = self.params
        params = dict(source="lab", **asdict(p), kernel_seconds=kernel_seconds, n_pre=self.n_pre,
                      n_post=self.n_post, n_types=int(np.unique(self.labels).size),
                      pre_bounds=[round(float(c), 3) for c in self.pre[1:, 0]],
                      pre_labels=[int(v) for v in self.pre_labels])
        return Structure(self.post.copy(), np.asarray(self.labels, dtype=np.int64), params)


class SegmentationSweep:
    """One song's lab: the novelty curve and frame features, the cuts per threshold, the merges.

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
    kernel_seconds, bin_seconds : float
        Of the novelty curve (:func:`analysis.structure.novelty_of`).
    cache_size : int
        Merge results kept (least recently used dropped first).
    features : (np.ndarray, float), optional
        Precomputed :func:`analysis.structure.frame_features`.

    Thread-safe: the dashboard's worker threads share one sweep per song.
    """

    def __init__(self, y: np.ndarray, sr: int, *, kernel_seconds: float = 6.0, bin_seconds: float = 0.25,
                 cache_size: int = 4096, features=None, k_max: int = 8, k_min: int = 2):
        self.duration = len(y) / sr
        self.kernel_seconds = float(kernel_seconds)
        self.k_max, self.k_min = int(k_max), int(k_min)
        self.novelty, self.bin_dur = novelty_of(y, sr, kernel_seconds=kernel_seconds, bin_seconds=bin_seconds)
        self.features = features if features is not None else frame_features(y, sr)
        self.cache_size = int(cache_size)
        self._cuts: dict = {}
        self._results: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def times(self) -> np.ndarray:
        """The time (s) of each value of :attr:`novelty`."""
        return np.arange(len(self.novelty)) * self.bin_dur

    def prominence(self, threshold: float) -> float:
        """The prominence a peak needs at ``threshold`` (drawn on the novelty curve)."""
        return novelty_prominence(self.novelty, float(threshold))

    def precompute(self, thresholds=THRESHOLDS, min_slices=MIN_SLICE_SECONDS, params: LabParams | None = None) -> int:
        """The cuts at every ``thresholds`` × ``min_slices``, and the merge of each distinct cut set
        with ``params``'s other settings (default :class:`LabParams`). Returns the distinct cut sets."""
        base = (params or LabParams()).checked()
        distinct = set()
        for m in min_slices:
            for t in thresholds:
                distinct.add(self.cuts(t, m).tobytes())
        for t in thresholds:
            self.result(LabParams(t, base.min_slice_seconds, base.merge, base.window, base.k, base.min_seconds))
        return len(distinct)

    def cuts(self, threshold: float, min_slice_seconds: float) -> np.ndarray:
        """Cut times of ``threshold`` and ``min_slice_seconds`` (:func:`analysis.structure.novelty_cuts`)."""
        key = (round(float(threshold), 6), round(float(min_slice_seconds), 6))
        cuts = self._cuts.get(key)
        if cuts is None:
            cuts = novelty_cuts(self.novelty, self.bin_dur, self.duration, threshold=key[0],
                                min_slice_seconds=key[1])
            cuts.setflags(write=False)
            self._cuts[key] = cuts
        return cuts

    def result(self, params: LabParams) -> LabResult:
        """The slices and merged segments of ``params`` (cached)."""
        p = params.checked()
        cuts = self.cuts(p.threshold, p.min_slice_seconds)
        key = (cuts.tobytes(), p.merge, p.window if p.merge else 0, p.k, p.min_seconds if p.merge else 0.0)
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
                self.hits += 1
        if hit is None:
            hit = self._compute(cuts, p)
            with self._lock:
                self.misses += 1
                self._results[key] = hit
                while len(self._results) > self.cache_size:
                    self._results.popitem(last=False)
        pre, pre_labels, post, labels = hit
        return LabResult(p, cuts, pre, pre_labels, post, labels)

    def _compute(self, cuts, p: LabParams):
        if p.merge:
            out = merge_cuts(cuts, self.duration, self.features, window=p.window, k=p.k, k_max=self.k_max,
                             k_min=self.k_min, min_seconds=p.min_seconds)
        else:  # the raw over-segmentation, labelled as the ``novelty`` scheme labels it
            F, fd = self.features
            pre = _cuts_to_bounds(cuts, self.duration)
            lab = ward_labels(standardise(segment_means(F, fd, pre)), p.k, k_max=self.k_max, k_min=self.k_min)
            out = (pre, lab, pre, lab)
        for a in out:
            a.setflags(write=False)
        return out


def check_scheme_name(name) -> str:
    """The scheme ``lab-<name>`` for a name of letters, digits, ``-`` and ``_`` (1–40 characters);
    else :class:`ParameterError` saying what is allowed."""
    name = str(name or "").strip()
    if not _NAME.match(name):
        raise ParameterError(f"scheme name {name!r}: use 1 to 40 letters, digits, '-' or '_'")
    return SCHEME_PREFIX + name


def save_scheme(store, song_id: str, name: str, result: LabResult, *, kernel_seconds: float = 6.0) -> str:
    """Write ``result``'s segments of ``song_id`` as the ``segments`` part of scheme ``lab-<name>``
    (replacing that song's earlier save under the name), then bump the manifest's version so that
    readers (the dashboard) reload. Returns the scheme."""
    scheme = check_scheme_name(name)
    rows = segment_rows(song_id, scheme, result.structure(kernel_seconds))
    json.loads(rows["params"].iloc[0])  # serialisable, or fail before writing
    store.write_part(SEGMENTS, SEGMENTS.part(scheme=scheme, song_id=song_id), rows)
    store.write_manifest(store.read_manifest())
    return scheme
