"""Overview: the corpus in numbers, every run with its quality metrics, and the K curves."""

from __future__ import annotations

import json

import dash
import numpy as np
from dash import Input, Output, callback, dash_table, dcc, html

from sectionist.analysis.modeling.versions import k_note
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import overview as overview_figures, palette
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, table_locale, word
from sectionist.dashboard.auth.context import get_db
from sectionist.dashboard.ui.components.common import graph_config, card, control, empty_state, page_header, stat
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import coverage_text, version_note
from sectionist.dashboard.data import strength as strength_bands
from sectionist.dashboard.ui import strength as strength_words
from sectionist.dashboard.ui.components.metrics import header_tooltips, metrics_legend
from sectionist.dashboard.ui.components.strength import store_verdict
from sectionist.dashboard.judging.repository import judgements_frame
from sectionist.dashboard.judging.stats import agreement_per_run

dash.register_page(__name__, path="/", name=N_("Overview"), title=page_title(N_("Overview")),
                   order=0)

#: Run table columns: (column, header, d3 number format or None for text). The last two come
#: from the experts' verdicts (:func:`sectionist.dashboard.judging.stats.agreement_per_run`), when there are any.
RUN_COLUMNS = [
    ("run_id", N_("run"), None), ("strength", N_("strength"), None), ("version_note", N_("version"), None),
    ("space", N_("space"), None),
    ("method", N_("method"), None), ("level", N_("level"), None), ("coverage", N_("coverage"), None),
    ("n_clusters", N_("clusters"), None), ("one_song", N_("clusters mostly one song"), None),
    ("k_note", N_("K choice"), None), ("n_sections", N_("sections"), None),
    ("silhouette", N_("silhouette ↑"), ".3f"), ("davies_bouldin", "Davies–Bouldin ↓", ".3f"),
    ("calinski_harabasz", "Calinski–Harabasz ↑", ".1f"), ("bic", "BIC ↓", ".1f"),
    ("stability_ari", N_("stability (ARI) ↑"), ".3f"), ("fidelity", N_("surrogate fidelity ↑"), ".3f"),
    ("ari_truth", N_("ARI vs truth ↑"), ".3f"), ("nmi_truth", N_("NMI vs truth ↑"), ".3f"),
    ("expert_agreement", N_("experts agree ↑"), ".0%"), ("expert_verdicts", N_("verdicts"), ".0f"),
    ("carried_over", N_("verdicts carried over"), None),
]


def k_choice(run: dict) -> str | None:
    """:func:`sectionist.analysis.modeling.versions.k_note` in the request's language (the rule's name stays as it is)."""
    note = k_note(run)
    if note is None or not note.startswith("⚠"):
        return note
    return _("⚠ K at edge of %(low)s–%(high)s (%(rule)s)", low=int(run["k_min"]), high=int(run["k_max"]),
             rule=run["k_rule"])


def runs_table_data(data, agreement=None, carry=None) -> tuple[list[dict], list[dict]]:
    """Rows and column specs of the runs table (metrics rounded; absent metrics left out).

    ``agreement``: :func:`sectionist.dashboard.judging.stats.agreement_per_run` of the current verdicts; when
    given and not empty, the share of verdicts agreeing with each run and their number are added,
    so the internal metrics and the experts' judgement sit side by side. Each run id is one fitted
    version, so these are per version, never pooled over a lineage; ``carry``
    (:meth:`sectionist.dashboard.data.store_data.StoreData.carry_over`) adds, on each newer version, how many verdicts on
    the older versions still hold. The version (when a lineage has several) and the coverage (placed
    sections, sections not covered) are shown where they say something.
    """
    runs = data.runs.reset_index()
    runs["k_note"] = [k_choice(r) for r in runs.to_dict("records")]
    runs["version_note"] = [version_note(data, r) or None for r in runs["run_id"]]
    runs["coverage"] = [coverage_text(data, r) or None for r in runs["run_id"]]
    # how strong each run is, in a word, and how many of its clusters are mostly one song (issue #21)
    bands = strength_bands.run_strengths(data)
    runs["strength"] = [strength_words.band_word(bands.at[r, "band"]) for r in runs["run_id"]]
    runs["one_song"] = [strength_words.run_mix_cell(strength_bands.run_song_mix(data, r)) for r in runs["run_id"]]
    if agreement is not None and len(agreement):
        by_run = agreement.set_index("run_id")
        runs["expert_agreement"] = runs["run_id"].map(by_run["rate"]).astype(float)
        # every verdict, unsure included (the agreement rate alone leaves unsure out)
        runs["expert_verdicts"] = runs["run_id"].map(by_run["n"] + by_run["unsure"]).astype(float)
    if carry is not None and len(carry):
        notes = {}
        for _unused, c in carry.iterrows():
            notes.setdefault(c["new_run"], []).append(
                _("%(carried)s of %(verdicts)s from v%(version)s (%(invalidated)s invalidated)",
                  carried=integer(int(c["carried"])), verdicts=integer(int(c["verdicts"])),
                  version=int(c["old_version"]), invalidated=integer(int(c["invalidated"]))))
        runs["carried_over"] = runs["run_id"].map(lambda r: "; ".join(notes[r]) if r in notes else None)
    cols = []
    for name, header, fmt in RUN_COLUMNS:
        if name not in runs.columns or runs[name].isna().all():
            continue
        spec = {"id": name, "name": _(header)}
        if fmt is not None:
            spec.update(type="numeric", format={"specifier": fmt})
        cols.append(spec)
    rows = []
    for r in runs.to_dict("records"):
        row = {}
        for c in cols:
            v = r.get(c["id"])
            if isinstance(v, (float, np.floating)) and np.isnan(v):
                v = None
            elif isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (np.floating,)):
                v = float(v)
            if c["id"] == "level":  # a code word: "section", "section-mean"
                v = word(v)
            row[c["id"]] = v
        rows.append(row)
    return rows, cols


def strength_styles() -> list[dict]:
    """The verdict cells of weak runs in amber and bold, strong ones in green (matched on the
    translated word, so in every language)."""
    out = []
    for band, colour in (("weak", "#b45309"), ("none", "#b45309"), ("strong", "#15803d")):
        word = strength_words.band_word(band).replace('"', "")
        out.append({"if": {"filter_query": f'{{strength}} = "{word}"', "column_id": "strength"},
                    "color": colour, "fontWeight": 600})
    return out


def strength_tooltips(data, rows) -> list[dict]:
    """Each run's verdict cell explained on hover (what the band means; the warning above says it
    for the store in plain view)."""
    bands = strength_bands.run_strengths(data)
    return [{"strength": {"value": strength_words.run_sentence(bands.at[r["run_id"], "band"]), "type": "text"}}
            if r.get("run_id") in bands.index else {} for r in rows]


def curves_for(data, space=None) -> dict:
    """Decoded K curves (label → {"k", "inertia", "silhouette", "bic"}) of the runs of ``space``."""
    runs = data.runs
    if runs.empty or "curves" not in runs.columns:
        return {}
    out = {}
    for run_id, r in runs.iterrows():
        if space and r.get("space") != space:
            continue
        c = r.get("curves")
        if isinstance(c, str):
            try:
                c = json.loads(c)
            except ValueError:
                c = None
        if isinstance(c, dict) and c.get("k"):
            out[f"{r.get('method', '?')} · {r.get('space', '?')} ({run_id})"] = c
    return out


def corpus_stats(data) -> list:
    s = data.corpus_summary()
    manifest = data.store.read_manifest()
    failed = sum(1 for v in (manifest.get("songs") or {}).values() if isinstance(v, dict) and v.get("status") == "failed")
    return [
        stat(_("songs"), integer(s["songs"]),
             _("%(count)s failed to analyse", count=integer(failed)) if failed else None),
        stat(_("hours of audio"), number(s["hours"], 1)),
        stat(_("sections"), integer(s["sections"]),
             ngettext("%(count)s central", "%(count)s central", s["central"], count=integer(s["central"]))),
        stat(_("runs"), integer(s["runs"]),
             ngettext("over %(count)s space", "over %(count)s spaces", s["spaces"], count=integer(s["spaces"]))),
    ]


def store_line(data) -> str:
    """The page's subtitle: where the store is and its revision (the manifest's write counter, which
    the app watches to reload; a detail, not a headline figure)."""
    revision = data.store.read_manifest().get("version")
    if revision is None:
        return _("Store %(uri)s", uri=data.store_uri)
    return _("Store %(uri)s · revision %(revision)s", uri=data.store_uri, revision=revision)


def layout(**_query):
    data = get_data()
    verdicts = judgements_frame(get_db())
    rows, cols = runs_table_data(data, agreement_per_run(verdicts), data.carry_over(verdicts))
    spaces = list(dict.fromkeys(data.runs["space"])) if not data.runs.empty else []
    return html.Div(className="page page-overview", children=[
        page_header(_("Overview"), store_line(data)),
        html.Div(corpus_stats(data), className="stats"),
        store_verdict(data, ids.OVERVIEW_STRENGTH),
        card(_("Runs and their quality"),
             html.P(_("Higher is better where marked ↑, lower where ↓. ARI/NMI vs truth only where songs carry "
                      "ground-truth sections; \"experts agree\" once experts have judged sections (agree ÷ "
                      "(agree + disagree), details on the Judgements page), counted per run version: a refit is a "
                      "new run id and starts with no verdicts; \"verdicts carried over\" says how many verdicts on "
                      "an older version still hold (the section keeps the judged cluster after alignment). Click a "
                      "run to open its clusters."),
                    className="table-note"),
             html.P(_("\"strength\" says how well each run's clusters are separated (what strong, moderate and weak mean: "
                      "above); \"clusters mostly one song\" counts the clusters at least half of whose sections come "
                      "from one song."),
                    className="table-note"),
             # every measure in one plain line: on a header's hover, and in a list a tap opens (phones)
             metrics_legend(cols) if rows else None,
             dash_table.DataTable(id=ids.OVERVIEW_RUNS, data=rows, columns=cols, sort_action="native", locale_format=table_locale(),
                                  page_size=15, style_table={"overflowX": "auto"},
                                  # headers and long names wrap so every metric fits a 1440 px screen (the sort
                                  # arrows sit in the cells' left padding: style.css; on a phone it scrolls)
                                  style_cell={"fontFamily": palette.FONT, "fontSize": 13, "padding": "6px 4px 6px 8px",
                                              "textAlign": "left", "border": "none",
                                              "borderBottom": "1px solid #f1f5f9", "whiteSpace": "normal",
                                              "height": "auto", "minWidth": "56px", "maxWidth": "180px",
                                              "overflowWrap": "anywhere"},
                                  style_header={"fontWeight": 600, "fontSize": 12, "backgroundColor": "#f8fafc",
                                                "borderBottom": "1px solid #e5e7eb", "whiteSpace": "normal",
                                                "height": "auto", "verticalAlign": "bottom",
                                                "overflowWrap": "normal"},
                                  style_data_conditional=[{"if": {"state": "active"},
                                                           "backgroundColor": "#eef2ff", "border": "none"},
                                                          {"if": {"filter_query": '{k_note} contains "⚠"',
                                                                  "column_id": "k_note"},
                                                           "color": "#b45309", "fontWeight": 600},
                                                          *strength_styles()],
                                  tooltip_data=strength_tooltips(data, rows), tooltip_header=header_tooltips(cols),
                                  tooltip_duration=None)
             if rows else empty_state(_("No clustering runs in this store yet.")),
             dcc.Location(id=ids.OVERVIEW_GOTO, refresh="callback-nav")),
        # scores against the truth, when songs carry some: filled after the page shows (computed once per store version)
        dcc.Loading(html.Div(id=ids.OVERVIEW_EVALUATION), type="dot"),
        card(_("Choosing K: elbow, silhouette and BIC"),
             control(_("Space"), dcc.Dropdown(id=ids.OVERVIEW_SPACE, options=[{"label": s, "value": s} for s in spaces],
                                              value=None, placeholder=_("all spaces"))),
             dcc.Graph(id=ids.OVERVIEW_CURVES, config=graph_config(),
                       figure=overview_figures.k_curves(curves_for(data))),
             metrics_legend([("inertia", _("inertia (elbow)")), ("silhouette", _("silhouette")), ("bic", "BIC")])),
    ])


@callback(Output(ids.OVERVIEW_CURVES, "figure"), Input(ids.OVERVIEW_SPACE, "value"), prevent_initial_call=True)
def _curves(space):
    return overview_figures.k_curves(curves_for(get_data(), space))


@callback(Output(ids.OVERVIEW_GOTO, "href"), Input(ids.OVERVIEW_RUNS, "active_cell"),
          dash.State(ids.OVERVIEW_RUNS, "derived_viewport_data"), prevent_initial_call=True)
def _open_run(cell, rows):
    if not cell or not rows or cell["row"] >= len(rows):
        return dash.no_update
    return f"/clusters?run={rows[cell['row']]['run_id']}"


@callback(Output(ids.OVERVIEW_EVALUATION, "children"), Input(ids.OVERVIEW_EVALUATION, "id"))
def _evaluation(_id):
    from sectionist.dashboard.data.evaluation import evaluation_card

    return evaluation_card(get_data())
