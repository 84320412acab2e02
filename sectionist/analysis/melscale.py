"""The Slaney mel scale and a log-mel spectrogram with numpy and scipy only.

The web process draws spectrograms and mel axes at request time and must not import librosa (and
numba with it). These functions repeat, operation for operation, what librosa 0.11 does for the
same call — :func:`hz_to_mel`, :func:`mel_to_hz`, :func:`mel_frequencies` (Slaney, ``htk=False``),
:func:`mel_filters` (``librosa.filters.mel`` with ``norm="slaney"``), :func:`melspectrogram`
(``librosa.feature.melspectrogram``: a centred, zero-padded STFT with a periodic Hann window, power
2) and :func:`power_to_db` — so they return librosa's values to float precision
(tests/test_web_imports.py compares them). The analysis keeps using librosa itself.
"""

from __future__ import annotations

import numpy as np

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies):
    """Slaney mel of ``frequencies`` in Hz (``librosa.hz_to_mel``): linear below 1 kHz, log above."""
    frequencies = np.asanyarray(frequencies)
    mels = frequencies / _F_SP
    if frequencies.ndim:
        log_t = frequencies >= _MIN_LOG_HZ
        mels[log_t] = _MIN_LOG_MEL + np.log(frequencies[log_t] / _MIN_LOG_HZ) / _LOGSTEP
    elif frequencies >= _MIN_LOG_HZ:
        mels = _MIN_LOG_MEL + np.log(frequencies / _MIN_LOG_HZ) / _LOGSTEP
    return mels


def mel_to_hz(mels):
    """Hz of Slaney ``mels`` (``librosa.mel_to_hz``)."""
    mels = np.asanyarray(mels)
    freqs = _F_SP * mels
    if mels.ndim:
        log_t = mels >= _MIN_LOG_MEL
        freqs[log_t] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels[log_t] - _MIN_LOG_MEL))
    elif mels >= _MIN_LOG_MEL:
        freqs = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels - _MIN_LOG_MEL))
    return freqs


def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    """``n_mels`` frequencies in Hz equally spaced in mel from ``fmin`` to ``fmax``
    (``librosa.mel_frequencies``)."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


def mel_filters(*, sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                dtype=np.float32) -> np.ndarray:
    """Slaney-normalised triangular mel filters [shape=(n_mels, 1 + n_fft // 2)]
    (``librosa.filters.mel``)."""
    if fmax is None:
        fmax = float(sr) / 2
    n_mels = int(n_mels)
    weights = np.zeros((n_mels, int(1 + n_fft // 2)), dtype=dtype)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def power_spectrogram(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """``|STFT(y)|²`` [shape=(1 + n_fft // 2, t)] of mono ``y``: frames centred (``n_fft // 2`` zeros on
    each side), a periodic Hann window, librosa's layout and dtypes (float32 in, float32 out)."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.signal import get_window

    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"power_spectrogram: need mono samples, got shape {y.shape}")
    out_dtype = np.complex128 if y.dtype == np.float64 else np.complex64
    window = get_window("hann", n_fft, fftbins=True)
    padded = np.pad(y, n_fft // 2, mode="constant")
    frames = sliding_window_view(padded, n_fft)[::hop_length]
    D = np.fft.rfft(window * frames, axis=-1).astype(out_dtype).T
    return np.abs(D) ** 2


def melspectrogram(*, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Mel power spectrogram [shape=(n_mels, t)] (``librosa.feature.melspectrogram`` with its defaults:
    centred frames, zero padding, Hann window, power 2, Slaney mel filters)."""
    S = power_spectrogram(y, n_fft=n_fft, hop_length=hop_length)
    basis = mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.einsum("...ft,mf->...mt", S, basis, optimize=True)


def power_to_db(S, *, ref=1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """``10·log10(S / ref)``, floored at ``amin`` and at ``top_db`` below the peak
    (``librosa.power_to_db``; ``ref`` a number or a function of ``S`` such as ``np.max``)."""
    S = np.asarray(S)
    if amin <= 0:
        raise ValueError("amin must be strictly positive")
    magnitude = np.abs(S) if np.iscomplexobj(S) else S
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, magnitude))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        if top_db < 0:
            raise ValueError("top_db must be non-negative")
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec
