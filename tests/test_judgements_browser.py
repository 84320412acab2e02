"""Judging end to end in headless Chromium (Debian's chromium through Playwright): an expert logs in
through the form, runs a guided blind queue with the keyboard (a / d / n), then judges a section on
the map page by clicking; the verdicts land in the database. Screenshot in ``test-artifacts/``."""

from __future__ import annotations

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import build_synthetic_store

from sectionist.dashboard.judging.repository import judgements_frame
from sectionist.dashboard.models import get_database

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("judge-browser")
    store = build_synthetic_store(root / "store", n_sections=60, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=3)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="j" * 40)
    password = make_user(db, "judy", "expert")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "db": db, "password": password, "data": app.server.extensions["sectionist_data"]}


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(viewport=(1600, 1000), timeout_ms=30_000) as (pg, errors):
        login_page(pg, server["url"], "judy", server["password"], next="/judge")
        yield pg, errors


def test_login_form_lands_on_next(page, server):
    pg, _ = page
    assert pg.url.rstrip("/").endswith("/judge")


def test_blind_queue_with_keyboard(page, server):
    pg, errors = page
    pg.wait_for_selector("#judge-start")
    # choose the strategy "Least stable sections", blind mode, 5 sections
    pg.click("#judge-strategy")
    pg.get_by_text("Least stable sections", exact=True).click()
    pg.fill("#judge-size", "5")
    pg.get_by_text("blind (hide method and cluster number)").click()
    pg.click("#judge-start")
    pg.wait_for_selector(".judge-panel [data-judge-key='a']")
    # the panel and the item/progress line come from two callbacks that may land in either order
    pg.wait_for_function("document.querySelector('#judge-progress').innerText.startsWith('1 / 5')")
    pg.wait_for_function("document.querySelector('#judge-item').innerText.trim().length > 0")
    progress = pg.locator("#judge-progress")
    assert "blind" in progress.inner_text()
    # blind: the run and the cluster number are nowhere in the item or the panel
    item_text = pg.locator("#judge-item").inner_text() + pg.locator(".judge-panel").inner_text()
    run_id = server["data"].runs.index[0]
    assert run_id not in item_text and "cluster " not in item_text.lower()
    assert pg.locator("#judge-audio").count() == 1

    pg.locator("body").click(position={"x": 5, "y": 5})  # focus outside any input
    first = pg.locator(".judge-panel").get_attribute("data-section")
    pg.keyboard.press("a")
    pg.wait_for_function("document.querySelector('#judge-progress').innerText.startsWith('2 / 5')")
    # the verdict keys act on the panel shown: wait until it is the second section's
    pg.wait_for_function(f"(() => {{ const p = document.querySelector('.judge-panel');"
                         f" return p && p.dataset.section && p.dataset.section !== '{first}'"
                         f" && p.querySelector(\"[data-judge-key='d']\"); }})()")
    pg.keyboard.press("d")
    pg.wait_for_function("document.querySelector('#judge-progress').innerText.startsWith('3 / 5')")
    pg.keyboard.press("n")  # skip one without a verdict
    pg.wait_for_function("document.querySelector('#judge-progress').innerText.startsWith('4 / 5')")
    # space toggles the section's player
    pg.wait_for_selector("#judge-audio")
    # the player is re-rendered for the new item: wait until the current element has loaded its section
    pg.wait_for_function("(() => { const a = document.getElementById('judge-audio');"
                         " return a && a.readyState >= 1; })()")
    pg.wait_for_timeout(300)  # let Dash finish re-rendering the item before the key press
    before = pg.evaluate("document.getElementById('judge-audio').paused")
    pg.keyboard.press(" ")
    pg.wait_for_function(f"document.getElementById('judge-audio').paused === {str(not before).lower()}")
    pg.keyboard.press(" ")
    pg.wait_for_function(f"document.getElementById('judge-audio').paused === {str(before).lower()}")
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "judge-blind-queue.png"), full_page=True)

    df = judgements_frame(get_database(server["db"]))
    assert sorted(df["verdict"]) == ["agree", "disagree"]
    assert first == df.loc[df["verdict"] == "agree", "section_id"].iloc[0]
    assert set(df["username"]) == {"judy"} and df["blind"].all()
    assert set(df["source"]) == {"queue:unstable"}
    assert not errors, errors


def test_map_panel_click(page, server):
    pg, errors = page
    data = server["data"]
    run_id = data.runs.index[0]
    sid = data.section_ids[7]
    pg.goto(f"{server['url']}/map?section={sid}&run={run_id}")
    pg.wait_for_selector("#map-judge .judge-panel [data-judge-key='u']")
    panel = pg.locator("#map-judge")
    assert "Is this section right in" in panel.inner_text()
    panel.locator("textarea").first.fill("hard to tell")
    panel.locator("[data-judge-key='u']").click()
    pg.wait_for_function("document.querySelector('#map-judge').innerText.includes('Saved: unsure')")
    pg.screenshot(path=str(ARTIFACTS / "judge-map-panel.png"), full_page=True)
    df = judgements_frame(get_database(server["db"]))
    row = df[df["section_id"] == sid].iloc[0]
    assert row["verdict"] == "unsure" and row["comment"] == "hard to tell" and row["source"] == "map"
    assert not bool(row["blind"])
    assert not errors, errors


def test_mixed_queue_from_the_url(page, server):
    pg, errors = page
    pg.goto(f"{server['url']}/judge?run=mixed&strategy=random")
    pg.wait_for_selector("#judge-run:has-text('All runs, mixed')")
    pg.fill("#judge-size", "4")
    pg.click("#judge-start")
    pg.wait_for_function("document.querySelector('#judge-progress').innerText.includes('all runs mixed')")
    assert pg.locator("#judge-progress").inner_text().startswith("1 / 4")
    assert "blind" in pg.locator("#judge-progress").inner_text()
    runs = server["data"].runs.index
    shown = pg.locator("#judge-item").inner_text()
    assert not any(r in shown for r in runs)
    assert not errors, errors


# the verdict keys' queue (a key is never dropped while a section loads): tests/test_judge_keys_browser.py
