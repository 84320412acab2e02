"""The ``kmeans15`` scheme, the baseline: fixed 15 s sections, K-Means per song on their classical
features (K chosen per song by the silhouette)."""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure, scheme
from sectionist.analysis.structure.helpers import first_order, standardise


def kmeans15_structure(y: np.ndarray, sr: int, *, section_seconds: float = 15.0, k: int | None = None,
                       k_max: int = 10, seed: int = 0, **_) -> Structure:
    """Fixed sections of ``section_seconds`` clustered per song by K-Means on their classical features.

    Features: the ``classical`` space's statistics (:func:`sectionist.analysis.sections.features.section_features`),
    standardised per song; K chosen by the silhouette over 2…``k_max`` unless given.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from sectionist.analysis.sections.features import FeatureParams, section_features

    if section_seconds <= 0:
        raise ParameterError(f"section_seconds={section_seconds}: must be > 0")
    duration = len(y) / sr
    starts = np.arange(0.0, duration - section_seconds / 2 + 1e-9, section_seconds)  # as the fixed scheme
    bounds = np.stack([starts, starts + section_seconds], axis=1) if starts.size else np.array([[0.0, duration]])
    bounds[-1, 1] = duration  # a short tail (≤ half a section) joins the last section
    feats = section_features(y, np.round(bounds * sr).astype(np.int64), FeatureParams(sr=sr))
    X = standardise(feats.select_dtypes("number").to_numpy(np.float64))
    n = len(X)
    if k is not None or n < 4:
        kk = max(1, min(int(k or 1), n))
        lab = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(X) if n > 1 else np.zeros(n, int)
    else:
        best_s, lab = -np.inf, np.zeros(n, int)
        for kk in range(2, min(k_max, n - 1) + 1):
            cand = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(X)
            if np.unique(cand).size > 1 and (s := silhouette_score(X, cand)) > best_s:
                best_s, lab = s, cand
    return Structure(bounds, first_order(lab), dict(section_seconds=section_seconds, k=k, k_max=k_max))


#: ``kmeans15`` in the registry (:mod:`sectionist.analysis.structure.schemes`).
SCHEME = scheme("kmeans15", kmeans15_structure,
                help="baseline: fixed 15 s sections, K-Means per song on classical features")
