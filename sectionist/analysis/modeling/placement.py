"""New sections into existing runs and maps, with their saved models (:func:`place_new_sections`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sectionist.store.schema import CLUSTERINGS, PROJECTION_INFO, PROJECTIONS, RUNS, SECTIONS

from sectionist.analysis.errors import StoreError
from sectionist.analysis.modeling.persistence import load_model
from sectionist.analysis.modeling.runmodel import place_sections, placed_drift
from sectionist.analysis.modeling.spaces import load_space, read_sections, space_section_matrix
from sectionist.analysis.modeling.specs import subset_space

log = logging.getLogger(__name__)


@dataclass
class PlacementReport:
    """What :func:`place_new_sections` did.

    Attributes
    ----------
    runs : dict
        ``run_id → sections placed now``.
    maps : dict
        ``"{space}/{kind}{dims}" → sections placed now``.
    uncovered : dict
        ``run_id or map → sections it does not cover`` because it has no usable saved model (a run
        or map from an older store, or a model saved by other library versions).
    """

    runs: dict
    maps: dict
    uncovered: dict

    def lines(self) -> list[str]:
        out = []
        if self.runs:
            out.append("placed new sections into runs: " + ", ".join(f"{r} (+{n})" for r, n in self.runs.items()))
        if self.maps:
            out.append("placed new sections on maps: " + ", ".join(f"{m} (+{n})" for m, n in self.maps.items()))
        for what, n in self.uncovered.items():
            out.append(f"NOT COVERED: {what} has no usable fitted model and does not cover {n} newer section(s); "
                       f"'sectionist refit {what}' fits a new version on every section" if "/" not in what else
                       f"NOT COVERED: map {what} has no usable fitted projector and lacks {n} newer section(s); "
                       "'sectionist refit --maps' refits the maps (they move)")
        return out


def _run_params(row) -> dict:
    try:
        return json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    except json.JSONDecodeError:
        return {}


def _candidate_sections(sections: pd.DataFrame, central_only: bool) -> set:
    if central_only:
        sections = sections[sections["is_central"].fillna(False).astype(bool)]
    return set(sections["section_id"])


def _placed_clusterings(run_id: str, pl) -> pd.DataFrame:
    n = len(pl.section_ids)
    return pd.DataFrame({
        "run_id": run_id, "section_id": pl.section_ids, "label": pl.labels.astype(np.int64),
        "confidence": pl.confidence.astype(np.float64), "distance": pl.distance.astype(np.float64),
        "silhouette": np.full(n, np.nan), "stability": np.full(n, np.nan),
        "proba": list(np.round(pl.proba, 6).tolist()) if pl.proba is not None else [None] * n,
        "label_distribution": (list(np.round(pl.label_distribution, 6).tolist())
                               if pl.label_distribution is not None else [None] * n),
        "placed": True,
    })


def _update_run_placement(store, run_id: str, clusterings: pd.DataFrame) -> bool:
    """Set the run's ``n_placed`` and ``placed_drift`` from its clusterings; True when they changed."""
    run = store.read_part(RUNS, run_id)
    placed = clusterings["placed"].fillna(False).astype(bool).to_numpy()
    n_placed = int(placed.sum())
    drift = placed_drift(clusterings["distance"].to_numpy()[placed], clusterings["distance"].to_numpy()[~placed])
    old_n = int(run["n_placed"].iloc[0]) if "n_placed" in run else 0
    old_d = float(run["placed_drift"].iloc[0]) if "placed_drift" in run and run["placed_drift"].notna().iloc[0] else np.nan
    if old_n == n_placed and (old_d == drift or (np.isnan(old_d) and np.isnan(drift))):
        return False
    run["n_placed"] = n_placed
    run["placed_drift"] = drift
    store.write_part(RUNS, run_id, run)
    return True


def place_new_sections(store, *, progress: bool = True) -> PlacementReport:
    """Label and map the sections that existing runs and maps do not cover yet, with their saved models.

    Every run keeps its fitted sections' rows exactly; rows for the new sections are added to its
    ``clusterings`` part with ``placed = True`` (labels from the run's saved scaler and model, at
    the frame level the mode of the frames' labels; no silhouette or stability, which belong to
    the fit) and its ``n_placed`` / ``placed_drift`` are updated. In a song-relative run
    (``classical17-role``) a new song's sections are made relative to that song's own sections
    before its saved model places them. Every map likewise gets the new
    sections' coordinates from its saved projector (``projections.placed``). Runs and maps without
    a usable saved model are left as they are and reported in :attr:`PlacementReport.uncovered`.
    Safe to interrupt: a rerun places what is still missing and repairs the counts.

    Returns
    -------
    PlacementReport
    """
    report = PlacementReport({}, {}, {})
    runs = store.read_table(RUNS)
    if not store.list_parts(SECTIONS):
        return report
    sections = read_sections(store)
    spaces: dict = {}
    rows = list(runs.to_dict("records")) if not runs.empty else []
    it = rows
    if progress and rows:
        from tqdm.auto import tqdm

        it = tqdm(rows, desc="placing", leave=False, disable=None)
    for row in it:
        run_id = row["run_id"]
        if not store.has_part(CLUSTERINGS, run_id):
            continue
        # the covered sections first (three columns); the whole part only when rows are added
        cl = store.read_part(CLUSTERINGS, run_id, columns=["section_id", "distance", "placed"])
        params = _run_params(row)
        todo = _candidate_sections(sections, bool(params.get("central_only"))) - set(cl["section_id"])
        if todo:
            key = row.get("model_key")
            model = load_model(store, key) if isinstance(key, str) else None
            if model is None:
                report.uncovered[run_id] = len(todo)
            else:
                level = row["level"] if row["level"] != "section" else None
                try:  # the run's own rows (a role space: each song relative to its sections in the run)
                    data = subset_space(load_space(store, row["space"], level=level,
                                                   central_only=bool(params.get("central_only"))), todo)
                except StoreError as exc:
                    log.warning("run %s: new sections not placed (%s)", run_id, exc)
                    report.uncovered[run_id] = len(todo)
                    data = None
                if data is not None and len(data.section_ids):
                    new = _placed_clusterings(run_id, place_sections(model, data))
                    cl = pd.concat([store.read_part(CLUSTERINGS, run_id), new], ignore_index=True)
                    store.write_part(CLUSTERINGS, run_id, cl)
                    report.runs[run_id] = len(new)
        if "placed" in cl and _update_run_placement(store, run_id, cl):
            report.runs.setdefault(run_id, 0)
    for part in store.list_parts(PROJECTION_INFO):
        info = store.read_part(PROJECTION_INFO, part).iloc[0]
        pts = store.read_part(PROJECTIONS, part) if store.has_part(PROJECTIONS, part) else None
        if pts is None:
            continue
        space = str(info["space"])
        if space not in spaces:
            try:
                spaces[space] = space_section_matrix(store, space)
            except StoreError as exc:
                log.warning("space %s: maps not extended (%s)", space, exc)
                spaces[space] = None
        if spaces[space] is None:
            continue
        ids, X, _ = spaces[space]
        new = ~np.isin(ids, pts["section_id"].to_numpy())
        if new.any():
            key = info.get("model_key")
            proj = load_model(store, key) if isinstance(key, str) else None
            if proj is None:
                report.uncovered[part] = int(new.sum())
            else:
                E = proj.transform(X[new])
                dims = int(info["dims"])
                add = pd.DataFrame({"space": space, "kind": info["kind"], "dims": dims, "section_id": ids[new],
                                    "x": E[:, 0], "y": E[:, 1],
                                    "z": E[:, 2] if dims == 3 else np.full(int(new.sum()), np.nan), "placed": True})
                pts = pd.concat([pts, add], ignore_index=True)
                store.write_part(PROJECTIONS, part, pts)
                report.maps[part] = len(add)
        n_placed = int(pts["placed"].fillna(False).astype(bool).sum()) if "placed" in pts else 0
        if int(info.get("n_placed", 0) or 0) != n_placed:
            info_df = store.read_part(PROJECTION_INFO, part)
            info_df["n_placed"] = n_placed
            store.write_part(PROJECTION_INFO, part, info_df)
    return report
