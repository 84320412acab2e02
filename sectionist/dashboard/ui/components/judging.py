"""The judging panel: an expert's verdict on the selected section, and on its cluster as a whole.

Every page with a detail panel keeps its selection in ``dcc.Store(id=ids.selected(page))``
(``{"section_id", "run_id"}``, optionally ``"blind"`` and ``"source"``) and has an empty
``html.Div(id=ids.judge_container(page))``. :func:`register_judging` fills that container whenever
the selection changes and records the verdicts. One click each: **agree / disagree / unsure**
(keyboard ``a`` / ``d`` / ``u``, see ``assets/judging.js``), with the optional "should be in
cluster …" choice and the comment sent along; cluster-level verdicts: coherent / mixed / should be
split / should merge with cluster X.

Roles are checked on the server (:func:`sectionist.dashboard.judging.routes.submit_judgement`): a viewer's
callback is refused even if the buttons were forged into the page. In blind mode the method, the
run and the cluster number are not shown (and the cluster-level block is left out).
"""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from sectionist.analysis.errors import SectionistError

from sectionist.dashboard.ui import ids
from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.models import PermissionDenied
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import run_label
from sectionist.dashboard.ui.figures.palette import cluster_name
from sectionist.dashboard.ui.i18n import N_, _, date_time, word
from sectionist.dashboard.judging.queues import NotFound, section_cluster
from sectionist.dashboard.judging.repository import current_cluster_verdict, current_judgement
from sectionist.dashboard.judging.routes import submit_cluster_verdict, submit_judgement
from sectionist.dashboard.ui.components.common import cluster_names
from sectionist.dashboard.ui.components.propagate import register_propagation

VERDICT_BUTTONS = (("agree", N_("Agree"), "a"), ("disagree", N_("Disagree"), "d"), ("unsure", N_("Unsure"), "u"))
CLUSTER_CHOICES = (
    ("coherent", N_("coherent")),
    ("mixed", N_("mixed")),
    ("split", N_("should be split")),
    ("merge", N_("should merge with …")),
)


def jid(kind: str, page: str, **extra) -> dict:
    """Id of one element of ``page``'s judging panel (:func:`sectionist.dashboard.ui.ids.judge_panel`)."""
    return ids.judge_panel(kind, page, **extra)


def jall(kind: str, page: str) -> dict:
    """Wildcard id matching the element ``kind`` of ``page``'s panel when it is there."""
    return ids.judge_panel_all(kind, page)


def _first(values):
    return values[0] if values else None


def _each(n: int, value) -> list:
    return [value] * n


def _cluster_name(c, names: dict | None = None) -> str:
    """``"cluster 3"``, or ``"3: loud · bright"`` with ``names`` (never passed in blind mode)."""
    return _("noise") if int(c) == -1 else cluster_name(c, names)


def _when(row: dict) -> str:
    """When a verdict was given, in the locale's short format (the database keeps UTC)."""
    return _("%(when)s UTC", when=date_time((row.get("created_at") or "")[:19], "short"))


def _status_text(row: dict | None, *, saved: bool = False) -> str:
    if not row:
        return _("No verdict from you yet.")
    verdict, suggested = word(row["verdict"]), row.get("suggested_cluster")
    if suggested is not None:
        text = (_("Saved: %(verdict)s (should be cluster %(cluster)s)", verdict=verdict, cluster=suggested) if saved
                else _("Your verdict: %(verdict)s (should be cluster %(cluster)s)", verdict=verdict, cluster=suggested))
    else:
        text = (_("Saved: %(verdict)s", verdict=verdict) if saved
                else _("Your verdict: %(verdict)s", verdict=verdict))
    text += " · " + _when(row)
    if saved and row.get("supersedes"):
        text += " · " + _("replaces your earlier verdict (kept in the history)")
    return text


def _verdict_classes(current: str | None) -> list[str]:
    return [f"btn judge-btn judge-{v}" + (" selected" if v == current else "") for v, _label, _key in VERDICT_BUTTONS]


def panel_children(page: str, selection: dict | None) -> list:
    """The judging panel's content for ``selection`` (what the container shows)."""
    selection = selection or {}
    sid, run_id = selection.get("section_id"), selection.get("run_id")
    user = current_user_or_none()
    if user is None:
        return []
    if not user.can_judge:
        return [html.Div(_("You can browse and listen; judging needs an expert account."),
                         className="judge-note muted small")]
    if not sid or not run_id:
        return [html.Div(_("Select a section (and a run) to judge whether it is in the right cluster."),
                         className="judge-note muted small")]
    data = get_data()
    try:
        cluster = section_cluster(data, run_id, sid)
    except NotFound as exc:
        return [html.Div(_("Cannot judge here: %(reason)s.", reason=str(exc)), className="judge-note muted small")]
    blind = bool(selection.get("blind"))
    source = str(selection.get("source") or page)[:64]
    db = get_db()
    current = current_judgement(db, user, run_id, sid)
    others = [c for c in data.run_arrays(run_id).clusters if c != cluster]
    # names say what a cluster is like: hidden in blind mode, like the method and the number
    names = {} if blind else cluster_names(data, run_id)
    ctx_data = {"section_id": sid, "run_id": run_id, "cluster": cluster, "blind": blind, "source": source}
    if blind:
        question = _("Does this section belong with the other sections of its group?")
    else:
        # one translated sentence, split at its placeholders to bold the cluster and set the run in mono
        before, _sep, rest = _("Is this section right in %(cluster)s of %(run)s?").partition("%(cluster)s")
        between, _sep, after = rest.partition("%(run)s")
        question = [before, html.B(_cluster_name(cluster, names)), between,
                    html.Span(run_label(data, run_id), className="mono small"), after]
    buttons = [
        html.Button([_(label), html.Kbd(key, className="kbd")], id=jid("verdict", page, verdict=v), n_clicks=0,
                    className=cls, title=_("%(verdict)s (key %(key)s)", verdict=_(label), key=key),
                    **{"data-judge-key": key})
        for (v, label, key), cls in zip(VERDICT_BUTTONS, _verdict_classes(current["verdict"] if current else None))
    ]
    children = [
        dcc.Store(id=jid("ctx", page), data=ctx_data),
        dcc.Store(id=jid("saved", page)),
        html.H4(_("Your judgement"), className="judge-title"),
        html.P(question, className="judge-question"),
        html.Div(buttons, className="judge-buttons"),
        html.Div(className="judge-extra", style={"display": "none"} if blind else {}, children=[
            dcc.Dropdown(id=jid("suggest", page), options=[{"label": _("should be in %(cluster)s", cluster=_cluster_name(c, names)), "value": c}
                                                            for c in others],
                         value=current["suggested_cluster"] if current else None,
                         placeholder=_("should be in cluster … (optional)"), clearable=True, className="judge-suggest"),
        ]),
        dcc.Textarea(id=jid("comment", page), value=(current or {}).get("comment", ""), maxLength=2000,
                     placeholder=_("comment (optional, sent with the verdict)"), className="judge-comment"),
        html.Div(_status_text(current), id=jid("status", page), className="judge-status muted small", role="status"),
        # "these sections sound like it" after a move (components/propagate.py)
        html.Div(id=jid("propagate", page), className="judge-propagate"),
    ]
    if not blind and cluster >= 0:
        cv = current_cluster_verdict(db, user, run_id, cluster)
        # folded: the panel sits at the top of the detail panel, where the section verdict must
        # leave room for the player; the cluster verdict is one click away (open when one exists)
        children.append(html.Details(className="judge-cluster", open=bool(cv), children=[
            html.Summary(_("%(cluster)s as a whole: coherent, mixed, split, merge?", cluster=_cluster_name(cluster, names)),
                         className="judge-title"),
            dcc.RadioItems(id=jid("cv-verdict", page), options=[{"label": " " + _(t), "value": v} for v, t in CLUSTER_CHOICES],
                           value=cv["verdict"] if cv else None, className="judge-radio", inline=True),
            dcc.Dropdown(id=jid("cv-merge", page), options=[{"label": _cluster_name(c, names), "value": c} for c in others if c >= 0],
                         value=cv["merge_with"] if cv else None, placeholder=_("merge with cluster …"), clearable=True,
                         className="judge-merge"),
            dcc.Textarea(id=jid("cv-comment", page), value=(cv or {}).get("comment", ""), maxLength=2000,
                         placeholder=_("comment on the cluster (optional)"), className="judge-comment"),
            html.Button(_("Save cluster verdict"), id=jid("cv-save", page), n_clicks=0, className="btn btn-ghost btn-small"),
            html.Div(_cluster_status(cv), id=jid("cv-status", page), className="judge-status muted small", role="status"),
        ]))
    # data-section: which section the panel's buttons judge (the keyboard shortcuts and tests read it)
    return [html.Div(children, className="judge-panel", **{"data-judge-page": page, "data-section": str(sid)})]


def _cluster_status(cv: dict | None, *, saved: bool = False) -> str:
    if not cv:
        return _("No cluster verdict from you yet.")
    verdict, merge_with = word(cv["verdict"]), cv.get("merge_with")
    if merge_with is not None:
        text = (_("Saved: %(verdict)s with cluster %(cluster)s", verdict=verdict, cluster=merge_with) if saved
                else _("Your cluster verdict: %(verdict)s with cluster %(cluster)s", verdict=verdict, cluster=merge_with))
    else:
        text = (_("Saved: %(verdict)s", verdict=verdict) if saved
                else _("Your cluster verdict: %(verdict)s", verdict=verdict))
    return text + " · " + _when(cv)


def on_verdict(page: str, verdict: str | None, ctx_data: dict | None, suggest, comment):
    """Record a verdict clicked in ``page``'s panel. Returns (status text, saved data, button classes)."""
    if not verdict or not ctx_data:
        return no_update, no_update, no_update
    payload = {
        "run_id": ctx_data.get("run_id"), "section_id": ctx_data.get("section_id"), "verdict": verdict,
        "suggested_cluster": None if ctx_data.get("blind") else suggest, "comment": comment or "",
        "source": ctx_data.get("source") or page, "blind": bool(ctx_data.get("blind")),
    }
    try:
        row, _created = submit_judgement(payload, source_default=page)
    except PermissionDenied:
        return _("Not saved: your account may not judge (ask an admin for the expert role)."), no_update, no_update
    except SectionistError as exc:
        return _("Not saved: %(reason)s", reason=str(exc)), no_update, no_update
    saved = {"id": row["id"], "verdict": verdict, "section_id": row["section_id"], "run_id": row["run_id"],
             "suggested": payload["suggested_cluster"] if verdict == "disagree" else None}
    return _status_text(row, saved=True), saved, _verdict_classes(verdict)


def on_cluster_verdict(ctx_data: dict | None, verdict, merge_with, comment) -> str:
    """Record a cluster verdict from a panel; returns the status text."""
    if not ctx_data:
        return no_update
    if not verdict:
        return _("Pick coherent, mixed, split or merge first.")
    try:
        row, _created = submit_cluster_verdict({
            "run_id": ctx_data.get("run_id"), "cluster": ctx_data.get("cluster"), "verdict": verdict,
            "merge_with": merge_with if verdict == "merge" else None, "comment": comment or "",
        })
    except PermissionDenied:
        return _("Not saved: your account may not judge (ask an admin for the expert role).")
    except SectionistError as exc:
        return _("Not saved: %(reason)s", reason=str(exc))
    return _cluster_status(row, saved=True)


def register_judging(page: str) -> None:
    """Register the callbacks of ``page``'s judging panel.

    Each page with a judging container calls it for itself when Dash imports the page module
    (``register_judging(PAGE)`` next to its ``register_selection``), so there is no central list.
    """

    @callback(Output(ids.judge_container(page), "children"), Input(ids.selected(page), "data"))
    def _render(selection):
        return panel_children(page, selection)

    register_propagation(page)

    @callback(
        Output(jall("status", page), "children"),
        Output(jall("saved", page), "data"),
        Output(jid("verdict", page, verdict=ALL), "className"),
        Input(jid("verdict", page, verdict=ALL), "n_clicks"),
        State(jall("ctx", page), "data"),
        State(jall("suggest", page), "value"),
        State(jall("comment", page), "value"),
        prevent_initial_call=True,
    )
    def _verdict(clicks, ctx_data, suggest, comment):
        n_status, n_saved, n_buttons = (len(x) for x in dash.ctx.outputs_list)
        trig = dash.ctx.triggered_id
        if not isinstance(trig, dict) or not any(clicks or []) or not ctx_data:
            return _each(n_status, no_update), _each(n_saved, no_update), _each(n_buttons, no_update)
        status, saved, classes = on_verdict(page, trig.get("verdict"), _first(ctx_data), _first(suggest), _first(comment))
        return _each(n_status, status), _each(n_saved, saved), (classes if classes is not no_update and len(classes) == n_buttons
                                                                 else _each(n_buttons, no_update))

    @callback(
        Output(jall("cv-status", page), "children"),
        Input(jall("cv-save", page), "n_clicks"),
        State(jall("ctx", page), "data"),
        State(jall("cv-verdict", page), "value"),
        State(jall("cv-merge", page), "value"),
        State(jall("cv-comment", page), "value"),
        prevent_initial_call=True,
    )
    def _cluster(n_clicks, ctx_data, verdict, merge_with, comment):
        n = len(dash.ctx.outputs_list)
        if not any(n_clicks or []) or not ctx_data:
            return _each(n, no_update)
        return _each(n, on_cluster_verdict(_first(ctx_data), _first(verdict), _first(merge_with), _first(comment)))
