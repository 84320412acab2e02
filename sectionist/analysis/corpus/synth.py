"""Synthesis kernels shared by the corpora: Butterworth filters, anti-aliased oscillators, notes and hits.

Pure functions of NumPy arrays (SciPy is imported where a filter is built). Used by the demo corpus
(:mod:`sectionist.analysis.corpus.demo`, :mod:`sectionist.analysis.corpus.instruments`) and the
development corpus (:mod:`sectionist.analysis.corpus.devcorpus`).
"""

from __future__ import annotations

import numpy as np


def time_axis(seconds, sample_rate):
    """Sample times in seconds of a buffer ``seconds`` long."""
    return np.arange(int(round(seconds * sample_rate))) / sample_rate


def butter_sos(kind, cutoff, sample_rate, order=2):
    """Second-order sections of a Butterworth filter (``kind``: a ``btype`` of :func:`scipy.signal.butter`;
    cut-offs clipped to 10 Hz … 0.95 Nyquist)."""
    from scipy.signal import butter

    nyq = 0.5 * sample_rate
    cut = np.clip(np.atleast_1d(np.asarray(cutoff, dtype=float)), 10.0, 0.95 * nyq)
    return butter(order, cut if cut.size > 1 else cut[0], btype=kind, fs=sample_rate, output="sos")


def butter_filter(kind, y, cutoff, sample_rate, order=2):
    """``y`` through the Butterworth filter of :func:`butter_sos` (causal, one pass)."""
    from scipy.signal import sosfilt

    return sosfilt(butter_sos(kind, cutoff, sample_rate, order), y)


def tail_fade(n, sample_rate, seconds=0.01):
    """Window that is 1 except for a short linear fade to 0 at the end."""
    w = np.ones(n)
    k = min(n, max(1, int(seconds * sample_rate)))
    w[n - k:] = np.linspace(1.0, 0.0, k)
    return w


def poly_blep(phase, dt):
    """Polynomial band-limited step residual at the wrap of ``phase`` (removes most aliasing)."""
    out = np.zeros_like(phase)
    rise = phase < dt
    t = phase[rise] / dt
    out[rise] = 2.0 * t - t * t - 1.0
    fall = phase > 1.0 - dt
    t = (phase[fall] - 1.0) / dt
    out[fall] = t * t + 2.0 * t + 1.0
    return out


def oscillator(shape, freq, n, sample_rate, *, detune_cents=0.0, duty=0.5):
    """``n`` samples of a constant-pitch, anti-aliased oscillator (``"saw"``, ``"pulse"``, ``"sine"``)."""
    f = freq * 2.0 ** (detune_cents / 1200.0)
    dt = f / sample_rate
    phase = (np.arange(n) * dt) % 1.0
    if shape == "saw":
        return 2.0 * phase - 1.0 - poly_blep(phase, dt)
    if shape == "pulse":
        naive = np.where(phase < duty, 1.0, -1.0)
        return naive + poly_blep(phase, dt) - poly_blep((phase - duty) % 1.0, dt)
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
        wave_ = sum(oscillator(shape, freq, m, sample_rate, detune_cents=c, duty=duty) for c in detune_cents)
        out[start:start + m] += amp * env * wave_ / len(detune_cents)
    y = out[:n_samples].copy()
    if wrap:
        tail = out[n_samples:]
        last = np.flatnonzero(tail)
        if last.size:
            k = last[-1] + 1
            y[:k] += tail[:k]
    return y


def place_hits(hit, positions, velocities, n_samples, wrap=True):
    """Add ``hit`` at integer sample ``positions`` scaled by ``velocities`` (loop if ``wrap``)."""
    out = np.zeros(n_samples + hit.size)
    for pos, vel in zip(positions, velocities):
        out[pos:pos + hit.size] += vel * hit
    y = out[:n_samples].copy()
    if wrap:
        y[:hit.size] += out[n_samples:n_samples + hit.size][: min(hit.size, n_samples)]
    return y


def midi_hz(m):
    """Frequency in Hz of MIDI note ``m`` (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)
