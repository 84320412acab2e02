"""The ``novelty`` scheme: ``merged``'s over-segmentation (its slices before merging), labelled by the
same per-song clustering (so its label scores tie ``merged``'s on songs that repeat a part;
``bench/structure_ablation.py`` also scores the slices unclustered, one label each)."""

from __future__ import annotations

import numpy as np

from sectionist.analysis.structure.base import Structure, scheme
from sectionist.analysis.structure.beats import BeatFeatures, beat_input
from sectionist.analysis.structure.merged import MERGED_VERSION, merged_beats


def novelty_structure(y: np.ndarray, sr: int, *, threshold: float = 1.0, kernels: tuple[int, ...] = (16, 32),
                      novelty_features: tuple[str, ...] = ("harmony", "timbre", "embedding"), embed_dims: int = 8,
                      min_slice_beats: int = 4, k: int | None = None, k_min: int = 4, k_max: int = 10,
                      features: BeatFeatures | None = None, beat_times: np.ndarray | None = None, **_) -> Structure:
    """The over-segmentation ``merged`` starts from (same threshold), labelled by the same slice clusters."""
    bf = beat_input(y, sr, features, beat_times)
    kw = dict(threshold=threshold, kernels=tuple(kernels), novelty_features=tuple(novelty_features),
              embed_dims=embed_dims, min_slice_beats=min_slice_beats, k=k, k_min=k_min, k_max=k_max)
    r = merged_beats(bf, **kw)
    params = {key: (list(v) if isinstance(v, tuple) else v) for key, v in kw.items()}
    return Structure(r["pre"], r["pre_labels"], dict(params, version=MERGED_VERSION, k_used=int(r["k"])))


#: ``novelty`` in the registry (:mod:`sectionist.analysis.structure.schemes`).
SCHEME = scheme("novelty", novelty_structure, version=MERGED_VERSION, inputs=("features",),
                help="merged's novelty over-segmentation before merging, with the same clusters")
