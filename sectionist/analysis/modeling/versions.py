"""Stored runs: a lineage's latest version, the newest version of each lineage, and how a run's K
was chosen (:func:`k_note`). Light: numpy and pandas only, for the web process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.store.schema import RUNS


def latest_version(store, lineage: str, runs: pd.DataFrame | None = None) -> int:
    """The highest version of ``lineage`` in the store (0 when it has none)."""
    runs = store.read_table(RUNS) if runs is None else runs
    if runs.empty:
        return 0
    mine = runs[runs["lineage"] == lineage]
    return int(mine["version"].max()) if len(mine) else 0


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest version of each lineage among ``runs`` rows."""
    if runs.empty:
        return runs
    return runs.sort_values(["lineage", "version"]).groupby("lineage", as_index=False).tail(1)


def k_note(run: dict) -> str | None:
    """How a run's K was chosen, in a few words (the Overview's "K choice" badge): ``"⚠ K at edge of
    2–10 (stable-silhouette)"`` when the chosen K sits at an end of its search range (``runs.k_at_edge``),
    else the rule (``"fixed"``, ``"stable-silhouette"`` …); None for runs written before the rule was
    recorded.

    Parameters
    ----------
    run : dict
        A ``runs`` row (``k_rule``, ``k_at_edge``, ``k_min``, ``k_max``).
    """
    rule = run.get("k_rule")
    if not isinstance(rule, str) or not rule:
        return None
    edge = run.get("k_at_edge")
    if isinstance(edge, (bool, np.bool_)) and bool(edge):
        return f"⚠ K at edge of {int(run['k_min'])}–{int(run['k_max'])} ({rule})"
    return rule
