"""Tables: TensorBoard Projector TSVs and the labels table (the sections with their labels across runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.store.csvsafe import neutralise

from sectionist.analysis.errors import InputError
from sectionist.analysis.export.data import ExportData
from sectionist.analysis.export.names import one_line


def projector_tsvs(vectors: np.ndarray, metadata: pd.DataFrame) -> tuple[str, str]:
    """TensorBoard Projector files: ``vectors.tsv`` (no header) and ``metadata.tsv`` (a header row).

    Row ``i`` of both describes the same point. Text cells are put on one line and neutralised
    against spreadsheet formulas (:func:`sectionist.store.csvsafe.neutralise`).

    Raises
    ------
    InputError
        ``vectors`` is not 2-D, has non-finite values, or its rows do not match ``metadata``'s.
    """
    X = np.asarray(vectors, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(metadata) or not len(X):
        raise InputError(f"projector: vectors of shape {X.shape} for {len(metadata)} metadata rows")
    if not np.isfinite(X).all():
        raise InputError("projector: vectors hold non-finite values")
    vec = "".join("\t".join(f"{v:.7g}" for v in row) + "\n" for row in X)
    cols = [neutralise(one_line(c)) for c in metadata.columns]
    lines = ["\t".join(cols)]
    for row in metadata.itertuples(index=False):
        lines.append("\t".join("" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                               else str(neutralise(one_line(v))) for v in row))
    return vec, "\n".join(lines) + "\n"


#: The column beside a run's cluster column that holds the cluster's name: ``{run_id}{NAME_SUFFIX}``.
NAME_SUFFIX = ":cluster_name"


def labels_table(data: ExportData) -> pd.DataFrame:
    """The sections with their labels across runs (the study's comparison table), two columns per run.

    Columns: ``section_id, song_id, title, scheme, index, start_s, end_s``, then for each run id
    its cluster (−1 noise, missing: not labelled) and, next to it, ``{run_id}:cluster_name``: the
    cluster's label (the experts' name where it has one, else ``cluster N`` / ``noise``; empty where
    the run did not label the section).
    """
    base = data.sections[["section_id", "song_id", "title", "scheme", "index", "start_s", "end_s"]].reset_index(drop=True)
    cols = {}
    for rid in data.run_ids:
        lab = data.labels[rid].reset_index(drop=True)
        names = data.cluster_labels(rid)
        cols[rid] = lab
        cols[rid + NAME_SUFFIX] = pd.Series([names.get(int(c), "") if pd.notna(c) else "" for c in lab],
                                            dtype=object)
    return pd.concat([base, pd.DataFrame(cols, index=base.index)], axis=1)
