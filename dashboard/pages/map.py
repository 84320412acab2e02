"""Map: every space on one page — a WebGL scatter of sections, filters, a detail panel, slots A/B."""

from __future__ import annotations

import dash
import numpy as np
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from analysis.glossary import describe, feature_label
from dashboard import downloads, figures, ids
from dashboard.i18n import N_, _, integer, ngettext, number, page_title, plotly_separators
from dashboard.components.common import (
    GRAPH_CONFIG,
    card,
    cluster_chip,
    cluster_names,
    control,
    default_run,
    dropdown,
    empty_state,
    fmt_time,
    page_header,
    run_options,
)
from dashboard.components.detail import PLACED_NOTE, section_detail, section_summary
from dashboard.components.judging import register_judging
from dashboard.components.player import section_player, spectrogram_url
from dashboard.components.selection import click_store, register_box_selection, register_selection
from dashboard.data import get_data
from store.schema import PROJECTION_INFO

PAGE = "map"
dash.register_page(__name__, path="/map", name=N_("Map"), title=page_title(N_("Map")),
                   order=1)

KIND_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
BASE_COLORS = [("cluster", N_("Cluster")), ("song", N_("Song")), ("confidence", N_("Confidence")),
               ("silhouette", N_("Silhouette")), ("stability", N_("Stability"))]


# ---- pure helpers (tested and benchmarked directly) ---------------------------------------------
def projection_options(data, space) -> list[dict]:
    cat = data.projection_catalog
    cat = cat[cat["space"] == space]
    return [{"label": _("%(kind)s · %(dims)s-D", kind=KIND_NAMES.get(k, k), dims=d), "value": f"{k}{d}"}
            for k, d in zip(cat["kind"], cat["dims"])]


def split_projection(value: str) -> tuple[str, int]:
    kind = str(value).rstrip("0123456789")
    return kind, int(str(value)[len(kind):] or 2)


def color_options(data) -> list[dict]:
    opts = [{"label": _(label), "value": v} for v, label in BASE_COLORS]
    # plain names with units (analysis.glossary), the same words the explanations use
    opts += [{"label": _("feature: %(name)s", name=feature_label(f)), "value": f"feature:{f}",
              "title": describe(f).glossary}
             for f in data.feature_names if f != "song_id"]
    return opts


def filter_mask(data, present: np.ndarray, run_id=None, songs=None, clusters=None, central=False,
                confidence=None) -> np.ndarray:
    """Boolean mask over sections for the map's filters."""
    mask = present.copy()
    arr = data.run_arrays(run_id) if run_id else None
    if songs:
        codes = data.songs.index.get_indexer(list(songs))
        mask &= np.isin(data.song_code, codes[codes >= 0])
    if clusters and arr is not None:
        mask &= np.isin(arr.label, np.asarray([int(c) for c in clusters], np.int32))
    if central:
        mask &= data.is_central
    if confidence is not None and arr is not None and (confidence[0] > 0 or confidence[1] < 1):
        conf = arr.confidence
        with np.errstate(invalid="ignore"):
            mask &= (conf >= confidence[0]) & (conf <= confidence[1])
    return mask


def render_map(data, space, projection, run_id=None, color="cluster", songs=None, clusters=None, central=False,
               confidence=None, selected_section=None):
    """The map figure for the controls' values.

    Returns
    -------
    fig : go.Figure
    count : str
        "Showing n of N sections".
    meta : dict
        ``{"ring": index of the selection-ring trace or None, "space", "projection"}``.
    """
    if not space or not projection:
        return figures.empty_figure(_("This store has no projections yet")), "", {"ring": None}
    kind, dims = split_projection(projection)
    proj = data.projection(space, kind, dims)
    if run_id and run_id not in data.runs.index:
        run_id = None
    mask = filter_mask(data, proj.present, run_id, songs, clusters, bool(central), confidence)
    rows = np.flatnonzero(mask)
    xyz = proj.xyz[rows]
    kw = {}
    arr = data.run_arrays(run_id) if run_id else None
    if color == "cluster" and arr is not None:
        kw["labels"] = arr.label[rows]
    elif color == "song":
        kw["categories"] = data.song_code[rows]
    elif color in ("confidence", "silhouette", "stability") and arr is not None:
        kw["values"] = getattr(arr, color)[rows]
        kw["value_name"] = color
    elif isinstance(color, str) and color.startswith("feature:"):
        name = color.split(":", 1)[1]
        if name in data.feature_names:
            kw["values"] = data.feature_values(name)[rows]
            kw["value_name"] = feature_label(name)
    if len(rows) <= figures.HOVER_TEXT_LIMIT:
        kw["hover_text"] = _hover_text(data, rows, arr)
    highlight = None
    pos = data.position(selected_section) if selected_section else None
    if pos is not None:
        i = int(np.searchsorted(rows, pos))
        highlight = i if i < len(rows) and rows[i] == pos else None
    # each cluster's diamond at the medoid of its shown points on this map (figures.cluster_medoids)
    centres = arr is not None and color == "cluster" and data.runs.loc[run_id, "space"] == space
    # selected but filtered out: still ring it where it sits
    ring_point = (proj.xyz[pos], pos) if highlight is None and pos is not None and proj.present[pos] else None
    fig = figures.section_map(xyz, rows, highlight=highlight, centres=centres,
                              axis_titles=figures.map_axis_titles(kind, dims, explained_variance(data, space, kind, dims)),
                              uirevision=f"{space}/{projection}", ring_point=ring_point,
                              cluster_names=cluster_names(data, run_id), **kw)
    ring = len(fig.data) - 1 if len(rows) else None
    total = int(proj.present.sum())
    count = _("Showing %(shown)s of %(total)s sections", shown=integer(len(rows)), total=integer(total))
    return fig, count, {"ring": ring, "space": space, "projection": projection}


def explained_variance(data, space, kind, dims) -> list | None:
    """PCA's explained variance ratio per axis of a map, from ``projection_info`` (None when absent)."""
    if kind != "pca":
        return None
    info = data.table(PROJECTION_INFO)
    if info.empty or "explained_variance_ratio" not in info:
        return None
    row = info[(info["space"] == space) & (info["kind"] == kind) & (info["dims"] == int(dims))]
    if row.empty or row.iloc[0]["explained_variance_ratio"] is None:
        return None
    return [float(v) for v in row.iloc[0]["explained_variance_ratio"]]


def ring_patch(data, meta, selected):
    """A patch that moves the selection ring of the current map to the selected section."""
    if not meta or meta.get("ring") is None or not meta.get("space"):
        return no_update
    kind, dims = split_projection(meta["projection"])
    proj = data.projection(meta["space"], kind, dims)
    pos = data.position((selected or {}).get("section_id"))
    if pos is None or not proj.present[pos]:
        return figures.move_ring(meta["ring"], None, dims == 3)
    return figures.move_ring(meta["ring"], proj.xyz[pos], dims == 3, row=pos)


def _hover_text(data, rows, arr):
    # Plotly markup: the title is data and is escaped (once per song, not per point), the <br> is ours
    escaped = np.array([figures.escape_text(t) for t in data.songs["title"]], dtype=object)
    titles = escaped[data.song_code[rows]]
    starts = data.starts[rows]
    out = [f"{t}<br>{fmt_time(s)}" for t, s in zip(titles, starts)]
    if arr is not None:
        conf = arr.confidence[rows]
        # one translation for every point; the locale's decimal mark put in by hand (fast)
        line, mark = _("confidence %(value)s", value="{value}"), plotly_separators()[0]
        out = [f"{h}<br>" + line.replace("{value}", f"{c:.2f}".replace(".", mark)) if c == c else h
               for h, c in zip(out, conf)]
        if arr.placed is not None and arr.placed[rows].any():
            placed = _(PLACED_NOTE)
            out = [f"{h}<br>{placed}" if p else h for h, p in zip(out, arr.placed[rows])]
    return out


def selected_positions(data, selection) -> np.ndarray:
    """Row positions of the sections in a lasso/box selection (sorted, unique, known).

    Parameters
    ----------
    selection : dict or None
        The browser-resolved selection of ``ids.MAP_SELECTION_ROWS`` (``{"rows": [...]}``, see
        :data:`dashboard.components.selection.SELECTION_TO_ROWS_JS`), or a figure's
        ``selectedData`` whose points carry their section position as ``customdata``.
    """
    selection = selection or {}
    if "rows" in selection:
        raw = selection.get("rows") or []
    else:
        raw = [p.get("customdata") for p in selection.get("points") or [] if isinstance(p, dict)]
    pos = [int(v) for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()]
    return np.unique(np.asarray([p for p in pos if 0 <= p < data.n_sections], np.int64))


def selection_summary(data, selection, run_id, limit: int = 12):
    """Summary of a lasso/box selection: count, clusters, songs, the first sections to play."""
    selection = selection or {}
    active = selection.get("active", True) if "rows" in selection else bool(selection.get("points"))
    if not selection or not active:
        return [html.Div(_("Use the lasso or box tool (in the map's tool bar) to select a group of sections."),
                         className="muted small")]
    pos = selected_positions(data, selection)
    if not len(pos):
        return [html.Div(_("No sections in the selection."), className="muted small")]
    chips = []
    if run_id and run_id in data.runs.index:
        labels = data.run_arrays(run_id).label[pos]
        u, c = np.unique(labels, return_counts=True)
        names = cluster_names(data, run_id)
        chips = [cluster_chip(int(lab), text=f"{figures.cluster_name(lab, names)} · {integer(n)}") for lab, n in
                 sorted(zip(u, c), key=lambda t: -t[1]) if lab >= -1]
    n_songs = len(np.unique(data.song_code[pos]))
    secs = data.sections
    rows = [html.Div(className="list-row", children=[
        html.Button("▶", id=ids.play(PAGE, secs.iloc[p]["section_id"]), className="btn-icon"),
        html.Span(secs.iloc[p]["title"], className="list-main"), html.Span(fmt_time(secs.iloc[p]["start_s"]),
                                                                           className="muted")])
        for p in pos[:limit]]
    if n_songs == 1:
        headline = ngettext("%(sections)s section from 1 song selected", "%(sections)s sections from 1 song selected",
                            len(pos), sections=integer(len(pos)))
    else:
        headline = _("%(sections)s sections from %(songs)s songs selected", sections=integer(len(pos)),
                     songs=integer(n_songs))
    return [html.Div(headline, className="strong"),
            html.Div(chips, className="chips"), html.Div(rows, className="list")]


def slot_view(data, slots: dict | None, run_id=None):
    """Slots A and B side by side: player, spectrogram, cluster, and their distance."""
    slots = slots or {}
    cols = []
    for name in ("A", "B"):
        sid = slots.get(name)
        sec = data.section(sid) if sid else None
        if sec is None:
            cols.append(html.Div(className="slot", children=[
                html.Div(_("Slot %(slot)s", slot=name), className="slot-name"),
                empty_state(_("Select a section, then 'Put in slot %(slot)s'.", slot=name))]))
            continue
        info = section_summary(data, sec["pos"], run_id)
        cols.append(html.Div(className="slot", children=[
            html.Div(className="slot-name", children=[_("Slot %(slot)s", slot=name), cluster_chip(info["cluster"])
                                                     if info["cluster"] is not None else None]),
            section_player(sec, compact=True, run_id=run_id),
            html.Img(src=spectrogram_url(sid), className="spectrogram small",
                     alt=_("spectrogram of %(section)s", section=sid)),
        ]))
    note = None
    a, b = data.section(slots.get("A")) if slots.get("A") else None, data.section(slots.get("B")) if slots.get("B") else None
    if a and b and run_id and run_id in data.runs.index:
        vec = data.space_vectors(data.runs.loc[run_id, "space"])
        if vec is not None:
            X, norms = vec
            if np.isfinite(norms[a["pos"]]) and np.isfinite(norms[b["pos"]]):
                d = float(np.linalg.norm(X[a["pos"]] - X[b["pos"]]))
                note = html.Div(_("Distance between A and B in %(space)s: %(distance)s (standardised units)",
                                  space=data.runs.loc[run_id, "space"], distance=number(d, 2)),
                                className="muted small")
    return [html.Div(cols, className="slots"), note]


# ---- layout -----------------------------------------------------------------------------------------
def layout(section=None, run=None, space=None, **_query):
    data = get_data()
    spaces = data.spaces()
    if section and data.position(section) is not None and run in data.runs.index and not space:
        space = data.runs.loc[run, "space"]
    space = space if space in spaces else (spaces[0] if spaces else None)
    proj_opts = projection_options(data, space) if space else []
    preferred = [o["value"] for o in proj_opts if o["value"] == "umap2"] or [o["value"] for o in proj_opts]
    run = run if run in data.runs.index else default_run(data, space)
    clusters = data.run_arrays(run).clusters if run else ()
    return html.Div(className="page page-map", children=[
        click_store(ids.MAP_GRAPH),
        dcc.Store(id=ids.selected(PAGE), data={"section_id": section if data.position(section) is not None else None,
                                               "run_id": run}),
        dcc.Store(id=ids.MAP_SLOT_STORE, data={}),
        dcc.Store(id=ids.MAP_META, data={}),
        dcc.Store(id=ids.MAP_SELECTION_ROWS, data={}),
        page_header(_("Map"), _("Every section of the corpus in one space; colour, filter, select, listen.")),
        html.Div(className="map-grid", children=[
            html.Aside(className="sidebar", children=[
                card(_("View"),
                     control(_("Space"), dropdown(ids.MAP_SPACE, [{"label": s, "value": s} for s in spaces], space)),
                     control(_("Projection"), dropdown(ids.MAP_KIND, proj_opts, preferred[0] if preferred else None)),
                     control(_("Run (clusters)"), dropdown(ids.MAP_RUN, run_options(data, space), run,
                                                           optionHeight=48)),
                     control(_("Colour by"), dropdown(ids.MAP_COLOR, color_options(data), "cluster"))),
                card(_("Filters"),
                     control(_("Songs"), dcc.Dropdown(id=ids.MAP_SONGS, multi=True, placeholder=_("all songs"),
                                                   options=[{"label": t, "value": s} for s, t in
                                                            zip(data.songs.index, data.songs["title"])])),
                     control(_("Clusters"), dcc.Dropdown(id=ids.MAP_CLUSTERS, multi=True, placeholder=_("all clusters"),
                                                      options=_cluster_options(clusters, cluster_names(data, run)))),
                     control(_("Confidence"), dcc.RangeSlider(id=ids.MAP_CONF, min=0, max=1, step=0.05, value=[0, 1],
                                                           marks={0: "0", 0.5: number(0.5, 1), 1: "1"},
                                                           tooltip={"placement": "bottom"})),
                     dcc.Checklist(id=ids.MAP_CENTRAL, options=[{"label": " " + _("central sections only"), "value": "c"}],
                                   value=[], className="checklist")),
            ]),
            html.Section(className="map-main", children=[
                card(None,
                     html.Div(id=ids.MAP_COUNT, className="muted small map-count"),
                     dcc.Graph(id=ids.MAP_GRAPH, config={**GRAPH_CONFIG, "scrollZoom": True},
                               className="map-graph", style={"height": "640px"},
                               figure=figures.empty_figure(_("Loading…"))),
                     className="card-flush"),
                card(_("Selection"), html.Div(id=ids.MAP_SELECTION), html.Div(className="controls-row", children=[
                    control(_("Export the selection"),
                            dropdown(ids.MAP_EXPORT_KIND, downloads.choices(downloads.SELECTION_KINDS), "xspf")),
                    html.Button(_("Download selection"), id=ids.MAP_EXPORT, className="btn"),
                    dcc.Download(id=ids.MAP_DOWNLOAD)])),
                card(_("Compare by ear: slots A and B"), html.Div(id=ids.MAP_SLOT_VIEW)),
            ]),
            html.Aside(className="detail", children=[
                # the verdict first: on screen as soon as a point is clicked, above the player and details
                card(_("Section"), html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.MAP_DETAIL)),
            ]),
        ]),
    ])


def _cluster_options(clusters, names: dict | None = None):
    return [{"label": figures.cluster_name(c, names), "value": int(c)} for c in clusters]


# ---- callbacks ------------------------------------------------------------------------------------
register_selection(PAGE, graph=ids.MAP_GRAPH, run=ids.MAP_RUN)
register_box_selection(ids.MAP_GRAPH, ids.MAP_SELECTION_ROWS)
register_judging(PAGE)


@callback(Output(ids.MAP_KIND, "options"), Output(ids.MAP_KIND, "value"), Output(ids.MAP_RUN, "options"),
          Output(ids.MAP_RUN, "value"), Input(ids.MAP_SPACE, "value"), State(ids.MAP_KIND, "value"),
          State(ids.MAP_RUN, "value"), prevent_initial_call=True)
def _space_changed(space, kind, run):
    data = get_data()
    opts = projection_options(data, space)
    values = [o["value"] for o in opts]
    if kind not in values:
        kind = "umap2" if "umap2" in values else (values[0] if values else None)
    return opts, kind, run_options(data, space), default_run(data, space)


@callback(Output(ids.MAP_CLUSTERS, "options"), Output(ids.MAP_CLUSTERS, "value"), Input(ids.MAP_RUN, "value"),
          prevent_initial_call=True)
def _run_changed(run):
    data = get_data()
    return _cluster_options(data.run_arrays(run).clusters if run else (), cluster_names(data, run)), []


@callback(Output(ids.MAP_GRAPH, "figure"), Output(ids.MAP_COUNT, "children"), Output(ids.MAP_META, "data"),
          Input(ids.MAP_SPACE, "value"), Input(ids.MAP_KIND, "value"), Input(ids.MAP_RUN, "value"),
          Input(ids.MAP_COLOR, "value"), Input(ids.MAP_SONGS, "value"), Input(ids.MAP_CLUSTERS, "value"),
          Input(ids.MAP_CENTRAL, "value"), Input(ids.MAP_CONF, "value"), State(ids.selected(PAGE), "data"))
def _redraw(space, projection, run, color, songs, clusters, central, confidence, selected):
    return render_map(get_data(), space, projection, run, color, songs, clusters, bool(central), confidence,
                      (selected or {}).get("section_id"))


@callback(Output(ids.MAP_GRAPH, "figure", allow_duplicate=True), Input(ids.selected(PAGE), "data"),
          Input(ids.MAP_META, "data"), prevent_initial_call=True)
def _move_ring(selected, meta):
    # also after each redraw: a selection restored while the map was being drawn gets its ring
    return ring_patch(get_data(), meta, selected)


@callback(Output(ids.MAP_DETAIL, "children"), Input(ids.selected(PAGE), "data"))
def _detail(selected):
    selected = selected or {}
    return section_detail(get_data(), selected.get("section_id"), selected.get("run_id"), PAGE,
                          autoplay=bool(selected.get("autoplay")))


@callback(Output(ids.MAP_SELECTION, "children"), Input(ids.MAP_SELECTION_ROWS, "data"), Input(ids.MAP_RUN, "value"))
def _lasso(selection, run):
    return selection_summary(get_data(), selection, run)


@callback(Output(ids.MAP_SLOT_STORE, "data"), Input(ids.slot(PAGE, ALL), "n_clicks"),
          State(ids.selected(PAGE), "data"), State(ids.MAP_SLOT_STORE, "data"), prevent_initial_call=True)
def _fill_slot(clicks, selected, slots):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []) or not ctx.triggered[0].get("value"):
        return no_update
    sid = (selected or {}).get("section_id")
    if not sid:
        return no_update
    slots = dict(slots or {})
    slots[trig["slot"]] = sid
    return slots


@callback(Output(ids.MAP_SLOT_VIEW, "children"), Input(ids.MAP_SLOT_STORE, "data"), Input(ids.MAP_RUN, "value"))
def _slots(slots, run):
    return slot_view(get_data(), slots, run)


@callback(Output(ids.MAP_DOWNLOAD, "data"), Input(ids.MAP_EXPORT, "n_clicks"), State(ids.MAP_SELECTION_ROWS, "data"),
          State(ids.MAP_RUN, "value"), State(ids.MAP_EXPORT_KIND, "value"), prevent_initial_call=True)
def _download(_clicks, selection, run, kind):
    data = get_data()
    pos = selected_positions(data, selection)
    if not len(pos):
        return no_update
    exp = downloads.export_data(data, [run] if run else [], section_ids=list(data.section_ids[pos]))
    return downloads.download(kind or "xspf", exp, f"selection of {len(pos)} sections",
                              title=_("sectionist: %(count)s selected sections", count=integer(len(pos))))
