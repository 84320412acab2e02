"""Compare two labellings of the same sections: contingency, Hungarian alignment, agreement.

Cluster numbers are arbitrary, so "cluster 2 of K-Means" and "cluster 2 of the GMM" need not be
the same group (the reference study compared them without aligning them). Here run B's labels are
mapped onto run A's by the assignment that maximises the overlap (Hungarian method,
``scipy.optimize.linear_sum_assignment``), and only then is per-section agreement counted. ARI and
NMI need no alignment and are given too.

**Unmatched clusters.** When B has more clusters than A, the Hungarian assignment leaves some B
clusters without an A partner. Such a cluster gets a *new* label that collides with no A label
(and so with no aligned label): integers numbered on after the largest A label, in the order of
the B labels; other labels (strings) become ``"<label>*"``. Its sections therefore never count as
agreeing, and it stays a group of its own in every view (the dashboard's compare page, the
stored ``comparisons`` tables). :attr:`Comparison.unmatched` lists them.

This is the one implementation: :mod:`sectionist.dashboard.data` calls :func:`compare_labelings` for pairs
the store does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError


@dataclass
class Comparison:
    """Result of :func:`compare_labelings`.

    Attributes
    ----------
    agreement : float
        Share of sections whose aligned B label equals their A label, in [0, 1].
    ari, nmi : float
        Adjusted Rand index and normalised mutual information (no alignment needed).
    mapping : dict
        B label → aligned label: an A label, or for an unmatched B cluster a new label that
        collides with no A label (see the module notes).
    rows, cols : list
        A labels and B labels of the contingency table.
    counts : np.ndarray [shape=(len(rows), len(cols))]
        Contingency table: sections with A label ``rows[i]`` and B label ``cols[j]``.
    b_aligned : np.ndarray [shape=(n,)]
        B labels after the mapping.
    agree : np.ndarray [shape=(n,)], bool
    unmatched : list
        B labels the assignment left without an A partner (they got new labels).
    """

    agreement: float
    ari: float
    nmi: float
    mapping: dict
    rows: list
    cols: list
    counts: np.ndarray
    b_aligned: np.ndarray
    agree: np.ndarray
    unmatched: list = field(default_factory=list)


def contingency(a, b) -> tuple[list, list, np.ndarray]:
    """Contingency table of two labellings.

    Returns
    -------
    rows : list
        Sorted distinct labels of ``a``.
    cols : list
        Sorted distinct labels of ``b``.
    counts : np.ndarray [shape=(len(rows), len(cols))], int
    """
    rows, cols, counts, _ = _contingency(a, b)
    return rows, cols, counts


def _contingency(a, b):
    """:func:`contingency` plus each section's column index (``cols[bi[k]] == b[k]``)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ParameterError(f"labellings differ in length: {a.shape[0]} vs {b.shape[0]}")
    rows, ai = np.unique(a, return_inverse=True)
    cols, bi = np.unique(b, return_inverse=True)
    counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
    np.add.at(counts, (ai, bi), 1)
    return rows.tolist(), cols.tolist(), counts, bi


def _align(rows: list, cols: list, counts: np.ndarray) -> dict:
    """B label → aligned label from a contingency table (the rule of the module notes)."""
    from scipy.optimize import linear_sum_assignment

    if not counts.size:
        return {}
    r, c = linear_sum_assignment(-counts)
    mapping = {cols[j]: rows[i] for i, j in zip(r, c)}
    unmatched = [lab for lab in cols if lab not in mapping]
    if unmatched:
        numeric = all(isinstance(x, (int, np.integer)) for x in rows + cols)
        nxt = int(max(rows)) + 1 if numeric else None
        for lab in unmatched:
            if numeric:
                mapping[lab] = nxt
                nxt += 1
            else:
                mapping[lab] = f"{lab}*"
    return mapping


def align_labels(a, b) -> dict:
    """Map each label of ``b`` to a label of ``a`` so that the total overlap is largest.

    B clusters left unmatched (B has more clusters than A) get new labels that collide with no A
    label: numbered after the largest A label (strings: ``"<label>*"``).

    Returns
    -------
    dict
        B label → aligned label.
    """
    rows, cols, counts = contingency(a, b)
    return _align(rows, cols, counts)


def compare_labelings(a, b, *, scores: bool = True) -> Comparison:
    """Contingency, Hungarian alignment of ``b`` onto ``a``, agreement, ARI and NMI.

    Parameters
    ----------
    a, b : array-like [shape=(n,)]
        Labels of the same n sections, in the same order.
    scores : bool
        Compute ARI and NMI (left NaN otherwise: a caller that has them stored skips the cost).

    Raises
    ------
    ParameterError
        The labellings differ in length, or are empty.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.size == 0 and a.shape == b.shape:
        raise ParameterError("nothing to compare: no common sections")
    rows, cols, counts, bi = _contingency(a, b)
    mapping = _align(rows, cols, counts)
    b_aligned = np.asarray([mapping[c] for c in cols])[bi]
    agree = b_aligned == a
    ari = nmi = float("nan")
    if scores:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        ari = float(adjusted_rand_score(a, b))
        nmi = float(normalized_mutual_info_score(a, b))
    row_set = set(rows)
    return Comparison(
        agreement=float(agree.mean()), ari=ari, nmi=nmi,
        mapping=mapping, rows=rows, cols=cols, counts=counts, b_aligned=b_aligned, agree=agree,
        unmatched=[c for c in cols if mapping[c] not in row_set],
    )


def truth_scores(labels, truth) -> dict:
    """ARI, NMI and aligned agreement of a labelling against ground truth, where truth is known.

    Sections whose truth is missing (None / NaN / empty) are left out.

    Returns
    -------
    dict
        ``ari``, ``nmi``, ``agreement``, ``n`` (sections with truth); NaN scores when ``n == 0``.
    """
    labels = np.asarray(labels)
    truth = pd.Series(truth, dtype=object)
    known = truth.notna().to_numpy() & (truth.astype(str) != "").to_numpy()
    if not known.any():
        return {"ari": float("nan"), "nmi": float("nan"), "agreement": float("nan"), "n": 0}
    t = truth[known].astype(str).to_numpy()
    comp = compare_labelings(t, labels[known].astype(str))
    return {"ari": comp.ari, "nmi": comp.nmi, "agreement": comp.agreement, "n": int(known.sum())}
