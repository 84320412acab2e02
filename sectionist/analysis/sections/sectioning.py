"""Sectioning schemes: how a song is cut into the sections people listen to and judge.

Schemes live in :data:`SCHEMES`, filled by the :func:`register` decorator; the CLI's choices come
from it. Each scheme maps ``(duration_s, context) → array of [start_s, end_s)`` rows.

- ``fixed``: consecutive sections of ``section_seconds`` (15 s by default, as in the reference
  study). The last, partial section is **kept if it is longer than half a section**, otherwise
  dropped (a 40 s song gives 0–15, 15–30 and 30–40; a 35 s song gives 0–15 and 15–30).
- ``beats``: groups of ``beats_per_section`` beats from librosa's beat tracker (4 by default;
  1–2 give short fragments). A section runs from one group's first beat to the next group's first
  beat; audio before the first beat is not part of any section, and the last group is kept when it
  has more than half the beats of a full group (it then ends at its last beat plus one beat period,
  clipped to the song).
- ``novelty``: cut where the timbre changes: peaks of Foote's checkerboard novelty on the cosine
  self-similarity of half-second MFCC bins, at least ``min_section_seconds`` (8 s) apart; sections
  follow the song's own structure, so their lengths vary.
- ``merged`` and ``laplacian``: the segments of the structure schemes of :mod:`sectionist.analysis.structure`
  (their per-song labels are written to the ``segments`` table); they need the audio (``y``, ``sr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.registry import Registry


@dataclass(frozen=True)
class SchemeSpec:
    name: str
    func: Callable
    needs_beats: bool
    help: str
    needs_novelty: bool = False


def _scheme_spec(name: str, func: Callable, *, needs_beats: bool = False, needs_novelty: bool = False,
                 help: str = "") -> SchemeSpec:
    return SchemeSpec(name, func, needs_beats, help or (func.__doc__ or "").strip().splitlines()[0], needs_novelty)


#: Every sectioning scheme by name (a :class:`~sectionist.analysis.registry.Registry`; CLI choices come from here).
SCHEMES: Registry = Registry("sectioning scheme", entry=_scheme_spec)


def register(name: str, *, needs_beats: bool = False, needs_novelty: bool = False, help: str = "",
             replace: bool = False):
    """Register a sectioning scheme under ``name`` (``needs_*``: what the pipeline must compute first).

    A name already registered raises ParameterError unless ``replace=True``.
    """
    return SCHEMES.register(name, replace=replace, needs_beats=needs_beats, needs_novelty=needs_novelty, help=help)


@register("fixed", help="consecutive sections of --section-seconds (last partial kept if > half a section)")
def fixed_sections(duration_s: float, *, section_seconds: float = 15.0, **_) -> np.ndarray:
    """Consecutive fixed-length sections [shape=(k, 2)], seconds."""
    if section_seconds <= 0:
        raise ParameterError(f"section_seconds={section_seconds}: must be > 0")
    n_full = int(np.floor(duration_s / section_seconds + 1e-9))
    starts = np.arange(n_full) * section_seconds
    bounds = np.stack([starts, starts + section_seconds], axis=1) if n_full else np.zeros((0, 2))
    rest = duration_s - n_full * section_seconds
    if rest > section_seconds / 2 + 1e-9:
        bounds = np.vstack([bounds, [[n_full * section_seconds, duration_s]]])
    return bounds.astype(np.float64)


@register("beats", needs_beats=True, help="groups of --beats-per-section beats from beat tracking")
def beat_sections(duration_s: float, *, beat_times: np.ndarray, beats_per_section: int = 4, **_) -> np.ndarray:
    """Sections made of consecutive groups of ``beats_per_section`` beats [shape=(k, 2)], seconds."""
    if beats_per_section < 1:
        raise ParameterError(f"beats_per_section={beats_per_section}: must be ≥ 1")
    b = np.asarray(beat_times, dtype=np.float64)
    b = b[(b >= 0) & (b < duration_s)]
    if b.size < 2:
        return np.zeros((0, 2))
    period = float(np.median(np.diff(b)))
    n = beats_per_section
    rows = []
    for i in range(0, b.size, n):
        group = b[i:i + n]
        if i + n < b.size:
            rows.append((group[0], b[i + n]))
        elif group.size == n or group.size > n / 2:
            rows.append((group[0], min(duration_s, group[-1] + period)))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


@register("novelty", needs_novelty=True,
          help="cut where the timbre changes (checkerboard novelty; sections ≥ --min-section-seconds)")
def novelty_sections(duration_s: float, *, boundaries_s: np.ndarray, min_section_seconds: float = 8.0,
                     **_) -> np.ndarray:
    """Sections between consecutive novelty boundaries [shape=(k, 2)], seconds.

    Boundaries closer than ``min_section_seconds`` to the start, the end or the previous boundary
    are dropped, so every section lasts at least that long (a song shorter than that is one section).
    """
    cuts = [0.0]
    for b in np.sort(np.asarray(boundaries_s, dtype=np.float64)):
        if b - cuts[-1] >= min_section_seconds and duration_s - b >= min_section_seconds:
            cuts.append(float(b))
    cuts.append(float(duration_s))
    return np.array([[a, b] for a, b in zip(cuts[:-1], cuts[1:])], dtype=np.float64).reshape(-1, 2)


@register("merged", help="novelty over-segmentation, then clustered slices with same-cluster neighbours merged "
                          "(sectionist.analysis.structure; sections ≥ 6 s)")
def merged_sections(duration_s: float, *, y: np.ndarray, sr: int, **_) -> np.ndarray:
    """The segments of :func:`sectionist.analysis.structure.merged.merged_structure` with its defaults [shape=(k, 2)], seconds."""
    from sectionist.analysis.structure.merged import merged_structure

    return merged_structure(y, sr).bounds


@register("laplacian", help="McFee & Ellis (2014) Laplacian segmentation on beat-synchronous features "
                             "(sectionist.analysis.structure)")
def laplacian_sections(duration_s: float, *, y: np.ndarray, sr: int, **_) -> np.ndarray:
    """The segments of :func:`sectionist.analysis.structure.laplacian.laplacian_structure` [shape=(k, 2)], seconds."""
    from sectionist.analysis.structure.laplacian import laplacian_structure

    return laplacian_structure(y, sr).bounds


def make_sections(song_id: str, duration_s: float, scheme: str, **params) -> pd.DataFrame:
    """The sections table rows of one song (section_id, song_id, scheme, index, start_s, end_s)."""
    spec = SCHEMES[scheme]  # unknown: ParameterError naming the known schemes
    bounds = spec.func(duration_s, **params)
    idx = np.arange(len(bounds))
    return pd.DataFrame({
        "section_id": [f"{song_id}-{i:05d}" for i in idx],
        "song_id": song_id,
        "scheme": scheme,
        "index": idx.astype(np.int32),
        "start_s": bounds[:, 0] if len(bounds) else np.zeros(0),
        "end_s": bounds[:, 1] if len(bounds) else np.zeros(0),
    })


# ---- central-section selection -------------------------------------------------------------------

def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    lo, hi = np.min(x), np.max(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x - lo) / (hi - lo)


def central_ratio(rms: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """The reference study's ratio: min-max normalised centroid over min-max normalised RMS.

    A zero RMS-norm with a non-zero centroid-norm gives ``inf``; 0/0 gives ``nan``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _minmax(centroid) / _minmax(rms)


def select_central(rms: np.ndarray, centroid: np.ndarray, *, rule: str = "ratio",
                   fraction: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Mark each song's central sections, reproducing the reference study's rule exactly.

    ``ratio`` rule: ratio = centroid_norm / rms_norm (min-max normalised per song), ranked in
    descending order (``inf`` first, ties in section order); the top ``floor(fraction × n_finite)``
    sections are central, where ``n_finite`` counts the sections with a finite ratio. A section with
    a zero RMS-norm has an infinite ratio and ranks first, so it is kept (it takes one of the
    places); a 0/0 ratio is not ranked and never central.
    ``energy`` rule: the top ``floor(fraction × n)`` sections by RMS.

    Parameters
    ----------
    rms, centroid : np.ndarray [shape=(k,)]
        Per-section median RMS and spectral centroid of one song.

    Returns
    -------
    is_central : np.ndarray [shape=(k,), dtype=bool]
    rank : np.ndarray [shape=(k,), dtype=int32]
        1 for the top section; −1 for sections that are not ranked.
    """
    rms = np.asarray(rms, dtype=np.float64)
    k = rms.size
    rank = np.full(k, -1, dtype=np.int32)
    if k == 0:
        return np.zeros(0, bool), rank
    if not 0 < fraction <= 1:
        raise ParameterError(f"fraction={fraction}: must be in (0, 1]")
    if rule == "ratio":
        score = central_ratio(rms, centroid)
        ranked = ~np.isnan(score)
        n_keep = int(np.floor(fraction * np.count_nonzero(np.isfinite(score))))
    elif rule == "energy":
        score = rms.copy()
        ranked = ~np.isnan(score)
        n_keep = int(np.floor(fraction * np.count_nonzero(ranked)))
    else:
        raise ParameterError(f"unknown central rule {rule!r}; use 'ratio' or 'energy'")
    idx = np.flatnonzero(ranked)
    order = idx[np.argsort(-score[idx], kind="stable")]
    rank[order] = np.arange(1, order.size + 1, dtype=np.int32)
    is_central = (rank >= 1) & (rank <= n_keep)
    return is_central, rank
