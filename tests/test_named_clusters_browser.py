"""Named clusters and readable explanations in headless Chromium: an expert renames a cluster on
the Clusters page with real typing and clicks, the name shows in the heading, the picker and the Map
legend; a viewer gets no rename field; the detail panel of a neural-embedding run reads in plain
words with the surrogate's fidelity. Screenshots at 1440x900 and 390x844 under test-artifacts/."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import RUNS, build_synthetic_store
from sectionist.dashboard.ui import naming

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN = RUNS[0][0]  # classical17-kmeans-k6
NEURAL = RUNS[2][0]  # synthnet-hdbscan: explained by a surrogate


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("named-browser")
    store = build_synthetic_store(root / "store", n_sections=48, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=5)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="b" * 40)
    users = {"ada": make_user(db, "ada", "expert"), "vic": make_user(db, "vic", "viewer")}
    data = app.server.extensions["sectionist_data"]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "users": users, "data": data}


def _heading(pg) -> str:
    return pg.locator("#clusters-name").inner_text()


def test_expert_renames_a_cluster_and_the_name_shows_where_the_cluster_appears(server):
    data = server["data"]
    cluster = data.run_arrays(RUN).clusters[0]
    default = naming.default_cluster_names(data, RUN)[cluster]
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(viewport=(1440, 900), timeout_ms=30_000) as (pg, errors):
        login_page(pg, server["url"], "ada", server["users"]["ada"],
                   next=f"/clusters?run={quote(RUN)}&cluster={cluster}")
        pg.wait_for_selector("#clusters-name")
        pg.wait_for_selector("#clusters-body .js-plotly-plot .ytick")  # charts drawn before the screenshot
        assert _heading(pg) == f"{cluster}: {default}"
        pg.screenshot(path=str(ARTIFACTS / "named-clusters-1440.png"), full_page=True)
        pg.locator("#clusters-rename-input").fill("Festival <b>drops</b>")
        pg.locator("#clusters-rename-save").click()
        pg.wait_for_function("document.querySelector('#clusters-rename-status').innerText.startsWith('Saved')")
        assert _heading(pg) == f"{cluster}: Festival <b>drops</b>"  # shown as typed, never as markup
        assert pg.locator("#clusters-name b").count() == 0
        assert "Festival <b>drops</b>" in pg.locator("#clusters-cluster").inner_text()
        # the name follows the cluster to the Map legend of that run
        pg.goto(f"{server['url']}/map?run={quote(RUN)}")
        pg.wait_for_selector("#map-graph .legendtext")
        legend = pg.eval_on_selector_all("#map-graph .legendtext", "els => els.map(e => e.textContent)")
        assert f"{cluster}: Festival <b>drops</b>" in legend, legend
        assert not errors, errors


def test_viewer_cannot_rename(server):
    cluster = server["data"].run_arrays(RUN).clusters[1]
    with chromium_page(viewport=(1440, 900), timeout_ms=30_000) as (pg, errors):
        login_page(pg, server["url"], "vic", server["users"]["vic"],
                   next=f"/clusters?run={quote(RUN)}&cluster={cluster}")
        pg.wait_for_selector("#clusters-name")
        assert pg.locator("#clusters-rename-input").count() == 0
        assert not errors, errors


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_detail_panel_of_a_neural_run_speaks_plainly(server, viewport):
    data = server["data"]
    arr = data.run_arrays(NEURAL)
    cluster = arr.clusters[0]
    sid = str(data.section_ids[arr.label == cluster][0])
    fidelity = float(data.runs.loc[NEURAL, "fidelity"])
    with chromium_page(viewport=viewport, timeout_ms=30_000) as (pg, errors):
        login_page(pg, server["url"], "vic", server["users"]["vic"],
                   next=f"/clusters?run={quote(NEURAL)}&cluster={cluster}&section={quote(sid)}")
        pg.wait_for_selector("#clusters-detail .surrogate-note")
        note = pg.locator("#clusters-detail .surrogate-note").inner_text()
        assert "surrogate" in note and f"{fidelity:.0%}" in note
        pg.wait_for_selector("#clusters-detail .graph-small .ytick")
        pg.wait_for_selector("#clusters-body .js-plotly-plot .ytick")
        ticks = " ".join(pg.eval_on_selector_all("#clusters-detail .graph-small .ytick",
                                                 "els => els.map(e => e.textContent)"))
        assert "mfcc" not in ticks.lower() and "_median" not in ticks
        assert "than usual→ towards this cluster" in ticks  # the sentence's lines, broken before the arrow
        name = f"{viewport[0]}x{viewport[1]}"
        pg.screenshot(path=str(ARTIFACTS / f"named-clusters-detail-{name}.png"), full_page=True)
        pg.locator("#clusters-detail").screenshot(path=str(ARTIFACTS / f"explanation-detail-{name}.png"))
        assert not errors, errors
