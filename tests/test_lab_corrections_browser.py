"""An expert corrects a song's structure on the Lab, in headless Chromium with real clicks (issue 22:
"on the Songs lanes and the Lab ... see the new lane"): the Songs page's panel under the Lab's lanes,
the chosen structure's versions as lanes, latest on top. In one browser: at 1440×900 in English,
pick ``structure · merged``, "split here", click the lane, send, wait for the real recompute job and
see ``merged v2`` above ``merged v1`` (the old version kept in the store); then at 390×844 in Spanish
the same song's lanes show both versions and two quick taps on the new one pick two "different
parts" (one recompute per test: the Songs page's test sends from a phone). Screenshots in
``test-artifacts/screenshots/lab-corrections/``."""

from __future__ import annotations

import pytest
from auth_helpers import login_page
from browser_helpers import ARTIFACTS, LANE_NAMES_JS, chromium_page, click_lane
from songs_store import MERGED_LABELS, corrections_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "screenshots" / "lab-corrections"
LANES = "#lab-correct-lanes"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with corrections_server(tmp_path_factory.mktemp("lab-corrections"), "l") as served:
        yield served


def _lane_names(page):
    return page.evaluate(LANE_NAMES_JS, LANES)


def _pick(page, *, scheme_label, kind_label, lane, clicks, picked, shot):
    """Pick the merged structure and ``kind_label``, click ``clicks`` (times on ``lane``, quick taps: the
    second before the answer to the first, which the panel adds back) and wait for the words."""
    page.locator("#lab-counts").filter(has_text="1").or_(page.locator("#lab-counts").filter(has_text="2")).wait_for()
    page.click("#lab-correct-scheme")
    page.get_by_role("option", name=scheme_label, exact=True).click()
    page.wait_for_function(f"() => ({LANE_NAMES_JS})({LANES!r})[0] === {lane!r}")
    page.locator("#lab-correct").get_by_text(kind_label, exact=True).click()
    # assets/corrections.js listens to the new lanes (it looks for them every 300 ms)
    page.wait_for_function(f"() => document.querySelector('{LANES} .js-plotly-plot')._sectionistCorrect === true")
    for t in clicks:
        click_lane(page, LANES, lane, t)
    page.locator("#lab-correct-picked").filter(has_text=picked).wait_for()
    page.wait_for_function(f"(n) => (document.querySelector('{LANES} .js-plotly-plot').layout.shapes || [])"
                           ".filter(s => s.name === 'correct-pick').length === n", arg=len(clicks))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#lab-correct").screenshot(path=str(SHOTS / f"{shot}-picked.png"))
    assert page.locator("#lab-correct-send").is_enabled()


def test_an_expert_corrects_a_structure_on_the_lab_at_both_sizes(server):
    from sectionist.analysis.structure.versions import read_version, song_versions

    song, store = server["songs"][0], server["store"]
    step = server["durations"][0] / len(MERGED_LABELS)
    v1 = read_version(store, song, "merged", 1)
    with chromium_page(viewport=(1440, 900), timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/lab?song={song}")
        at = round(2.5 * step, 1)
        _pick(page, scheme_label="structure · merged", kind_label="split here", lane="merged v1", clicks=[at],
              picked="Split segment 3 (", shot="split-1440x900")
        page.locator("#lab-correct-send").click()
        page.locator("#lab-correct-status").filter(has_text="Done: the lanes show structure · merged v2.").wait_for(
            timeout=120_000)
        # the new version's lane on top, the old one kept below it, and in the store
        page.wait_for_function(f"() => ({LANE_NAMES_JS})({LANES!r}).join('|') === 'merged v2|merged v1'")
        page.locator(f"{LANES} .barlayer").wait_for()
        page.locator("#lab-correct").screenshot(path=str(SHOTS / "split-1440x900-done.png"))
        page.screenshot(path=str(SHOTS / "split-1440x900-page.png"), full_page=True)
        assert song_versions(store, song, "merged") == [1, 2]
        assert read_version(store, song, "merged", 1).equals(v1)
        v2 = read_version(store, song, "merged", 2)
        v2 = v2[v2["level"].fillna("section") == "section"] if "level" in v2 else v2
        assert any(abs(s - at) < 0.15 for s in v2["start_s"]), v2["start_s"].tolist()  # where it was clicked

        # the phone, in Spanish: the new lane is there, and two taps on it pick two different parts
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{server['url']}/lang/es?next=/lab?song={song}")
        _pick(page, scheme_label="estructura · merged v2", kind_label="partes distintas", lane="merged v2",
              clicks=[0.5 * step, 1.5 * step], picked="son partes distintas.", shot="different-390x844-es")
        assert _lane_names(page) == ["merged v2", "merged v1"]
        page.screenshot(path=str(SHOTS / "different-390x844-es-page.png"), full_page=True)
        box = page.locator("#lab-correct").bounding_box()  # the panel fits the phone's width
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, box

        # another song picked: the old song's counts leave the screen at once, before the new ones
        # arrive (issue 23: "with the old song's counts left on screen")
        waiting = page.get_attribute("#lab-counts", "data-waiting")
        old = page.locator("#lab-counts").inner_text()
        assert waiting and old and old != waiting
        page.evaluate("""() => { const el = document.getElementById('lab-counts'); window.__counts = [];
            new MutationObserver(() => window.__counts.push(el.textContent)).observe(
                el, {childList: true, characterData: true, subtree: true}); }""")
        shown = page.locator("#lab-song").inner_text()
        page.click("#lab-song")
        options = page.get_by_role("option")
        other = next(options.nth(i) for i in range(options.count()) if options.nth(i).inner_text() not in shown)
        other.click()
        page.wait_for_function("(w) => window.__counts.length > 1 && window.__counts.at(-1) !== w"
                               " && window.__counts.at(-1).length > 0", arg=waiting, timeout=60_000)
        seen = page.evaluate("() => window.__counts")
        # the first words on screen after the pick: computing, never the old song's counts
        assert [t for t in seen if t][0] == waiting, seen
        page.screenshot(path=str(SHOTS / "other-song-390x844-es.png"), full_page=True)
        assert not errors, errors
