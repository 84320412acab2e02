"""A song's structure recomputed under an expert's corrections (:func:`constrained_structure`).

An expert corrects one song's structure by :class:`Correction`\\ s: two segments are the ``same``
part or ``different`` parts (a pair of times, one inside each), a segment is ``split`` at a time, or a
``boundary`` is moved (from ``time_a`` to ``time_b``). The song's current segmentation (a scheme's
:class:`~sectionist.analysis.structure.base.Structure`) is recomputed so that every correction holds:

1. **Boundaries** (:func:`corrected_cuts`): the scheme's cuts, less those moved away, plus every
   split and moved-to time, which are *pinned*: always present, never moved. A split within
   :data:`SNAP_SECONDS` of a scheme cut moves that cut (the scheme put the boundary a little off)
   instead of leaving a sliver. With the song's beat features, a correction repeats where the same
   music plays again: a split inside a segment cuts the other segments of its label that play the
   same beats again (aligned distance under ``tau``) at the beat where the music around the split
   plays again (:func:`align_beat`), and a moved boundary moves the other boundaries between the
   same two labels to where the music around its new place plays again: a repeated part is cut the
   same way, and a boundary that was right stays.
2. **Labels**: each segment starts with its scheme label; the pieces of a cut segment take the label
   of the segment they sound most like when closer than ``tau`` (else a label of their own, piece by
   piece). Then, correction by correction: ``same`` moves one of the two segments (with the segments
   already tied to it) into the other's label, and the segments of its old label that sound closer to
   it (aligned distance, :func:`segment_distances`) than to the rest of that label, and closer than
   ``tau``, follow it; of the two ways (``a`` into ``b``'s label or ``b`` into ``a``'s) the one whose
   labels lump less unlike segments together is kept (without the audio: the smaller label moves);
   ``different`` splits the label in two around the two segments, each other member going with the
   nearer of them, and the smaller side joins the nearest other label when it is closer than ``tau``
   (else a new one). Propagation is what lets a few corrections fix a whole song.
3. **Every correction honoured** (:func:`enforce`): the segments tied by ``same`` (transitively) share
   one label and no ``different`` pair shares one; a group that still breaks one gets a new label.
   :func:`violations` lists what a structure breaks (empty for every result of this module).

Pure functions over arrays; the store side (versions of a song's scheme) is
:mod:`sectionist.analysis.structure.versions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure
from sectionist.analysis.structure.helpers import first_order, standardise

#: The kinds of a :class:`Correction`: two pair relations and two boundary edits.
KINDS: tuple[str, ...] = ("same", "different", "split", "boundary")
#: The pair relations (a ``--constraints`` CSV's ``relation`` column).
RELATIONS: tuple[str, ...] = ("same", "different")
#: Two cuts closer than this (seconds) are one cut: a pinned time replaces a scheme cut this close.
CUT_TOLERANCE = 0.25
#: Largest aligned distance (:func:`segment_distances`) at which a segment follows a corrected one.
#: Chosen on the real tracker tune half (47 songs, ``bench/guided_structure.py
#: /work/corpora/tracker/tune --tau 0.35,0.5,0.6,0.75``): frame ARI after 5 simulated corrections per
#: song, ``repeats`` 0.800 / 0.798 / 0.789 / 0.768 and ``merged`` 0.654 / 0.642 / 0.635 / 0.617 for
#: tau 0.35 / 0.5 / 0.6 / 0.75 (0.747 and 0.623 without propagation); 0.5, the middle of the plateau
#: (after 3 corrections ``repeats`` had 0.744 / 0.748 / 0.748 / 0.735). Earlier, on 8 composed songs,
#: 0.75 was chosen (repeats with variations lie 0.2–1.1 apart there, different parts at least 0.78).
TAU = 0.5
#: A split this close (seconds) to a scheme boundary moves that boundary instead of adding one.
SNAP_SECONDS = 2.0
#: Beats on either side of a corrected boundary that :func:`align_beat` matches elsewhere in the song.
CONTEXT_BEATS = 8


@dataclass(frozen=True)
class Correction:
    """One expert correction of a song's structure.

    ``same`` / ``different``: the segments containing ``time_a`` and ``time_b`` (seconds) are one part /
    two parts; ``split``: a boundary at ``time_a``; ``boundary``: the boundary nearest ``time_a``
    moves to ``time_b``. ``source`` names where it came from (``file.csv:3``) for error messages.
    """

    kind: str
    time_a: float
    time_b: float | None = None
    source: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ParameterError(f"{self.where}kind {self.kind!r}: choose among {', '.join(KINDS)}")
        if (self.kind != "split") and self.time_b is None:
            raise ParameterError(f"{self.where}{self.kind} needs two times")

    @property
    def where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def as_dict(self) -> dict:
        """JSON-ready: what a version's ``params`` records."""
        out = {"kind": self.kind, "time_a": round(float(self.time_a), 3)}
        if self.time_b is not None:
            out["time_b"] = round(float(self.time_b), 3)
        return out

    @classmethod
    def from_dict(cls, d: dict, source: str = "") -> Correction:
        return cls(str(d["kind"]), float(d["time_a"]), None if d.get("time_b") is None else float(d["time_b"]),
                   source)


def parse_seconds(value, what: str) -> float:
    """``value`` as a finite number of seconds; a ParameterError naming ``what`` (e.g. ``FILE:LINE:
    time_a``) otherwise."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = math.nan
    if not math.isfinite(t):
        raise ParameterError(f"{what} {value!r} is not a number of seconds")
    return t


def beat_matrix(features) -> np.ndarray:
    """Standardised harmony and timbre of each beat, scaled by 1/√dimensions [shape=(n, d)]: what
    :func:`segment_distances` compares beat by aligned beat (as ``repeats`` compares its units)."""
    X = np.hstack([standardise(features.harmony), standardise(features.timbre)])
    return X / np.sqrt(X.shape[1])


def beat_spans(times: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Beat index runs ``[a, b)`` of segments ``bounds`` (seconds) on beat edges ``times`` [shape=(k, 2)]:
    each segment edge to its nearest beat edge, every run at least one beat long."""
    times = np.asarray(times, dtype=np.float64)
    n = len(times) - 1
    flat = np.asarray(bounds, dtype=np.float64).reshape(-1)
    edges = np.abs(times[None, :] - flat[:, None]).argmin(axis=1).reshape(-1, 2)
    edges[:, 0] = np.minimum(edges[:, 0], n - 1)
    edges[:, 1] = np.maximum(edges[:, 1], edges[:, 0] + 1)
    return edges


def segment_distances(X: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """How far apart two segments sound [shape=(k, k)]: the shorter slid along the longer, the least
    mean distance of their aligned beats (rows of ``X``, :func:`beat_matrix`), plus half the share of
    the longer that the shorter does not cover (a segment is not the same part as its own first half)."""
    k = len(spans)
    sq = (X ** 2).sum(axis=1)
    B = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0))
    D = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            (a, b), (c, d) = spans[i], spans[j]
            block = B[a:b, c:d] if b - a <= d - c else B[c:d, a:b]  # rows: the shorter segment
            short, long_ = block.shape
            best = min(np.trace(block, offset=o) for o in range(long_ - short + 1)) / short
            D[i, j] = D[j, i] = best + 0.5 * (1.0 - short / long_)
    return D


def corrected_cuts(bounds: np.ndarray, labels: np.ndarray, corrections, *, times: np.ndarray | None = None,
                   X: np.ndarray | None = None, D: np.ndarray | None = None, spans: np.ndarray | None = None,
                   tau: float = TAU, propagate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The inner cuts (seconds, sorted) after the ``split`` and ``boundary`` corrections, and which are
    pinned. A split within :data:`SNAP_SECONDS` of a scheme cut moves that cut (the scheme put the
    boundary a little off). ``times``/``X``/``D``/``spans`` (beat edges, :func:`beat_matrix`,
    :func:`segment_distances` of the scheme's segments, their :func:`beat_spans`): with them and
    ``propagate``, splits and moves repeat where the same music plays again (module docstring, step 1)."""
    duration = float(bounds[-1, 1])
    cuts = {round(float(c), 6): False for c in bounds[1:, 0]}  # time -> pinned
    evidence = propagate and times is not None and X is not None and D is not None and spans is not None
    pins = []
    for c in corrections:
        if c.kind == "boundary":
            t = float(c.time_b)
            old = _nearest_movable(cuts, c.time_a, max(CUT_TOLERANCE, abs(c.time_b - c.time_a)))
        elif c.kind == "split":
            t = float(c.time_a)
            old = _nearest_movable(cuts, t, SNAP_SECONDS)
            if old is not None and abs(old - t) < CUT_TOLERANCE:
                old = None  # the boundary is there already: pinned below
            elif old is None and evidence:
                _propagate_split(cuts, bounds, labels, t, times, X, D, spans, tau)
        else:
            continue
        if old is not None:
            del cuts[old]
            if evidence:
                _propagate_move(cuts, bounds, labels, old, t, times, X, D, spans, tau)
        pins.append(t)
    for t in pins:
        if 0.0 < t < duration:
            for near in [u for u, pinned in cuts.items() if not pinned and abs(u - t) < CUT_TOLERANCE]:
                del cuts[near]
            cuts[round(t, 6)] = True
    # unpinned cuts too close to a pinned one or to the song's ends go
    pinned_t = np.array([t for t, p in cuts.items() if p])
    for t in [u for u, p in cuts.items() if not p]:
        if t <= 0 or t >= duration or (len(pinned_t) and np.abs(pinned_t - t).min() < CUT_TOLERANCE):
            del cuts[t]
    order = sorted(cuts)
    return np.array(order, dtype=np.float64), np.array([cuts[t] for t in order], dtype=bool)


def _nearest_movable(cuts: dict, t: float, reach: float):
    """The unpinned cut nearest ``t`` when it lies within ``reach`` seconds, else None."""
    movable = [u for u, pinned in cuts.items() if not pinned]
    if not movable:
        return None
    old = min(movable, key=lambda u: abs(u - t))
    return old if abs(old - t) <= reach + 1e-9 else None


def _beat_of(times, t) -> int:
    return int(np.abs(np.asarray(times) - t).argmin())


def align_beat(X: np.ndarray, src: int, candidates) -> tuple[int | None, float]:
    """Where the music around beat ``src`` plays again among the beats ``candidates``: the candidate
    whose :data:`CONTEXT_BEATS` beats on either side are closest to those around ``src`` (mean
    distance of aligned rows of ``X``), and that distance (``(None, inf)`` when none fits in the song)."""
    n = len(X)
    lo, hi = max(0, src - CONTEXT_BEATS), min(n, src + CONTEXT_BEATS)
    W, off = X[lo:hi], src - lo
    best, best_d = None, np.inf
    for b in candidates:
        a0 = int(b) - off
        if b == src or a0 < 0 or a0 + len(W) > n:
            continue
        d = float(np.linalg.norm(W - X[a0:a0 + len(W)], axis=1).mean())
        if d < best_d:
            best, best_d = int(b), d
    return best, best_d


def _propagate_split(cuts, bounds, labels, t, times, X, D, spans, tau):
    """The split at ``t`` repeated in the other segments of its segment's label that play the same
    beats again (aligned distance under ``tau``), at the beat where the music around ``t`` plays
    again (:func:`align_beat`, closer than ``tau``; nothing when that is the segment's own edge)."""
    s = int(np.searchsorted(bounds[:, 0], t, side="right") - 1)
    if s < 0 or t <= bounds[s, 0] + CUT_TOLERANCE or t >= bounds[s, 1] - CUT_TOLERANCE:
        return
    src = _beat_of(times, t)
    for o in np.flatnonzero(labels == labels[s]):
        if o == s or D[s, o] >= tau:
            continue
        a, b = spans[o]
        best, cost = align_beat(X, src, range(a, b + 1))
        if best is not None and cost < tau and a < best < b:
            cuts.setdefault(round(float(times[best]), 6), False)


def _propagate_move(cuts, bounds, labels, old, new, times, X, D, spans, tau):
    """A scheme boundary between labels ``p | q`` moved from ``old`` to ``new``: each other unpinned
    ``p | q`` boundary whose segments play the same beats again as these two (aligned distance under
    ``tau``) moves, within the same reach, to where the music around ``new`` plays again
    (:func:`align_beat`, closer than ``tau``); one already there stays."""
    i = int(np.argmin(np.abs(bounds[1:, 0] - old))) + 1  # segment starting at the old cut
    if abs(bounds[i, 0] - old) > CUT_TOLERANCE:
        return  # not a scheme boundary (one an earlier correction added)
    nb = _beat_of(times, new)
    reach = abs(nb - _beat_of(times, old)) + 2
    for j in range(1, len(bounds)):
        if j == i or labels[j - 1] != labels[i - 1] or labels[j] != labels[i]:
            continue
        if D[j - 1, i - 1] >= tau or D[j, i] >= tau:
            continue
        t = round(float(bounds[j, 0]), 6)
        if t not in cuts or cuts[t]:
            continue
        bt = _beat_of(times, t)
        best, cost = align_beat(X, nb, range(bt - reach, bt + reach + 1))
        if best is None or cost >= tau or best == bt or not spans[j - 1, 0] < best < spans[j, 1]:
            continue
        del cuts[t]
        cuts.setdefault(round(float(times[best]), 6), False)


def constrained_structure(base: Structure, corrections, *, features=None, tau: float = TAU,
                          propagate: bool = True) -> Structure:
    """``base`` (one song's section level) recomputed so that every correction holds.

    Parameters
    ----------
    base : Structure
        The song's current segmentation by a scheme (its section level).
    corrections : sequence of Correction
        In the order they were given (a later ``same`` moves segments an earlier one placed).
    features : BeatFeatures, optional
        The song's :func:`~sectionist.analysis.structure.beats.beat_features`: the recurrence evidence
        that carries a correction to the segments that sound like the corrected one. Without them
        (or with ``propagate=False``) only the segments named are changed.
    tau : float
        Largest aligned distance (:func:`segment_distances`) at which a segment follows a corrected one
        (:data:`TAU`).

    Returns
    -------
    Structure
        The new segments and labels; ``params`` holds the ``corrections``, ``pinned`` cuts,
        ``satisfied`` (how many corrections hold: all of them) and ``changed`` (segments of the new
        structure whose label differs from the scheme's, by pair agreement).

    Raises
    ------
    ParameterError
        A time outside the song; ``different`` on two times of one segment; a ``same`` chain that
        ties two segments a ``different`` separates (the message names the correction's ``source``).
    """
    bounds = np.asarray(base.bounds, dtype=np.float64)
    labels = np.asarray(base.labels, dtype=np.int64)
    duration = float(bounds[-1, 1])
    corrections = list(corrections)
    for c in corrections:
        for t in (c.time_a, c.time_b):
            if t is not None and not 0.0 <= t <= duration:
                raise ParameterError(f"{c.where}time {t:g} s is outside the song (0–{duration:g} s)")
    use = propagate and features is not None
    times = spans = D0 = X = None
    if use:
        times = np.asarray(features.times, dtype=np.float64)
        X = beat_matrix(features)
        spans = beat_spans(times, bounds)
        D0 = segment_distances(X, spans)
    cuts, pinned = corrected_cuts(bounds, labels, corrections, times=times, X=X, D=D0, spans=spans, tau=tau,
                                  propagate=use)
    edges = np.concatenate([[0.0], cuts, [duration]])
    new_bounds = np.stack([edges[:-1], edges[1:]], axis=1)
    init = piece_labels(bounds, labels, new_bounds)
    pairs = segment_pairs(new_bounds, corrections)
    D = segment_distances(X, beat_spans(times, new_bounds)) if use else None
    dur = new_bounds[:, 1] - new_bounds[:, 0]
    if D is not None:
        init = _relabel_pieces(init, _cut_pieces(bounds, new_bounds), D, tau)
    out = _derive_labels(init, pairs, D, dur, tau)
    out = first_order(enforce(out, pairs, dur))
    conf = _confidence(base, new_bounds, out, pairs)
    result = Structure(new_bounds, out, confidence=conf)
    broken = violations(result, corrections)
    if broken:  # enforce() makes this impossible; a bug must not be written as an expert's structure
        raise ParameterError(f"{broken[0].where}correction {broken[0].as_dict()} not honoured")
    result.params = dict(corrections=[c.as_dict() for c in corrections], pinned=[round(float(t), 3) for t in cuts[pinned]],
                         satisfied=len(corrections), changed=_changed(bounds, labels, new_bounds, out),
                         propagate=bool(use), tau=float(tau), n_post=len(new_bounds), n_types=int(np.unique(out).size))
    return result


def segment_at(bounds: np.ndarray, t: float) -> int:
    """Index of the segment of ``bounds`` containing ``t`` (``[start, end)``; the song's end in the last)."""
    return int(np.clip(np.searchsorted(np.asarray(bounds)[:, 0], t, side="right") - 1, 0, len(bounds) - 1))


def segment_pairs(bounds: np.ndarray, corrections) -> list[tuple[str, int, int, Correction]]:
    """The pair corrections as ``(relation, segment_a, segment_b, correction)`` on ``bounds``, checked:
    ``different`` inside one segment, or a ``different`` between segments that ``same`` corrections tie
    (directly or through others), is a ParameterError naming the correction."""
    pairs = [(c.kind, segment_at(bounds, c.time_a), segment_at(bounds, c.time_b), c)
             for c in corrections if c.kind in RELATIONS]
    ties = _Ties(len(bounds))
    for kind, i, j, c in pairs:
        if kind == "same":
            ties.union(i, j)
    for kind, i, j, c in pairs:
        if kind != "different":
            continue
        if i == j:
            raise ParameterError(f"{c.where}different: {c.time_a:g} s and {c.time_b:g} s are in one segment "
                                 f"({bounds[i, 0]:g}–{bounds[i, 1]:g} s)")
        if ties.find(i) == ties.find(j):
            same = [d for k, a, b, d in pairs if k == "same" and ties.find(a) == ties.find(i)]
            raise ParameterError(f"{c.where}different: {c.time_a:g} s and {c.time_b:g} s are tied as the same part by "
                                 + ", ".join(d.source or f"same {d.time_a:g}/{d.time_b:g}" for d in same))
    return pairs


def violations(structure: Structure, corrections) -> list[Correction]:
    """The corrections ``structure`` breaks: a ``same`` pair with two labels, a ``different`` pair with
    one, a ``split`` or moved-to time that is not a boundary (within 1 ms)."""
    bounds, labels = np.asarray(structure.bounds), np.asarray(structure.labels)
    cuts = bounds[1:, 0]
    out = []
    for c in corrections:
        if c.kind in RELATIONS:
            same = labels[segment_at(bounds, c.time_a)] == labels[segment_at(bounds, c.time_b)]
            if same != (c.kind == "same"):
                out.append(c)
        else:
            t = c.time_a if c.kind == "split" else c.time_b
            if 0.0 < t < bounds[-1, 1] and not (len(cuts) and np.abs(cuts - t).min() < 1e-3):
                out.append(c)
    return out


class _Ties:
    """Union-find of segments tied by ``same``."""

    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i, j):
        self.parent[self.find(i)] = self.find(j)

    def group(self, i):
        r = self.find(i)
        return [k for k in range(len(self.parent)) if self.find(k) == r]


def piece_labels(bounds, labels, new_bounds) -> np.ndarray:
    """Each new segment's scheme label; the pieces of a scheme segment cut in several as new labels,
    piece by piece (piece ``k`` of ``n`` of label ``p``: the same label wherever ``p`` was cut in ``n``)."""
    mids = new_bounds.mean(axis=1)
    owner = np.clip(np.searchsorted(bounds[:, 0], mids, side="right") - 1, 0, len(bounds) - 1)
    keys = []
    for s in range(len(new_bounds)):
        mine = np.flatnonzero(owner == owner[s])
        keys.append((int(labels[owner[s]]), int(np.searchsorted(mine, s)), len(mine)))
    index: dict[tuple, int] = {}
    return np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)


def _cut_pieces(bounds, new_bounds) -> np.ndarray:
    """Indices of the new segments that are pieces of a scheme segment cut in several."""
    owner = np.clip(np.searchsorted(bounds[:, 0], new_bounds.mean(axis=1), side="right") - 1, 0, len(bounds) - 1)
    counts = np.bincount(owner, minlength=len(bounds))
    return np.flatnonzero(counts[owner] > 1)


def _relabel_pieces(labels, pieces, D, tau) -> np.ndarray:
    """The label of each piece of a cut segment (with the pieces that share it) becomes the label of the
    segment it sounds most like, when closer than ``tau``: the halves of a segment split between two
    parts join the parts they play (a piece may join its sibling: a part played twice in a row)."""
    L = np.asarray(labels).copy()
    for s in pieces:
        others = np.flatnonzero(L != L[s])
        if not len(others):
            continue
        k = others[np.argmin(D[s, others])]
        if D[s, k] < tau:
            L[L == L[s]] = L[k]
    return L


def _derive_labels(labels, pairs, D, dur, tau) -> np.ndarray:
    """Step 2 of the module docstring: each pair correction applied in order, with propagation when
    the segment distances ``D`` are given."""
    L = labels.copy()
    ties = _Ties(len(L))
    apart: list[tuple[int, int]] = []

    def conflicts(group, members):
        gs, ms = set(group), set(members)
        return any((a in gs and b in ms) or (b in gs and a in ms) for a, b in apart)

    def near(k, members):
        return min((D[k, m] for m in members), default=np.inf)

    for kind, i, j, _c in pairs:
        if kind == "same":
            if L[i] != L[j]:
                options = [_join(L, ties, i, j, D, tau, conflicts, near), _join(L, ties, j, i, D, tau, conflicts, near)]
                if np.sum(L == L[i]) > np.sum(L == L[j]):
                    options.reverse()  # without distances, the smaller label moves into the larger
                if D is not None:
                    options.sort(key=lambda opt: _spread(opt, D))  # stable: ties keep the rule above
                L = options[0]
            ties.union(i, j)
        else:
            apart.append((i, j))
            if L[i] != L[j]:
                continue
            p = L[i]
            side_i, side_j = ties.group(i), ties.group(j)
            for k in np.flatnonzero(L == p):
                if k in side_i or k in side_j:
                    continue
                group = ties.group(k)
                if any(g in side_i or g in side_j for g in group):
                    continue
                to_j = D is not None and near(k, side_j) < near(k, side_i)
                if conflicts(group, side_j if to_j else side_i):
                    to_j = not to_j
                (side_j if to_j else side_i).extend(g for g in group if g not in side_i and g not in side_j)
            leaving = side_j if dur[side_j].sum() <= dur[side_i].sum() else side_i
            target = L.max() + 1
            if D is not None:
                best = np.inf
                for r in np.unique(L):
                    members = list(np.flatnonzero(L == r))
                    if r == p or conflicts(leaving, members):
                        continue
                    d = float(np.mean([near(k, members) for k in leaving]))
                    if d < tau and d < best:
                        best, target = d, r
            L[leaving] = target
    return L


def _join(L, ties, i, j, D, tau, conflicts, near) -> np.ndarray:
    """Labels with segment ``i`` (and the segments tied to it) moved into the label of ``j``; with the
    distances ``D``, the other segments of ``i``'s old label that sound closer to the destination
    than to the rest of that label, and closer than ``tau``, follow it."""
    L = L.copy()
    p, q = L[i], L[j]
    moving = ties.group(i)
    dest = list(np.flatnonzero(L == q)) + moving
    if D is not None:
        rest = [k for k in np.flatnonzero(L == p) if k not in moving]
        for k in rest:
            group = ties.group(k)
            if any(g in moving for g in group) or any(L[g] != p for g in group):
                continue
            stay = [m for m in rest if m not in group and m not in moving]
            d = near(k, dest)
            if d < tau and d < near(k, stay) and not conflicts(group, dest):
                moving = moving + [g for g in group if g not in moving]
    L[moving] = q
    return L


def _spread(L, D) -> float:
    """Mean distance of the pairs of segments that share a label (0 when none does): how unlike its
    parts a labelling lumps together."""
    same = np.triu(L[:, None] == L[None, :], k=1)
    return float(D[same].mean()) if same.any() else 0.0


def enforce(labels: np.ndarray, pairs, dur: np.ndarray) -> np.ndarray:
    """Labels with every pair correction honoured: the segments tied by ``same`` (transitively) take
    their longest-lasting label; a tied group that shares a label with a segment it must differ from
    gets a new one, until none does."""
    L = np.asarray(labels, dtype=np.int64).copy()
    ties = _Ties(len(L))
    for kind, i, j, _c in pairs:
        if kind == "same":
            ties.union(i, j)
    for root in {ties.find(k) for k in range(len(L))}:
        group = ties.group(root)
        if len(group) > 1:
            weight: dict[int, float] = {}
            for g in group:
                weight[int(L[g])] = weight.get(int(L[g]), 0.0) + float(dur[g])
            L[group] = max(weight, key=lambda v: (weight[v], -v))
    changed = True
    while changed:
        changed = False
        for kind, i, j, c in pairs:
            if kind == "different" and L[i] == L[j]:
                if ties.find(i) == ties.find(j):
                    raise ParameterError(f"{c.where}different: the two segments are tied as the same part")
                L[ties.group(j)] = L.max() + 1
                changed = True
    return L


def _confidence(base, new_bounds, labels, pairs) -> np.ndarray:
    """1 for a segment an expert tied to another (``same``), NaN where no other segment shares the
    label, else the scheme's confidence of the segment it came from."""
    k = len(new_bounds)
    conf = np.full(k, np.nan)
    if base.confidence is not None:
        owner = np.clip(np.searchsorted(base.bounds[:, 0], new_bounds.mean(axis=1), side="right") - 1, 0,
                        len(base.bounds) - 1)
        conf = np.asarray(base.confidence, dtype=np.float64)[owner].copy()
    for kind, i, j, _c in pairs:
        if kind == "same":
            conf[[i, j]] = 1.0
    counts = np.bincount(labels)
    conf[counts[labels] < 2] = np.nan
    return conf


def _changed(bounds, labels, new_bounds, new_labels) -> int:
    """Segments of the new structure whose label grouping differs from the scheme's: a segment counts
    when some other segment is the same part in one and not in the other (compared at their midpoints)."""
    mids = new_bounds.mean(axis=1)
    old = labels[np.clip(np.searchsorted(bounds[:, 0], mids, side="right") - 1, 0, len(bounds) - 1)]
    same_old = old[:, None] == old[None, :]
    same_new = new_labels[:, None] == new_labels[None, :]
    return int(np.any(same_old != same_new, axis=1).sum())
