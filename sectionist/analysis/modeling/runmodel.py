"""A fitted run's model (:class:`RunModel`) and the labelling of new sections with it (pure, no store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.specs import RunSpec, SpaceData, group_means

__all__ = ["Placement", "RunModel", "place_sections", "placed_drift"]


@dataclass
class RunModel:
    """What a fitted run needs to label new sections: its scaler, its estimator and its space.

    Saved beside each run (``runs.model_key``) so that sections added later can be placed into
    the run's clusters without refitting it (:func:`place_sections`).

    Attributes
    ----------
    spec : RunSpec
        With ``level`` filled.
    columns : list of str
        Columns of the space, in the order the scaler expects.
    scaler : fitted :class:`sectionist.analysis.modeling.scaling.FeatureScaler`
    estimator : fitted estimator with ``predict`` (and ``predict_proba`` for soft methods) and
        ``cluster_centers_``; at the frame level it labels frames, and a section takes the mode of
        its frames' labels (:func:`sectionist.analysis.modeling.measures.mode_labels`), as in :func:`sectionist.analysis.modeling.runs.fit_run`.
    soft : bool
        Whether the run stores membership probabilities.
    """

    spec: RunSpec
    columns: list
    scaler: Any
    estimator: Any
    soft: bool

    @classmethod
    def of(cls, result) -> RunModel:
        """The model of a fitted run (a :class:`sectionist.analysis.modeling.runs.RunResult`), without the
        per-row arrays of the fit (kept small)."""
        import copy

        est = copy.copy(result.estimator)
        for name in ("labels_", "proba_", "confidence_"):
            if hasattr(est, name):
                setattr(est, name, None)
        return cls(result.spec, list(result.columns), result.scaler, est, result.proba is not None)


@dataclass
class Placement:
    """Labels of sections placed into a fitted run (same meaning as the :class:`sectionist.analysis.modeling.runs.RunResult` arrays).

    Attributes
    ----------
    section_ids : np.ndarray [shape=(n,)]
    labels : np.ndarray [shape=(n,)], int
    confidence : np.ndarray [shape=(n,)]
    distance : np.ndarray [shape=(n,)]
        Distance to the own cluster's centre in the run's scaled space (frames: mean over frames).
    proba : np.ndarray [shape=(n, k)] or None
    label_distribution : np.ndarray [shape=(n, k)] or None
    """

    section_ids: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    distance: np.ndarray
    proba: np.ndarray | None
    label_distribution: np.ndarray | None


def place_sections(model: RunModel, data: SpaceData) -> Placement:
    """Label the sections of ``data`` with a fitted run's model, without refitting it (pure).

    Parameters
    ----------
    model : RunModel
    data : SpaceData
        Rows in the run's space and level, columns in the run's order.

    Returns
    -------
    Placement
    """
    from sectionist.analysis.modeling.kernels import margin_confidence, sq_distances
    from sectionist.analysis.modeling.measures import mode_labels

    if data.level != model.spec.level:
        raise ParameterError(f"run {model.spec.run_id}: its level is {model.spec.level!r}, the rows are "
                             f"at the {data.level!r} level")
    if list(data.columns) != list(model.columns):
        raise ParameterError(f"run {model.spec.run_id}: the rows have {len(data.columns)} columns, the run was "
                             f"fitted on {len(model.columns)} ({', '.join(map(str, model.columns[:5]))}, …)")
    n = len(data.section_ids)
    if n == 0:
        empty = np.zeros(0)
        return Placement(data.section_ids, np.zeros(0, np.int64), empty, empty, None, None)
    est = model.estimator
    Z = model.scaler.transform(data.X)
    C = np.asarray(est.cluster_centers_, dtype=np.float64)
    D = np.sqrt(sq_distances(Z, C))
    frame_labels = np.asarray(est.predict(Z), dtype=np.int64)
    P = np.asarray(est.predict_proba(Z), dtype=np.float64) if model.soft else None
    if data.groups is None:
        labels, distribution = frame_labels, None
        confidence = P.max(axis=1) if P is not None else margin_confidence(D)
        distance = D[np.arange(n), np.maximum(labels, 0)]
        proba = P
    else:
        labels, distribution = mode_labels(data.groups, frame_labels, D, n)
        confidence = distribution[np.arange(n), np.maximum(labels, 0)]
        distance = group_means(D, data.groups, n)[np.arange(n), np.maximum(labels, 0)]
        proba = group_means(P, data.groups, n) if P is not None else None
    noise = labels < 0
    return Placement(data.section_ids, labels, np.where(noise, 0.0, confidence),
                     np.where(noise, np.nan, distance), proba, distribution)


def placed_drift(placed_distance, fitted_distance) -> float:
    """Mean distance of placed sections to their centre ÷ that of the fitted ones (NaN if either is empty).

    Near 1: the new sections sit in the clusters as snugly as the fitted ones; well above 1: the
    clusters no longer describe them (a refit, ``sectionist refit``, is worth it).
    """
    p = np.asarray(placed_distance, dtype=np.float64)
    f = np.asarray(fitted_distance, dtype=np.float64)
    p, f = p[np.isfinite(p)], f[np.isfinite(f)]
    if not len(p) or not len(f) or f.mean() <= 0:
        return float("nan")
    return float(p.mean() / f.mean())
