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
is a pure function that returns an array and its section list. The song's plan (segments, tempo
grid, per-song choices) is :mod:`sectionist.analysis.corpus.demoplan`; its voices are
:mod:`sectionist.analysis.corpus.instruments` and :mod:`sectionist.analysis.corpus.synth`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from sectionist.store.fileio import atomic_write

from sectionist.analysis.corpus.demoplan import (MIN_SECONDS, PITCH_NAMES, STEPS_PER_BAR, chord_midi, grid_step,
                                                  song_params, song_structure, song_tempo)
from sectionist.analysis.corpus.instruments import clap, hat, kick, noise_sweep, snare
from sectionist.analysis.corpus.synth import butter_filter, midi_hz, place_hits, render_notes
from sectionist.analysis.corpus.wavwriter import write_wav
from sectionist.analysis.errors import ParameterError

#: Peak level of every song, in dBFS.
PEAK_DBFS: float = -1.0
# Bars in one loop of every looped part.
_BARS_PER_LOOP = 4

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


# --------------------------------------------------------------------------------------------
# a song


def _loops(params, step, *, sample_rate, rng):
    """Render every looped part once: dict name → one loop (4 bars) of samples."""
    L = step * STEPS_PER_BAR * _BARS_PER_LOOP
    n_steps = STEPS_PER_BAR * _BARS_PER_LOOP
    steps = np.arange(n_steps)
    in_bar = steps % STEPS_PER_BAR
    loops = {}

    beats = steps[in_bar % 4 == 0]
    loops["kick"] = place_hits(kick(sample_rate=sample_rate, **params.kick), beats * step, np.ones(beats.size), L)

    claps = steps[(in_bar == 4) | (in_bar == 12)]
    loops["clap"] = place_hits(clap(sample_rate=sample_rate, rng=rng), claps * step, np.ones(claps.size), L)

    closed = hat(sample_rate=sample_rate, rng=rng, decay=params.hat_decay, cutoff=params.hat_cutoff)
    if params.hats_16ths:
        pos = steps[in_bar % 2 == 1]  # every off-16th, accented on the "e"/"a" alike
        vel = np.where(in_bar[pos] % 4 == 1, 0.8, 0.6)
    else:
        pos = steps[in_bar % 4 == 2]  # off-beat 8ths
        vel = np.ones(pos.size)
    loops["hat_closed"] = place_hits(closed, pos * step, vel, L)
    open_hat = hat(sample_rate=sample_rate, rng=rng, decay=0.16, cutoff=params.hat_cutoff * 0.85)
    pos = steps[in_bar % 4 == 2]
    loops["hat_open"] = place_hits(open_hat, pos * step, np.ones(pos.size), L)

    # Bass: chord root in E1..D#2, on the off-beat 8ths or rolling 16ths that avoid the kick.
    bass_notes = []
    for s in steps:
        b, i = divmod(int(s), STEPS_PER_BAR)
        hit = (i % 4 != 0) if params.bass_rolling else (i % 4 == 2)
        if hit:
            root = chord_midi(params, b, 28)[0]
            bass_notes.append((int(s) * step, step if params.bass_rolling else 2 * step,
                               float(midi_hz(root)), 1.0 if i % 4 == 2 else 0.7))
    bass = render_notes(bass_notes, L, sample_rate=sample_rate, shape="saw", attack=0.003, decay=0.12,
                        release=0.02, detune_cents=(0.0, 7.0))
    bass += 0.6 * render_notes(bass_notes, L, sample_rate=sample_rate, shape="sine", attack=0.003,
                               decay=0.15, release=0.02)
    loops["bass"] = butter_filter("lowpass", bass, params.bass_cutoff, sample_rate)

    # Pad: one chord per bar (root in C3..B3), detuned saws, slow attack; each chord's release
    # overlaps the next chord's attack so the pad never drops out.
    bar_len = step * STEPS_PER_BAR
    pad_notes = []
    for b in range(_BARS_PER_LOOP):
        for m in chord_midi(params, b, 48):
            pad_notes.append((b * bar_len, bar_len - int(0.03 * sample_rate), float(midi_hz(m)), 1.0))
    pad = render_notes(pad_notes, L, sample_rate=sample_rate, shape="saw", attack=0.06, release=0.12,
                       detune_cents=(-params.pad_detune, 0.0, params.pad_detune))
    loops["pad"] = butter_filter("lowpass", pad, params.pad_cutoff, sample_rate)

    # Lead, drop: 16th-note plucks on chord tones in C5..B5 following a per-song one-bar rhythm.
    lead_notes = []
    for s in steps:
        b, i = divmod(int(s), STEPS_PER_BAR)
        if params.lead_rhythm[i]:
            m = chord_midi(params, b, 72)[params.lead_degrees[i]]
            lead_notes.append((int(s) * step, step, float(midi_hz(m)), 1.0 if i % 4 == 0 else 0.75))
    lead = render_notes(lead_notes, L, sample_rate=sample_rate, shape=params.lead_shape, attack=0.002,
                        decay=0.09, release=0.02, duty=params.lead_duty, detune_cents=(0.0, 5.0))
    loops["lead_drop"] = butter_filter("lowpass", lead, params.lead_cutoff, sample_rate)

    # Lead, break: quarter notes climbing the chord, longer notes, a dotted-8th echo.
    slow_notes = []
    for b in range(_BARS_PER_LOOP):
        chord = chord_midi(params, b, 72)
        for q in range(4):
            slow_notes.append((b * bar_len + q * 4 * step, 3 * step, float(midi_hz(chord[q])), 1.0))
    slow = render_notes(slow_notes, L, sample_rate=sample_rate, shape="sine", attack=0.01, decay=0.35,
                        release=0.08)
    slow += 0.4 * np.roll(slow, 3 * step)
    loops["lead_break"] = butter_filter("lowpass", slow, params.lead_cutoff, sample_rate)
    return loops


def _snare_roll(n_bars, step, *, sample_rate, rng, hit):
    """Accelerating snare roll over ``n_bars``: quarters, then 8ths, then 16ths; growing louder."""
    positions, velocities = [], []
    total = n_bars * STEPS_PER_BAR
    for s in range(total):
        frac = s / total
        every = 4 if frac < 0.5 else 2 if frac < 0.75 else 1
        if s % every == 0:
            positions.append(s * step)
            velocities.append(0.3 + 0.7 * frac ** 1.5)
    return place_hits(hit, np.asarray(positions), np.asarray(velocities), n_bars * STEPS_PER_BAR * step, wrap=False)


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
    bar_len = step * STEPS_PER_BAR
    n_bars = n // bar_len
    if structure is None:
        structure = song_structure(n_bars, rng=rng)
    params = song_params(rng)
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
    y = butter_filter("highpass", y, 25.0, sample_rate)
    y -= y.mean()
    peak = np.max(np.abs(y))
    y *= 10.0 ** (PEAK_DBFS / 20.0) / max(peak, 1e-12)
    info = {
        "tempo_bpm": round(tempo, 4),
        "key": f"{PITCH_NAMES[params.tonic]} minor",
        "sections": sections,
    }
    return y.astype(np.float32), info


# --------------------------------------------------------------------------------------------
# files


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
