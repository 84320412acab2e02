"""The demo corpus's drum and noise voices: kick, clap, snare, hi-hat and a rising noise sweep.

Pure functions: parameters (and a random generator for noise) in, float64 arrays out.
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis.corpus.synth import butter_filter, tail_fade, time_axis


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
    t = time_axis(length, sample_rate)
    freq = f_end + (f_start - f_end) * np.exp(-t / 0.035)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) * np.exp(-t / decay)
    body += click * np.exp(-t / 0.002) * np.sin(2 * np.pi * 1800.0 * t)
    return body * tail_fade(t.size, sample_rate)


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
    t = time_axis(0.35, sample_rate)
    env = np.exp(-t / decay)
    for delay in (0.0, 0.011, 0.022):
        env = np.maximum(env, np.where(t >= delay, np.exp(-(t - delay) / 0.006), 0.0))
    noise = butter_filter("bandpass", rng.standard_normal(t.size), [center * 0.6, center * 2.5], sample_rate)
    y = noise * env
    return y / np.max(np.abs(y)) * tail_fade(t.size, sample_rate)


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
    t = time_axis(0.25, sample_rate)
    head = 0.6 * np.sin(2 * np.pi * tone * t) * np.exp(-t / 0.04)
    noise = butter_filter("highpass", rng.standard_normal(t.size), 1200.0, sample_rate) * np.exp(-t / decay)
    y = head + 0.8 * noise / np.max(np.abs(noise))
    return y / np.max(np.abs(y)) * tail_fade(t.size, sample_rate)


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
    t = time_axis(min(6 * decay, 0.5), sample_rate)
    cutoff = min(cutoff, 0.42 * sample_rate)
    noise = butter_filter("highpass", rng.standard_normal(t.size), cutoff, sample_rate, order=4)
    y = noise * np.exp(-t / decay)
    return y / np.max(np.abs(y)) * tail_fade(t.size, sample_rate)


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
