"""The names of the classical features and of their feature sets — numpy-free, librosa-free.

What a reader of the ``features`` table needs (the glossary, the dashboard, the modeling's feature
spaces) without the computation in :mod:`sectionist.analysis.sections.features`, which imports
librosa and numba; that module re-exports these names.
"""

from __future__ import annotations

from sectionist.analysis.errors import ParameterError

FRAME_FEATURES = (
    "amplitude_envelope",
    "rms",
    "zero_crossing_rate",
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_rolloff",
    "spectral_flatness",
)
STATS = ("median", "mean", "std")
N_CHROMA = 12


def feature_names(n_mfcc: int = 20) -> list[str]:
    """Per-frame feature names, in column order."""
    return (
        list(FRAME_FEATURES)
        + [f"chroma{i}" for i in range(1, N_CHROMA + 1)]
        + [f"mfcc{i}" for i in range(1, n_mfcc + 1)]
        + [f"mfcc_delta{i}" for i in range(1, n_mfcc + 1)]
    )


FEATURE_NAMES = feature_names(20)
#: The reference study's 17 features (median over the section's frames).
CLASSICAL17 = [
    f"{n}_median"
    for n in ["amplitude_envelope", "rms", "zero_crossing_rate", "spectral_centroid"]
    + [f"mfcc{i}" for i in range(1, 14)]
]
CLASSICAL = [f"{n}_{s}" for n in FEATURE_NAMES for s in STATS] + ["tempo_bpm"]
FEATURE_SETS: dict[str, list[str]] = {"classical17": CLASSICAL17, "classical": CLASSICAL}


def feature_columns(space: str, available=None) -> list[str]:
    """Columns of the ``features`` table that make up feature set ``space``."""
    try:
        cols = FEATURE_SETS[space]
    except KeyError:
        raise ParameterError(f"unknown feature set {space!r}; known: {', '.join(FEATURE_SETS)}") from None
    if available is not None:
        cols = [c for c in cols if c in set(available)]
    return cols
