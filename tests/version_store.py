"""Run versions in a test store, written part by part (no refitting): a ``{lineage}~v{version}``
copy of a run with other labels, as ``sectionist`` writes a refit (see docs/modeling.md)."""

from __future__ import annotations

import pandas as pd

from sectionist.store.schema import CLUSTERINGS, CLUSTERS, RUNS


def add_run_version(store, run_id, labels: pd.Series, *, version: int = 2, placed=(), model_key=None) -> str:
    """Write version ``version`` of the lineage of ``run_id`` and return its run id.

    Parameters
    ----------
    store : sectionist.store.base.Store
    run_id : str
        Version 1 (its runs row and clusters part are the template).
    labels : Series
        The new version's label per section id (sections left out are not labelled by it).
    version : int
        The version number (the run id is ``{run_id}~v{version}``).
    placed : iterable of str
        Section ids the new version labelled with its fitted model after the fit.
    model_key : str, optional
        ``runs.model_key`` of the new version (None: it cannot place new sections).
    """
    new_id = f"{run_id}~v{version}"
    placed = set(placed)
    run = store.read_part(RUNS, RUNS.part(run_id=run_id)).iloc[[0]].copy()
    fitted = [s for s in labels.index if s not in placed]
    run["run_id"], run["lineage"], run["version"] = new_id, run_id, version
    run["n_sections"], run["n_clusters"] = len(fitted), int(labels[labels >= 0].nunique())
    run["n_placed"], run["model_key"] = len(placed), model_key
    store.write_part(RUNS, RUNS.part(run_id=new_id), run)
    store.write_part(CLUSTERINGS, CLUSTERINGS.part(run_id=new_id), pd.DataFrame({
        "run_id": new_id, "section_id": list(labels.index), "label": labels.to_numpy().astype("int64"),
        "confidence": 0.5, "distance": 1.0, "silhouette": 0.1, "stability": 0.9,
        "placed": [s in placed for s in labels.index]}))
    template = store.read_part(CLUSTERS, CLUSTERS.part(run_id=run_id)).iloc[0].to_dict()
    rows = []
    for c in sorted(set(labels[labels >= 0].tolist())):
        members = list(labels.index[labels == c])
        rows.append({**template, "run_id": new_id, "cluster": int(c), "size": len(members),
                     "prototypes": members[:3], "borderline": members[-3:]})
    store.write_part(CLUSTERS, CLUSTERS.part(run_id=new_id), pd.DataFrame(rows))
    manifest = store.read_manifest()
    store.write_manifest(manifest)  # a new manifest version: a running dashboard reloads
    return new_id
