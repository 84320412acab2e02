"""End to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser
download): log in, open the map, pick a space, click a point, check the detail panel and its audio,
then visit every page. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import pytest
from synthetic_store import EMBEDDER, build_synthetic_store

from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import ARTIFACTS, ISOLATED_POINT_JS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("browser")
    store = build_synthetic_store(root / "store", n_sections=160, sections_per_song=16, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=7)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="b" * 40)
    password = make_user(db, "expert1", "expert")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "user": "expert1", "password": password,
               "data": app.server.extensions["sectionist_data"]}


@pytest.fixture(scope="module")
def browser_page(server):
    with chromium_page(viewport=(1680, 1050)) as (page, errors):
        login_page(page, server["url"], server["user"], server["password"], next="/map")
        yield page, errors


def _settle(page):
    """Wait until the app's callbacks have answered (no request in flight for 0.5 s)."""
    page.wait_for_load_state("networkidle", timeout=60000)


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request, browser_page):
    # the call's report is logged before teardown: a failed test leaves a screenshot to look at
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        browser_page[0].screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)


def test_map_click_plays_the_section(server, browser_page):
    page, errors = browser_page
    page.wait_for_selector("#map-count:has-text('Showing')", timeout=60000)
    # pick a space: the embedder's
    page.click("#map-space")
    page.get_by_role("option", name=EMBEDDER, exact=True).click()
    page.wait_for_function(
        "() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
        " return gd && gd.layout && String(gd.layout.uirevision).startsWith('" + EMBEDDER + "/'); }",
        timeout=60000)
    page.wait_for_selector(f"#map-run:has-text('{EMBEDDER}')", timeout=60000)
    _settle(page)
    point = page.evaluate(ISOLATED_POINT_JS)
    assert point is not None, "no point on the map"
    page.mouse.click(point["px"], point["py"])
    sid = str(server["data"].section_ids[int(point["row"])])
    page.wait_for_selector(f"#map-detail :text('id {sid}')", timeout=60000)
    audio = page.locator("#map-detail audio")
    src = audio.get_attribute("src")
    assert src == f"/audio/{sid}.ogg"
    resp = page.request.get(server["url"] + src)
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("audio/")
    assert len(resp.body()) > 1000
    img = page.locator("#map-detail img.spectrogram")
    page.wait_for_function("() => { const i = document.querySelector('#map-detail img.spectrogram');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=60000)
    assert img.get_attribute("src") == f"/spectrogram/{sid}.png"
    # the selection ring moved onto the clicked point
    ring = page.evaluate("() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                         " const t = gd.data[gd.data.length - 1]; return t.customdata && t.customdata[0]; }")
    assert int(ring) == int(point["row"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"), full_page=True)
    # the selection follows to the songs page: its section is highlighted and ready to play there
    page.goto(server["url"] + "/songs")
    page.wait_for_selector(f"#songs-detail audio[data-section='{sid}']", timeout=60000)
    assert not errors, errors


def test_slots_and_neighbours(server, browser_page):
    page, errors = browser_page
    first = str(server["data"].section_ids[5])
    page.goto(server["url"] + f"/map?section={first}")
    page.wait_for_selector(f"#map-detail audio[data-section='{first}']", timeout=60000)
    _settle(page)
    page.get_by_role("button", name="Put in slot A").click()
    page.wait_for_selector(f"#map-slot-view audio[data-section='{first}']", timeout=60000)
    _settle(page)
    # a neighbour's ▶ selects it
    page.locator("#map-detail .list-row .btn-icon").first.click()
    page.wait_for_function(f"() => {{ const a = document.querySelector('#map-detail audio');"
                           f" return a && a.dataset.section !== '{first}'; }}", timeout=60000)
    second = page.locator("#map-detail audio").get_attribute("data-section")
    _settle(page)
    page.get_by_role("button", name="Put in slot B").click()
    page.wait_for_selector(f"#map-slot-view audio[data-section='{second}']", timeout=60000)
    assert page.locator("#map-slot-view audio").count() == 2
    assert not errors, errors


@pytest.mark.parametrize("path, marker", [
    ("/", "Runs and their quality"),
    ("/clusters", "Prototype queue"),
    ("/compare", "after matching B's clusters to A's"),
    ("/songs", "Click a block"),
])
def test_pages_load(server, browser_page, path, marker):
    page, errors = browser_page
    page.goto(server["url"] + path)
    page.wait_for_selector(f"text={marker}", timeout=60000)
    page.wait_for_selector(".js-plotly-plot", timeout=60000)
    page.wait_for_timeout(800)
    name = path.strip("/") or "overview"
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert not errors, errors


def test_songs_playhead_follows_playback(server, browser_page):
    page, errors = browser_page
    sid = str(server["data"].section_ids[20])
    page.goto(server["url"] + f"/songs?section={sid}")
    page.wait_for_selector(f"#songs-detail audio[data-section='{sid}']", timeout=60000)
    page.wait_for_selector("#songs-timeline .js-plotly-plot", timeout=60000)
    start = float(page.locator("#songs-detail .player").get_attribute("data-start"))
    duration = float(page.locator("#songs-detail .player").get_attribute("data-duration"))
    _settle(page)
    page.wait_for_function("() => { const a = document.querySelector('#songs-detail audio');"
                           " return a && a.readyState >= 1; }", timeout=60000)
    page.evaluate("() => { document.querySelector('#songs-detail audio').currentTime = 1.5; }")
    # wait for the playhead at the new time (an earlier position may still be drawn for a moment)
    target = start + 1.5
    x = page.wait_for_function(
        "(t) => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
        " const s = (gd.layout.shapes || []).find(s => s.name === 'playhead');"
        " return s && Math.abs(s.x0 - t) < 0.05 ? s.x0 : null; }",
        arg=target, timeout=60000).json_value()
    assert x == pytest.approx(target, abs=0.05)
    left = page.wait_for_function(
        "(p) => { const e = document.querySelector('#songs-detail .songbar-playhead');"
        " const v = e && parseFloat(e.style.left); return Math.abs(v - p) < 0.1 ? v : null; }",
        arg=100 * target / duration, timeout=60000).json_value()
    assert left == pytest.approx(100 * target / duration, abs=0.1)
    assert not errors, errors


def test_overview_run_opens_its_clusters(server, browser_page):
    page, errors = browser_page
    page.goto(server["url"] + "/")
    cell = page.locator("#overview-runs td[data-dash-column='run_id']").nth(1)
    run_id = cell.inner_text().strip()
    cell.click()
    page.wait_for_url(f"**/clusters?run={run_id}", timeout=60000)
    page.wait_for_selector("text=Prototype queue", timeout=60000)
    assert run_id in page.locator("#clusters-run").inner_text()
    assert not errors, errors


def test_map_views_switch_without_errors(server, browser_page):
    page, errors = browser_page
    page.goto(server["url"] + "/map")
    page.wait_for_selector("#map-count:has-text('Showing')", timeout=60000)
    for control, option, check in [
        # by song: one trace per song shown, named by its title (the legend under the map has its colours)
        ("#map-color", "Song", "() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                               " const s = gd.data.filter(t => String(t.legendgroup).startsWith('song-'));"
                               " return s.length > 1 && s[0] === gd.data[0]"
                               " && s.every(t => t.name.startsWith('Synthetic song')); }"),
        ("#map-color", "Confidence", "() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                                     " return gd.data[0].name === 'confidence'; }"),
        ("#map-kind", "PCA · 3-D", "() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
                                   " return gd.data[0].type === 'scatter3d'; }"),
    ]:
        _settle(page)
        page.click(control)
        page.get_by_role("option", name=option, exact=True).click()
        page.wait_for_function(check, timeout=60000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "map-3d.png"), full_page=True)
    assert not errors, errors
