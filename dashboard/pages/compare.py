"""Compare: two runs side by side — contingency, Sankey, ARI/NMI/agreement, and the section table."""

from __future__ import annotations

import re

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update

from dashboard import figures, ids
from dashboard.components.common import GRAPH_CONFIG, card, control, dropdown, empty_state, page_header, run_options
from dashboard.components.detail import section_detail
from dashboard.components.judging import register_judging
from dashboard.components.selection import register_selection
from dashboard.data import get_data

PAGE = "compare"
PAGE_SIZE = 15
dash.register_page(__name__, path="/compare", name="Compare", title="Compare runs · sectionist", order=3)

TABLE_COLUMNS = [
    {"id": "song", "name": "song"}, {"id": "start", "name": "section start", "type": "numeric"},
    {"id": "label_a", "name": "cluster by A", "type": "numeric"},
    {"id": "label_b", "name": "cluster by B", "type": "numeric"},
    {"id": "label_b_aligned", "name": "B aligned to A", "type": "numeric"},
    {"id": "agree", "name": "agree?"},
]


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
    df = pd.DataFrame({
        "id": data.section_ids[pos],
        # categorical: sorting and filtering 100 000 rows by song works on codes, not strings
        "song": _song_categorical(data, pos),
        "start": secs["start_s"].to_numpy()[pos].round(1),
        "label_a": la[pos].astype(np.int64),
        "label_b": lb[pos].astype(np.int64),
        "label_b_aligned": cmp["aligned_b"][pos].astype(np.int64),
        "agree": np.where(cmp["agree"][pos], "yes", "no"),
    })
    cache[key] = df
    return df


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
    for clause in query.split(" && "):
        m = _FILTER_RE.match(clause.strip())
        if not m or m["col"] not in df.columns:
            continue
        col, op, raw = m["col"], m["op"], m["val"].strip().strip('"').strip("'")
        s = df[col]
        if op in ("contains", "scontains"):
            if isinstance(s.dtype, pd.CategoricalDtype):
                cats = s.cat.categories
                hit = cats[cats.astype(str).str.contains(raw, case=False, regex=False)]
                df = df[s.isin(hit)]
            else:
                df = df[s.astype(str).str.contains(raw, case=False, regex=False)]
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(str)
        if pd.api.types.is_numeric_dtype(s):
            try:
                v = float(raw)
            except ValueError:
                return df.iloc[0:0]
        else:
            v = raw
        if op in ("=", "s=", "eq"):
            df = df[s == v] if not isinstance(v, str) else df[s.astype(str).str.lower() == v.lower()]
        elif op in ("!=", "ne"):
            df = df[s != v]
        elif op == ">":
            df = df[s > v]
        elif op == "<":
            df = df[s < v]
        elif op == ">=":
            df = df[s >= v]
        elif op == "<=":
            df = df[s <= v]
    return df


def table_page(data, run_a, run_b, page_current=0, page_size=PAGE_SIZE, sort_by=None, filter_query=None,
               only_disagree=False) -> tuple[list[dict], int, str]:
    """One page of the comparison table (rows, page count, a note) — never the whole table."""
    if not run_a or not run_b:
        return [], 1, ""
    df = comparison_frame(data, run_a, run_b)
    total = len(df)
    if only_disagree:
        df = df[df["agree"] == "no"]
    df = apply_filter(df, filter_query)
    if sort_by:
        df = df.sort_values([s["column_id"] for s in sort_by], ascending=[s["direction"] == "asc" for s in sort_by],
                            kind="stable")
    n = len(df)
    pages = max(1, -(-n // page_size))
    page_current = min(max(0, int(page_current or 0)), pages - 1)
    rows = df.iloc[page_current * page_size:(page_current + 1) * page_size].astype({"song": str}).to_dict("records")
    return rows, pages, f"{n:,} of {total:,} sections match"


def metrics_view(data, run_a, run_b):
    if not run_a or not run_b:
        return empty_state("Pick two runs.")
    cmp = data.comparison(run_a, run_b)
    items = [("ARI", f"{cmp['ari']:.3f}"), ("NMI", f"{cmp['nmi']:.3f}"),
             ("agreement (aligned)", f"{100 * cmp['agreement']:.1f} %"), ("sections in both", f"{cmp['n']:,}")]
    return html.Div(className="stats", children=[
        html.Div(className="stat", children=[html.Div(v, className="stat-value"), html.Div(k, className="stat-label")])
        for k, v in items])


def compare_figures(data, run_a, run_b):
    if not run_a or not run_b:
        msg = "Pick two runs"
        return figures.empty_figure(msg), figures.empty_figure(msg)
    cmp = data.comparison(run_a, run_b)
    return (figures.contingency_heatmap(cmp["counts"], cmp["rows"], cmp["cols"], name_a="A", name_b="B",
                                        mapping=cmp["mapping"]),
            figures.sankey(cmp["counts"], cmp["rows"], cmp["cols"], name_a="A", name_b="B", mapping=cmp["mapping"]))


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
        page_header("Compare", "Two runs on the same sections: where they agree, where sections move."),
        card(None, html.Div(className="controls-row", children=[
            control("Run A", dropdown(ids.COMPARE_A, opts, a, optionHeight=48)),
            control("Run B", dropdown(ids.COMPARE_B, opts, b, optionHeight=48)),
        ])),
        html.Div(id=ids.COMPARE_METRICS, children=metrics_view(data, a, b)),
        html.Div(className="grid-2", children=[
            card("Contingency (B's clusters aligned to A's)", dcc.Graph(id=ids.COMPARE_HEATMAP, figure=heat,
                                                                       config=GRAPH_CONFIG)),
            card("How sections move from A to B", dcc.Graph(id=ids.COMPARE_SANKEY, figure=flow, config=GRAPH_CONFIG)),
        ]),
        html.Div(className="cluster-grid", children=[
            card("Sections: cluster by A, by B, agree?",
                 dcc.Checklist(id=ids.COMPARE_ONLY_DISAGREE, options=[{"label": " only disagreements", "value": "d"}],
                               value=[], className="checklist"),
                 html.Div(id=ids.COMPARE_TABLE_NOTE, className="table-note"),
                 dash_table.DataTable(
                     id=ids.COMPARE_TABLE, columns=TABLE_COLUMNS, data=[], page_current=0, page_size=PAGE_SIZE,
                     page_action="custom", sort_action="custom", sort_mode="multi", sort_by=[],
                     filter_action="custom", filter_query="",
                     style_cell={"fontFamily": figures.FONT, "fontSize": 13, "padding": "6px 10px", "textAlign": "left",
                                 "border": "none", "borderBottom": "1px solid #f1f5f9", "cursor": "pointer"},
                     style_header={"fontWeight": 600, "backgroundColor": "#f8fafc", "borderBottom": "1px solid #e5e7eb"},
                     style_data_conditional=[
                         {"if": {"filter_query": '{agree} = "no"', "column_id": "agree"}, "color": "#b91c1c",
                          "fontWeight": 600},
                         {"if": {"filter_query": '{agree} = "yes"', "column_id": "agree"}, "color": "#15803d"},
                         {"if": {"state": "active"}, "backgroundColor": "#eef2ff", "border": "none"}]),
                 html.P("Select a row to play its section. Filter with e.g. 'contains rock' or '> 2'.",
                        className="table-note")),
            html.Aside(className="detail", children=[
                card("Section", html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.COMPARE_DETAIL)),
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

