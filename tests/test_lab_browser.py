"""The segmentation lab in headless Chromium (Debian's chromium through Playwright): moving the threshold
slider with real key presses and a mouse click redraws the slices in under a second (measured in the
page, from the input event to the changed counts) and changes the count; a click on a slice plays it
(the audio element's src is that span and its currentTime advances); "save as scheme" checks the name
and saves. Screenshots at 1440x900 and 390x844 go to test-artifacts/screenshots/lab-*.png."""

from __future__ import annotations

import pytest
from synthetic_store import add_beat_clicks, build_synthetic_store

from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "screenshots"

#: Records, in the page, when the next input event happens and when #lab-counts changes after it.
WATCH_JS = """() => {
  const counts = document.getElementById('lab-counts');
  window.__lab = {t0: null, t1: null, before: counts.textContent, after: null};
  const mark = () => { if (window.__lab.t0 === null) window.__lab.t0 = performance.now(); };
  window.addEventListener('keydown', mark, {capture: true});
  window.addEventListener('pointerdown', mark, {capture: true});
  new MutationObserver((muts, obs) => {
    if (window.__lab.t0 !== null && counts.textContent !== window.__lab.before) {
      window.__lab.t1 = performance.now(); window.__lab.after = counts.textContent; obs.disconnect();
    }
  }).observe(counts, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("lab-browser")
    # one song of 48 s: 12 sections of 4 s drawn from 4 sounds
    store = build_synthetic_store(root / "store", n_sections=12, sections_per_song=12, n_sounds=4,
                                  section_seconds=4.0, audio=True, audio_sr=8000, random_state=11)
    add_beat_clicks(store)  # merged works on beats: a pulse to track (at threshold 1: 6 slices; 5: 1)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="d" * 40)
    password = make_user(db, "composer", "expert")
    song = store.read_table("songs").iloc[0]["song_id"]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "song": song, "store": store}


def _count(text: str) -> int:
    return int(text.split()[0])


def _move_and_time(page, action):
    page.evaluate(WATCH_JS)
    action()
    page.wait_for_function("() => window.__lab.t1 !== null", timeout=10_000)
    lab = page.evaluate("() => window.__lab")
    return lab["t1"] - lab["t0"], lab["before"], lab["after"]


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_threshold_redraws_the_slices_and_a_slice_plays(server, viewport):
    with chromium_page(viewport=viewport, timeout_ms=60_000) as (page, errors):
        try:
            login_page(page, server["url"], "composer", server["password"], next="/lab")
            # the first open of the song computes its sweep
            page.wait_for_function("() => /slices? before merging/.test("
                                   "(document.getElementById('lab-counts') || {}).textContent || '')", timeout=60_000)
            page.wait_for_selector("#lab-lanes .barlayer .point path")
            page.wait_for_load_state("networkidle")
            handle = page.locator("#lab-threshold [role=slider]")
            handle.focus()
            # End: the highest threshold, fewest slices (a real key press on the focused handle)
            ms, before, after = _move_and_time(page, lambda: page.keyboard.press("End"))
            assert ms < 1000, f"redraw took {ms:.0f} ms"
            assert _count(after) < _count(before), (before, after)
            # a mouse click on the rail near its start: a low threshold, more slices
            rail = page.locator("#lab-threshold .dash-slider-track").bounding_box()
            ms2, before2, after2 = _move_and_time(
                page, lambda: page.mouse.click(rail["x"] + rail["width"] * 0.04, rail["y"] + rail["height"] / 2))
            assert ms2 < 1000, f"redraw took {ms2:.0f} ms"
            assert _count(after2) > _count(before2), (before2, after2)
            page.wait_for_load_state("networkidle")
            SHOTS.mkdir(parents=True, exist_ok=True)
            name = f"lab-{viewport[0]}x{viewport[1]}.png"
            page.screenshot(path=str(SHOTS / name), full_page=True)
            # a click on the widest slice of the top lane plays that span
            page.locator("#lab-lanes").scroll_into_view_if_needed()
            bars = page.locator("#lab-lanes .barlayer .point path")
            boxes = [b for b in (bars.nth(i).bounding_box() for i in range(bars.count())) if b]
            top = min(b["y"] for b in boxes)
            box = max((b for b in boxes if abs(b["y"] - top) < 2), key=lambda b: b["width"])
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            audio = page.wait_for_selector("#lab-audio", timeout=30_000)
            src = audio.get_attribute("src")
            assert src.startswith(f"/audio/span/{server['song']}.wav?start="), src
            page.wait_for_function("() => { const a = document.getElementById('lab-audio');"
                                   " return a && a.currentTime > 0.3; }", timeout=30_000)
            page.screenshot(path=str(SHOTS / name.replace(".png", "-playing.png")), full_page=True)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-lab-{viewport[0]}.png"), full_page=True)
            raise
        assert not errors, errors


def test_save_as_scheme(server):
    with chromium_page(viewport=(1440, 900), timeout_ms=60_000) as (page, errors):
        login_page(page, server["url"], "composer", server["password"], next="/lab")
        page.wait_for_function("() => /before merging/.test((document.getElementById('lab-counts') || {}).textContent || '')",
                               timeout=60_000)
        page.fill("#lab-save-name", "no good")
        page.click("#lab-save")
        page.wait_for_function("() => document.getElementById('lab-save-status').textContent.length > 0")
        assert "letters, digits" in page.text_content("#lab-save-status")
        page.fill("#lab-save-name", "browser-1")
        page.click("#lab-save")
        page.wait_for_function("() => /lab-browser-1/.test(document.getElementById('lab-save-status').textContent)")
        assert "lab-browser-1/" + server["song"] in server["store"].list_parts("segments")
        assert not errors, errors
