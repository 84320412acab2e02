"""The selected section of a page: ``dcc.Store(id=ids.selected(page))`` = {"section_id", "run_id"}
(plus ``"autoplay": True`` when a person clicked it, so the player starts; a selection restored on
page load stays silent).

:func:`register_selection` wires, for one page, the things that select a section (a click on a
figure whose points carry the section position as ``customdata``, the ▶ buttons built with
``ids.play(page, section_id)``, a change of the page's run) to that store, and mirrors it into the
session-wide ``ids.GLOBAL_SELECTION`` so the next page opens on the same section.
"""

from __future__ import annotations

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, no_update

from sectionist.dashboard.ui import ids
from sectionist.dashboard.data.store_data import get_data

#: Browser side of a click: the clicked point's customdata (its section position). dcc.Graph looks
#: customdata up in the figure as sent (gd.data), where a base64 typed array cannot be indexed, so
#: the position is read from plotly's decoded trace (gd._fullData) instead.
CLICK_TO_ROW_JS = """
function(click, graphId) {
    var nu = window.dash_clientside.no_update;
    if (!click || !click.points || !click.points.length) { return nu; }
    var p = click.points[0];
    var cd = p.customdata;
    if (cd === undefined || cd === null) {
        var el = document.getElementById(graphId);
        var gd = el && (el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot'));
        var traces = (gd && gd._fullData) || [];
        var tr = null;
        for (var i = 0; i < traces.length; i++) { if (traces[i].index === p.curveNumber) { tr = traces[i]; } }
        if (tr && tr.customdata && typeof p.pointNumber === 'number') { cd = tr.customdata[p.pointNumber]; }
        // a density cell of the map (a heatmap trace, no section per point): the server opens
        // the section nearest to the clicked point (pages.map._density_click)
        if (tr && tr.type === 'heatmap' && typeof p.x === 'number' && typeof p.y === 'number') {
            return {cell: [p.x, p.y], at: Date.now()};
        }
    }
    if (Array.isArray(cd)) { cd = cd[0]; }
    if (typeof cd !== 'number') { return nu; }
    return {row: cd, at: Date.now()};
}
"""


#: Browser side of a box or lasso selection: the section positions of the selected points. Like a
#: click, the selected points reach Dash without their customdata (the figure sends it as a base64
#: typed array), so each point is resolved through plotly's decoded trace (gd._fullData) by its
#: curveNumber and pointNumber — the trace order of the figure the person actually selected on,
#: whatever filters or hidden clusters shaped it. Points of traces without customdata (the cluster
#: markers) are left out; ``n`` counts every selected point, ``rows`` the sections among them. The box
#: (``range``) or lasso (``lasso``) drawn comes along: on a density map, whose cells are not
#: points, the server selects the sections inside it (data.map_sections.region_positions).
SELECTION_TO_ROWS_JS = """
function(selected, graphId) {
    if (!selected || !selected.points) { return {rows: [], n: 0, active: false}; }
    var el = document.getElementById(graphId);
    var gd = el && (el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot'));
    var traces = (gd && gd._fullData) || [];
    var byIndex = {};
    for (var i = 0; i < traces.length; i++) { byIndex[traces[i].index] = traces[i]; }
    var rows = [];
    var seen = {};
    for (var j = 0; j < selected.points.length; j++) {
        var p = selected.points[j];
        var cd = p.customdata;
        if (cd === undefined || cd === null) {
            var tr = byIndex[p.curveNumber];
            var k = typeof p.pointNumber === 'number' ? p.pointNumber : p.pointIndex;
            if (tr && tr.name !== 'selected' && tr.customdata && typeof k === 'number') { cd = tr.customdata[k]; }
        }
        if (Array.isArray(cd)) { cd = cd[0]; }
        if (typeof cd === 'number' && !seen[cd]) { seen[cd] = true; rows.push(cd); }
    }
    var out = {rows: rows, n: selected.points.length, active: true};
    if (selected.range && selected.range.x && selected.range.y) { out.range = {x: selected.range.x, y: selected.range.y}; }
    if (selected.lassoPoints && selected.lassoPoints.x && selected.lassoPoints.y) {
        out.lasso = {x: selected.lassoPoints.x, y: selected.lassoPoints.y};
    }
    return out;
}
"""


def click_store(graph: str) -> dcc.Store:
    """The store a graph's clicks are written to (put it in the page layout next to the graph)."""
    return dcc.Store(id=ids.click(graph))


def play_pattern(page: str) -> dict:
    """Wildcard id of every ▶ button of ``page``."""
    return ids.play(page, ALL)


def section_from_click(data, click) -> str | None:
    """The section id named by a figure's clickData (first point's customdata = position)."""
    if not click:
        return None
    if "row" in click:  # from CLICK_TO_ROW_JS
        cd = click["row"]
    elif click.get("points"):
        cd = click["points"][0].get("customdata")
    else:
        return None
    if isinstance(cd, (list, tuple)):
        cd = cd[0] if cd else None
    if isinstance(cd, str):
        return cd if data.position(cd) is not None else None
    try:
        pos = int(cd)
    except (TypeError, ValueError):
        return None
    if 0 <= pos < data.n_sections:
        return str(data.section_ids[pos])
    return None


def resolve_selection(data, triggered, *, play_clicks=None, click=None, run=None, glob=None, cur=None):
    """The new value of a page's selection store (pure; the callback's body).

    Parameters
    ----------
    triggered : None, str or dict
        ``ctx.triggered_id``: None on page load, the graph id, the run control id, or a play button's id.
    play_clicks : list
        n_clicks of the page's ▶ buttons (unused except that the triggering one must be > 0).
    click : dict
        clickData of the page's graph.
    run : str
        The page's current run.
    glob, cur : dict
        The session-wide selection and the page's current selection.
    """
    cur = cur or {}
    if triggered is None:
        sid = cur.get("section_id")
        if not sid and glob and data.position(glob.get("section_id")) is not None:
            sid = glob["section_id"]
        return {"section_id": sid, "run_id": run if run is not None else cur.get("run_id")}
    if isinstance(triggered, dict) and triggered.get("type") == ids.PLAY_TYPE:
        if not any(play_clicks or []) or not ctx_value_clicked(triggered, play_clicks):
            return no_update
        sid = triggered.get("section")
        if data.position(sid) is None:
            return no_update
        return {"section_id": sid, "run_id": run if run is not None else cur.get("run_id"), "autoplay": True}
    if triggered == "run":
        return {"section_id": cur.get("section_id"), "run_id": run}
    sid = section_from_click(data, click)
    if sid is None:
        return no_update
    return {"section_id": sid, "run_id": run if run is not None else cur.get("run_id"), "autoplay": True}


def ctx_value_clicked(triggered, play_clicks) -> bool:
    """True when the triggering ▶ button has been clicked (not merely rendered)."""
    try:
        for t in ctx.triggered:
            return bool(t.get("value"))
    except Exception:  # noqa: BLE001 - outside a callback context (tests): trust the clicks list
        pass
    return any(play_clicks or [])


def register_selection(page: str, *, graph: str | None = None, run: str | None = None) -> None:
    """Register the selection callbacks of ``page`` (call it from the page module).

    Parameters
    ----------
    page : str
        Page name (``ids.selected(page)`` must be in its layout).
    graph : str, optional
        Id of a ``dcc.Graph`` whose clicks select (points carry the section position as customdata);
        the layout must hold ``click_store(graph)``.
    run : str, optional
        Id of the page's run control (its ``value`` becomes the selection's ``run_id``).
    """
    inputs = {"play": Input(play_pattern(page), "n_clicks")}
    if graph:
        clientside_callback(CLICK_TO_ROW_JS, Output(ids.click(graph), "data"), Input(graph, "clickData"),
                            State(graph, "id"), prevent_initial_call=True)
        inputs["click"] = Input(ids.click(graph), "data")
    if run:
        inputs["run"] = Input(run, "value")

    run_control = run

    @callback(Output(ids.selected(page), "data"), inputs=inputs,
              state={"glob": State(ids.GLOBAL_SELECTION, "data"), "cur": State(ids.selected(page), "data")})
    def _select(play, glob, cur, click=None, run=None):
        trig = ctx.triggered_id
        if graph is not None and trig == ids.click(graph):
            trig = "graph"
        elif run_control is not None and trig == run_control:
            trig = "run"
        return resolve_selection(get_data(), trig, play_clicks=play, click=click, run=run, glob=glob, cur=cur)

    @callback(Output(ids.GLOBAL_SELECTION, "data", allow_duplicate=True), Input(ids.selected(page), "data"),
              prevent_initial_call=True)
    def _share(sel):
        if not sel or not sel.get("section_id"):
            return no_update
        return {"section_id": sel["section_id"], "run_id": sel.get("run_id")}


def register_box_selection(graph: str, store: str) -> None:
    """Resolve ``graph``'s box/lasso selection to section positions in ``store`` (a ``dcc.Store`` in
    the page layout): ``{"rows": [positions], "n": selected points, "active": bool}``.

    Server callbacks read the store instead of ``selectedData``, whose points carry no customdata.
    Plotly offers box and lasso selection on 2-D maps only (a 3-D scene orbits instead).
    """
    clientside_callback(SELECTION_TO_ROWS_JS, Output(store, "data"), Input(graph, "selectedData"),
                        State(graph, "id"), prevent_initial_call=True)
