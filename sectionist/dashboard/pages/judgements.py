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
import pandas as pd
from dash import Input, Output, callback, dcc, html

from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import judgements as judgement_figures, palette
from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.ui.components.common import card, cluster_names, graph_config, empty_state, page_header, run_option_label, stat
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import version_note
from sectionist.dashboard.ui.i18n import N_, _, date_time, integer, ngettext, number, page_title, percent, word
from sectionist.dashboard.judging.pair_answers import pairs_frame
from sectionist.dashboard.judging.repository import cluster_verdicts_frame, judgements_frame
from sectionist.dashboard.ui.components.guided import guide_box, guided_card
from sectionist.dashboard.ui.components.jobs import job_done_store, register_jobs
from sectionist.dashboard.judging.stats import (
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

register_jobs(PAGE)  # the guided version's job (components/guided.py)


def layout(**_query):
    return html.Div(className="page page-judgements", children=[
        page_header(_("Judgements"), _("How often experts agree with each method, how much they agree with each "
                                       "other, and where they disagree."),
                    html.Button(_("Refresh"), id=ids.JUDGEMENTS_REFRESH, n_clicks=0, className="btn btn-ghost")),
        job_done_store(PAGE),
        html.Div(id=ids.JUDGEMENTS_BODY, children=body()),
    ])


@callback(Output(ids.JUDGEMENTS_BODY, "children"), Input(ids.JUDGEMENTS_REFRESH, "n_clicks"),
          Input(ids.job_done(PAGE), "data"), prevent_initial_call=True)
def _refresh(_n, _done):
    # also when a guided version has been fitted: the store was reloaded by the job box
    return body()


@callback(Output(ids.JUDGEMENTS_GUIDE_BOX, "children"), Input(ids.JUDGEMENTS_GUIDE_RUN, "value"),
          prevent_initial_call=True)
def _guide_target(lineage):
    versions = get_data().run_versions
    members = versions[versions["lineage"] == lineage].sort_values("version")
    return guide_box(str(members.index[-1])) if len(members) else []


def anonymise(df, columns, me: str | None):
    """Replace usernames in ``columns`` by "expert N" (stable by sorted name), except ``me``."""
    names = sorted({n for c in columns for n in df[c].dropna()} - {me})
    alias = {n: _("expert %(n)s", n=integer(i)) for i, n in enumerate(names, 1)}
    out = df.copy()
    for c in columns:
        out[c] = out[c].map(lambda n: n if n == me else alias.get(n, n))
    return out


def _fmt(v, pct=False, digits=2):
    """A rate as a percentage or a statistic with ``digits`` decimals, in the locale; "–" when missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return percent(v) if pct else number(v, digits)


def _interval(low, high) -> str:
    """A 95 % interval of two rates: ``"40% – 70%"``."""
    return _("%(low)s – %(high)s", low=_fmt(low, pct=True), high=_fmt(high, pct=True))


def _signed(value) -> str:
    """A difference in percentage points with its sign, in the locale: ``"+12"``, ``"-3"``."""
    text = number(abs(value), 0)
    return ("+" if round(value) >= 0 else "-") + text


def _last(value) -> str:
    """When an expert last judged (UTC), in the locale's short format."""
    if value is None or pd.isna(value):
        return "–"
    return date_time(str(value)[:19], "short")


def _table(columns: list[tuple[str, str]], rows: list[dict], table_id: str | None = None) -> html.Table:
    kw = {"id": table_id} if table_id else {}
    return html.Table(className="table judge-table", **kw, children=[
        html.Thead(html.Tr([html.Th(label) for _key, label in columns])),
        html.Tbody([html.Tr([html.Td(r.get(key)) for key, _label in columns]) for r in rows]),
    ])


def _differences(per_run, labels) -> list:
    """The best-agreed method against each other one (Newcombe intervals), as a heading and a table."""
    diffs = method_differences(per_run)
    if diffs.empty:
        return []
    rows = [{"run": labels.get(r["run_id"], r["run_id"]),
             "diff": _("%(diff)s points", diff=_signed(100 * r["difference"])),
             "ci": _("%(low)s to %(high)s", low=_signed(100 * r["ci_low"]), high=_signed(100 * r["ci_high"])),
             "verdict": _("ahead") if r["separated"] else _("not separated yet")}
            for _i, r in diffs.iterrows()]
    best = labels.get(diffs.iloc[0]["best_run"], diffs.iloc[0]["best_run"])
    return [
        html.H4(_("Is %(run)s really ahead?", run=best), className="table-title"),
        html.P(_("Difference in agreement between the best-agreed run and each other run, with a 95 % interval "
                 "(Newcombe's hybrid score method for two proportions). \"Ahead\" means the whole interval is above "
                 "zero; judge more sections, e.g. with the Judge page's blind \"all runs, mixed\" queue, to separate "
                 "the others."), className="table-note"),
        _table([("run", _("compared with")), ("diff", _("difference")), ("ci", _("95 % interval")), ("verdict", "")],
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
    rows = [{"lineage": r["lineage"], "version": version_note(data, r["run_id"]) or f"v{int(r['version'])}",
             "run": r["run_id"], "n": integer(int(r["n"]) + int(r["unsure"])), "agree": integer(r["agree"]),
             "disagree": integer(r["disagree"]), "unsure": integer(r["unsure"]), "rate": _fmt(r["rate"], pct=True),
             "ci": _interval(r["ci_low"], r["ci_high"])} for _i, r in per.iterrows()]
    carry = data.carry_over(df)
    carry = carry[carry["lineage"].isin(refitted)]
    carry_rows = [{"lineage": c["lineage"], "pair": f"v{int(c['old_version'])} → v{int(c['new_version'])}",
                   "n": integer(c["verdicts"]), "carried": integer(c["carried"]), "invalidated": integer(c["invalidated"]),
                   "absent": integer(c["absent"]), "agree": integer(c["agree_carried"])} for _i, c in carry.iterrows()]
    return [card(
        _("Run versions"),
        html.P(_("A refit is a new run id (version 2, 3, …); every verdict names one exact version, so verdicts are "
                 "counted per version, never pooled. A verdict on an older version carries over to a newer one when "
                 "the section still has the judged cluster after aligning the newer labels to the older ones "
                 "(Hungarian alignment); otherwise the newer version invalidates it."), className="table-note"),
        _table([("lineage", _("lineage")), ("version", _("version")), ("run", _("run id")), ("n", _("verdicts")),
                ("agree", word("agree")), ("disagree", word("disagree")), ("unsure", word("unsure")),
                ("rate", _("agreement")), ("ci", _("95 % interval"))], rows, ids.JUDGEMENTS_VERSIONS),
        html.H4(_("Verdicts carried over to newer versions"), className="table-title"),
        _table([("lineage", _("lineage")), ("pair", _("versions")), ("n", _("verdicts on the older")),
                ("carried", _("carry over")), ("invalidated", _("invalidated")), ("absent", _("of which not labelled")),
                ("agree", _("agree verdicts carried"))], carry_rows, ids.JUDGEMENTS_CARRY_OVER)
        if carry_rows else empty_state(_("No verdicts on an older version yet.")),
    )]


def body() -> list:
    """Everything the page shows, for the logged-in user."""
    user = current_user_or_none()
    db = get_db()
    data = get_data()
    df = judgements_frame(db)
    is_admin = user is not None and user.role == "admin"
    admin_card = card(_("Accounts"), html.P([_("Add experts, change roles, reset passwords:") + " ",
                                          html.A(_("manage users →"), href="/admin/users", id=ids.JUDGEMENTS_ADMIN_USERS)]))
    pairs = pairs_frame(db)
    guided = guided_card(data, db, df, pairs, is_admin=is_admin)
    if df.empty:
        empty = empty_state(_("No judgements yet. Experts judge sections on the Judge page or in the detail panel "
                              "of the Map, Clusters, Compare and Songs pages."))
        return ([admin_card] if is_admin else []) + [empty] + guided
    me = user.username if user is not None else None
    labels = {r: run_option_label(data, r) for r in df["run_id"].unique()}
    alpha, n_items = krippendorff_alpha(df)
    fleiss, _n = fleiss_kappa(df)
    per_run = agreement_per_run(df)
    out = [html.Div(className="stats", children=[
        stat(_("judgements"), integer(len(df)), _("current verdicts (history kept)")),
        stat(_("experts"), integer(df["username"].nunique())),
        stat(_("sections judged"), integer(df[["run_id", "section_id"]].drop_duplicates().shape[0])),
        stat(_("Krippendorff's α"), _fmt(alpha), ngettext("over %(num)d section with ≥ 2 experts",
                                                          "over %(num)d sections with ≥ 2 experts", n_items)),
        stat(_("Fleiss' κ"), _fmt(fleiss), _("same sections; 1 = full agreement, 0 = chance")),
    ])]

    # "verdicts" counts every verdict, unsure included (agree + disagree + unsure); the agreement
    # rate alone leaves unsure out, as its note says
    rows = [{"run": labels.get(r["run_id"], r["run_id"]), "n": integer(int(r["n"]) + int(r["unsure"])),
             "agree": integer(r["agree"]), "disagree": integer(r["disagree"]), "unsure": integer(r["unsure"]),
             "rate": _fmt(r["rate"], pct=True), "ci": _interval(r["ci_low"], r["ci_high"]),
             "experts": integer(r["experts"])}
            for _i, r in per_run.iterrows()]
    out.append(card(
        _("Agreement with each method"),
        html.P(_("Share of verdicts that agree with the run's grouping (agree ÷ (agree + disagree); "
                 "unsure left out), with a 95 % Wilson interval. Overlapping intervals mean the data do not yet "
                 "separate the methods."), className="table-note"),
        dcc.Graph(figure=judgement_figures.agreement_bars(per_run, labels), config=graph_config(displayModeBar=False)),
        _table([("run", _("run")), ("n", _("verdicts")), ("agree", word("agree")), ("disagree", word("disagree")),
                ("unsure", word("unsure")), ("rate", _("agreement")), ("ci", _("95 % interval")),
                ("experts", _("experts"))], rows, ids.JUDGEMENTS_PER_RUN),
        *_differences(per_run, labels),
    ))
    out += _versions(df, data)
    out += guided

    per_cluster = agreement_per_cluster(df)
    names = {}  # run → its clusters' names (as every page shows them)
    for run_id in per_cluster["run_id"].unique() if len(per_cluster) else []:
        names[run_id] = cluster_names(data, run_id)
    rows = [{"run": r["run_id"], "cluster": palette.cluster_name(int(r["cluster"]), names.get(r["run_id"])),
             "n": integer(int(r["n"]) + int(r["unsure"])),
             "rate": _fmt(r["rate"], pct=True), "ci": _interval(r["ci_low"], r["ci_high"]),
             "unsure": integer(r["unsure"])}
            for _i, r in per_cluster.iterrows()]
    out.append(card(_("Agreement per cluster"), _table(
        [("run", _("run")), ("cluster", _("cluster")), ("n", _("verdicts")), ("rate", _("agreement")),
         ("ci", _("95 % interval")), ("unsure", word("unsure"))], rows, ids.JUDGEMENTS_PER_CLUSTER)
        if rows else empty_state(_("No verdict names the cluster it judged yet."))))

    progress = progress_per_expert(df)
    if not is_admin:
        progress = progress[progress["username"] == me] if me else progress.iloc[0:0]
    rows = [{"user": r["username"], "judgements": integer(r["judgements"]), "sections": integer(r["sections"]),
             "runs": integer(r["runs"]), "agree": integer(r["agree"]), "disagree": integer(r["disagree"]),
             "unsure": integer(r["unsure"]), "last": _last(r["last_at"])} for _i, r in progress.iterrows()]
    out.append(card(_("Progress per expert") if is_admin else _("Your progress"), _table(
        [("user", _("expert")), ("judgements", _("judgements")), ("sections", _("sections")), ("runs", _("runs")),
         ("agree", word("agree")), ("disagree", word("disagree")), ("unsure", word("unsure")),
         ("last", _("last (UTC)"))], rows,
        ids.JUDGEMENTS_PROGRESS) if rows else empty_state(_("No judgements from you yet."))))

    pairs = cohen_kappa_pairs(df)
    if not pairs.empty:
        if not is_admin:
            pairs = anonymise(pairs, ["rater_a", "rater_b"], me)
        rows = [{"a": r["rater_a"], "b": r["rater_b"], "n": integer(r["n_items"]),
                 "po": _fmt(r["observed_agreement"], pct=True), "kappa": _fmt(r["kappa"])} for _i, r in pairs.iterrows()]
        body_kappa = _table([("a", _("expert")), ("b", _("expert")), ("n", _("sections both judged")),
                             ("po", _("same verdict")), ("kappa", _("Cohen's κ"))], rows, ids.JUDGEMENTS_KAPPA)
    else:
        body_kappa = empty_state(_("No section has been judged by two experts yet."))
    out.append(card(_("Inter-rater agreement"), html.P(
        _("Cohen's κ per pair of experts over the sections both judged (1 = perfect, 0 = chance); "
          "Krippendorff's α (nominal) above pools every expert."), className="table-note"), body_kappa))

    disputed = most_disputed(df, top=20)
    if not disputed.empty:
        rows = [{"section": dcc.Link(r["section_id"], href="/map?" + urlencode({"section": r["section_id"], "run": r["run_id"]})),
                 "run": r["run_id"], "cluster": "–" if r["cluster"] is None or r["cluster"] != r["cluster"] else int(r["cluster"]),
                 "raters": integer(r["raters"]),
                 "split": f"{integer(r['agree'])} / {integer(r['disagree'])} / {integer(r['unsure'])}",
                 "suggested": r["suggested"] or "–"} for _i, r in disputed.iterrows()]
        body_disputed = _table([("section", _("section")), ("run", _("run")), ("cluster", _("cluster")),
                                ("raters", _("experts")), ("split", _("agree / disagree / unsure")),
                                ("suggested", _("suggested clusters"))], rows, ids.JUDGEMENTS_DISPUTED)
    else:
        body_disputed = empty_state(_("No section with conflicting verdicts yet."))
    out.append(card(_("Most disputed sections"), body_disputed))

    cv = cluster_verdict_summary(cluster_verdicts_frame(db))
    if not cv.empty:
        counts = {"coherent", "mixed", "split", "merge", "experts"}
        rows = [{k: (integer(v) if k in counts else int(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                     else v) for k, v in r.items()} for r in cv.to_dict("records")]
        out.append(card(_("Cluster verdicts"), _table(
            [("run_id", _("run")), ("cluster", _("cluster")), ("coherent", word("coherent")), ("mixed", word("mixed")),
             ("split", _("should be split")), ("merge", _("should merge")), ("merge_with", _("merge with")),
             ("experts", _("experts"))], rows, ids.JUDGEMENTS_CLUSTER_VERDICTS)))

    if is_admin:
        out.append(admin_card)
    if user is not None and user.role in ("admin", "expert"):
        note = (_("Download everyone's judgements (current verdicts, or the full history with superseded ones).")
                if is_admin else
                _("Download your judgements (current verdicts, or the full history with superseded ones)."))
        out.append(card(_("Export"), html.P(note),
                        html.Div(className="export-links", children=[
                            html.A(text, href=href, className="btn btn-ghost btn-small", title=href.rsplit("/", 1)[-1])
                            for text, href in ((_("Judgements (.csv)"), "/export/judgements.csv"),
                                               (_("Judgements (.parquet)"), "/export/judgements.parquet"),
                                               (_("History with superseded verdicts (.csv)"),
                                                "/export/judgements.csv?history=1"),
                                               (_("Cluster verdicts (.csv)"), "/export/cluster-verdicts.csv"))
                        ])))
    return out
