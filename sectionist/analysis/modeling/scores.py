"""What a run's other steps measure: bootstrap stability (:func:`run_stability`) and ground-truth scores
(:func:`score_truth`), pure functions over a :class:`sectionist.analysis.modeling.runs.RunResult`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.runs import RunResult, section_labels
from sectionist.analysis.modeling.specs import SpaceData

__all__ = ["STABILITY_REPEATS", "Stability", "run_stability", "score_truth"]


#: Bootstrap refits of the stability step.
STABILITY_REPEATS = 5


@dataclass
class Stability:
    """How stable a run's clusters are under bootstrap refits.

    Attributes
    ----------
    rate : np.ndarray [shape=(n_sections,)] in [0, 1]
        Per section, how often it stays with its cluster-mates (NaN when not measured).
    ari : float
        Mean ARI between the refits (NaN when not measured).
    n_repeats : int
        Refits asked for (fewer than 2: not measured).
    """

    rate: np.ndarray
    ari: float
    n_repeats: int


def run_stability(data: SpaceData, result: RunResult, *, n_repeats: int = STABILITY_REPEATS,
                  progress: bool = False) -> Stability:
    """Refit the run's method on ``n_repeats`` seeded bootstrap resamples; co-assignment rates and ARI.

    Methods that take K are refitted with the run's K. Fewer than 2 repeats: NaN (not measured).

    Parameters
    ----------
    data : SpaceData
        The rows the run was fitted on.
    result : RunResult

    Returns
    -------
    Stability
    """
    from sectionist.analysis.modeling.measures import co_assignment_stability, stability_repeats

    n_sec = len(data.section_ids)
    if n_repeats < 2:
        return Stability(np.full(n_sec, np.nan), float("nan"), int(n_repeats))
    spec = result.spec
    Z = result.scaler.transform(data.X)
    fixed_k = result.n_clusters if spec.uses_k else None
    repeats = stability_repeats(lambda s: spec.estimator(random_state=s, n_clusters=fixed_k), Z,
                                lambda e: section_labels(data, Z, e)[0], n_repeats=n_repeats,
                                random_state=spec.seed, progress=progress)
    rate, ari = co_assignment_stability(result.labels, repeats)
    return Stability(rate, ari, int(n_repeats))


def score_truth(result: RunResult, truth) -> dict:
    """ARI and NMI of the run's labels against ground-truth labels of its sections.

    Parameters
    ----------
    result : RunResult
    truth : array-like [shape=(n_sections,)] or None
        Truth label of each of ``result.section_ids`` (None / NaN / "" where unknown).

    Returns
    -------
    dict
        ``ari``, ``nmi`` (NaN without truth), ``n`` (sections with truth) and, with truth,
        ``agreement``.
    """
    from sectionist.analysis.modeling.compare import truth_scores

    if truth is None:
        return {"ari": np.nan, "nmi": np.nan, "n": 0}
    truth = np.asarray(truth, dtype=object)
    if truth.shape != (result.n_sections,):
        raise ParameterError(f"truth has shape {truth.shape}; the run has {result.n_sections} sections")
    return truth_scores(result.labels, truth)
