"""An expert's correction of a song's structure, recorded and recomputed: ``POST /api/structure-corrections``.

Payload ``{"song_id", "scheme", "kind", "time_a", "time_b", "client_id"}``: ``scheme`` names the
version the expert saw (``merged``, ``merged~v2``: :func:`sectionist.analysis.structure.versions.version_name`),
``kind`` one of ``same``, ``different`` (the segments holding ``time_a`` and ``time_b`` are one part /
two parts), ``split`` (a boundary at ``time_a``) or ``boundary`` (the boundary nearest ``time_a`` moves
to ``time_b``); times in seconds inside the song.

:func:`submit_structure_correction` checks the logged-in user may judge, the song and its scheme's
segments are in the store, and that the correction together with every current correction of that
song and scheme (all experts', none withdrawn) can hold — checked on the scheme's own segments
without the audio (a contradiction, two times of one segment called different, a time outside the
song: 400, nothing recorded). It then records a
:class:`~sectionist.dashboard.models.StructureCorrection` row (a ``client_id`` seen before returns
the first row, 200) and starts the recompute as a ``structure`` background job
(:mod:`sectionist.dashboard.jobs`): ``sectionist segment --scheme S --constraints … --boundaries …
--no-inherit`` with every current correction of the song, which writes the next version of its
structure (the web process reads no audio). The answer (201) is the row and the job's state; when a
structure job is running already the correction is recorded and ``job.status`` is ``"busy"``: the
next correction's job, or a post of this one again, includes it.

:data:`bp` is registered by :func:`sectionist.dashboard.app.create_app` (behind login like every route).
"""

from __future__ import annotations

import csv
import io
import uuid

import flask

from sectionist.analysis.errors import ParameterError, SectionistError
from sectionist.analysis.structure.constrained import KINDS, Correction, constrained_structure, parse_seconds
from sectionist.analysis.structure.versions import parse_version_name, read_version, structure_of
from sectionist.store.fileio import atomic_write
from sectionist.store.schema import SONGS

from sectionist.dashboard.auth.context import get_db
from sectionist.dashboard.auth.guards import check_judge
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.jobs import JobBusy, get_jobs
from sectionist.dashboard.judging.queues import NotFound
from sectionist.dashboard.judging.repository import clean_text
from sectionist.dashboard.models import Database, PermissionDenied, StructureCorrection, User
from sectionist.dashboard.ui.i18n import _

bp = flask.Blueprint("sectionist_structure", __name__)


def current_corrections(db: Database, song_id: str, scheme: str) -> list[StructureCorrection]:
    """Every current (not withdrawn) correction of ``song_id``'s structure by ``scheme`` (any version
    of it), oldest first."""
    from sqlalchemy import select

    with db.read() as s:
        rows = s.scalars(select(StructureCorrection).where(
            StructureCorrection.song_id == song_id, StructureCorrection.withdrawn_at.is_(None))
            .order_by(StructureCorrection.id)).all()
    return [r for r in rows if parse_version_name(r.scheme)[0] == scheme]


def as_correction(row: StructureCorrection) -> Correction:
    """A stored correction as the analysis side's :class:`Correction` (its ``source`` names the row)."""
    return Correction(row.kind, float(row.time_a), None if row.time_b is None else float(row.time_b),
                      source=f"correction {row.id}")


def correction_dict(row: StructureCorrection) -> dict:
    """One stored correction as the API returns it."""
    return {"id": row.id, "song_id": row.song_id, "scheme": row.scheme, "kind": row.kind, "time_a": row.time_a,
            "time_b": row.time_b, "created_at": row.created_at.isoformat() if row.created_at else None}


def record_structure_correction(db: Database, user: User, *, song_id: str, scheme: str, kind: str, time_a: float,
                                time_b: float | None, client_id: str | None) -> tuple[dict, bool]:
    """Write one :class:`StructureCorrection` row for ``user``; a ``client_id`` the user sent before
    returns that row and writes nothing. Returns ``(row, created)``."""
    from sqlalchemy import select

    if not user.can_judge:
        raise PermissionDenied(f"role {user.role!r} may not correct structures")
    with db.write() as s:
        if client_id:
            old = s.scalar(select(StructureCorrection).where(StructureCorrection.user_id == user.id,
                                                             StructureCorrection.client_id == client_id))
            if old is not None:
                return correction_dict(old), False
        row = StructureCorrection(user_id=user.id, song_id=song_id, scheme=scheme, kind=kind, time_a=time_a,
                                  time_b=time_b, client_id=client_id)
        s.add(row)
        s.flush()
        return correction_dict(row), True


def submit_structure_correction(payload) -> tuple[dict, bool]:
    """Check ``payload`` against the store and the song's current corrections, record it for the
    logged-in user and start the recompute (module docstring). Returns ``(answer, created)``."""
    user = check_judge()
    if not isinstance(payload, dict):
        raise ParameterError(_("send a JSON object"))
    song_id = clean_text(payload.get("song_id"), "song_id", 200)
    shown = clean_text(payload.get("scheme"), "scheme", 200)
    scheme = parse_version_name(shown)[0]
    kind = payload.get("kind")
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
    time_a = parse_seconds(payload.get("time_a"), "time_a")
    time_b = None if kind == "split" else parse_seconds(payload.get("time_b"), "time_b")
    client_id = clean_text(payload.get("client_id"), "client_id", 64, required=False) or None
    store = get_data().store
    songs = store.read_table(SONGS, columns=["song_id"])
    if song_id not in set(songs["song_id"].astype(str)):
        raise NotFound(f"no song {song_id!r} in the store")
    try:
        base = structure_of(read_version(store, song_id, scheme, 1))
    except ParameterError:
        raise NotFound(f"song {song_id!r} has no {scheme!r} structure") from None
    db = get_db()
    new = Correction(kind, time_a, time_b, source="this correction")
    current = current_corrections(db, song_id, scheme)
    constrained_structure(base, [as_correction(r) for r in current] + [new], propagate=False)  # 400 if it cannot hold
    row, created = record_structure_correction(db, user, song_id=song_id, scheme=shown, kind=kind, time_a=time_a,
                                               time_b=time_b, client_id=client_id)
    return {"correction": row, "job": start_recompute(song_id, scheme, user.username)}, created


def start_recompute(song_id: str, scheme: str, username: str) -> dict:
    """Start the ``structure`` job for ``song_id``'s ``scheme`` with every current correction of the
    song (files written beside the job's state); ``{"status", "job_id"}`` (``busy``: one runs already)."""
    runner = get_jobs()
    rows = current_corrections(get_db(), song_id, scheme)
    folder = runner.folder / "structure-input"
    folder.mkdir(parents=True, exist_ok=True)
    stem = uuid.uuid4().hex
    pairs, bounds = io.StringIO(), io.StringIO()
    pw, bw = csv.writer(pairs), csv.writer(bounds)
    pw.writerow(["song", "time_a", "time_b", "relation"])
    bw.writerow(["song", "time", "from"])
    for r in rows:
        if r.kind in ("same", "different"):
            pw.writerow([song_id, repr(r.time_a), repr(r.time_b), r.kind])
        elif r.kind == "split":
            bw.writerow([song_id, repr(r.time_a), ""])
        else:
            bw.writerow([song_id, repr(r.time_b), repr(r.time_a)])
    paths = {}
    for name, buf in (("constraints", pairs), ("boundaries", bounds)):
        path = folder / f"{stem}-{name}.csv"
        atomic_write(path, lambda fh, text=buf.getvalue(): fh.write(text.encode()), fsync=False)
        paths[name] = str(path)
    try:
        state = runner.start("structure", {"scheme": scheme, "song_id": song_id, **paths}, user=username)
    except JobBusy:
        return {"status": "busy", "job_id": runner.state("structure").job_id}
    return {"status": state.status, "job_id": state.job_id}


@bp.route("/api/structure-corrections", methods=["POST"], endpoint="post_structure_correction")
def _post_structure_correction():
    try:
        answer, created = submit_structure_correction(flask.request.get_json(silent=True))
    except SectionistError as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) else 400
        return flask.jsonify(error=str(exc)), status
    return flask.jsonify(answer), (201 if created else 200)
