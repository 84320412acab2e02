"""The Judge page's pairs mode (issue #22), in headless Chromium with real key events: an expert
picks "Pairs", starts a queue, and answers ten pairs with the keys s (same kind) and d (different);
each answer is stored at once (table ``pair_judgements``) on the pair that was on screen, the next
pair arrives without a page reload, and a key pressed while an answer is on its way is not applied
to a pair not yet heard: the page says so. At 1440×900 and 390×844, in English and Spanish. Then an
admin answers ten pairs, starts a guided version from the Judgements page (a real ``sectionist guide``
job) and reads the new version's share of the answers it keeps beside the judged version's.
Screenshots go to ``test-artifacts/screenshots/pairs``."""

from __future__ import annotations

import time

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import build_synthetic_store

from sectionist.dashboard.judging.pair_answers import pairs_frame
from sectionist.dashboard.models import get_database

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "screenshots" / "pairs"
RELATION = {"s": "same", "d": "different"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("judge-pairs")
    store = build_synthetic_store(root / "store", n_sections=60, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=4)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="j" * 40, jobs_dir=root / "jobs")
    passwords = {name: make_user(db, name, "expert") for name in ("pia", "quin")}
    passwords["ada"] = make_user(db, "ada", "admin")
    run = str(app.server.extensions["sectionist_data"].runs.index[0])
    with serve_in_thread(app.server) as url:
        yield {"url": url, "db": db, "passwords": passwords, "run": run}


def _pair_on_screen(pg, previous):
    pg.wait_for_function("prev => { const e = document.querySelector('[data-pair-item]');"
                         " return e && e.getAttribute('data-pair-item') !== prev"
                         " && !document.getElementById('judge-pair-same').disabled; }", arg=previous,
                         timeout=20_000)
    return pg.get_attribute("[data-pair-item]", "data-pair-item")


def _answer_pairs(pg, keys):
    """Start a pairs queue of ``len(keys)`` and answer it by keyboard; returns the pairs in stored order."""
    pg.wait_for_selector("#judge-start")
    pg.fill("#judge-size", str(len(keys)))
    pg.click("#judge-start")
    pg.locator("body").click(position={"x": 5, "y": 5})  # keys to the page, not an input
    expected, previous = [], None
    for key in keys:
        pair = _pair_on_screen(pg, previous)
        pg.keyboard.press(key)
        expected.append(("|".join(sorted(pair.split("|"))), RELATION[key]))
        previous = pair
    pg.wait_for_function("!document.querySelector('[data-pair-item]')", timeout=20_000)
    return expected


def _answers(db, user, n, timeout=20.0):
    t0 = time.monotonic()
    while True:
        df = pairs_frame(get_database(db), history=True)
        df = df[df["username"] == user] if len(df) else df
        if len(df) >= n or time.monotonic() - t0 > timeout:
            return df.sort_values("id") if len(df) else df
        time.sleep(0.2)


# Sets window.__pairNoteShown once #judge-pair-note is visible: a loaded machine can bring the next
# pair (which hides the note) before the test looks at it.
NOTE_WATCH_JS = """() => {
    window.__pairNoteShown = false;
    const seen = () => { const n = document.getElementById('judge-pair-note');
                         if (n && !n.hidden) window.__pairNoteShown = true; };
    new MutationObserver(seen).observe(document.documentElement,
        {subtree: true, childList: true, attributes: true, attributeFilter: ['hidden']});
}"""


@pytest.mark.parametrize("user, viewport, locale", [("pia", (1440, 900), "en-GB"), ("quin", (390, 844), "es-ES")])
def test_ten_pairs_answered_by_keyboard(server, user, viewport, locale):
    with chromium_page(viewport=viewport, timeout_ms=60_000, locale=locale) as (pg, errors):
        login_page(pg, server["url"], user, server["passwords"][user],
                   next=f"/judge?run={server['run']}&strategy=pairs")
        pg.wait_for_selector("#judge-start")
        pg.fill("#judge-size", "10")
        pg.click("#judge-start")
        pg.locator("body").click(position={"x": 5, "y": 5})  # keys to the page, not an input
        expected, previous = [], None
        for i, key in enumerate("sdsdssddsd"):
            pair = _pair_on_screen(pg, previous)
            assert pg.locator("#judge-pair-same").is_visible() and pg.locator("#judge-pair-different").is_visible()
            # both sections have a player, A starts by itself
            assert pg.locator("[data-pair-item] ~ .judge-pair audio").count() == 2
            if i == 0:
                SHOTS.mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=str(SHOTS / f"pair-{viewport[0]}x{viewport[1]}-{locale[:2]}.png"), full_page=True)
            if i == 4:  # remember whether the note is ever shown (the next pair hides it again)
                pg.evaluate(NOTE_WATCH_JS)
            pg.keyboard.press(key)
            if i == 4:  # a second key at once: not applied to a pair not yet heard, and said so
                pg.keyboard.press("s")
                if pg.get_attribute("[data-pair-item]", "data-pair-item") == pair:
                    pg.wait_for_function("window.__pairNoteShown === true", timeout=5_000)
            expected.append(("|".join(sorted(pair.split("|"))), RELATION[key]))  # stored in order
            previous = pair
        pg.wait_for_function("!document.querySelector('[data-pair-item]')", timeout=20_000)
        assert pg.locator("#judge-pair-same").is_hidden()
        df = _answers(server["db"], user, 10)
        got = [(f"{a}|{b}", r) for a, b, r in zip(df["section_a"], df["section_b"], df["relation"])]
        assert got == expected, (got, expected)  # ten answers, one per pair, on the pair on screen
        assert len({p for p, _r in expected}) == 10
        assert set(df["run_id"]) == {server["run"]} and df["superseded_at"].isna().all()
        assert not errors, errors


def test_answers_guide_a_new_version_from_the_judgements_page(server):
    def rates(pg):
        return pg.evaluate("""() => [...document.querySelectorAll('table[data-lineage] tbody tr')].map(tr =>
            [tr.cells[0].innerText, tr.cells[4].innerText, tr.querySelector('.guided-rate').innerText])""")

    with chromium_page(viewport=(1440, 900), timeout_ms=60_000, locale="en-GB") as (pg, errors):
        login_page(pg, server["url"], "ada", server["passwords"]["ada"],
                   next=f"/judge?run={server['run']}&strategy=pairs")
        # "same" for pairs across a border: the run as it is keeps few of them
        expected = _answer_pairs(pg, "ssssssssdd")
        assert len(_answers(server["db"], "ada", 10)) == 10
        pg.goto(server["url"] + "/judgements")
        pg.wait_for_selector("table[data-lineage]")
        before = rates(pg)
        assert [r[0] for r in before] == ["v1"], before
        pg.click("button:has-text('Fit a guided version')")
        pg.wait_for_function("() => [...document.querySelectorAll('table[data-lineage] tbody tr')].length >= 2",
                             timeout=120_000)
        after = rates(pg)
        assert [r[0] for r in after] == ["v1", "v2"], after
        share = [float(r[2].split("%")[0]) for r in after]
        assert share[1] == 100.0 and share[0] < share[1], after  # the guided version keeps every answer
        assert int(after[1][1]) >= 1  # sections moved
        assert after[0][2] == before[0][2]  # the judged version is unchanged
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / "guided-version-1440x900-en.png"), full_page=True)
        assert len(expected) == 10 and not errors, errors
