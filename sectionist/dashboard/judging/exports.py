"""What the judgement downloads hold besides the verdicts, and what they are called.

A verdict names a section by its id and a cluster by its number; a person reading the CSV wants the
song, the span and the cluster's name. :func:`judgements_table` adds ``title``, ``start_s`` and
``end_s`` after ``section_id`` (from the store; empty for a section the store no longer holds) and
``cluster_name`` after ``cluster``: the cluster's label in the judged run version, as every export
labels it (the experts' name in that version, else one carried over from an older version, else
``cluster N`` / ``noise``; :mod:`sectionist.dashboard.judging.export_names`). :func:`download_name`
gives each download its own file name: ``judgements-<store>-<time>.csv``,
``judgement-history-<store>-<time>.csv``, ``cluster-verdicts-…``, ``cluster-verdict-history-…``.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from sectionist.analysis.export.names import cluster_labels, file_stem

#: File name stems by (what, history).
NAMES = {("judgements", False): "judgements", ("judgements", True): "judgement-history",
         ("cluster-verdicts", False): "cluster-verdicts", ("cluster-verdicts", True): "cluster-verdict-history"}


def download_name(what: str, history: bool, store_uri: str, when: datetime, fmt: str) -> str:
    """``{stem}-{store}-{UTC time}.{fmt}``: ``judgements-demo-20240501T093000Z.csv``; the store is the
    last part of its folder or URI, reduced to letters, digits and ``._-``."""
    store = str(store_uri).rstrip("/").rsplit("/", 1)[-1] or "store"
    return f"{NAMES[(what, bool(history))]}-{file_stem(store, limit=40)}-{when.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"


def _insert_after(df: pd.DataFrame, after: str, columns: dict) -> pd.DataFrame:
    out = df.copy()
    at = list(out.columns).index(after) + 1
    for i, (name, values) in enumerate(columns.items()):
        out.insert(at + i, name, values)
    return out


def with_sections(df: pd.DataFrame, data) -> pd.DataFrame:
    """``df`` (one row per verdict on a section) with ``title``, ``start_s``, ``end_s`` after
    ``section_id``, read from ``data`` (a StoreData); missing for sections the store does not hold."""
    secs = data.sections.set_index("section_id") if "section_id" in data.sections.columns else data.sections
    rows = secs.reindex(df["section_id"].astype(str))
    titles = data.songs["title"].reindex(rows["song_id"]).to_numpy(dtype=object)
    return _insert_after(df, "section_id", {
        "title": [t if isinstance(t, str) else None for t in titles],
        "start_s": rows["start_s"].to_numpy(dtype=np.float64),
        "end_s": rows["end_s"].to_numpy(dtype=np.float64)})


def with_cluster_names(df: pd.DataFrame, names: dict, column: str = "cluster") -> pd.DataFrame:
    """``df`` with ``{column}_name`` after ``column``: each row's cluster labelled in its own run
    (``names``: run id → ``{cluster: name}``; :func:`~sectionist.analysis.export.names.cluster_labels`);
    empty where the row has no cluster."""
    labels = {rid: cluster_labels(grp[column].dropna().astype(int), names.get(rid))
              for rid, grp in df.groupby("run_id", sort=False)}
    values = [labels[r].get(int(c), "") if pd.notna(c) else "" for r, c in zip(df["run_id"], df[column])]
    return _insert_after(df, column, {f"{column}_name": pd.Series(values, index=df.index, dtype=object)})


def judgement_download(df: pd.DataFrame, data, db, *, sections: bool = True) -> pd.DataFrame:
    """A judgements (``sections=True``) or cluster verdicts frame as downloaded: with the sections'
    songs and spans (:func:`with_sections`) and the clusters' names (:func:`with_cluster_names`).
    ``data``: the app's StoreData (None: the verdicts as stored)."""
    if data is None:
        return df
    from sectionist.dashboard.judging.export_names import export_names

    run_ids = [str(r) for r in df["run_id"].dropna().unique()]
    names, _named_in = export_names(db, run_ids, data.run_versions[["lineage", "version"]], data.labels_by_section)
    out = with_sections(df, data) if sections else df
    return with_cluster_names(out, names)
