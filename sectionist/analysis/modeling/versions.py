"""Run versions: a lineage's latest version, and the newest version of each lineage."""

from __future__ import annotations

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
