"""Map: every space on one page — a WebGL scatter of sections, filters, a detail panel, slots A/B."""

from __future__ import annotations

import json

import dash
import numpy as np
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from sectionist.analysis.glossary import describe, feature_label, feature_order_key
from sectionist.dashboard.media import downloads
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import common as common_figures, map as map_figures, palette
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, plotly_separators
from sectionist.dashboard.ui.components.common import GRAPH_CONFIG, graph_config, card, cluster_chip, cluster_names, control, default_run, dropdown, empty_state, fmt_time, page_header, register_song_search, run_options, song_options
from sectionist.dashboard.ui.components.detail import PLACED_NOTE, section_detail, section_summary
from sectionist.dashboard.ui.components.judging import register_judging
from sectionist.dashboard.ui.components.player import section_player, spectrogram_url
from sectionist.dashboard.ui.components.selection import click_store, register_box_selection, register_selection
from sectionist.dashboard.ui.components.song_legend import register_song_legend, song_styles
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.data.density import (DENSITY_GRID, density_grid, medoid_sample, stratified_sample,
                                               view_from_relayout, window_mask)
from sectionist.dashboard.data.map_sections import (density_click_position, explained_variance, filter_mask,
                                                    map_selection_positions, split_projection)

PAGE = "map"
dash.register_page(__name__, path="/map", name=N_("Map"), title=page_title(N_("Map")),
                   order=1)

KIND_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
BASE_COLORS = [("cluster", N_("Cluster")), ("song", N_("Song")), ("confidence", N_("Confidence")),
               ("silhouette", N_("Silhouette")), ("stability", N_("Stability"))]


# ---- the controls' options ---------------------------------------------------------------------
def projection_options(data, space) -> list[dict]:
    cat = data.projection_catalog
    cat = cat[cat["space"] == space]
    return [{"label": _("%(kind)s · %(dims)s-D", kind=KIND_NAMES.get(k, k), dims=d), "value": f"{k}{d}"}
            for k, d in zip(cat["kind"], cat["dims"])]


def color_options(data) -> list[dict]:
    opts = [{"label": _(label), "value": v} for v, label in BASE_COLORS]
    # plain names with units (sectionist.analysis.glossary), the same words the explanations use
    opts += [{"label": _("feature: %(name)s", name=feature_label(f, _)), "value": f"feature:{f}",
              "title": describe(f, _).glossary}
             for f in sorted(data.feature_names, key=feature_order_key) if f != "song_id"]
    return opts


# ---- the map at scale: density cells past a point count, points again when zoomed in --------------
#: Past this many points after the filters, a 2-D map is binned on the server into density cells
#: (:func:`render_density`) and a 3-D map shows a stratified sample (of this many points, at most
#: :data:`MAX_3D_POINTS`); zooming
#: a 2-D map into a window that holds at most this many draws them again one by one. A parameter
#: of :func:`render_map` (``density_threshold``); this module value is the app's default: 100 000
#: points (x, y and the section of each travel as binary arrays, ~16 bytes a point in JSON) keep
#: a response under 2 MB.
DENSITY_THRESHOLD = 100_000
#: Mode-bar buttons the map leaves out: those of every graph but Autoscale, which zooms a density
#: map out to all of it again (a double click selects in lasso mode; "Reset axes" returns to the
#: window a zoom was drawn for).
MAP_MODEBAR_REMOVE = [b for b in GRAPH_CONFIG["modeBarButtonsToRemove"] if b != "autoScale2d"]
#: Points a 3-D map draws at most (a stratified sample past it): x, y, z and the section of each
#: travel as binary arrays, 16 bytes a point (base64: ~21), so 60 000 points stay under 2 MB of JSON.
MAX_3D_POINTS = 60_000


def points_limit(threshold: int, color) -> int:
    """The most points a 2-D map draws one by one for ``threshold`` and colouring ``color``: a map
    coloured by a value (confidence, silhouette, stability, a feature) sends a float32 more per
    point (16 bytes instead of 12), so it keeps to ¾ of the threshold to stay under the same size."""
    valued = color in ("confidence", "silhouette", "stability") or (isinstance(color, str)
                                                                    and color.startswith("feature:"))
    return int(threshold) * 3 // 4 if valued else int(threshold)


def _density_filters(run_id, color, songs, clusters, central, confidence) -> dict:
    return {"run": run_id, "color": color, "songs": list(songs or []) or None,
            "clusters": list(clusters or []) or None, "central": bool(central),
            "confidence": list(confidence) if confidence is not None else None}


def _density_revision(space, projection, filters) -> str:
    # a new filter resets the zoom of a density map (its cells were binned for the old view)
    import hashlib

    key = json.dumps(filters, sort_keys=True, default=str).encode()
    return f"{space}/{projection}/density/{hashlib.sha1(key).hexdigest()[:10]}"


def render_density(data, proj, mask: np.ndarray, *, space, projection, run_id=None, color="cluster",
                   selected_section=None, view=None, filters=None, threshold=DENSITY_THRESHOLD,
                   bins: int = DENSITY_GRID, base_threshold=None):
    """The 2-D map as density cells (:func:`density_grid`, :func:`map_figures.density_map`) of the
    sections in ``mask`` (already filtered and, when zoomed, windowed to ``view``).

    Colour by cluster: each cell in its majority cluster's colour, shaded by density, with the
    clusters' medoid diamonds; by a value (confidence, a feature): its mean per cell; by song or
    nothing: the count per cell. Returns ``(fig, count, meta)`` like :func:`render_map`; ``meta``
    also carries ``density``, ``view``, ``filters``, ``threshold`` and the grid geometry, which a
    click on a cell, a box/lasso selection (:mod:`sectionist.dashboard.data.map_sections`) and a
    zoom (:func:`zoom_redraw`) are answered from.
    """
    kind, dims = split_projection(projection)
    rows = np.flatnonzero(mask)
    xy = proj.xyz[rows, :2]
    arr = data.run_arrays(run_id) if run_id else None
    names = cluster_names(data, run_id)
    kw, value_name, centres = {}, "", None
    if color == "cluster" and arr is not None:
        kw["labels"] = arr.label[rows]
    elif color in ("confidence", "silhouette", "stability") and arr is not None:
        kw["values"], value_name = getattr(arr, color)[rows], color
    elif isinstance(color, str) and color.startswith("feature:") and color.split(":", 1)[1] in data.feature_names:
        name = color.split(":", 1)[1]
        kw["values"], value_name = data.feature_values(name)[rows], feature_label(name, _)
    grid = density_grid(xy, bins=bins, extent=view, **kw)
    if "labels" in kw and data.runs.loc[run_id, "space"] == space:
        centres = map_figures.centre_traces(*medoid_sample(xy, kw["labels"]), names)
    pos = data.position(selected_section) if selected_section else None
    ring_point = (proj.xyz[pos], pos) if pos is not None and proj.present[pos] else None
    revision = _density_revision(space, projection, filters or {})
    fig = map_figures.density_map(grid, clusters=grid.get("clusters"), cluster_names=names, value_name=value_name,
                                  hover=_("Click to open the section nearest to here"),
                                  count_title=_("sections per cell"), name=_("density"), centres=centres,
                                  ring_point=ring_point,
                                  axis_titles=map_figures.map_axis_titles(kind, dims,
                                                                          explained_variance(data, space, kind, dims)),
                                  uirevision=revision)
    total = int(proj.present.sum())
    if view is None:
        count = _("Showing %(shown)s of %(total)s sections as density: more than %(limit)s points; zoom in "
                  "to see single sections", shown=integer(len(rows)), total=integer(total),
                  limit=integer(threshold))
    else:
        count = _("Zoomed in: %(shown)s sections in this window, still more than %(limit)s points; zoom in "
                  "further to see single sections", shown=integer(len(rows)), limit=integer(threshold))
    meta = {"ring": len(fig.data) - 1, "space": space, "projection": projection, "density": True,
            "view": list(view) if view is not None else None, "filters": filters,
            "threshold": int(threshold if base_threshold is None else base_threshold),
            "grid": {k: grid[k] for k in ("x0", "y0", "dx", "dy")}}
    return fig, count, meta


def _finish_points_view(fig, count, meta, *, n_shown, view, space, projection, filters, threshold, sample_note,
                        n_matching=0, total=0, base_threshold=None):
    """``render_map``'s answer when it drew points of a density-sized map: the points of a zoomed-in
    window (density meta kept, so a zoom out bins again), or a 3-D sample (noted in the count)."""
    if view is not None:
        x0, x1, y0, y1 = (float(v) for v in view)
        fig.update_layout(xaxis_range=[min(x0, x1), max(x0, x1)], yaxis_range=[min(y0, y1), max(y0, y1)],
                          uirevision=_density_revision(space, projection, filters))
        count = _("Zoomed in: showing the %(shown)s sections in this window; zoom out (mouse wheel, or the "
                  "tool bar's Autoscale) to see the density of all of them", shown=integer(n_shown))
        meta.update(density=True, view=[x0, x1, y0, y1], filters=filters,
                    threshold=int(threshold if base_threshold is None else base_threshold))
    if sample_note:
        count = _("Showing a sample of %(shown)s of the %(matching)s matching sections (%(total)s in all): a "
                  "3-D map draws at most %(limit)s points, the same share of every cluster; filter to see all",
                  shown=integer(n_shown), matching=integer(n_matching), total=integer(total),
                  limit=integer(threshold))
    return fig, count, meta


def zoom_redraw(data, relayout, meta, selected_section=None):
    """The map again after a zoom or pan of a density map (``meta["density"]``): the points of the
    window when it holds at most the threshold, else its density cells; all of the map on a
    zoom out. ``(no_update,) * 3`` when the map is not a density map or no range changed."""
    meta = meta or {}
    if not meta.get("density") or not meta.get("space"):
        return no_update, no_update, no_update
    view = view_from_relayout(relayout, meta.get("view"))
    if view is False or view == meta.get("view"):
        return no_update, no_update, no_update
    if view is not None and any(abs(v) >= 1e30 for v in view):  # one axis zoomed: the other spans the map
        kind, dims = split_projection(meta["projection"])
        xyz = data.projection(meta["space"], kind, dims).xyz
        ext = [np.nanmin(xyz[:, 0]), np.nanmax(xyz[:, 0]), np.nanmin(xyz[:, 1]), np.nanmax(xyz[:, 1])]
        view = [float(e) if abs(v) >= 1e30 else v for v, e in zip(view, ext)]
    f = meta.get("filters") or {}
    return render_map(data, meta["space"], meta["projection"], f.get("run"), f.get("color", "cluster"),
                      f.get("songs"), f.get("clusters"), bool(f.get("central")), f.get("confidence"),
                      selected_section, view=view, density_threshold=meta.get("threshold"))


def render_map(data, space, projection, run_id=None, color="cluster", songs=None, clusters=None, central=False,
               confidence=None, selected_section=None, view=None, density_threshold=None):
    """The map figure for the controls' values.

    Past ``density_threshold`` points (default :data:`DENSITY_THRESHOLD`) a 2-D map is drawn as
    density cells (:func:`render_density`), and a 3-D map as a stratified sample of that many (at
    most :data:`MAX_3D_POINTS`).
    ``view`` (``[x0, x1, y0, y1]``, from a zoom) restricts such a density map to a window: its
    points are drawn one by one again when the window holds at most the threshold. Below the
    threshold ``view`` is ignored (the browser zooms the points it has).

    Returns
    -------
    fig : go.Figure
    count : str
        "Showing n of N sections".
    meta : dict
        ``{"ring": index of the selection-ring trace or None, "space", "projection"}``.
    """
    if not space or not projection:
        return common_figures.empty_figure(_("This store has no projections yet")), "", {"ring": None}
    kind, dims = split_projection(projection)
    proj = data.projection(space, kind, dims)
    if run_id and run_id not in data.runs.index:
        run_id = None
    mask = filter_mask(data, proj.present, run_id, songs, clusters, bool(central), confidence)
    base_threshold = DENSITY_THRESHOLD if density_threshold is None else int(density_threshold)
    threshold = points_limit(base_threshold, color)
    filters = _density_filters(run_id, color, songs, clusters, central, confidence)
    dense = dims == 2 and int(np.count_nonzero(mask)) > threshold
    view = [float(v) for v in view] if dense and view is not None else None
    if view is not None:
        mask &= window_mask(proj.xyz, view)
    if dense and int(np.count_nonzero(mask)) > threshold:
        return render_density(data, proj, mask, space=space, projection=projection, run_id=run_id, color=color,
                              selected_section=selected_section, view=view, filters=filters, threshold=threshold,
                              base_threshold=base_threshold)
    rows = np.flatnonzero(mask)
    cap_3d = min(base_threshold, MAX_3D_POINTS)
    sample_note = dims == 3 and len(rows) > cap_3d
    n_matching = len(rows)
    if sample_note:  # a 3-D scene of a million points is not drawable: the same share of each cluster
        strata = data.run_arrays(run_id).label[rows] if run_id else np.zeros(len(rows), np.int8)
        rows = stratified_sample(rows, strata, cap_3d)
        threshold = cap_3d
    xyz = proj.xyz[rows]
    kw = {}
    arr = data.run_arrays(run_id) if run_id else None
    if color == "cluster" and arr is not None:
        kw["labels"] = arr.label[rows]
    elif color == "song":
        kw.update(categories=data.song_code[rows], **song_styles(data))  # the legend under the map: same colours
    elif color in ("confidence", "silhouette", "stability") and arr is not None:
        kw["values"] = getattr(arr, color)[rows]
        kw["value_name"] = color
    elif isinstance(color, str) and color.startswith("feature:"):
        name = color.split(":", 1)[1]
        if name in data.feature_names:
            kw["values"] = data.feature_values(name)[rows]
            kw["value_name"] = feature_label(name, _)
    if len(rows) <= map_figures.HOVER_TEXT_LIMIT:
        kw["hover_text"] = _hover_text(data, rows, arr)
    highlight = None
    pos = data.position(selected_section) if selected_section else None
    if pos is not None:
        i = int(np.searchsorted(rows, pos))
        highlight = i if i < len(rows) and rows[i] == pos else None
    # each cluster's diamond at the medoid of its shown points on this map (map_figures.cluster_medoids)
    centres = arr is not None and color == "cluster" and data.runs.loc[run_id, "space"] == space
    # selected but filtered out: still ring it where it sits
    ring_point = (proj.xyz[pos], pos) if highlight is None and pos is not None and proj.present[pos] else None
    fig = map_figures.section_map(xyz, rows, highlight=highlight, centres=centres,
                                  axis_titles=map_figures.map_axis_titles(kind, dims, explained_variance(data, space, kind, dims)),
                                  uirevision=f"{space}/{projection}", ring_point=ring_point,
                                  cluster_names=cluster_names(data, run_id), **kw)
    ring = len(fig.data) - 1 if len(rows) else None
    total = int(proj.present.sum())
    count = _("Showing %(shown)s of %(total)s sections", shown=integer(len(rows)), total=integer(total))
    meta = {"ring": ring, "space": space, "projection": projection}
    if view is not None or sample_note:
        return _finish_points_view(fig, count, meta, n_shown=len(rows), view=view, space=space,
                                   projection=projection, filters=filters, threshold=threshold,
                                   sample_note=sample_note, n_matching=n_matching, total=total,
                                   base_threshold=base_threshold)
    return fig, count, meta


def ring_patch(data, meta, selected):
    """A patch that moves the selection ring of the current map to the selected section."""
    if not meta or meta.get("ring") is None or not meta.get("space"):
        return no_update
    kind, dims = split_projection(meta["projection"])
    proj = data.projection(meta["space"], kind, dims)
    pos = data.position((selected or {}).get("section_id"))
    if pos is None or not proj.present[pos]:
        return map_figures.move_ring(meta["ring"], None, dims == 3)
    return map_figures.move_ring(meta["ring"], proj.xyz[pos], dims == 3, row=pos)


def _hover_text(data, rows, arr):
    # Plotly markup: the title is data and is escaped (once per song, not per point), the <br> is ours
    escaped = np.array([common_figures.escape_text(t) for t in data.songs["title"]], dtype=object)
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


def _selection_pager():
    return html.Div(id=ids.MAP_SELECTION_PAGER, className="controls-row", style={"display": "none"}, children=[
        dcc.Store(id=ids.MAP_SELECTION_PAGE, data=0),
        html.Button("‹", id=ids.MAP_SELECTION_PREV, className="btn-icon", title=_("Previous sections")),
        html.Button("›", id=ids.MAP_SELECTION_NEXT, className="btn-icon", title=_("Next sections"))])


def selection_page(data, selection, meta, page, step: int) -> int:
    """The page of the selection list after a ‹ (``step`` -1) or › (+1), kept within the selection."""
    n = len(map_selection_positions(data, selection, meta)) if selection else 0
    last = max(0, -(-n // SELECTION_PAGE_SIZE) - 1)
    return int(min(max(0, int(page or 0) + step), last))


#: Sections listed per page of the selection card.
SELECTION_PAGE_SIZE = 12


def selection_summary(data, selection, run_id, limit: int = SELECTION_PAGE_SIZE, meta=None, page: int = 0):
    """Summary of a lasso/box selection: count, clusters, songs, one page of its sections to play
    (``page`` of ``limit``; the list is paged on the server, never sent whole).

    On a density map (``meta["density"]``) the box or lasso is resolved on the server
    (:func:`map_selection_positions`): every filtered section inside it, not only drawn points.
    """
    selection = selection or {}
    active = selection.get("active", True) if "rows" in selection else bool(selection.get("points"))
    if not selection or not active:
        return [html.Div(_("Use the lasso or box tool (in the map's tool bar) to select a group of sections."),
                         className="muted small")]
    pos = map_selection_positions(data, selection, meta)
    if not len(pos):
        return [html.Div(_("No sections in the selection."), className="muted small")]
    last = -(-len(pos) // limit) - 1
    page = min(max(0, int(page or 0)), last)
    page_rows = slice(page * limit, (page + 1) * limit)
    shown = _("Sections %(first)s–%(last)s of %(count)s", first=integer(page * limit + 1),
              last=integer(min(len(pos), (page + 1) * limit)), count=integer(len(pos)))
    chips = []
    if run_id and run_id in data.runs.index:
        labels = data.run_arrays(run_id).label[pos]
        u, c = np.unique(labels, return_counts=True)
        names = cluster_names(data, run_id)
        chips = [cluster_chip(int(lab), text=f"{palette.cluster_name(lab, names)} · {integer(n)}") for lab, n in
                 sorted(zip(u, c), key=lambda t: -t[1]) if lab >= -1]
    n_songs = len(np.unique(data.song_code[pos]))
    secs = data.sections
    rows = [html.Div(className="list-row", children=[
        html.Button("▶", id=ids.play(PAGE, secs.iloc[p]["section_id"]), className="btn-icon"),
        html.Span(secs.iloc[p]["title"], className="list-main"), html.Span(fmt_time(secs.iloc[p]["start_s"]),
                                                                           className="muted")])
        for p in pos[page_rows]]
    if n_songs == 1:
        headline = ngettext("%(sections)s section from 1 song selected", "%(sections)s sections from 1 song selected",
                            len(pos), sections=integer(len(pos)))
    else:
        headline = _("%(sections)s sections from %(songs)s songs selected", sections=integer(len(pos)),
                     songs=integer(n_songs))
    return [html.Div(headline, className="strong"),
            html.Div(chips, className="chips"), html.Div(rows, className="list"),
            html.Div(shown, className="muted small")]


def slot_view(data, slots: dict | None, run_id=None):
    """Slots A and B side by side: player, spectrogram, cluster, and their distance."""
    slots = slots or {}
    cols = []
    names = cluster_names(data, run_id)  # the names every page shows: experts' first, else descriptive
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
            html.Div(className="slot-name", children=[_("Slot %(slot)s", slot=name), cluster_chip(info["cluster"], names=names)
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
                                                   options=song_options(data))),
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
                     dcc.Graph(id=ids.MAP_GRAPH, config=graph_config(scrollZoom=True, modeBarButtonsToRemove=MAP_MODEBAR_REMOVE),
                               className="map-graph", style={"height": "640px"},
                               figure=common_figures.empty_figure(_("Loading…"))),
                     html.Div(id=ids.MAP_SONG_LEGEND), className="card-flush"),
                card(_("Selection"), html.Div(id=ids.MAP_SELECTION), _selection_pager(),
                     html.Div(className="controls-row", children=[
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
    return [{"label": palette.cluster_name(c, names), "value": int(c)} for c in clusters]


# ---- callbacks ------------------------------------------------------------------------------------
register_selection(PAGE, graph=ids.MAP_GRAPH, run=ids.MAP_RUN)
register_box_selection(ids.MAP_GRAPH, ids.MAP_SELECTION_ROWS)
register_song_search(ids.MAP_SONGS)
register_song_legend()
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
    return tap_scrolls(render_map(get_data(), space, projection, run, color, songs, clusters, bool(central), confidence, (selected or {}).get("section_id")))


def tap_scrolls(answer):
    """``answer``'s map brings the detail into view when tapped on a phone (assets/narrow.js)."""
    if isinstance(answer, tuple) and hasattr(answer[0], "layout"):
        answer[0].layout.meta = {**(answer[0].layout.meta or {}), "scroll_to": ids.MAP_DETAIL}
    return answer


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


def pager_style(data, selection, meta) -> dict:
    """The selection pager's style: shown only when the selection fills more than one page."""
    active = bool(selection) and (selection.get("active", True) if "rows" in selection else bool(selection.get("points")))
    n = len(map_selection_positions(data, selection, meta)) if active else 0
    return {} if n > SELECTION_PAGE_SIZE else {"display": "none"}


@callback(Output(ids.MAP_SELECTION, "children"), Output(ids.MAP_SELECTION_PAGER, "style"),
          Input(ids.MAP_SELECTION_ROWS, "data"), Input(ids.MAP_RUN, "value"),
          Input(ids.MAP_SELECTION_PAGE, "data"), State(ids.MAP_META, "data"))
def _lasso(selection, run, page, meta):
    data = get_data()
    return (selection_summary(data, selection, run, meta=meta, page=page or 0),
            pager_style(data, selection or {}, meta))


@callback(Output(ids.MAP_SELECTION_PAGE, "data"), Input(ids.MAP_SELECTION_PREV, "n_clicks"),
          Input(ids.MAP_SELECTION_NEXT, "n_clicks"), Input(ids.MAP_SELECTION_ROWS, "data"),
          State(ids.MAP_SELECTION_PAGE, "data"), State(ids.MAP_META, "data"), prevent_initial_call=True)
def _selection_page(_prev, _next, selection, page, meta):
    trig = ctx.triggered_id
    if trig not in (ids.MAP_SELECTION_PREV, ids.MAP_SELECTION_NEXT):
        return 0  # a new selection starts at its first page
    return selection_page(get_data(), selection, meta, page, -1 if trig == ids.MAP_SELECTION_PREV else 1)


@callback(Output(ids.MAP_GRAPH, "figure", allow_duplicate=True), Output(ids.MAP_COUNT, "children", allow_duplicate=True),
          Output(ids.MAP_META, "data", allow_duplicate=True), Input(ids.MAP_GRAPH, "relayoutData"),
          State(ids.MAP_META, "data"), State(ids.selected(PAGE), "data"), prevent_initial_call=True)
def _zoom(relayout, meta, selected):
    # a density map draws its points again inside a small enough window (zoom_redraw)
    return tap_scrolls(zoom_redraw(get_data(), relayout, meta, (selected or {}).get("section_id")))


@callback(Output(ids.click(ids.MAP_GRAPH), "data", allow_duplicate=True), Input(ids.click(ids.MAP_GRAPH), "data"),
          State(ids.MAP_META, "data"), prevent_initial_call=True)
def _density_click(click, meta):
    # a click on a density cell (components.selection.CLICK_TO_ROW_JS: {"cell": [x, y]}) opens the
    # section nearest to it: answered as a click on that section's point
    if not isinstance(click, dict) or not isinstance(click.get("cell"), (list, tuple)) or len(click["cell"]) != 2:
        return no_update
    pos = density_click_position(get_data(), meta, *click["cell"])
    return no_update if pos is None else {"row": pos, "at": click.get("at")}


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
          State(ids.MAP_RUN, "value"), State(ids.MAP_EXPORT_KIND, "value"), State(ids.MAP_META, "data"),
          prevent_initial_call=True)
def _download(_clicks, selection, run, kind, meta):
    data = get_data()
    pos = map_selection_positions(data, selection, meta)
    if not len(pos):
        return no_update
    exp = downloads.export_data(data, [run] if run else [], section_ids=list(data.section_ids[pos]))
    return downloads.download(kind or "xspf", exp, f"selection of {len(pos)} sections",
                              title=_("sectionist: %(count)s selected sections", count=integer(len(pos))))
