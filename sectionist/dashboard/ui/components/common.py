"""Small layout builders shared by every page: cards, controls, stats, cluster chips, options."""

from __future__ import annotations

import math

from dash import dcc, html

from sectionist.dashboard.ui.figures.palette import cluster_color, cluster_name
from sectionist.dashboard.ui.i18n import _, graph_locale
from sectionist.dashboard.ui.naming import default_cluster_names, run_label, version_note

#: Every graph's config. Plotly's "Share chart..." button (``sendChartToCloud``) would upload the
#: figure's data to Plotly Cloud: removed (the CSP would refuse the upload anyway).
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["toImage", "autoScale2d", "hoverCompareCartesian", "sendChartToCloud"]}


def graph_config(**extra) -> dict:
    """A ``dcc.Graph`` ``config``: :data:`GRAPH_CONFIG`, Plotly's own strings and number format in
    the request's language (:func:`sectionist.dashboard.ui.i18n.graph_locale`), then ``extra``. Call it in a
    layout (per request), not at import."""
    return {**GRAPH_CONFIG, **graph_locale(), **extra}


def page_header(title: str, subtitle: str = "", *actions) -> html.Div:
    return html.Div(className="page-header", children=[
        html.Div([html.H1(title), html.P(subtitle, className="subtitle") if subtitle else None]),
        html.Div(list(actions), className="page-actions"),
    ])


def card(title, *children, className: str = "") -> html.Div:
    """A white panel with a title bar (none when ``title`` is None)."""
    head = html.Div(className="card-head", children=[html.H3(title)]) if title else None
    return html.Div(className=f"card {className}".strip(), children=[head, html.Div(list(children), className="card-body")])


def control(label: str, child, help: str | None = None) -> html.Div:
    """A labelled form control."""
    return html.Div(className="control", children=[
        html.Label(label, className="control-label", title=help or None), child])


def stat(label: str, value, hint: str | None = None) -> html.Div:
    return html.Div(className="stat", children=[
        html.Div(value, className="stat-value"), html.Div(label, className="stat-label"),
        html.Div(hint, className="stat-hint") if hint else None])


def cluster_chip(cluster, *, text: str | None = None, names: dict | None = None) -> html.Span:
    """A pill in the cluster's colour, with its name when ``names`` (:func:`cluster_names`) has one."""
    c = int(cluster)
    return html.Span(text or cluster_name(c, names), className="chip", style={"--chip": cluster_color(c)},
                     title=_("cluster %(number)s", number=c) if c >= 0 else None)


def expert_cluster_names(run_id) -> dict:
    """cluster → the name experts gave it in ``run_id`` (the app's judgement database); ``{}``
    outside a Flask app or when the database cannot be read (logged: pages then show the defaults)."""
    from flask import has_app_context

    if not run_id or not has_app_context():
        return {}
    from sqlalchemy.exc import SQLAlchemyError

    from sectionist.analysis.errors import SectionistError

    from sectionist.dashboard.auth.context import get_db
    from sectionist.dashboard.judging.repository import current_cluster_names

    try:
        return current_cluster_names(get_db(), run_id)
    except (SectionistError, SQLAlchemyError) as exc:
        import logging

        logging.getLogger(__name__).warning("cluster names of %s not read: %s", run_id, exc)
        return {}


def carried_cluster_names(data, run_id) -> dict:
    """cluster → ``"name (from v1)"``: the experts' name of the matched cluster of an older version of
    ``run_id``'s lineage, for the clusters experts have not named in this version
    (:func:`sectionist.dashboard.judging.stats.carried_cluster_names`: the matching verdicts carry over by)."""
    from sectionist.dashboard.judging.stats import carried_cluster_names as carried

    versions = data.run_versions
    if run_id not in versions.index or int(versions.at[run_id, "version"]) < 2:
        return {}
    got = carried(run_id, versions[["lineage", "version"]], data.labels_by_section, expert_cluster_names)
    return {c: _("%(name)s (from v%(version)s)", name=name, version=version) for c, (name, version) in got.items()}


def cluster_names(data, run_id) -> dict:
    """cluster → the name shown for it in ``run_id``: the experts' name in this version, else one
    carried over from an older version (marked "(from v1)"), else the default one
    (:func:`sectionist.dashboard.ui.naming.default_cluster_names`). ``{}`` for no or an unknown run."""
    if not run_id or run_id not in data.runs.index:
        return {}
    return {**default_cluster_names(data, run_id), **carried_cluster_names(data, run_id),
            **expert_cluster_names(run_id)}


def badge(text: str, kind: str = "neutral") -> html.Span:
    return html.Span(text, className=f"badge badge-{kind}")


def empty_state(text: str) -> html.Div:
    return html.Div(text, className="empty-state")


def fmt_time(seconds) -> str:
    """``mm:ss.s`` for a time in seconds."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = float(seconds)
    return f"{int(s // 60)}:{s % 60:04.1f}"


def fmt_num(v, digits: int = 3) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    return f"{f:.{digits}g}" if abs(f) >= 1000 else f"{f:.{digits}f}"


def run_option_label(data, run_id) -> str:
    """A run's name in a picker, with its version when its lineage has several:
    ``"kmeans on classical17, 6 clusters (classical17-kmeans-auto) · v1 (superseded by v2)"``."""
    note = version_note(data, run_id)
    return f"{run_label(data, run_id)} · {note}" if note else run_label(data, run_id)


def run_options(data, space: str | None = None) -> list[dict]:
    """Dropdown options of the runs (those of ``space`` first).

    The latest version of each lineage comes first; its older versions follow it, newest first,
    still selectable and labelled as superseded (:func:`run_option_label`).
    """
    runs = data.runs
    if runs.empty:
        return []
    versions = data.run_versions
    ids = list(runs.index)
    lineage_rank = {}
    for r in ids:
        lineage_rank.setdefault(versions.at[r, "lineage"], len(lineage_rank))
    ids.sort(key=lambda r: (space is not None and runs.loc[r, "space"] != space,
                            lineage_rank[versions.at[r, "lineage"]], -int(versions.at[r, "version"])))
    return [{"label": run_option_label(data, r), "value": r} for r in ids]


def default_run(data, space: str | None = None):
    """The run a page shows first: the latest version of the first lineage (of ``space`` if any)."""
    opts = run_options(data, space)
    if not opts:
        return None
    latest = set(data.latest_runs())
    if space is not None:
        same = [o["value"] for o in opts if data.runs.loc[o["value"], "space"] == space and o["value"] in latest]
        if same:
            return same[0]
    return next((o["value"] for o in opts if o["value"] in latest), opts[0]["value"])


def dropdown(id, options, value=None, **kw) -> dcc.Dropdown:
    kw.setdefault("clearable", False)
    return dcc.Dropdown(id=id, options=options, value=value, **kw)


#: Songs a song picker lists at once. A store with more songs lists the first ones by title (and
#: those chosen), and the songs whose title holds what is typed, searched on the server
#: (:func:`register_song_search`): a page of 50 000 songs would otherwise send every title.
SONG_OPTIONS_LIMIT = 300


def song_options(data, search: str | None = None, selected=None, limit: int | None = None) -> list[dict]:
    """Options of a song picker: the chosen songs first, then up to ``limit`` (default
    :data:`SONG_OPTIONS_LIMIT`) songs by title, those whose title contains ``search``
    (case-insensitive) when given."""
    limit = SONG_OPTIONS_LIMIT if limit is None else int(limit)
    songs = data.songs
    chosen = [selected] if isinstance(selected, str) else list(selected or [])
    chosen = [s for s in chosen if s in songs.index]
    titles = songs["title"]
    if search:
        hits = titles[titles.str.contains(str(search), case=False, regex=False, na=False)]
    else:
        hits = titles
    ids_ = list(dict.fromkeys(chosen + list(hits.index[:limit])))
    return [{"label": str(titles.at[s]), "value": s} for s in ids_]


def register_song_search(dropdown_id: str) -> None:
    """Answer typing in the song picker ``dropdown_id`` with :func:`song_options` (server-side
    search; the picker's chosen songs stay listed, also when a callback chooses a song)."""
    from dash import Input, Output, callback, no_update

    from sectionist.dashboard.data.store_data import get_data

    @callback(Output(dropdown_id, "options", allow_duplicate=True), Input(dropdown_id, "search_value"),
              Input(dropdown_id, "value"), prevent_initial_call=True)
    def _search(search, value):
        data = get_data()
        if len(data.songs) <= SONG_OPTIONS_LIMIT and not value:
            return no_update  # every song is listed already: the browser filters them
        return song_options(data, search, value)
