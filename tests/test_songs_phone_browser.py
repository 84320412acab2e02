"""The Songs page and the verdict panel on a phone (390×844), in headless Chromium (issue #14).

- The lanes' names stand above their lanes (the bars take the whole width, assets/narrow.js); the
  graph's box grows with the figure's height, no two lane names overlap, and the legend (with
  its sections' titles, "colours matched to …") sits clear of the "time (s)" axis title.
- The verdict panel has no stray line along its top edge.

Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import build_synthetic_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
SHOTS = ARTIFACTS / "screenshots"

#: bounding boxes (viewport coordinates) of the timeline's lane names, legend title, axis title,
#: legend, and the heights of the graph's box (and its CSS height) and of Plotly's layout
MEASURE = """() => {
  const root = document.querySelector('#songs-timeline');
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, text: e.textContent}; };
  const plot = root.querySelector('.js-plotly-plot');
  const titles = new Set(plot.data.filter(t => t.legendgrouptitle && t.legendgrouptitle.text)
                                  .map(t => t.legendgrouptitle.text.split('<br>').join('')));
  return {
    // on a phone the lane names are annotations above the lanes, not y ticks (figures/songs.lane_names_above)
    ticks: [...root.querySelectorAll('.infolayer .annotation-text')].map(box),
    yTicks: root.querySelectorAll('.yaxislayer-above .ytick text').length,
    // the legend's section titles ("colours matched to …", the truth's, the structure parts'): its groups' titles
    legendTitle: [...root.querySelectorAll('.legend .legendtext')].filter(e => titles.has(e.textContent)).map(box),
    legend: [...root.querySelectorAll('.legend .bg')].map(box),
    xTitle: [...root.querySelectorAll('.xtitle')].map(box),
    xTicks: [...root.querySelectorAll('.xaxislayer-above .xtick text')].map(box),
    graphHeight: root.getBoundingClientRect().height,
    layoutHeight: plot && plot._fullLayout ? plot._fullLayout.height : null,
    styleHeight: root.style.height,
  };
}"""


def _overlap(a, b, tol=0.5) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > tol
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > tol)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("songs-phone")
    store = build_synthetic_store(root / "store", n_sections=64, sections_per_song=16, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=3)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="p" * 40)
    password = make_user(db, "ada", "expert")
    data = app.server.extensions["sectionist_data"]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "sections": [str(s) for s in data.section_ids],
               "runs": len(data.runs)}


def test_phone_songs_lanes_and_legend_do_not_overlap(server):
    sid = server["sections"][0]
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?section={sid}")
        page.wait_for_selector("#songs-timeline .legend .legendtext")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               " return gd.layout.meta && gd.layout.meta.narrow_applied; }")
        m = page.evaluate(MEASURE)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#songs-timeline").screenshot(path=str(SHOTS / "songs-lanes-390x844.png"))
        page.screenshot(path=str(SHOTS / "songs-390x844.png"), full_page=True)
        # one name per run's lane and the truth lane, above the lanes (the waveform needs none)
        assert len(m["ticks"]) >= server["runs"] + 1 and m["yTicks"] == 0, m["ticks"]
        # the graph's box is as tall as the figure asks (its layout.height, set as the box's CSS height),
        # and Plotly fills it
        assert m["styleHeight"].endswith("px") and float(m["styleHeight"][:-2]) > 320, m
        assert abs(m["graphHeight"] - float(m["styleHeight"][:-2])) < 2 and abs(m["layoutHeight"] - m["graphHeight"]) < 2, m
        ticks = m["ticks"]
        for i, a in enumerate(ticks):
            for b in ticks[i + 1:]:
                assert not _overlap(a, b), f"lane names overlap: {a} / {b}"
        assert m["legendTitle"] and m["xTitle"], m
        for title in m["legendTitle"] + m["legend"]:
            for axis in m["xTitle"] + m["xTicks"]:
                assert not _overlap(title, axis), f"legend {title} overlaps the time axis {axis}"
        assert not errors, errors


def test_verdict_panel_has_no_stray_top_border(server):
    sid = server["sections"][1]
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?section={sid}")
        panel = page.locator(".judge-panel")
        panel.wait_for()
        page.wait_for_load_state("networkidle")
        border = page.evaluate("() => { const s = getComputedStyle(document.querySelector('.judge-panel'));"
                               " return [s.borderTopStyle, s.borderTopWidth]; }")
        assert border[0] == "none" or border[1] == "0px", f"the verdict panel has a top border: {border}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(SHOTS / "verdict-panel-390x844.png"))
        assert not errors, errors
