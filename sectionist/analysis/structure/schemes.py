"""The registry of structure schemes, one module each (as msaf's algorithm folders):

- :mod:`~sectionist.analysis.structure.repeats` (``repeats``): bar-long units the song plays again,
  glued where they always come together, at two levels (sections and phrases);
- :mod:`~sectionist.analysis.structure.merged` (``merged``): novelty over-segmentation on beats, the
  slices clustered in the Laplacian embedding, same-cluster neighbours merged;
- :mod:`~sectionist.analysis.structure.novelty` (``novelty``): ``merged``'s slices before merging;
- :mod:`~sectionist.analysis.structure.laplacian` (``laplacian``): McFee & Ellis (2014);
- :mod:`~sectionist.analysis.structure.kmeans15` (``kmeans15``): fixed 15 s sections, K-Means per song.

Each declares its :class:`~sectionist.analysis.structure.base.Scheme` as ``SCHEME``; they are
registered here, in this order.
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis.registry import Registry
from sectionist.analysis.structure import kmeans15, laplacian, merged, novelty, repeats
from sectionist.analysis.structure.base import Structure, scheme

#: The structure schemes ``analyze`` writes by default.
DEFAULT_SCHEMES: tuple[str, ...] = ("repeats", "merged", "laplacian")


#: Name → :class:`~sectionist.analysis.structure.base.Scheme` (``STRUCTURES.register(name, help=…,
#: version=…, inputs=…)`` adds another).
STRUCTURES: Registry = Registry("structure scheme", entry=scheme)
for _module in (repeats, merged, novelty, laplacian, kmeans15):
    STRUCTURES.add(_module.SCHEME.name, _module.SCHEME)
del _module


def compute_structure(y: np.ndarray, sr: int, scheme: str, **params) -> Structure:
    """Run the structure scheme ``scheme`` (unknown: ParameterError listing the known ones)."""
    return STRUCTURES[scheme].segment(y, sr, **params)

