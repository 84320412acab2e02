"""Run versions in headless Chromium: the Clusters page opens on the latest version of a refitted run,
says so with its coverage, and the superseded version stays selectable from the run picker."""

from __future__ import annotations

import pandas as pd
import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import RUNS, build_synthetic_store
from version_store import add_run_version

from sectionist.store.schema import CLUSTERINGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN = RUNS[1][0]  # classical-gmm-k5: space "classical" sorts first, so the first lineage in the pickers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("versions-browser")
    store = build_synthetic_store(root / "store", n_sections=48, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=5)
    old = store.read_part(CLUSTERINGS, CLUSTERINGS.part(run_id=RUN))
    k = int(old["label"].max()) + 1
    v2 = pd.Series((old["label"].to_numpy() + 1) % k, index=old["section_id"].to_numpy())
    add_run_version(store, RUN, v2, placed=list(v2.index[:5]), model_key=None)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="v" * 40)
    password = make_user(db, "vera", "viewer")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password}


def test_clusters_page_latest_version_first_and_older_selectable(server):
    with chromium_page(viewport=(1600, 1000), timeout_ms=30_000) as (pg, errors):
        login_page(pg, server["url"], "vera", server["password"], next="/clusters")
        pg.wait_for_selector("#clusters-run-note")
        picker = pg.locator("#clusters-run")
        assert f"({RUN}~v2) · v2 (latest)" in picker.inner_text()
        note = pg.locator("#clusters-run-note").inner_text()
        assert f"Run {RUN}~v2: v2 (latest)" in note and "placed 5 of 48" in note
        # the superseded version is one click away, labelled as such
        picker.click()
        pg.get_by_text(f"({RUN}) · v1 (superseded by v2)").click()
        pg.wait_for_function("document.querySelector('#clusters-run-note') && document.querySelector("
                             "'#clusters-run-note').innerText.includes('v1 (superseded by v2)')")
        assert "placed" not in pg.locator("#clusters-run-note").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "run-versions-clusters.png"))
        assert not errors, errors
