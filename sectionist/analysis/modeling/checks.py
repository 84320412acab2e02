"""Validation of the rows given to the modelling estimators (scikit-learn's ``validate_data``)."""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import InputError


def check_rows(estimator, X, *, reset: bool, min_rows: int = 1, what: str = "cluster") -> np.ndarray:
    """Validate the rows given to ``estimator.fit`` (``reset=True``) or to a fitted estimator.

    scikit-learn's ``validate_data``: a finite, dense, 2-D float64 array; ``fit`` records
    ``n_features_in_``, later calls must have that many columns. Problems raise :class:`sectionist.analysis.errors.InputError`
    (sparse input: scikit-learn's ``TypeError``).

    Parameters
    ----------
    estimator : BaseEstimator
    X : array-like [shape=(n, d)]
    reset : bool
        True in ``fit``.
    min_rows : int
        Fewest rows accepted.
    what : str
        What the rows are for, in the error message.

    Returns
    -------
    np.ndarray [shape=(n, d), dtype=float64]
    """
    from sklearn.utils.validation import validate_data

    try:
        X = validate_data(estimator, X, reset=reset, dtype=np.float64)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if X.shape[0] < min_rows:
        raise InputError(f"need at least {min_rows} rows to {what}, got n_samples={X.shape[0]}")
    return X


def check_fit_rows(estimator, X, min_rows: int = 3) -> np.ndarray:
    """Rows given to ``fit``."""
    return check_rows(estimator, X, reset=True, min_rows=min_rows)


def check_fitted_rows(estimator, X) -> np.ndarray:
    """Rows given to a fitted estimator (``predict``, ``predict_proba``)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    return check_rows(estimator, X, reset=False)
