"""Typed, frozen analysis configuration, loaded from TOML and the command line, and hashed.

The hash of the parameters that change results is stored with every song
(``songs.analyzed_with``), so a changed parameter is never mixed silently with old results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from sectionist.analysis.run.cpu import available_cores
from sectionist.analysis.errors import ParameterError

#: Seconds of audio to analyse from which ``workers=None`` starts worker processes (below, one process
#: finishes first; see :meth:`AnalysisConfig.worker_count`).
POOL_MIN_AUDIO_S = 600.0

#: Fields that do not change what is computed for a song (so they are left out of the hash).
_NOT_HASHED = {"workers", "dask", "force", "retry_failed", "embed", "embedders", "cluster", "device", "sound_tracks"}


@dataclass(frozen=True)
class AnalysisConfig:
    """Every option of ``sectionist analyze``.

    Attributes
    ----------
    sample_rate : int
        Analysis rate in Hz; audio is resampled to it (the reference study used 44 100).
    scheme : str
        Sectioning scheme, a key of :data:`sectionist.analysis.sections.sectioning.SCHEMES`.
    section_seconds : float
        Section length for the ``fixed`` scheme.
    beats_per_section : int
        Beats per section for the ``beats`` scheme (1–2 give short fragments).
    min_section_seconds : float
        Shortest section of the ``novelty`` scheme.
    central_rule : str
        ``"ratio"`` (the study's centroid/RMS rule) or ``"energy"`` (top fraction by RMS).
    central_fraction : float
        Fraction of each song's sections marked central.
    n_fft, hop_length : int
        STFT frame and hop, in samples at ``sample_rate``.
    n_mels, n_mfcc : int
        Mel bands for the MFCCs and number of MFCCs.
    workers : int or None
        Songs analysed in parallel (processes); ``None`` (default): the machine's cores when more
        than one song and at least :data:`POOL_MIN_AUDIO_S` of audio are to be analysed
        (:meth:`worker_count`).
    """

    sample_rate: int = 22050
    scheme: str = "fixed"
    section_seconds: float = 15.0
    beats_per_section: int = 4
    min_section_seconds: float = 8.0
    central_rule: str = "ratio"
    central_fraction: float = 0.6
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 20
    min_song_seconds: float = 1.0
    structure_schemes: tuple = ("repeats", "merged", "laplacian")
    # not hashed: how, not what
    workers: int | None = None  # None: the machine's cores (worker_count)
    dask: str | None = None  # local:N or tcp://scheduler:8786 (sectionist.analysis.run.distributed)
    force: bool = False
    retry_failed: bool = False
    embed: bool = True
    embedders: tuple = ("musicnn",)
    cluster: bool = True
    device: str = "cpu"
    sound_tracks: bool = False  # also write each analysed song's sound tracks (sectionist.analysis.sections.soundtracks)

    def __post_init__(self):
        if not 8000 <= self.sample_rate <= 192000:
            raise ParameterError(f"sample_rate={self.sample_rate}: must be within 8000–192000 Hz")
        if self.section_seconds <= 0:
            raise ParameterError(f"section_seconds={self.section_seconds}: must be > 0")
        if self.min_section_seconds <= 0:
            raise ParameterError(f"min_section_seconds={self.min_section_seconds}: must be > 0")
        if not 1 <= self.beats_per_section <= 64:
            raise ParameterError(f"beats_per_section={self.beats_per_section}: must be within 1–64")
        if self.central_rule not in ("ratio", "energy"):
            raise ParameterError(f"central_rule={self.central_rule!r}: use 'ratio' or 'energy'")
        if not 0 < self.central_fraction <= 1:
            raise ParameterError(f"central_fraction={self.central_fraction}: must be in (0, 1]")
        if self.hop_length <= 0 or self.n_fft <= 0 or self.hop_length > self.n_fft:
            raise ParameterError(f"n_fft={self.n_fft}, hop_length={self.hop_length}: need 0 < hop ≤ n_fft")
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise ParameterError(f"n_mfcc={self.n_mfcc}: must be within 1–n_mels")
        if self.workers is not None and self.workers < 1:
            raise ParameterError(f"workers={self.workers}: must be ≥ 1")
        if self.dask is not None:
            from sectionist.analysis.run.distributed import parse_address

            parse_address(self.dask)  # a bad address is an error before any song
        if isinstance(self.embedders, list):
            object.__setattr__(self, "embedders", tuple(self.embedders))
        if isinstance(self.structure_schemes, (list, str)):
            value = self.structure_schemes
            object.__setattr__(self, "structure_schemes", tuple(value.split(",") if isinstance(value, str) else value))
        if self.structure_schemes:
            from sectionist.analysis.structure.schemes import STRUCTURES

            for name in self.structure_schemes:
                STRUCTURES[name]  # unknown: ParameterError listing the known schemes

    def hashed_dict(self) -> dict:
        """The parameters that change results, as a plain dict (structure schemes with their version,
        so a scheme whose method or defaults changed is recomputed)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_HASHED}
        if self.structure_schemes:
            from sectionist.analysis.structure.schemes import STRUCTURES

            d["structure_schemes"] = tuple(STRUCTURES[name].key for name in self.structure_schemes)
        return d

    def config_hash(self) -> str:
        """A short, stable hash of :meth:`hashed_dict` (16 hex digits)."""
        blob = json.dumps(self.hashed_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def worker_count(self, n_songs: int, audio_s: float) -> int:
        """Worker processes for ``n_songs`` songs of ``audio_s`` seconds in all: ``workers`` if set, else
        the machine's cores, but one process for a single song or less than :data:`POOL_MIN_AUDIO_S` of
        audio. Measured on the 2-core machine with spawned workers (~5 s to start them): 2 songs of
        30 s took 2.6 s in one process and 6.8 s on 2 workers, 16 songs 7.8–10.1 s and 11.7–13.8 s,
        120 songs 97 s and 68 s. Workers forked from the forkserver (:func:`sectionist.analysis.run.pool.pool_context`)
        start faster: 16 songs of 30 s (8 minutes) in a fresh process took 10.5 s in one process and
        7.6 s on 2 workers. The threshold stays at 10 minutes, where the pool pays either way."""
        if self.workers is not None:
            return int(self.workers)
        if n_songs < 2 or audio_s < POOL_MIN_AUDIO_S:
            return 1
        return max(1, min(available_cores(), int(n_songs)))

    def replace(self, **changes) -> "AnalysisConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["embedders"] = list(self.embedders)
        d["structure_schemes"] = list(self.structure_schemes)
        return d


def load_config(path: str | Path | None = None, **overrides) -> AnalysisConfig:
    """Build a config from an optional TOML file, then command-line overrides.

    The TOML file may hold the options at top level or under ``[analyze]``; unknown keys
    are an error (a typo must not be ignored silently). ``None`` overrides are skipped.
    """
    values: dict = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ParameterError(f"{p}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"{p}: not valid TOML ({exc})") from None
        data = data.get("analyze", data)
        known = {f.name for f in fields(AnalysisConfig)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError(f"{p}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values.update(data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return AnalysisConfig(**values)
