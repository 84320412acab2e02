"""Phone layouts (issue #23, item 5), in headless Chromium on a 34-song store with a 3- and a
20-cluster run (tests/weak_store.py), in English and Spanish, at 390×844 and 1440×900, measured by
the bounding boxes of what is drawn:

- Compare: no two tick labels of the contingency heatmap overlap, its row names leave the cells
  their width, and no two Sankey node names overlap (on a narrow screen both figures name clusters by
  run and number, assets/narrow.js; the names stay in the hover);
- Map: a tap on a point on a phone brings the section's detail (under the map) into view, a click on a
  laptop does not scroll;
- Songs: on a phone the lane names stand above the lanes, which take the whole width;
- Overview: the K curves' titles, ticks and legend never overprint (stacked panels on a phone).

Screenshots go to ``test-artifacts/screenshots/phone``.
"""

from __future__ import annotations

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, ISOLATED_POINT_JS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
LAPTOP = (1440, 900)
SHOTS = ARTIFACTS / "screenshots" / "phone"
LOCALES = {"en": "en-US", "es": "es-ES"}

#: the boxes of a selector's elements inside a graph, as [left, top, right, bottom]
BOXES_JS = """([graph, sel]) => [...document.querySelectorAll('#' + graph + ' ' + sel)]
  .filter(e => e.textContent.trim() !== '')
  .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from weak_store import build_weak_store

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("phone-layouts")
    store, _ = build_weak_store(root / "store")
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="p" * 40)
    password = make_user(db, "ada", "expert")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password}


def _overlaps(boxes, slack=1.0):
    """Pairs of boxes that overlap by more than ``slack`` px both ways, with their texts."""
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a[3], b[3]) - max(a[1], b[1]) > slack:
                out.append((a[4], b[4]))
    return out


def _settled(page, graph, narrow):
    """Wait until ``graph``'s figure is drawn (and narrowed on a narrow screen)."""
    cond = "gd.layout.meta && gd.layout.meta.narrow_applied" if narrow else "true"
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('#{graph} .js-plotly-plot');"
        f" return gd && gd.layout && gd._fullLayout && {cond}; }}", timeout=60_000)
    page.wait_for_timeout(300)


def _compare_labels_never_overprint(page, server, size, lang):
    narrow = size == PHONE
    page.goto(server["url"] + "/compare")
    _settled(page, "compare-heatmap", narrow)
    _settled(page, "compare-sankey", narrow)
    ticks = page.evaluate(BOXES_JS, ["compare-heatmap", ".xtick text"])
    assert len(ticks) >= 10, ticks  # the 20-cluster run's columns are all named
    assert _overlaps(ticks) == [], f"heatmap column ticks overprint at {size}"
    rows = page.evaluate(BOXES_JS, ["compare-heatmap", ".ytick text"])
    assert len(rows) == 3 and _overlaps(rows) == []
    cells, width = page.evaluate("() => [document.querySelector('#compare-heatmap .nsewdrag').getBoundingClientRect()"
                                 ".width, document.querySelector('#compare-heatmap').getBoundingClientRect().width]")
    assert cells >= 0.55 * width, f"the heatmap's cells get {cells:.0f} px of its {width:.0f}"
    nodes = page.evaluate(BOXES_JS, ["compare-sankey", ".node-label"])
    assert len(nodes) == 23, nodes  # 3 + 20 clusters, every node named
    assert _overlaps(nodes) == [], f"Sankey node names overprint at {size}"
    right = page.evaluate("() => document.querySelector('#compare-sankey .js-plotly-plot').getBoundingClientRect().right")
    assert max(n[2] for n in nodes) <= right + 1, "a Sankey name runs off the figure"
    if narrow:  # the long names stay in the hover
        full = page.evaluate("() => document.querySelector('#compare-sankey .js-plotly-plot').data[0].node.customdata")
        assert all(":" in name for name in full) and len(full) == 23
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"compare-{size[0]}x{size[1]}-{lang}.png"), full_page=True)


def _map_tap_on_a_phone_brings_the_detail_into_view(page, server, lang):
    page.goto(server["url"] + "/map")
    page.wait_for_function("() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.length > 0 && gd.layout.meta"
                           " && gd.layout.meta.scroll_to === 'map-detail'; }", timeout=60_000)
    page.evaluate("() => document.getElementById('map-graph').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    detail_top = page.evaluate("() => document.getElementById('map-detail').getBoundingClientRect().top")
    assert detail_top > PHONE[1], "the detail is already in view: the test would prove nothing"
    point = page.evaluate(ISOLATED_POINT_JS)
    assert point is not None and 0 < point["py"] < PHONE[1], point
    before = page.inner_html("#map-detail")
    page.mouse.click(point["px"], point["py"])
    page.wait_for_function("(b) => document.getElementById('map-detail').innerHTML !== b", arg=before,
                           timeout=60_000)
    page.wait_for_function("() => { const r = document.getElementById('map-detail').getBoundingClientRect();"
                           " return r.top >= -1 && r.top < window.innerHeight / 2; }", timeout=10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"map-tap-390x844-{lang}.png"))


def _map_click_on_a_laptop_does_not_scroll(page, server):
    page.goto(server["url"] + "/map")
    page.wait_for_function("() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.length > 0 && gd.layout.meta; }",
                           timeout=60_000)
    page.wait_for_timeout(500)
    point = page.evaluate(ISOLATED_POINT_JS)
    before = page.inner_html("#map-detail")
    page.mouse.click(point["px"], point["py"])
    page.wait_for_function("(b) => document.getElementById('map-detail').innerHTML !== b", arg=before,
                           timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.scrollY") == 0


@pytest.fixture(scope="module")
def curves_server(tmp_path_factory):
    from auth_helpers import judged_app

    app, password, _ = judged_app(tmp_path_factory.mktemp("phone-curves"), "q" * 40)
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password}


def _overview_k_curves_titles_and_legend_clear(page, curves_server, size, lang):
    narrow = size == PHONE
    login_page(page, curves_server["url"], "ada", curves_server["password"], next="/")
    _settled(page, "overview-curves", narrow)
    titles = page.evaluate(BOXES_JS, ["overview-curves", ".infolayer .annotation-text"])
    assert len(titles) == 3 and _overlaps(titles) == [], titles
    ticks = page.evaluate(BOXES_JS, ["overview-curves", ".ytick text"])
    assert _overlaps(titles + ticks) == [], "a panel's title runs into another panel's ticks"
    legend = page.evaluate(BOXES_JS, ["overview-curves", ".legendtext"])
    right = page.evaluate("() => document.querySelector('#overview-curves').getBoundingClientRect().right")
    assert legend and max(b[2] for b in legend) <= right + 1, "a legend name runs off the figure"
    assert _overlaps(legend + titles + ticks) == []
    if narrow:  # stacked: each title above the next, the panels the figure's width; no mode bar over them
        assert titles[0][1] < titles[1][1] < titles[2][1]
        page.hover("#overview-curves .nsewdrag")
        assert page.evaluate("() => getComputedStyle(document.querySelector("
                             "'#overview-curves .modebar-container')).display") == "none"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"overview-{size[0]}x{size[1]}-{lang}.png"), full_page=True)


def _songs_lanes_take_the_width_on_a_phone(page, server, size, lang):
    narrow = size == PHONE
    page.goto(server["url"] + "/songs")
    _settled(page, "songs-timeline", narrow)
    plot, graph = page.evaluate("() => [document.querySelector('#songs-timeline .nsewdrag').getBoundingClientRect()"
                                ".width, document.querySelector('#songs-timeline').getBoundingClientRect().width]")
    names = page.evaluate(BOXES_JS, ["songs-timeline", ".infolayer .annotation-text"])
    ticks = page.evaluate(BOXES_JS, ["songs-timeline", ".ytick text"])
    if narrow:  # names above the lanes, the bars the whole width
        assert plot >= 0.9 * graph, f"the lanes get {plot:.0f} px of {graph:.0f}"
        assert len(names) >= 3 and ticks == [] and _overlaps(names) == []
        bars = page.evaluate(
            "() => [...document.querySelectorAll('#songs-timeline .bars .point path')].map(e => {"
            " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, 'bar']; })")
        assert bars and _overlaps(names + bars) == [], "a lane's name is drawn over a bar"
        box = page.evaluate("() => document.querySelector('#songs-timeline').getBoundingClientRect().height")
        height = page.evaluate("() => document.querySelector('#songs-timeline .js-plotly-plot')._fullLayout.height")
        assert abs(box - height) < 2, "the graph's box did not grow with the figure"
    else:
        assert names == [] and len(ticks) >= 3 and _overlaps(ticks) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"songs-{size[0]}x{size[1]}-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_pages_at_both_sizes(server, curves_server, size, lang):
    """One browser per size and language: Compare, Songs, the Map's tap, the Overview's K curves."""
    with chromium_page(viewport=size, timeout_ms=60_000, locale=LOCALES[lang]) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        _compare_labels_never_overprint(page, server, size, lang)
        _songs_lanes_take_the_width_on_a_phone(page, server, size, lang)
        if size == PHONE:
            _map_tap_on_a_phone_brings_the_detail_into_view(page, server, lang)
        else:
            _map_click_on_a_laptop_does_not_scroll(page, server)
        _overview_k_curves_titles_and_legend_clear(page, curves_server, size, lang)
        assert errors == []
