"""Compare page (issue 14 item 6): per-section relations of two runs with different K (same,
split, merge, differs) on hand-made labelings, their counts, readable ticks and m:ss times."""

from __future__ import annotations

import numpy as np
import pytest

from sectionist.analysis.modeling.compare import compare_labelings
from sectionist.dashboard.ui.figures import compare as compare_figures


def _relations(a, b, **kw):
    from sectionist.dashboard.pages import compare as page

    comp = compare_labelings(np.asarray(a), np.asarray(b), scores=False)
    return page.section_relations(np.asarray(a), np.asarray(b), comp.rows, comp.cols, comp.counts, comp.mapping,
                                  **kw), comp


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("cmp")
    store = build_synthetic_store(root / "store", n_sections=120, random_state=2)
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="c" * 40)
    from sectionist.dashboard.pages import compare

    compare.app_data = app.server.extensions["sectionist_data"]
    return compare


def test_a_cluster_cut_in_two_by_b_is_a_split_not_a_disagreement(page):
    # A: two clusters of 10. B: A's 0 cut into B0 (6) and B2 (4); A's 1 is B1.
    a = [0] * 10 + [1] * 10
    b = [0] * 6 + [2] * 4 + [1] * 10
    rel, comp = _relations(a, b)
    assert comp.mapping[0] == 0 and comp.mapping[1] == 1 and 2 in comp.unmatched
    assert rel.tolist() == ["same"] * 6 + ["split"] * 4 + ["same"] * 10
    assert page.relation_counts(rel) == {"same": 16, "split": 4, "merge": 0, "differs": 0}
    # the plain aligned agreement calls those 4 sections disagreements
    assert int((~comp.agree).sum()) == 4


def test_two_clusters_joined_by_b_is_a_merge():
    from sectionist.dashboard.pages import compare as page

    # A has three clusters; B joins A's 1 and 2 into its 1
    a = [0] * 8 + [1] * 7 + [2] * 5
    b = [0] * 8 + [1] * 12
    rel, comp = _relations(a, b)
    assert rel.tolist() == ["same"] * 8 + ["same"] * 7 + ["merge"] * 5
    assert page.relation_counts(rel)["merge"] == 5


def test_a_real_disagreement_and_the_nested_threshold():
    from sectionist.dashboard.pages import compare as page

    # B's 2 takes half of A's 0 and half of A's 1: inside neither, a real difference
    a = [0] * 10 + [1] * 10
    b = [0] * 5 + [2] * 5 + [1] * 5 + [2] * 5
    rel, _ = _relations(a, b)
    assert set(rel[[5, 6, 7, 8, 9, 15, 16, 17, 18, 19]]) <= {"differs", "same"}
    assert "split" not in rel and "merge" not in rel
    # 9 of B2's 10 sections inside A's 0: a split at 90 %, a difference at 95 %
    a = [0] * 20 + [1] * 10
    b = [0] * 11 + [2] * 9 + [2] + [1] * 9
    rel, _ = _relations(a, b)
    assert (rel[11:20] == "split").all() and rel[20] == "differs"
    rel95, _ = _relations(a, b, nested=0.95)
    assert (rel95[11:20] == "differs").all()
    with pytest.raises(ValueError, match="nested share"):
        _relations(a, b, nested=0)
    assert page.section_relations([], [], [], [], np.zeros((0, 0)), {}).tolist() == []


def test_noise_is_never_a_split_or_merge():
    # A's noise lies wholly inside B's only cluster (matched to A's 0): not a merge
    a = [0] * 10 + [-1] * 3
    b = [0] * 13
    rel, _ = _relations(a, b)
    assert set(rel[:10]) == {"same"} and set(rel[10:]) == {"differs"}


def test_heatmap_ticks_are_readable():
    counts = np.array([[6, 0, 4], [0, 10, 0]])
    fig = compare_figures.contingency_heatmap(counts, [0, 1], [0, 1, 2], mapping={0: 0, 1: 1, 2: 2})
    assert list(fig.data[0].x) == ["B0 ↔ A0", "B1 ↔ A1", "B2 (no match)"]
    assert list(fig.data[0].y) == ["A0", "A1"]
    assert "→" not in "".join(fig.data[0].x)


def test_table_shows_m_ss_sorts_and_filters_on_seconds(page):
    data = page.app_data
    a, b = data.runs.index[:2]
    rows, _, _ = page.table_page(data, a, b, 0, 200, sort_by=[{"column_id": "start", "direction": "desc"}])
    assert rows and all(":" in r["start"] and "start_s" not in r for r in rows)

    def secs(t):
        m, s = t.split(":")
        return 60 * int(m) + float(s)

    values = [secs(r["start"]) for r in rows]
    assert values == sorted(values, reverse=True)
    rows, _, _ = page.table_page(data, a, b, 0, 200, filter_query="{start} >= 30")
    assert rows and all(secs(r["start"]) >= 30 for r in rows)
    assert {r["relation"] for r in rows} <= {"same", "split", "merge", "differs"}
    assert all(r["label_b_aligned"] == "no match" or r["label_b_aligned"].startswith("A") for r in rows)
    # the metrics count splits and merges apart from real differences
    from dash.development.base_component import Component

    def text(c):
        return repr(c.to_plotly_json()) if isinstance(c, Component) else str(c)

    out = text(page.metrics_view(data, a, b))
    for label in ("same cluster (aligned)", "split by B (finer)", "merged by B (coarser)", "really differ"):
        assert label in out
    frame = page.comparison_frame(data, a, b)
    counts = page.relation_counts(frame["relation"])
    assert sum(counts.values()) == len(frame)


def test_heatmap_column_ticks_are_short_and_names_stay_in_the_hover():
    import numpy as np

    from sectionist.dashboard.ui.figures import compare as compare_figures

    names_b = {0: "a very long name · with · many · words", 1: "short"}
    fig = compare_figures.contingency_heatmap(np.array([[3, 0], [0, 4]]), [0, 1], [0, 1], mapping={0: 1, 1: 0},
                                              names_a={0: "x", 1: "y"}, names_b=names_b)
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks == ["B1<br>↔ A0", "B0<br>↔ A1"]
    assert list(fig.layout.xaxis.tickvals) == list(fig.data[0].x)  # the full names, shown on hover
    assert any("a very long name" in x for x in fig.data[0].x)


@pytest.mark.parametrize("sort_by, query, disagree", [
    ([{"column_id": "song", "direction": "asc"}], "", False),
    ([{"column_id": "relation_shown", "direction": "desc"}, {"column_id": "start", "direction": "asc"}],
     "{label_a} >= 1", False),
    ([{"column_id": "start", "direction": "desc"}], "{relation} = split && {song} contains 0", True),
    ([], "{label_b_aligned} = no match", False),
    ([{"column_id": "cluster_b", "direction": "asc"}], "{relation} != same", True),
])
def test_table_pages_equal_sorting_and_filtering_the_whole_table(page, sort_by, query, disagree):
    """Pages cut from the kept sort order and row masks are the pages of the whole table filtered
    and then sorted (stable, missing last), as the table did when it copied and sorted every time."""
    import pandas as pd

    data = page.app_data
    a, b = data.runs.index[:2]
    df = page.comparison_frame(data, a, b)
    ref = df[df["relation"] == "differs"] if disagree else df
    for clause in filter(None, query.split(" && ")):  # the reference: plain pandas on text columns
        col, op, val = page._FILTER_RE.match(clause).group("col", "op", "val")
        s = ref[col].astype(str) if isinstance(ref[col].dtype, pd.CategoricalDtype) else ref[col]
        if op == "contains":
            ref = ref[s.str.contains(val, case=False, regex=False)]
        elif op == "=":
            ref = ref[s.str.lower() == val.lower()] if s.dtype == object or pd.api.types.is_string_dtype(s) else ref[s == float(val)]
        elif op == "!=":
            ref = ref[s != val]
        elif op == ">=":
            ref = ref[s >= float(val)]
    if sort_by:
        cols = [page.SHOWN_TWIN.get(s["column_id"], page.SORT_TWIN.get(s["column_id"], s["column_id"])) for s in sort_by]
        key = {c: ref[c].astype(str) if isinstance(ref[c].dtype, pd.CategoricalDtype) and c != "song" else ref[c]
               for c in cols}
        ref = ref.assign(**{f"_k{i}": key[c] for i, c in enumerate(cols)}).sort_values(
            [f"_k{i}" for i in range(len(cols))], ascending=[s["direction"] == "asc" for s in sort_by],
            kind="stable", na_position="last")
    expected = ref["id"].tolist()
    got, pages = [], None
    for p in range(0, 200):
        rows, pages, _note = page.table_page(data, a, b, p, 7, sort_by, query, disagree)
        if p >= pages:
            break
        got += [r["id"] for r in rows]
    assert got == expected and pages == max(1, -(-len(expected) // 7))
