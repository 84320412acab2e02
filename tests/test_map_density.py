"""The map at scale: density cells past a point threshold, points again when zoomed in, a click on a
cell opens a section, box/lasso selections resolved on the server, 3-D samples, paged lists.

The threshold is a parameter: a 2 400-section store with a threshold of 2 000 points stands in for a
million sections with the app's 100 000 (bench/dashboard.py measures the real size).
"""

from __future__ import annotations

import numpy as np
import plotly.io.json as pj
import pytest
from synthetic_store import RUNS, build_synthetic_store

from sectionist.dashboard.data.store_data import StoreData
from sectionist.dashboard.data import density, map_sections

N = 2400
LIMIT = 2000
RUN = RUNS[0][0]  # kmeans on classical17
SPACE = "classical17"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("density") / "store"
    return build_synthetic_store(root, n_sections=N, sections_per_song=20, part_per_song=False, melspec=False,
                                 random_state=3)


@pytest.fixture(scope="module")
def data(store):
    return StoreData(store.uri, check_interval=0.0)


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('density-db') / 'users.sqlite'}"
    return create_app(store.uri, db_url=db, secret_key="d" * 40)


@pytest.fixture(scope="module")
def map_page(app):
    from sectionist.dashboard.pages import map as map_page

    return map_page


def _types(fig):
    return [t.type for t in fig.data]


def _json(obj) -> str:
    return pj.to_json_plotly(obj)


# ---- below the threshold nothing changes --------------------------------------------------------
def test_below_the_threshold_the_map_is_unchanged(map_page, data):
    plain = map_page.render_map(data, SPACE, "umap2", RUN, "cluster")
    high = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=10 * N,
                               view=[-1, 1, -1, 1])  # a view is ignored below the threshold
    assert N < map_page.DENSITY_THRESHOLD
    assert _json(plain[0]) == _json(high[0])
    assert plain[1] == high[1] == f"Showing {N:,} of {N:,} sections"
    assert plain[2] == high[2] == {"ring": len(plain[0].data) - 1, "space": SPACE, "projection": "umap2"}
    assert "heatmap" not in _types(plain[0]) and "scattergl" in _types(plain[0])


# ---- density past the threshold ------------------------------------------------------------------
def test_density_switches_on_above_the_threshold(map_page, data):
    fig, count, meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=LIMIT)
    types = _types(fig)
    assert types[0] == "heatmap" and "scattergl" in types[-1:]  # the selection ring stays last
    assert meta["density"] is True and meta["view"] is None and meta["threshold"] == LIMIT
    assert meta["ring"] == len(fig.data) - 1
    assert "as density" in count and f"{N:,}" in count
    heat = fig.data[0]
    z = np.asarray(heat.z)
    assert z.shape == (density.DENSITY_GRID, density.DENSITY_GRID)
    # every code names a cluster shade (0 = empty cell); cluster colours keyed in the legend
    clusters = data.run_arrays(RUN).clusters
    assert z.max() <= len(clusters) * 3 and (z > 0).sum() > 0
    legend = [t.name for t in fig.data if t.type == "scatter" and t.showlegend]
    assert len([n for n in legend if "centre" not in n]) >= len(clusters)
    # medoid diamonds are drawn as on the point map
    assert any(t.name == f"centre {clusters[0]}" for t in fig.data)
    # no per-section array travels: one byte per cell, whatever the number of sections
    assert heat.z.dtype == np.uint8 and len(_json(fig)) < 300_000


def test_density_cells_count_every_filtered_section(map_page, data):
    clusters = list(data.run_arrays(RUN).clusters[:4])
    mask = map_sections.filter_mask(data, data.projection(SPACE, "umap", 2).present, RUN, clusters=clusters)
    fig, _c, meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", clusters=clusters,
                                        density_threshold=LIMIT // 2)
    assert meta["density"] and meta["filters"]["clusters"] == clusters
    grid = density.density_grid(data.projection(SPACE, "umap", 2).xyz[mask], labels=data.run_arrays(RUN).label[mask])
    assert grid["counts"].sum() == mask.sum()
    assert set(grid["clusters"]) == set(clusters)


def test_density_colourings_by_value_and_by_count(map_page, data):
    fig, _c, _m = map_page.render_map(data, SPACE, "pca2", RUN, "confidence", density_threshold=LIMIT)
    assert fig.data[0].type == "heatmap"
    z = np.asarray(fig.data[0].z, float)
    assert np.nanmin(z) >= 0 and np.nanmax(z) <= 1  # mean confidence per cell
    fig, _c, _m = map_page.render_map(data, SPACE, "pca2", RUN, "song", density_threshold=LIMIT)
    z = np.asarray(fig.data[0].z, float)
    assert fig.data[0].colorscale is not None and np.nanmin(z) >= 0  # log10 of the count per cell


def test_density_grid_majority_and_levels(map_page):
    xy = np.array([[0.1, 0.1]] * 3 + [[0.12, 0.1]] * 2 + [[0.9, 0.9]] * 1, np.float32)
    labels = np.array([5, 5, 7, 7, 7, 2])
    g = density.density_grid(xy, bins=2, extent=[0, 1, 0, 1], labels=labels)
    assert g["counts"].tolist() == [[5, 0], [0, 1]]
    assert g["clusters"] == [2, 5, 7]
    assert g["majority"].tolist() == [[2, -1], [-1, 0]]  # cell (0, 0): 7 (three of five)
    assert g["level"][0, 0] > g["level"][1, 1]
    v = density.density_grid(xy, bins=2, extent=[0, 1, 0, 1], values=np.array([1, 2, 3, np.nan, 4, 8.0]))
    assert v["mean"][0, 0] == pytest.approx(2.5) and v["mean"][1, 1] == 8 and np.isnan(v["mean"][0, 1])


# ---- zoom ------------------------------------------------------------------------------------------
def _window_with(data, n_points, projection=("umap", 2)):
    """A window around the densest corner holding about ``n_points`` sections."""
    xyz = data.projection(SPACE, *projection).xyz
    c = np.nanmedian(xyz[:, :2], axis=0)
    d = np.sort(np.abs(xyz[:, :2] - c).max(axis=1))
    r = float(d[n_points])
    return [float(c[0] - r), float(c[0] + r), float(c[1] - r), float(c[1] + r)]


def test_zoom_brings_points_back_and_zoom_out_bins_again(map_page, data):
    _f, _c, meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=LIMIT)
    view = _window_with(data, 300)
    relayout = {"xaxis.range[0]": view[0], "xaxis.range[1]": view[1],
                "yaxis.range[0]": view[2], "yaxis.range[1]": view[3]}
    fig, count, meta2 = map_page.zoom_redraw(data, relayout, meta)
    assert "heatmap" not in _types(fig) and "scattergl" in _types(fig)
    rows = np.concatenate([np.asarray(t.customdata, np.int64) for t in fig.data
                           if t.type == "scattergl" and t.name != "selected"])
    xyz = data.projection(SPACE, "umap", 2).xyz
    inside = np.flatnonzero(density.window_mask(xyz, view))
    assert sorted(rows.tolist()) == inside.tolist()
    assert list(fig.layout.xaxis.range) == pytest.approx(view[:2])
    assert meta2["density"] and meta2["view"] == pytest.approx(view) and "Zoomed in" in count
    # the same window again: nothing to redraw
    assert map_page.zoom_redraw(data, relayout, meta2)[0] is map_page.no_update
    # a wider window still past the threshold: finer density cells of that window
    wide = _window_with(data, LIMIT + 200)
    fig3, _c, meta3 = map_page.zoom_redraw(data, {"xaxis.range": wide[:2], "yaxis.range": wide[2:]}, meta2)
    assert fig3.data[0].type == "heatmap" and meta3["view"] == pytest.approx(wide)
    assert meta3["grid"]["dx"] == pytest.approx((wide[1] - wide[0]) / density.DENSITY_GRID)  # binned over the window
    # double click: all of the map as density again
    fig4, _c, meta4 = map_page.zoom_redraw(data, {"xaxis.autorange": True, "yaxis.autorange": True}, meta3)
    assert fig4.data[0].type == "heatmap" and meta4["view"] is None
    # events that change no range, and maps that are not density maps, are left alone
    assert map_page.zoom_redraw(data, {"autosize": True}, meta)[0] is map_page.no_update
    small = map_page.render_map(data, SPACE, "umap2", RUN, "cluster")[2]
    assert map_page.zoom_redraw(data, relayout, small)[0] is map_page.no_update


def test_view_from_relayout(map_page):
    f = density.view_from_relayout
    assert f({"xaxis.range[0]": 0, "xaxis.range[1]": 2, "yaxis.range[0]": 1, "yaxis.range[1]": 3}) == [0, 2, 1, 3]
    assert f({"xaxis.autorange": True}) is None
    assert f({"dragmode": "pan"}) is False and f(None) is False
    assert f({"xaxis.range": [0, 1]}, [5, 6, 7, 8]) == [0, 1, 7, 8]
    assert f({"xaxis.range": [0, 1]})[2] <= -1e29  # the other axis: all of it (completed by zoom_redraw)


# ---- click on a cell ---------------------------------------------------------------------------------
def test_click_on_a_cell_opens_the_nearest_section(map_page, data, app):
    from sectionist.dashboard.ui.components.detail import section_detail
    from sectionist.dashboard.ui.components.selection import resolve_selection

    clusters = [data.run_arrays(RUN).clusters[1]]
    _f, _c, meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=100,
                                       clusters=clusters)
    xyz = data.projection(SPACE, "umap", 2).xyz
    label = data.run_arrays(RUN).label
    target = int(np.flatnonzero(label == clusters[0])[17])
    x, y = float(xyz[target, 0]), float(xyz[target, 1])
    pos = map_sections.density_click_position(data, meta, x, y)
    assert pos == target
    # a point between cells: the nearest filtered section in the clicked cell
    g = meta["grid"]
    cx = g["x0"] + (np.floor((x - g["x0"]) / g["dx"]) + 0.5) * g["dx"]
    cy = g["y0"] + (np.floor((y - g["y0"]) / g["dy"]) + 0.5) * g["dy"]
    pos = map_sections.density_click_position(data, meta, cx, cy)
    assert label[pos] == clusters[0]
    assert abs(xyz[pos, 0] - cx) <= g["dx"] and abs(xyz[pos, 1] - cy) <= g["dy"]
    # the page's callback turns the cell click into a row click, which selects and opens the detail
    with app.server.test_request_context():
        click = map_page._density_click({"cell": [x, y], "at": 5}, meta)
        assert click == {"row": target, "at": 5}
        assert map_page._density_click({"row": 3, "at": 5}, meta) is map_page.no_update  # a point's click
        sel = resolve_selection(data, "graph", click=click, run=RUN)
        assert sel["section_id"] == data.section_ids[target]
        panel = _json(section_detail(data, sel["section_id"], RUN, "map"))
        assert data.titles[target] in panel
    # a cell click on a map that is not binned, or with coordinates that are not numbers: nothing
    assert map_sections.density_click_position(data, {}, x, y) is None
    assert map_sections.density_click_position(data, meta, "a", None) is None


# ---- box / lasso selection -------------------------------------------------------------------------
def test_box_and_lasso_select_sections_on_the_server(map_page, data):
    _f, _c, meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=1000,
                                       central=True)
    xyz = data.projection(SPACE, "umap", 2).xyz
    view = _window_with(data, 500)
    sel = {"rows": [], "n": 0, "active": True, "range": {"x": view[:2], "y": view[2:]}}
    assert meta["density"]
    pos = map_sections.map_selection_positions(data, sel, meta)
    expect = np.flatnonzero(density.window_mask(xyz, view) & data.is_central)
    assert pos.tolist() == expect.tolist() and len(pos) > 50
    out = _json(map_page.selection_summary(data, sel, RUN, meta=meta))
    assert f"{len(pos):,} sections from" in out
    # a lasso: the triangle of the box's lower-left half
    lasso = {"x": [view[0], view[1], view[0]], "y": [view[2], view[2], view[3]]}
    pos_l = map_sections.map_selection_positions(data, {"rows": [], "active": True, "lasso": lasso}, meta)
    assert set(pos_l) <= set(pos) and 0 < len(pos_l) < len(pos)
    u = (xyz[pos_l, 0] - view[0]) / (view[1] - view[0]) + (xyz[pos_l, 1] - view[2]) / (view[3] - view[2])
    assert (u <= 1 + 1e-6).all()
    # on a point map the selected points' rows are used as before
    assert map_sections.map_selection_positions(data, {"rows": [3, 1], "range": sel["range"]}, {"density": False}) \
        .tolist() == [1, 3]


# ---- 3-D maps: a stratified sample --------------------------------------------------------------------
def test_3d_maps_draw_a_stratified_sample(map_page, data):
    fig, count, meta = map_page.render_map(data, SPACE, "umap3", RUN, "cluster", density_threshold=600)
    rows = np.concatenate([np.asarray(t.customdata, np.int64) for t in fig.data
                           if t.type == "scatter3d" and t.name != "selected"])
    assert 550 <= len(rows) <= 600 and "sample" in count and "3-D" in count
    label = data.run_arrays(RUN).label
    share_all = np.bincount(label[label >= 0]) / (label >= 0).sum()
    share = np.bincount(label[rows], minlength=len(share_all)) / len(rows)
    assert np.abs(share - share_all).max() < 0.02
    again = map_page.render_map(data, SPACE, "umap3", RUN, "cluster", density_threshold=600)[0]
    assert _json(again) == _json(fig)  # seeded: the same sample on every redraw
    assert "density" not in meta


def test_stratified_sample(map_page):
    rows = np.arange(1000)
    strata = np.repeat([0, 1, 2], [900, 90, 10])
    s = density.stratified_sample(rows, strata, 100)
    assert np.all(np.diff(s) > 0)
    counts = np.bincount(strata[s], minlength=3)
    assert counts.tolist() == [90, 9, 1]
    assert density.stratified_sample(rows[:50], strata[:50], 100).tolist() == list(range(50))


# ---- lists paged on the server --------------------------------------------------------------------
def test_selection_list_is_paged_on_the_server(map_page, data, app):
    from sectionist.dashboard.ui import ids

    meta = map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=LIMIT)[2]
    sel = {"rows": [], "active": True, "range": {"x": [-1e9, 1e9], "y": [-1e9, 1e9]}}  # every section
    size = map_page.SELECTION_PAGE_SIZE

    def played(page):
        out = _json(map_page.selection_summary(data, sel, RUN, meta=meta, page=page))
        return [sid for sid in data.section_ids if f'"section":"{sid}"' in out], out

    first, out = played(0)
    assert len(first) == size and f"Sections 1–{size} of {N:,}" in out
    second, out = played(1)
    assert len(second) == size and not set(first) & set(second) and f"Sections {size + 1}–{2 * size}" in out
    last_page = -(-N // size) - 1
    last, out = played(10_000)  # clamped to the last page
    assert len(last) == N - last_page * size and f"of {N:,}" in out
    assert map_page.selection_page(data, sel, meta, 0, -1) == 0
    assert map_page.selection_page(data, sel, meta, 3, 1) == 4
    assert map_page.selection_page(data, sel, meta, last_page, 1) == last_page
    assert map_page.selection_page(data, None, meta, 5, 1) == 0
    # the pager shows only when the selection fills more than one page
    assert map_page.pager_style(data, sel, meta) == {}
    assert map_page.pager_style(data, {}, meta) == {"display": "none"}
    one_page = {"rows": list(range(size)), "active": True}
    assert map_page.pager_style(data, one_page, meta) == {"display": "none"}
    # the pager is part of the page's layout
    with app.server.test_request_context():
        assert ids.MAP_SELECTION_NEXT in _json(map_page.layout())


def test_song_pickers_list_a_bounded_page_of_songs(map_page, data, app, monkeypatch):
    from sectionist.dashboard.ui import ids
    from sectionist.dashboard.ui.components import common

    titles = data.songs["title"]
    assert len(common.song_options(data)) == len(titles)  # a small store: every song
    monkeypatch.setattr(common, "SONG_OPTIONS_LIMIT", 10)
    chosen = data.songs.index[-1]
    opts = common.song_options(data, selected=[chosen])
    assert len(opts) == 11 and opts[0]["value"] == chosen
    wanted = titles.iloc[57]
    hits = common.song_options(data, search=wanted[-4:].upper())
    assert wanted in [o["label"] for o in hits] and all(wanted[-4:] in o["label"] for o in hits)
    assert common.song_options(data, search="no such title") == []
    # the map's song filter in the layout lists at most the limit
    with app.server.test_request_context():
        layout = map_page.layout()

    def find(node):
        if getattr(node, "id", None) == ids.MAP_SONGS:
            return node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and hasattr(child, "to_plotly_json"):
                hit = find(child)
                if hit is not None:
                    return hit
        return None

    assert len(find(layout).options) == 10


def test_small_int_codes_match_numpy_unique(map_page):
    rng = np.random.default_rng(0)
    for values in (rng.integers(-2, 9, 5000), rng.integers(0, 3, 10).astype(np.int8), np.array([7]),
                   np.array([1.5, 0.5, 1.5])):
        uniq, inverse, counts = density.small_int_codes(values)
        u2, i2, c2 = np.unique(values, return_inverse=True, return_counts=True)
        assert uniq.tolist() == u2.tolist() and inverse.tolist() == i2.ravel().tolist() and counts.tolist() == c2.tolist()


def test_medoid_sample_keeps_every_cluster(map_page):
    labels = np.zeros(200_000, np.int64)
    labels[[5, 77_777]] = 3  # a cluster of two points that a 1 000-point sample would likely miss
    labels[:1000] = -1
    xy = np.random.default_rng(1).normal(size=(len(labels), 2))
    sxy, slab = density.medoid_sample(xy, labels, n=1000)
    assert 3 in slab and 0 in slab and len(slab) <= 1002 and len(sxy) == len(slab)


def test_value_colourings_keep_to_three_quarters_of_the_threshold(map_page, data):
    assert map_page.points_limit(1000, "cluster") == map_page.points_limit(1000, "song") == 1000
    assert map_page.points_limit(1000, "confidence") == map_page.points_limit(1000, "feature:rms_median") == 750
    # 2 400 points, threshold 3 000: points by cluster, density by confidence (limit 2 250)
    assert map_page.render_map(data, SPACE, "umap2", RUN, "cluster", density_threshold=3000)[0].data[0].type \
        == "scattergl"
    fig, count, meta = map_page.render_map(data, SPACE, "umap2", RUN, "confidence", density_threshold=3000)
    assert fig.data[0].type == "heatmap" and meta["threshold"] == 3000 and "2,250" in count
    # a zoom keeps the threshold it was drawn with (not ¾ of ¾)
    view = _window_with(data, 2000)
    _f, _c, meta2 = map_page.zoom_redraw(data, {"xaxis.range": view[:2], "yaxis.range": view[2:]}, meta)
    assert meta2["threshold"] == 3000
