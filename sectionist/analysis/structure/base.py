"""What every structure scheme is: :class:`Structure`, its result, and :class:`Scheme`, its interface.

A structure scheme maps one song's audio to segments ``[start_s, end_s)`` covering the song and an
integer label per segment, local to the song (segments with the same label are the same part). Each
scheme is one module of this package (``merged``, ``novelty``, ``laplacian``, ``kmeans15``) that
declares its :data:`SCHEME`; :mod:`sectionist.analysis.structure.schemes` registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sectionist.analysis.errors import ParameterError


@dataclass
class Structure:
    """One song's segmentation with structure labels.

    Attributes
    ----------
    bounds : np.ndarray [shape=(k, 2)]
        ``[start_s, end_s)`` of each segment, in time order, covering the song.
    labels : np.ndarray [shape=(k,), dtype=int64]
        Segment type, local to the song (0 … n_types − 1).
    params : dict
        The parameters used and what was chosen (JSON-serialisable), e.g. ``k`` and, for ``merged``,
        the pre-merge boundaries ``pre_bounds`` and labels ``pre_labels``.
    confidence : np.ndarray [shape=(k,)], optional
        How sure each segment's shared label is (0–1; NaN where no other segment shares it); None
        when the scheme does not say.
    levels : dict
        Finer levels of the same song, ``{name: Structure}`` (e.g. ``{"phrase": …}``); this
        structure itself is the ``section`` level (:data:`LEVELS`).
    """

    bounds: np.ndarray
    labels: np.ndarray
    params: dict = field(default_factory=dict)
    confidence: np.ndarray | None = None
    levels: dict = field(default_factory=dict)

    @property
    def n_types(self) -> int:
        return int(np.unique(self.labels).size)


#: Levels of a structure, coarse to fine: ``section`` (the song's parts: what lanes and exports show)
#: and ``phrase`` (the phrases inside them), stored in the ``level`` column of the segments table.
LEVELS: tuple[str, ...] = ("section", "phrase")


def part_letter(index: int) -> str:
    """A part's letter by its order of first appearance: ``A`` … ``Z``, then ``AA``, ``AB`` … (``index``
    from 0): the names of a song's parts in the truth of the tracker corpus, structure exports and lanes."""
    index, letters = int(index) + 1, ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


#: The shared inputs a scheme may declare, each handed to its ``func`` as the keyword of that name:
#: ``features``, the song's :class:`~sectionist.analysis.structure.beats.BeatFeatures` (computed once
#: for every scheme that takes them); ``spectrum``, its
#: :class:`~sectionist.analysis.sections.spectrum.SongSpectrum` at hop 512 (beats and MFCCs).
INPUTS: tuple[str, ...] = ("features", "spectrum")


@dataclass(frozen=True)
class Scheme:
    """A structure scheme: ``func(y, sr, **params) -> Structure`` (:meth:`segment`) and what it needs.

    ``version`` goes up whenever its defaults or method change (it is hashed into the analysis
    config and stored in each part's ``params``, so stale segments are recomputed by ``analyze``
    and ``sectionist segment``); ``inputs``: the shared inputs of :data:`INPUTS` it takes.
    """

    name: str
    func: Callable
    help: str
    version: int = 1
    inputs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``name`` (version 1) or ``name@version``: what the analysis config hashes."""
        return self.name if self.version == 1 else f"{self.name}@{self.version}"

    def segment(self, y: np.ndarray, sr: int, **params) -> Structure:
        """``func(y, sr, **params)``: the song's :class:`Structure` by this scheme."""
        return self.func(y, sr, **params)


def scheme(name: str, func: Callable, help: str = "", version: int = 1, inputs: tuple[str, ...] = ()) -> Scheme:
    """A :class:`Scheme` (``help`` by default the first line of ``func``'s docstring); an input not in
    :data:`INPUTS` is a ParameterError."""
    unknown = set(inputs) - set(INPUTS)
    if unknown:
        raise ParameterError(f"inputs={tuple(inputs)}: choose among {', '.join(INPUTS)}")
    return Scheme(name, func, help or (func.__doc__ or "").strip().splitlines()[0], int(version), tuple(inputs))
