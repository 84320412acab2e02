"""REAPER projects (``.rpp``): a track per scheme and run, an item per section, coloured by cluster."""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from sectionist.analysis.export.data import ExportData, merge_tracks
from sectionist.analysis.export.locations import song_location
from sectionist.analysis.export.names import one_line

#: Seconds of silence between two songs on the REAPER timeline.
SONG_GAP_S = 2.0

#: REAPER source types by file extension (anything else is opened as ``WAVE``, REAPER's PCM reader).
REAPER_SOURCES = {".mp3": "MP3", ".flac": "FLAC", ".ogg": "VORBIS", ".oga": "VORBIS", ".opus": "OPUS",
                  ".wv": "WAVPACK", ".mp4": "VIDEO", ".m4a": "VIDEO"}


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


def reaper_files(data: ExportData, location: str, out_dir, colors) -> dict:
    """``{"project.rpp": bytes}``: songs one after another, a track per label source (a run's items
    named by their cluster's label: the experts' name where it has one, :meth:`ExportData.cluster_labels`),
    then the ``merged`` scheme's pre- and post-merge tracks."""
    offsets, markers, t = {}, [], 0.0
    last_end = data.sections.groupby("song_id")["end_s"].max()
    for sid in data.songs.index:
        dur = data.songs.loc[sid].get("duration_s")
        length = float(dur) if dur is not None and pd.notna(dur) and dur > 0 else float(last_end[sid])
        offsets[sid] = t
        markers.append((t, data.songs.loc[sid, "title"]))
        t += length + SONG_GAP_S
    files = {sid: song_location(data.songs.loc[sid, "uri"], location, out_dir=out_dir, root=data.corpus_root)
             for sid in data.songs.index}
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
