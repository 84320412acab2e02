"""The density map in headless Chromium: with the threshold lowered to 100 points, a 600-section
map arrives as density cells; a click on a cell opens a section's detail; zooming in with the mouse
wheel brings the points of the window back (the relayout goes to the server, which draws them), and
the tool bar's Autoscale shows all of the map as density cells again."""

from __future__ import annotations

import pytest
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRAPH = "#map-graph .js-plotly-plot"
HAS_HEATMAP = f"() => {{ const gd = document.querySelector('{GRAPH}'); " \
              "return gd && gd._fullData && gd._fullData.some(t => t.type === 'heatmap'); }"
HAS_POINTS = f"() => {{ const gd = document.querySelector('{GRAPH}'); return gd && gd._fullData && " \
             "!gd._fullData.some(t => t.type === 'heatmap') && " \
             "gd._fullData.some(t => t.name !== 'selected' && t.customdata && t.x && t.x.length > 0); }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("density-browser")
    store = build_synthetic_store(root / "store", n_sections=600, sections_per_song=20, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=5)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="s" * 40)
    password = make_user(db, "expert1", "expert")
    from sectionist.dashboard.pages import map as map_page

    mp = pytest.MonkeyPatch()
    mp.setattr(map_page, "DENSITY_THRESHOLD", 100)  # the server runs in this process: 600 points are "many"
    with serve_in_thread(app.server) as url:
        yield {"url": url, "user": "expert1", "password": password}
    mp.undo()


def test_density_cells_click_and_wheel_zoom(server):
    with chromium_page(viewport=(1440, 900)) as (pg, errors):
        login_page(pg, server["url"], server["user"], server["password"], next="/map")
        pg.goto(server["url"] + "/map")
        pg.wait_for_selector("#map-count:has-text('density')", timeout=60000)
        pg.wait_for_function(HAS_HEATMAP, timeout=60000)
        # the densest cell's centre on the page
        densest = f"""() => {{
            const gd = document.querySelector('{GRAPH}');
            const t = gd._fullData.find(t => t.type === 'heatmap');
            const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
            const counts = t.z;  // codes: the highest shade is the densest
            let best = [0, 0, -1];
            for (let r = 0; r < counts.length; r++) for (let c = 0; c < counts[r].length; c++) {{
                const v = counts[r][c]; if (v > best[2] && (v % 3) === 0) best = [r, c, v];
            }}
            const x = t.x0 + best[1] * t.dx, y = t.y0 + best[0] * t.dy;
            return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
        }}"""
        target = pg.evaluate(densest)
        pg.mouse.click(target[0], target[1])
        pg.wait_for_function("() => (document.querySelector('#map-detail') || {}).innerText"
                             " && document.querySelector('#map-detail').innerText.includes('Synthetic song')",
                             timeout=60000)
        # the selection ring adds a legend entry, which can wrap the legend onto another row and
        # shrink the plot: the same cell is found again on the redrawn map before zooming over it
        pg.wait_for_timeout(500)
        target = pg.evaluate(densest)
        # zoom in with the wheel over the same place until the window holds at most 100 points
        # (plotly zooms ~10 % per wheel event; each zoom is drawn again by the server)
        pg.mouse.move(target[0], target[1])
        for _ in range(60):
            pg.mouse.wheel(0, -400)
            pg.wait_for_timeout(200)
            if pg.evaluate(HAS_POINTS):
                break
        pg.wait_for_function(HAS_POINTS, timeout=60000)
        pg.wait_for_selector("#map-count:has-text('Zoomed in')", timeout=60000)
        # zooming out a little: still this window's points or finer cells; the tool bar's Autoscale:
        # all of the map as density cells again
        pg.mouse.wheel(0, 400)
        pg.wait_for_timeout(500)
        pg.locator("#map-graph .modebar-btn[data-title='Autoscale']").click()
        pg.wait_for_function(HAS_HEATMAP, timeout=60000)
        pg.wait_for_selector("#map-count:has-text('as density')", timeout=60000)
        assert not errors, errors
