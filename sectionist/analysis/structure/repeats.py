"""The ``repeats`` scheme: a song's parts at its own scale, from what it plays again.

Real compositions are built of phrases a whole number of bars long that come back note for note
(a tracker's patterns, a fiddle tune's strains, a pop song's choruses). ``repeats`` works on that
grid instead of on fixed seconds:

1. **Units at the song's scale.** On the song's beats (:func:`~sectionist.analysis.structure.beats.beat_features`),
   each candidate unit length of :data:`UNIT_BEATS` beats (a bar of 3 or 4, or two bars) and each
   phase cuts the song into units; every full unit is compared with every other, beat by aligned
   beat (:func:`unit_distances`: the mean distance of their standardised harmony and timbre), and
   units are grouped by average linkage cut at ``tau`` — a strict threshold, so two units share a
   label only when one plays the other again. On the grid kept, each unit is also compared with the
   other's window moved by up to half a unit (``shift``, :func:`shifted_unit_distances`): a passage
   played again a beat off the grid (a repeat whose length is no whole number of units, as in a
   quartet's minuet) still matches. The grid kept is the one whose units are most often
   played again, plus how much its lines sit on the checkerboard novelty (``weight``): :func:`choose_grid`;
   its phase goes through the song's first beat when that costs little (``start_weight``: a tune's
   pickup starts its strain, and the song's start is a line).
2. **Boundaries from context** (:func:`unit_segments`): a unit glues to the next when that pair
   always comes together — every play of the first is followed by the second and every play of the
   second follows the first, and the first is played more than once. Everywhere else is a
   boundary: where a phrase goes on differently than it did before, or where nothing repeats.
3. **Phrases labelled by recurrence.** Segments that play the same unit sequence share a label;
   neighbours with one label merge (a phrase played twice in a row is one stretch of it), unless
   each play lasts ``play_beats`` or more: a fiddle tune's strain and its repeat stay two plays
   (a stretch playing one unit over and over is cut into such plays too). Any other
   segment keeps its own label: no label is shared on a vague likeness. Runs of units heard once
   are regrouped into phrases of the song's own length.
4. **Sections** (:func:`phrase_blocks`): phrases that come back together, in the same order, join
   into one section (Re-Pair on the phrase labels), up to ``section_beats`` beats: a fiddle tune's
   strain of four phrases, a verse of two; two phrases in a row each of ``keep_beats`` or more stay
   apart. When equal blocks of ``strain_beats`` played twice in a row explain most of the song
   (:func:`~sectionist.analysis.structure.helpers.strain_grid`: a fiddle tune's AABB), those blocks
   are the sections instead. A short first or last section (a pickup, a last chord) joins its
   neighbour (``edge_share``).

The result is two levels: ``section`` and ``phrase``. Each shared label carries a ``confidence``
(0–1): how close its plays are, against ``tau``. Defaults chosen on the tune halves of the tracker and
notated development corpora (``sectionist dev-corpus --source tracker|music21``;
``bench/structure_ablation.py``, docs/evaluate.md).
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure, scheme
from sectionist.analysis.structure.beats import BeatFeatures, beat_input
from sectionist.analysis.structure.checkerboard import multiscale_novelty
from sectionist.analysis.structure.helpers import (absorb_edges, edge_keep, first_order, label_runs, standardise,
                                                   strain_grid)

#: Version of ``repeats`` (hashed into the analysis config and stored in each part's params).
REPEATS_VERSION = 4

#: Candidate unit lengths in beats: a bar of three or four beats, or two of them.
UNIT_BEATS: tuple[int, ...] = (3, 4, 6, 8)


def repeats_structure(y: np.ndarray, sr: int, *, unit_beats: tuple[int, ...] = UNIT_BEATS, tau: float = 0.5,
                      weight: float = 1.0, kernels: tuple[int, ...] = (8, 16), phrase_beats: int = 16,
                      section_beats: float = 32, play_beats: float = 16, shift: float = 0.5,
                      keep_beats: float = 16, split_plays: bool = True,
                      strain_beats: tuple[float, float] | None = (16, 64), strain_match: float = 0.75,
                      strain_share: float = 0.6, edge_share: float = 0.75, start_weight: float = 0.3,
                      features: BeatFeatures | None = None,
                      beat_times: np.ndarray | None = None, **_) -> Structure:
    """Segments of recurring bar-long units, at two levels (``section`` and ``phrase``).

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
    unit_beats : tuple of int
        Candidate unit lengths in beats (:data:`UNIT_BEATS`).
    tau : float
        Largest mean distance (standardised features, per dimension) at which two units still play
        the same thing: the average-linkage cut.
    weight : float
        Weight of the novelty at the unit lines against the share of repeated units when the grid is chosen.
    kernels : tuple of int
        Checkerboard kernel sizes in beats of the novelty that places the grid.
    phrase_beats : int
        Length in beats of a phrase where the song repeats nothing to measure it by (units heard once
        are regrouped into phrases of the song's own length, else of this).
    section_beats : float
        The longest section in beats that phrases coming back together are joined into (:func:`phrase_blocks`).
    play_beats : float
        A phrase played twice in a row stays two segments when each play lasts at least this many beats
        (a strain and its repeat); shorter ones join into one stretch (:func:`unit_segments`; 0: always join).
    shift : float
        Units are also compared with the other unit's window moved by up to this share of a unit
        (:func:`shifted_unit_distances`: a repeat that lands off the grid still matches; 0: aligned only).
    keep_beats : float
        Two phrases in a row that each last at least this many beats are never joined into one
        section (:func:`phrase_blocks`: two plays of a strain stay two sections; 0: off).
    split_plays : bool
        A stretch that plays one unit sequence over and over is cut into plays of at least
        ``play_beats`` beats (:func:`unit_segments`).
    strain_beats : (float, float) or None
        Shortest and longest block in beats of the strain grid (:func:`strain_grid`): when equal blocks
        played twice in a row explain the song, they are its sections instead of the phrase blocks
        (None: off).
    strain_match : float
        Share of units two neighbouring blocks must have in common to be one strain played twice.
    strain_share : float
        Share of the blocks that must be played twice in a row for the strain grid to be used.
    edge_share : float
        A first or last section shorter than this share of the median of the others (a pickup before
        the first full unit, a last chord ringing on) joins its neighbour, at both levels
        (:func:`~sectionist.analysis.structure.helpers.edge_keep`; 0: off).
    start_weight : float
        The grid's lines go through the song's first beat (:func:`song_start`: a piece starts a phrase,
        pickup included) when that phase of the unit length chosen scores at most this much below the
        best phase (:func:`choose_grid`; 0: off). Without it a fiddle tune's strains were cut at the bar
        line before their pickup, half a bar early, where the tune's novelty is highest.
    features : BeatFeatures, optional
        Precomputed beat features (shared with the other schemes).
    beat_times : np.ndarray, optional
        Beat times in seconds (else tracked).

    Returns
    -------
    Structure
        The ``section`` level, with ``levels["phrase"]`` the phrases; ``params`` holds the grid chosen.
    """
    bf = beat_input(y, sr, features, beat_times)
    r = repeats_beats(bf, unit_beats=unit_beats, tau=tau, weight=weight, kernels=kernels, phrase_beats=phrase_beats,
                      section_beats=section_beats, play_beats=play_beats, shift=shift, keep_beats=keep_beats,
                      split_plays=split_plays, strain_beats=strain_beats, strain_match=strain_match,
                      strain_share=strain_share, edge_share=edge_share, start_weight=start_weight)
    params = dict(unit_beats=[int(v) for v in unit_beats], tau=float(tau), weight=float(weight),
                  kernels=[int(v) for v in kernels], phrase_beats=int(phrase_beats), section_beats=float(section_beats),
                  play_beats=float(play_beats), shift=float(shift), keep_beats=float(keep_beats),
                  split_plays=bool(split_plays),
                  strain_beats=None if strain_beats is None else [float(v) for v in strain_beats],
                  strain_match=float(strain_match), strain_share=float(strain_share), edge_share=float(edge_share),
                  start_weight=float(start_weight), strains=bool(r["strains"]),
                  version=REPEATS_VERSION, n_beats=bf.n, n_phrases=len(r["phrase_bounds"]),
                  unit=int(r["unit"]), phase=int(r["phase"]), n_units=len(r["unit_labels"]),
                  repeated_units=round(float(r["repeated"]), 4), n_post=len(r["bounds"]),
                  n_types=int(np.unique(r["labels"]).size))
    phrase = Structure(r["phrase_bounds"], r["phrase_labels"], confidence=r["phrase_confidence"])
    return Structure(r["bounds"], r["labels"], params, confidence=r["confidence"], levels={"phrase": phrase})


def repeats_beats(bf: BeatFeatures, *, unit_beats: tuple[int, ...] = UNIT_BEATS, tau: float = 0.5,
                  weight: float = 1.0, kernels: tuple[int, ...] = (8, 16), lone_cut: float = 0.0,
                  phrase_beats: int = 16, min_beats: int = 0, section_beats: float = 32,
                  play_beats: float = 16, pair_same: bool = True, lone_join: float = 0.0,
                  shift: float = 0.5, keep_beats: float = 16, split_plays: bool = True,
                  strain_beats: tuple[float, float] | None = (16, 64), strain_match: float = 0.75,
                  strain_share: float = 0.6, edge_share: float = 0.75, start_weight: float = 0.3,
                  loop_plays: int = 0) -> dict:
    """``repeats`` on beat features: a dict with ``bounds``, ``labels``, ``confidence`` (the section level:
    :func:`phrase_blocks` of the phrases, at most ``section_beats`` beats each), ``phrase_bounds``,
    ``phrase_labels``, ``phrase_confidence`` (the phrase level: :func:`unit_segments`),
    ``unit_bounds``, ``unit_labels``, ``unit_confidence`` (the units), the grid's ``unit`` and
    ``phase`` (beats) and ``repeated`` (the share of units played more than once). Keywords as
    :func:`repeats_structure`'s, and ``lone_cut``, ``min_beats`` (:func:`unit_segments`),
    ``pair_same`` (:func:`phrase_blocks`), ``lone_join`` (:func:`join_lone`; 0: off) and
    ``loop_plays`` (:func:`join_loops`; 0: off), tried in the ablation and off by default."""
    n = bf.n
    if n < 2 * min(unit_beats):
        one = np.array([[0.0, bf.duration]])
        nan = np.full(1, np.nan)
        return dict(bounds=one, labels=np.zeros(1, np.int64), confidence=nan, phrase_bounds=one.copy(),
                    phrase_labels=np.zeros(1, np.int64), phrase_confidence=nan.copy(), unit_bounds=one.copy(),
                    unit_labels=np.zeros(1, np.int64), unit_confidence=nan.copy(), unit=n, phase=0, repeated=0.0,
                    strains=False)
    H, T = standardise(bf.harmony), standardise(bf.timbre)
    X = np.hstack([H, T])
    nov = multiscale_novelty([H, T], tuple(kernels))
    unit, phase, edges, lab, D, full = choose_grid(X, nov, unit_beats=unit_beats, tau=tau, weight=weight,
                                                   start=song_start(bf.times), start_weight=start_weight)
    if shift > 0 and int(round(shift * unit)) > 0:
        lab, D, full = unit_labels(X, edges, unit, tau, int(round(shift * unit)))
    unit_conf = unit_confidence(lab, D, full, tau)
    phrase_units = max(1, int(round(phrase_beats / unit))) if phrase_beats > 0 else 0
    min_units = int(np.ceil(min_beats / unit)) if min_beats > 0 else 0
    play_units = int(np.ceil(play_beats / unit)) if play_beats > 0 else 0
    segs, seg_labels = unit_segments(lab, nov[edges[1:-1]], lone_cut, phrase_units, min_units, play_units,
                                     split_plays)
    t = bf.times
    bounds = np.array([[t[edges[a]], t[edges[b]]] for a, b in segs])
    conf = np.array([_shared_confidence(unit_conf, lab, a, b, seg_labels, k) for k, (a, b) in enumerate(segs)])
    counts = np.bincount(lab)
    spans, block_labels = phrase_blocks(seg_labels, np.array([(b - a) * unit for a, b in segs]), section_beats,
                                        pair_same, keep_beats)
    if lone_join > 0:
        lengths = np.array([(segs[b - 1][1] - segs[a][0]) * unit for a, b in spans], dtype=np.float64)
        spans, block_labels = join_lone(spans, block_labels, lengths, lone_join)
    grid = strain_grid(lab, unit, [a for a, _b in segs], int(edges[1] - edges[0] < unit), min_beats=strain_beats[0],
                       max_beats=strain_beats[1], match=strain_match, share=strain_share) if strain_beats else None
    if grid is not None:  # the phrases cut at the strain lines (the levels nest), the strains the sections
        segs, seg_labels = _cut_at(segs, lab, [a for a, _b in grid[0]])
        bounds = np.array([[t[edges[a]], t[edges[b]]] for a, b in segs])
        conf = np.array([_shared_confidence(unit_conf, lab, a, b, seg_labels, k) for k, (a, b) in enumerate(segs)])
        at = {a: k for k, (a, _b) in enumerate(segs)}
        at[len(lab)] = len(segs)
        spans, block_labels = [(at[a], at[b]) for a, b in grid[0]], grid[1]
    if loop_plays > 1:
        spans, block_labels = join_loops(spans, block_labels, loop_plays)
    block_bounds = np.array([[bounds[a, 0], bounds[b - 1, 1]] for a, b in spans])
    shared = np.bincount(block_labels)[block_labels] > 1
    block_conf = np.array([np.nanmean(conf[a:b]) if ok and np.isfinite(conf[a:b]).any() else np.nan
                           for (a, b), ok in zip(spans, shared)])
    if edge_share > 0:
        keep = edge_keep(block_bounds, edge_share)
        if not keep.all():
            gone = {float(v) for v in block_bounds[:-1, 1][~keep[1:]]} | {float(v) for v in block_bounds[1:, 0][~keep[:-1]]}
            block_bounds, block_labels, block_conf = absorb_edges(block_bounds, block_labels, block_conf, keep)
            pk = np.ones(len(bounds), bool)
            pk[0] = float(bounds[0, 1]) not in gone
            pk[-1] = pk[-1] and float(bounds[-1, 0]) not in gone
            bounds, seg_labels, conf = absorb_edges(bounds, seg_labels, conf, pk)
    return dict(bounds=block_bounds, labels=block_labels, confidence=block_conf,
                phrase_bounds=bounds, phrase_labels=seg_labels, phrase_confidence=conf,
                unit_bounds=np.stack([t[edges[:-1]], t[edges[1:]]], axis=1), unit_labels=first_order(lab),
                unit_confidence=unit_conf, unit=unit, phase=phase, repeated=float((counts[lab] > 1).mean()),
                strains=grid is not None)


def _cut_at(segs, lab, lines):
    """Segments (unit index runs) also cut at the unit indices ``lines``, labelled by the unit sequence
    they play (:func:`_period`), first-appearance order."""
    cuts = set(int(v) for v in lines)
    out = []
    for a, b in segs:
        edges = [a, *sorted(c for c in cuts if a < c < b), b]
        out.extend(zip(edges[:-1], edges[1:]))
    ids: dict[tuple, int] = {}
    labels = [ids.setdefault(_period(tuple(int(v) for v in lab[a:b])), len(ids)) for a, b in out]
    return out, first_order(np.array(labels, dtype=np.int64))


def join_lone(spans: list[tuple[int, int]], labels: np.ndarray, beats: np.ndarray,
              ratio: float) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Neighbouring blocks both heard once (a label no other block has) joined into one when either is
    shorter than ``ratio`` × the median length of the blocks that are played again (``beats``: each
    block's length): a through-composed stretch cut into short pieces becomes one section, while lone
    blocks as long as the song's repeated parts stay apart. Without repeated blocks nothing is joined.
    Returns the joined spans and their labels (first-appearance order)."""
    labels = np.asarray(labels)
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) != len(spans):
        raise ParameterError(f"beats: {len(beats)} lengths for {len(spans)} blocks")
    lone = np.bincount(labels)[labels] == 1
    if lone.all() or ratio <= 0:
        return list(spans), first_order(labels)
    short = float(ratio) * float(np.median(beats[~lone]))
    out, out_lab, out_len = [spans[0]], [int(labels[0])], [beats[0]]
    for k in range(1, len(spans)):
        if lone[k] and lone[k - 1] and min(out_len[-1], beats[k]) < short:
            out[-1] = (out[-1][0], spans[k][1])
            out_len[-1] += beats[k]
        else:
            out.append(spans[k])
            out_lab.append(int(labels[k]))
            out_len.append(beats[k])
    return out, first_order(np.array(out_lab, dtype=np.int64))


def phrase_blocks(labels: np.ndarray, beats: np.ndarray, max_beats: float,
                  pair_same: bool = True, keep_beats: float = 0.0) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Sections as blocks of phrases that come back together (Re-Pair, Larsson & Moffat 2000): the
    adjacent pair of symbols played most often (at least twice, not overlapping) becomes one symbol,
    as long as its block lasts at most ``max_beats`` beats; again until no pair qualifies. A strain of
    a fiddle tune (``x y x z`` twice) becomes one section; phrases that never come back in the same
    company stay sections of their own. Returns the blocks (phrase index runs ``[a, b)``) and
    their labels (first-appearance order); ``max_beats`` 0: every phrase its own block;
    ``pair_same`` False: a pair of one symbol twice (a strain and its repeat) is never joined;
    ``keep_beats`` > 0: two single phrases that each last at least this many beats (two plays of a
    strain) are never joined."""
    names = [int(v) for v in labels]
    spans = [(i, i + 1) for i in range(len(names))]
    length = np.concatenate([[0.0], np.cumsum(np.asarray(beats, dtype=np.float64))])
    nxt = max(names, default=-1) + 1

    def joinable(i):
        a, b = spans[i], spans[i + 1]
        if length[b[1]] - length[a[0]] > max_beats:
            return False
        if keep_beats <= 0 or a[1] - a[0] > 1 or b[1] - b[0] > 1:
            return True
        return min(length[a[1]] - length[a[0]], length[b[1]] - length[b[0]]) < keep_beats

    while max_beats > 0 and len(names) > 1:
        counts: dict[tuple, int] = {}
        first: dict[tuple, int] = {}
        last_end: dict[tuple, int] = {}
        for i in range(len(names) - 1):
            pair = (names[i], names[i + 1])
            if not pair_same and pair[0] == pair[1]:
                continue
            if last_end.get(pair, -1) > i:  # overlaps the previous occurrence (a a a)
                continue
            if not joinable(i):
                continue
            counts[pair] = counts.get(pair, 0) + 1
            first.setdefault(pair, i)
            last_end[pair] = i + 2
        best = max((p for p, c in counts.items() if c >= 2), key=lambda p: (counts[p], -first[p]), default=None)
        if best is None:
            break
        new_names, new_spans, i = [], [], 0
        while i < len(names):
            if i + 1 < len(names) and (names[i], names[i + 1]) == best and joinable(i):
                new_names.append(nxt)
                new_spans.append((spans[i][0], spans[i + 1][1]))
                i += 2
            else:
                new_names.append(names[i])
                new_spans.append(spans[i])
                i += 1
        names, spans, nxt = new_names, new_spans, nxt + 1
    return spans, first_order(np.array(names, dtype=np.int64))


def unit_distances(X: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Mean distance, beat by aligned beat, between the units of ``length`` beats starting at
    ``starts`` (rows of ``X``, one per beat), divided by √(dimensions) [shape=(m, m)]."""
    m = len(starts)
    D = np.zeros((m, m))
    for k in range(length):
        A = X[np.asarray(starts) + k]
        sq = (A ** 2).sum(axis=1)
        D += np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * A @ A.T, 0.0))
    np.fill_diagonal(D, 0.0)
    return D / length / np.sqrt(X.shape[1])


def shifted_unit_distances(X: np.ndarray, starts: np.ndarray, length: int, max_shift: int) -> np.ndarray:
    """:func:`unit_distances` where each unit is also compared with the other's window moved by up to
    ``max_shift`` beats either way (the smaller distance, symmetrised), so that a passage played again
    a beat or two off the grid (a repeat whose length is not a whole number of units) still matches
    [shape=(m, m)]."""
    starts = np.asarray(starts, dtype=np.int64)
    n, m = len(X), len(starts)
    best = unit_distances(X, starts, length)
    for d in range(-int(max_shift), int(max_shift) + 1):
        if d == 0:
            continue
        moved = starts + d
        ok = (moved >= 0) & (moved + length <= n)
        if not ok.any():
            continue
        E = np.zeros((m, int(ok.sum())))
        for k in range(length):
            A, B = X[starts + k], X[moved[ok] + k]
            E += np.sqrt(np.maximum((A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2.0 * A @ B.T, 0.0))
        E /= length * np.sqrt(X.shape[1])
        full = np.full((m, m), np.inf)
        full[:, ok] = E
        best = np.minimum(best, np.minimum(full, full.T))
    np.fill_diagonal(best, 0.0)
    return best


def unit_labels(X: np.ndarray, edges: np.ndarray, length: int, tau: float, max_shift: int = 0):
    """Labels of the units between ``edges`` (beat indices): full units (``length`` beats) grouped by
    average linkage cut at ``tau``; the short first and last units and a lone full unit each get their
    own. ``max_shift`` > 0: distances by :func:`shifted_unit_distances`. Returns ``(labels, D, full)``:
    the full units' distances and their indices."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    lens = np.diff(edges)
    full = np.flatnonzero(lens == length)
    lab = -np.ones(len(lens), np.int64)
    D = np.zeros((len(full), len(full)))
    if len(full) > 1:
        D = (shifted_unit_distances(X, edges[full], length, max_shift) if max_shift > 0
             else unit_distances(X, edges[full], length))
        lab[full] = fcluster(linkage(squareform(D, checks=False), method="average"), t=float(tau),
                             criterion="distance")
    nxt = lab.max() + 1
    for i in np.flatnonzero(lab < 0):
        lab[i] = nxt
        nxt += 1
    return first_order(lab), D, full


def choose_grid(X: np.ndarray, nov: np.ndarray, *, unit_beats=UNIT_BEATS, tau: float = 0.5, weight: float = 1.0,
                start: int | None = None, start_weight: float = 0.0):
    """The unit length and phase whose units are most often played again (1 − distinct labels ÷ units: a
    grid off the song's phrases makes more distinct units where one phrase goes on in several ways)
    plus ``weight`` × (the novelty at their lines over its mean, less one); ties to the first tried.
    With ``start`` (a beat index) and ``start_weight`` > 0, the phase of the length chosen whose lines
    go through ``start`` is taken instead when it scores at most ``start_weight`` less.
    Returns ``(unit, phase, edges, labels, D, full)`` (see :func:`unit_labels`)."""
    n = len(X)
    best, at_start = None, {}
    mean_nov = float(nov.mean()) + 1e-12
    for length in unit_beats:
        length = int(length)
        if n < 2 * length:
            continue
        for phase in range(length):
            edges = _grid_edges(n, length, phase)
            cuts = edges[1:-1]
            lab, D, full = unit_labels(X, edges, length, tau)
            reuse = 1.0 - len(np.unique(lab)) / len(lab)
            score = reuse + weight * (float(nov[cuts].mean()) / mean_nov - 1.0)
            if start is not None and phase == start % length:
                at_start[length] = score
            if best is None or score > best[0] + 1e-12:
                best = (score, length, phase, edges, lab, D, full)
    if start is not None and start_weight > 0:  # the song's start as a line when it costs little
        length = best[1]
        if length in at_start and at_start[length] >= best[0] - start_weight and best[2] != start % length:
            phase = start % length  # labelled again rather than kept for every length (D is units² large)
            edges = _grid_edges(n, length, phase)
            best = (at_start[length], length, phase, edges, *unit_labels(X, edges, length, tau))
    return best[1:]


def _grid_edges(n: int, length: int, phase: int) -> np.ndarray:
    """Beat indices of the unit lines of a grid of ``length`` beats through beat ``phase``, with 0 and ``n``."""
    return np.array([0, *[c for c in range(phase, n, length) if c > 0], n])


def join_loops(spans: list[tuple[int, int]], labels: np.ndarray, plays: int):
    """Runs of ``plays`` or more sections in a row with one label (a loop played over and over) joined
    into one section; a part played twice stays two plays. Returns ``(spans, labels)``."""
    out_spans, out_labels = [], []
    for i, j in label_runs(np.asarray(labels)):
        joined = j - i >= plays
        out_spans.extend([(spans[i][0], spans[j - 1][1])] if joined else spans[i:j])
        out_labels.extend([int(labels[i])] if joined else [int(v) for v in labels[i:j]])
    return out_spans, first_order(np.array(out_labels, dtype=np.int64))


def song_start(times: np.ndarray) -> int:
    """The beat index where the song's first phrase starts (``times``: the beat grid of
    :class:`~sectionist.analysis.structure.beats.BeatFeatures`, ``times[0]`` = 0). The first tracked beat
    (1) when less than half a beat comes before it (a sliver, no beat of its own) or more than one and
    a half (silence or a lead-in before the music's first beat, as on many recordings); 0 when about
    one beat comes before it: the tracker missed the first beat, and the start is that beat."""
    if len(times) < 3:
        return 0
    gap, beat = float(times[1] - times[0]), float(np.median(np.diff(times[1:])))
    return int(gap < 0.5 * beat or gap > 1.5 * beat)


def unit_segments(lab: np.ndarray, line_novelty: np.ndarray | None = None, lone_cut: float = 0.0,
                  phrase_units: int = 0, min_units: int = 0, play_units: int = 0,
                  split_plays: bool = False) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Segments (unit index runs ``[a, b)``) and their labels from the units' labels ``lab``.

    Unit ``i − 1`` glues to unit ``i`` when label ``lab[i−1]`` occurs more than once, is always
    followed by ``lab[i]``, and ``lab[i]`` is always preceded by it. Between units one of which is
    heard once, repetition says nothing: there the line ``i`` is cut only when its novelty
    ``line_novelty[i − 1]`` is at least ``lone_cut`` × the mean over all lines (0: always cut).
    With ``phrase_units`` > 0, a run of single units heard once is regrouped into phrases of the song's
    own length (:func:`_lone_phrases`). Segments playing the same label sequence share a label and
    same-label neighbours merge, except (``play_units`` > 0) two plays each at least ``play_units``
    units long: a strain played twice in a row stays two plays, a bar played twice one stretch. With
    ``split_plays``, a segment that repeats one unit sequence is first cut into its plays
    (:func:`_split_plays`), so that a strain played twice is two plays even when the strain is one
    bar-long unit played over and over."""
    m = len(lab)
    if line_novelty is not None and len(line_novelty) != max(m - 1, 0):
        raise ParameterError(f"line_novelty: {len(line_novelty)} values for {max(m - 1, 0)} unit lines")
    counts = np.bincount(lab)
    succ: dict[int, set] = {}
    pred: dict[int, set] = {}
    for i in range(m):
        succ.setdefault(int(lab[i]), set()).add(int(lab[i + 1]) if i + 1 < m else -1)
        pred.setdefault(int(lab[i]), set()).add(int(lab[i - 1]) if i > 0 else -1)
    mean_line = float(np.mean(line_novelty)) if line_novelty is not None and len(line_novelty) else 0.0

    def cut(i):
        a, b = int(lab[i - 1]), int(lab[i])
        if succ[a] == {b} and pred[b] == {a} and counts[a] > 1:
            return False
        if (counts[a] == 1 or counts[b] == 1) and lone_cut > 0 and line_novelty is not None:
            return bool(line_novelty[i - 1] >= lone_cut * mean_line)
        return True

    cuts = [i for i in range(1, m) if cut(i)]
    edges = [0, *cuts, m]
    segs = _lone_phrases(list(zip(edges[:-1], edges[1:])), lab, counts, phrase_units)
    if min_units > 1:
        segs = _absorb_short(segs, int(min_units))
    ids: dict[tuple, int] = {}
    seg_lab = [ids.setdefault(_period(tuple(int(v) for v in lab[a:b])), len(ids)) for a, b in segs]
    split = split_plays and play_units > 0
    merged, merged_lab = [], []
    for (a, b), s in zip(segs, seg_lab):
        long_plays = not split and play_units > 0 and b - a >= play_units and merged and \
            merged[-1][1] - merged[-1][0] >= play_units
        if merged_lab and merged_lab[-1] == s and not long_plays:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
            merged_lab.append(s)
    if split:
        merged = [piece for a, b in merged for piece in _split_plays(a, b, lab, play_units)]
        merged_lab = [ids.setdefault(_period(tuple(int(v) for v in lab[a:b])), len(ids)) for a, b in merged]
    return merged, first_order(np.array(merged_lab, dtype=np.int64))


def _split_plays(a: int, b: int, lab: np.ndarray, play_units: int) -> list[tuple[int, int]]:
    """Segment ``[a, b)`` of units cut into equal plays: the shortest whole number of its period
    (:func:`_period`) lasting at least ``play_units`` units that divides it at least twice; unchanged
    when there is none (``(x, x, x, x)`` with ``play_units`` 2 → ``(x, x) (x, x)``)."""
    key = tuple(int(v) for v in lab[a:b])
    q, n = len(_period(key)), b - a
    for c in range(q, n // 2 + 1, q):
        if c >= play_units and n % c == 0:
            return [(s, s + c) for s in range(a, b, c)]
    return [(a, b)]


def _period(key: tuple) -> tuple:
    """The shortest unit sequence that ``key`` repeats whole (``(a, b, a, b)`` → ``(a, b)``)."""
    n = len(key)
    for p in range(1, n):
        if n % p == 0 and key == key[:p] * (n // p):
            return key[:p]
    return key


def _absorb_short(segs, min_units):
    """``segs`` with each segment shorter than ``min_units`` units joined to its shorter neighbour (the
    one before on a tie), so that stray units join each other before they join a whole part."""
    segs = list(segs)
    while len(segs) > 1:
        short = [k for k, (a, b) in enumerate(segs) if b - a < min_units]
        if not short:
            break
        k = short[0]
        left = segs[k - 1][1] - segs[k - 1][0] if k > 0 else None
        right = segs[k + 1][1] - segs[k + 1][0] if k + 1 < len(segs) else None
        other = k - 1 if right is None or (left is not None and left <= right) else k + 1
        lo, hi = min(k, other), max(k, other)
        segs[lo:hi + 1] = [(segs[lo][0], segs[hi][1])]
    return segs


def _lone_phrases(segs, lab, counts, phrase_units):
    """``segs`` with each run of one-unit segments heard once regrouped into phrases of the song's own
    length: the median length in units of its segments that are played again (else ``phrase_units``),
    counted from the run's start. ``phrase_units`` 0: unchanged."""
    if phrase_units <= 0:
        return segs
    keys = [tuple(int(v) for v in lab[a:b]) for a, b in segs]
    seen = {}
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
    lengths = [b - a for (a, b), k in zip(segs, keys) if seen[k] > 1 and b - a > 1]
    size = int(np.median(lengths)) if lengths else int(phrase_units)
    out, run = [], []

    def flush():
        for s in range(0, len(run), size):
            out.append((run[s][0], run[min(s + size, len(run)) - 1][1]))
        run.clear()

    for a, b in segs:
        if b - a == 1 and counts[lab[a]] == 1:
            run.append((a, b))
        else:
            flush()
            out.append((a, b))
    flush()
    return out


def unit_confidence(lab: np.ndarray, D: np.ndarray, full: np.ndarray, tau: float) -> np.ndarray:
    """Per unit: ``1 − d / (2 tau)`` clipped to [0, 1], ``d`` its distance to the closest other unit of
    its label (NaN for a unit whose label no other unit shares)."""
    conf = np.full(len(lab), np.nan)
    pos = {int(u): i for i, u in enumerate(full)}
    for i in range(len(lab)):
        same = np.flatnonzero(lab == lab[i])
        others = [pos[int(j)] for j in same if j != i and int(j) in pos]
        if i in pos and others:
            conf[i] = float(np.clip(1.0 - D[pos[i], others].min() / (2.0 * tau), 0.0, 1.0))
    return conf


def _shared_confidence(unit_conf, unit_lab, a, b, labels, k) -> float:
    """A segment's confidence: the mean of its units' — NaN when no other segment shares its label and
    it plays no unit twice (a part heard once)."""
    shared = np.sum(labels == labels[k]) > 1 or len(np.unique(unit_lab[a:b])) < b - a
    vals = unit_conf[a:b][np.isfinite(unit_conf[a:b])]
    return float(vals.mean()) if shared and len(vals) else float("nan")


#: ``repeats`` in the registry (:mod:`sectionist.analysis.structure.schemes`).
SCHEME = scheme("repeats", repeats_structure, version=REPEATS_VERSION, inputs=("features",),
                help="bar-long units that the song plays again, glued where they always come together (section and phrase levels)")
