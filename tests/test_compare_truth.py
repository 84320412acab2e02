"""Compare tells the truth about two runs (issue #23, "Dead ends"): the table once said "343 of 343
sections match" — the rows its empty filter matched — while 56.6 % of the sections differed. Two
runs written to a store so that they disagree on a known share: the stored comparison (the
analysis' ``compare_store``), the page's metrics and the table's note all give that share, and the
filter's count is said as a filter's count."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_store import RUNS, build_synthetic_store

from sectionist.analysis.modeling.comparisons import compare_store
from sectionist.store.schema import CLUSTERINGS, COMPARISONS

N = 120
RUN_A, RUN_B = sorted((RUNS[0][0], RUNS[1][0]))  # the order compare_store stores the pair in


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A: sections 0-59 in cluster 0, 60-119 in cluster 1. B: the same, but 20 sections of each
    cluster swapped (0-19 in 1, 60-79 in 0): after matching, 80 sections agree and 40 (a third)
    really differ — B's clusters lie inside neither of A's, so no split or merge."""
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("compare-truth")
    store = build_synthetic_store(root / "store", n_sections=N, random_state=4)
    for run, swap in ((RUN_A, False), (RUN_B, True)):
        part = store.read_part(CLUSTERINGS, run)
        order = np.argsort(part["section_id"].to_numpy())
        label = np.empty(N, dtype=np.int64)
        label[order] = (np.arange(N) >= N // 2).astype(np.int64)
        if swap:
            k = np.empty(N, dtype=np.int64)
            k[order] = np.arange(N)
            label[(k < 20) | ((k >= 60) & (k < 80))] ^= 1
        store.write_part(CLUSTERINGS, run, part.assign(label=label))
    stored = compare_store(store, [RUN_A, RUN_B], progress=False)
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="t" * 40,
                     jobs_dir=root / "jobs")
    app.stored = stored
    app.store = store
    return app


def test_the_stored_comparison_and_the_page_agree_on_the_share(app):
    from sectionist.dashboard.pages import compare

    row = app.stored.iloc[0]
    assert (row["run_a"], row["run_b"], int(row["n_sections"])) == (RUN_A, RUN_B, N)
    assert row["agreement"] == pytest.approx(80 / N)
    data = app.server.extensions["sectionist_data"]
    cmp = data.comparison(RUN_A, RUN_B)
    assert cmp["n"] == N and int(cmp["agree"].sum()) == 80
    assert compare.relation_counts(compare.comparison_frame(data, RUN_A, RUN_B)["relation"]) == \
        {"same": 80, "split": 0, "merge": 0, "differs": 40}
    part = app.store.read_part(COMPARISONS, f"{RUN_A}__{RUN_B}")
    assert float(part["agreement"].iloc[0]) == pytest.approx(2 / 3)


def test_the_table_note_says_the_agreement_not_the_filter_count(app):
    from dash.development.base_component import Component

    from sectionist.dashboard.pages import compare

    data = app.server.extensions["sectionist_data"]
    with app.server.test_request_context("/compare"):
        metrics = repr(compare.metrics_view(data, RUN_A, RUN_B).to_plotly_json())
        rows, pages, note = compare.table_page(data, RUN_A, RUN_B)
        _, _, only = compare.table_page(data, RUN_A, RUN_B, 0, 500, only_disagree=True)
        filtered_rows, _, filtered = compare.table_page(data, RUN_A, RUN_B, 0, 500, filter_query="{label_a} = 0")
    assert isinstance(compare.metrics_view(data, RUN_A, RUN_B), Component)
    assert "66.7%" in metrics and "33.3%" in metrics  # same cluster (aligned), really differ
    # no filter: the agreement over every section, nothing about rows "matching"
    assert note == ("Same cluster for 80 of 120 sections (66.7%) after matching B's clusters to A's; "
                    "0 split, 0 merged, 40 differ.")
    assert "120 of 120" not in note and "match" not in note.replace("matching", "")
    # only the differing sections: the same agreement, then the filter's count said as such
    assert only.startswith("Same cluster for 80 of 120") and only.endswith("The filter keeps 40 sections.")
    assert len(filtered_rows) == 60 and filtered.endswith("The filter keeps 60 sections.")


def test_the_note_in_spanish(app):
    from sectionist.dashboard.pages import compare

    data = app.server.extensions["sectionist_data"]
    with app.server.test_request_context("/compare", headers={"Accept-Language": "es"}):
        _, _, note = compare.table_page(data, RUN_A, RUN_B, only_disagree=True)
    assert note.startswith("Mismo grupo en 80 de 120 secciones (66,7\xa0%)") and "40 distintas" in note
    assert note.endswith("El filtro deja 40 secciones.")
