"""Propagation, confirmed by ear: after an expert moves a section to another cluster (a "disagree"
verdict that says where it should be), the judging panel offers the sections of its old cluster
that sound most like it (:func:`sectionist.dashboard.judging.queues.sounds_like`, nearest in the
run's metric — a guided version's learned one when the run is guided) as a listen-list: each with
a player and ticked, one button moves the ticked ones too. Each confirmed section becomes a verdict
like the first (disagree, should be in the same cluster; source ``propagation``), so the next guided
version moves them as well. Sections the expert has judged already are not offered.

:func:`register_propagation` is called by
:func:`sectionist.dashboard.ui.components.judging.register_judging` for each page's panel; on the
Judge page the next section follows a verdict at once, so the list shows on the detail panels of the
Map, Clusters, Compare and Songs pages.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from sectionist.analysis.errors import SectionistError
from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.judging.queues import NotFound, sounds_like
from sectionist.dashboard.judging.repository import judged_sections
from sectionist.dashboard.judging.routes import submit_judgement
from sectionist.dashboard.models import PermissionDenied
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.components.common import cluster_names, fmt_time
from sectionist.dashboard.ui.components.player import section_player
from sectionist.dashboard.ui.figures.palette import cluster_name
from sectionist.dashboard.ui.i18n import _, ngettext

#: How many sections the listen-list offers.
N_SOUNDS_LIKE = 6
#: The ``source`` of a verdict confirmed from the list.
SOURCE = "propagation"


def listen_list(page: str, saved: dict | None, ctx_data: dict | None) -> list:
    """The listen-list after the verdict ``saved`` on the section of ``ctx_data`` (``[]`` unless it
    moved the section: a disagree with a suggested cluster, not blind)."""
    if not saved or not ctx_data or saved.get("verdict") != "disagree" or saved.get("suggested") is None \
            or ctx_data.get("blind") or saved.get("section_id") != ctx_data.get("section_id"):
        return []
    user = current_user_or_none()
    if user is None or not user.can_judge:
        return []
    data = get_data()
    run_id, sid = saved["run_id"], saved["section_id"]
    old, new = int(ctx_data["cluster"]), int(saved["suggested"])
    judged = judged_sections(get_db(), user, run_id)
    try:
        near = sounds_like(data, run_id, sid, n=N_SOUNDS_LIKE + len(judged), cluster=old)
    except (NotFound, SectionistError):
        return []
    near = [s for s in near if s["section_id"] not in judged][:N_SOUNDS_LIKE]
    if not near:
        return []
    names = cluster_names(data, run_id)
    options = []
    for item in near:
        sec = data.section(item["section_id"])
        if sec is None:
            continue
        text = f"{sec.get('title') or ''} · {fmt_time(sec['start_s'])}–{fmt_time(sec['end_s'])}"
        options.append({"value": str(item["section_id"]),
                        "label": html.Div([html.Span(text, className="small"), section_player(sec, compact=True)],
                                          className="propagate-item")})
    if not options:
        return []
    target = cluster_name(new, names)
    return [html.Div(className="judge-propagate-list", children=[
        html.H4(ngettext("%(num)d section sounds like it: move it to %(cluster)s too?",
                         "%(num)d sections sound like it: move them to %(cluster)s too?", len(options),
                         cluster=target), className="judge-title"),
        html.P(_("From %(cluster)s, nearest first. Listen, untick any that do not belong, then confirm: each becomes "
                 "a verdict like yours.", cluster=cluster_name(old, names)), className="muted small"),
        dcc.Checklist(id=ids.judge_panel("prop-pick", page), options=options, value=[o["value"] for o in options],
                      className="propagate-pick"),
        dcc.Store(id=ids.judge_panel("prop-ctx", page), data={"run_id": run_id, "cluster": old, "suggested": new,
                                                             "section_id": sid}),
        html.Button(_("Move the ticked ones to %(cluster)s", cluster=target), id=ids.judge_panel("prop-confirm", page),
                    n_clicks=0, className="btn btn-small"),
        html.Div(id=ids.judge_panel("prop-status", page), className="judge-status muted small", role="status"),
    ])]


def confirm(picks, pctx: dict | None) -> tuple[str, bool]:
    """Record a verdict for each ticked section: disagree, should be in ``pctx["suggested"]``.
    Returns (status text, whether the button stays enabled)."""
    if not pctx:
        return no_update, True
    picks = [str(p) for p in (picks or [])][:N_SOUNDS_LIKE]
    if not picks:
        return _("Nothing ticked: nothing to move."), True
    saved, failed = 0, []
    for sid in picks:
        try:
            submit_judgement({"run_id": pctx["run_id"], "section_id": sid, "verdict": "disagree",
                              "suggested_cluster": int(pctx["suggested"]), "comment": "", "source": SOURCE,
                              "blind": False}, source_default=SOURCE)
            saved += 1
        except PermissionDenied:
            return _("Not saved: your account may not judge (ask an admin for the expert role)."), True
        except SectionistError as exc:
            failed.append(f"{sid}: {exc}")
    text = ngettext("%(num)d verdict saved: the next guided version moves it too.",
                    "%(num)d verdicts saved: the next guided version moves them too.", saved)
    if failed:
        text += " " + _("Not saved: %(reason)s", reason="; ".join(failed))
    return text, bool(failed)


def register_propagation(page: str) -> None:
    """Register the listen-list's callbacks for ``page``'s judging panel."""

    @callback(Output(ids.judge_panel_all("propagate", page), "children"),
              Input(ids.judge_panel_all("saved", page), "data"), State(ids.judge_panel_all("ctx", page), "data"),
              prevent_initial_call=True)
    def _offer(saved, ctx_data):
        n = len(dash.ctx.outputs_list)
        view = listen_list(page, (saved or [None])[0], (ctx_data or [None])[0])
        return [view] * n

    @callback(Output(ids.judge_panel_all("prop-status", page), "children"),
              Output(ids.judge_panel_all("prop-confirm", page), "disabled"),
              Input(ids.judge_panel_all("prop-confirm", page), "n_clicks"),
              State(ids.judge_panel_all("prop-pick", page), "value"),
              State(ids.judge_panel_all("prop-ctx", page), "data"), prevent_initial_call=True)
    def _confirm(clicks, picks, pctx):
        n_status, n_button = (len(x) for x in dash.ctx.outputs_list)
        if not any(clicks or []):
            return [no_update] * n_status, [no_update] * n_button
        text, enabled = confirm((picks or [None])[0], (pctx or [None])[0])
        return [text] * n_status, [not enabled] * n_button

