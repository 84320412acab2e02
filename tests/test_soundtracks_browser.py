"""The Songs page's sound tracks in headless Chromium (Debian's chromium through Playwright): the
view renders one panel per song for two songs, and clicking a block plays its span (the audio
element's currentTime advances). Screenshots at 1440x900 and 390x844 go to
test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from synthetic_store import build_synthetic_store

from sectionist.analysis.sections.soundtracks import tracks_store
from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("soundtracks-browser")
    store = build_synthetic_store(root / "store", n_sections=32, sections_per_song=8, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=21)
    res = tracks_store(store, beats=2, nmf=3, progress=False)
    assert not res["failed"], res["failed"]
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="b" * 40)
    password = make_user(db, "producer", "viewer")
    songs = store.read_table("songs").sort_values("title").iloc[:2]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "songs": list(songs["song_id"]), "titles": list(songs["title"])}


def _texts(page, selector):
    # SVG text has no innerText: read textContent
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")


def _open(page, server):
    songs = ",".join(server["songs"])
    login_page(page, server["url"], "producer", server["password"], next=f"/songs?songs={songs}&view=sounds")
    page.wait_for_selector("#songs-timeline .barlayer .point path", timeout=60_000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_sound_tracks_render_for_two_songs_and_a_block_plays(server, viewport):
    with chromium_page(viewport=viewport, timeout_ms=60_000) as (page, errors):
        try:
            _open(page, server)
            ticks = _texts(page, "#songs-timeline .ytick text")
            for title in server["titles"]:  # one heading per song
                assert any(t.startswith(title) and t.endswith((" sounds", " sound")) for t in ticks), ticks
            assert sum(t.startswith("sound 1 ·") for t in ticks) == 2, ticks  # one panel per song
            assert any(t.startswith("component ") for t in ticks)
            name = f"soundtracks-{viewport[0]}x{viewport[1]}.png"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / name), full_page=True)
            # click the widest block of the first track: the player plays that span
            bars = page.locator("#songs-timeline .barlayer .trace").first.locator(".point path")
            boxes = [b for b in (bars.nth(i).bounding_box() for i in range(bars.count())) if b]
            box = max(boxes, key=lambda b: b["width"])
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            audio = page.wait_for_selector("#songs-span-audio", timeout=30_000)
            src = audio.get_attribute("src")
            assert src.startswith(f"/audio/span/{server['songs'][0]}.wav?start=")
            page.wait_for_function("() => { const a = document.getElementById('songs-span-audio');"
                                   " return a && a.currentTime > 0.3; }", timeout=30_000)
            page.screenshot(path=str(SHOTS / name.replace(".png", "-playing.png")), full_page=True)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-soundtracks-{viewport[0]}.png"), full_page=True)
            raise
        assert not errors, errors
