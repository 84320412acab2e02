"""VLC playlists (XSPF): a track per section, played from its start to its end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.export.data import ExportData
from sectionist.analysis.export.locations import section_url, song_location
from sectionist.analysis.export.names import cluster_name, one_line

#: The VLC extension of XSPF (namespace of ``vlc:option``, and the ``application`` of ``<extension>``).
XSPF_NS = "http://xspf.org/ns/0/"
VLC_NS = "http://www.videolan.org/vlc/playlist/ns/0/"
VLC_APP = "http://www.videolan.org/vlc/playlist/0"


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


def xspf_files(data: ExportData, location: str, out_dir, base_url, title, token: str | None = None) -> dict:
    """``{"playlist.xspf": bytes}``: a track per section, in the order of ``data.sections``.

    Each track's title is the song, the span and (with one run) the section's cluster label (an
    expert's name where the clusters have one, :meth:`ExportData.cluster_labels`); its creator that
    label; its annotation the section id and its cluster in every run (``run: name (cluster N)``).
    ``location="url"`` points at the app's section URLs (with ``token``, the signed token of a
    playlist link, so they play without logging in); ``corpus`` at the songs relative to the corpus'
    folder (:attr:`ExportData.corpus_root`).
    """
    secs = data.sections
    run = data.run_ids[0] if len(data.run_ids) == 1 else None
    if location == "url" and not base_url:
        raise ParameterError("location 'url' needs the app's base URL (--base-url)")
    labels = {rid: data.cluster_labels(rid) for rid in data.run_ids}
    values = {rid: data.labels[rid].to_numpy(dtype=np.float64, na_value=np.nan) for rid in data.run_ids}

    def label(rid, i):
        c = values[rid][i]
        return "" if np.isnan(c) or c < -1 else labels[rid].get(int(c), cluster_name(c))

    def described(rid, i):
        c, text = values[rid][i], label(rid, i)
        name = data.cluster_name_of(rid, c) if text else None
        return f"{rid}: {name} ({cluster_name(c)})" if name else f"{rid}: {text}"

    songs = {} if location == "url" else {
        sid: song_location(data.songs.loc[sid, "uri"], location, out_dir=out_dir, as_uri=True, root=data.corpus_root)
        for sid in data.songs.index}
    rows = []
    for i, s in enumerate(secs[["section_id", "song_id", "title", "start_s", "end_s"]].itertuples(index=False)):
        clusters = [described(rid, i) for rid in data.run_ids if label(rid, i)]
        start, end = float(s.start_s), float(s.end_s)
        if location == "url":
            loc, start, end = section_url(base_url, s.section_id, token=token), 0.0, end - start  # the URL is the section
        else:
            loc = songs[s.song_id]
        own = label(run, i) if run else ""
        rows.append({"location": loc, "title": f"{s.title} · {s.start_s:.1f}–{s.end_s:.1f} s" + (f" · {own}" if own else ""),
                     "creator": own, "annotation": f"{s.section_id}; " + "; ".join(clusters),
                     "start_s": start, "end_s": end})
    return {"playlist.xspf": xspf(pd.DataFrame(rows), title=title)}
