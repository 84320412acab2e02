"""Distance kernels shared by the estimators, the measures and the placing of new sections."""

from __future__ import annotations

import numpy as np


def sq_distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (n, k), clipped at 0."""
    d = (X**2).sum(1)[:, None] - 2.0 * X @ C.T + (C**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def margin_confidence(D: np.ndarray) -> np.ndarray:
    """``1 − d_own / d_second`` from a distance matrix (n, k); 1 when k == 1."""
    if D.shape[1] < 2:
        return np.ones(D.shape[0])
    part = np.partition(D, 1, axis=1)
    d1, d2 = part[:, 0], part[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(d2 > 0, 1.0 - d1 / d2, 0.0)
    return np.clip(c, 0.0, 1.0)
