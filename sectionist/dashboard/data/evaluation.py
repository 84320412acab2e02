"""The Overview's evaluation card: every segmentation scheme's mean scores against the songs' truth
(:func:`sectionist.analysis.evaluate.evaluate_store` with each song's ``truth_path``), computed once per store
version and kept (a new version — a new run, a scheme saved from the Lab — computes them again).

Scoring a store is whole-store work (about 6 s for 36 songs with several structure schemes, without
the L-measure, which the card does not show and which took nine tenths of the time): it is kept in
the process's memory and, when the app has a media folder
(:mod:`sectionist.dashboard.media.diskcache`), there too, so every worker process and every restart
reads it instead of scoring again. Threads of one process asking at once wait for one scoring."""

from __future__ import annotations

import io
import threading

import numpy as np
import pandas as pd

from sectionist.analysis.errors import InputError
from sectionist.analysis.evaluate import STRUCTURE_RUN, evaluate_store, mean_table

from sectionist.dashboard.ui.i18n import N_, table_locale

#: Columns of the card: (metric, header). Higher is better for all of them.
SCORE_COLUMNS = [
    ("hr_f_0.5", N_("boundary F at 0.5 s ↑")), ("hr_f_3", N_("boundary F at 3 s ↑")),
    ("pairwise_f", N_("pairwise F ↑")), ("nce_f", N_("NCE F ↑")), ("ari_frames", N_("frame ARI ↑")),
]

_cache: dict = {}
_lock = threading.Lock()
_scoring = threading.Lock()  # one scoring at a time per process: the threads asking meanwhile wait for it
#: Changes when what is kept in the media folder changes (its entries are then made again).
ENTRY_VERSION = 1


def has_truth(data) -> bool:
    """True when some song of the store carries a truth file (``songs.truth_path``)."""
    songs = data.songs
    return "truth_path" in songs.columns and bool(songs["truth_path"].notna().any())


def scheme_scores(data) -> pd.DataFrame | None:
    """Mean scores per segmentation (one row per scheme and label source), or None without truth.

    Columns: ``scheme``, ``labels`` (``"structure"``: the scheme's own song-local labels; a run id:
    that corpus-wide run's clusters on the scheme's sections; ``""``: boundaries only), ``n_songs``
    and the metrics of :data:`SCORE_COLUMNS` (a run's rows carry its scheme's boundary scores). Cached
    per store version."""
    key = (data.store_uri, data.version)
    with _lock:
        if key in _cache:
            return _cache[key]
    with _scoring:
        with _lock:
            if key in _cache:  # scored by the thread this one waited for
                return _cache[key]
        out = _scores_from_folder(data, key) if has_truth(data) else None
        with _lock:
            _cache.clear()  # one store version at a time per store is enough; older ones are stale
            _cache[key] = out
    return out


def _media_folder():
    """The running app's media folder (a :class:`~sectionist.dashboard.media.diskcache.MediaCache`) or None."""
    import flask

    from sectionist.dashboard.media.audio import MEDIA_CACHE_KEY

    return flask.current_app.extensions.get(MEDIA_CACHE_KEY) if flask.has_app_context() else None


def _scores_from_folder(data, key) -> pd.DataFrame | None:
    """The store's scores from the media folder, else scored now (and written there)."""
    folder = _media_folder()
    entry = ("evaluation", *key, ENTRY_VERSION)
    payload = folder.get(entry) if folder is not None else None
    if payload is not None:
        try:
            table = pd.read_parquet(io.BytesIO(payload))
            return table if len(table) else None
        except (ValueError, OSError):  # a damaged entry: scored again below
            pass
    out = _score(data)
    if folder is not None:
        buf = io.BytesIO()
        (out if out is not None else _tidy_empty()).to_parquet(buf, index=False)
        folder.put(entry, buf.getvalue())
    return out


def _score(data) -> pd.DataFrame | None:
    try:
        table, _skipped = evaluate_store(data.store, None, progress=False, hierarchy=False)
    except InputError:
        return None
    return _tidy(mean_table(table)) if len(table) else None


def _tidy_empty() -> pd.DataFrame:
    """No scores (every truth file unusable), in the columns of :func:`_tidy`."""
    return pd.DataFrame(columns=["scheme", "labels", "n_songs", *[m for m, _h in SCORE_COLUMNS]])


def _tidy(means: pd.DataFrame) -> pd.DataFrame:
    means = means.rename(columns={"run_id": "labels"})
    boundary = means[means["labels"] == ""].set_index("scheme")
    rows = []
    for r in means.to_dict("records"):
        if r["labels"] not in ("", STRUCTURE_RUN) and r["scheme"] in boundary.index:
            for m in ("hr_f_0.5", "hr_f_3"):
                r[m] = boundary.at[r["scheme"], m] if m in boundary.columns else np.nan
        rows.append(r)
    df = pd.DataFrame(rows)
    for m, _header in SCORE_COLUMNS:
        if m not in df.columns:
            df[m] = np.nan
    # boundary-only rows that a run's rows repeat add nothing
    with_runs = set(df.loc[~df["labels"].isin(["", STRUCTURE_RUN]), "scheme"])
    df = df[~((df["labels"] == "") & df["scheme"].isin(with_runs))]
    order = df["labels"].map(lambda v: 0 if v == STRUCTURE_RUN else 1 if v else 2)
    df = df.assign(_o=order).sort_values(["_o", "hr_f_0.5"], ascending=[True, False]).drop(columns="_o")
    return df[["scheme", "labels", "n_songs", *[m for m, _h in SCORE_COLUMNS]]].reset_index(drop=True)


def evaluation_card(data):
    """The Overview's card of :func:`scheme_scores` (None when no song has truth)."""
    from dash import dash_table, html

    from sectionist.dashboard.ui.figures import palette
    from sectionist.dashboard.ui.components.common import card
    from sectionist.dashboard.ui.components.metrics import header_tooltips, metrics_legend
    from sectionist.dashboard.ui.i18n import _, integer

    scores = scheme_scores(data)
    if scores is None or scores.empty:
        return None
    rows = []
    for r in scores.to_dict("records"):
        labels = r["labels"]
        row = {"scheme": r["scheme"],
               "labels": _("its own (per song)") if labels == STRUCTURE_RUN else labels or _("none: boundaries only"),
               "n_songs": integer(r["n_songs"])}
        for m, _header in SCORE_COLUMNS:
            v = r.get(m)
            row[m] = None if v is None or not np.isfinite(v) else round(float(v), 3)
        rows.append(row)
    cols = [{"id": "scheme", "name": _("scheme")}, {"id": "labels", "name": _("labels")},
            {"id": "n_songs", "name": _("songs")}]
    cols += [{"id": m, "name": _(h), "type": "numeric", "format": {"specifier": ".3f"}} for m, h in SCORE_COLUMNS]
    return card(
        _("Segmentations against the truth"),
        html.P(_("Mean over the songs that carry truth: boundary hit rate F within 0.5 s "
                 "and 3 s (song start and end trimmed), pairwise F, normalised conditional entropy F and frame "
                 "ARI of the labels. Structure schemes (merged, laplacian, lab-…) use their own per-song labels; "
                 "sectioning schemes are scored with each run's clusters."), className="table-note"),
        metrics_legend(cols),
        dash_table.DataTable(data=rows, columns=cols, sort_action="native", page_size=20, locale_format=table_locale(),
                             tooltip_header=header_tooltips(cols), tooltip_duration=None,
                             style_table={"overflowX": "auto"},
                             style_cell={"fontFamily": palette.FONT, "fontSize": 13, "padding": "6px 8px",
                                         "textAlign": "left", "border": "none", "borderBottom": "1px solid #f1f5f9",
                                         "whiteSpace": "normal", "height": "auto", "minWidth": "56px",
                                         "maxWidth": "200px", "overflowWrap": "anywhere"},
                             style_header={"fontWeight": 600, "backgroundColor": "#f8fafc",
                                           "borderBottom": "1px solid #e5e7eb", "whiteSpace": "normal",
                                           "height": "auto", "verticalAlign": "bottom"}))


def warm_evaluation(app) -> dict:
    """Score the store of ``app`` into its media folder unless it holds the scores already (what
    ``sectionist media-warm`` runs, so that the Overview's first open does not wait for the scoring).
    Returns ``{"made", "seconds"}`` (``made``: False when the folder had them, the app keeps no folder or
    no song has truth)."""
    import time

    from sectionist.dashboard.data.store_data import EXTENSION_KEY
    from sectionist.dashboard.media.audio import MEDIA_CACHE_KEY

    t0 = time.monotonic()
    server = app.server
    folder = server.extensions.get(MEDIA_CACHE_KEY)
    data = server.extensions[EXTENSION_KEY]
    made = False
    if folder is not None and has_truth(data):
        entry = ("evaluation", data.store_uri, data.version, ENTRY_VERSION)
        if folder.get(entry) is None:
            with server.app_context():
                _scores_from_folder(data, (data.store_uri, data.version))
            made = True
    return {"made": made, "seconds": time.monotonic() - t0}
