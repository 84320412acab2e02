"""Deterministic synthetic demo corpus: electronic-dance-style songs with ground-truth sections.

Each song is built from one-bar and four-bar loops (kick, clap, closed and open hats, bass line,
chord pad, lead) plus two progressive parts of the *build* (snare roll and rising noise sweep).
The song is cut into segments labelled ``intro``, ``build``, ``drop``, ``break`` and ``outro``;
each label has its own instrumentation and loudness, so the labels are real properties of the
audio that classical features (RMS, zero-crossing rate, spectral centroid, MFCCs) can see:

=========  ==================================================  ==========
label      instruments                                          loudness
=========  ==================================================  ==========
intro      kick, closed hats, open hats                         medium
build      snare roll (accelerating), rising noise sweep, pad   rising
drop       kick, clap, hats, bass, pad, lead                    loud
break      pad, slow lead with echo; no drums, no bass          quiet
outro      kick, bass, closed hats                              medium
=========  ==================================================  ==========

Segments are 16 bars long (about 30 s) for songs of 64 bars or more, 8 bars for shorter songs
and 4 for very short ones (the last segment absorbs the remaining bars), and every boundary lies
on a bar line, so most 15-second analysis sections fall inside one labelled segment. Every event lies on
a 16th-note grid whose step is a whole number of samples; the ground-truth tempo is the exact
tempo of that grid (e.g. 124.016 BPM for a nominal 124 BPM at 22 050 Hz).

The entry point is :func:`make_corpus` (used by ``sectionist demo-corpus``); :func:`synth_song`
and :func:`song_structure` are pure functions that return arrays and section lists.
"""

from __future__ import annotations

import json
import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sectionist.store.fileio import atomic_write

from sectionist.analysis.errors import ParameterError

#: Section labels used in the ground truth.
LABELS: tuple[str, ...] = ("intro", "build", "drop", "break", "outro")

#: Range of nominal tempi (BPM), inclusive.
TEMPO_RANGE: tuple[int, int] = (118, 132)

#: Shortest song :func:`make_corpus` accepts, in seconds.
MIN_SECONDS: float = 20.0

#: Peak level of every song, in dBFS.
PEAK_DBFS: float = -1.0

_STEPS_PER_BAR = 16
_BARS_PER_LOOP = 4
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Chord progressions of a minor key: (semitones above the tonic, is_minor) per bar.
_PROGRESSIONS: tuple[tuple[tuple[int, bool], ...], ...] = (
    ((0, True), (8, False), (3, False), (10, False)),   # i  VI  III VII
    ((0, True), (5, True), (8, False), (7, False)),     # i  iv  VI  V
    ((0, True), (10, False), (8, False), (10, False)),  # i  VII VI  VII
    ((8, False), (10, False), (0, True), (0, True)),    # VI VII i   i
    ((0, True), (3, False), (10, False), (5, True)),    # i  III VII iv
)

# Linear level of each instrument in each section type (0 = absent). The build's snare roll and
# noise sweep are not loops and are handled separately; their peak levels are given here too.
_LEVELS: dict[str, dict[str, float]] = {
    "intro": {"kick": 0.55, "hat_closed": 0.30, "hat_open": 0.22},
    "build": {"pad": 0.30, "snare_roll": 0.45, "sweep": 0.30},
    "drop": {"kick": 1.0, "clap": 0.45, "hat_closed": 0.30, "hat_open": 0.22, "bass": 0.65,
             "pad": 0.30, "lead_drop": 0.30},
    "break": {"pad": 0.15, "lead_break": 0.12},
    "outro": {"kick": 0.55, "bass": 0.50, "hat_closed": 0.18},
}


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
# instruments (pure functions: parameters in, float64 arrays out)


def _time(seconds, sample_rate):
    return np.arange(int(round(seconds * sample_rate))) / sample_rate


def _sos(kind, cutoff, sample_rate, order=2):
    from scipy.signal import butter

    nyq = 0.5 * sample_rate
    cut = np.clip(np.atleast_1d(np.asarray(cutoff, dtype=float)), 10.0, 0.95 * nyq)
    return butter(order, cut if cut.size > 1 else cut[0], btype=kind, fs=sample_rate, output="sos")


def _filter(kind, y, cutoff, sample_rate, order=2):
    from scipy.signal import sosfilt

    return sosfilt(_sos(kind, cutoff, sample_rate, order), y)


def kick(*, sample_rate, f_start=160.0, f_end=50.0, decay=0.16, click=0.3, length=0.42):
    """One kick-drum hit: a sine sweeping down in pitch with an exponential decay and a click.

    Parameters
    ----------
    sample_rate : int
        Samples per second.
    f_start, f_end : float
        Pitch at the attack and after the sweep, in Hz.
    decay : float
        Amplitude time constant in seconds.
    click : float
        Level of the 2 ms attack click.
    length : float
        Length of the returned hit in seconds.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
        The hit, peak about 1, ending in silence.
    """
    t = _time(length, sample_rate)
    freq = f_end + (f_start - f_end) * np.exp(-t / 0.035)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) * np.exp(-t / decay)
    body += click * np.exp(-t / 0.002) * np.sin(2 * np.pi * 1800.0 * t)
    return body * _tail_fade(t.size, sample_rate)


def clap(*, sample_rate, rng, decay=0.11, center=1500.0):
    """One hand clap: three quick band-passed noise bursts and a decaying tail.

    Parameters
    ----------
    sample_rate : int
        Samples per second.
    rng : np.random.Generator
        Noise source.
    decay : float
        Tail time constant in seconds.
    center : float
        Centre of the noise band in Hz.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
    """
    t = _time(0.35, sample_rate)
    env = np.exp(-t / decay)
    for delay in (0.0, 0.011, 0.022):
        env = np.maximum(env, np.where(t >= delay, np.exp(-(t - delay) / 0.006), 0.0))
    noise = _filter("bandpass", rng.standard_normal(t.size), [center * 0.6, center * 2.5], sample_rate)
    y = noise * env
    return y / np.max(np.abs(y)) * _tail_fade(t.size, sample_rate)


def snare(*, sample_rate, rng, tone=190.0, decay=0.09):
    """One snare hit: a short tone plus high-passed noise.

    Parameters
    ----------
    sample_rate : int
        Samples per second.
    rng : np.random.Generator
        Noise source.
    tone : float
        Pitch of the drum head in Hz.
    decay : float
        Noise time constant in seconds.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
    """
    t = _time(0.25, sample_rate)
    head = 0.6 * np.sin(2 * np.pi * tone * t) * np.exp(-t / 0.04)
    noise = _filter("highpass", rng.standard_normal(t.size), 1200.0, sample_rate) * np.exp(-t / decay)
    y = head + 0.8 * noise / np.max(np.abs(noise))
    return y / np.max(np.abs(y)) * _tail_fade(t.size, sample_rate)


def hat(*, sample_rate, rng, decay=0.035, cutoff=7000.0):
    """One hi-hat hit: high-passed noise with an exponential decay (short: closed, long: open).

    Parameters
    ----------
    sample_rate : int
        Samples per second.
    rng : np.random.Generator
        Noise source.
    decay : float
        Time constant in seconds (about 0.03 closed, 0.2 open).
    cutoff : float
        High-pass corner in Hz (capped below the Nyquist frequency).

    Returns
    -------
    y : np.ndarray [shape=(n,)]
    """
    t = _time(min(6 * decay, 0.5), sample_rate)
    cutoff = min(cutoff, 0.42 * sample_rate)
    noise = _filter("highpass", rng.standard_normal(t.size), cutoff, sample_rate, order=4)
    y = noise * np.exp(-t / decay)
    return y / np.max(np.abs(y)) * _tail_fade(t.size, sample_rate)


def _tail_fade(n, sample_rate, seconds=0.01):
    """Window that is 1 except for a short linear fade to 0 at the end."""
    w = np.ones(n)
    k = min(n, max(1, int(seconds * sample_rate)))
    w[n - k:] = np.linspace(1.0, 0.0, k)
    return w


def _poly_blep(phase, dt):
    """Polynomial band-limited step residual at the wrap of ``phase`` (removes most aliasing)."""
    out = np.zeros_like(phase)
    rise = phase < dt
    t = phase[rise] / dt
    out[rise] = 2.0 * t - t * t - 1.0
    fall = phase > 1.0 - dt
    t = (phase[fall] - 1.0) / dt
    out[fall] = t * t + 2.0 * t + 1.0
    return out


def _oscillator(shape, freq, n, sample_rate, *, detune_cents=0.0, duty=0.5):
    """``n`` samples of a constant-pitch, anti-aliased oscillator (``"saw"``, ``"pulse"``, ``"sine"``)."""
    f = freq * 2.0 ** (detune_cents / 1200.0)
    dt = f / sample_rate
    phase = (np.arange(n) * dt) % 1.0
    if shape == "saw":
        return 2.0 * phase - 1.0 - _poly_blep(phase, dt)
    if shape == "pulse":
        naive = np.where(phase < duty, 1.0, -1.0)
        return naive + _poly_blep(phase, dt) - _poly_blep((phase - duty) % 1.0, dt)
    return np.sin(2 * np.pi * phase)


def render_notes(notes, n_samples, *, sample_rate, shape="saw", attack=0.005, decay=None,
                 release=0.03, detune_cents=(0.0,), duty=0.5, wrap=True):
    """Render a list of notes into a buffer (one vectorised call per note and oscillator).

    Parameters
    ----------
    notes : iterable of (int, int, float, float)
        ``(start_sample, length_samples, frequency_hz, amplitude)`` per note.
    n_samples : int
        Buffer length; with ``wrap`` the buffer is a loop and tails that pass its end are added
        to its start.
    sample_rate : int
        Samples per second.
    shape : {"saw", "pulse", "sine"}
        Oscillator wave shape.
    attack, release : float
        Linear attack and release times in seconds (the release follows the note's length).
    decay : float or None
        Exponential decay time constant while the note sounds (``None``: sustained).
    detune_cents : sequence of float
        One oscillator per entry, detuned by that many cents (a chorus of detuned saws).
    duty : float
        Pulse width of the ``"pulse"`` shape.
    wrap : bool
        Treat the buffer as a loop.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,)]
    """
    rel = max(1, int(release * sample_rate))
    att = max(1, int(attack * sample_rate))
    out = np.zeros(n_samples + 4 * sample_rate)
    for start, length, freq, amp in notes:
        m = int(length) + rel
        t = np.arange(m)
        env = np.minimum(1.0, (t + 1) / att)
        if decay is not None:
            env = env * np.exp(-t / (decay * sample_rate))
        env = env * np.clip((length + rel - t) / rel, 0.0, 1.0)
        wave_ = sum(_oscillator(shape, freq, m, sample_rate, detune_cents=c, duty=duty) for c in detune_cents)
        out[start:start + m] += amp * env * wave_ / len(detune_cents)
    y = out[:n_samples].copy()
    if wrap:
        tail = out[n_samples:]
        last = np.flatnonzero(tail)
        if last.size:
            k = last[-1] + 1
            y[:k] += tail[:k]
    return y


def _place(hit, positions, velocities, n_samples, wrap=True):
    """Add ``hit`` at integer sample ``positions`` scaled by ``velocities`` (loop if ``wrap``)."""
    out = np.zeros(n_samples + hit.size)
    for pos, vel in zip(positions, velocities):
        out[pos:pos + hit.size] += vel * hit
    y = out[:n_samples].copy()
    if wrap:
        y[:hit.size] += out[n_samples:n_samples + hit.size][: min(hit.size, n_samples)]
    return y


def _midi_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)


def noise_sweep(n_samples, *, sample_rate, rng, f_low=250.0, f_high=8000.0):
    """Rising noise sweep: white noise through a band that glides up, growing louder.

    Built by masking the short-time Fourier transform of white noise (one vectorised pass).

    Parameters
    ----------
    n_samples : int
        Length of the sweep.
    sample_rate : int
        Samples per second.
    rng : np.random.Generator
        Noise source.
    f_low, f_high : float
        Band centre at the start and at the end, in Hz (capped below Nyquist).

    Returns
    -------
    y : np.ndarray [shape=(n_samples,)]
        Peak about 1.
    """
    from scipy.signal import istft, stft

    nper = 1024
    noise = rng.standard_normal(n_samples)
    f, tt, z = stft(noise, fs=sample_rate, nperseg=nper)
    pos = np.clip(tt / (n_samples / sample_rate), 0.0, 1.0)
    f_high = min(f_high, 0.4 * sample_rate)
    centre = f_low * (f_high / f_low) ** pos
    octaves = np.log2(np.maximum(f[:, None], 1.0) / centre[None, :])
    mask = np.exp(-0.5 * (octaves / 0.8) ** 2) * (0.15 + 0.85 * pos[None, :] ** 2)
    _, y = istft(z * mask, fs=sample_rate, nperseg=nper)
    y = y[:n_samples]
    if y.size < n_samples:
        y = np.pad(y, (0, n_samples - y.size))
    return y / max(np.max(np.abs(y)), 1e-12)


# --------------------------------------------------------------------------------------------
# a song


@dataclass(frozen=True)
class _SongParams:
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


def _song_params(rng):
    rhythm = rng.random(_STEPS_PER_BAR) < 0.55
    rhythm[0] = True
    return _SongParams(
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
        lead_degrees=tuple(int(d) for d in rng.integers(0, 4, _STEPS_PER_BAR)),
    )


def _chord_midi(params, bar, base):
    """MIDI notes (root, third, fifth, octave) of the chord of ``bar`` with its root in [base, base+12)."""
    offset, minor = params.progression[bar % len(params.progression)]
    root = base + (params.tonic + offset - base) % 12
    return [root, root + (3 if minor else 4), root + 7, root + 12]


def _loops(params, step, *, sample_rate, rng):
    """Render every looped part once: dict name → one loop (4 bars) of samples."""
    L = step * _STEPS_PER_BAR * _BARS_PER_LOOP
    n_steps = _STEPS_PER_BAR * _BARS_PER_LOOP
    steps = np.arange(n_steps)
    in_bar = steps % _STEPS_PER_BAR
    loops = {}

    beats = steps[in_bar % 4 == 0]
    loops["kick"] = _place(kick(sample_rate=sample_rate, **params.kick), beats * step, np.ones(beats.size), L)

    claps = steps[(in_bar == 4) | (in_bar == 12)]
    loops["clap"] = _place(clap(sample_rate=sample_rate, rng=rng), claps * step, np.ones(claps.size), L)

    closed = hat(sample_rate=sample_rate, rng=rng, decay=params.hat_decay, cutoff=params.hat_cutoff)
    if params.hats_16ths:
        pos = steps[in_bar % 2 == 1]  # every off-16th, accented on the "e"/"a" alike
        vel = np.where(in_bar[pos] % 4 == 1, 0.8, 0.6)
    else:
        pos = steps[in_bar % 4 == 2]  # off-beat 8ths
        vel = np.ones(pos.size)
    loops["hat_closed"] = _place(closed, pos * step, vel, L)
    open_hat = hat(sample_rate=sample_rate, rng=rng, decay=0.16, cutoff=params.hat_cutoff * 0.85)
    pos = steps[in_bar % 4 == 2]
    loops["hat_open"] = _place(open_hat, pos * step, np.ones(pos.size), L)

    # Bass: chord root in E1..D#2, on the off-beat 8ths or rolling 16ths that avoid the kick.
    bass_notes = []
    for s in steps:
        b, i = divmod(int(s), _STEPS_PER_BAR)
        hit = (i % 4 != 0) if params.bass_rolling else (i % 4 == 2)
        if hit:
            root = _chord_midi(params, b, 28)[0]
            bass_notes.append((int(s) * step, step if params.bass_rolling else 2 * step,
                               float(_midi_hz(root)), 1.0 if i % 4 == 2 else 0.7))
    bass = render_notes(bass_notes, L, sample_rate=sample_rate, shape="saw", attack=0.003, decay=0.12,
                        release=0.02, detune_cents=(0.0, 7.0))
    bass += 0.6 * render_notes(bass_notes, L, sample_rate=sample_rate, shape="sine", attack=0.003,
                               decay=0.15, release=0.02)
    loops["bass"] = _filter("lowpass", bass, params.bass_cutoff, sample_rate)

    # Pad: one chord per bar (root in C3..B3), detuned saws, slow attack; each chord's release
    # overlaps the next chord's attack so the pad never drops out.
    bar_len = step * _STEPS_PER_BAR
    pad_notes = []
    for b in range(_BARS_PER_LOOP):
        for m in _chord_midi(params, b, 48):
            pad_notes.append((b * bar_len, bar_len - int(0.03 * sample_rate), float(_midi_hz(m)), 1.0))
    pad = render_notes(pad_notes, L, sample_rate=sample_rate, shape="saw", attack=0.06, release=0.12,
                       detune_cents=(-params.pad_detune, 0.0, params.pad_detune))
    loops["pad"] = _filter("lowpass", pad, params.pad_cutoff, sample_rate)

    # Lead, drop: 16th-note plucks on chord tones in C5..B5 following a per-song one-bar rhythm.
    lead_notes = []
    for s in steps:
        b, i = divmod(int(s), _STEPS_PER_BAR)
        if params.lead_rhythm[i]:
            m = _chord_midi(params, b, 72)[params.lead_degrees[i]]
            lead_notes.append((int(s) * step, step, float(_midi_hz(m)), 1.0 if i % 4 == 0 else 0.75))
    lead = render_notes(lead_notes, L, sample_rate=sample_rate, shape=params.lead_shape, attack=0.002,
                        decay=0.09, release=0.02, duty=params.lead_duty, detune_cents=(0.0, 5.0))
    loops["lead_drop"] = _filter("lowpass", lead, params.lead_cutoff, sample_rate)

    # Lead, break: quarter notes climbing the chord, longer notes, a dotted-8th echo.
    slow_notes = []
    for b in range(_BARS_PER_LOOP):
        chord = _chord_midi(params, b, 72)
        for q in range(4):
            slow_notes.append((b * bar_len + q * 4 * step, 3 * step, float(_midi_hz(chord[q])), 1.0))
    slow = render_notes(slow_notes, L, sample_rate=sample_rate, shape="sine", attack=0.01, decay=0.35,
                        release=0.08)
    slow += 0.4 * np.roll(slow, 3 * step)
    loops["lead_break"] = _filter("lowpass", slow, params.lead_cutoff, sample_rate)
    return loops


def _snare_roll(n_bars, step, *, sample_rate, rng, hit):
    """Accelerating snare roll over ``n_bars``: quarters, then 8ths, then 16ths; growing louder."""
    positions, velocities = [], []
    total = n_bars * _STEPS_PER_BAR
    for s in range(total):
        frac = s / total
        every = 4 if frac < 0.5 else 2 if frac < 0.75 else 1
        if s % every == 0:
            positions.append(s * step)
            velocities.append(0.3 + 0.7 * frac ** 1.5)
    return _place(hit, np.asarray(positions), np.asarray(velocities), n_bars * _STEPS_PER_BAR * step, wrap=False)


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


def synth_song(seconds, tempo_bpm, *, sample_rate=22050, rng, structure=None):
    """Synthesise one song.

    Parameters
    ----------
    seconds : float
        Duration (at least :data:`MIN_SECONDS`).
    tempo_bpm : float
        Nominal tempo; the audio uses the nearest tempo whose 16th note is a whole number of samples.
    sample_rate : int
        Samples per second.
    rng : np.random.Generator
        Source of every random choice (key, progression, patterns, timbre, noise).
    structure : list of Segment, optional
        Segments to use; by default :func:`song_structure` chooses them from the length.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio, peak at :data:`PEAK_DBFS`, mean zero; ``n = round(seconds * sample_rate)``.
    info : dict
        ``tempo_bpm`` (exact), ``key`` (e.g. ``"A minor"``) and ``sections``: a list of
        ``{"start", "end", "label"}`` in seconds covering ``[0, n / sample_rate]`` without gaps.
    """
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < MIN_SECONDS:
        raise ParameterError(f"seconds={seconds}: a demo song must last at least {MIN_SECONDS:g} s")
    sample_rate = int(sample_rate)
    if not 8000 <= sample_rate <= 192000:
        raise ParameterError(f"sample_rate={sample_rate}: must be within 8000–192000 Hz")
    n = int(round(seconds * sample_rate))
    step, tempo = grid_step(tempo_bpm, sample_rate)
    bar_len = step * _STEPS_PER_BAR
    n_bars = n // bar_len
    if structure is None:
        structure = song_structure(n_bars, rng=rng)
    params = _song_params(rng)
    loops = _loops(params, step, sample_rate=sample_rate, rng=rng)
    roll_hit = snare(sample_rate=sample_rate, rng=rng)

    y = np.zeros(n)
    fade_in = max(1, int(0.002 * sample_rate))
    fade_out = max(1, int(0.010 * sample_rate))
    sections = []
    for idx, seg in enumerate(structure):
        a = seg.start_bar * bar_len
        b = n if idx == len(structure) - 1 else (seg.start_bar + seg.n_bars) * bar_len
        m = b - a
        mix = np.zeros(m)
        levels = _LEVELS[seg.label]
        for name, level in levels.items():
            if name in loops:
                mix += level * np.resize(loops[name], m)
        if seg.label == "build":
            ramp = np.linspace(0.6, 1.0, m)
            mix *= ramp
            whole = seg.n_bars * bar_len  # the last segment may also own a partial bar
            roll = _snare_roll(seg.n_bars, step, sample_rate=sample_rate, rng=rng, hit=roll_hit)
            mix += levels["snare_roll"] * np.pad(roll, (0, max(0, m - whole)))[:m]
            mix += levels["sweep"] * noise_sweep(m, sample_rate=sample_rate, rng=rng)
        # Short ramps at both ends: no clicks where sustained parts stop or start.
        mix[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[: m]
        mix[-fade_out:] *= np.linspace(1.0, 0.0, min(fade_out, m))
        y[a:b] += mix
        sections.append({"start": round(a / sample_rate, 6), "end": round(b / sample_rate, 6),
                         "label": seg.label})

    # No DC, no rumble below 25 Hz, then peak-normalise.
    y = _filter("highpass", y, 25.0, sample_rate)
    y -= y.mean()
    peak = np.max(np.abs(y))
    y *= 10.0 ** (PEAK_DBFS / 20.0) / max(peak, 1e-12)
    info = {
        "tempo_bpm": round(tempo, 4),
        "key": f"{_PITCH_NAMES[params.tonic]} minor",
        "sections": sections,
    }
    return y.astype(np.float32), info


# --------------------------------------------------------------------------------------------
# files


def _pcm16(y):
    """Float audio in [-1, 1] → little-endian 16-bit PCM bytes (rounded, clipped)."""
    return np.clip(np.round(np.asarray(y, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2").tobytes()


def write_wav(path, y, sample_rate):
    """Write mono float audio as a 16-bit PCM WAV file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination.
    y : np.ndarray [shape=(n,)]
        Samples in [-1, 1].
    sample_rate : int
        Samples per second.
    """
    data = _pcm16(y)

    def write(fh):
        with wave.open(fh, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(data)

    atomic_write(path, write)


def song_tempo(seed, index):
    """Nominal tempo (integer BPM in :data:`TEMPO_RANGE`) of song ``index`` of corpus ``seed``."""
    return float(np.random.default_rng([int(seed), int(index), 1]).integers(TEMPO_RANGE[0], TEMPO_RANGE[1] + 1))


def make_corpus(out_dir, *, n_songs=12, seconds=180.0, seed=0, sample_rate=22050, progress=True):
    """Write a deterministic demo corpus: ``song_XX.wav`` plus a ground-truth ``song_XX.json`` each.

    Song ``i`` depends only on ``(seed, i, seconds, sample_rate)``, so the same call writes
    byte-identical files, and a larger ``n_songs`` adds songs without changing the first ones.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing).
    n_songs : int
        Number of songs (1–999).
    seconds : float
        Duration of every song, at least :data:`MIN_SECONDS`.
    seed : int
        Seed of the corpus (non-negative).
    sample_rate : int
        Samples per second of the WAV files.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    paths : list of Path
        The WAV files, in order. Each has a JSON sidecar with the same stem:
        ``{"tempo_bpm": 124.016, "key": "A minor", "duration_s": 180.0, "sample_rate": 22050,
        "seed": 0, "sections": [{"start": 0.0, "end": 30.96, "label": "intro"}, ...]}``.

    Raises
    ------
    ParameterError
        A bad count, duration, seed or sample rate, or ``out_dir`` is not a folder.
    """
    from tqdm.auto import tqdm

    try:
        n_songs = int(n_songs)
        seed = int(seed)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"n_songs={n_songs!r}, seed={seed!r}: must be integers") from exc
    if not 1 <= n_songs <= 999:
        raise ParameterError(f"n_songs={n_songs}: must be within 1–999")
    if seed < 0:
        raise ParameterError(f"seed={seed}: must be >= 0")
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < MIN_SECONDS:
        raise ParameterError(f"seconds={seconds}: a demo song must last at least {MIN_SECONDS:g} s")
    if not 8000 <= int(sample_rate) <= 192000:
        raise ParameterError(f"sample_rate={sample_rate}: must be within 8000–192000 Hz")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    paths = []
    for i in tqdm(range(n_songs), desc="demo songs", unit="song", disable=not progress):
        rng = np.random.default_rng([seed, i])
        y, info = synth_song(seconds, song_tempo(seed, i), sample_rate=sample_rate, rng=rng)
        wav = out / f"song_{i:02d}.wav"
        write_wav(wav, y, sample_rate)
        meta = {
            "tempo_bpm": info["tempo_bpm"],
            "key": info["key"],
            "duration_s": round(y.size / sample_rate, 6),
            "sample_rate": int(sample_rate),
            "seed": seed,
            "sections": info["sections"],
        }
        text = (json.dumps(meta, indent=1) + "\n").encode()
        atomic_write(wav.with_suffix(".json"), lambda fh, text=text: fh.write(text))
        paths.append(wav)
    return paths
