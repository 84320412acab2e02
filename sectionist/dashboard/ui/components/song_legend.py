"""The Map's legend when it is coloured by song: each song shown, its colour and its title.

The map draws one trace per song (:func:`sectionist.dashboard.ui.figures.map.category_traces`) in
the colours of :func:`sectionist.dashboard.ui.figures.palette.song_colors`; this legend lists the
same colours under the map as HTML (a folding list that wraps into columns and scrolls, so 34 long
titles neither squeeze the plot on a laptop nor push it off a phone's screen). It follows every
redraw (``ids.MAP_META``), so it lists the songs the filters leave.
"""

from __future__ import annotations

import numpy as np
from dash import Input, Output, State, callback, html

from sectionist.dashboard.data.map_sections import filter_mask, split_projection
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures.map import CATEGORY_TRACES_LIMIT
from sectionist.dashboard.ui.figures.palette import song_colors
from sectionist.dashboard.ui.i18n import _, integer, ngettext


def song_styles(data) -> dict:
    """``category_names`` (titles by song code) and ``category_colors`` (colours by song code) for
    :func:`sectionist.dashboard.ui.figures.map.section_map`; kept per store version."""
    def compute():
        titles = [str(t) for t in data.songs["title"]]
        return {"category_names": titles, "category_colors": song_colors(len(titles))}

    return data.memo("song-styles", None, compute)


def song_legend(data, codes) -> list:
    """The legend of the songs ``codes`` (song codes shown on the map, any order): a folding list
    of colour swatches and titles in title order; a note instead past :data:`CATEGORY_TRACES_LIMIT`
    songs (their colours repeat: filter the songs to tell them apart)."""
    codes = sorted({int(c) for c in codes})
    if not codes:
        return []
    if len(codes) > CATEGORY_TRACES_LIMIT:
        return [html.P(_("%(count)s songs on the map: too many to tell apart by colour; pick a few under "
                         "Filters › Songs to see which is which.", count=integer(len(codes))),
                       className="muted small song-legend-note")]
    styles = song_styles(data)
    names, colors = styles["category_names"], styles["category_colors"]
    items = [html.Li(className="song-legend-item", title=names[c], children=[
        html.Span(className="song-swatch", style={"background": colors[c]}), html.Span(names[c])]) for c in codes]
    return [html.Details(open=True, className="song-legend", children=[
        html.Summary(ngettext("Colour of the %(num)d song shown", "Colours of the %(num)d songs shown", len(codes))),
        html.Ul(items, className="song-legend-list")])]


def legend_children(data, meta, color, run, songs, clusters, central, confidence) -> list:
    """The legend under the map for the map just drawn (``meta``: :func:`sectionist.dashboard.pages.map.render_map`'s):
    empty unless it is coloured by song; a note when it is drawn as density cells (counts, not
    songs); else :func:`song_legend` of the songs its filters (and zoom window) leave."""
    meta = meta or {}
    if color != "song" or not meta.get("space") or not meta.get("projection"):
        return []
    if meta.get("grid"):
        return [html.P(_("Too many sections to colour by song: the map shows how many sections each cell holds. "
                         "Zoom in, or pick songs under Filters, to see them by song."),
                       className="muted small song-legend-note")]
    f = meta.get("filters") or {"run": run, "songs": songs, "clusters": clusters, "central": central,
                                 "confidence": confidence}
    kind, dims = split_projection(meta["projection"])
    proj = data.projection(meta["space"], kind, dims)
    run_id = f.get("run") if f.get("run") in data.runs.index else None
    mask = filter_mask(data, proj.present, run_id, f.get("songs"), f.get("clusters"), bool(f.get("central")),
                       f.get("confidence"))
    if meta.get("view"):
        from sectionist.dashboard.data.density import window_mask

        mask &= window_mask(proj.xyz, meta["view"])
    return song_legend(data, np.unique(data.song_code[mask]))


def register_song_legend() -> None:
    """The callback that redraws the legend after each redraw of the map."""
    @callback(Output(ids.MAP_SONG_LEGEND, "children"), Input(ids.MAP_META, "data"), State(ids.MAP_COLOR, "value"),
              State(ids.MAP_RUN, "value"), State(ids.MAP_SONGS, "value"), State(ids.MAP_CLUSTERS, "value"),
              State(ids.MAP_CENTRAL, "value"), State(ids.MAP_CONF, "value"))
    def _song_legend(meta, color, run, songs, clusters, central, confidence):
        return legend_children(get_data(), meta, color, run, songs, clusters, bool(central), confidence)
