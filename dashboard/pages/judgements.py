"""Judgements: progress per expert, agreement with each method (with 95 % intervals), inter-rater
agreement, the most disputed sections, cluster verdicts, and export.

What a role sees: an admin sees every expert by name; an expert sees the aggregates and their own
name, other experts anonymised ("expert 2"); a viewer sees the aggregates only. Raw exports are
for admins (everyone's rows) and experts (their own rows).
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import figures, ids
from dashboard.i18n import N_, _, page_title  # noqa: F401 - _ marks this page's strings
from dashboard.auth import current_user_or_none, get_db
from dashboard.components.common import card, empty_state, page_header, run_option_label, stat
from dashboard.data import get_data
from dashboard.judging.repository import cluster_verdicts_frame, judgements_frame
from dashboard.judging.stats import (
    agreement_per_cluster,
    agreement_per_run,
    agreement_per_version,
    cluster_verdict_summary,
    cohen_kappa_pairs,
    fleiss_kappa,
    krippendorff_alpha,
    method_differences,
    most_disputed,
    progress_per_expert,
)

PAGE = "judgements"

dash.register_page(__name__, path="/judgements", name=N_("Judgements"), title=page_title(N_("Judgements")),
                   order=6)


def layout(**_query):
    return html.Div(className="page page-judgements", children=[
        page_header("Judgements", "How often experts agree with each method, how much they agree with each other, "
                                  "and where they disagree.",
                    html.Button("Refresh", id=ids.JUDGEMENTS_REFRESH, n_clicks=0, className="btn btn-ghost")),
        html.Div(id=ids.JUDGEMENTS_BODY, children=body()),
    ])


@callback(Output(ids.JUDGEMENTS_BODY, "children"), Input(ids.JUDGEMENTS_REFRESH, "n_clicks"), prevent_initial_call=True)
def _refresh(_n):
    return body()


def anonymise(df, columns, me: str | None):
    """Replace usernames in ``columns`` by "expert N" (stable by sorted name), except ``me``."""
    names = sorted({n for c in columns for n in df[c].dropna()} - {me})
    alias = {n: f"expert {i}" for i, n in enumerate(names, 1)}
    out = df.copy()
    for c in columns:
        out[c] = out[c].map(lambda n: n if n == me else alias.get(n, n))
    return out


def _fmt(v, pct=False, digits=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{100 * v:.0f} %" if pct else f"{v:.{digits}f}"


def _table(columns: list[tuple[str, str]], rows: list[dict], table_id: str | None = None) -> html.Table:
    kw = {"id": table_id} if table_id else {}
    return html.Table(className="table judge-table", **kw, children=[
        html.Thead(html.Tr([html.Th(label) for _, label in columns])),
        html.Tbody([html.Tr([html.Td(r.get(key)) for key, _ in columns]) for r in rows]),
    ])


def _differences(per_run, labels) -> list:
    """The best-agreed method against each other one (Newcombe intervals), as a heading and a table."""
    diffs = method_differences(per_run)
    if diffs.empty:
        return []
    rows = [{"run": labels.get(r["run_id"], r["run_id"]), "diff": f"{100 * r['difference']:+.0f} points",
             "ci": f"{100 * r['ci_low']:+.0f} to {100 * r['ci_high']:+.0f}",
             "verdict": "ahead" if r["separated"] else "not separated yet"}
            for _, r in diffs.iterrows()]
    best = labels.get(diffs.iloc[0]["best_run"], diffs.iloc[0]["best_run"])
    return [
        html.H4(f"Is {best} really ahead?", className="table-title"),
        html.P("Difference in agreement between the best-agreed run and each other run, with a 95 % interval "
               "(Newcombe's hybrid score method for two proportions). \"Ahead\" means the whole interval is above "
               "zero; judge more sections, e.g. with the Judge page's blind \"all runs, mixed\" queue, to separate "
               "the others.", className="table-note"),
        _table([("run", "compared with"), ("diff", "difference"), ("ci", "95 % interval"), ("verdict", "")],
               rows, ids.JUDGEMENTS_DIFFERENCES),
    ]


def _versions(df, data) -> list:
    """A card per-version: verdicts on each version of a refitted lineage (never pooled), and how many
    verdicts on an older version carry over to each newer one; nothing when no judged run has
    several versions."""
    known = data.run_versions[["lineage", "version"]]
    per = agreement_per_version(df, known)
    counts = data.run_versions["n_versions"]
    refitted = sorted({lin for lin in per["lineage"] if (known["lineage"] == lin).any()
                       and int(counts[known["lineage"] == lin].max()) > 1})
    if not refitted:
        return []
    per = per[per["lineage"].isin(refitted)]
    rows = [{"lineage": r["lineage"], "version": data.version_note(r["run_id"]) or f"v{int(r['version'])}",
             "run": r["run_id"], "n": int(r["n"]) + int(r["unsure"]), "agree": int(r["agree"]),
             "disagree": int(r["disagree"]), "unsure": int(r["unsure"]), "rate": _fmt(r["rate"], pct=True),
             "ci": f"{_fmt(r['ci_low'], pct=True)} – {_fmt(r['ci_high'], pct=True)}"} for _, r in per.iterrows()]
    carry = data.carry_over(df)
    carry = carry[carry["lineage"].isin(refitted)]
    carry_rows = [{"lineage": c["lineage"], "pair": f"v{int(c['old_version'])} → v{int(c['new_version'])}",
                   "n": int(c["verdicts"]), "carried": int(c["carried"]), "invalidated": int(c["invalidated"]),
                   "absent": int(c["absent"]), "agree": int(c["agree_carried"])} for _, c in carry.iterrows()]
    return [card(
        "Run versions",
        html.P("A refit is a new run id (version 2, 3, …); every verdict names one exact version, so verdicts are "
               "counted per version, never pooled. A verdict on an older version carries over to a newer one when "
               "the section still has the judged cluster after aligning the newer labels to the older ones "
               "(Hungarian alignment); otherwise the newer version invalidates it.", className="table-note"),
        _table([("lineage", "lineage"), ("version", "version"), ("run", "run id"), ("n", "verdicts"),
                ("agree", "agree"), ("disagree", "disagree"), ("unsure", "unsure"), ("rate", "agreement"),
                ("ci", "95 % interval")], rows, ids.JUDGEMENTS_VERSIONS),
        html.H4("Verdicts carried over to newer versions", className="table-title"),
        _table([("lineage", "lineage"), ("pair", "versions"), ("n", "verdicts on the older"),
                ("carried", "carry over"), ("invalidated", "invalidated"), ("absent", "of which not labelled"),
                ("agree", "agree verdicts carried")], carry_rows, ids.JUDGEMENTS_CARRY_OVER)
        if carry_rows else empty_state("No verdicts on an older version yet."),
    )]


def body() -> list:
    """Everything the page shows, for the logged-in user."""
    user = current_user_or_none()
    db = get_db()
    data = get_data()
    df = judgements_frame(db)
    is_admin = user is not None and user.role == "admin"
    admin_card = card("Accounts", html.P(["Add experts, change roles, reset passwords: ",
                                          html.A("manage users →", href="/admin/users", id=ids.JUDGEMENTS_ADMIN_USERS)]))
    if df.empty:
        empty = empty_state("No judgements yet. Experts judge sections on the Judge page or in the detail panel "
                            "of the Map, Clusters, Compare and Songs pages.")
        return ([admin_card] if is_admin else []) + [empty]
    me = user.username if user is not None else None
    labels = {r: run_option_label(data, r) for r in df["run_id"].unique()}
    alpha, n_items = krippendorff_alpha(df)
    fleiss, _ = fleiss_kappa(df)
    per_run = agreement_per_run(df)
    out = [html.Div(className="stats", children=[
        stat("judgements", f"{len(df):,}", "current verdicts (history kept)"),
        stat("experts", str(df["username"].nunique())),
        stat("sections judged", f"{df[['run_id', 'section_id']].drop_duplicates().shape[0]:,}"),
        stat("Krippendorff's α", _fmt(alpha), f"over {n_items} sections with ≥ 2 experts"),
        stat("Fleiss' κ", _fmt(fleiss), "same sections; 1 = full agreement, 0 = chance"),
    ])]

    # "verdicts" counts every verdict, unsure included (agree + disagree + unsure); the agreement
    # rate alone leaves unsure out, as its note says
    rows = [{"run": labels.get(r["run_id"], r["run_id"]), "n": int(r["n"]) + int(r["unsure"]), "agree": int(r["agree"]),
             "disagree": int(r["disagree"]), "unsure": int(r["unsure"]), "rate": _fmt(r["rate"], pct=True),
             "ci": f"{_fmt(r['ci_low'], pct=True)} – {_fmt(r['ci_high'], pct=True)}", "experts": int(r["experts"])}
            for _, r in per_run.iterrows()]
    out.append(card(
        "Agreement with each method",
        html.P("Share of verdicts that agree with the run's grouping (agree ÷ (agree + disagree); "
               "unsure left out), with a 95 % Wilson interval. Overlapping intervals mean the data do not yet "
               "separate the methods.", className="table-note"),
        dcc.Graph(figure=figures.agreement_bars(per_run, labels), config={"displayModeBar": False}),
        _table([("run", "run"), ("n", "verdicts"), ("agree", "agree"), ("disagree", "disagree"), ("unsure", "unsure"),
                ("rate", "agreement"), ("ci", "95 % interval"), ("experts", "experts")], rows, ids.JUDGEMENTS_PER_RUN),
        *_differences(per_run, labels),
    ))
    out += _versions(df, data)

    per_cluster = agreement_per_cluster(df)
    rows = [{"run": r["run_id"], "cluster": int(r["cluster"]), "n": int(r["n"]) + int(r["unsure"]),
             "rate": _fmt(r["rate"], pct=True),
             "ci": f"{_fmt(r['ci_low'], pct=True)} – {_fmt(r['ci_high'], pct=True)}", "unsure": int(r["unsure"])}
            for _, r in per_cluster.iterrows()]
    out.append(card("Agreement per cluster", _table(
        [("run", "run"), ("cluster", "cluster"), ("n", "verdicts"), ("rate", "agreement"), ("ci", "95 % interval"),
         ("unsure", "unsure")], rows, ids.JUDGEMENTS_PER_CLUSTER)))

    progress = progress_per_expert(df)
    if not is_admin:
        progress = progress[progress["username"] == me] if me else progress.iloc[0:0]
    rows = [{"user": r["username"], "judgements": int(r["judgements"]), "sections": int(r["sections"]),
             "runs": int(r["runs"]), "agree": int(r["agree"]), "disagree": int(r["disagree"]), "unsure": int(r["unsure"]),
             "last": str(r["last_at"])[:16]} for _, r in progress.iterrows()]
    out.append(card("Progress per expert" if is_admin else "Your progress", _table(
        [("user", "expert"), ("judgements", "judgements"), ("sections", "sections"), ("runs", "runs"),
         ("agree", "agree"), ("disagree", "disagree"), ("unsure", "unsure"), ("last", "last (UTC)")], rows,
        ids.JUDGEMENTS_PROGRESS) if rows else empty_state("No judgements from you yet.")))

    pairs = cohen_kappa_pairs(df)
    if not pairs.empty:
        if not is_admin:
            pairs = anonymise(pairs, ["rater_a", "rater_b"], me)
        rows = [{"a": r["rater_a"], "b": r["rater_b"], "n": int(r["n_items"]), "po": _fmt(r["observed_agreement"], pct=True),
                 "kappa": _fmt(r["kappa"])} for _, r in pairs.iterrows()]
        body_kappa = _table([("a", "expert"), ("b", "expert"), ("n", "sections both judged"), ("po", "same verdict"),
                             ("kappa", "Cohen's κ")], rows, ids.JUDGEMENTS_KAPPA)
    else:
        body_kappa = empty_state("No section has been judged by two experts yet.")
    out.append(card("Inter-rater agreement", html.P(
        "Cohen's κ per pair of experts over the sections both judged (1 = perfect, 0 = chance); "
        "Krippendorff's α (nominal) above pools every expert.", className="table-note"), body_kappa))

    disputed = most_disputed(df, top=20)
    if not disputed.empty:
        rows = [{"section": dcc.Link(r["section_id"], href="/map?" + urlencode({"section": r["section_id"], "run": r["run_id"]})),
                 "run": r["run_id"], "cluster": "–" if r["cluster"] is None or r["cluster"] != r["cluster"] else int(r["cluster"]),
                 "raters": int(r["raters"]), "split": f"{int(r['agree'])} / {int(r['disagree'])} / {int(r['unsure'])}",
                 "suggested": r["suggested"] or "–"} for _, r in disputed.iterrows()]
        body_disputed = _table([("section", "section"), ("run", "run"), ("cluster", "cluster"), ("raters", "experts"),
                                ("split", "agree / disagree / unsure"), ("suggested", "suggested clusters")], rows,
                               ids.JUDGEMENTS_DISPUTED)
    else:
        body_disputed = empty_state("No section with conflicting verdicts yet.")
    out.append(card("Most disputed sections", body_disputed))

    cv = cluster_verdict_summary(cluster_verdicts_frame(db))
    if not cv.empty:
        rows = [{k: (int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v) for k, v in r.items()}
                for r in cv.to_dict("records")]
        out.append(card("Cluster verdicts", _table(
            [("run_id", "run"), ("cluster", "cluster"), ("coherent", "coherent"), ("mixed", "mixed"),
             ("split", "should be split"), ("merge", "should merge"), ("merge_with", "merge with"),
             ("experts", "experts")], rows, ids.JUDGEMENTS_CLUSTER_VERDICTS)))

    if is_admin:
        out.append(admin_card)
    if user is not None and user.role in ("admin", "expert"):
        whose = "everyone's" if is_admin else "your"
        out.append(card("Export", html.P(f"Download {whose} judgements (current verdicts, or the full history "
                                         "with superseded ones)."),
                        html.Div(className="export-links", children=[
                            html.A("judgements.csv", href="/export/judgements.csv", className="btn btn-ghost btn-small"),
                            html.A("judgements.parquet", href="/export/judgements.parquet", className="btn btn-ghost btn-small"),
                            html.A("history.csv", href="/export/judgements.csv?history=1", className="btn btn-ghost btn-small"),
                            html.A("cluster-verdicts.csv", href="/export/cluster-verdicts.csv",
                                   className="btn btn-ghost btn-small"),
                        ])))
    return out
