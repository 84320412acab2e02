"""Words a musician can read, in headless Chromium (issue #23 item 6), in English and Spanish, on a
laptop (1440×900) and a phone (390×844): the Overview's "What these numbers mean" opens on a click
and holds a plain line for every measure of the runs table; on the laptop, hovering a header shows
the same line; a section's SHAP bars on the Clusters page point right exactly when their words say
"towards this cluster".

Screenshots go to ``$SECTIONIST_SHOTS`` (default ``test-artifacts/screenshots/words``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import RUNS, build_synthetic_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
LAPTOP = (1440, 900)
SHOTS = Path(os.environ.get("SECTIONIST_SHOTS") or ARTIFACTS / "screenshots" / "words")
LOCALES = {"en": "en-GB", "es": "es-ES"}
HEADERS = {"en": {}, "es": {"Accept-Language": "es-ES,es;q=0.9"}}
RUN = RUNS[0][0]  # classical17-kmeans-k6: explained over its own features
#: What a bar's words say about its direction, per language.
TOWARDS = {"en": "towards this cluster", "es": "hacia este grupo"}
AWAY = {"en": "away from this cluster", "es": "lejos de este grupo"}
MEASURES = ["silhouette", "davies_bouldin", "calinski_harabasz", "bic", "stability_ari", "fidelity", "ari_truth",
            "nmi_truth", "one_song", "strength"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.ui import metrics

    root = tmp_path_factory.mktemp("words-browser")
    store = build_synthetic_store(root / "store", n_sections=48, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=5)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="w" * 40)
    password = make_user(db, "ada", "expert")
    data = app.server.extensions["sectionist_data"]
    lines = {}
    for lang, headers in HEADERS.items():
        with app.server.test_request_context("/", headers=headers):
            lines[lang] = {m: metrics.explain(m) for m in MEASURES}
    arr = data.run_arrays(RUN)

    def mixed(p):  # a section whose ten strongest features push both ways: bars on both sides
        expl = data.explanation(RUN, p)
        if expl is None or arr.label[p] < 0:
            return False
        top = expl.reindex(expl.abs().sort_values(ascending=False).index[:10])
        return (top > 0).any() and (top < 0).any()

    pos = next(p for p in range(data.n_sections) if mixed(p))
    cluster, section = int(arr.label[pos]), str(data.section_ids[pos])
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "lines": lines, "cluster": cluster, "section": section}


def _shot(page, name, lang, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size[0]}x{size[1]}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_overview_numbers_are_explained_without_hover(server, lang, size):
    lines = server["lines"][lang]
    with chromium_page(viewport=size, timeout_ms=30_000, locale=LOCALES[lang]) as (page, errors):
        login_page(page, server["url"], "ada", server["password"], next="/")
        legend = page.locator("#overview-runs").locator("xpath=preceding::details[contains(@class, "
                                                          "'metrics-legend')][1]")
        legend.wait_for()
        summary = legend.locator("summary")
        assert summary.inner_text() == {"en": "What these numbers mean", "es": "Qué significan estos números"}[lang]
        first = legend.locator("li").first
        assert not first.is_visible()  # folded until asked
        summary.scroll_into_view_if_needed()
        summary.click()  # a click, as a tap on a phone: no hover needed
        first.wait_for(state="visible")
        text = legend.inner_text()
        for m, line in lines.items():
            assert line in text, (m, line)
            item = legend.locator(f"li[data-metric='{m}']")
            assert item.is_visible() and item.bounding_box()["width"] <= size[0], m
        if size == LAPTOP:
            # on a laptop the header says it on hover too
            header = page.locator("#overview-runs th[data-dash-column='davies_bouldin']").first
            header.hover()
            tip = page.locator("#overview-runs .dash-tooltip, #overview-runs .dash-table-tooltip").first
            tip.wait_for(state="visible")
            assert lines["davies_bouldin"] in tip.inner_text()
            page.mouse.move(5, 5)
        # the K curves' own legend, also folded and opened by a click
        curves = page.locator("#overview-curves").locator("xpath=following::details[contains(@class, "
                                                          "'metrics-legend')][1]")
        curves.locator("summary").scroll_into_view_if_needed()
        curves.locator("summary").click()
        curves.locator("li[data-metric='inertia']").wait_for(state="visible")
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, "overview", lang, size)
        assert not errors, errors


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_shap_bars_point_the_way_their_words_say(server, lang, size):
    with chromium_page(viewport=size, timeout_ms=30_000, locale=LOCALES[lang]) as (page, errors):
        login_page(page, server["url"], "ada", server["password"],
                   next=f"/clusters?run={quote(RUN)}&cluster={server['cluster']}&section={quote(server['section'])}")
        page.wait_for_selector("#clusters-detail .graph-small .ytick")
        page.wait_for_selector("#clusters-body .js-plotly-plot .ytick")
        # each drawn bar against the drawn zero line, with the words Plotly was given for it
        bars = page.evaluate("""() => {
            const gd = document.querySelector('#clusters-detail .graph-small .js-plotly-plot');
            const zero = gd.querySelector('.zerolinelayer path, .xzl').getBoundingClientRect();
            const zx = zero.left + zero.width / 2;
            const paths = [...gd.querySelectorAll('.barlayer .trace .point path')];
            return paths.map((p, i) => {
                const r = p.getBoundingClientRect();
                return {text: gd.data[0].text[i], x: gd.data[0].x[i], right: r.left + r.width / 2 > zx};
            });
        }""")
        assert len(bars) >= 5 and {b["right"] for b in bars} == {True, False}  # both directions drawn
        towards, away = TOWARDS[lang], AWAY[lang]
        seen = {}
        for b in bars:
            assert (towards in b["text"]) == b["right"] and (away in b["text"]) == (not b["right"]), b
            assert seen.setdefault(b["text"], b["right"]) == b["right"], b  # same words, same side
        axis = page.locator("#clusters-detail .graph-small .annotation-text").all_text_contents()  # SVG text
        assert {"en": "← away from · towards this cluster →", "es": "← se aleja de · se acerca a este grupo →"}[lang] \
            in axis, axis
        # and it is drawn whole inside the figure, on a phone too
        inside = page.evaluate("""() => {
            const gd = document.querySelector('#clusters-detail .graph-small .js-plotly-plot');
            const g = gd.getBoundingClientRect();
            return [...gd.querySelectorAll('.annotation-text')].map(a => a.getBoundingClientRect())
                .every(r => r.left >= g.left - 1 && r.right <= g.right + 1);
        }""")
        assert inside
        # the features' definitions under the beeswarm, opened by a click: natural order, one meaning each
        glossary = page.locator("#clusters-body details.glossary")
        glossary.locator("summary").scroll_into_view_if_needed()
        glossary.locator("summary").click()
        names = glossary.locator("li b").all_inner_texts()
        assert len(names) >= 5 and len(set(glossary.locator("li").all_inner_texts())) == len(names)
        details = [int(n.rsplit(" ", 1)[1]) for n in names if n.rsplit(" ", 1)[-1].isdigit()]
        assert details == sorted(details), names  # "timbre detail 4" before "timbre detail 10"
        glossary.screenshot(path=str(SHOTS / f"feature-glossary-{lang}-{size[0]}x{size[1]}.png"))
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, "clusters-detail", lang, size)
        graph = page.locator("#clusters-detail .graph-small")
        graph.scroll_into_view_if_needed()
        graph.screenshot(path=str(SHOTS / f"shap-bars-{lang}-{size[0]}x{size[1]}.png"))
        assert not errors, errors
