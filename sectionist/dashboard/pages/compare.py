"""Compare: two runs side by side — contingency, Sankey, ARI/NMI/agreement, and the section table."""

from __future__ import annotations

import re

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update

from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import common as common_figures, compare as comparison_figures, palette
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, percent, pgettext, table_locale
from sectionist.dashboard.ui.components.common import graph_config, card, cluster_names, control, dropdown, empty_state, fmt_time, page_header, run_options
from sectionist.dashboard.ui.components.detail import section_detail
from sectionist.dashboard.ui.components.judging import register_judging
from sectionist.dashboard.ui.components.selection import register_selection
from sectionist.dashboard.data.store_data import get_data

PAGE = "compare"
PAGE_SIZE = 15
dash.register_page(__name__, path="/compare", name=N_("Compare"), title=page_title(N_("Compare")),
                   order=3)

#: The table's columns (ids, English headers translated by :func:`table_columns`). The clusters are
#: shown by name (:func:`sectionist.dashboard.ui.figures.cluster_name`, the names every page shows), sorted and
#: filtered by number through their twins (:data:`SHOWN_TWIN`).
TABLE_COLUMNS = [
    {"id": "song", "name": N_("song")}, {"id": "start", "name": N_("section start")},
    {"id": "cluster_a", "name": N_("cluster by A")},
    {"id": "cluster_b", "name": N_("cluster by B")},
    {"id": "matched_a", "name": N_("B's cluster matched to A's")},
    {"id": "relation_shown", "name": N_("A and B")},
]
#: How a section's two labels relate (:func:`section_relations`), in the order they are counted.
RELATIONS = ("same", "split", "merge", "differs")
RELATION_TEXT = {
    "same": N_("same cluster (after matching B's clusters to A's)"),
    "split": N_("split: B cuts A's cluster finer (B's cluster lies inside A's)"),
    "merge": N_("merge: B joins A's clusters (A's cluster lies inside B's)"),
    "differs": N_("differs"),
}
#: Share of a cluster that must lie inside the other run's cluster for a split or merge.
NESTED_SHARE = 0.9
#: Table columns shown as text whose sorting and filtering use a numeric twin.
SORT_TWIN = {"start": "start_s"}
#: Shown columns (names, words) → the stored column they are sorted by (and filtered by, for a number).
SHOWN_TWIN = {"cluster_a": "label_a", "cluster_b": "label_b", "matched_a": "aligned_a", "relation_shown": "relation"}


def table_columns() -> list[dict]:
    """:data:`TABLE_COLUMNS` with their headers in the request's language."""
    return [{**c, "name": _(c["name"])} for c in TABLE_COLUMNS]


def relation_word(relation: str) -> str:
    """A relation code (:data:`RELATIONS`) as the table shows it, in the request's language."""
    words = {"same": pgettext("compare relation", "same"), "split": pgettext("compare relation", "split"),
             "merge": pgettext("compare relation", "merge"), "differs": pgettext("compare relation", "differs")}
    return words.get(str(relation), str(relation))


def section_relations(la, lb, rows, cols, counts, mapping, *, nested: float = NESTED_SHARE) -> np.ndarray:
    """How run B's label of each section relates to run A's.

    ``"same"``: B's cluster is the one matched to A's (Hungarian alignment, equal aligned labels).
    ``"split"``: not matched, but B's cluster lies wholly (≥ ``nested`` of its sections) inside
    the section's A cluster: B only cuts that cluster finer. ``"merge"``: the converse, A's cluster
    lies wholly inside B's: B joins it with others. ``"differs"``: anything else. Noise (label < 0)
    is never a split or merge.

    Parameters
    ----------
    la, lb : np.ndarray [shape=(n,)]
        Labels of the sections both runs clustered.
    rows, cols, counts, mapping
        A's labels, B's labels, the contingency table and B label → aligned label
        (:func:`sectionist.analysis.modeling.compare.compare_labelings`).
    nested : float
        The share in (0, 1] that makes a cluster "wholly inside" another.

    Returns
    -------
    np.ndarray [shape=(n,)] of str
    """
    if not 0 < nested <= 1:
        raise ValueError(f"nested share must be in (0, 1], got {nested!r}")
    la, lb = np.asarray(la), np.asarray(lb)
    counts = np.asarray(counts, dtype=float)
    out = np.full(len(la), "differs", dtype=object)
    if not len(la):
        return out.astype(str)
    ri = {int(r): i for i, r in enumerate(rows)}
    ci = {int(c): j for j, c in enumerate(cols)}
    a_values, a_index = np.unique(la, return_inverse=True)  # per distinct label, then taken
    b_values, b_index = np.unique(lb, return_inverse=True)
    a_index, b_index = a_index.reshape(-1), b_index.reshape(-1)
    ia = np.array([ri[int(v)] for v in a_values], dtype=np.int64)[a_index]
    jb = np.array([ci[int(v)] for v in b_values], dtype=np.int64)[b_index]
    col_share = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)  # of B's cluster, inside A's
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # of A's cluster, inside B's
    mapped = np.array([np.nan if mapping.get(int(b)) is None else float(mapping[int(b)]) for b in b_values])[b_index]
    matched = mapped == la  # NaN (no match) equals nothing
    real = (la >= 0) & (lb >= 0)
    split = real & ~matched & (col_share[ia, jb] >= nested)
    merge = real & ~matched & ~split & (row_share[ia, jb] >= nested)
    out[split] = "split"
    out[merge] = "merge"
    out[matched] = "same"
    return out.astype(str)


def relation_counts(relations) -> dict:
    """relation → number of sections, for every relation in :data:`RELATIONS`."""
    if isinstance(getattr(relations, "dtype", None), pd.CategoricalDtype):  # counted on the codes
        counts = pd.Series(relations).value_counts()
        return {r: int(counts.get(r, 0)) for r in RELATIONS}
    rel = np.asarray(relations)
    return {r: int(np.sum(rel == r)) for r in RELATIONS}


def _pair_relation_counts(data, run_a, run_b) -> dict:
    """:func:`relation_counts` of the pair's sections (cached with its frame)."""
    cache = data._cache.comparisons
    key = ("relations", run_a, run_b)
    if key not in cache:
        cache[key] = relation_counts(comparison_frame(data, run_a, run_b)["relation"])
    return cache[key]


def aligned_text(b_label, mapping: dict, rows) -> str:
    """B's cluster's match in A as text: ``"A3"``, or ``"no match"``."""
    m = mapping.get(int(b_label))
    return f"A{m}" if m is not None and m in set(int(r) for r in rows) else "no match"


def default_pair(data):
    runs = list(data.runs.index)
    if len(runs) < 2:
        return (runs[0] if runs else None), None
    return runs[0], runs[1]


def comparison_frame(data, run_a, run_b) -> pd.DataFrame:
    """One row per section clustered by both runs (cached per pair and store version)."""
    cache = data._cache.comparisons
    key = ("frame", run_a, run_b)
    if key in cache:
        return cache[key]
    cmp = data.comparison(run_a, run_b)
    pos = np.flatnonzero(cmp["both"])
    la = data.run_arrays(run_a).label
    lb = data.run_arrays(run_b).label
    secs = data.sections
    start = secs["start_s"].to_numpy()[pos]
    la, lb = la[pos].astype(np.int64), lb[pos].astype(np.int64)
    match = {int(c): aligned_text(c, cmp["mapping"], cmp["rows"]) for c in cmp["cols"]}
    a_rows = {int(r) for r in cmp["rows"]}
    aligned = {int(c): float(m) for c, m in cmp["mapping"].items() if m is not None and int(m) in a_rows}
    # what depends on one value only is computed per distinct value, then taken (a million rows hold
    # a few distinct start times and labels: no million Python calls)
    b_values, b_index = np.unique(lb, return_inverse=True)
    t_values, t_index = np.unique(start, return_inverse=True)
    b_index, t_index = b_index.reshape(-1), t_index.reshape(-1)
    df = pd.DataFrame({
        "id": data.section_ids[pos],
        # categorical: sorting and filtering 100 000 rows by song works on codes, not strings
        "song": _song_categorical(data, pos),
        # m:ss like every page; sorted and filtered on start_s
        "start": np.array([fmt_time(t) for t in t_values], dtype=object)[t_index],
        "start_s": start.round(1),
        "label_a": la,
        "label_b": lb,
        # categoricals (categories in alphabetical order, so sorting is as on the text): comparing and
        # counting a million rows works on codes, not strings
        "label_b_aligned": _text_categorical(
            np.array([match.get(int(b), "no match") for b in b_values], dtype=object)[b_index]),
        # A's cluster that B's is matched to, NaN for none: what the shown name is sorted and filtered by
        "aligned_a": np.array([aligned.get(int(b), np.nan) for b in b_values], dtype=np.float64)[b_index],
        "relation": pd.Categorical(section_relations(la, lb, cmp["rows"], cmp["cols"], cmp["counts"], cmp["mapping"]),
                                   categories=sorted(RELATIONS)),
    })
    cache[key] = df
    return df


def _text_categorical(values) -> pd.Categorical:
    values = np.asarray(values, dtype=object)
    return pd.Categorical(values, categories=sorted(set(values)))


def _song_categorical(data, pos) -> pd.Categorical:
    titles = data.songs["title"]
    if titles.is_unique:  # songs are sorted by title: their codes are already in title order
        return pd.Categorical.from_codes(data.song_code[pos], categories=titles.to_numpy(), ordered=True)
    return pd.Categorical(data.titles[pos], categories=sorted(set(titles)), ordered=True)


_FILTER_RE = re.compile(r"\{(?P<col>[^}]+)\}\s*(?P<op>scontains|contains|s=|=|eq|>=|<=|>|<|!=|ne)\s*(?P<val>.+)")


def apply_filter(df: pd.DataFrame, query: str | None) -> pd.DataFrame:
    """Apply a DataTable ``filter_query`` (``{col} op value`` clauses joined by ``&&``)."""
    if not query:
        return df
    return df[filter_mask(df, query)]


def filter_mask(df: pd.DataFrame, query: str | None) -> np.ndarray:
    """Which rows of ``df`` a DataTable ``filter_query`` keeps (one boolean per row; clauses on unknown
    columns are ignored, a number compared with a text column keeps nothing)."""
    keep = np.ones(len(df), dtype=bool)
    for clause in (query or "").split(" && "):
        m = _FILTER_RE.match(clause.strip())
        if not m or m["col"] not in df.columns:
            continue
        keep &= _clause_mask(df[m["col"]], m["op"], m["val"].strip().strip('"').strip("'"))
    return keep


def _clause_mask(s: pd.Series, op: str, raw: str) -> np.ndarray:
    if op in ("contains", "scontains"):
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            return s.isin(cats[cats.astype(str).str.contains(raw, case=False, regex=False)]).to_numpy()
        return s.astype(str).str.contains(raw, case=False, regex=False).to_numpy(dtype=bool)
    if isinstance(s.dtype, pd.CategoricalDtype):
        if op in ("=", "s=", "eq", "!=", "ne"):  # on the categories, then the codes
            cats = s.cat.categories
            hit = s.isin(cats[cats.astype(str).str.lower() == raw.lower()]).to_numpy()
            return hit if op in ("=", "s=", "eq") else ~hit
        s = s.astype(str)
    if pd.api.types.is_numeric_dtype(s):
        try:
            v = float(raw)
        except ValueError:
            return np.zeros(len(s), dtype=bool)
    else:
        v = raw
    if op in ("=", "s=", "eq"):
        out = s == v if not isinstance(v, str) else s.astype(str).str.lower() == v.lower()
    elif op in ("!=", "ne"):
        out = s != v
    elif op == ">":
        out = s > v
    elif op == "<":
        out = s < v
    elif op == ">=":
        out = s >= v
    else:  # "<="
        out = s <= v
    return np.asarray(out, dtype=bool)


def _shown_text(df: pd.DataFrame, column: str, names_a: dict, names_b: dict) -> pd.Series:
    """The text a shown column (:data:`SHOWN_TWIN`) has in each row of ``df``."""
    source = df[SHOWN_TWIN[column]]
    if column == "relation_shown":
        words = {r: relation_word(r) for r in RELATIONS}
        return source.map(lambda r: words.get(r, r))
    if column == "matched_a":
        return source.map(lambda m: _("no match") if pd.isna(m) else palette.cluster_name(int(m), names_a))
    names = names_a if column == "cluster_a" else names_b
    shown = {int(c): palette.cluster_name(c, names) for c in pd.unique(source)}
    return source.map(lambda c: shown[int(c)])


def _shown_filters(df: pd.DataFrame, filter_query: str, names_a: dict, names_b: dict) -> tuple[pd.DataFrame, str]:
    """Rewrite the clauses on shown columns: a number (``= 3``, ``contains 3``) compares the cluster
    number; other text is looked for in the shown names (added to ``df`` for :func:`apply_filter`)."""
    clauses = []
    for clause in filter_query.split(" && "):
        m = _FILTER_RE.match(clause.strip())
        if m and m["col"] in SHOWN_TWIN:
            col, raw = m["col"], m["val"].strip().strip('"').strip("'")
            twin = SHOWN_TWIN[col]
            if col != "relation_shown" and re.fullmatch(r"-?\d+", raw):
                op = "=" if m["op"] in ("contains", "scontains", "s=", "eq") else m["op"]
                clause = f"{{{twin}}} {op} {raw}"
            elif col not in df.columns:
                df = df.assign(**{col: _shown_text(df, col, names_a, names_b)})
        clauses.append(clause)
    return df, " && ".join(clauses)


def table_page(data, run_a, run_b, page_current=0, page_size=PAGE_SIZE, sort_by=None, filter_query=None,
               only_disagree=False) -> tuple[list[dict], int, str]:
    """One page of the comparison table (rows, page count, a note) — never the whole table.

    Each row has the stored labels (``label_a``, ``label_b``, ``relation``…) and what the table
    shows of them: the clusters by name (``cluster_a``, ``cluster_b``, ``matched_a``: the names of
    the Clusters page, experts' names included) and the relation in words (``relation_shown``)."""
    if not run_a or not run_b:
        return [], 1, ""
    df = comparison_frame(data, run_a, run_b)
    total = len(df)
    names_a, names_b = cluster_names(data, run_a), cluster_names(data, run_b)
    for shown, twin in SORT_TWIN.items():  # "m:ss" text: filter and sort on the seconds
        filter_query = (filter_query or "").replace("{" + shown + "}", "{" + twin + "}")
    filtered = df
    if filter_query:
        filtered, filter_query = _shown_filters(df, filter_query, names_a, names_b)
    keep = filter_mask(filtered, filter_query)  # rows are positions in df throughout: nothing copied
    if only_disagree:
        keep &= (df["relation"] == "differs").to_numpy()
    if sort_by:
        order = _sort_order(data, run_a, run_b, df, tuple((s["column_id"], s["direction"]) for s in sort_by))
        rows_in_order = order[keep[order]]
    else:
        rows_in_order = np.flatnonzero(keep)
    n = len(rows_in_order)
    pages = max(1, -(-n // page_size))
    page_current = min(max(0, int(page_current or 0)), pages - 1)
    page = df.iloc[rows_in_order[page_current * page_size:(page_current + 1) * page_size]]
    page = page.assign(**{col: _shown_text(page, col, names_a, names_b) for col in SHOWN_TWIN})
    rows = (page.drop(columns=list(SORT_TWIN.values()) + ["aligned_a"])
            .astype({"song": str}).to_dict("records"))
    return rows, pages, table_note(_pair_relation_counts(data, run_a, run_b), total, n,
                                   filtered=bool(filter_query) or bool(only_disagree))


def table_note(counts: dict, total: int, shown: int, *, filtered: bool = False) -> str:
    """The line above the table: how the two runs agree over all their ``total`` sections (the
    relation ``counts`` the metrics show too), and, when a filter is on, how many rows it keeps.

    The table once said "343 of 343 sections match" — the rows its (empty) filter matched — which
    read as 343 sections in the same cluster while 56.6 % differed: the agreement is said in words
    of its own, and the filter's count only when there is a filter."""
    n = max(int(total), 1)
    agree = _("Same cluster for %(same)s of %(total)s sections (%(share)s) after matching B's clusters to A's; "
              "%(split)s split, %(merge)s merged, %(differs)s differ.", same=integer(counts["same"]),
              total=integer(total), share=percent(counts["same"] / n, 1), split=integer(counts["split"]),
              merge=integer(counts["merge"]), differs=integer(counts["differs"]))
    if not filtered:
        return agree
    return agree + " " + ngettext("The filter keeps %(num)d section.", "The filter keeps %(num)d sections.", shown)


#: Sort orders kept (8 bytes a row each: 8 MB at a million sections).
_ORDERS_KEPT = 16


def _sort_order(data, run_a, run_b, df: pd.DataFrame, spec: tuple) -> np.ndarray:
    """Row positions of the pair's frame in the order of the table's ``sort_by`` ``spec`` ((column,
    direction) pairs; stable, missing values last), computed once per pair and spec and kept: a
    page of a sorted million-row table is then a filter of this order, not a sort."""
    cache = data._cache.comparisons
    key = ("order", run_a, run_b, spec)
    if key not in cache:
        kept = [k for k in cache if k[0] == "order"]
        for old in kept[:max(0, len(kept) - _ORDERS_KEPT + 1)]:  # the oldest go first
            del cache[old]
        cols = [SHOWN_TWIN.get(c, SORT_TWIN.get(c, c)) for c, _d in spec]
        sorted_df = df.reset_index(drop=True).sort_values(cols, ascending=[d == "asc" for _c, d in spec],
                                                          kind="stable", na_position="last")
        cache[key] = sorted_df.index.to_numpy()
    return cache[key]


def metrics_view(data, run_a, run_b):
    if not run_a or not run_b:
        return empty_state(_("Pick two runs."))
    cmp = data.comparison(run_a, run_b)
    rel = _pair_relation_counts(data, run_a, run_b)
    n = max(cmp["n"], 1)
    items = [("ARI", number(cmp["ari"], 3)), ("NMI", number(cmp["nmi"], 3)),
             (_("same cluster (aligned)"), percent(rel["same"] / n, 1)),
             (_("split by B (finer)"), percent(rel["split"] / n, 1)),
             (_("merged by B (coarser)"), percent(rel["merge"] / n, 1)),
             (_("really differ"), percent(rel["differs"] / n, 1)),
             (_("sections in both"), integer(cmp["n"]))]
    return html.Div(className="stats", children=[
        html.Div(className="stat", children=[html.Div(v, className="stat-value"), html.Div(k, className="stat-label")])
        for k, v in items])


def compare_figures(data, run_a, run_b):
    if not run_a or not run_b:
        msg = _("Pick two runs")
        return common_figures.empty_figure(msg), common_figures.empty_figure(msg)
    cmp = data.comparison(run_a, run_b)
    names_a, names_b = cluster_names(data, run_a), cluster_names(data, run_b)
    return (comparison_figures.contingency_heatmap(cmp["counts"], cmp["rows"], cmp["cols"], name_a="A", name_b="B",
                                                   mapping=cmp["mapping"], names_a=names_a, names_b=names_b),
            comparison_figures.sankey(cmp["counts"], cmp["rows"], cmp["cols"], name_a="A", name_b="B", mapping=cmp["mapping"],
                                      names_a=names_a, names_b=names_b))


def layout(a=None, b=None, section=None, **_query):
    data = get_data()
    da, db = default_pair(data)
    a = a if a in data.runs.index else da
    b = b if b in data.runs.index else db
    opts = run_options(data)
    heat, flow = compare_figures(data, a, b)
    return html.Div(className="page page-compare", children=[
        dcc.Store(id=ids.selected(PAGE), data={"section_id": section if data.position(section) is not None else None,
                                               "run_id": a}),
        page_header(_("Compare"), _("Two runs on the same sections: where they agree, where sections move.")),
        card(None, html.Div(className="controls-row", children=[
            control(_("Run A"), dropdown(ids.COMPARE_A, opts, a, optionHeight=48)),
            control(_("Run B"), dropdown(ids.COMPARE_B, opts, b, optionHeight=48)),
        ])),
        html.Div(id=ids.COMPARE_METRICS, children=metrics_view(data, a, b)),
        html.Div(className="grid-2", children=[
            card(_("Contingency (B's clusters aligned to A's)"), dcc.Graph(id=ids.COMPARE_HEATMAP, figure=heat,
                                                                          config=graph_config())),
            card(_("How sections move from A to B"), dcc.Graph(id=ids.COMPARE_SANKEY, figure=flow,
                                                               config=graph_config())),
        ]),
        html.Div(className="cluster-grid", children=[
            card(_("Sections: cluster by A, by B, how they relate"),
                 dcc.Checklist(id=ids.COMPARE_ONLY_DISAGREE,
                               options=[{"label": " " + _("only sections that differ (not a split or a merge)"),
                                         "value": "d"}],
                               value=[], className="checklist"),
                 html.Div(id=ids.COMPARE_TABLE_NOTE, className="table-note"),
                 dash_table.DataTable(
                     locale_format=table_locale(),
                     id=ids.COMPARE_TABLE, columns=table_columns(), data=[], page_current=0, page_size=PAGE_SIZE,
                     page_action="custom", sort_action="custom", sort_mode="multi", sort_by=[],
                     filter_action="custom", filter_query="", filter_options={"placeholder_text": _("filter…")},
                     style_cell={"fontFamily": palette.FONT, "fontSize": 13, "padding": "6px 10px", "textAlign": "left",
                                 "border": "none", "borderBottom": "1px solid #f1f5f9", "cursor": "pointer"},
                     style_header={"fontWeight": 600, "backgroundColor": "#f8fafc", "borderBottom": "1px solid #e5e7eb"},
                     style_data_conditional=[
                         *({"if": {"filter_query": f'{{relation_shown}} = "{relation_word(r)}"',
                                   "column_id": "relation_shown"}, **style}
                           for r, style in (("differs", {"color": "#b91c1c", "fontWeight": 600}),
                                            ("same", {"color": "#15803d"}), ("split", {"color": "#b45309"}),
                                            ("merge", {"color": "#b45309"}))),
                         {"if": {"state": "active"}, "backgroundColor": "#eef2ff", "border": "none"}]),
                 html.P(_("Select a row to play its section. Filter with e.g. 'contains rock', 'contains loud' (a "
                          "cluster's name) or '> 2'. A and B: %(same)s; %(split)s; %(merge)s (at least %(share)s of "
                          "it); %(differs)s.", same=_(RELATION_TEXT["same"]), split=_(RELATION_TEXT["split"]),
                          merge=_(RELATION_TEXT["merge"]), share=percent(NESTED_SHARE),
                          differs=relation_word("differs")), className="table-note")),
            html.Aside(className="detail", children=[
                card(_("Section"), html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.COMPARE_DETAIL)),
            ]),
        ]),
    ])


register_selection(PAGE, run=ids.COMPARE_A)
register_judging(PAGE)


@callback(Output(ids.COMPARE_METRICS, "children"), Output(ids.COMPARE_HEATMAP, "figure"),
          Output(ids.COMPARE_SANKEY, "figure"), Input(ids.COMPARE_A, "value"), Input(ids.COMPARE_B, "value"),
          prevent_initial_call=True)
def _pair(a, b):
    data = get_data()
    heat, flow = compare_figures(data, a, b)
    return metrics_view(data, a, b), heat, flow


@callback(Output(ids.COMPARE_TABLE, "data"), Output(ids.COMPARE_TABLE, "page_count"),
          Output(ids.COMPARE_TABLE_NOTE, "children"),
          Input(ids.COMPARE_A, "value"), Input(ids.COMPARE_B, "value"), Input(ids.COMPARE_TABLE, "page_current"),
          Input(ids.COMPARE_TABLE, "page_size"), Input(ids.COMPARE_TABLE, "sort_by"),
          Input(ids.COMPARE_TABLE, "filter_query"), Input(ids.COMPARE_ONLY_DISAGREE, "value"))
def _table(a, b, page_current, page_size, sort_by, filter_query, only):
    return table_page(get_data(), a, b, page_current, page_size or PAGE_SIZE, sort_by, filter_query, bool(only))


@callback(Output(ids.selected(PAGE), "data", allow_duplicate=True), Input(ids.COMPARE_TABLE, "active_cell"),
          State(ids.COMPARE_A, "value"), prevent_initial_call=True)
def _row(cell, a):
    if not cell or not cell.get("row_id"):
        return no_update
    return {"section_id": cell["row_id"], "run_id": a, "autoplay": True}


@callback(Output(ids.COMPARE_DETAIL, "children"), Input(ids.selected(PAGE), "data"))
def _detail(selected):
    selected = selected or {}
    return section_detail(get_data(), selected.get("section_id"), selected.get("run_id"), PAGE,
                          autoplay=bool(selected.get("autoplay")), n_neighbours=6)

