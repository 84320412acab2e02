"""The segmentation lab's sweep: one song's ``merged`` (version 4) front end computed once, then the
cheap steps per setting, cached, so that moving a slider of the lab page (``sectionist/dashboard/pages/lab.py``)
costs a look-up or a clustering and merge of a few dozen slices.

Per song, once (:class:`SegmentationSweep`): the beat-synchronous features
(:func:`~sectionist.analysis.structure.beats.beat_features`), the Laplacian embedding of the beats' recurrence graph and
the multi-scale novelty curve (:func:`~sectionist.analysis.structure.merged.merged_front`), and the slice edges of every
threshold of :data:`THRESHOLDS` × minimum slice length of :data:`MIN_SLICE_BEATS`
(:func:`~sectionist.analysis.structure.merged.slice_edges`). Per setting: the slices clustered by their mean place in the
embedding (:func:`~sectionist.analysis.structure.merged.cluster_slices`, weighted K-Means; kept in an LRU keyed by the
slice edges and K, so thresholds giving the same slices share one clustering) and merged
(:func:`~sectionist.analysis.structure.merged.merge_clustered`; results in an LRU keyed by the edges and the merge
settings). These are the steps :func:`~sectionist.analysis.structure.merged.merged_beats` chains, with the scheme's own
defaults for everything the lab has no control for (kernels, novelty features, embedding dimensions,
K range, seed), so the lab at :class:`LabParams`'s defaults is exactly the ``merged`` segmentation
``analyze`` and ``sectionist segment`` store (``tests/test_lab.py`` checks it); merge off: the
slices with their clusters, as the ``novelty`` scheme labels them.

:func:`save_scheme` writes a chosen segmentation of a song to the store as the ``segments`` part of
the scheme ``lab-<name>``.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

from sectionist.store.schema import SEGMENTS

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure
from sectionist.analysis.structure.beats import BeatFeatures, beat_features
from sectionist.analysis.structure.checkerboard import novelty_prominence
from sectionist.analysis.structure.graph import repetition_mass
from sectionist.analysis.structure.merged import (
    MERGED_VERSION,
    cluster_slices,
    merge_clustered,
    merged_beats,
    merged_front,
    one_segment,
    slice_edges,
    song_repeats,
)
from sectionist.analysis.structure.writer import segment_rows

#: ``merged``'s defaults (:func:`sectionist.analysis.structure.merged.merged_beats`): the lab's starting settings and
#: the values of what it has no control for.
MERGED_DEFAULTS: dict = {name: p.default for name, p in inspect.signature(merged_beats).parameters.items()
                         if p.default is not inspect.Parameter.empty}
#: The threshold slider's grid (× the multi-scale novelty's median absolute deviation); slices are
#: precomputed on it.
THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(51))
#: Choices of the minimum slice length (beats: peaks of the novelty at least this far apart and from
#: either end) and of the merge window (0: the whole song).
MIN_SLICE_BEATS: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16)
WINDOWS: tuple[int, ...] = (0, *range(3, 31))
#: Choices of the number of clusters (None: chosen per song by the silhouette over merged's K range).
KS: tuple[int | None, ...] = (None, *range(2, 11))
#: Columns of the Laplacian embedding a sweep reads: a K of :data:`KS` or ``merged``'s K range, or its
#: novelty's ``embed_dims`` (what :meth:`SegmentationSweep.front_arrays` keeps).
FRONT_DIMS = max(max(k for k in KS if k is not None), int(MERGED_DEFAULTS["k_max"]), int(MERGED_DEFAULTS["embed_dims"]))
#: Prefix of the schemes the lab saves.
SCHEME_PREFIX = "lab-"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
#: Settings of ``merged`` the lab keeps at the scheme's defaults (no control on the page).
_FIXED = ("kernels", "novelty_features", "embed_dims", "k_min", "k_max", "min_fraction", "seed", "repeat_min")


@dataclass(frozen=True)
class LabParams:
    """One setting of the lab's controls (defaults: ``merged``'s).

    ``threshold``: novelty peak prominence over the multi-scale curve's MAD (lower: more candidate
    boundaries); ``min_slice_beats``: peaks at least this many beats apart (the shortest slice);
    ``merge``: cluster the slices and merge same-cluster neighbours; ``window``: 0 merges over the
    whole song, ``w ≥ 2`` over a sliding window of ``w`` slices (hop 1) until nothing merges; ``k``:
    number of clusters (None: by the silhouette over ``k_min…k_max``); ``min_seconds``: shortest
    merged segment.
    """

    threshold: float = float(MERGED_DEFAULTS["threshold"])
    min_slice_beats: int = int(MERGED_DEFAULTS["min_slice_beats"])
    merge: bool = True
    window: int = int(MERGED_DEFAULTS["window"])
    k: int | None = MERGED_DEFAULTS["k"]
    min_seconds: float = float(MERGED_DEFAULTS["min_seconds"])

    def checked(self) -> LabParams:
        """These parameters as plain numbers, or :class:`ParameterError` naming the wrong one."""
        try:
            threshold, min_seconds = float(self.threshold), float(self.min_seconds)
            min_slice_f, window_f = float(self.min_slice_beats), float(self.window)
            k = None if self.k in (None, "", "auto", 0) else int(self.k)
        except (TypeError, ValueError):
            raise ParameterError(f"lab parameters {self}: not numbers") from None
        if not (np.isfinite(threshold) and threshold >= 0):
            raise ParameterError(f"threshold={self.threshold}: must be ≥ 0")
        if not (np.isfinite(min_slice_f) and min_slice_f >= 1 and min_slice_f == int(min_slice_f)):
            raise ParameterError(f"min_slice_beats={self.min_slice_beats}: must be a whole number of beats ≥ 1")
        if not np.isfinite(window_f) or window_f != int(window_f) or window_f < 0 or window_f == 1:
            raise ParameterError(f"window={self.window}: use 0 (whole song) or ≥ 2 slices")
        if k is not None and k < 1:
            raise ParameterError(f"k={self.k}: must be ≥ 1 (or None: chosen by the silhouette)")
        if not (np.isfinite(min_seconds) and min_seconds >= 0):
            raise ParameterError(f"min_seconds={self.min_seconds}: must be ≥ 0")
        return LabParams(round(threshold, 6), int(min_slice_f), bool(self.merge), int(window_f), k,
                         round(min_seconds, 6))


@dataclass(frozen=True)
class LabResult:
    """The slices of a setting (``pre``, shape (n, 2), and their clusters; ``cuts``: the slices'
    inner edges in seconds) and the segments after merging (``post`` and ``labels``; the slices
    themselves when merging is off); ``k_used``: the number of clusters of the slices."""

    params: LabParams
    cuts: np.ndarray
    pre: np.ndarray
    pre_labels: np.ndarray
    post: np.ndarray
    labels: np.ndarray
    k_used: int = 1

    @property
    def n_pre(self) -> int:
        return len(self.pre)

    @property
    def n_post(self) -> int:
        return len(self.post)

    def structure(self) -> Structure:
        """The post-merge segmentation as a :class:`~sectionist.analysis.structure.base.Structure` (what is saved):
        the lab's settings, ``merged``'s fixed ones and version, and the slices before merging."""
        fixed = {key: (list(MERGED_DEFAULTS[key]) if isinstance(MERGED_DEFAULTS[key], tuple) else MERGED_DEFAULTS[key])
                 for key in _FIXED}
        params = dict(source="lab", **asdict(self.params), **fixed, version=MERGED_VERSION, k_used=int(self.k_used),
                      n_pre=self.n_pre, n_post=self.n_post, n_types=int(np.unique(self.labels).size),
                      pre_bounds=[round(float(c), 3) for c in self.pre[1:, 0]],
                      pre_labels=[int(v) for v in self.pre_labels])
        return Structure(self.post.copy(), np.asarray(self.labels, dtype=np.int64), params)


class SegmentationSweep:
    """One song's lab: ``merged``'s per-song front end once, the slices per threshold, the clusterings
    and merges per setting.

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
    features : BeatFeatures, optional
        Precomputed :func:`sectionist.analysis.structure.beats.beat_features` of the song (else computed from ``y``).
    cache_size : int
        Clusterings and merge results kept, each (least recently used dropped first).
    front : dict, optional
        What :meth:`front_arrays` of a sweep of the same song gave (a sweep rebuilt from a cache
        without computing ``merged``'s front again; ``features`` must then be given too).

    Thread-safe: the dashboard's worker threads share one sweep per song.
    """

    def __init__(self, y: np.ndarray | None, sr: int, *, features: BeatFeatures | None = None, cache_size: int = 4096,
                 front: dict | None = None):
        if features is not None and not isinstance(features, BeatFeatures):
            raise ParameterError("features: expected the BeatFeatures of "
                                 "sectionist.analysis.structure.beats.beat_features(y, sr) "
                                 f"(got {type(features).__name__})")
        if front is not None and features is None:
            raise ParameterError("front: give the song's features with it")
        self.features = features if features is not None else beat_features(y, sr)
        self.duration = self.features.duration
        n = self.features.n
        self._front = None
        # the recurrence graph (width 3) needs 7 beats; a shorter song is one segment at every setting
        if front is not None:
            if "novelty" in front:
                self._front = (np.asarray(front["novelty"], dtype=np.float64), np.asarray(front["evecs"]),
                               np.asarray(front["cnorm"]))
                if len(self._front[0]) != n:
                    raise ParameterError(f"front: {len(self._front[0])} novelty values for {n} beats")
            self.repeat_mass = float(front.get("repeat_mass", 0.0))
            edges = _unpack_edges(front)
        elif n >= max(7, 2 * min(MIN_SLICE_BEATS) + 1):
            self._front = merged_front(self.features, **{key: MERGED_DEFAULTS[key]
                                                         for key in ("kernels", "novelty_features", "embed_dims")})
        self.novelty = self._front[0] if self._front is not None else np.zeros(n)
        if front is None:
            # whether the song repeats a part (merged_beats' test; no setting of the lab changes it)
            self.repeat_mass = repetition_mass(self.features.harmony, recurrence=self.features.recurrence()) \
                if self._front is not None else 0.0
        self.cache_size = int(cache_size)
        self._edges: dict = edges if front is not None else {}
        self._clusters: OrderedDict = OrderedDict()
        self._results: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def front_arrays(self) -> dict:
        """What a sweep of this song is rebuilt from without the audio (``SegmentationSweep(None, sr,
        features=BeatFeatures(times, harmony, timbre), front=...)``): ``times``, ``harmony``,
        ``timbre`` and, for a song long enough to be cut, ``novelty``, the Laplacian embedding's
        first :data:`FRONT_DIMS` columns (``evecs``, ``cnorm``: all that any K of :data:`KS` reads) and
        ``repeat_mass``, and the slice edges of every threshold of :data:`THRESHOLDS` × :data:`MIN_SLICE_BEATS`
        (``edge_keys``, ``edge_offsets``, ``edge_values``: a sweep rebuilt from them picks no peaks on
        the grid, and needs no ``scipy.signal``). Arrays only, so that ``np.savez`` keeps them."""
        bf = self.features
        keys = [(t, m) for m in MIN_SLICE_BEATS for t in THRESHOLDS]
        values = [self.edges(t, m) for t, m in keys]
        out = {"times": np.asarray(bf.times), "harmony": np.asarray(bf.harmony), "timbre": np.asarray(bf.timbre),
               "repeat_mass": np.float64(self.repeat_mass), "edge_keys": np.array(keys, dtype=np.float64),
               "edge_offsets": np.cumsum([0] + [len(v) for v in values]).astype(np.int64),
               "edge_values": np.concatenate(values).astype(np.int64)}
        if self._front is not None:
            nov, evecs, cnorm = self._front
            out.update(novelty=np.asarray(nov), evecs=np.ascontiguousarray(evecs[:, :FRONT_DIMS]),
                       cnorm=np.ascontiguousarray(cnorm[:, :FRONT_DIMS]))
        return out

    @property
    def times(self) -> np.ndarray:
        """The time (s) of each value of :attr:`novelty` (the start of each beat interval)."""
        return self.features.times[:-1]

    def prominence(self, threshold: float) -> float:
        """The prominence a peak needs at ``threshold`` (drawn on the novelty curve)."""
        return novelty_prominence(self.novelty, float(threshold))

    def precompute(self, thresholds=THRESHOLDS, min_slices=MIN_SLICE_BEATS, params: LabParams | None = None) -> int:
        """The slices at every ``thresholds`` × ``min_slices``, and the clustering and merge of each
        threshold with ``params``'s other settings (default :class:`LabParams`). Returns the number
        of distinct slicings."""
        base = (params or LabParams()).checked()
        distinct = set()
        for m in min_slices:
            for t in thresholds:
                distinct.add(self.edges(t, m).tobytes())
        for t in thresholds:
            self.result(LabParams(t, base.min_slice_beats, base.merge, base.window, base.k, base.min_seconds))
        return len(distinct)

    def edges(self, threshold: float, min_slice_beats: int) -> np.ndarray:
        """Beat indices of the slice edges at ``threshold`` and ``min_slice_beats``
        (:func:`sectionist.analysis.structure.merged.slice_edges`; ``[0, n]`` when the song is too short for two slices)."""
        key = (round(float(threshold), 6), int(min_slice_beats))
        edges = self._edges.get(key)
        if edges is None:
            n = self.features.n
            if self._front is None or n < 2 * key[1] + 1:
                edges = np.array([0, n], dtype=np.int64)
            else:
                edges = slice_edges(self.novelty, threshold=key[0], min_slice_beats=key[1])
            edges.setflags(write=False)
            self._edges[key] = edges
        return edges

    def cuts(self, threshold: float, min_slice_beats: int) -> np.ndarray:
        """Cut times (seconds) of ``threshold`` and ``min_slice_beats``: the slices' inner edges."""
        return self.features.times[self.edges(threshold, min_slice_beats)[1:-1]]

    def _lru_get(self, cache: OrderedDict, key):
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
            return hit

    def _lru_put(self, cache: OrderedDict, key, value):
        with self._lock:
            cache[key] = value
            while len(cache) > self.cache_size:
                cache.popitem(last=False)

    def _clustered(self, edges: np.ndarray, k: int | None):
        """``cluster_slices`` of ``edges`` with ``k`` (cached): slice labels, the K used, slice coordinates."""
        key = (edges.tobytes(), k)
        hit = self._lru_get(self._clusters, key)
        if hit is None:
            evecs, cnorm = self._front[1], self._front[2]
            hit = cluster_slices(evecs, cnorm, edges, k=k, k_min=MERGED_DEFAULTS["k_min"],
                                 k_max=MERGED_DEFAULTS["k_max"], seed=MERGED_DEFAULTS["seed"])
            for a in hit[::2]:
                a.setflags(write=False)
            self._lru_put(self._clusters, key, hit)
        return hit

    def result(self, params: LabParams) -> LabResult:
        """The slices and merged segments of ``params`` (cached)."""
        p = params.checked()
        edges = self.edges(p.threshold, p.min_slice_beats)
        key = (edges.tobytes(), p.merge, p.window if p.merge else 0, p.k, p.min_seconds if p.merge else 0.0)
        hit = self._lru_get(self._results, key)
        with self._lock:
            if hit is not None:
                self.hits += 1
            else:
                self.misses += 1
        if hit is None:
            hit = self._compute(edges, p)
            self._lru_put(self._results, key, hit)
        pre, pre_labels, post, labels, k_used = hit
        return LabResult(p, self.features.times[edges[1:-1]], pre, pre_labels, post, labels, k_used)

    def _compute(self, edges, p: LabParams):
        if len(edges) == 2 and (self._front is None or self.features.n < 2 * p.min_slice_beats + 1):
            r = one_segment(self.features)  # as merged_beats answers a song too short for two slices
            out = (r["pre"], r["pre_labels"], r["post"], r["labels"])
            k_used = 1
        else:
            times = self.features.times
            pre = np.stack([times[edges[:-1]], times[edges[1:]]], axis=1)
            pre_labels, k_used, S = self._clustered(edges, p.k)
            if p.merge:
                post, labels, _groups = merge_clustered(
                    pre, pre_labels, S, self.duration, window=p.window, k=p.k, k_min=MERGED_DEFAULTS["k_min"],
                    k_max=MERGED_DEFAULTS["k_max"], min_seconds=p.min_seconds,
                    min_fraction=MERGED_DEFAULTS["min_fraction"],
                    repeats=song_repeats(self.repeat_mass, k=p.k, repeat_min=MERGED_DEFAULTS["repeat_min"]))
            else:  # the raw over-segmentation, labelled as the ``novelty`` scheme labels it
                post, labels = pre, pre_labels
            out = (pre, pre_labels, post, labels)
        for a in out:
            a.setflags(write=False)
        return (*out, int(k_used))


def _unpack_edges(front: dict) -> dict:
    """The ``{(threshold, min_slice_beats): edges}`` that :meth:`SegmentationSweep.front_arrays` packed
    (empty when it holds none)."""
    if "edge_keys" not in front:
        return {}
    keys, offsets, values = front["edge_keys"], front["edge_offsets"], front["edge_values"]
    out = {}
    for i, (t, m) in enumerate(np.asarray(keys).reshape(-1, 2)):
        edges = np.array(values[offsets[i]:offsets[i + 1]], dtype=np.int64)
        edges.setflags(write=False)
        out[(round(float(t), 6), int(m))] = edges
    return out


def check_scheme_name(name) -> str:
    """The scheme ``lab-<name>`` for a name of letters, digits, ``-`` and ``_`` (1–40 characters);
    else :class:`ParameterError` saying what is allowed."""
    name = str(name or "").strip()
    if not _NAME.match(name):
        raise ParameterError(f"scheme name {name!r}: use 1 to 40 letters, digits, '-' or '_'")
    return SCHEME_PREFIX + name


def save_scheme(store, song_id: str, name: str, result: LabResult) -> str:
    """Write ``result``'s segments of ``song_id`` as the ``segments`` part of scheme ``lab-<name>``
    (replacing that song's earlier save under the name), then bump the manifest's version so that
    readers (the dashboard) reload. Returns the scheme."""
    scheme = check_scheme_name(name)
    rows = segment_rows(song_id, scheme, result.structure())
    json.loads(rows["params"].iloc[0])  # serialisable, or fail before writing
    store.write_part(SEGMENTS, SEGMENTS.part(scheme=scheme, song_id=song_id), rows)
    store.update_manifest(lambda manifest: None)  # a new version only; nothing else changes
    return scheme
