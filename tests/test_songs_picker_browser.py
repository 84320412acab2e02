"""The Songs page in headless Chromium with real clicks (issue #23, "Songs page"), at 1440×900 and
390×844, in English and Spanish:

- the song picker replaces the song shown: one song after another, each with its run lanes, its
  truth lane and its structure lanes ("part A/B/C…", hatched, a legend of their own);
- a structure block's hover names its part, its times and how sure its label is;
- comparing songs is a picker of its own, and the several-songs view names the clusters (an
  expert's name included) in its legend;
- the tracks view names its rows' clusters in the legend; no legend ever says a bare "cluster N".

Screenshots go to ``$SECTIONIST_SHOTS`` (default ``test-artifacts/screenshots/songs``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from songs_store import EXPERT_NAME, build_songs_store, name_cluster

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP, PHONE = (1440, 900), (390, 844)
SHOTS = Path(os.environ.get("SECTIONIST_SHOTS") or ARTIFACTS / "screenshots" / "songs")
WORDS = {
    "en": {"truth": "truth", "part": "part", "structure": "structure · repeats", "merged": "structure · merged",
           "clear": "the repeats are clear (confidence 0.86)", "tracks": "Tracks: one per cluster",
           "cluster": r"^cluster \d+$", "parts_title": "structure parts"},
    "es": {"truth": "anotación de referencia", "part": "parte", "structure": "estructura · repeats", "merged": "estructura · merged",
           "clear": "las repeticiones son claras (confianza 0,86)", "tracks": "Pistas: una por grupo",
           "cluster": r"^grupo \d+$", "parts_title": "partes de la estructura"},
}

#: The legend's section titles (its groups' titles, their lines joined) and its entries, as drawn.
LEGEND = """const titled = gd.data.filter(t => t.legendgrouptitle && t.legendgrouptitle.text);
  const titles = new Set(titled.map(t => t.legendgrouptitle.text.split('<br>').join(' · ')));
  const texts = [...gd.querySelectorAll('.legend .legendtext')]
                .map(t => t.getAttribute('data-unformatted').split('<br>').join(' · '));"""
#: The timeline's figure as drawn: title, lane names (lines joined by " · "), legend entries and titles.
FIGURE = """() => {
  const gd = document.querySelector('#songs-timeline .js-plotly-plot');
  if (!gd || !gd.layout) return null;
  """ + LEGEND + """
  return {title: gd.layout.title ? gd.layout.title.text : null,
          ticks: (gd.layout.yaxis.ticktext || []).map(t => t.split('<br>').join(' · ')),
          entries: texts.filter(t => !titles.has(t)), legendTitles: texts.filter(t => titles.has(t))};
}"""
#: every legend entry and section title of the figure's data is drawn, and every lane name
LEGEND_DRAWN = ("(() => { " + LEGEND + " return texts.length > 0 && texts.length === "
                "gd.data.filter(t => t.showlegend === true).length + titles.size; })()"
                " && [...gd.querySelectorAll('.yaxislayer-above .ytick text')].map(t => t.getAttribute('data-unformatted'))"
                ".join('|') === (gd.layout.yaxis.ticktext || []).join('|')")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("songs-picker")
    store, k3 = build_songs_store(root / "store", audio=True)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="q" * 40)
    password = make_user(db, "ada", "expert")
    name_cluster(db, k3)
    data = app.server.extensions["sectionist_data"]
    titles = [str(t) for t in data.songs["title"]]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "k3": k3, "titles": titles, "runs": list(data.runs.index)}


def _shot(page, name, lang, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size[0]}x{size[1]}.png"), full_page=True)


def _figure_titled(page, title):
    page.wait_for_function("(title) => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                           " return gd && gd.layout && gd.layout.title && gd.layout.title.text === title"
                           f" && {LEGEND_DRAWN}; }}", arg=title)
    page.wait_for_load_state("networkidle")
    return page.evaluate(FIGURE)


def _pick(page, picker, title):
    """Choose ``title`` in the dropdown ``picker`` as a user does: open it, type, click the option."""
    page.click(picker)
    page.keyboard.type(title[-4:])
    page.get_by_role("option", name=title, exact=True).click()
    page.keyboard.press("Escape")


def _check_one_song(fig, server, w, title):
    assert fig["title"] == title, fig["title"]
    ticks = fig["ticks"]
    for run in server["runs"]:  # every run has its lane
        assert sum(run in t for t in ticks) == 1, (run, ticks)
    assert w["truth"] in ticks and w["structure"] in ticks and w["merged"] in ticks, ticks
    assert ticks.index(w["structure"]) < ticks.index(w["merged"])  # the default scheme first
    parts = [e for e in fig["entries"] if e.startswith(w["part"] + " ")]
    assert parts == [f"{w['part']} A", f"{w['part']} B", f"{w['part']} C"], fig["entries"]
    assert not [e for e in fig["entries"] if re.match(w["cluster"], e)], fig["entries"]
    assert len(fig["legendTitles"]) == 3, fig["legendTitles"]  # clusters, truth, structure
    assert w["parts_title"] in fig["legendTitles"][2], fig["legendTitles"]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_picker_replaces_the_song_and_compare_is_a_choice(server, lang, size):
    w = WORDS[lang]
    titles = server["titles"]
    locale = {"en": "en-GB", "es": "es-ES"}[lang]
    with chromium_page(viewport=size, timeout_ms=30_000, locale=locale) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next=f"/songs?run={server['k3']}")
        _figure_titled(page, titles[0])
        # one song, then another, with the real picker: each replaces the one shown
        for title in (titles[1], titles[2]):
            _pick(page, "#songs-song", title)
            fig = _figure_titled(page, title)
            _check_one_song(fig, server, w, title)
            shown = page.locator("#songs-song").inner_text()
            assert title in shown and not any(t in shown for t in titles if t != title), shown
        # the K=3 run's legend: its clusters drawn in this song, by name (the expert's name first)
        assert any(e == f"0: {EXPERT_NAME}" for e in fig["entries"]), fig["entries"]
        _shot(page, "lanes", lang, size)
        # a structure block's hover: its part, its times, how sure its label is (on a phone once the lanes
        # have their narrow layout, assets/narrow.js: it moves the rows)
        page.wait_for_function("() => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               " return gd.clientWidth >= 600 || (gd.layout.meta && gd.layout.meta.narrow_applied); }")
        page.wait_for_timeout(200)
        box = page.evaluate("""(lane) => {
          const gd = document.querySelector('#songs-timeline .js-plotly-plot');
          const bars = gd.data.map((t, i) => [t, i]).filter(([t]) => t.type === 'bar');
          const k = bars.findIndex(([t]) => t.meta[0] === lane && t.name.endsWith(' A'));
          const point = gd.querySelectorAll('.barlayer .trace')[k].querySelector('.point');
          point.scrollIntoView({block: 'center'});
          const r = point.getBoundingClientRect();
          return {x: r.left + r.width / 2, y: r.top + r.height / 2};
        }""", w["structure"])
        page.mouse.move(box["x"], box["y"])
        page.wait_for_selector("#songs-timeline .hoverlayer .hovertext")
        hover = page.locator("#songs-timeline .hoverlayer .hovertext").first.text_content()
        assert f"{w['part']} A" in hover and "0:00.0–0:06.0" in hover and w["clear"] in hover, hover
        _shot(page, "structure-hover", lang, size)
        page.mouse.move(0, 0)
        # comparing is its own picker: the song stays, the other is lined up under it
        _pick(page, "#songs-compare", titles[3])
        page.wait_for_function("() => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               f" return gd && gd.layout && (gd.layout.yaxis.ticktext || []).length === 2 && {LEGEND_DRAWN}; }}")
        page.wait_for_load_state("networkidle")
        fig = page.evaluate(FIGURE)
        assert fig["ticks"] == [titles[2], titles[3]], fig["ticks"]
        assert f"0: {EXPERT_NAME}" in fig["entries"], fig["entries"]
        assert not [e for e in fig["entries"] if re.match(w["cluster"], e)], fig["entries"]
        assert not [e for e in fig["entries"] if e.startswith(w["part"] + " ")], fig["entries"]
        _shot(page, "compare", lang, size)
        # the picker still replaces: the first lane changes, the compared song stays
        _pick(page, "#songs-song", titles[0])
        page.wait_for_function("(t) => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               " return gd && (gd.layout.yaxis.ticktext || [])[0] === t; }", arg=titles[0])
        assert page.evaluate(FIGURE)["ticks"] == [titles[0], titles[3]]
        # tracks: one row per cluster, named, and the legend names them too
        page.get_by_text(w["tracks"]).click()
        page.wait_for_function("() => { const gd = document.querySelector('#songs-timeline .js-plotly-plot');"
                               " return gd && gd.layout && gd.layout.xaxis.title &&"
                               f" (gd.layout.annotations || []).length === 2 && {LEGEND_DRAWN}; }}")
        page.wait_for_load_state("networkidle")
        fig = page.evaluate(FIGURE)
        assert fig["entries"] and not [e for e in fig["entries"] if re.match(w["cluster"], e)], fig["entries"]
        assert f"0: {EXPERT_NAME}" in fig["entries"] and all(": " in e for e in fig["entries"] if "0:" in e)
        assert sorted(fig["entries"]) == sorted(t for t in fig["ticks"]), (fig["entries"], fig["ticks"])
        _shot(page, "tracks", lang, size)
        assert not errors, errors
