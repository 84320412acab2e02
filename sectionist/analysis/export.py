"""Exports into the tools people already use: REAPER, Audacity, VLC, JAMS/MIREX, TensorBoard, notebooks.

One pure writer per format (segments or tables in, text or bytes out), a gatherer that reads what
they need from a store (:func:`gather`, or :func:`build` from frames the caller already holds, as the
dashboard does), :func:`export_files` that turns a :class:`ExportData` into named files, and
:func:`write_files` that writes them atomically. ``sectionist export KIND`` drives it
(:func:`register_cli`); ``docs/export.md`` describes every format.

Kinds (:data:`KINDS`):

- ``reaper``: one ``.rpp`` project; one track per sectioning scheme and per run, an item per section
  at the section's time (songs one after another, a marker at each song's start) that plays the
  original file from the right offset (``SOFFS``), named and coloured by cluster.
- ``audacity``: Audacity label tracks (``start<TAB>end<TAB>label``), one file per song and run.
- ``xspf``: one VLC playlist, a track per section with ``start-time``/``stop-time`` options.
- ``jams``: JAMS files (``segment_open`` namespace, validated), one per song and run.
- ``lab``: MIREX ``.lab`` files (``start end label``), one per song and run.
- ``projector``: TensorBoard Projector ``vectors.tsv`` and ``metadata.tsv`` of one space.
- ``csv`` / ``parquet``: the sections with their labels across runs (one column per run).

A "run" is a run id (runs are immutable: a run id names one exact version); a "scheme" track holds
a sectioning scheme's sections labelled by their number. Where file locations go into an export
(``reaper``, ``xspf``), ``location`` says how they are written: ``absolute`` (file URI / path of the
original), ``relative`` (to the folder of the exported file), ``name`` (the file's name alone, for
exports that must not reveal the server's paths) or ``url`` (the app's section URL
``{base_url}/audio/{section_id}.wav``; ``xspf`` only). Every text cell a spreadsheet may open is
neutralised against formula injection (:mod:`sectionist.store.csvsafe`); XML is built with
:mod:`xml.etree.ElementTree` (escaped); REAPER strings are quoted by REAPER's rules.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

import numpy as np
import pandas as pd

from sectionist.store.csvsafe import neutralise, to_csv_bytes
from sectionist.store.fileio import atomic_write
from sectionist.store.schema import CLUSTERINGS, CLUSTERS, RUNS, SECTIONS, SEGMENTS, SONGS

from sectionist.analysis.errors import InputError, ParameterError, StoreError

#: Every export kind: name → (what it writes, file extension).
KINDS: dict[str, tuple[str, str]] = {
    "reaper": ("REAPER project: a track per scheme and run, items at the sections, coloured by cluster", "rpp"),
    "audacity": ("Audacity label tracks, one file per song and run", "txt"),
    "xspf": ("VLC playlist (XSPF) with start/stop times per section", "xspf"),
    "jams": ("JAMS annotations (segment_open), one file per song and run", "jams"),
    "lab": ("MIREX .lab segment labels, one file per song and run", "lab"),
    "projector": ("TensorBoard Projector vectors.tsv + metadata.tsv of one space", "tsv"),
    "csv": ("sections with their labels across runs, as CSV (spreadsheet-safe)", "csv"),
    "parquet": ("sections with their labels across runs, as parquet", "parquet"),
}
#: How file locations are written into ``reaper`` and ``xspf`` exports.
LOCATIONS = ("absolute", "relative", "name", "url")
#: Playlist queues of a cluster (the ``clusters`` table's section lists).
QUEUES = ("prototypes", "borderline")
#: Seconds of silence between two songs on the REAPER timeline.
SONG_GAP_S = 2.0
#: Item colours of clusters 0, 1, … (cycled), as ``#rrggbb``; noise gets :data:`NOISE_COLOR`.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c")
NOISE_COLOR = "#c8ccd2"
#: The VLC extension of XSPF (namespace of ``vlc:option``, and the ``application`` of ``<extension>``).
XSPF_NS = "http://xspf.org/ns/0/"
VLC_NS = "http://www.videolan.org/vlc/playlist/ns/0/"
VLC_APP = "http://www.videolan.org/vlc/playlist/0"
#: REAPER source types by file extension (anything else is opened as ``WAVE``, REAPER's PCM reader).
REAPER_SOURCES = {".mp3": "MP3", ".flac": "FLAC", ".ogg": "VORBIS", ".oga": "VORBIS", ".opus": "OPUS",
                  ".wv": "WAVPACK", ".mp4": "VIDEO", ".m4a": "VIDEO"}

_SCHEME_PREFIX = "scheme:"


# ---- labels and names ------------------------------------------------------------------------------
def cluster_name(label) -> str:
    """``"cluster 3"``, ``"noise"`` (−1), or ``""`` for a section the run did not label."""
    if label is None or pd.isna(label) or int(label) < -1:
        return ""
    return "noise" if int(label) == -1 else f"cluster {int(label)}"


def cluster_color(label) -> str:
    """The ``#rrggbb`` colour of a cluster (:data:`PALETTE`, :data:`NOISE_COLOR` for noise)."""
    if label is None or pd.isna(label) or int(label) < 0:
        return NOISE_COLOR
    return PALETTE[int(label) % len(PALETTE)]


def one_line(text) -> str:
    """``text`` as one line: tabs, carriage returns and newlines become spaces (for tab/line formats)."""
    return re.sub(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+", " ", "" if text is None else str(text)).strip()


def file_stem(text: str, limit: int = 60) -> str:
    """A file-name-safe stem of ``text`` (letters, digits, ``.-_``; never a path, never hidden)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._-")[:limit]
    return stem or "untitled"


# ---- what an export is made of --------------------------------------------------------------------
@dataclass
class ExportData:
    """Sections, their songs and their labels by run: what every writer draws from.

    Attributes
    ----------
    sections : pd.DataFrame
        One row per section, by song then start: ``section_id, song_id, scheme, index, start_s,
        end_s, title`` (the song's title).
    songs : pd.DataFrame
        Indexed by ``song_id``: ``title, uri, duration_s``, in the order songs appear in ``sections``.
    labels : pd.DataFrame
        Indexed like ``sections`` (by position), one nullable-int column per run id: the section's
        cluster (−1 noise, missing: not labelled by that run).
    runs : pd.DataFrame
        Indexed by ``run_id``: ``space, method, k`` of each run in ``labels`` (descriptions).
    structure : pd.DataFrame
        The ``merged`` rows of the ``segments`` table for these songs (empty if none): REAPER gets a
        pre-merge and a post-merge track from them.
    """

    sections: pd.DataFrame
    songs: pd.DataFrame
    labels: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    structure: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def run_ids(self) -> list[str]:
        return list(self.labels.columns)

    @property
    def schemes(self) -> list[str]:
        return sorted(self.sections["scheme"].dropna().astype(str).unique())

    def sources(self) -> list[str]:
        """Label sources, in track order: ``scheme:NAME`` for each scheme, then each run id."""
        return [_SCHEME_PREFIX + s for s in self.schemes] + self.run_ids

    def source_name(self, source: str) -> str:
        """A readable name of a source (a track name)."""
        if source.startswith(_SCHEME_PREFIX):
            return f"sections ({source[len(_SCHEME_PREFIX):]})"
        if source in self.runs.index:
            r = self.runs.loc[source]
            return f"{source} · {r.get('method', '?')} on {r.get('space', '?')}"
        return source

    def segments(self, song_id: str, source: str) -> pd.DataFrame:
        """One song's segments by ``source``: ``section_id, start_s, end_s, label, cluster`` by start.

        A run's segments are the sections it labelled (``cluster``: −1 noise); a scheme's segments are
        its sections, labelled ``section N`` (``cluster`` missing).
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "rows" not in cache:  # numpy columns, and song → row positions, computed once
            codes, uniq = pd.factorize(self.sections["song_id"])
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
            cache["rows"] = {u: order[bounds[i]:bounds[i + 1]] for i, u in enumerate(uniq)}
            cache["cols"] = {c: self.sections[c].to_numpy() for c in ("section_id", "start_s", "end_s", "index")}
            cache["scheme"] = self.sections["scheme"].astype(str).to_numpy()
            cache["labels"] = {r: self.labels[r].to_numpy(dtype=np.float64, na_value=np.nan) for r in self.run_ids}
        rows = cache["rows"].get(song_id, np.zeros(0, np.int64))
        if source.startswith(_SCHEME_PREFIX):
            rows = rows[cache["scheme"][rows] == source[len(_SCHEME_PREFIX):]]
            cluster = np.full(len(rows), np.nan)
            label = [f"section {int(i) + 1}" for i in cache["cols"]["index"][rows]]
        else:
            lab = cache["labels"][source][rows]
            keep = np.isfinite(lab) & (np.nan_to_num(lab, nan=-2) >= -1)
            rows, cluster = rows[keep], lab[keep]
            label = [cluster_name(c) for c in cluster]
        rows_order = np.argsort(cache["cols"]["start_s"][rows], kind="stable")
        rows = rows[rows_order]
        return pd.DataFrame({"section_id": cache["cols"]["section_id"][rows],
                             "start_s": cache["cols"]["start_s"][rows].astype(float),
                             "end_s": cache["cols"]["end_s"][rows].astype(float),
                             "label": [label[k] for k in rows_order],
                             "cluster": pd.array(np.asarray(cluster)[rows_order], dtype="Int64")})


def _valid(kind: str, given, valid) -> list:
    """``given`` (a list) when each is in ``valid``, else :class:`ParameterError` listing the valid ones."""
    valid = list(valid)
    bad = [g for g in given if g not in valid]
    if bad:
        shown = ", ".join(map(str, valid[:50])) + (f", … ({len(valid)} in all)" if len(valid) > 50 else "")
        raise ParameterError(f"unknown {kind} {', '.join(map(repr, bad))} (valid: {shown or 'none'})")
    return list(given)


def build(sections: pd.DataFrame, songs: pd.DataFrame, labels: dict, runs: pd.DataFrame | None = None, *,
          scheme=None, song_ids=None, section_ids=None) -> ExportData:
    """An :class:`ExportData` from frames already read (pure; :func:`gather` reads them from a store).

    Parameters
    ----------
    sections : pd.DataFrame
        The ``sections`` table (any order).
    songs : pd.DataFrame
        The ``songs`` table, with a ``song_id`` column or indexed by it.
    labels : dict
        Run id → ``pd.Series`` of cluster labels indexed by section id (the ``clusterings`` part).
    runs : pd.DataFrame, optional
        The ``runs`` rows (indexed by run id or with a ``run_id`` column).
    scheme : str or list of str, optional
        Keep only these sectioning schemes.
    song_ids : list of str, optional
        Keep only these songs (ids or exact titles).
    section_ids : list of str, optional
        Keep only these sections (a selection or a queue), in this order.

    Raises
    ------
    ParameterError
        An unknown scheme, song or section, listing the valid ones.
    """
    songs = songs.set_index("song_id") if "song_id" in songs.columns else songs
    secs = sections.copy()
    if scheme is not None:
        wanted = [scheme] if isinstance(scheme, str) else list(scheme)
        _valid("scheme", wanted, sorted(secs["scheme"].dropna().astype(str).unique()))
        secs = secs[secs["scheme"].astype(str).isin(wanted)]
    if song_ids:
        by_title = {str(t): s for s, t in zip(songs.index, songs["title"])}
        resolved = [s if s in songs.index else by_title.get(str(s), s) for s in song_ids]
        _valid("song", resolved, list(songs.index))
        secs = secs[secs["song_id"].isin(resolved)]
    if section_ids is not None:
        section_ids = [str(s) for s in section_ids]
        _valid("section", section_ids, secs["section_id"].astype(str))
        secs = secs[secs["section_id"].isin(set(section_ids))]
    if secs.empty:
        raise InputError("nothing to export: no section matches the scheme/songs/selection given")
    titles = songs["title"].reindex(secs["song_id"]).to_numpy(dtype=object)
    secs = secs.assign(title=[t if isinstance(t, str) and t else s for t, s in zip(titles, secs["song_id"])])
    if section_ids is not None:  # a queue or a selection: in its own order
        rank = {sid: i for i, sid in reversed(list(enumerate(section_ids)))}
        secs = secs.iloc[np.argsort([rank[s] for s in secs["section_id"]], kind="stable")].reset_index(drop=True)
    else:
        secs = secs.sort_values(["title", "song_id", "start_s"], kind="stable").reset_index(drop=True)
    order = list(dict.fromkeys(secs["song_id"]))
    song_rows = songs.reindex(order)
    song_rows["title"] = secs.drop_duplicates("song_id").set_index("song_id")["title"].reindex(order)
    lab = pd.DataFrame({rid: pd.array(pd.Series(s).reindex(secs["section_id"]).to_numpy(), dtype="Int64")
                        for rid, s in labels.items()}, index=secs.index)
    runs = pd.DataFrame() if runs is None else (runs.set_index("run_id") if "run_id" in runs.columns else runs)
    return ExportData(secs, song_rows, lab, runs)


def read_selection(path) -> list[str]:
    """Section ids from a selection file: one per line, or a CSV/TSV with a ``section_id`` column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the selection file ({exc.strerror or exc})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and "section_id" in re.split(r"[,\t;]", lines[0]):
        sep = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else ";")
        df = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, dtype=str)
        ids = df["section_id"].dropna().str.strip().tolist()
    else:
        ids = lines
    if not ids:
        raise InputError(f"{path}: the selection file names no section")
    return ids


def queue_sections(store, run_id: str, cluster: int, queue: str) -> list[str]:
    """The section ids of a cluster's ``prototypes`` or ``borderline`` queue (the ``clusters`` table)."""
    _valid("queue", [queue], QUEUES)
    if not store.has_part(CLUSTERS, run_id):
        raise StoreError(f"{store.uri}: run {run_id!r} has no clusters part (no queues)")
    info = store.read_part(CLUSTERS, run_id)
    row = info[info["cluster"] == int(cluster)]
    _valid(f"cluster of run {run_id}", [int(cluster)], sorted(int(c) for c in info["cluster"]))
    ids = row.iloc[0][queue]
    return [str(s) for s in (ids if ids is not None else [])]


def gather(store, *, runs=None, scheme=None, songs=None, selection=None, cluster=None, queue=None) -> ExportData:
    """Read what an export needs from ``store`` and select it (:func:`build`).

    Parameters
    ----------
    store : Store
    runs : list of str, optional
        Run ids (default: every run of the store).
    scheme, songs : optional
        See :func:`build`.
    selection : list of str, optional
        Section ids to keep.
    cluster : int, optional
        Keep the sections of this cluster of the (single) run.
    queue : {"prototypes", "borderline"}, optional
        With ``cluster``: keep only that queue of the cluster, in its order.

    Raises
    ------
    ParameterError
        An unknown run, scheme, song, section, cluster or queue, listing the valid ones.
    StoreError
        The store has no sections or songs.
    """
    sections = store.read_table(SECTIONS)
    song_table = store.read_table(SONGS)
    if sections.empty or song_table.empty:
        raise StoreError(f"{store.uri}: no sections or songs (run 'sectionist analyze' first)")
    run_table = store.read_table(RUNS)
    known = sorted(run_table["run_id"]) if not run_table.empty else []
    run_ids = _valid("run", list(runs), known) if runs else known
    if cluster is not None or queue is not None:
        if len(run_ids) != 1:
            raise ParameterError(f"--cluster/--queue need exactly one --run (given: {', '.join(run_ids) or 'none'})")
        if cluster is None:
            raise ParameterError(f"--queue {queue} needs --cluster")
    labels = {}
    for rid in run_ids:
        part = store.read_part(CLUSTERINGS, rid) if store.has_part(CLUSTERINGS, rid) else \
            pd.DataFrame(columns=["section_id", "label"])
        labels[rid] = pd.Series(part["label"].to_numpy(), index=part["section_id"].to_numpy())
    if cluster is not None:
        lab = labels[run_ids[0]]
        _valid(f"cluster of run {run_ids[0]}", [int(cluster)], sorted(int(c) for c in lab.unique()))
        members = (queue_sections(store, run_ids[0], int(cluster), queue) if queue
                   else list(lab.index[lab.to_numpy() == int(cluster)]))
        selection = members if selection is None else [s for s in members if s in set(selection)]
    runs_info = run_table.set_index("run_id").loc[run_ids] if run_ids else None
    data = build(sections, song_table, labels, runs_info, scheme=scheme, song_ids=songs, section_ids=selection)
    parts = [SEGMENTS.part(scheme="merged", song_id=sid) for sid in data.songs.index]
    parts = [p for p in parts if store.has_part(SEGMENTS, p)]
    if parts:
        data.structure = store.read_table(SEGMENTS, parts=parts)
    return data


def merge_tracks(structure: pd.DataFrame, song_id: str) -> list[tuple[str, pd.DataFrame]]:
    """The ``merged`` scheme's two tracks of one song: its pre-merge slices and its merged segments.

    Each is ``(name, frame of start_s, end_s, label, cluster)``; ``cluster`` is the per-song cluster
    (segments of the same part share it). Empty when the song has no ``merged`` segmentation.
    """
    import json

    rows = structure[(structure["song_id"] == song_id) & (structure["scheme"] == "merged")] if len(structure) else structure
    if rows is None or len(rows) == 0:
        return []
    rows = rows.sort_values("start_s")
    params = json.loads(rows["params"].iloc[0])
    start, end = float(rows["start_s"].min()), float(rows["end_s"].max())
    edges = [start] + [float(b) for b in params.get("pre_bounds", [])] + [end]
    pre_lab = list(params.get("pre_labels", [])) or [0] * (len(edges) - 1)
    pre = pd.DataFrame({"start_s": edges[:-1], "end_s": edges[1:],
                        "label": [f"slice {i + 1} · part {int(c) + 1}" for i, c in enumerate(pre_lab)], "cluster": pre_lab})
    post = pd.DataFrame({"start_s": rows["start_s"].to_numpy(float), "end_s": rows["end_s"].to_numpy(float),
                         "label": [f"part {int(c) + 1}" for c in rows["label"]], "cluster": rows["label"].to_numpy(int)})
    return [("merged: pre-merge slices", pre), ("merged: post-merge segments", post)]


# ---- locations -------------------------------------------------------------------------------------
def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def song_location(uri: str, mode: str, *, out_dir=None, as_uri: bool = False) -> str:
    """Where an exported file points to the original ``uri``.

    Parameters
    ----------
    uri : str
        The ``songs.uri``: a local path or an ``s3://`` URI.
    mode : {"absolute", "relative", "name"}
        ``name``: only the file's name (never a server path); ``relative``: relative to ``out_dir``.
    as_uri : bool
        Write a URI (``file:///…``; a relative one percent-encoded), as XSPF wants.
    """
    _valid("location", [mode], ("absolute", "relative", "name"))
    uri = str(uri)
    if uri.startswith("file://"):
        uri = urlsplit(uri).path
    if mode == "name":
        name = PurePosixPath(urlsplit(uri).path if _is_remote(uri) else uri.replace("\\", "/")).name
        return quote(name) if as_uri else name
    if _is_remote(uri):
        return uri
    path = Path(uri).absolute()
    if mode == "relative":
        rel = os.path.relpath(path, Path(out_dir or ".").absolute())
        return quote(Path(rel).as_posix()) if as_uri else rel
    return path.as_uri() if as_uri else str(path)


def section_url(base_url: str, section_id: str, fmt: str = "wav") -> str:
    """The app's (authenticated) audio URL of one section: ``{base_url}/audio/{section_id}.{fmt}``."""
    return f"{base_url.rstrip('/')}/audio/{quote(str(section_id), safe='')}.{fmt}"


# ---- writers (pure) --------------------------------------------------------------------------------
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
              description: str = "", namespace: str = "segment_open") -> str:
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
    for s, e, lab in zip(segments["start_s"], segments["end_s"], segments["label"]):
        ann.append(time=float(s), duration=float(e - s), value=one_line(lab), confidence=None)
    jam.annotations.append(ann)
    try:
        jam.validate(strict=True)
    except jams.SchemaError as exc:
        raise InputError(f"JAMS of {title!r} ({annotator}) does not validate: {exc}") from None
    return jam.dumps(indent=1)


def xspf(tracks: pd.DataFrame, *, title: str = "sectionist") -> bytes:
    """A VLC playlist (XSPF) with a start and stop time per track.

    Parameters
    ----------
    tracks : pd.DataFrame
        ``location`` (a URI or URL), ``title``, ``start_s``, ``end_s``; optional ``creator`` and
        ``annotation``. VLC plays each from ``start_s`` to ``end_s`` (``vlc:option``
        ``start-time``/``stop-time``).
    title : str
        The playlist's title.

    Returns
    -------
    bytes
        UTF-8 XML (escaped by :mod:`xml.etree.ElementTree`).
    """
    import xml.etree.ElementTree as ET

    ET.register_namespace("", XSPF_NS)
    ET.register_namespace("vlc", VLC_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", version="1")
    ET.SubElement(root, f"{{{XSPF_NS}}}title").text = one_line(title)
    tl = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for i, row in enumerate(tracks.to_dict("records")):
        t = ET.SubElement(tl, f"{{{XSPF_NS}}}track")
        ET.SubElement(t, f"{{{XSPF_NS}}}location").text = str(row["location"])
        ET.SubElement(t, f"{{{XSPF_NS}}}title").text = one_line(row.get("title", ""))
        if row.get("creator"):
            ET.SubElement(t, f"{{{XSPF_NS}}}creator").text = one_line(row["creator"])
        if row.get("annotation"):
            ET.SubElement(t, f"{{{XSPF_NS}}}annotation").text = one_line(row["annotation"])
        start, end = float(row["start_s"]), float(row["end_s"])
        ET.SubElement(t, f"{{{XSPF_NS}}}duration").text = str(int(round((end - start) * 1000)))
        ext = ET.SubElement(t, f"{{{XSPF_NS}}}extension", application=VLC_APP)
        ET.SubElement(ext, f"{{{VLC_NS}}}id").text = str(i)
        ET.SubElement(ext, f"{{{VLC_NS}}}option").text = f"start-time={start:.3f}"
        ET.SubElement(ext, f"{{{VLC_NS}}}option").text = f"stop-time={end:.3f}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def rpp_quote(text) -> str:
    """A string as one REAPER project token, quoted by REAPER's rules.

    ``"…"`` unless the text holds a double quote, then ``'…'``, then ```…``` when it holds both;
    with all three, backticks become single quotes. Line breaks become spaces.
    """
    s = one_line(text)
    if '"' not in s:
        return f'"{s}"'
    if "'" not in s:
        return f"'{s}'"
    if "`" not in s:
        return f"`{s}`"
    return "`" + s.replace("`", "'") + "`"


def reaper_color(hex_color: str) -> int:
    """REAPER's colour number of ``#rrggbb``: ``0x1000000 | b << 16 | g << 8 | r`` (custom colour flag set)."""
    h = hex_color.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return 0x1000000 | (b << 16) | (g << 8) | r


def reaper_project(tracks: list, *, markers=(), timestamp: int = 0) -> str:
    """A REAPER project (``.rpp``) with one track per entry of ``tracks``.

    Parameters
    ----------
    tracks : list of (str, pd.DataFrame)
        Track name and its items: ``position`` (project seconds), ``length``, ``offset`` (seconds
        into the source: ``SOFFS``), ``name``, ``file``, optional ``color`` (``#rrggbb``).
    markers : list of (float, str)
        Project markers (position, name): one per song.
    timestamp : int
        The project header's save time (Unix seconds).

    Returns
    -------
    str
        The project text: nested ``<CHUNK … >`` blocks, one ``KEY values`` line each (REAPER's RPP
        format), every string quoted by :func:`rpp_quote`.
    """
    out = [f'<REAPER_PROJECT 0.1 "6.0" {int(timestamp)}', "  RIPPLE 0", "  TEMPO 120 4 4"]
    for i, (pos, name) in enumerate(markers, start=1):
        out.append(f"  MARKER {i} {float(pos):.6f} {rpp_quote(name)} 0")
    for name, items in tracks:
        out += ["  <TRACK", f"    NAME {rpp_quote(name)}"]
        for it in items.to_dict("records"):
            ext = PurePosixPath(str(it["file"]).replace("\\", "/")).suffix.lower()
            out += ["    <ITEM", f"      POSITION {float(it['position']):.6f}", f"      LENGTH {float(it['length']):.6f}",
                    "      LOOP 0", f"      NAME {rpp_quote(it['name'])}"]
            if it.get("color"):
                out.append(f"      COLOR {reaper_color(it['color'])} B")
            out += [f"      SOFFS {float(it['offset']):.6f}", f"      <SOURCE {REAPER_SOURCES.get(ext, 'WAVE')}",
                    f"        FILE {rpp_quote(it['file'])}", "      >", "    >"]
        out.append("  >")
    out.append(">")
    return "\n".join(out) + "\n"


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


def labels_table(data: ExportData) -> pd.DataFrame:
    """The sections with their labels across runs (the study's comparison table), one column per run.

    Columns: ``section_id, song_id, title, scheme, index, start_s, end_s`` then each run id (its
    cluster: −1 noise, missing: not labelled).
    """
    base = data.sections[["section_id", "song_id", "title", "scheme", "index", "start_s", "end_s"]].reset_index(drop=True)
    return pd.concat([base, data.labels.reset_index(drop=True)], axis=1)


# ---- assembling files --------------------------------------------------------------------------------
def _song_files(data: ExportData, ext: str, write) -> dict:
    files = {}
    for sid in data.songs.index:
        song = data.songs.loc[sid]
        for src in data.run_ids or data.sources():
            seg = data.segments(sid, src)
            if seg.empty:
                continue
            src_stem = file_stem(src[len(_SCHEME_PREFIX):] if src.startswith(_SCHEME_PREFIX) else src)
            name = f"{file_stem(song['title'])}-{sid[:8]}.{src_stem}.{ext}"
            files[name] = write(seg, song, src).encode("utf-8")
    return files


def _reaper(data: ExportData, location: str, out_dir, colors) -> dict:
    offsets, markers, t = {}, [], 0.0
    last_end = data.sections.groupby("song_id")["end_s"].max()
    for sid in data.songs.index:
        dur = data.songs.loc[sid].get("duration_s")
        length = float(dur) if dur is not None and pd.notna(dur) and dur > 0 else float(last_end[sid])
        offsets[sid] = t
        markers.append((t, data.songs.loc[sid, "title"]))
        t += length + SONG_GAP_S
    files = {sid: song_location(data.songs.loc[sid, "uri"], location, out_dir=out_dir) for sid in data.songs.index}
    tracks = []
    for src in data.sources():
        rows = []
        for sid in data.songs.index:
            seg = data.segments(sid, src)
            clusters = seg["cluster"].to_numpy(dtype=np.float64, na_value=np.nan)
            for start, end, label, c in zip(seg["start_s"].to_numpy(), seg["end_s"].to_numpy(), seg["label"], clusters):
                rows.append({"position": offsets[sid] + start, "length": end - start, "offset": start, "name": label,
                             "file": files[sid], "color": None if np.isnan(c) else colors(int(c))})
        tracks.append((data.source_name(src), pd.DataFrame(rows, columns=["position", "length", "offset", "name",
                                                                          "file", "color"])))
    merged = {}  # the composers' two tracks: slices before and after cluster-and-merge
    for sid in data.songs.index:
        for name, seg in merge_tracks(data.structure, sid):
            merged.setdefault(name, []).extend(
                {"position": offsets[sid] + a, "length": b - a, "offset": a, "name": lab, "file": files[sid],
                 "color": colors(int(c))} for a, b, lab, c in zip(seg["start_s"], seg["end_s"], seg["label"], seg["cluster"]))
    for name, rows in merged.items():
        tracks.append((name, pd.DataFrame(rows, columns=["position", "length", "offset", "name", "file", "color"])))
    return {"project.rpp": reaper_project(tracks, markers=markers).encode("utf-8")}


def _xspf(data: ExportData, location: str, out_dir, base_url, title) -> dict:
    secs = data.sections
    run = data.run_ids[0] if len(data.run_ids) == 1 else None
    if location == "url" and not base_url:
        raise ParameterError("location 'url' needs the app's base URL (--base-url)")
    names = {rid: [cluster_name(v) for v in data.labels[rid]] for rid in data.run_ids}
    songs = {} if location == "url" else {sid: song_location(data.songs.loc[sid, "uri"], location, out_dir=out_dir,
                                                             as_uri=True) for sid in data.songs.index}
    rows = []
    for i, s in enumerate(secs[["section_id", "song_id", "title", "start_s", "end_s"]].itertuples(index=False)):
        clusters = [f"{rid}: {names[rid][i]}" for rid in data.run_ids if names[rid][i]]
        start, end = float(s.start_s), float(s.end_s)
        if location == "url":
            loc, start, end = section_url(base_url, s.section_id), 0.0, end - start  # the URL is the section
        else:
            loc = songs[s.song_id]
        rows.append({"location": loc, "title": f"{s.title} · {s.start_s:.1f}–{s.end_s:.1f} s",
                     "creator": names[run][i] if run else "",
                     "annotation": f"{s.section_id}; " + "; ".join(clusters), "start_s": start, "end_s": end})
    return {"playlist.xspf": xspf(pd.DataFrame(rows), title=title)}


def export_files(kind: str, data: ExportData, *, location: str = "absolute", out_dir=None, base_url=None,
                 vectors=None, title: str = "sectionist", colors=cluster_color) -> dict:
    """The files of one export, by name (bytes), from :class:`ExportData`.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    data : ExportData
    location : {"absolute", "relative", "name", "url"}
        How ``reaper`` and ``xspf`` name the originals (see the module's doc); ``url`` is ``xspf`` only.
    out_dir : path, optional
        The folder the files go to (for ``relative``).
    base_url : str, optional
        The app's address (for ``url``).
    vectors : (np.ndarray, np.ndarray), optional
        ``projector``: section ids and their vectors (:func:`space_vectors`).
    title : str
        Playlist title.
    colors : callable
        Cluster → ``#rrggbb`` (the app passes its own palette).

    Raises
    ------
    ParameterError
        An unknown kind or location (listing the valid ones).
    """
    _valid("export kind", [kind], KINDS)
    _valid("location", [location], LOCATIONS)
    if location == "url" and kind != "xspf":
        raise ParameterError(f"location 'url' is for xspf playlists only, not {kind}")
    if kind == "reaper":
        return _reaper(data, location, out_dir, colors)
    if kind == "xspf":
        return _xspf(data, location, out_dir, base_url, title)
    if kind == "audacity":
        return _song_files(data, "txt", lambda seg, song, src: audacity_labels(seg))
    if kind == "lab":
        return _song_files(data, "lab", lambda seg, song, src: mirex_lab(seg))
    if kind == "jams":
        return _song_files(data, "jams", lambda seg, song, src: jams_text(
            seg, duration=float(song.get("duration_s") or 0.0), title=song["title"], annotator=src,
            description=data.source_name(src)))
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
            meta[rid] = [cluster_name(c) for c in data.labels[rid][keep]]
        vec, md = projector_tsvs(np.asarray(X)[pos[keep]], meta)
        return {"vectors.tsv": vec.encode("utf-8"), "metadata.tsv": md.encode("utf-8")}
    table = labels_table(data)
    if kind == "csv":
        return {"sections.csv": to_csv_bytes(table)}
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return {"sections.parquet": buf.getvalue()}


def space_vectors(store, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Section ids and one vector per section of ``space`` (a feature set or an embedder's frame means).

    Raises
    ------
    ParameterError
        An unknown space, listing the spaces of the store.
    """
    from sectionist.analysis.modeling import embedders_in_store, feature_spaces, load_space

    features = list(feature_spaces())
    embedders = embedders_in_store(store)
    _valid("space", [space], features + embedders)
    data = load_space(store, space, level=None if space in features else "section-mean")
    return np.asarray(data.section_ids), data.X


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


# ---- command line ----------------------------------------------------------------------------------
def register_cli(subparsers, options) -> None:
    """Add ``sectionist export``."""
    import argparse
    import textwrap

    kinds = "\n".join(f"  {k:<9} {d}" for k, (d, _) in KINDS.items())
    about = textwrap.fill(
        "Per-song kinds (audacity, jams, lab) and projector write several files: -o names a folder "
        "(created) or a .zip archive. Every file is written atomically. Runs are named by run id "
        "('sectionist info' or the Overview page lists them); an unknown run, scheme, song or space is "
        "an error that lists the valid ones. See docs/export.md.", 100)

    p = subparsers.add_parser(
        "export", help="export sections and labels to REAPER, Audacity, VLC, JAMS/MIREX, TensorBoard, CSV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a store's sections and their cluster labels in the format of another tool.\n\n"
        f"KIND is one of:\n{kinds}\n\n{about}",
        epilog="examples:\n  sectionist export reaper --store demo/store --run classical17-kmeans-k6 -o demo.rpp\n"
        "  sectionist export xspf --store demo/store --run R --cluster 2 --queue prototypes -o protos.xspf\n"
        "  sectionist export projector --store demo/store --space musicnn -o projector/",
    )
    p.add_argument("kind", metavar="KIND", choices=list(KINDS), help="what to write: " + ", ".join(KINDS))
    options.store(p)
    p.add_argument("--run", action="append", default=None, metavar="RUN",
                   help="a run id (repeat for several; default: every run)")
    p.add_argument("--scheme", default=None, help="only the sections of this sectioning scheme")
    p.add_argument("--songs", nargs="+", default=None, metavar="SONG", help="only these songs (ids or titles)")
    p.add_argument("--selection", metavar="FILE", default=None,
                   help="only the sections listed in FILE (one id a line, or a CSV with a section_id column)")
    p.add_argument("--cluster", type=int, default=None, help="only the sections of this cluster of the --run")
    p.add_argument("--queue", choices=QUEUES, default=None,
                   help="with --cluster: only its prototype or borderline queue, in order")
    p.add_argument("--space", default=None, help="projector: the space whose vectors to write")
    p.add_argument("--paths", choices=LOCATIONS, default="absolute",
                   help="how reaper/xspf name the original files: absolute (default), relative (to the output "
                   "folder), name (file name only), url (xspf: the app's section URLs; needs --base-url)")
    p.add_argument("--base-url", default=None, help="the app's address for --paths url (e.g. https://host)")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="output file, folder or .zip")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args) -> int:
    from sectionist.store import open_store

    settings = getattr(args, "settings", None)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    selection = read_selection(args.selection) if args.selection else None
    if args.kind == "projector" and not args.space:
        raise ParameterError("projector export needs --space (a feature set or an embedder of the store)")
    vectors = space_vectors(store, args.space) if args.kind == "projector" else None
    data = gather(store, runs=args.run, scheme=args.scheme, songs=args.songs, selection=selection,
                  cluster=args.cluster, queue=args.queue)
    out = Path(args.output)
    out_dir = out if (out.is_dir() or out.suffix == "") else out.parent
    files = export_files(args.kind, data, location=args.paths, out_dir=out_dir, base_url=args.base_url,
                         vectors=vectors, title=f"sectionist {args.kind}: " + ", ".join(data.run_ids),)
    written = write_files(files, out)
    print(f"wrote {len(files)} file(s) ({sum(map(len, files.values())) / 1e3:.1f} kB) of "
          f"{len(data.sections)} sections from {len(data.songs)} songs: "
          + (str(written[0]) if len(written) == 1 else f"{out}/"))
    return 0
