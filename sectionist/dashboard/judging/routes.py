"""The judgements' HTTP side: checked submissions and the Flask blueprint of the API and exports.

:func:`submit_judgement` and :func:`submit_cluster_verdict` check the logged-in user's role
(:func:`sectionist.dashboard.auth.guards.check_judge`) and the payload against the store, then record it
(:mod:`sectionist.dashboard.judging.repository`); the JSON API and the Dash judging panel both call them.

:data:`bp` (registered by :func:`sectionist.dashboard.app.create_app`; every route is behind login, see
``docs/security.md``):

- ``POST /api/judgements``, ``POST /api/cluster-verdicts``, ``POST /api/pair-judgements`` (an answer
  ``{"run_id", "section_a", "section_b", "relation": "same"|"different", "client_id"}``, both sections
  labelled by the run): record a verdict (201, or 200 when
  the ``client_id`` was seen before; 400 bad payload, 403 role, 404 unknown section/run/cluster),
- ``POST /api/cluster-names``: rename a cluster of a run version (experts and admins; 201),
  ``GET /api/cluster-names?run_id=…[&cluster=…]``: the current names, or one cluster's history
  (anyone logged in: names are shown to everyone; who gave each name only to experts and admins),
- ``GET /api/judgements``: the current verdicts as JSON (``history=1``, ``run_id``, ``section_id``),
- ``GET /export/judgements.<csv|parquet>``, ``GET /export/cluster-verdicts.<csv|parquet>`` (``history=1``:
  superseded rows too): with each section's song title and span and each cluster's name
  (:mod:`sectionist.dashboard.judging.exports`), named ``judgements-<store>-<time>.csv``,
  ``judgement-history-…``, ``cluster-verdicts-…``, ``cluster-verdict-history-…``.

An admin reads everyone's rows, an expert their own, a viewer nothing (403).
"""

from __future__ import annotations

from datetime import datetime, timezone

import flask

from sectionist.analysis.errors import ParameterError, SectionistError

from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.auth.guards import check_judge, require_judge
from sectionist.dashboard.models import PermissionDenied
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.i18n import _
from sectionist.dashboard.judging.queues import NotFound, Unavailable, available_run_arrays, section_cluster
from sectionist.dashboard.judging.repository import (
    clean_text,
    cluster_verdicts_frame,
    export_bytes,
    judgements_frame,
    opt_int,
    parse_bool,
    cluster_name_history,
    cluster_name_problem,
    current_cluster_names,
    record_cluster_name,
    record_cluster_verdict,
    record_judgement,
    record_pair,
)

bp = flask.Blueprint("sectionist_judging", __name__)


# ---------------------------------------------------------------------------------------------
# checked submissions (the API and the Dash judging panel)
# ---------------------------------------------------------------------------------------------
def submit_judgement(payload: dict, *, source_default: str = "api") -> tuple[dict, bool]:
    """Validate ``payload`` against the store and record it for the logged-in user.

    The cluster recorded is the section's label in the run, read from the store on the server
    (a client cannot record a verdict about a grouping that does not exist). Used by the HTTP
    route and the Dash judging panel alike.
    """
    user = check_judge()
    if not isinstance(payload, dict):
        raise ParameterError(_("send a JSON object"))
    run_id = clean_text(payload.get("run_id"), "run_id", 200)
    section_id = clean_text(payload.get("section_id"), "section_id", 200)
    data = get_data()
    cluster = section_cluster(data, run_id, section_id)
    suggested = opt_int(payload.get("suggested_cluster"), "suggested_cluster")
    if suggested is not None and suggested not in data.run_arrays(run_id).clusters:
        raise NotFound(_("no cluster %(cluster)s in run %(run)s to suggest", cluster=suggested, run=repr(run_id)))
    return record_judgement(
        get_db(), user, run_id=run_id, section_id=section_id, verdict=payload.get("verdict"), cluster=cluster,
        suggested_cluster=suggested, comment=payload.get("comment") or "",
        source=payload.get("source") or source_default, blind=parse_bool(payload.get("blind"), "blind"),
        client_id=payload.get("client_id"),
    )


def submit_pair(payload: dict) -> tuple[dict, bool]:
    """Validate a pairwise answer against the store (both sections labelled by the run) and record
    it for the logged-in user (:func:`sectionist.dashboard.judging.repository.record_pair`)."""
    user = check_judge()
    if not isinstance(payload, dict):
        raise ParameterError(_("send a JSON object"))
    run_id = clean_text(payload.get("run_id"), "run_id", 200)
    data = get_data()
    pair = [clean_text(payload.get(k), k, 200) for k in ("section_a", "section_b")]
    for section_id in pair:
        section_cluster(data, run_id, section_id)  # NotFound unless the run labels it
    return record_pair(get_db(), user, run_id, *pair, payload.get("relation"), client_id=payload.get("client_id"))


def _run_and_cluster(payload) -> tuple[str, int, object]:
    """``(run_id, cluster, the run's clusters)`` of a payload naming one cluster of a run in the store.

    Raises ParameterError for a malformed payload and NotFound for an unknown run or cluster.
    """
    if not isinstance(payload, dict):
        raise ParameterError(_("send a JSON object"))
    run_id = clean_text(payload.get("run_id"), "run_id", 200)
    cluster = opt_int(payload.get("cluster"), "cluster")
    clusters = available_run_arrays(get_data(), run_id).clusters
    if cluster not in clusters:
        raise NotFound(_("no cluster %(cluster)s in run %(run)s", cluster=cluster, run=repr(run_id)))
    return run_id, cluster, clusters


def submit_cluster_verdict(payload: dict) -> tuple[dict, bool]:
    """Validate ``payload`` (run and cluster must exist) and record it for the logged-in user."""
    user = check_judge()
    run_id, cluster, clusters = _run_and_cluster(payload)
    merge_with = opt_int(payload.get("merge_with"), "merge_with")
    if merge_with is not None and merge_with not in clusters:
        raise NotFound(_("no cluster %(cluster)s in run %(run)s to merge with", cluster=merge_with, run=repr(run_id)))
    return record_cluster_verdict(
        get_db(), user, run_id=run_id, cluster=cluster, verdict=payload.get("verdict"), merge_with=merge_with,
        comment=payload.get("comment") or "", client_id=payload.get("client_id"),
    )


def submit_cluster_name(payload: dict) -> dict:
    """Rename a cluster for the logged-in user (expert or admin): the run and the cluster must exist.
    ``{"run_id", "cluster", "name"}``; an empty name returns to the default name."""
    user = check_judge()
    run_id, cluster, clusters = _run_and_cluster(payload)
    name = payload.get("name")
    problem = cluster_name_problem(name) if isinstance(name, str) else None
    # said in the reader's language here (the Clusters page shows it); the repository checks again
    if problem is not None:
        kind, code = problem[0], "U+%04X" % ord(problem[1])
        raise ParameterError(
            _("Bidirectional control characters such as %(code)s are not allowed in a name: they reorder how "
              "the text around them is shown.", code=code) if kind == "bidi" else
            _("Control or invisible characters such as %(code)s are not allowed in a name.", code=code))
    return record_cluster_name(get_db(), user, run_id=run_id, cluster=cluster, name=name)


# ---------------------------------------------------------------------------------------------
# routes
# ---------------------------------------------------------------------------------------------
def _error(exc):
    status = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
              else 409 if isinstance(exc, Unavailable) else 400)
    return flask.jsonify(error=str(exc)), status


def _created(submit):
    try:
        row, created = submit(flask.request.get_json(silent=True))
    except SectionistError as exc:  # PermissionDenied and NotFound included
        return _error(exc)
    return flask.jsonify(row), (201 if created else 200)


@bp.route("/api/judgements", methods=["POST"], endpoint="post_judgement")
def _post_judgement():
    return _created(submit_judgement)


@bp.route("/api/cluster-verdicts", methods=["POST"], endpoint="post_cluster_verdict")
def _post_cluster_verdict():
    return _created(submit_cluster_verdict)


@bp.route("/api/pair-judgements", methods=["POST"], endpoint="post_pair_judgement")
def _post_pair_judgement():
    return _created(submit_pair)


@bp.route("/api/cluster-names", methods=["POST"], endpoint="post_cluster_name")
def _post_cluster_name():
    try:
        row = submit_cluster_name(flask.request.get_json(silent=True))
    except SectionistError as exc:
        return _error(exc)
    return flask.jsonify(row), 201


@bp.route("/api/cluster-names", methods=["GET"], endpoint="get_cluster_names")
def _get_cluster_names():
    args = flask.request.args
    try:
        run_id = clean_text(args.get("run_id"), "run_id", 200)
        cluster = opt_int(args.get("cluster"), "cluster")
    except ParameterError as exc:
        return _error(exc)
    if cluster is not None:
        history = cluster_name_history(get_db(), run_id, cluster)
        user = current_user_or_none()
        if user is None or not user.can_judge:  # who named what is hidden from viewers, as on every page
            history = [{k: v for k, v in row.items() if k != "username"} for row in history]
        return flask.jsonify(history)
    return flask.jsonify({str(c): n for c, n in current_cluster_names(get_db(), run_id).items()})


def _visible_user():
    """Whose rows the logged-in user may read: None (everyone's) for an admin, their own for
    anyone else who may judge (the routes are guarded by :func:`require_judge`)."""
    user = current_user_or_none()
    return None if user.is_admin else user


@bp.route("/api/judgements", methods=["GET"], endpoint="get_judgements")
@require_judge
def _get_judgements():
    args = flask.request.args
    try:
        history = parse_bool(args.get("history"), "history")
        run_id = clean_text(args.get("run_id"), "run_id", 200, required=False) or None
    except ParameterError as exc:
        return _error(exc)
    df = judgements_frame(get_db(), user=_visible_user(), history=history, run_id=run_id)
    if args.get("section_id"):
        df = df[df["section_id"] == args["section_id"]]
    return flask.Response(df.to_json(orient="records", date_format="iso"), mimetype="application/json")


def _export(frame_fn, what, fmt):
    """A download of ``frame_fn``'s rows (everyone's for an admin, one's own for an expert), with the
    sections' songs and spans and the clusters' names (:mod:`sectionist.dashboard.judging.exports`),
    under a file name of its own (``judgements-<store>-<time>.csv``, ``judgement-history-…``)."""
    from sectionist.dashboard.judging.exports import download_name, judgement_download

    if fmt not in ("csv", "parquet"):
        flask.abort(404)
    try:
        history = parse_bool(flask.request.args.get("history"), "history")
    except ParameterError as exc:
        return _error(exc)
    db, data = get_db(), get_data()
    df = frame_fn(db, user=_visible_user(), history=history)
    try:
        df = judgement_download(df, data, db, sections=what == "judgements")
    except SectionistError as exc:  # an unreadable store part: the verdicts as stored, still
        flask.current_app.logger.warning("%s export without the store's sections and names: %s", what, exc)
    body, content_type = export_bytes(df, fmt)
    name = download_name(what, history, data.store_uri, datetime.now(timezone.utc), fmt)
    # content_type, not mimetype: Flask would add a second "; charset=utf-8" to a text/ mimetype
    return flask.Response(body, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.route("/export/judgements.<fmt>", endpoint="export_judgements")
@require_judge
def _export_judgements(fmt):
    return _export(judgements_frame, "judgements", fmt)


@bp.route("/export/cluster-verdicts.<fmt>", endpoint="export_cluster_verdicts")
@require_judge
def _export_cluster_verdicts(fmt):
    return _export(cluster_verdicts_frame, "cluster-verdicts", fmt)
