"""The songs of the development corpus: composed from a random generator, written as MIDI.

:func:`compose_song` is a pure function from a generator to a :class:`Song` (key, tempo, a form of
:data:`FORMS`, each section type's own material, and :data:`VARIATIONS` when a type recurs);
:func:`song_events` and :func:`song_midi` turn a song into notes and a :class:`mido.MidiFile`.
:mod:`sectionist.analysis.corpus.devcorpus` renders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sectionist.analysis.errors import ParameterError

#: Range of tempi (BPM), inclusive.
TEMPO_RANGE: tuple[int, int] = (80, 150)

#: Shortest ``seconds`` accepted.
MIN_SECONDS: float = 15.0

#: Forms: the sequence of section types. Lengths come from :data:`UNITS`.
FORMS: dict[str, tuple[str, ...]] = {
    "verse-chorus-bridge": ("intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"),
    "aaba": ("intro", "verse", "verse", "bridge", "verse", "outro"),
    "pre-chorus": ("intro", "verse", "prechorus", "chorus", "verse", "prechorus", "chorus", "bridge",
                   "chorus", "outro"),
    "verse-chorus-solo": ("intro", "verse", "chorus", "verse", "chorus", "solo", "chorus", "outro"),
}

#: Length of each section type in units (a unit is a whole number of bars chosen per song).
UNITS: dict[str, int] = {"intro": 1, "verse": 2, "prechorus": 1, "chorus": 2, "bridge": 2, "solo": 2,
                         "outro": 1}

#: What a recurring section may change (at most two per recurrence, at least one).
VARIATIONS: tuple[str, ...] = ("drums", "lead_instrument", "melody_octave", "melody_varied", "fill",
                               "modulation")

# General MIDI programs (0-based) per role.
_LEADS = (0, 4, 11, 24, 26, 40, 52, 53, 56, 65, 71, 73, 80, 81)
_COMPS = (0, 4, 16, 19, 24, 25, 29, 48, 61, 89)
_BASSES = (32, 33, 34, 35, 38)
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}

# Chord progressions as scale degrees (0 = tonic), one chord per bar (or per two bars).
_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 4, 3), (1, 4, 0, 0), (3, 0, 4, 5), (0, 5, 3, 4),
              (3, 4, 2, 5), (0, 2, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (3, 5, 6, 0), (0, 2, 6, 3), (5, 6, 0, 0),
              (0, 3, 6, 2), (3, 4, 0, 0)),
}

# GM drum notes.
_KICK, _SNARE, _RIM, _CLAP, _HAT, _OPEN_HAT, _RIDE, _CRASH = 36, 38, 37, 39, 42, 46, 51, 49
_TOMS = (50, 47, 45, 43)
_STEPS = 16  # 16th notes per 4/4 bar

# Drum patterns: instrument → steps of a bar.
_DRUMS: dict[str, dict[int, tuple[int, ...]]] = {
    "rock": {_KICK: (0, 8, 10), _SNARE: (4, 12), _HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
    "four": {_KICK: (0, 4, 8, 12), _CLAP: (4, 12), _OPEN_HAT: (2, 6, 10, 14), _HAT: (0, 4, 8, 12)},
    "halftime": {_KICK: (0, 3, 10), _SNARE: (8,), _HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
    "sixteenths": {_KICK: (0, 6, 8), _SNARE: (4, 12), _HAT: tuple(range(16))},
    "ride": {_KICK: (0, 10), _SNARE: (4, 12), _RIDE: (0, 4, 8, 12), _HAT: (4, 12)},
    "sparse": {_RIM: (4, 12), _HAT: (0, 4, 8, 12)},
    "disco": {_KICK: (0, 4, 8, 12), _SNARE: (4, 12), _OPEN_HAT: (2, 6, 10, 14)},
}
_LOUDNESS = {"intro": 70, "verse": 82, "prechorus": 88, "chorus": 104, "bridge": 80, "solo": 96, "outro": 72}


@dataclass
class Part:
    """The material of one section type.

    Attributes
    ----------
    progression : tuple of int
        Scale degrees of the chords.
    bars_per_chord : int
        1 or 2.
    melody : list of (int, int, int)
        ``(step, length in steps, scale index)`` over one pass of the progression; scale index 0 is
        the tonic of the melody's octave; empty for no melody.
    bass : tuple of int
        Steps of a bar where the bass plays; each note is the chord root.
    comp : str
        ``"pad"`` (one chord per bar, held) or ``"strum"`` (chords on 8ths).
    drums : str or None
        A key of the drum patterns, or no drums.
    lead, comp_program : int
        General MIDI programs.
    """

    progression: tuple
    bars_per_chord: int
    melody: list
    bass: tuple
    comp: str
    drums: str | None
    lead: int
    comp_program: int


@dataclass
class Section:
    """One section of a song: its type, first bar, length in bars and the variations it carries."""

    label: str
    start_bar: int
    n_bars: int
    variations: list = field(default_factory=list)
    drums: str | None = None
    lead: int = 0
    melody: list = field(default_factory=list)
    transpose: int = 0


@dataclass
class Song:
    """A composed song (see :func:`compose_song`)."""

    title: str
    tempo_us: int
    tonic: int
    mode: str
    form: str
    bass_program: int
    parts: dict
    sections: list

    @property
    def tempo_bpm(self) -> float:
        """The exact tempo of the MIDI file (its microseconds per beat are a whole number)."""
        return 60e6 / self.tempo_us

    @property
    def bar_seconds(self) -> float:
        return 4 * self.tempo_us / 1e6

    @property
    def n_bars(self) -> int:
        return sum(s.n_bars for s in self.sections)

    @property
    def key(self) -> str:
        return f"{_PITCH_NAMES[self.tonic]} {self.mode}"

    def truth(self) -> list[dict]:
        """``[{"start", "end", "label", "variations"}]`` in seconds, contiguous from 0."""
        out = []
        for s in self.sections:
            out.append({"start": round(s.start_bar * self.bar_seconds, 6),
                        "end": round((s.start_bar + s.n_bars) * self.bar_seconds, 6),
                        "label": s.label, "variations": list(s.variations)})
        return out


# --------------------------------------------------------------------------------------------
# composition (pure: a generator in, a Song out)


def _pick(rng, seq, exclude=()):
    options = [x for x in seq if x not in exclude] or list(seq)
    return options[int(rng.integers(len(options)))]


def _melody(rng, n_bars, label):
    """A melody over ``n_bars``: a two-bar motif repeated with its answer varied."""
    density = {"verse": 0.35, "prechorus": 0.45, "chorus": 0.5, "bridge": 0.25, "solo": 0.8}.get(label, 0.0)
    if density == 0.0:
        return []
    grid = 1 if label == "solo" else 2  # solos on 16ths, songs on 8ths
    motif = []
    pitch = int(rng.integers(0, 5)) + (4 if label == "chorus" else 0)
    slots = list(range(0, 2 * _STEPS, grid))
    onsets = [s for s in slots if rng.random() < density] or [0]
    for j, s in enumerate(onsets):
        nxt = onsets[j + 1] if j + 1 < len(onsets) else 2 * _STEPS
        pitch = int(np.clip(pitch + rng.integers(-2, 3), -3, 11))
        motif.append((s, max(1, min(nxt - s, 8)), pitch))
    out = []
    for rep in range(max(1, n_bars // 2)):
        for s, d, p in motif:
            if rep % 2 == 1 and rng.random() < 0.3:  # the answer changes some notes
                p = int(np.clip(p + rng.choice([-2, -1, 1, 2]), -3, 11))
            out.append((rep * 2 * _STEPS + s, d, p))
    return out


def _part(rng, label, mode, used_progressions, lead_default):
    prog = _pick(rng, _PROGRESSIONS[mode], exclude=used_progressions)
    used_progressions.append(prog)
    bars_per_chord = 2 if label in ("bridge", "intro") and rng.random() < 0.5 else 1
    melody_bars = len(prog) * bars_per_chord
    bass = {"chorus": (0, 6, 8, 14), "verse": (0, 8), "prechorus": (0, 4, 8, 12), "bridge": (0,),
            "solo": (0, 3, 8, 11), "intro": (0,), "outro": (0, 8)}[label]
    drums = {"intro": _pick(rng, ("sparse", None)), "outro": _pick(rng, ("sparse", "halftime", None)),
             "bridge": _pick(rng, ("halftime", "ride", "sparse"))}.get(
                 label, _pick(rng, ("rock", "four", "sixteenths", "disco", "ride")))
    lead = lead_default if label in ("verse", "prechorus") else _pick(rng, _LEADS, exclude=(lead_default,))
    return Part(progression=prog, bars_per_chord=bars_per_chord, melody=_melody(rng, melody_bars, label),
                bass=bass, comp="pad" if label in ("intro", "bridge", "outro") or rng.random() < 0.3 else "strum",
                drums=drums, lead=lead, comp_program=_pick(rng, _COMPS))


def _form_lengths(form, target_bars):
    units = sum(UNITS[t] for t in form)
    unit = max(1, int(round(target_bars / units)))
    if unit > 4:
        unit = 2 * int(round(unit / 2))  # phrases of an even number of bars
    return [UNITS[t] * unit for t in form]


def compose_song(rng, *, seconds, title="song"):
    """Compose one song.

    Parameters
    ----------
    rng : np.random.Generator
        Source of every choice.
    seconds : float
        Approximate length; the song lasts a whole number of bars of its form, so it may differ by
        up to about a unit of the form.
    title : str
        Title recorded in the truth.

    Returns
    -------
    song : Song
    """
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < MIN_SECONDS:
        raise ParameterError(f"seconds={seconds}: a dev-corpus song must last at least {MIN_SECONDS:g} s")
    bpm = int(rng.integers(TEMPO_RANGE[0], TEMPO_RANGE[1] + 1))
    tempo_us = int(round(60e6 / bpm))
    tonic = int(rng.integers(12))
    mode = "major" if rng.random() < 0.6 else "minor"
    target_bars = seconds / (4 * tempo_us / 1e6)
    names = sorted(FORMS)
    if target_bars < 2 * sum(UNITS[t] for t in FORMS["verse-chorus-bridge"]):
        # short songs: the forms whose unit can still be two bars or more, else the shortest
        fits = [n for n in names if target_bars / sum(UNITS[t] for t in FORMS[n]) >= 1.5]
        names = fits or [min(names, key=lambda n: sum(UNITS[t] for t in FORMS[n]))]
    form = names[int(rng.integers(len(names)))]
    lengths = _form_lengths(FORMS[form], target_bars)
    lead_default = _pick(rng, _LEADS)
    used = []
    parts = {t: _part(rng, t, mode, used, lead_default) for t in dict.fromkeys(FORMS[form])}
    if "intro" in parts and "chorus" in parts and rng.random() < 0.5:
        parts["intro"].progression = parts["chorus"].progression  # intros often announce the chorus
    if "outro" in parts and "chorus" in parts and rng.random() < 0.5:
        parts["outro"].progression = parts["chorus"].progression

    sections, bar, seen = [], 0, {}
    last_chorus = max((i for i, t in enumerate(FORMS[form]) if t == "chorus"), default=-1)
    for i, (label, n_bars) in enumerate(zip(FORMS[form], lengths)):
        part = parts[label]
        sec = Section(label, bar, n_bars, drums=part.drums, lead=part.lead, melody=list(part.melody))
        occurrence = seen.get(label, 0)
        seen[label] = occurrence + 1
        if occurrence > 0:
            pool = [v for v in VARIATIONS if v != "modulation" and not (v == "drums" and part.drums is None)
                    and not (v.startswith("melody") and not part.melody)]
            n_var = 1 + int(rng.random() < 0.4)
            chosen = list(rng.choice(pool, size=min(n_var, len(pool)), replace=False))
            if i == last_chorus and rng.random() < 0.4:
                chosen.append("modulation")
            for v in sorted(chosen, key=VARIATIONS.index):
                if v == "drums":
                    sec.drums = _pick(rng, [k for k in _DRUMS], exclude=(part.drums,))
                elif v == "lead_instrument":
                    sec.lead = _pick(rng, _LEADS, exclude=(part.lead,))
                elif v == "melody_octave":
                    sec.melody = [(s, d, p + 7) for s, d, p in sec.melody]  # 7 scale steps: an octave
                elif v == "melody_varied":
                    sec.melody = [(s, d, int(np.clip(p + rng.choice([-2, -1, 1, 2]), -3, 14))
                                   if rng.random() < 0.4 else p) for s, d, p in sec.melody]
                elif v == "modulation":
                    sec.transpose = 2
                sec.variations.append(str(v))
        elif i < len(lengths) - 1 and rng.random() < 0.3:
            sec.variations.append("fill")
        sections.append(sec)
        bar += n_bars
    return Song(title=title, tempo_us=tempo_us, tonic=tonic, mode=mode, form=form,
                bass_program=_pick(rng, _BASSES), parts=parts, sections=sections)


# --------------------------------------------------------------------------------------------
# MIDI


def _scale_note(song, index, base, transpose):
    """MIDI note of scale index ``index`` (0 = tonic) above MIDI note ``base`` of the tonic's octave."""
    scale = _SCALES[song.mode]
    octave, deg = divmod(int(index), 7)
    return base + song.tonic + 12 * octave + scale[deg] + transpose


def _chord(song, degree, base, transpose):
    return [_scale_note(song, degree + k, base, transpose) for k in (0, 2, 4)]


def song_events(song, *, ticks_per_beat=480):
    """Every note of ``song``: ``(tick, duration in ticks, channel, note, velocity)``, plus program
    changes as ``(tick, channel, program)``.

    Channels: 0 lead, 1 comping, 2 bass, 9 drums (General MIDI).
    """
    step = ticks_per_beat // 4
    notes, programs = [], []
    programs.append((0, 2, song.bass_program))
    for sec in song.sections:
        part = song.parts[sec.label]
        t0 = sec.start_bar * _STEPS * step
        vel = _LOUDNESS[sec.label]
        tr = sec.transpose
        programs.append((t0, 0, sec.lead))
        programs.append((t0, 1, part.comp_program))
        n_chords = len(part.progression)
        for b in range(sec.n_bars):
            bt = t0 + b * _STEPS * step
            degree = part.progression[(b // part.bars_per_chord) % n_chords]
            chord = _chord(song, degree, 48, tr)
            if part.comp == "pad":
                notes.extend((bt, _STEPS * step - 10, 1, n, vel - 20) for n in chord)
            else:
                for s in range(0, _STEPS, 2):
                    notes.extend((bt + s * step, 2 * step - 10, 1, n, vel - (10 if s % 4 else 0) - 15)
                                 for n in chord)
            root = _scale_note(song, degree, 36, tr)
            for s in part.bass:
                notes.append((bt + s * step, 2 * step, 2, root, vel))
            last_bar = b == sec.n_bars - 1
            if sec.drums is not None:
                pattern = _DRUMS[sec.drums]
                fill = last_bar and "fill" in sec.variations
                for inst, steps in pattern.items():
                    for s in steps:
                        if fill and s >= 8:
                            continue
                        notes.append((bt + s * step, step, 9, inst, vel if inst != _HAT else vel - 25))
                if fill:
                    for s in range(8, _STEPS):
                        notes.append((bt + s * step, step, 9, _TOMS[(s - 8) // 2] if s % 2 else _SNARE,
                                      60 + 4 * (s - 8)))
                if b == 0 and sec.label in ("chorus", "solo"):
                    notes.append((bt, 4 * step, 9, _CRASH, vel))
            elif last_bar and "fill" in sec.variations:
                for s in range(8, _STEPS):
                    notes.append((bt + s * step, step, 9, _SNARE, 60 + 4 * (s - 8)))
        if sec.melody:
            span = max(s + d for s, d, _ in sec.melody)
            loop = int(math.ceil(span / (2 * _STEPS))) * 2 * _STEPS
            total = sec.n_bars * _STEPS
            for rep in range(0, total, loop):
                for s, d, p in sec.melody:
                    if rep + s >= total:
                        continue
                    d = min(d, total - rep - s)
                    notes.append((t0 + (rep + s) * step, d * step - 10, 0, _scale_note(song, p, 60, tr), vel))
    return notes, programs


def song_midi(song, *, ticks_per_beat=480):
    """``song`` as a type-0 :class:`mido.MidiFile` (tempo, programs, notes; ends at the last bar)."""
    import mido

    notes, programs = song_events(song, ticks_per_beat=ticks_per_beat)
    ev = []  # (tick, order, message): note-offs before program changes before note-ons at one tick
    for t, ch, prog in programs:
        ev.append((t, 1, mido.Message("program_change", channel=ch, program=int(prog))))
    for t, d, ch, n, v in notes:
        n = int(np.clip(n, 0, 127))
        ev.append((t, 2, mido.Message("note_on", channel=ch, note=n, velocity=int(np.clip(v, 1, 127)))))
        ev.append((t + max(1, d), 0, mido.Message("note_off", channel=ch, note=n, velocity=0)))
    ev.sort(key=lambda e: (e[0], e[1], e[2].channel, getattr(e[2], "note", 0)))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=song.tempo_us, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for t, _, msg in ev:
        track.append(msg.copy(time=t - now))
        now = t
    end = song.n_bars * _STEPS * (ticks_per_beat // 4)
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    mid = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(track)
    return mid
