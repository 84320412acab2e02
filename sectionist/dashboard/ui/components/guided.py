"""The Judgements page's "Guided versions" card: how well each version of a judged run keeps the
experts' answers, and (for an admin) the job that fits the next guided version.

Every current answer on a run's lineage — section verdicts, cluster verdicts and pairwise answers —
becomes must- and cannot-links (:func:`sectionist.dashboard.judging.guidance.constraints_from_db`,
the same constraints ``sectionist guide`` fits under). :func:`version_rows` scores every version
of the lineage against *all* of them: the share of those pairs its labels keep together (must) or
apart (cannot). A guided version is fitted to keep every answer given before it, so the share rises
from the version the experts judged to the guided one; answers given since count against every
version alike. No callbacks here: the page registers them.
"""

from __future__ import annotations

from dash import dcc, html

from sectionist.analysis.errors import SectionistError
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.components.common import card, empty_state
from sectionist.dashboard.ui.components.jobs import job_box
from sectionist.dashboard.ui.i18n import _, integer, ngettext, percent

#: At most this many lineages get a table (the most answered first).
MAX_LINEAGES = 5


def answered_lineages(data, verdicts, pairs) -> list[str]:
    """Lineages of the store's runs that carry current answers (section verdicts or pairwise answers,
    frames of :func:`~sectionist.dashboard.judging.repository.judgements_frame` and
    :func:`~sectionist.dashboard.judging.pair_answers.pairs_frame`), the most answered first."""
    versions = data.run_versions
    counts: dict[str, int] = {}
    for frame in (verdicts, pairs):
        if frame is None or frame.empty:
            continue
        for run_id, n in frame["run_id"].value_counts().items():
            if run_id in versions.index:
                lineage = versions.at[run_id, "lineage"]
                counts[lineage] = counts.get(lineage, 0) + int(n)
    return sorted(counts, key=lambda lin: (-counts[lin], lin))


def kept(labels, constraints) -> tuple[int, int]:
    """``(kept, scored)``: of the constraints' pairs whose two sections ``labels`` (a Series by
    section id) both labels, how many it keeps (same label for a must-link, different for a cannot)."""
    got = labels.to_dict()
    keep = scored = 0
    for pairs, same in ((constraints.must, True), (constraints.cannot, False)):
        for a, b in pairs:
            if a in got and b in got:
                scored += 1
                keep += int((got[a] == got[b]) == same)
    return keep, scored


def version_rows(data, db, lineage: str) -> list[dict]:
    """One row per version of ``lineage``, oldest first: ``run_id``, ``version``, ``guided`` (fitted
    from answers), ``constraints`` it was fitted under, ``changed`` (sections that moved from its
    parent), ``kept`` and ``scored`` (the answers now, :func:`kept`) and ``rate``."""
    from sectionist.dashboard.judging.guidance import constraints_from_db

    versions = data.run_versions
    members = versions[versions["lineage"] == lineage].sort_values("version")
    if members.empty:
        return []
    latest = str(members.index[-1])
    constraints = constraints_from_db(db, data, latest, newest_wins=True)
    runs = data.runs
    rows = []
    for run_id, v in members.iterrows():
        labels = data.labels_by_section(run_id)
        k, n = kept(labels, constraints) if labels is not None else (0, 0)
        total = runs.at[run_id, "constraints_total"] if "constraints_total" in runs.columns else None
        changed = runs.at[run_id, "sections_changed"] if "sections_changed" in runs.columns else None
        guided = total is not None and total == total  # not null, not NaN
        rows.append({"run_id": str(run_id), "version": int(v["version"]), "guided": bool(guided),
                     "constraints": int(total) if guided else None,
                     "changed": int(changed) if guided and changed == changed and changed is not None else None,
                     "kept": k, "scored": n, "rate": (k / n) if n else None})
    return rows


def guided_card(data, db, verdicts, pairs, *, is_admin: bool, lineage: str | None = None) -> list:
    """The card (``[]`` when no run carries answers): a table per answered lineage and the job box."""
    lineages = answered_lineages(data, verdicts, pairs)
    if not lineages:
        return []
    tables = []
    for lin in lineages[:MAX_LINEAGES]:
        try:
            rows = version_rows(data, db, lin)
        except SectionistError as exc:  # e.g. answers that name sections no version labels
            tables.append(html.P(_("%(lineage)s: %(reason)s", lineage=lin, reason=str(exc)), className="muted"))
            continue
        tables.append(html.H4(lin, className="table-title mono"))
        tables.append(html.Table(className="table judge-table", **{"data-lineage": lin}, children=[
            html.Thead(html.Tr([html.Th(t) for t in (_("version"), _("run id"), _("fitted"),
                                                      _("answers kept now"), _("sections moved"))])),
            html.Tbody([html.Tr([
                html.Td(f"v{r['version']}"), html.Td(r["run_id"], className="mono small"),
                html.Td(ngettext("guided by %(num)d answer pair", "guided by %(num)d answer pairs", r["constraints"])
                        if r["guided"] else _("from the features alone")),
                html.Td(_("%(rate)s (%(kept)s of %(scored)s)", rate=percent(r["rate"]), kept=integer(r["kept"]),
                          scored=integer(r["scored"])) if r["scored"] else "–", className="guided-rate"),
                html.Td(integer(r["changed"]) if r["changed"] is not None else "–"),
            ]) for r in rows]),
        ]))
    chosen = lineage if lineage in lineages else lineages[0]
    latest = str(data.run_versions[data.run_versions["lineage"] == chosen].sort_values("version").index[-1])
    picker = dcc.Dropdown(id=ids.JUDGEMENTS_GUIDE_RUN, value=chosen, clearable=False,
                          options=[{"label": lin, "value": lin} for lin in lineages])
    box = html.Div(id=ids.JUDGEMENTS_GUIDE_BOX, children=guide_box(latest))
    return [card(
        _("Guided versions: the answers at work"),
        html.P(_("Every current answer on a run — verdicts on sections and clusters, and pairs — says which sections "
                 "belong together and which apart. \"Answers kept now\" is the share of those pairs each version keeps: "
                 "a guided version is fitted to keep every answer given before it, from the same features, as a new "
                 "version; the version the experts judged is never changed."), className="table-note"),
        *tables,
        html.Div(className="guided-job", children=[html.Label(_("Run to guide"), htmlFor=ids.JUDGEMENTS_GUIDE_RUN),
                                                   picker, box]) if is_admin else
        html.P(_("An admin can fit a guided version from this page."), className="muted small"),
    )]


def guide_box(run_id: str) -> html.Div:
    """The job box that fits a guided version of ``run_id`` (its lineage's newest version)."""
    return job_box("judgements", "guide", {"run": run_id},
                   _("The next guided version of %(run)s is fitted from every answer so far.", run=run_id))
