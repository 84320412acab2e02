"""Column scaling before clustering: :class:`FeatureScaler` and the :data:`SCALINGS` it offers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.checks import check_fitted_rows, check_rows


SCALINGS = ("standard", "l2cols", "none")


class FeatureScaler(TransformerMixin, BaseEstimator):
    """Column scaling before clustering.

    Parameters
    ----------
    kind : {"standard", "l2cols", "none"}
        ``standard``: zero mean, unit variance per column (constant columns are left at 0).
        ``l2cols``: each column divided by its L2 norm over the rows — the reference study's
        ``sklearn.preprocessing.normalize(X, axis=0)``.
    """

    def __init__(self, kind: str = "standard"):
        self.kind = kind

    def fit(self, X, y=None):
        if self.kind not in SCALINGS:
            raise ParameterError(f"scaling={self.kind!r}: use one of {', '.join(SCALINGS)}")
        X = check_rows(self, X, reset=True, what="scale")
        d = X.shape[1]
        if self.kind == "standard":
            self.center_ = X.mean(axis=0)
            scale = X.std(axis=0)
        elif self.kind == "l2cols":
            self.center_ = np.zeros(d)
            scale = np.sqrt((X**2).sum(axis=0))
        else:
            self.center_ = np.zeros(d)
            scale = np.ones(d)
        scale[~np.isfinite(scale) | (scale <= 1e-12)] = 1.0
        self.scale_ = scale
        return self

    def transform(self, X):
        """Scaled rows [shape=(n, d)]."""
        return (check_fitted_rows(self, X) - self.center_) / self.scale_

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Rows back in original units [shape=(n, d)] (e.g. cluster centres)."""
        return check_fitted_rows(self, Z) * self.scale_ + self.center_
