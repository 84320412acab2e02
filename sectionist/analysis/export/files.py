"""The files of an export: :func:`export_files` (one kind, by name and bytes), :func:`zip_bytes` and
:func:`write_files` (atomic)."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store.csvsafe import to_csv_bytes
from sectionist.store.fileio import atomic_write

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.export.data import ExportData
from sectionist.analysis.export.labelfiles import (
    audacity_labels,
    jams_sandbox,
    jams_text,
    mirex_lab,
    song_files,
    structure_files,
)
from sectionist.analysis.export.locations import LOCATIONS
from sectionist.analysis.export.names import check_known, cluster_color, cluster_name, file_stem
from sectionist.analysis.export.playlist import xspf_files
from sectionist.analysis.export.reaper import reaper_files
from sectionist.analysis.export.tables import labels_table, projector_tsvs

#: Every export kind: name → (what it writes, file extension).
KINDS: dict[str, tuple[str, str]] = {
    "reaper": ("REAPER project: a track per scheme and run, items at the sections, coloured by cluster", "rpp"),
    "audacity": ("Audacity label tracks, one file per song and run", "txt"),
    "xspf": ("VLC playlist (XSPF) with start/stop times per section", "xspf"),
    "jams": ("JAMS annotations (segment_open), one file per song and run", "jams"),
    "lab": ("MIREX .lab segment labels, one file per song and run", "lab"),
    "structure": ("JAMS of each song's structure: its levels as one multi_segment hierarchy and a "
                  "segment_open annotation per level, one file per song and scheme", "jams"),
    "projector": ("TensorBoard Projector vectors.tsv + metadata.tsv of one space", "tsv"),
    "csv": ("sections with their labels across runs, as CSV (spreadsheet-safe)", "csv"),
    "parquet": ("sections with their labels across runs, as parquet", "parquet"),
}


def export_files(kind: str, data: ExportData, *, location: str = "absolute", out_dir=None, base_url=None,
                 vectors=None, title: str = "sectionist", colors=cluster_color, names=None,
                 token: str | None = None) -> dict:
    """The files of one export, by name (bytes), from :class:`ExportData`.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    data : ExportData
    location : {"absolute", "relative", "corpus", "name", "url"}
        How ``reaper`` and ``xspf`` name the originals (see :mod:`sectionist.analysis.export`); ``url`` is ``xspf`` only.
    out_dir : path, optional
        The folder the files go to (for ``relative``).
    base_url : str, optional
        The app's address (for ``url``).
    vectors : (np.ndarray, np.ndarray), optional
        ``projector``: section ids and their vectors (:func:`~sectionist.analysis.export.data.space_vectors`).
    title : str
        Playlist title.
    colors : callable
        Cluster → ``#rrggbb`` (the app passes its own palette).
    names : dict, optional
        Run id → ``{cluster: name}``: the experts' names, in place of ``data.names``. Every kind
        labels a named cluster by its name (escaped for the format), else ``cluster N``.
    token : str, optional
        ``xspf`` with ``url``: a playlist link's signed token, added to every section URL.

    Raises
    ------
    ParameterError
        An unknown kind or location (listing the valid ones).
    """
    check_known("export kind", [kind], KINDS)
    check_known("location", [location], LOCATIONS)
    if location == "url" and kind != "xspf":
        raise ParameterError(f"location 'url' is for xspf playlists only, not {kind}")
    if names is not None:
        data = replace(data, names={r: dict(n) for r, n in names.items() if r in data.labels})
    if kind == "reaper":
        return reaper_files(data, location, out_dir, colors)
    if kind == "xspf":
        return xspf_files(data, location, out_dir, base_url, title, token)
    if kind == "audacity":
        return song_files(data, "txt", lambda seg, song, src: audacity_labels(seg))
    if kind == "lab":
        return song_files(data, "lab", lambda seg, song, src: mirex_lab(seg))
    if kind == "jams":
        return song_files(data, "jams", lambda seg, song, src: jams_text(
            seg, duration=float(song.get("duration_s") or 0.0), title=song["title"], annotator=src,
            description=data.source_name(src), sandbox=jams_sandbox(data, src)))
    if kind == "structure":
        return structure_files(data)
    if kind == "projector":
        if vectors is None:
            raise ParameterError("projector export needs a space (--space)")
        ids, X = vectors
        pos = pd.Index(ids).get_indexer(data.sections["section_id"])
        keep = pos >= 0
        secs = data.sections[keep]
        meta = pd.DataFrame({"section_id": secs["section_id"].to_numpy(), "song": secs["title"].to_numpy(),
                             "song_id": secs["song_id"].to_numpy(),
                             "time": [f"{s:.2f}-{e:.2f}" for s, e in zip(secs["start_s"], secs["end_s"])]})
        for rid in data.run_ids:
            labels = data.cluster_labels(rid)
            meta[rid] = [labels.get(int(c), cluster_name(c)) if pd.notna(c) else "" for c in data.labels[rid][keep]]
        vec, md = projector_tsvs(np.asarray(X)[pos[keep]], meta)
        return {"vectors.tsv": vec.encode("utf-8"), "metadata.tsv": md.encode("utf-8")}
    table = labels_table(data)
    if kind == "csv":
        return {"sections.csv": to_csv_bytes(table)}
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return {"sections.parquet": buf.getvalue()}


def zip_bytes(files: dict) -> bytes:
    """Several export files as one zip archive (names as given; each a plain file name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in files.items():
            zf.writestr(file_stem(name, limit=200) if "/" in name or name.startswith(".") else name, payload)
    return buf.getvalue()


def write_files(files: dict, out) -> list[Path]:
    """Write export files atomically; returns the paths written.

    ``out`` ending in ``.zip``: one archive. One file and ``out`` not a folder: that file is ``out``.
    Otherwise ``out`` is a folder (created) and each file goes in it under its name.
    """
    out = Path(out)
    if out.suffix.lower() == ".zip":
        payload = zip_bytes(files)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda fh: fh.write(payload))
        return [out]
    if len(files) == 1 and not out.is_dir() and not str(out).endswith(os.sep):
        (payload,) = files.values()
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda fh: fh.write(payload))
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in files.items():
        path = out / file_stem(name, limit=200) if "/" in name or name.startswith(".") else out / name
        atomic_write(path, lambda fh, p=payload: fh.write(p))
        written.append(path)
    return written
