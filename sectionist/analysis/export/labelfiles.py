"""Label files, one per song and run: Audacity label tracks, MIREX ``.lab`` and JAMS."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sectionist.analysis.errors import InputError
from sectionist.analysis.export.data import SCHEME_PREFIX, ExportData
from sectionist.analysis.export.names import file_stem, one_line
from sectionist.analysis.structure.base import part_letter


def audacity_labels(segments: pd.DataFrame) -> str:
    """An Audacity label track: one ``start<TAB>end<TAB>label`` line per segment (seconds).

    Parameters
    ----------
    segments : pd.DataFrame
        ``start_s, end_s, label`` (e.g. :meth:`ExportData.segments`).

    Returns
    -------
    str
        What Audacity's *Import → Labels* reads (labels on one line each).
    """
    return "".join(f"{s:.6f}\t{e:.6f}\t{one_line(lab)}\n"
                   for s, e, lab in zip(segments["start_s"], segments["end_s"], segments["label"]))


def mirex_lab(segments: pd.DataFrame) -> str:
    """A MIREX structure ``.lab`` file: ``start<TAB>end<TAB>label`` lines, labels without whitespace.

    ``mir_eval.io.load_labeled_intervals`` splits on whitespace, so spaces in labels become ``_``.
    """
    words = [re.sub(r"\s+", "_", one_line(lab)) or "_" for lab in segments["label"]]
    return "".join(f"{s:.6f}\t{e:.6f}\t{w}\n" for s, e, w in zip(segments["start_s"], segments["end_s"], words))


def jams_text(segments: pd.DataFrame, *, duration: float, title: str = "", annotator: str = "",
              description: str = "", namespace: str = "segment_open", sandbox: dict | None = None) -> str:
    """A JAMS document of one song's segments, validated against the JAMS schema.

    Parameters
    ----------
    segments : pd.DataFrame
        ``start_s, end_s, label``.
    duration : float
        The song's duration in seconds (``file_metadata.duration``).
    title, annotator, description : str
        ``file_metadata.title``, ``annotation_metadata.annotator.name`` (the run id) and
        ``annotation_metadata.data_source``.
    namespace : str
        A JAMS segment namespace (``segment_open``: free labels).
    sandbox : dict, optional
        JSON-able data kept in the annotation's ``sandbox`` under ``"sectionist"`` (the run, its
        version and each label's cluster: :func:`jams_sandbox`).

    Returns
    -------
    str
        JSON text (``jams.load`` reads it).

    Raises
    ------
    InputError
        The document does not validate (e.g. a segment outside the song).
    """
    import jams

    jam = jams.JAMS()
    ends = segments["end_s"].to_numpy(float)
    jam.file_metadata.duration = float(max(duration or 0.0, ends.max() if len(ends) else 0.0))
    jam.file_metadata.title = one_line(title)
    ann = jams.Annotation(namespace=namespace, duration=jam.file_metadata.duration)
    ann.annotation_metadata.annotator.name = one_line(annotator)
    ann.annotation_metadata.data_source = one_line(description)
    ann.annotation_metadata.annotation_tools = "sectionist"
    if sandbox:
        ann.sandbox.update(sectionist=sandbox)
    for s, e, lab in zip(segments["start_s"], segments["end_s"], segments["label"]):
        ann.append(time=float(s), duration=float(e - s), value=one_line(lab), confidence=None)
    jam.annotations.append(ann)
    try:
        jam.validate(strict=True)
    except jams.SchemaError as exc:
        raise InputError(f"JAMS of {title!r} ({annotator}) does not validate: {exc}") from None
    return jam.dumps(indent=1)


def jams_sandbox(data: ExportData, source: str) -> dict | None:
    """What a run's JAMS annotation keeps besides its labels: the run id, its lineage and version,
    and one entry per cluster: ``{"label", "cluster", "name", "named_in"}`` (``name``: the experts'
    name or None; ``named_in``: the run version it was given in). None for a scheme's sections."""
    if source.startswith(SCHEME_PREFIX):
        return None
    lineage, version = data.run_version(source)
    named_in = data.named_in.get(source, {})
    clusters = []
    for c, label in data.cluster_labels(source).items():
        name = data.cluster_name_of(source, c)
        clusters.append({"label": label, "cluster": int(c), "name": name,
                         "named_in": (named_in.get(c, source) if name else None)})
    return {"run_id": source, "lineage": lineage, "version": version, "clusters": clusters}


def song_files(data: ExportData, ext: str, write) -> dict:
    """One file per song and label source (``{title}-{song_id[:8]}.{source}.{ext}``: bytes of
    ``write(segments, song, source)``); every run, or every source when there are no runs."""
    files = {}
    for sid in data.songs.index:
        song = data.songs.loc[sid]
        for src in data.run_ids or data.sources():
            seg = data.segments(sid, src)
            if seg.empty:
                continue
            src_stem = file_stem(src[len(SCHEME_PREFIX):] if src.startswith(SCHEME_PREFIX) else src)
            name = f"{file_stem(song['title'])}-{sid[:8]}.{src_stem}.{ext}"
            files[name] = write(seg, song, src).encode("utf-8")
    return files


def structure_jams(segments: pd.DataFrame, *, duration: float, title: str = "", scheme: str = "") -> str:
    """A JAMS document of one song's structure by one scheme: its levels (``section``, then ``phrase``)
    as one ``multi_segment`` annotation (value ``{"label", "level"}``, level 0 the coarsest) and one
    ``segment_open`` annotation per level (labels ``part A``…, local to the song), validated.

    Parameters
    ----------
    segments : pd.DataFrame
        The song's rows of the ``segments`` table for the scheme (``start_s, end_s, label`` and,
        in newer stores, ``level`` and ``confidence``).
    """
    import jams

    seg = segments if "level" in segments.columns else segments.assign(level="section")
    seg = seg.assign(level=seg["level"].fillna("section"))
    order = ["section", "phrase"]
    levels = sorted(seg["level"].unique(), key=lambda v: (order.index(v) if v in order else 99, str(v)))
    jam = jams.JAMS()
    jam.file_metadata.duration = float(max(duration or 0.0, seg["end_s"].max() if len(seg) else 0.0))
    jam.file_metadata.title = one_line(title)
    multi = jams.Annotation(namespace="multi_segment", duration=jam.file_metadata.duration)
    multi.annotation_metadata.annotator.name = one_line(scheme)
    multi.annotation_metadata.annotation_tools = "sectionist"
    for depth, level in enumerate(levels):
        rows = seg[seg["level"] == level].sort_values("start_s")
        flat = jams.Annotation(namespace="segment_open", duration=jam.file_metadata.duration)
        flat.annotation_metadata.annotator.name = one_line(f"{scheme} {level}")
        flat.annotation_metadata.annotation_tools = "sectionist"
        flat.sandbox.update(sectionist={"scheme": scheme, "level": level})
        for s, e, lab, conf in zip(rows["start_s"], rows["end_s"], rows["label"],
                                   rows["confidence"] if "confidence" in rows else [None] * len(rows)):
            name = f"part {part_letter(int(lab))}"
            c = None if conf is None or not np.isfinite(conf) else float(conf)
            flat.append(time=float(s), duration=float(e - s), value=name, confidence=c)
            multi.append(time=float(s), duration=float(e - s), value={"label": name, "level": depth}, confidence=c)
        jam.annotations.append(flat)
    jam.annotations.insert(0, multi)
    try:
        jam.validate(strict=True)
    except jams.SchemaError as exc:
        raise InputError(f"structure JAMS of {title!r} ({scheme}) does not validate: {exc}") from None
    return jam.dumps(indent=1)


def structure_files(data: ExportData) -> dict:
    """One structure JAMS (:func:`structure_jams`) per song and scheme of ``data.structures``:
    ``{title}-{song_id[:8]}.structure-{scheme}.jams``; none when the store has no structure."""
    files = {}
    if data.structures is None or data.structures.empty:
        return files
    for (sid, scheme), rows in data.structures.groupby(["song_id", "scheme"], sort=True):
        if sid not in data.songs.index:
            continue
        song = data.songs.loc[sid]
        name = f"{file_stem(str(song['title']))}-{str(sid)[:8]}.structure-{file_stem(str(scheme))}.jams"
        files[name] = structure_jams(rows, duration=float(song.get("duration_s") or 0.0), title=str(song["title"]),
                                     scheme=str(scheme)).encode("utf-8")
    return files
