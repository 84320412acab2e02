"""An expert corrects a song's structure on the Songs page's lanes, in headless Chromium with real
clicks (issue 22, "correct a song's structure on the lanes and see the new lane"): picks what is
wrong, clicks on the ``structure · merged`` lane, sends, waits for the real recompute job, and sees
the lane renamed to its new version while the panel still shows the old one. At 1440×900 in English
(a split) and at 390×844 in Spanish (two segments are different parts, the lane names above the
lanes). Screenshots in ``test-artifacts/screenshots/corrections/``."""

from __future__ import annotations

import pytest
from auth_helpers import login_page
from browser_helpers import ARTIFACTS, LANE_NAMES_JS, chromium_page, click_lane
from songs_store import MERGED_LABELS, corrections_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "screenshots" / "corrections"

TIMELINE = "#songs-timeline"
LANES = f"() => ({LANE_NAMES_JS})({TIMELINE!r})"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with corrections_server(tmp_path_factory.mktemp("corrections-browser"), "b") as served:
        yield served


def _click_lane(page, lane, t):
    click_lane(page, TIMELINE, lane, t)


def _correct(server, page, song, *, kind_label, clicks, picked, done, new_lane, shot, wait_between=True):
    from sectionist.analysis.structure.versions import read_version, song_versions

    store = server["store"]
    v1 = read_version(store, song, "merged", 1)
    page.wait_for_selector("#songs-timeline .js-plotly-plot .barlayer")
    page.wait_for_load_state("networkidle")
    # the panel's answer to the kind first (a loaded machine answered it after the taps below), and
    # assets/corrections.js listening to the timeline (it looks for the graph every 300 ms)
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and '"songs-correct-kind.value"' in (r.request.post_data or "")):
        page.get_by_text(kind_label, exact=True).click()
    page.wait_for_function("() => document.querySelector('#songs-timeline .js-plotly-plot')._sectionistCorrect === true")
    picked_line = page.locator("#songs-correct-picked")
    for lane, t in clicks:
        before = picked_line.inner_text()
        _click_lane(page, lane, t)
        if wait_between:  # the next click once the panel has said what this one picked
            page.wait_for_function("(text) => document.querySelector('#songs-correct-picked').innerText !== text",
                                   arg=before)
    try:
        picked_line.filter(has_text=picked).wait_for()
    except Exception:  # what the panel said instead, for the report
        raise AssertionError(f"the panel says {picked_line.inner_text()!r}, not {picked!r}") from None
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#songs-correct").screenshot(path=str(SHOTS / f"{shot}-picked.png"))
    # the picked times are dashed lines across the timeline
    page.wait_for_function("(n) => (document.querySelector('#songs-timeline .js-plotly-plot').layout.shapes || [])"
                           ".filter(s => s.name === 'correct-pick').length === n", arg=len(clicks))
    page.locator("#songs-timeline").screenshot(path=str(SHOTS / f"{shot}-picked-lanes.png"))
    send = page.locator("#songs-correct-send")
    assert send.is_enabled()
    send.click()
    page.locator("#songs-correct-status").filter(has_text=done).wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({LANES})().includes({new_lane!r})")
    page.locator("#songs-correct .correct-versions-graph .barlayer").wait_for()
    page.screenshot(path=str(SHOTS / f"{shot}-done.png"), full_page=True)
    page.locator("#songs-timeline").screenshot(path=str(SHOTS / f"{shot}-lanes.png"))
    page.locator("#songs-correct").screenshot(path=str(SHOTS / f"{shot}-panel.png"))
    # the old version is kept, and readable in the panel beside the new one
    assert song_versions(store, song, "merged") == [1, 2]
    assert read_version(store, song, "merged", 1).equals(v1)
    versions = page.evaluate("() => document.querySelector('#songs-correct .correct-versions-graph .js-plotly-plot')"
                             ".layout.yaxis.ticktext")
    assert versions == ["merged v1", "merged v2"]
    return read_version(store, song, "merged", 2)


def test_desktop_english_split_a_segment(server):
    song, duration = server["songs"][0], server["durations"][0]
    step = duration / len(MERGED_LABELS)
    with chromium_page(viewport=(1440, 900), timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?song={song}")
        at = round(2.5 * step, 1)
        v2 = _correct(server, page, song, kind_label="split here", clicks=[("structure · merged", at)],
                      picked="Split segment 3 (", done="Done: the lanes show structure · merged v2.",
                      new_lane="structure · merged v2", shot="split-1440x900")
        starts = sorted(v2.loc[v2["level"].fillna("section") == "section", "start_s"] if "level" in v2 else v2["start_s"])
        assert any(abs(s - at) < 0.15 for s in starts), starts  # the click's time, within a pixel or so
        # how sure each structure is (under the lanes) now counts the new version's segments
        page.locator("#songs-structure li", has_text="merged:").filter(
            has_text=f"{len(starts)} segments").wait_for()
        assert not errors, errors


def test_phone_spanish_two_segments_are_different(server):
    song, duration = server["songs"][1], server["durations"][1]
    step = duration / len(MERGED_LABELS)  # merged: A A B C B; the two A's are said to differ
    with chromium_page(viewport=(390, 844), timeout_ms=30_000, locale="es-ES") as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?song={song}")
        page.wait_for_function("() => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               " return gd && gd.layout.meta && gd.layout.meta.narrow_applied; }")
        v2 = _correct(server, page, song, kind_label="partes distintas",
                      clicks=[("estructura · merged", 0.5 * step), ("estructura · merged", 1.5 * step)],
                      picked="son partes distintas.", done="Hecho: los carriles muestran estructura · merged v2.",
                      new_lane="estructura · merged v2", shot="different-390x844-es",
                      wait_between=False)  # two quick taps: the second before the answer to the first
        sec = v2[v2["level"].fillna("section") == "section"] if "level" in v2 else v2
        sec = sec.sort_values("start_s")
        label_at = [int(sec["label"].iloc[(sec["start_s"] <= t).sum() - 1]) for t in (0.5 * step, 1.5 * step)]
        assert label_at[0] != label_at[1], sec[["start_s", "end_s", "label"]]
        # on a phone the lane names stand above the lanes, the new version's among them
        page.wait_for_function("() => [...document.querySelectorAll('#songs-timeline .infolayer .annotation-text')]"
                               ".some(e => e.textContent === 'estructura · merged v2')")
        page.locator("#songs-timeline").screenshot(path=str(SHOTS / "different-390x844-es-lanes.png"))
        assert not errors, errors
