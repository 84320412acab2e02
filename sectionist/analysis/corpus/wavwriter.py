"""The corpora's WAV writer: mono float audio to 16-bit PCM, written atomically."""

from __future__ import annotations

import wave

import numpy as np

from sectionist.store.fileio import atomic_write


def pcm16(y):
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
    data = pcm16(y)

    def write(fh):
        with wave.open(fh, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(data)

    atomic_write(path, write)
