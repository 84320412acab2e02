"""Every page in English and in Spanish, on a phone (390×844) and a laptop (1440×900), in headless
Chromium (Debian's chromium through Playwright).

The browser's language decides (``Accept-Language`` from the browser locale); the nav's switch
changes it and the choice sticks. In Spanish, no page shows an English word of the app's own
vocabulary (song titles, run ids and user names are data and are left out of the check).
Screenshots of every page at both sizes in both languages go to
``test-artifacts/screenshots/i18n/<lang>/``.
"""

from __future__ import annotations

import re

import pytest
from auth_helpers import judged_app, login_page
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
LAPTOP = (1440, 900)
SHOTS = ARTIFACTS / "screenshots" / "i18n"
#: Words of the app's English vocabulary that are not Spanish words: any of them on a Spanish page
#: is a string that missed the catalogue.
ENGLISH_ONLY = {
    "the", "and", "with", "click", "section", "sections", "song", "songs", "cluster", "clusters", "run", "runs",
    "download", "downloads", "selected", "selection", "show", "shows", "this", "that", "which", "from", "into",
    "than", "higher", "lower", "judge", "judged", "judgements", "judgement", "verdict", "verdicts", "nothing",
    "loading", "play", "tracks", "sounds", "lanes", "agree", "disagree", "unsure", "size", "name", "names",
    "experts", "expert", "overview", "compare", "users", "language", "of", "to", "by", "for", "all",
    "none", "yes", "next", "previous", "back", "save", "cancel", "close", "open", "search", "filter", "colour",
    "space", "version", "average", "loud", "bright", "dark", "dense", "quiet", "what", "how", "why",
    "where", "when", "time", "truth", "map", "menu", "is", "are", "no.", "each", "per", "more", "less", "only",
    "here", "there", "your", "you", "queue", "blind", "mode", "centre", "center", "distance", "confidence",
    "feature", "features", "explanation", "towards", "away", "usual", "because", "seconds", "listen",
}
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import dash

    app, password, data = judged_app(tmp_path_factory.mktemp("i18n"), "i" * 40)
    # data shown as it is (not translated): titles, run ids and their method/space codes, the user
    data_words = {"ada", "sectionist"}
    for text in [str(data.store_uri), *data.songs["title"].astype(str), *map(str, data.runs.index),
                 *data.runs.get("method", []), *data.runs.get("space", [])]:
        data_words.update(w.lower() for w in WORD.findall(text))
    pages = ["/" if p["path"] == "/" else p["path"] for p in dash.page_registry.values()
             if p.get("nav") is not False and not p["path"].startswith("/_")] + ["/admin/users"]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "pages": sorted(set(pages)), "data_words": data_words}


def _slug(path, size):
    return f"{path.strip('/').replace('/', '-') or 'overview'}-{size[0]}x{size[1]}.png"


def _visible_text(page) -> str:
    """The page's visible text, plus the text Plotly draws in its SVG (titles, ticks, legends)."""
    return page.evaluate("""() => document.body.innerText + '\\n' +
        [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n')""")


def _english_words(text: str, data_words) -> list[str]:
    found = []
    for line in text.splitlines():
        for w in WORD.findall(line):
            if w.lower() in ENGLISH_ONLY and w.lower() not in data_words:
                found.append(f"{w!r} in {line.strip()[:90]!r}")
    return found


def _tour(server, lang, size):
    locale = {"en": "en-GB", "es": "es-ES"}[lang]
    leaks = {}
    with chromium_page(viewport=size, timeout_ms=30_000, locale=locale) as (page, errors):
        page.goto(server["url"] + "/login")
        login_heading = page.locator("#login-button").inner_text()
        assert login_heading == {"en": "Log in", "es": "Iniciar sesión"}[lang]
        assert page.evaluate("document.documentElement.lang") == lang
        login_page(page, server["url"], "ada", server["password"], next="/")
        for path in server["pages"]:
            page.goto(server["url"] + path)
            page.wait_for_load_state("networkidle", timeout=60_000)
            if path != "/admin/users":
                page.wait_for_selector("#app-nav a.nav-link", state="attached")
            (SHOTS / lang).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / lang / _slug(path, size)), full_page=True)
            if path != "/admin/users":
                assert page.evaluate("document.documentElement.lang") == lang, path
            if lang == "es":
                words = _english_words(_visible_text(page), server["data_words"])
                if words:
                    leaks[path] = words[:12]
        assert not errors, errors
    return leaks


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_page_in_spanish_has_no_english_left(server, size):
    leaks = _tour(server, "es", size)
    assert not leaks, "English on Spanish pages: " + "; ".join(f"{p}: {w}" for p, w in leaks.items())


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_page_in_english(server, size):
    assert _tour(server, "en", size) == {}


def test_nav_switch_changes_the_language_and_it_sticks(server):
    with chromium_page(viewport=LAPTOP, timeout_ms=30_000, locale="en-GB") as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/map")
        page.wait_for_selector("#app-nav a.nav-link")
        assert page.locator("#app-nav a.nav-link", has_text="Map").count() == 1
        with page.expect_navigation():
            page.click("#lang-es")
        page.wait_for_selector("#app-nav a.nav-link")
        assert page.url.endswith("/map"), page.url
        assert page.locator("#app-nav a.nav-link", has_text="Mapa").count() == 1
        assert page.evaluate("document.documentElement.lang") == "es"
        # Plotly's own mode bar speaks Spanish too, and has no button that uploads to Plotly Cloud
        page.wait_for_selector("#map-graph .modebar-btn", state="attached")
        titles = page.evaluate("() => [...document.querySelectorAll('#map-graph .modebar-btn')]"
                               ".map(b => b.getAttribute('data-title'))")
        assert "Selección con lazo" in titles and "Lasso Select" not in titles, titles
        assert not any("Share" in (t or "") for t in titles), titles
        page.goto(server["url"] + "/clusters")  # the choice sticks (cookie), over the browser's English
        active = "#app-nav a.nav-link.active[href='/clusters']"  # the nav marks the page once the URL is read
        page.wait_for_selector(active)
        assert page.locator(active).inner_text() == "Grupos"
        with page.expect_navigation():
            page.click("#lang-en")
        page.wait_for_selector(active)
        assert page.locator(active).inner_text() == "Clusters"
        assert not errors, errors
