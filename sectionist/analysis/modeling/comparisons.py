"""Comparing the runs of a store (:func:`compare_store`): every pair, and every run with the ground truth."""

from __future__ import annotations

import logging
from itertools import combinations

import numpy as np
import pandas as pd

from sectionist.store.schema import CLUSTERINGS, COMPARISON_SECTIONS, COMPARISONS, RUNS

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.modeling.spaces import read_sections
from sectionist.analysis.modeling.tables import json_text

log = logging.getLogger(__name__)


def compare_store(store, runs: list[str] | None = None, *, progress: bool = True, involving=None) -> pd.DataFrame:
    """Compare every pair of runs (on their common sections) and every run with the ground truth.

    ``involving`` (a set of run ids) limits the pairs to those with at least one of these runs (e.g.
    the runs whose placed sections changed).

    Writes ``comparisons`` and ``comparison_sections`` parts ``{run_a}__{run_b}`` (pairs in sorted
    order), removes parts of pairs whose runs are gone, and returns one tidy table: one row per
    pair, ``run_b == "truth"`` for the ground-truth rows.

    Returns
    -------
    pd.DataFrame
        Columns run_a, run_b, n_sections, agreement, ari, nmi.
    """
    from sectionist.analysis.modeling.compare import truth_scores

    all_runs = store.read_table(RUNS)
    present = sorted(all_runs["run_id"]) if not all_runs.empty else []
    wanted = sorted(present if runs is None else runs)
    unknown = sorted(set(wanted) - set(present))
    if unknown:
        raise ParameterError(f"unknown run(s) {', '.join(unknown)}; runs in {store.uri}: {', '.join(present) or 'none'}")
    labels = {r: run_labels(store, r) for r in wanted}
    rows = []
    pairs = list(combinations(wanted, 2))
    if involving is not None:
        pairs = [(a, b) for a, b in pairs if a in involving or b in involving]
    it = pairs
    if progress and pairs:
        from tqdm.auto import tqdm

        it = tqdm(pairs, desc="comparisons", leave=False, disable=None)
    for a, b in it:
        made = pair_frames(a, b, labels[a], labels[b])
        if made is None:
            log.warning("runs %s and %s share no section; not compared", a, b)
            continue
        part = pair_part(a, b)
        store.write_part(COMPARISONS, part, made[COMPARISONS])
        store.write_part(COMPARISON_SECTIONS, part, made[COMPARISON_SECTIONS])
        rows.append(made[COMPARISONS][["run_a", "run_b", "n_sections", "agreement", "ari", "nmi"]].iloc[0].to_dict())
    # stale pairs (a run was removed or renamed)
    valid = {pair_part(a, b) for a, b in combinations(present, 2)}
    for table in (COMPARISONS, COMPARISON_SECTIONS):
        for part in store.list_parts(table):
            if part not in valid:
                store.delete_part(table, part)
    try:
        sections = read_sections(store).set_index("section_id")
    except StoreError:
        sections = pd.DataFrame()
    if "truth_label" in sections:
        for r in wanted:
            truth = sections["truth_label"].reindex(labels[r].index).to_numpy()
            ts = truth_scores(labels[r].to_numpy(), truth)
            if ts["n"]:
                rows.append({"run_a": r, "run_b": "truth", "n_sections": ts["n"], "agreement": ts["agreement"],
                             "ari": ts["ari"], "nmi": ts["nmi"]})
    return pd.DataFrame(rows, columns=["run_a", "run_b", "n_sections", "agreement", "ari", "nmi"])


def pair_part(run_a: str, run_b: str) -> str:
    """The part name of a pair of runs in ``comparisons`` and ``comparison_sections`` (``run_a < run_b``)."""
    return f"{run_a}__{run_b}"


def run_labels(store, run_id: str) -> pd.Series:
    """A run's label of each section (placed ones included), indexed by section id: what it is compared on."""
    return store.read_part(CLUSTERINGS, run_id, columns=["section_id", "label"]).set_index("section_id")["label"]


def pair_frames(a: str, b: str, labels_a: pd.Series, labels_b: pd.Series) -> dict | None:
    """``{COMPARISONS: row, COMPARISON_SECTIONS: rows}`` of runs ``a`` and ``b`` (their labels by section id),
    a pure function of the two labellings; None when they share no section."""
    from sectionist.analysis.modeling.compare import compare_labelings

    common = labels_a.index.intersection(labels_b.index).sort_values()
    if len(common) == 0:
        return None
    la, lb = labels_a.reindex(common).to_numpy(), labels_b.reindex(common).to_numpy()
    comp = compare_labelings(la, lb)
    return {
        COMPARISONS: pd.DataFrame([{
            "run_a": a, "run_b": b, "n_sections": len(common), "agreement": comp.agreement, "ari": comp.ari,
            "nmi": comp.nmi, "mapping": json_text({str(kk): int(v) for kk, v in comp.mapping.items()}),
            "contingency": json_text({"rows": comp.rows, "cols": comp.cols, "counts": comp.counts.tolist()}),
        }]),
        COMPARISON_SECTIONS: pd.DataFrame({
            "section_id": np.asarray(common), "label_a": la, "label_b": lb,
            "label_b_aligned": comp.b_aligned.astype(np.int64), "agree": comp.agree,
        }),
    }
