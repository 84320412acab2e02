"""Box and lasso selection on the Map in headless Chromium, with real mouse drags (issue 14 items 1
and 4): the Selection card lists exactly the sections inside the drawn region, with and without
filters, the selection downloads, and the verdict buttons are on screen after a click on a point.

The expected sections are computed from the plot the page drew (``gd._fullData`` and its axes), so
the test checks the whole path: plotly's selection event → the browser-side resolution of each
point to its section → the server's summary and download.
"""

from __future__ import annotations

import pytest
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRAPH = "#map-graph .js-plotly-plot"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("selection")
    store = build_synthetic_store(root / "store", n_sections=240, sections_per_song=20, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=11)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="s" * 40)
    password = make_user(db, "expert1", "expert")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "user": "expert1", "password": password,
               "data": app.server.extensions["sectionist_data"]}


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(viewport=(1440, 900)) as (pg, errors):
        login_page(pg, server["url"], server["user"], server["password"], next="/map")
        pg.errors = errors
        yield pg


def _settle(pg):
    pg.wait_for_load_state("networkidle", timeout=60000)


def _open_map(pg, url, query=""):
    pg.goto(url + "/map" + query)
    pg.wait_for_selector("#map-count:has-text('Showing')", timeout=60000)
    pg.wait_for_function(f"() => {{ const gd = document.querySelector('{GRAPH}');"
                         " return gd && gd._fullData && gd._fullData.some(t => t.customdata && t.x.length); }",
                         timeout=60000)
    _settle(pg)


#: Page coordinates of every visible, selectable point: (px, py, section position).
POINTS_JS = """() => {
  const gd = document.querySelector('#map-graph .js-plotly-plot');
  const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
  const out = [];
  gd._fullData.forEach(t => {
    if (t.name === 'selected' || !t.customdata || t.visible !== true) return;
    for (let i = 0; i < t.x.length; i++) {
      out.push([box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i]),
                Number(t.customdata[i])]);
    }
  });
  return {points: out, plot: [box.left + xa._offset, box.top + ya._offset, xa._length, ya._length]};
}"""


def _inside_polygon(x, y, poly):
    inside = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _drag(pg, path):
    pg.mouse.move(*path[0])
    pg.mouse.down()
    for x, y in path[1:]:
        pg.mouse.move(x, y, steps=4)
    pg.mouse.up()


def _tool(pg, title):
    pg.hover(GRAPH)
    pg.locator(f"#map-graph .modebar-btn[data-title='{title}']").click()


def _selection_count(pg):
    text = pg.wait_for_selector("#map-selection-summary .strong:has-text('sections from')",
                                timeout=60000).inner_text()
    return int(text.split()[0].replace(",", ""))


def _listed_rows(pg, data):
    """Section positions of the rows the Selection card lists (their ▶ buttons carry the section id)."""
    ids = pg.evaluate("() => Array.from(document.querySelectorAll('#map-selection-summary .list-row button'))"
                      ".map(b => JSON.parse(b.id).section)")
    return sorted(int(data.position(s)) for s in ids)


def _box_in_middle(plot):
    x0, y0, w, h = plot
    return [x0 + 0.3 * w, y0 + 0.25 * h], [x0 + 0.75 * w, y0 + 0.7 * h]


def test_box_selection_lists_the_sections_inside(server, page):
    data = server["data"]
    _open_map(page, server["url"])
    pts = page.evaluate(POINTS_JS)
    (ax, ay), (bx, by) = _box_in_middle(pts["plot"])
    expected = sorted({int(r) for x, y, r in pts["points"] if ax <= x <= bx and ay <= y <= by})
    assert len(expected) >= 5, "the box should hold some points"
    _tool(page, "Box Select")
    _drag(page, [(ax, ay), (bx, ay), (bx, by)])
    n = _selection_count(page)
    assert n == len(expected)
    listed = _listed_rows(page, data)
    assert set(listed) <= set(expected) and len(listed) == min(12, len(expected))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-box-selection-1440.png"), full_page=True)
    # the selection downloads as a labels table with exactly those sections
    _settle(page)
    page.click("#map-export-kind")
    page.get_by_role("option", name="Labels table (.csv)", exact=True).click()
    with page.expect_download(timeout=60000) as dl:
        page.click("#map-export")
    text = open(dl.value.path(), encoding="utf-8").read().splitlines()
    header = text[0].split(",")
    col = header.index("section_id")
    got = {line.split(",")[col] for line in text[1:] if line}
    assert got == {str(data.section_ids[p]) for p in expected}
    assert not page.errors, page.errors


def test_lasso_selection_with_hidden_clusters(server, page):
    """Keep two clusters with the filter (the others' traces go, the trace order shifts), then lasso."""
    data = server["data"]
    _open_map(page, server["url"])
    # the clusters' point traces (not noise): their legend group is the cluster number
    clusters = page.evaluate(f"() => document.querySelector('{GRAPH}')._fullData"
                             ".filter(t => t.customdata && /^[0-9]+$/.test(t.legendgroup)).map(t => t.name)")
    assert len(clusters) >= 4
    page.click("#map-clusters")
    for name in (clusters[1], clusters[3]):  # keep two clusters: the others' traces go, the order shifts
        page.get_by_role("option", name=name, exact=True).click()
        _settle(page)
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => document.querySelector('{GRAPH}')._fullData"
                           ".filter(t => t.customdata && /^[0-9]+$/.test(t.legendgroup)).length === 2", timeout=60000)
    _settle(page)
    pts = page.evaluate(POINTS_JS)
    x0, y0, w, h = pts["plot"]
    # a lasso: an irregular hexagon over most of the plot
    poly = [(x0 + f * w, y0 + g * h) for f, g in
            [(0.1, 0.2), (0.5, 0.05), (0.9, 0.25), (0.85, 0.8), (0.45, 0.95), (0.15, 0.7)]]
    expected = sorted({int(r) for x, y, r in pts["points"] if _inside_polygon(x, y, poly)})
    assert len(expected) >= 3
    _tool(page, "Lasso Select")
    _drag(page, poly + [poly[0]])
    assert _selection_count(page) == len(expected)
    assert set(_listed_rows(page, data)) <= set(expected)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-lasso-filtered-1440.png"), full_page=True)
    assert not page.errors, page.errors


@pytest.mark.parametrize("viewport", [(1440, 900)])
def test_verdict_buttons_visible_after_a_click(server, page, viewport):
    _open_map(page, server["url"])
    pts = page.evaluate(POINTS_JS)
    x0, y0, w, h = pts["plot"]
    inner = [p for p in pts["points"] if x0 + 30 < p[0] < x0 + w - 30 and y0 + 30 < p[1] < y0 + h - 30]
    px, py, row = inner[len(inner) // 2]
    page.mouse.click(px, py)
    page.wait_for_selector("#map-judge .judge-panel [data-judge-key='a']", timeout=60000)
    _settle(page)
    for key in ("a", "d", "u"):
        button = page.locator(f"#map-judge .judge-panel [data-judge-key='{key}']")
        button.wait_for(state="visible", timeout=60000)
        box = button.bounding_box()
        assert box is not None
        assert 0 <= box["y"] and box["y"] + box["height"] <= viewport[1], (key, box)
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport[0], (key, box)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-verdict-1440.png"))
    assert not page.errors, page.errors


def test_compare_verdict_visible_after_choosing_a_row(server, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(server["url"] + "/compare")
    page.wait_for_selector("text=Same cluster for", timeout=60000)
    _settle(page)
    page.locator("#compare-table td[data-dash-column='song']").first.click()
    page.wait_for_selector("#compare-judge .judge-panel [data-judge-key='a']", timeout=60000)
    _settle(page)
    page.screenshot(path=str(ARTIFACTS / "compare-verdict-1440.png"))
    # the section's row is on screen; so are its verdict buttons, without scrolling the panel
    for key in ("a", "d", "u"):
        button = page.locator(f"#compare-judge .judge-panel [data-judge-key='{key}']")
        button.wait_for(state="visible", timeout=60000)  # the panel may be re-rendered once more
        box = button.bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 900, (key, box)
    text = page.locator("#compare-table").inner_text()
    assert any(word in text for word in ("same", "split", "merge", "differs"))
    page.screenshot(path=str(ARTIFACTS / "compare-verdict-1440.png"))
    assert not page.errors, page.errors


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
@pytest.mark.parametrize("path, name", [("/map", "map"), ("/compare", "compare")])
def test_screenshots(server, page, width, height, path, name):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server["url"] + path)
    page.wait_for_selector(".js-plotly-plot", timeout=60000)
    _settle(page)
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}.png"), full_page=True)
    if name == "map" and width == 1440:  # PCA: axes with explained variance
        page.click("#map-kind")
        page.get_by_role("option", name="PCA · 2-D", exact=True).click()
        page.wait_for_function(f"() => (document.querySelector('{GRAPH}').layout.xaxis.title.text || '')"
                               ".startsWith('PC1 (')", timeout=60000)
        _settle(page)
        page.screenshot(path=str(ARTIFACTS / f"map-pca-{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    assert not page.errors, page.errors
