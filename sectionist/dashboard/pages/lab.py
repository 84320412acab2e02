"""Lab: one song's ``merged`` segmentation (version 4), live — its multi-scale novelty curve with the
threshold on it, the slices before and after cluster-and-merge as two lanes (the composers' two REAPER tracks), every slice
playable, and "save as scheme" (``lab-<name>`` in the ``segments`` table, shown by the Songs page). An expert
corrects the song's stored structures here too: the Songs page's panel
(:mod:`sectionist.dashboard.ui.components.corrections`, :data:`~sectionist.dashboard.ui.components.corrections.LAB`),
its lanes the chosen structure's versions, the recompute the same background job.

The song's sweep is computed on its first open (:func:`sectionist.dashboard.data.lab.sweep_for`) and reused, so a
slider move costs a cached look-up or one clustering and merge of a few dozen slices; at the default
settings the lab shows exactly the ``merged`` segmentation ``analyze`` stores."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from sectionist.analysis.errors import AudioError, ParameterError, StoreError
from sectionist.analysis.sections.lab import KS, MIN_SLICE_BEATS, LabParams
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import common as common_figures
from sectionist.dashboard.ui.components.common import card, control, graph_config, page_header
from sectionist.dashboard.ui.components.corrections import LAB, correction_panel, register_corrections
from sectionist.dashboard.ui.components.jobs import job_done_store
from sectionist.dashboard.ui.components.player import span_player
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.i18n import N_, _, integer, number, page_title
from sectionist.dashboard.data.lab import lab_view, params_from_controls, save_lab_scheme

dash.register_page(__name__, path="/lab", name=N_("Lab"), title=page_title(N_("Lab")), order=5)
PAGE = "lab"

DEFAULTS = LabParams()
WINDOW_MAX = 30


def _window_marks() -> dict:
    marks = {w: "" for w in range(2, WINDOW_MAX + 1)}
    marks.update({w: integer(w) for w in (5, 10, 15, 20, 25, 30)})
    marks[0] = _("song")
    return marks


def _controls(data, song):
    songs = [{"label": t, "value": s} for s, t in zip(data.songs.index, data.songs["title"])]
    k_options = [{"label": _("auto (silhouette)"), "value": 0}] + [
        {"label": integer(k), "value": k} for k in KS if k is not None]
    return card(None, html.Div(className="controls-row lab-controls", children=[
        control(_("Song"), dcc.Dropdown(id=ids.LAB_SONG, options=songs, value=song, clearable=False)),
        control(_("Novelty threshold (× MAD)"),
                dcc.Slider(id=ids.LAB_THRESHOLD, min=0, max=5, step=0.1, value=DEFAULTS.threshold,
                           marks={v: number(v) for v in range(6)}, updatemode="drag", allow_direct_input=False,
                           tooltip={"placement": "bottom", "always_visible": False}),
                help=_("The novelty curve is the mean of several curves (harmony, timbre and the song's "
                       "recurrence embedding, at two kernel widths), so this threshold sets how many candidate "
                       "boundaries there are: a peak of that curve becomes a cut when it rises this many median "
                       "absolute deviations above its surroundings; lower gives more slices.")),
        control(_("Minimum slice length (beats)"),
                dcc.Slider(id=ids.LAB_MIN_SLICE, min=MIN_SLICE_BEATS[0], max=MIN_SLICE_BEATS[-1], step=None,
                           value=DEFAULTS.min_slice_beats, allow_direct_input=False,
                           marks={v: integer(v) if v in (2, 4, 8, 12, 16) else "" for v in MIN_SLICE_BEATS}),
                help=_("Cuts fall on beats, at least this many beats apart and from either end of the song.")),
        control(_("Merge"), dcc.Checklist(id=ids.LAB_MERGE, value=["merge"], className="checklist",
                                          options=[{"label": _("cluster the slices and merge neighbours"),
                                                    "value": "merge"}])),
        control(_("Window (slices; song = the whole song)"),
                dcc.Slider(id=ids.LAB_WINDOW, min=0, max=WINDOW_MAX, step=None, value=DEFAULTS.window,
                           marks=_window_marks(), allow_direct_input=False, tooltip={"placement": "bottom", "always_visible": False}),
                help=_("Cluster inside a window of this many slices sliding by one, repeated until nothing "
                       "more merges; 'song' clusters all slices at once.")),
        control(_("Clusters"), dcc.Dropdown(id=ids.LAB_K, options=k_options, value=0, clearable=False)),
        control(_("Minimum segment length after merging (s)"),
                dcc.Slider(id=ids.LAB_MIN_SEGMENT, min=0, max=30, step=1, value=DEFAULTS.min_seconds,
                           allow_direct_input=False,
                           marks={v: integer(v) for v in (0, 5, 10, 15, 20, 25, 30)})),
    ]))


def layout(song=None, **_query):
    """``?song=ID`` opens that song."""
    data = get_data()
    song = song if song in data.songs.index else (data.songs.index[0] if len(data.songs) else None)
    return html.Div(className="page page-lab", children=[
        page_header(_("Lab"), _("Move the threshold and watch the slices: novelty over-segmentation, then the "
                                "slices clustered and same-cluster neighbours merged. Click a slice to hear it.")),
        html.P(_("The lab runs the merged scheme's own steps; at its default settings it shows exactly the "
                 "merged segmentation that the analysis stores for this song."), className="table-note"),
        _controls(data, song),
        card(None,
             # cleared in the browser the moment another song is picked (no stale counts: _clear_counts)
             html.P(id=ids.LAB_COUNTS, className="lab-counts", role="status",
                    **{"data-waiting": _("Computing this song's slices…")}),
             dcc.Loading(type="default", delay_show=300, children=[
                 dcc.Graph(id=ids.LAB_NOVELTY, config=graph_config(),
                           figure=common_figures.empty_figure(_("Computing this song's novelty…"), height=220)),
                 dcc.Graph(id=ids.LAB_LANES, config=graph_config(), figure=common_figures.empty_figure("", height=190)),
             ]),
             html.P(_("The dashed line is the prominence a novelty peak needs to become a cut (▼). Top lane: the "
                      "slices; bottom lane: after merging. Colours are clusters of this song (one colour = one "
                      "part). The first open of a song takes a few seconds; then every setting is answered "
                      "from a cache."), className="table-note"),
             html.Div(id=ids.LAB_PLAYER), className="card-flush"),
        # an expert corrects the song's stored structure here as on the Songs page (issue #22)
        *([card(None, panel)] if (panel := correction_panel(data, song, panel=LAB)) is not None else []),
        job_done_store(PAGE),
        card(_("Save as scheme"),
             html.P(_("Writes the segments after merging to the store as the scheme lab-<name> for this song; "
                      "the Songs page shows it as a lane. Needs a role that may judge."), className="table-note"),
             html.Div(className="controls-row", children=[
                 control(_("Name"), dcc.Input(id=ids.LAB_SAVE_NAME, type="text", value="", maxLength=40,
                                              placeholder=_("e.g. tight-merge"), debounce=False)),
                 html.Button(_("Save as scheme"), id=ids.LAB_SAVE, className="btn btn-primary"),
             ]),
             html.P(id=ids.LAB_SAVE_STATUS, className="lab-save-status", role="status")),
    ])


_CONTROLS = [Input(ids.LAB_SONG, "value"), Input(ids.LAB_THRESHOLD, "value"), Input(ids.LAB_MIN_SLICE, "value"),
             Input(ids.LAB_MERGE, "value"), Input(ids.LAB_WINDOW, "value"), Input(ids.LAB_K, "value"),
             Input(ids.LAB_MIN_SEGMENT, "value")]


def _params(threshold, min_slice, merge, window, k, min_seconds) -> LabParams:
    return params_from_controls(threshold, min_slice, "merge" in (merge or []), window, k, min_seconds)


@callback(Output(ids.LAB_NOVELTY, "figure"), Output(ids.LAB_LANES, "figure"), Output(ids.LAB_COUNTS, "children"),
          *_CONTROLS)
def _redraw(song, threshold, min_slice, merge, window, k, min_seconds):
    data = get_data()
    if not song or song not in data.songs.index:
        return common_figures.empty_figure(_("Pick a song")), common_figures.empty_figure(""), ""
    try:
        nov, lanes, counts, _unused = lab_view(data, song, _params(threshold, min_slice, merge, window, k,
                                                                   min_seconds))
    except ParameterError as exc:
        return dash.no_update, dash.no_update, _("Invalid setting: %(reason)s", reason=str(exc))
    except (AudioError, StoreError, OSError) as exc:
        message = _("This song's audio cannot be read: %(reason)s", reason=str(exc))
        return common_figures.empty_figure(message), common_figures.empty_figure(""), message
    return nov, lanes, counts


register_corrections(PAGE, LAB, song=ids.LAB_SONG, compare=None, view=None)

# Another song picked: the old song's counts go at once (the server's answer brings the new ones), in
# the browser, so nothing computed for the old song stays on screen while the new one is computed.
clientside_callback(
    """function (song) {
        var el = document.getElementById('%s');
        return el ? (el.dataset.waiting || '') : '';
    }""" % ids.LAB_COUNTS,
    Output(ids.LAB_COUNTS, "children", allow_duplicate=True), Input(ids.LAB_SONG, "value"), prevent_initial_call=True)


@callback(Output(ids.LAB_PLAYER, "children"), Input(ids.LAB_LANES, "clickData"), prevent_initial_call=True)
def _play(click):
    points = (click or {}).get("points") or []
    cd = points[0].get("customdata") if points else None
    if not isinstance(cd, (list, tuple)) or len(cd) < 3:
        return dash.no_update
    data = get_data()
    song = cd[0]
    try:
        start, end = float(cd[1]), float(cd[2])
    except (TypeError, ValueError):
        return dash.no_update
    if song not in data.songs.index or not 0 <= start < end:
        return dash.no_update
    row = data.songs.loc[song]
    return span_player(song, str(row["title"]), start, end, row.get("duration_s"), element_id=ids.LAB_AUDIO,
                       track=str(cd[3]).split(" · ")[0] if len(cd) > 3 else None)


@callback(Output(ids.LAB_SAVE_STATUS, "children"), Output(ids.LAB_SAVE_STATUS, "className"),
          Input(ids.LAB_SAVE, "n_clicks"), State(ids.LAB_SAVE_NAME, "value"), *[State(c.component_id, c.component_property)
                                                                             for c in _CONTROLS],
          prevent_initial_call=True)
def _save(_clicks, name, song, threshold, min_slice, merge, window, k, min_seconds):
    from sectionist.dashboard.auth.context import current_user_or_none

    try:
        params = _params(threshold, min_slice, merge, window, k, min_seconds)
    except ParameterError as exc:
        return _("Invalid setting: %(reason)s", reason=str(exc)), "lab-save-status error"
    ok, message = save_lab_scheme(get_data(), current_user_or_none(), song, name, params)
    return message, "lab-save-status " + ("ok" if ok else "error")
