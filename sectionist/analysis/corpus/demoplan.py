"""The plan of a demo song: its labelled segments, its tempo grid and its per-song choices.

Pure functions of a seeded generator (:func:`song_structure`, :func:`song_params`) and of numbers
(:func:`grid_step`, :func:`song_tempo`); :mod:`sectionist.analysis.corpus.demo` renders the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sectionist.analysis.errors import ParameterError

#: Section labels used in the ground truth.
LABELS: tuple[str, ...] = ("intro", "build", "drop", "break", "outro")

#: Range of nominal tempi (BPM), inclusive.
TEMPO_RANGE: tuple[int, int] = (118, 132)

#: Shortest song :func:`~sectionist.analysis.corpus.demo.make_corpus` accepts, in seconds.
MIN_SECONDS: float = 20.0

#: 16th notes per 4/4 bar.
STEPS_PER_BAR = 16
#: Names of the twelve pitch classes, from C.
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Chord progressions of a minor key: (semitones above the tonic, is_minor) per bar.
_PROGRESSIONS: tuple[tuple[tuple[int, bool], ...], ...] = (
    ((0, True), (8, False), (3, False), (10, False)),   # i  VI  III VII
    ((0, True), (5, True), (8, False), (7, False)),     # i  iv  VI  V
    ((0, True), (10, False), (8, False), (10, False)),  # i  VII VI  VII
    ((8, False), (10, False), (0, True), (0, True)),    # VI VII i   i
    ((0, True), (3, False), (10, False), (5, True)),    # i  III VII iv
)


@dataclass(frozen=True)
class Segment:
    """One labelled span of a song.

    Attributes
    ----------
    label : str
        One of :data:`LABELS`.
    start_bar : int
        First bar (0-based).
    n_bars : int
        Length in whole bars (the last segment also owns any partial bar at the end).
    """

    label: str
    start_bar: int
    n_bars: int


# --------------------------------------------------------------------------------------------
# structure


def song_structure(n_bars, *, rng):
    """Choose the labelled segments of a song of ``n_bars`` whole bars.

    Parameters
    ----------
    n_bars : int
        Whole bars in the song (at least 1).
    rng : np.random.Generator
        Source of the (seeded) choices.

    Returns
    -------
    segments : list of Segment
        Contiguous segments starting at bar 0 whose ``n_bars`` sum to ``n_bars``. Songs of two or
        more segments always contain at least one ``drop`` and one ``break``.
    """
    n_bars = int(n_bars)
    if n_bars < 1:
        raise ParameterError(f"n_bars={n_bars}: a song needs at least one bar")
    unit = 16 if n_bars >= 64 else 8 if n_bars >= 16 else 4
    k = max(1, int(round(n_bars / unit)))
    labels = _label_sequence(k, rng)
    lengths = [unit] * k
    lengths[-1] += n_bars - sum(lengths)  # the last segment absorbs the rest (0.5–1.5 units)
    if lengths[-1] < 1:  # only when rounding gave one unit too many and the tail is tiny
        lengths[-2] += lengths[-1]
        lengths.pop()
        labels.pop()
    segments, bar = [], 0
    for lab, nb in zip(labels, lengths):
        segments.append(Segment(lab, bar, nb))
        bar += nb
    return segments


def _label_sequence(k, rng):
    """Labels of ``k`` segments: intro … outro around a build→drop→break chain."""
    short = {
        1: [["drop"]],
        2: [["drop", "break"], ["break", "drop"]],
        3: [["intro", "drop", "break"], ["build", "drop", "break"], ["drop", "break", "drop"]],
        4: [["intro", "drop", "break", "outro"], ["build", "drop", "break", "drop"],
            ["intro", "build", "drop", "break"]],
    }
    if k in short:
        options = short[k]
        return list(options[int(rng.integers(len(options)))])
    nxt = {
        "intro": (("build", "drop"), (0.75, 0.25)),
        "build": (("drop",), (1.0,)),
        "drop": (("break", "build"), (0.75, 0.25)),
        "break": (("build", "drop"), (0.6, 0.4)),
    }
    for _ in range(100):
        seq = ["intro"]
        while len(seq) < k - 1:
            choices, p = nxt[seq[-1]]
            seq.append(choices[int(rng.choice(len(choices), p=p))])
        seq.append("outro")
        if "drop" in seq and "break" in seq and seq[-2] != "build":  # a build leads into a drop
            return seq
    # Deterministic fallback (never reached in practice): cycle build, drop, break.
    cycle = ["build", "drop", "break"]
    return ["intro"] + [cycle[i % 3] for i in range(k - 2)] + ["outro"]


# --------------------------------------------------------------------------------------------
# tempo and per-song choices


def grid_step(tempo_bpm, sample_rate):
    """Samples per 16th note for a nominal tempo, and the exact tempo of that whole-sample grid.

    Parameters
    ----------
    tempo_bpm : float
        Nominal tempo in beats per minute.
    sample_rate : int
        Samples per second.

    Returns
    -------
    step : int
        Samples per 16th note.
    tempo : float
        ``60 * sample_rate / (4 * step)``, the tempo the audio really has.
    """
    step = int(round(sample_rate * 15.0 / float(tempo_bpm)))
    return step, 15.0 * sample_rate / step


def song_tempo(seed, index):
    """Nominal tempo (integer BPM in :data:`TEMPO_RANGE`) of song ``index`` of corpus ``seed``."""
    return float(np.random.default_rng([int(seed), int(index), 1]).integers(TEMPO_RANGE[0], TEMPO_RANGE[1] + 1))


@dataclass(frozen=True)
class SongParams:
    """Per-song choices (key, progression, patterns, timbre), all drawn from the song's rng."""

    tonic: int
    progression: tuple
    kick: dict
    hat_decay: float
    hat_cutoff: float
    hats_16ths: bool
    bass_rolling: bool
    bass_cutoff: float
    pad_cutoff: float
    pad_detune: float
    lead_shape: str
    lead_duty: float
    lead_cutoff: float
    lead_rhythm: tuple
    lead_degrees: tuple


def song_params(rng):
    """Draw a song's :class:`SongParams` from ``rng`` (the first draws after its structure)."""
    rhythm = rng.random(STEPS_PER_BAR) < 0.55
    rhythm[0] = True
    return SongParams(
        tonic=int(rng.integers(12)),
        progression=_PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))],
        kick={"f_start": float(rng.uniform(130, 190)), "f_end": float(rng.uniform(45, 58)),
              "decay": float(rng.uniform(0.13, 0.19)), "click": float(rng.uniform(0.15, 0.4))},
        hat_decay=float(rng.uniform(0.025, 0.045)),
        hat_cutoff=float(rng.uniform(6000, 8000)),
        hats_16ths=bool(rng.random() < 0.5),
        bass_rolling=bool(rng.random() < 0.5),
        bass_cutoff=float(rng.uniform(350, 600)),
        pad_cutoff=float(rng.uniform(1400, 2600)),
        pad_detune=float(rng.uniform(6, 14)),
        lead_shape=str(rng.choice(["saw", "pulse"])),
        lead_duty=float(rng.uniform(0.25, 0.5)),
        lead_cutoff=float(rng.uniform(2500, 4500)),
        lead_rhythm=tuple(bool(r) for r in rhythm),
        lead_degrees=tuple(int(d) for d in rng.integers(0, 4, STEPS_PER_BAR)),
    )


def chord_midi(params, bar, base):
    """MIDI notes (root, third, fifth, octave) of the chord of ``bar`` with its root in [base, base+12)."""
    offset, minor = params.progression[bar % len(params.progression)]
    root = base + (params.tonic + offset - base) % 12
    return [root, root + (3 if minor else 4), root + 7, root + 12]
