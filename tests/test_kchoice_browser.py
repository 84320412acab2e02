"""In headless Chromium: the Overview marks a run whose K sits at the edge of its search range."""

from __future__ import annotations

import pytest
from synthetic_store import build_synthetic_store

from sectionist.analysis.modeling.cluster import cluster_store
from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_overview_badges_a_k_at_the_edge(tmp_path):
    from sectionist.dashboard.app import create_app

    store = build_synthetic_store(tmp_path / "store", n_sections=120, sections_per_song=20, random_state=3)
    # a range of 3–4 on six sounds: whatever the rule picks sits at an end of it
    edge = cluster_store(store, "classical17", "kmeans", method_params={"k_range": (3, 4)}, explain=False,
                         stability=False, project=False, progress=False)
    row = store.read_part("runs", edge).iloc[0]
    assert bool(row["k_at_edge"])
    db = f"sqlite:///{tmp_path / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="c" * 40)
    password = make_user(db, "expert1", "expert")
    with serve_in_thread(app.server) as url, chromium_page() as (page, errors):
        login_page(page, url, "expert1", password, next="/")
        page.wait_for_selector("#overview-runs td[data-dash-column='k_note']", timeout=60000)
        notes = page.locator("#overview-runs td[data-dash-column='k_note']").all_inner_texts()
        runs = page.locator("#overview-runs td[data-dash-column='run_id']").all_inner_texts()
        by_run = dict(zip([r.strip() for r in runs], [n.strip() for n in notes]))
        assert by_run[edge] == "⚠ K at edge of 3–4 (stable-silhouette)"
        # runs written without a recorded rule (the synthetic ones) get no badge
        assert all(n == "" for r, n in by_run.items() if r != edge)
        cell = page.locator("#overview-runs td[data-dash-column='k_note']", has_text="K at edge")
        assert cell.evaluate("e => getComputedStyle(e).fontWeight") in ("600", "bold")
        assert not errors, errors
