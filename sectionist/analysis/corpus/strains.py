"""Strains of a notated piece: its repeat structure turned into labelled passes with exact times.

A *strain* (a *notated block*) is a stretch of the notation between two block marks: a start- or
end-repeat barline, or a double, final or heavy barline. First and second endings (music21
``RepeatBracket`` spanners) belong to the strain they end: no block starts between two endings, and
a new one starts after the last ending. A block shorter than one bar (a lone anacrusis written before
the first ``|:``) is merged into the block after it (the last one into the one before it), and so is
a block played only once that is shorter than :data:`MIN_LINK_BARS` bars (a two-chord introduction,
a link between two repeated strains, a short coda). Blocks are labelled ``A``, ``B``, ``C``… in
notated order.

:func:`expand_strains` expands the repeats with music21 (``Stream.expandRepeats``), after numbering
every measure by its notated position so that each expanded measure names the measure it came from.
Each run of expanded measures from one block, without a jump backwards, is a *pass* of that block:
``|: A :| |: B :|`` gives the passes ``A A B B``. A pass starts at the start of its first measure in
the expanded score, i.e. at a bar line of the notation; where the notation writes an anacrusis as a
measure of its own inside the strain (``|: d | g2 ...``), that short measure is the strain's first
and the pass starts on the anacrusis; an anacrusis written at the end of the previous strain's bar
stays in that strain, and the pass starts on the downbeat.

A piece is refused (:class:`PieceDropped`, with the reason) when its parts have different measures,
it has no repeat sign, music21 cannot expand its repeats (badly formed), an end repeat is never
taken (a first ending without a second), its parts expand differently, the expansion is more than
:data:`MAX_EXPANSION` times as long as the notation, or it has one strain only.

:func:`score_midi` writes the (expanded) score as MIDI (with mido: music21's own MIDI writer takes
minutes on a long quartet movement) and :func:`seconds_at` converts score offsets (quarter lengths)
to seconds with that MIDI file's own tempo map, so the truth times are those of the notes FluidSynth
plays, tempo changes included.
"""

from __future__ import annotations

import bisect
import copy
import string
from dataclasses import dataclass, field

#: Barline types (music21 names) that end a block besides repeat barlines.
BLOCK_BARLINES = frozenset({"double", "final", "heavy-light", "heavy-heavy", "heavy"})

#: A block played once that is shorter than this many bars (an introduction, a link, a coda) joins a
#: neighbour block.
MIN_LINK_BARS: float = 4.0

#: Longest accepted expansion, as a multiple of the notated length.
MAX_EXPANSION: float = 2.0


class PieceDropped(Exception):
    """A piece that cannot give strain truth; ``str(exc)`` is the reason."""


@dataclass(frozen=True)
class Pass:
    """One pass through a notated block in the expanded score (offsets in quarter lengths)."""

    label: str
    start_ql: float
    end_ql: float
    first_measure: str
    last_measure: str


@dataclass
class Strains:
    """A piece's expanded score and its passes.

    Attributes
    ----------
    score : music21.stream.Score
        The expanded score, played through ``play_through`` times; each part holds measures only.
    passes : list of Pass
        In time order, covering ``0 .. expanded_ql * play_through``.
    notated_ql, expanded_ql : float
        Length of the notation and of one play-through of its expansion, in quarter lengths.
    labels : list of str
        The block label of each notated measure.
    """

    score: object
    passes: list[Pass]
    notated_ql: float
    expanded_ql: float
    labels: list[str] = field(default_factory=list)

    @property
    def form(self) -> str:
        """The passes' labels in order, e.g. ``"AABBAABB"``."""
        return "".join(p.label for p in self.passes)


def block_label(i: int) -> str:
    """``A``…``Z`` for the first 26 blocks, then ``S27``, ``S28``…"""
    return string.ascii_uppercase[i] if i < 26 else f"S{i + 1}"


def part_measures(score):
    """The measures of each part of ``score`` (one list per part), or :class:`PieceDropped`."""
    from music21 import stream

    parts = list(score.parts) if score.hasPartLikeStreams() else [score]
    measures = [list(p.getElementsByClass(stream.Measure)) for p in parts]
    if not measures or not measures[0]:
        raise PieceDropped("the score has no measures")
    counts = sorted({len(ms) for ms in measures})
    if len(counts) > 1:
        raise PieceDropped(f"its parts have different numbers of measures ({', '.join(map(str, counts))})")
    return parts, measures


def is_repeat(barline, direction=None) -> bool:
    """Whether ``barline`` is a music21 repeat barline (of ``direction`` when given)."""
    from music21 import bar

    return isinstance(barline, bar.Repeat) and (direction is None or barline.direction == direction)


def ends_block(barline) -> bool:
    """Whether a barline is a block mark: any repeat barline, or a double/final/heavy one."""
    return barline is not None and (is_repeat(barline) or getattr(barline, "type", None) in BLOCK_BARLINES)


def bracket_index(part, n_measures) -> dict[int, int]:
    """Measure index → the index of the repeat bracket (ending) over it, for ``part``'s measures."""
    from music21 import spanner, stream

    index = {id(m): i for i, m in enumerate(part.getElementsByClass(stream.Measure))}
    out = {}
    for k, rb in enumerate(part.spannerBundle.getByClass(spanner.RepeatBracket)):
        held = [index[id(m)] for m in rb.getSpannedElements() if id(m) in index]
        for i in range(min(held, default=0), min(max(held, default=-1) + 1, n_measures)):
            out[i] = k  # a bracket may list only its first and last measures
    return out


def notated_blocks(measures, brackets) -> list[int]:
    """The block (0, 1, …) of each notated measure.

    Parameters
    ----------
    measures : list of music21.stream.Measure
        One part's measures in notated order.
    brackets : dict
        Measure index → repeat-bracket index (:func:`bracket_index`).
    """
    block, blocks = 0, []
    for i, m in enumerate(measures):
        if i > 0:
            prev = measures[i - 1]
            between_endings = i - 1 in brackets and i in brackets and brackets[i - 1] != brackets[i]
            after_endings = i - 1 in brackets and i not in brackets
            if not between_endings and (ends_block(prev.rightBarline) or ends_block(m.leftBarline) or after_endings):
                block += 1
        blocks.append(block)
    return merge_short_blocks(blocks, measures, 1.0)


def merge_short_blocks(blocks, measures, min_bars: float, keep=frozenset()) -> list[int]:
    """Merge each block shorter than ``min_bars`` bars (not in ``keep``) into the next one (the last
    into the one before it); blocks renumbered ``0, 1, …`` in notated order."""
    blocks = list(blocks)
    while True:
        ids = list(dict.fromkeys(blocks))
        length = dict.fromkeys(ids, 0.0)
        bar = dict.fromkeys(ids, 0.0)
        for m, b in zip(measures, blocks):
            length[b] += float(m.duration.quarterLength)
            bar[b] = max(bar[b], float(m.barDuration.quarterLength))
        short = [b for b in ids if b not in keep and length[b] < min_bars * bar[b] - 1e-9]
        if not short or len(ids) == 1:
            break
        k = ids.index(short[0])
        into = ids[k + 1] if k + 1 < len(ids) else ids[k - 1]
        blocks = [into if b == short[0] else b for b in blocks]
    order = {b: k for k, b in enumerate(dict.fromkeys(blocks))}
    return [order[b] for b in blocks]


def add_implied_start_repeats(measures, brackets) -> list[int]:
    """Give an end repeat that has no start repeat since the previous end repeat a start repeat there.

    ``A :| B :|`` means ``A A B B`` to players (and to ABC tools), but music21 takes the second
    ``:|`` back to the start of the piece (``A A B A A B``). The start repeat goes on the first
    measure after the previous end repeat that is not an ending (after a first ending, past the
    second); an end repeat with none before it still goes back to the start of the piece. An end
    repeat that music21 put on the left barline of the next measure is moved to the right barline
    of its own measure first.

    Parameters
    ----------
    measures : list of list of music21.stream.Measure
        Each part's measures (changed in place, the same in every part).
    brackets : dict
        Measure index → repeat-bracket index (:func:`bracket_index`).

    Returns
    -------
    list of int
        The measures given a start repeat.
    """
    from music21 import bar

    ms = measures[0]
    for j in range(1, len(ms)):  # an end repeat drawn on the next measure's left: on this one's right
        if is_repeat(ms[j].leftBarline, "end") and not is_repeat(ms[j - 1].rightBarline, "end"):
            for part in measures:
                part[j - 1].rightBarline, part[j].leftBarline = part[j].leftBarline, None
    ends = [j for j, m in enumerate(ms) if is_repeat(m.rightBarline, "end")]
    added = []
    for prev, j in zip(ends, ends[1:]):
        start = prev + 1
        while start < j and start in brackets:
            start += 1
        if start >= j or any(is_repeat(ms[i].leftBarline, "start") or is_repeat(ms[i - 1].rightBarline, "start")
                             for i in range(prev + 1, j + 1)):
            continue
        for part in measures:
            part[start].leftBarline = bar.Repeat(direction="start")
        added.append(start)
    return added


def expand_strains(score, *, play_through: int = 1) -> Strains:
    """Expand ``score``'s repeats and label each pass by its notated block.

    The score is changed in place (its measures are renumbered ``0, 1, …`` in notated order; the
    original numbers are kept in the passes' ``first_measure``/``last_measure``).

    Parameters
    ----------
    score : music21.stream.Score
    play_through : int
        How many times the whole expansion is played (fiddle tunes: twice, ``AABB AABB``).

    Raises
    ------
    PieceDropped
        The piece gives no strain truth (see the module docstring for the reasons).
    """
    from music21 import repeat, stream

    parts, measures = part_measures(score)
    names = [f"{m.number}{m.numberSuffix or ''}" for m in measures[0]]
    for ms in measures:
        for i, m in enumerate(ms):
            m.number, m.numberSuffix = i, None
    brackets = bracket_index(parts[0], len(measures[0]))
    blocks = notated_blocks(measures[0], brackets)
    notated_ql = float(sum(m.duration.quarterLength for m in measures[0]))
    add_implied_start_repeats(measures, brackets)

    states = {repeat.Expander(p).isExpandable() for p in parts}
    if states == {None}:
        raise PieceDropped("no repeat signs")
    if False in states:
        raise PieceDropped("music21 cannot expand its repeats (badly formed repeats or repeat expressions)")
    try:
        expanded = score.expandRepeats()
    except (repeat.ExpanderException, repeat.InsufficientLengthException, ValueError, IndexError) as exc:
        raise PieceDropped(f"music21 cannot expand its repeats ({exc})") from exc
    eparts = list(expanded.parts) if expanded.hasPartLikeStreams() else [expanded]
    seqs = [[m.number for m in p.getElementsByClass(stream.Measure)] for p in eparts]
    if any(s != seqs[0] for s in seqs[1:]):
        raise PieceDropped("its parts expand to different measure sequences")
    seq = seqs[0]
    emeasures = list(eparts[0].getElementsByClass(stream.Measure))
    expanded_ql = float(sum(m.duration.quarterLength for m in emeasures))
    if expanded_ql <= notated_ql + 1e-9:
        raise PieceDropped("no repeat is taken")
    if expanded_ql > MAX_EXPANSION * notated_ql + 1e-9:
        raise PieceDropped(f"its expansion is {expanded_ql / notated_ql:.2f}× the notated length "
                           f"(more than {MAX_EXPANSION:g}×: da capo or nested repeats)")
    for j, m in enumerate(measures[0]):
        nxt = measures[0][j + 1] if j + 1 < len(measures[0]) else None
        if is_repeat(m.rightBarline, "end") or (nxt is not None and is_repeat(nxt.leftBarline, "end")):
            if not any(a == j and b <= j for a, b in zip(seq, seq[1:])):
                raise PieceDropped(f"the end repeat after measure {names[j]} is never taken "
                                   "(a first ending without a second?)")
    runs = [seq[0]] + [b for a, b in zip(seq, seq[1:]) if blocks[b] != blocks[a] or b <= a]
    played = {blocks[i] for i in runs}
    repeated = {b for b in played if sum(blocks[i] == b for i in runs) > 1}
    blocks = merge_short_blocks(blocks, measures[0], MIN_LINK_BARS, keep=repeated)
    labels = [block_label(b) for b in blocks]
    if len(set(labels[i] for i in seq)) < 2:
        raise PieceDropped("one strain only")

    play_through = int(play_through)
    if play_through > 1:
        expanded = repeat_score(eparts, play_through)
        emeasures = list(expanded.parts[0].getElementsByClass(stream.Measure))
        seq = seq * play_through
    passes = []
    start = 0
    for k in range(1, len(seq) + 1):
        if k == len(seq) or labels[seq[k]] != labels[seq[k - 1]] or seq[k] <= seq[k - 1]:
            end_ql = float(emeasures[k].offset) if k < len(seq) else expanded_ql * play_through
            passes.append(Pass(labels[seq[start]], float(emeasures[start].offset), end_ql,
                               names[seq[start]], names[seq[k - 1]]))
            start = k
    return Strains(expanded, passes, notated_ql, expanded_ql, labels)


def repeat_score(parts, times):
    """A new score whose parts play ``parts``' measures ``times`` times in a row (deep copies)."""
    from music21 import stream

    out = stream.Score()
    for p in parts:
        np_ = stream.Part()
        if isinstance(p.id, str):
            np_.id = p.id
        ms = list(p.getElementsByClass(stream.Measure))
        for _ in range(times):
            for m in ms:
                np_.append(copy.deepcopy(m))
        out.insert(0, np_)
    return out


# --------------------------------------------------------------------------------------------
# MIDI and times


#: MIDI ticks per quarter note (divisible by 2–10, 12, 14…: tuplets fall on ticks).
TICKS_PER_QUARTER = 10080

#: MIDI velocity of each dynamic mark (music21 ``Dynamic.value``); notes before any mark: mf.
VELOCITIES: dict[str, int] = {"pppp": 22, "ppp": 30, "pp": 40, "p": 54, "mp": 68, "mf": 80, "f": 96,
                              "ff": 110, "fff": 120, "ffff": 126, "fp": 54}


def score_midi(score, programs):
    """``score`` as a :class:`mido.MidiFile`: one track and channel per part, its tempo marks.

    A conductor track holds the tempo of music21's ``metronomeMarkBoundaries`` (120 quarters a
    minute where there is none); each part plays its notes (ties joined, grace notes left out) with
    General MIDI program ``programs[i]`` and a velocity from the last dynamic mark before the note.
    Events fall on :data:`TICKS_PER_QUARTER` ticks a quarter; the same score gives the same bytes.
    """
    import mido
    from music21 import dynamics

    tpq = TICKS_PER_QUARTER
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    conductor = [(0, 0, mido.MetaMessage("set_tempo", tempo=500000, time=0))]
    for start, _end, mm in score.metronomeMarkBoundaries():
        bpm = mm.getQuarterBPM()
        if bpm:
            conductor.append((int(round(float(start) * tpq)), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    mid.tracks.append(events_track(conductor))
    parts = list(score.parts) if score.hasPartLikeStreams() else [score]
    channels = [c for c in range(16) if c != 9]
    for i, part in enumerate(parts):
        ch = channels[i % len(channels)]
        flat = part.flatten()
        marks = sorted((float(d.offset), VELOCITIES[d.value]) for d in flat.getElementsByClass(dynamics.Dynamic)
                       if d.value in VELOCITIES)
        events = [(0, 0, mido.Message("program_change", channel=ch, program=int(programs[min(i, len(programs) - 1)])))]
        at = [o for o, _v in marks]
        for key, on, off in part_notes(flat):
            k = bisect.bisect_right(at, on + 1e-9)
            vel = marks[k - 1][1] if k else VELOCITIES["mf"]
            events.append((int(round(off * tpq)), 1, mido.Message("note_off", channel=ch, note=key, velocity=0)))
            events.append((int(round(on * tpq)), 2, mido.Message("note_on", channel=ch, note=key, velocity=vel)))
        mid.tracks.append(events_track(events))
    return mid


def part_notes(flat):
    """``(midi key, on, off)`` of each sounding note of a flat part (quarter lengths), ties joined.

    A tie ``start`` holds the key until its ``stop``; grace notes (no duration) and chord symbols
    are left out. (music21's ``stripTies`` joins ties too but takes minutes on a long movement.)
    """
    from music21 import harmony

    held: dict[int, list[float]] = {}  # key -> [on, off]
    out = []
    for n in flat.notes:
        ql = float(n.duration.quarterLength)
        if n.duration.isGrace or ql <= 0 or isinstance(n, harmony.Harmony):
            continue
        on = float(n.offset)
        off = on + ql
        members = n.notes if n.isChord else [n]
        for member in members:
            key = min(127, max(0, int(round(member.pitch.ps))))
            tie = member.tie.type if member.tie is not None else (n.tie.type if n.isChord and n.tie else None)
            if tie in ("continue", "stop") and key in held:
                held[key][1] = off
                if tie == "stop":
                    out.append((key, *held.pop(key)))
                continue
            if key in held:  # a tie never stopped: close it
                out.append((key, *held.pop(key)))
            if tie in ("start", "continue"):
                held[key] = [on, off]
            else:
                out.append((key, on, off))
    out.extend((key, *v) for key, v in held.items())
    return sorted(out, key=lambda e: (e[1], e[0]))


def events_track(events):
    """A :class:`mido.MidiTrack` of ``(tick, order, message)`` events, sorted, with delta times."""
    import mido

    track, last = mido.MidiTrack(), 0
    for tick, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def tempo_changes(mid) -> list[tuple[int, int]]:
    """``(tick, microseconds per quarter)`` of every tempo event of ``mid``, in order (120 bpm first)."""
    events = [(0, 500000)]
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                events.append((tick, int(msg.tempo)))
    events.sort(key=lambda e: e[0])  # stable: a tempo at tick 0 replaces the default
    return events


def seconds_at(mid, quarter_lengths) -> list[float]:
    """Seconds of the score offsets ``quarter_lengths`` in ``mid``'s timeline (its tempo map)."""
    tpq = mid.ticks_per_beat
    changes = tempo_changes(mid)
    out = []
    for ql in quarter_lengths:
        tick = int(round(float(ql) * tpq))
        sec, last_tick, last_tempo = 0.0, 0, changes[0][1]
        for t, tempo in changes:
            if t > tick:
                break
            sec += (t - last_tick) * last_tempo / (1e6 * tpq)
            last_tick, last_tempo = t, tempo
        out.append(sec + (tick - last_tick) * last_tempo / (1e6 * tpq))
    return out
