"""Runs and their clusterings: the runs table, run versions (a refit is a new run id
``"{lineage}~v{version}"``; see docs/modeling.md), per-section labels and scores, clusters, coverage."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.store.schema import CLUSTERINGS, CLUSTERS, RUNS

from sectionist.dashboard.data.tables import loads_json

#: Label code of a section that a run did not cluster (absent from its clusterings part); noise is -1.
MISSING = -2


@dataclass(frozen=True)
class RunArrays:
    """One run's per-section values, aligned to :attr:`~sectionist.dashboard.data.store_data.StoreData.section_ids`.

    ``label`` is ``-1`` for noise and ``-2`` (:data:`MISSING`) for sections the run left out;
    float arrays are NaN there.
    """

    run_id: str
    label: np.ndarray
    confidence: np.ndarray
    silhouette: np.ndarray
    stability: np.ndarray
    distance: np.ndarray
    clusters: tuple
    #: True where the fitted model labelled the section after the fit (placed, not fitted); all
    #: False for a run that placed nothing (or a store that predates placement).
    placed: np.ndarray | None = None

    @property
    def present(self) -> np.ndarray:
        return self.label != MISSING

    @property
    def n_placed(self) -> int:
        return 0 if self.placed is None else int(self.placed.sum())


class RunsMixin:
    """:class:`sectionist.dashboard.data.store_data.StoreData`'s runs and clusterings."""

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Runs indexed by run_id, sorted by space, method and k; a run with a damaged part is left out
        (:meth:`~sectionist.dashboard.data.store_data.StoreData.damaged_runs` says which and why)."""
        df = self.table(RUNS)
        damaged = self.damaged_runs()
        if damaged and not df.empty:
            df = df[~df["run_id"].isin(list(damaged))]
        if df.empty:
            return pd.DataFrame(columns=["space", "method", "k", "label", "lineage", "version", "n_placed",
                                         "model_key"]).rename_axis("run_id")
        df = df.copy()
        # the store fills these for older parts; a frame from elsewhere may still lack them
        if "lineage" not in df:
            df["lineage"] = df["run_id"]
        df["lineage"] = df["lineage"].where(df["lineage"].notna(), df["run_id"]).astype(str)
        df["version"] = pd.to_numeric(df.get("version", 1), errors="coerce").fillna(1).astype(np.int64)
        df["n_placed"] = pd.to_numeric(df.get("n_placed", 0), errors="coerce").fillna(0).astype(np.int64)
        if "model_key" not in df:
            df["model_key"] = None
        return df.sort_values(["space", "method", "lineage", "version"], kind="stable").set_index("run_id")

    @cached_property
    def run_versions(self) -> pd.DataFrame:
        """Per run id: ``lineage``, ``version``, ``latest_version`` and ``latest_run`` of its lineage,
        ``is_latest`` and ``n_versions`` (how many versions of the lineage the store holds)."""
        cols = ["lineage", "version", "latest_version", "latest_run", "is_latest", "n_versions"]
        runs = self.runs
        if runs.empty:
            return pd.DataFrame(columns=cols).rename_axis("run_id")
        df = runs[["lineage", "version"]].copy()
        g = df.reset_index().sort_values("version").groupby("lineage")
        last = g.last()
        df["latest_version"] = df["lineage"].map(last["version"]).astype(np.int64)
        df["latest_run"] = df["lineage"].map(last["run_id"])
        df["is_latest"] = df["version"] == df["latest_version"]
        df["n_versions"] = df["lineage"].map(g.size()).astype(np.int64)
        return df[cols]

    def latest_runs(self) -> list[str]:
        """The latest version of each lineage, in :attr:`runs` order."""
        v = self.run_versions
        return [r for r in v.index if v.at[r, "is_latest"]]

    def labels_by_section(self, run_id) -> pd.Series | None:
        """A run's labels indexed by section id (the sections it labels), or None for an unknown run
        (the ``labels`` argument of :func:`sectionist.dashboard.judging.stats.version_carry_over`)."""
        if run_id not in self.runs.index:
            return None
        lab = self.run_arrays(run_id).label
        keep = lab != MISSING
        return pd.Series(lab[keep], index=self.section_ids[keep])

    def carry_over(self, judgements: pd.DataFrame) -> pd.DataFrame:
        """:func:`sectionist.dashboard.judging.stats.version_carry_over` of ``judgements`` over this store's runs."""
        from sectionist.dashboard.judging.stats import version_carry_over

        return version_carry_over(judgements, self.run_versions[["lineage", "version"]], self.labels_by_section)

    def run_coverage(self, run_id) -> dict:
        """How much of the store a run labels.

        Returns a dict: ``sections`` (in the store), ``labelled`` (by the run), ``placed`` (labelled by
        the fitted model after the fit), ``fitted`` (labelled − placed), ``missing`` (sections the run
        does not label), ``missing_songs`` (songs none of whose sections it labels) and ``has_model``
        (whether the run can place new sections: ``runs.model_key`` is set).
        """
        arr = self.run_arrays(run_id)
        present = arr.present
        placed = arr.n_placed
        if not placed and run_id in self.runs.index:
            placed = int(self.runs.at[run_id, "n_placed"] or 0)  # a clusterings part without the column
        covered_songs = np.unique(self.song_code[present])
        key = self.runs.at[run_id, "model_key"] if run_id in self.runs.index else None
        return {
            "sections": self.n_sections, "labelled": int(present.sum()), "placed": int(placed),
            "fitted": int(present.sum()) - int(placed), "missing": int((~present).sum()),
            "missing_songs": int(len(self.songs) - len(covered_songs)),
            "has_model": isinstance(key, str) and bool(key),
        }

    def run_arrays(self, run_id) -> RunArrays:
        """Per-section label, confidence, silhouette, stability and distance of one run
        (:class:`~sectionist.store.errors.DamagedPartError` for a run with a damaged part)."""
        self.refresh()
        self.unavailable(run_id)
        c = self._cache
        with c.lock:
            if run_id in c.runs:
                return c.runs[run_id]
        if run_id not in self.runs.index:
            raise StoreError(f"{self.store_uri}: no run {run_id!r}")
        df = c.store.read_table(CLUSTERINGS, parts=[run_id],
                                columns=["section_id", "label", "confidence", "distance", "silhouette",
                                         "stability", "placed"]) if c.store.has_part(CLUSTERINGS, run_id) \
            else pd.DataFrame(columns=["section_id", "label"])
        n = self.n_sections
        pos = self.positions(df["section_id"]) if len(df) else np.array([], np.int64)
        ok = pos >= 0
        label = np.full(n, MISSING, np.int32)
        label[pos[ok]] = df["label"].to_numpy()[ok].astype(np.int32)

        def col(name):
            out = np.full(n, np.nan, np.float32)
            if name in df:
                out[pos[ok]] = pd.to_numeric(df[name], errors="coerce").to_numpy(np.float32)[ok]
            return out

        placed = np.zeros(n, bool)
        if "placed" in df:
            placed[pos[ok]] = df["placed"].fillna(False).to_numpy(dtype=bool)[ok]
        clusters = tuple(int(x) for x in np.unique(label) if x >= 0)
        arr = RunArrays(run_id, label, col("confidence"), col("silhouette"), col("stability"),
                        col("distance"), clusters, placed)
        with c.lock:
            c.runs[run_id] = arr
        return arr

    def clusters(self, run_id) -> pd.DataFrame:
        """The ``clusters`` rows of one run, indexed by cluster, JSON columns decoded."""
        self.refresh()
        self.unavailable(run_id)
        c = self._cache
        with c.lock:
            if run_id in c.clusters:
                return c.clusters[run_id]
        df = c.store.read_table(CLUSTERS, parts=[run_id]) if c.store.has_part(CLUSTERS, run_id) \
            else pd.DataFrame(columns=["cluster"])
        df = df.copy()
        for name in ("centroid", "profile", "shap_ranking"):
            if name in df:
                df[name] = [loads_json(v) for v in df[name]]
        for name in ("prototypes", "borderline"):
            if name in df:
                df[name] = [list(v) if v is not None else [] for v in df[name]]
        df = df.set_index("cluster").sort_index()
        with c.lock:
            c.clusters[run_id] = df
        return df
