"""The app on a phone (390×844) and on a laptop (1440×900), in headless Chromium (Debian's chromium
through Playwright), with real clicks and key presses.

On a phone: the nav folds behind a "Menu" button (a button, keyboard operable, no inline script)
and every page of the nav is reachable from it; the map takes the full width; on Judge the verdict
buttons are a bar pinned to the bottom of the screen, in view without scrolling; no page scrolls
sideways. On a laptop the nav is inline as before. Screenshots of every page at both sizes go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import pytest
from auth_helpers import judged_app, login_page
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
LAPTOP = (1440, 900)
SHOTS = ARTIFACTS / "screenshots"
#: every page of the app (the admin's users page is Flask's, not Dash's)
PAGES = ["/", "/map", "/clusters", "/compare", "/songs", "/lab", "/judge", "/judgements", "/admin/users"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app, password, data = judged_app(tmp_path_factory.mktemp("responsive"), "r" * 40)
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "sections": [str(s) for s in data.section_ids]}


def _open(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle", timeout=60_000)


def _no_sideways_scroll(page, path):
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:  # name the elements that stick out, for the failure message
        wide = page.evaluate("() => [...document.querySelectorAll('body *')].filter(e => "
                             "e.getBoundingClientRect().right > window.innerWidth + 1 && e.children.length === 0)"
                             ".slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' +"
                             " Math.round(e.getBoundingClientRect().right))")
        raise AssertionError(f"{path} scrolls sideways: {widths[0]} px of content in {widths[1]} px: {wide}")


def _shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _slug(path, size):
    return f"{path.strip('/').replace('/', '-') or 'overview'}-{size[0]}x{size[1]}.png"


def test_phone_every_page(server):
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        page.wait_for_selector("#app-nav-toggle")
        for path in PAGES:
            _open(page, server["url"] + path)
            if path == "/map":
                page.wait_for_selector("#map-graph .js-plotly-plot .main-svg")
                page.wait_for_load_state("networkidle")
                plot = page.evaluate("() => document.querySelector('#map-graph .js-plotly-plot')"
                                     ".getBoundingClientRect().width")
                assert plot >= 0.9 * PHONE[0], f"the map is {plot:.0f} px wide on a {PHONE[0]} px screen"
            if path == "/":
                # the runs table scrolls inside its card, its headers wrapped into a few lines at most
                # (not the tall, mostly empty header row of columns squeezed to their longest word)
                head = page.evaluate("() => { const c = document.querySelector('#overview-runs "
                                     ".dash-spreadsheet-container'); return {scroll: c.scrollWidth, width:"
                                     " c.clientWidth, right: c.getBoundingClientRect().right, header:"
                                     " c.querySelector('tr').getBoundingClientRect().height}; }")
                assert head["scroll"] > head["width"] and head["right"] <= PHONE[0], head
                assert head["header"] <= 60, head
            _no_sideways_scroll(page, path)
            _shoot(page, _slug(path, PHONE))
        assert not errors, errors


def test_phone_menu_reaches_every_page(server):
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        toggle = page.locator("#app-nav-toggle")
        toggle.wait_for()
        links = page.locator("#app-nav-menu a.nav-link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert {"/", "/map", "/clusters", "/compare", "/songs", "/judge", "/judgements", "/admin/users",
                "/playlists"} <= set(hrefs)
        # closed: the links are hidden, only the button shows
        assert toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("#app-nav a.nav-link[href='/compare']").is_visible()
        # the keyboard opens it (Enter on the focused button) and Escape closes it again
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("#app-nav a.nav-link[href='/compare']").is_visible()
        page.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.evaluate("() => document.activeElement.id") == "app-nav-toggle"
        for href in hrefs:
            toggle.click()
            link = page.locator(f"#app-nav-menu a[href='{href}']")
            assert link.is_visible(), href
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], (href, box)
            link.click()
            page.wait_for_url(server["url"] + href)
            page.wait_for_load_state("networkidle")
            if href in ("/admin/users", "/playlists"):  # server-rendered pages: back to the app
                page.go_back()
                page.wait_for_selector("#app-nav-toggle")
            else:  # following a link closes the menu
                assert page.locator("#app-nav-toggle").get_attribute("aria-expanded") == "false"
        # log out is in the menu too
        page.locator("#app-nav-toggle").click()
        assert page.locator("#app-nav-menu a[href='/logout']").is_visible()
        assert not errors, errors


def test_phone_judge_verdict_in_view(server):
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/judge")
        page.wait_for_selector("#judge-start")
        page.click("#judge-start")
        agree = page.locator(".judge-panel [data-judge-key='a']")
        agree.wait_for()
        page.wait_for_load_state("networkidle")
        page.evaluate("() => window.scrollTo(0, 0)")
        box = page.evaluate("() => { const r = document.querySelector(\".judge-panel [data-judge-key='a']\")"
                            ".getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left,"
                            " right: r.right, y: window.scrollY}; }")
        assert box["y"] == 0
        assert 0 <= box["top"] and box["bottom"] <= PHONE[1], f"Agree is at {box} on a {PHONE} screen"
        assert 0 <= box["left"] and box["right"] <= PHONE[0], box
        # and it is the real button: a click there records the verdict and moves on
        page.mouse.click((box["left"] + box["right"]) / 2, (box["top"] + box["bottom"]) / 2)
        page.wait_for_function("document.querySelector('#judge-progress').innerText.startsWith('2 / ')")
        _no_sideways_scroll(page, "/judge")
        _shoot(page, "judge-queue-390x844.png")
        # the bar stays in view at the bottom of a scrolled page too
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        bottom = page.evaluate("() => document.querySelector(\".judge-panel [data-judge-key='a']\")"
                               ".getBoundingClientRect().bottom")
        assert bottom <= PHONE[1]
        assert not errors, errors


def test_laptop_every_page(server):
    with chromium_page(viewport=LAPTOP, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        page.wait_for_selector("#app-nav a.nav-link")
        # the nav is inline as before: no menu button, every link on the one top bar row
        assert not page.locator("#app-nav-toggle").is_visible()
        tops = page.evaluate("() => [...document.querySelectorAll('#app-nav-menu a')]"
                             ".map(a => a.getBoundingClientRect()).map(r => [r.top, r.bottom])")
        bar = page.evaluate("() => document.querySelector('.topbar').getBoundingClientRect().height")
        assert bar <= 56 and all(0 <= t and b <= bar for t, b in tops), (bar, tops)
        assert page.locator("#app-nav-admin-users").is_visible()
        for path in PAGES:
            _open(page, server["url"] + path)
            if path == "/":
                # the runs table shows every column, the experts' last, without scrolling sideways
                table = page.evaluate("() => { const c = document.querySelector('#overview-runs "
                                      ".dash-spreadsheet-container'); const h = [...c.querySelectorAll('th')];"
                                      " return {scroll: c.scrollWidth, width: c.clientWidth, right:"
                                      " c.getBoundingClientRect().right, last: h[h.length - 1].innerText,"
                                      " lastRight: h[h.length - 1].getBoundingClientRect().right}; }")
                assert table["scroll"] <= table["width"] + 1, table
                assert table["lastRight"] <= min(table["right"], LAPTOP[0]) + 1, table
                assert "verdicts" in table["last"] or "agree" in table["last"], table
            if path == "/map":
                page.wait_for_selector("#map-graph .js-plotly-plot .main-svg")
                page.wait_for_load_state("networkidle")
            if path == "/judge":
                page.click("#judge-start")
                page.wait_for_selector(".judge-panel [data-judge-key='a']")
                page.wait_for_load_state("networkidle")
            _no_sideways_scroll(page, path)
            _shoot(page, _slug(path, LAPTOP))
        # the admin page wears the app's styles: its top bar and cards
        _open(page, server["url"] + "/admin/users")
        assert page.evaluate("() => getComputedStyle(document.querySelector('.topbar')).backgroundColor") \
            == "rgb(17, 24, 39)"
        assert page.locator("#users-table").is_visible()
        assert not errors, errors


def test_changing_the_space_keeps_playing(server):
    """Issue 14 item 9: another space on the Map rebuilds the detail panel around the selected
    section; the section that was playing goes on playing, from where it was."""
    with chromium_page(viewport=LAPTOP, timeout_ms=30_000) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/songs")
        # a section chosen on Songs is the selection the Map opens with
        page.wait_for_selector("#songs-timeline .js-plotly-plot")
        sid = server["sections"][3]
        _open(page, server["url"] + f"/songs?section={sid}")
        page.wait_for_selector(f"#songs-detail audio[data-section='{sid}']")
        _open(page, server["url"] + "/map")
        audio = f"#map-detail audio[data-section='{sid}']"
        page.wait_for_selector(audio)
        page.evaluate(f"() => document.querySelector(\"{audio}\").play()")
        page.wait_for_function(f"() => {{ const a = document.querySelector(\"{audio}\");"
                               " return a && !a.paused && a.currentTime > 0.3; }")
        page.evaluate(f"() => {{ document.querySelector(\"{audio}\").dataset.before = '1'; }}")
        before = page.locator("#map-run").inner_text()
        # another space, picked with real clicks: the run and the detail panel follow it
        page.click("#map-space")
        options = page.get_by_role("option")
        options.first.wait_for()
        current = page.locator("#map-space").inner_text().strip()
        other = next(t for t in options.all_inner_texts() if t.strip() and t.strip() not in current)
        page.get_by_role("option", name=other.strip(), exact=True).click()
        page.wait_for_function(f"() => document.querySelector('#map-run').innerText !== {before!r}")
        page.wait_for_load_state("networkidle")
        # the panel was rebuilt (a new audio element) and the section plays on, past where it was
        page.wait_for_function(f"() => {{ const a = document.querySelector(\"{audio}\");"
                               " return a && !a.dataset.before; }")
        page.wait_for_function(f"() => {{ const a = document.querySelector(\"{audio}\");"
                               " return a && !a.paused && a.currentTime > 0.3; }")
        assert not errors, errors


def test_phone_detail_panels_pin_the_verdict_bar(server):
    """The verdict buttons of a detail panel (Songs, then the Map with the same selection) are in
    view at the top of the page on a phone, though the panel sits below the timeline or map."""
    with chromium_page(viewport=PHONE, timeout_ms=30_000) as (page, errors):
        sid = server["sections"][5]
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?section={sid}")
        for path, panel in ((f"/songs?section={sid}", "#songs-detail"), ("/map", "#map-detail")):
            _open(page, server["url"] + path)
            page.wait_for_selector(f"{panel} audio[data-section='{sid}']")
            agree = page.locator(".judge-panel [data-judge-key='a']")
            agree.wait_for()
            page.evaluate("() => window.scrollTo(0, 0)")
            box = agree.bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE[1], (path, box)
            # pinned: the page scrolls, the bar stays where it is on the screen
            page.evaluate("() => window.scrollBy(0, 400)")
            assert page.evaluate("() => window.scrollY") > 0, path
            after = agree.bounding_box()
            assert after["y"] == pytest.approx(box["y"], abs=1), (path, box, after)
            page.evaluate("() => window.scrollTo(0, 0)")
            _no_sideways_scroll(page, path)
        agree.click()
        page.wait_for_function("() => /Saved: agree/.test(document.querySelector('.judge-panel').innerText)")
        assert not errors, errors
