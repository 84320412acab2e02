"""The app's exports (download buttons on Clusters, Songs and Map), built by :mod:`sectionist.analysis.export`.

What the app exports never holds a path of the server: playlists point at the app's authenticated
section URLs (``/audio/<section_id>.wav`` under the address the browser used), REAPER projects name
the original files by their file name alone (put the project beside the audio files). Several files
(one per song and run) come as one zip archive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.analysis.export.data import ExportData, build
from sectionist.analysis.export.files import export_files, zip_bytes
from sectionist.analysis.export.names import file_stem
from sectionist.dashboard.ui.figures import palette
from sectionist.dashboard.ui.i18n import N_, _

#: Download choices for a run (Clusters page), a song (Songs page) and a selection (Map page). The
#: labels are English (marked for extraction): pages show them through :func:`choices`.
RUN_KINDS = [{"label": N_("REAPER project (.rpp)"), "value": "reaper"},
             {"label": N_("VLC playlist (.xspf)"), "value": "xspf"},
             {"label": N_("Audacity labels (.zip)"), "value": "audacity"},
             {"label": N_("Labels table (.csv)"), "value": "csv"}]
SONG_KINDS = [{"label": N_("Audacity labels (.txt)"), "value": "audacity"},
              {"label": "JAMS (.jams)", "value": "jams"},
              {"label": N_("MIREX labels (.lab)"), "value": "lab"}]
SELECTION_KINDS = [{"label": N_("VLC playlist (.xspf)"), "value": "xspf"},
                   {"label": N_("Labels table (.csv)"), "value": "csv"}]
QUEUE_CHOICES = [{"label": N_("all its sections"), "value": "all"},
                 {"label": N_("prototype queue"), "value": "prototypes"},
                 {"label": N_("borderline queue"), "value": "borderline"}]


def choices(kinds: list[dict]) -> list[dict]:
    """Dropdown options of one of the lists above, their labels in the request's language (call it
    in a layout or callback, not at import time)."""
    return [{**option, "label": _(option["label"])} for option in kinds]


def export_data(data, run_ids, *, section_ids=None, song_ids=None) -> ExportData:
    """:class:`sectionist.analysis.export.data.ExportData` from the app's cached tables (``data``: a StoreData)."""
    run_ids = [r for r in (run_ids or []) if r in data.runs.index]
    labels = {}
    for rid in run_ids:
        lab = data.run_arrays(rid).label.astype(np.int64)
        labels[rid] = pd.Series(np.where(lab >= -1, lab, np.nan), index=data.section_ids)
    cols = [c for c in ("section_id", "song_id", "scheme", "index", "start_s", "end_s") if c in data.sections]
    songs = data.songs[["title", "uri", "duration_s"]]
    return build(data.sections[cols], songs, labels, data.runs.loc[run_ids] if run_ids else None,
                 song_ids=song_ids, section_ids=section_ids)


def export_payload(kind: str, exp: ExportData, *, base_url: str, title: str) -> tuple[bytes, str]:
    """The bytes and file extension of one app download (a zip when the export has several files)."""
    location = "url" if kind == "xspf" else "name"
    files = export_files(kind, exp, location=location, base_url=base_url, title=title,
                         colors=palette.cluster_color)
    if len(files) == 1:
        (name, payload), = files.items()
        return payload, name.rsplit(".", 1)[-1]
    return zip_bytes(files), "zip"


def download(kind: str, exp: ExportData, stem: str, *, title: str) -> dict:
    """A ``dcc.Download`` value: the export as a file named ``{stem}.{ext}`` (the browser's base URL)."""
    from dash import dcc
    from flask import request

    payload, ext = export_payload(kind, exp, base_url=request.host_url.rstrip("/") + request.script_root,
                                  title=title)
    return dcc.send_bytes(payload, f"{file_stem(stem, limit=120)}.{ext}")
