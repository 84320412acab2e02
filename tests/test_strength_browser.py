"""In headless Chromium, on a store whose runs are weak (tests/weak_store.py), in English and in
Spanish, on a laptop (1440×900) and a phone (390×844): the Overview warns in plain words (a visible
alert, not a tooltip), the legend of the bands opens on a click; a click on a run opens the Clusters
page with the run's verdict, which follows the run picker; the Songs page words each structure; the
Map coloured by song lists its 34 songs in a legend under the map that folds on a click.

Screenshots go to ``$SECTIONIST_SHOTS`` (default ``test-artifacts/screenshots/strength``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
LAPTOP = (1440, 900)
SHOTS = Path(os.environ.get("SECTIONIST_SHOTS") or ARTIFACTS / "screenshots" / "strength")
WORDS = {
    "en": {"none": "No run in this store finds real groups", "weak": "These groupings are weak",
           "legend": "What strong, moderate and weak mean", "strong_line": "Strong: silhouette above 0.70",
           "run_none": "No real grouping", "run_weak": "Weak grouping", "follows": "these groups follow songs",
           "structure": "5 segments, 2 parts recur, 1 segment is heard once; the repeats are uncertain",
           "song": "Song", "songs_shown": "Colours of the 34 songs shown"},
    "es": {"none": "Ningún agrupamiento de este almacén encuentra grupos reales",
           "weak": "Estos agrupamientos son débiles", "legend": "Qué significan fuerte, moderado y débil",
           "strong_line": "Fuerte: silueta mayor que 0,70", "run_none": "Sin grupos reales",
           "run_weak": "Agrupamiento débil", "follows": "estos grupos siguen a las canciones",
           "structure": "5 segmentos; 2 partes se repiten y 1 segmento suena una sola vez; las repeticiones son "
                        "inciertas",
           "song": "Canción", "songs_shown": "Colores de las 34 canciones mostradas"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from weak_store import build_weak_store

    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.data import strength as bands

    root = tmp_path_factory.mktemp("strength-browser")
    store, run_ids = build_weak_store(root / "store")
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="s" * 40)
    password = make_user(db, "ada", "expert")
    data = app.server.extensions["sectionist_data"]
    best = bands.best_run(data)
    confident = next(sid for sid in data.songs.index
                     if any(s.sureness != "unknown" for s in bands.song_structures(data, sid)))
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "runs": run_ids, "best_band": bands.run_strength(data, best).band,
               "bands": {r: bands.run_strength(data, r).band for r in run_ids}, "song": confident}


def _shot(page, lang, size, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size[0]}x{size[1]}.png"), full_page=True)


def _wait_text(page, selector, text, timeout=30_000):
    page.wait_for_function("([sel, text]) => { const e = document.querySelector(sel);"
                           " return e && e.innerText.includes(text); }", arg=[selector, text], timeout=timeout)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_weak_groupings_are_said_in_plain_words(server, lang, size):
    w = WORDS[lang]
    kmeans, gmm = server["runs"]
    locale = {"en": "en-GB", "es": "es-ES"}[lang]
    with chromium_page(viewport=size, timeout_ms=30_000, locale=locale) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        # Overview: the store's verdict, as a visible alert above the runs
        warning = page.locator("#overview-strength")
        warning.wait_for(state="visible")
        assert warning.get_attribute("role") == "alert"
        assert w[server["best_band"]] in warning.inner_text()
        box = warning.bounding_box()
        assert box["width"] <= size[0] and box["height"] > 40
        legend = warning.locator("details.strength-legend")
        assert not legend.locator("li").first.is_visible()
        legend.locator("summary").click()
        legend.locator("li", has_text=w["strong_line"]).wait_for(state="visible")
        page.wait_for_selector("#overview-runs td[data-dash-column='strength']")
        _shot(page, lang, size, "overview")
        # a click on a run opens its clusters, with the run's verdict
        page.locator("#overview-runs td[data-dash-column='run_id']", has_text=kmeans).first.click()
        page.wait_for_url(f"**/clusters?run={kmeans}")
        verdict = page.locator("#clusters-strength")
        _wait_text(page, "#clusters-strength", kmeans)
        assert w["run_" + server["bands"][kmeans]] in verdict.inner_text()
        assert w["follows"] in verdict.inner_text()  # k-means' clusters are mostly single songs
        assert verdict.locator(".notice-warn").count() == 1 and verdict.locator("[role=alert]").count() == 1
        page.locator("#clusters-cluster-strength").wait_for(state="visible")
        _shot(page, lang, size, "clusters")
        # the run picker: the verdict follows the chosen run
        page.click("#clusters-run")
        page.get_by_role("option", name=gmm, exact=False).first.click()
        _wait_text(page, "#clusters-strength", gmm)
        assert w["follows"] not in verdict.inner_text()
        # Songs: the structure's strength in words
        page.goto(f"{server['url']}/songs?song={server['song']}")
        _wait_text(page, "#songs-structure", w["structure"])
        page.wait_for_selector("#songs-timeline .main-svg")
        page.wait_for_load_state("networkidle")
        _shot(page, lang, size, "songs")
        # Map coloured by song: a legend of the 34 songs under the map, folding on a click
        page.goto(f"{server['url']}/map?space=classical17&run={kmeans}")
        page.wait_for_selector("#map-graph .main-svg")
        page.click("#map-color")
        page.get_by_role("option", name=w["song"], exact=True).click()
        items = page.locator("#map-song-legend li.song-legend-item")
        page.wait_for_function("document.querySelectorAll('#map-song-legend li.song-legend-item').length === 34")
        assert page.locator("#map-song-legend summary").inner_text() == w["songs_shown"]
        colours = set(items.evaluate_all("els => els.map(e => getComputedStyle(e.querySelector('.song-swatch'))"
                                         ".backgroundColor)"))
        assert len(colours) == 34
        graph, legend_box = page.locator("#map-graph").bounding_box(), page.locator("#map-song-legend").bounding_box()
        assert legend_box["y"] >= graph["y"] + graph["height"] - 1  # under the map, never over it
        assert legend_box["x"] >= 0 and legend_box["x"] + legend_box["width"] <= size[0] + 1
        _shot(page, lang, size, "map-song-legend")
        page.locator("#map-song-legend summary").click()
        items.first.wait_for(state="hidden")
        assert not errors, errors
