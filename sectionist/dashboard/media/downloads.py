"""The app's exports (download buttons on Clusters, Songs and Map), built by :mod:`sectionist.analysis.export`.

Every export labels clusters by the names experts gave them (:func:`app_cluster_names`: this
version's names, else one carried over from an older version, else ``cluster N``).

What the app exports never holds a path of the server: a VLC playlist comes in two kinds, the
user's pick: ``xspf`` points at the app's section URLs (``/audio/<section_id>.wav`` under the address
the browser used) with the signed token of a playlist link (:mod:`sectionist.dashboard.auth.links`),
so VLC plays them without a login until the link expires or is revoked; ``xspf-local`` points at the
songs by their path in the corpus' folder (for people with a copy of the audio), with VLC's
start/stop options. REAPER projects name the original files by their file name alone (put the
project beside the audio files). Several files (one per song and run) come as one zip archive.
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
             {"label": N_("VLC playlist, links that play anywhere (.xspf)"), "value": "xspf"},
             {"label": N_("VLC playlist, paths in a copy of the corpus (.xspf)"), "value": "xspf-local"},
             {"label": N_("Audacity labels (.zip)"), "value": "audacity"},
             {"label": N_("Labels table (.csv)"), "value": "csv"}]
SONG_KINDS = [{"label": N_("Audacity labels (.txt)"), "value": "audacity"},
              {"label": "JAMS (.jams)", "value": "jams"},
              {"label": N_("MIREX labels (.lab)"), "value": "lab"}]
SELECTION_KINDS = [{"label": N_("VLC playlist, links that play anywhere (.xspf)"), "value": "xspf"},
                   {"label": N_("VLC playlist, paths in a copy of the corpus (.xspf)"), "value": "xspf-local"},
                   {"label": N_("Labels table (.csv)"), "value": "csv"}]
#: The two kinds of VLC playlist (the Clusters page's cluster playlist picks one).
PLAYLIST_KINDS = [{"label": N_("links that play anywhere (they expire)"), "value": "xspf"},
                  {"label": N_("paths in a copy of the corpus"), "value": "xspf-local"}]
QUEUE_CHOICES = [{"label": N_("all its sections"), "value": "all"},
                 {"label": N_("prototype queue"), "value": "prototypes"},
                 {"label": N_("borderline queue"), "value": "borderline"}]


def choices(kinds: list[dict]) -> list[dict]:
    """Dropdown options of one of the lists above, their labels in the request's language (call it
    in a layout or callback, not at import time)."""
    return [{**option, "label": _(option["label"])} for option in kinds]


def app_cluster_names(data, run_ids) -> tuple[dict, dict]:
    """``(names, named_in)`` of ``run_ids`` from the app's judgement database, as the pages name
    clusters (:func:`sectionist.dashboard.judging.export_names.export_names`); ``({}, {})`` outside a
    Flask app or when the database cannot be read (logged: the export then says ``cluster N``)."""
    from flask import has_app_context

    if not run_ids or not has_app_context():
        return {}, {}
    from sqlalchemy.exc import SQLAlchemyError

    from sectionist.analysis.errors import SectionistError
    from sectionist.dashboard.auth.context import get_db
    from sectionist.dashboard.judging.export_names import export_names

    try:
        return export_names(get_db(), run_ids, data.run_versions[["lineage", "version"]], data.labels_by_section)
    except (SectionistError, SQLAlchemyError) as exc:
        import logging

        logging.getLogger(__name__).warning("cluster names of %s not read: %s", ", ".join(run_ids), exc)
        return {}, {}


def export_data(data, run_ids, *, section_ids=None, song_ids=None) -> ExportData:
    """:class:`sectionist.analysis.export.data.ExportData` from the app's cached tables (``data``: a
    StoreData), with the experts' cluster names (:func:`app_cluster_names`)."""
    run_ids = [r for r in (run_ids or []) if r in data.runs.index]
    labels = {}
    for rid in run_ids:
        lab = data.run_arrays(rid).label.astype(np.int64)
        labels[rid] = pd.Series(np.where(lab >= -1, lab, np.nan), index=data.section_ids)
    cols = [c for c in ("section_id", "song_id", "scheme", "index", "start_s", "end_s") if c in data.sections]
    songs = data.songs[["title", "uri", "duration_s"]]
    names, named_in = app_cluster_names(data, run_ids)
    return build(data.sections[cols], songs, labels, data.runs.loc[run_ids] if run_ids else None,
                 song_ids=song_ids, section_ids=section_ids, names=names, named_in=named_in)


def export_payload(kind: str, exp: ExportData, *, base_url: str, title: str, token: str | None = None) -> tuple[bytes, str]:
    """The bytes and file extension of one app download (a zip when the export has several files).

    ``xspf``: the app's section URLs under ``base_url`` (with ``token``, a playlist link's, they play
    without a login); ``xspf-local``: the songs' paths in the corpus' folder, with start/stop options."""
    location = {"xspf": "url", "xspf-local": "corpus"}.get(kind, "name")
    files = export_files("xspf" if kind == "xspf-local" else kind, exp, location=location, base_url=base_url,
                         title=title, colors=palette.cluster_color, token=token)
    if len(files) == 1:
        (name, payload), = files.items()
        return payload, name.rsplit(".", 1)[-1]
    return zip_bytes(files), "zip"


#: File name endings that tell the two kinds of VLC playlist apart (``{stem}-links.xspf`` expires).
PLAYLIST_SUFFIX = {"xspf": "-links", "xspf-local": "-paths"}


def download(kind: str, exp: ExportData, stem: str, *, title: str) -> dict:
    """A ``dcc.Download`` value: the export as a file named ``{stem}.{ext}`` (the browser's base URL);
    a VLC playlist ``{stem}-links.xspf`` or ``{stem}-paths.xspf`` (:data:`PLAYLIST_SUFFIX`), so the two
    kinds of one selection never share a name. An ``xspf`` playlist issues a playlist link of the
    logged-in user for exactly its sections."""
    from dash import dcc
    from flask import request

    from sectionist.dashboard.auth.links import issue_for_request

    token = issue_for_request(exp.sections["section_id"], title) if kind == "xspf" else None
    payload, ext = export_payload(kind, exp, base_url=request.host_url.rstrip("/") + request.script_root,
                                  title=title, token=token)
    return dcc.send_bytes(payload, f"{file_stem(stem, limit=120)}{PLAYLIST_SUFFIX.get(kind, '')}.{ext}")
