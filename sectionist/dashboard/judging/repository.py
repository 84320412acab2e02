"""Recording expert judgements (with history), reading them back, tidy frames and export.

:func:`record_judgement`, :func:`record_cluster_verdict` and :func:`record_pair` (a pairwise
same/different answer; read back by :mod:`sectionist.dashboard.judging.pair_answers`) write one new row; the same person's
previous verdict on the same thing is marked superseded (``superseded_at``, ``superseded_by``),
never overwritten. An optional ``client_id`` makes a retried request idempotent. Writers of one
(person, thing) are serialised (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL) and
a lost uniqueness race is retried. Only admins and experts may record
(:attr:`sectionist.dashboard.models.User.can_judge`).

:func:`judgements_frame` and :func:`cluster_verdicts_frame` return the verdicts as tidy frames, the
input of :mod:`sectionist.dashboard.judging.stats`; :func:`export_bytes` writes a frame as CSV or parquet.
No Flask here: the HTTP routes (:mod:`sectionist.dashboard.judging.routes`) and the CLI both call these.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timezone

import pandas as pd

from sectionist.analysis.errors import ParameterError

from sectionist.dashboard.models import (
    CLUSTER_VERDICTS,
    VERDICTS,
    ClusterName,
    ClusterVerdict,
    Database,
    Judgement,
    PairJudgement,
    PermissionDenied,
    User,
    utcnow,
)
from sectionist.dashboard.vocabulary import PAIR_RELATIONS

MAX_COMMENT = 2000
JUDGEMENT_COLUMNS = [
    "id", "username", "role", "run_id", "section_id", "cluster", "verdict", "suggested_cluster", "comment",
    "source", "blind", "created_at", "superseded_at", "superseded_by",
]
CLUSTER_VERDICT_COLUMNS = [
    "id", "username", "role", "run_id", "cluster", "verdict", "merge_with", "comment", "created_at",
    "superseded_at", "superseded_by",
]


# ---------------------------------------------------------------------------------------------
# checking values
# ---------------------------------------------------------------------------------------------
#: The range of integers accepted from users (signed 32 bits: cluster ids, sizes, seeds), so no
#: value ever overflows a database INTEGER column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def opt_int(value, name: str, *, lo: int = INT_MIN, hi: int = INT_MAX) -> int | None:
    """``value`` as an int in ``[lo, hi]`` (None for None or ""); :class:`ParameterError` for
    anything else (booleans, fractions, inf/NaN, numbers out of range such as ``1e308``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParameterError(f"{name}={value!r}: must be an integer")
    if isinstance(value, int):
        n = value
    else:
        if isinstance(value, str) and len(value) > 40:
            raise ParameterError(f"{name}={_shown(value)}: must be an integer")
        try:
            f = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ParameterError(f"{name}={_shown(value)}: must be an integer") from None
        if not f.is_integer():  # also inf and NaN
            raise ParameterError(f"{name}={_shown(value)}: must be an integer")
        n = int(f)
    if not lo <= n <= hi:
        raise ParameterError(f"{name}={_shown(value)}: must be between {lo} and {hi}")
    return n


def _shown(value) -> str:
    """``value`` for an error message, at most about 40 characters (huge ints are not printed)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print, nested in a list
        return f"<a {type(value).__name__}>"
    return text if len(text) <= 40 else text[:40] + "…"


def parse_bool(value, name: str, default: bool = False) -> bool:
    """``value`` as a bool, strictly: JSON ``true``/``false`` or the strings ``"true"``,
    ``"false"``, ``"1"``, ``"0"`` (any case); ``default`` for None or ""; :class:`ParameterError`
    for anything else (``bool("false")`` would be True)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0"):
        return False
    raise ParameterError(f"{name}={_shown(value)}: must be true or false")


def clean_text(value, name: str, limit: int, required: bool = True) -> str:
    """``value`` stripped; :class:`ParameterError` when not a string, empty (if ``required``) or too long."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ParameterError(f"{name}={value!r}: must be a string")
    value = value.strip()
    if required and not value:
        raise ParameterError(f"{name} is required")
    if len(value) > limit:
        raise ParameterError(f"{name}: at most {limit} characters (got {len(value)})")
    return value


def _check_user(user: User) -> None:
    """The writer must be logged in and allowed to judge (the user model's rule)."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ParameterError("no user: judgements need a logged-in user")
    if not user.can_judge:
        raise PermissionDenied(f"role {user.role!r} may not record judgements")


# ---------------------------------------------------------------------------------------------
# recording
# ---------------------------------------------------------------------------------------------
def _retrying(db: Database, fn, attempts: int = 5):
    """Run ``fn(session)`` in a write transaction, retrying on a uniqueness race."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            with db.write() as s:
                return fn(s)
        except (IntegrityError, OperationalError):
            # two requests by the same person raced on one current row (PostgreSQL), or
            # the SQLite busy timeout ran out: the loser starts again and sees the winner
            if attempt == attempts - 1:
                raise


def _lock_item(s, *parts) -> None:
    """Serialise writers of one (person, thing) on PostgreSQL with a transaction-level advisory
    lock (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def record_judgement(
    db: Database,
    user: User,
    *,
    run_id: str,
    section_id: str,
    verdict: str,
    cluster: int | None = None,
    suggested_cluster: int | None = None,
    comment: str = "",
    source: str = "",
    blind: bool = False,
    client_id: str | None = None,
) -> tuple[dict, bool]:
    """Record ``user``'s verdict on ``section_id`` in ``run_id``; supersede their previous one.

    Parameters
    ----------
    db : Database
    user : User
        An admin or expert (else :class:`sectionist.dashboard.models.PermissionDenied`).
    run_id, section_id : str
    verdict : {"agree", "disagree", "unsure"}
    cluster : int, optional
        The section's label in the run (as shown to the expert).
    suggested_cluster : int, optional
        The cluster the expert thinks it belongs in.
    comment, source : str
        Free text; where the judgement was made (page or queue strategy).
    blind : bool
        Whether method and cluster number were hidden.
    client_id : str, optional
        Idempotency key: a second call with the same key returns the first row unchanged.

    Returns
    -------
    row : dict
        The stored judgement (id, verdict, created_at, superseded id as ``supersedes``…).
    created : bool
        False when ``client_id`` was seen before and nothing was written.
    """
    _check_user(user)
    run_id = clean_text(run_id, "run_id", 200)
    section_id = clean_text(section_id, "section_id", 200)
    if verdict not in VERDICTS:
        raise ParameterError(f"verdict={verdict!r}: use one of {', '.join(VERDICTS)}")
    cluster = opt_int(cluster, "cluster")
    suggested_cluster = opt_int(suggested_cluster, "suggested_cluster")
    blind = parse_bool(blind, "blind")
    comment = clean_text(comment, "comment", MAX_COMMENT, required=False)
    source = clean_text(source, "source", 64, required=False)
    client_id = clean_text(client_id, "client_id", 64, required=False) or None

    def work(s):
        _lock_item(s, "judgement", user.id, run_id, section_id)
        return _insert_superseding(
            s, Judgement, user, client_id, _judgement_dict,
            current=(Judgement.run_id == run_id, Judgement.section_id == section_id),
            values=dict(run_id=run_id, section_id=section_id, cluster=cluster, verdict=verdict,
                        suggested_cluster=suggested_cluster, comment=comment, source=source, blind=blind),
        )

    return _retrying(db, work)


def _insert_superseding(s, model, user, client_id, to_dict, *, current, values) -> tuple[dict, bool]:
    """Insert ``user``'s new row of ``model`` and mark their current one (``current`` filters) as
    superseded by it: history is kept, never overwritten. A ``client_id`` seen before returns the
    stored row and writes nothing (a retried request must not count twice)."""
    from sqlalchemy import select

    if client_id is not None:
        old = s.scalar(select(model).where(model.user_id == user.id, model.client_id == client_id))
        if old is not None:
            return to_dict(old, None), False
    prev = s.scalar(select(model).where(model.user_id == user.id, *current, model.superseded_at.is_(None)))
    now = utcnow()
    if prev is not None:
        prev.superseded_at = now
        s.flush()  # free the "current" slot before inserting the new row
    row = model(user_id=user.id, client_id=client_id, created_at=now, **values)
    s.add(row)
    s.flush()
    if prev is not None:
        prev.superseded_by = row.id
    return to_dict(row, prev.id if prev is not None else None), True


def record_cluster_verdict(
    db: Database,
    user: User,
    *,
    run_id: str,
    cluster: int,
    verdict: str,
    merge_with: int | None = None,
    comment: str = "",
    client_id: str | None = None,
) -> tuple[dict, bool]:
    """Record ``user``'s verdict on a whole cluster: coherent, mixed, split or merge (with
    ``merge_with``). Supersedes their previous verdict on that cluster. Returns ``(row, created)``."""
    _check_user(user)
    run_id = clean_text(run_id, "run_id", 200)
    cluster = opt_int(cluster, "cluster")
    if cluster is None:
        raise ParameterError("cluster is required")
    if verdict not in CLUSTER_VERDICTS:
        raise ParameterError(f"verdict={verdict!r}: use one of {', '.join(CLUSTER_VERDICTS)}")
    merge_with = opt_int(merge_with, "merge_with")
    if verdict == "merge" and merge_with is None:
        raise ParameterError("verdict 'merge' needs merge_with (the cluster to merge with)")
    if verdict == "merge" and merge_with == cluster:
        raise ParameterError(f"merge_with={merge_with}: a cluster cannot merge with itself")
    if verdict != "merge":
        merge_with = None
    comment = clean_text(comment, "comment", MAX_COMMENT, required=False)
    client_id = clean_text(client_id, "client_id", 64, required=False) or None

    def work(s):
        _lock_item(s, "cluster", user.id, run_id, cluster)
        return _insert_superseding(
            s, ClusterVerdict, user, client_id, _verdict_dict,
            current=(ClusterVerdict.run_id == run_id, ClusterVerdict.cluster == cluster),
            values=dict(run_id=run_id, cluster=cluster, verdict=verdict, merge_with=merge_with, comment=comment),
        )

    return _retrying(db, work)


def record_pair(db: Database, user: User, run_id: str, section_a: str, section_b: str, relation: str,
                client_id: str | None = None) -> tuple[dict, bool]:
    """Record ``user``'s answer to "do ``section_a`` and ``section_b`` sound like the same kind of
    section?" asked in run version ``run_id``: ``relation`` ``"same"`` or ``"different"``.

    The pair is stored in order (``section_a`` < ``section_b``, whichever order it came in); a new
    answer supersedes the person's current one on that pair and run (history kept); a ``client_id``
    seen before returns the first row and writes nothing. Returns ``(row, created)`` as
    :func:`record_judgement` does (``row``: id, run_id, section_a, section_b, relation, created_at,
    ``supersedes``).
    """
    _check_user(user)
    run_id = clean_text(run_id, "run_id", 200)
    a, b = sorted((clean_text(section_a, "section_a", 200), clean_text(section_b, "section_b", 200)))
    if a == b:
        raise ParameterError(f"section_a = section_b = {a!r}: a pair needs two different sections")
    if relation not in PAIR_RELATIONS:
        raise ParameterError(f"relation={relation!r}: use one of {', '.join(PAIR_RELATIONS)}")
    client_id = clean_text(client_id, "client_id", 64, required=False) or None

    def work(s):
        _lock_item(s, "pair", user.id, run_id, a, b)
        return _insert_superseding(
            s, PairJudgement, user, client_id, pair_dict,
            current=(PairJudgement.run_id == run_id, PairJudgement.section_a == a, PairJudgement.section_b == b),
            values=dict(run_id=run_id, section_a=a, section_b=b, relation=relation))

    return _retrying(db, work)


def pair_dict(p: PairJudgement, supersedes=None) -> dict:
    """One stored pairwise answer as the API returns it."""
    return {"id": p.id, "run_id": p.run_id, "section_a": p.section_a, "section_b": p.section_b,
            "relation": p.relation, "created_at": _iso(p.created_at), "supersedes": supersedes}


#: The longest cluster name an expert may give (it has to fit in chips and legends).
MAX_CLUSTER_NAME = 60


#: The invisible characters that reorder how the text around them is shown (the "Trojan Source"
#: characters: embeddings, overrides, isolates, marks): a name holding one can show as another.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Other invisible characters refused with the control characters: zero-width space, word joiner,
#: byte order mark, interlinear annotation marks (zero-width joiners stay: emoji and scripts need them).
INVISIBLE = frozenset("\u200b\u2060\ufeff\ufff9\ufffa\ufffb")


def cluster_name_problem(name: str) -> tuple[str, str] | None:
    """The first character a cluster name may not hold and its kind, ``("bidi", ch)`` (one of
    :data:`BIDI_CONTROLS`) or ``("control", ch)`` (a control character, a lone surrogate or one of
    :data:`INVISIBLE`); None when there is none."""
    import unicodedata

    for ch in name:
        if ch in BIDI_CONTROLS:
            return "bidi", ch
        if ch in INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
            return "control", ch
    return None


def clean_cluster_name(value) -> str:
    """An expert's cluster name: stripped, inner whitespace collapsed, at most
    :data:`MAX_CLUSTER_NAME` characters, no control, invisible or bidirectional control characters
    (:func:`cluster_name_problem`); ``""`` means the default name."""
    name = clean_text(value, "name", 4 * MAX_CLUSTER_NAME, required=False)
    problem = cluster_name_problem(name)
    if problem is not None and problem[0] == "bidi":
        raise ParameterError(f"name: bidirectional control characters such as U+{ord(problem[1]):04X} are not "
                             "allowed (they reorder how the text around them is shown)")
    if problem is not None:
        raise ParameterError(f"name: control or invisible characters such as U+{ord(problem[1]):04X} are not allowed")
    name = " ".join(name.split())
    if len(name) > MAX_CLUSTER_NAME:
        raise ParameterError(f"name: at most {MAX_CLUSTER_NAME} characters (got {len(name)})")
    return name


def record_cluster_name(db: Database, user: User, *, run_id: str, cluster: int, name: str) -> dict:
    """Rename cluster ``cluster`` of run version ``run_id`` (experts and admins only).

    The current name of that cluster (whoever gave it) is superseded, not overwritten, so the
    history of names stays. ``name=""`` returns the cluster to its default name.

    Returns
    -------
    dict
        The stored row: id, run_id, cluster, name, username, created_at, ``supersedes`` (the id of
        the name it replaced, or None).
    """
    _check_user(user)
    run_id = clean_text(run_id, "run_id", 200)
    cluster = opt_int(cluster, "cluster", lo=0)
    if cluster is None:
        raise ParameterError("cluster is required")
    name = clean_cluster_name(name)

    def work(s):
        from sqlalchemy import select

        _lock_item(s, "cluster-name", run_id, cluster)
        prev = s.scalar(select(ClusterName).where(ClusterName.run_id == run_id, ClusterName.cluster == cluster,
                                                  ClusterName.superseded_at.is_(None)))
        now = utcnow()
        if prev is not None:
            prev.superseded_at = now
            s.flush()  # free the "current" slot before inserting the new row
        row = ClusterName(user_id=user.id, run_id=run_id, cluster=cluster, name=name, created_at=now)
        s.add(row)
        s.flush()
        if prev is not None:
            prev.superseded_by = row.id
        return _name_dict(row, user.username, prev.id if prev is not None else None)

    return _retrying(db, work)


def _name_dict(n: ClusterName, username: str, supersedes=None) -> dict:
    return {"id": n.id, "run_id": n.run_id, "cluster": n.cluster, "name": n.name, "username": username,
            "created_at": _iso(n.created_at), "superseded_at": _iso(n.superseded_at), "supersedes": supersedes}


def current_cluster_names(db: Database, run_id: str) -> dict[int, str]:
    """cluster → the current expert name of the clusters of ``run_id`` that have one (not ``""``)."""
    from sqlalchemy import select

    with db.read() as s:
        rows = s.execute(select(ClusterName.cluster, ClusterName.name).where(
            ClusterName.run_id == str(run_id), ClusterName.superseded_at.is_(None)))
        return {int(c): n for c, n in rows if n}


def cluster_name_history(db: Database, run_id: str, cluster: int) -> list[dict]:
    """Every name given to one cluster of ``run_id``, oldest first (current one last)."""
    from sqlalchemy import select

    with db.read() as s:
        q = select(ClusterName, User.username).join(User, ClusterName.user_id == User.id).where(
            ClusterName.run_id == str(run_id), ClusterName.cluster == int(cluster)).order_by(ClusterName.id)
        return [_name_dict(n, username) for n, username in s.execute(q)]


def cluster_name_counts(db: Database, run_id: str) -> tuple[int, int]:
    """``(clusters, rows)``: how many clusters of ``run_id`` experts have named, and how many name
    rows the database holds for it (superseded ones and resets to the default name included)."""
    from sqlalchemy import distinct, func, select

    with db.read() as s:
        clusters, rows = s.execute(select(func.count(distinct(ClusterName.cluster)), func.count(ClusterName.id))
                                   .where(ClusterName.run_id == str(run_id))).one()
        return int(clusters), int(rows)


def delete_cluster_names(db: Database, run_id: str) -> int:
    """Delete every expert name of the clusters of ``run_id``, history included (one transaction);
    return the number of rows deleted. Only for a run version that is itself being deleted."""
    from sqlalchemy import delete

    with db.write() as s:
        return int(s.execute(delete(ClusterName).where(ClusterName.run_id == str(run_id))).rowcount or 0)


def _iso(dt):
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.isoformat()


def _judgement_dict(j: Judgement, supersedes) -> dict:
    return {
        "id": j.id, "run_id": j.run_id, "section_id": j.section_id, "cluster": j.cluster, "verdict": j.verdict,
        "suggested_cluster": j.suggested_cluster, "comment": j.comment, "source": j.source, "blind": j.blind,
        "created_at": _iso(j.created_at), "supersedes": supersedes,
    }


def _verdict_dict(v: ClusterVerdict, supersedes) -> dict:
    return {
        "id": v.id, "run_id": v.run_id, "cluster": v.cluster, "verdict": v.verdict, "merge_with": v.merge_with,
        "comment": v.comment, "created_at": _iso(v.created_at), "supersedes": supersedes,
    }


def current_judgement(db: Database, user: User, run_id: str, section_id: str) -> dict | None:
    """``user``'s current verdict on one section of one run, or None."""
    from sqlalchemy import select

    with db.read() as s:
        j = s.scalar(
            select(Judgement).where(
                Judgement.user_id == user.id, Judgement.run_id == run_id, Judgement.section_id == section_id,
                Judgement.superseded_at.is_(None),
            )
        )
        return _judgement_dict(j, None) if j is not None else None


def current_cluster_verdict(db: Database, user: User, run_id: str, cluster: int) -> dict | None:
    """``user``'s current verdict on one cluster, or None."""
    from sqlalchemy import select

    with db.read() as s:
        v = s.scalar(
            select(ClusterVerdict).where(
                ClusterVerdict.user_id == user.id, ClusterVerdict.run_id == run_id, ClusterVerdict.cluster == int(cluster),
                ClusterVerdict.superseded_at.is_(None),
            )
        )
        return _verdict_dict(v, None) if v is not None else None


def judged_sections(db: Database, user: User, run_id: str) -> set[str]:
    """Section ids ``user`` has a current verdict on in ``run_id``."""
    from sqlalchemy import select

    with db.read() as s:
        return set(
            s.scalars(
                select(Judgement.section_id).where(
                    Judgement.user_id == user.id, Judgement.run_id == run_id, Judgement.superseded_at.is_(None)
                )
            )
        )


# ---------------------------------------------------------------------------------------------
# tidy frames
# ---------------------------------------------------------------------------------------------
def judgements_frame(db: Database, *, user: User | None = None, history: bool = False, run_id: str | None = None) -> pd.DataFrame:
    """All judgements as one row each (current ones only unless ``history``).

    ``user`` restricts to one person's rows (what an expert may see of the raw data).
    """
    rows = [(j.id, username, role, j.run_id, j.section_id, j.cluster, j.verdict, j.suggested_cluster, j.comment,
             j.source, bool(j.blind), as_utc(j.created_at), as_utc(j.superseded_at), j.superseded_by)
            for j, username, role in answer_rows(db, Judgement, user=user, history=history, run_id=run_id)]
    df = pd.DataFrame(rows, columns=JUDGEMENT_COLUMNS)
    for c in ("cluster", "suggested_cluster", "superseded_by"):
        df[c] = df[c].astype("Int64")
    for c in ("created_at", "superseded_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def cluster_verdicts_frame(db: Database, *, user: User | None = None, history: bool = False) -> pd.DataFrame:
    """All cluster verdicts, one row each (current ones only unless ``history``)."""
    rows = [(v.id, username, role, v.run_id, v.cluster, v.verdict, v.merge_with, v.comment, as_utc(v.created_at),
             as_utc(v.superseded_at), v.superseded_by)
            for v, username, role in answer_rows(db, ClusterVerdict, user=user, history=history)]
    df = pd.DataFrame(rows, columns=CLUSTER_VERDICT_COLUMNS)
    for c in ("merge_with", "superseded_by"):
        df[c] = df[c].astype("Int64")
    for c in ("created_at", "superseded_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def answer_rows(db: Database, model, *, user: User | None = None, history: bool = False,
                run_id: str | None = None) -> list[tuple]:
    """``(row, username, role)`` of every stored answer of ``model`` (:class:`Judgement`,
    :class:`ClusterVerdict`, :class:`PairJudgement`) in the order written: current ones only unless
    ``history``; one person's with ``user``; one run version's with ``run_id``."""
    from sqlalchemy import select

    q = select(model, User.username, User.role).join(User, model.user_id == User.id)
    if not history:
        q = q.where(model.superseded_at.is_(None))
    if user is not None:
        q = q.where(model.user_id == user.id)
    if run_id is not None:
        q = q.where(model.run_id == str(run_id))
    with db.read() as s:
        return list(s.execute(q.order_by(model.id)))


def as_utc(dt):
    """A stored time as an aware UTC datetime (SQLite gives them back naive), or None."""
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def export_bytes(df: pd.DataFrame, fmt: str) -> tuple[bytes, str]:
    """``df`` as CSV or parquet bytes, with the Content-Type. The CSV is safe to open in a
    spreadsheet (text cells that start like a formula get a leading ``'``, :mod:`sectionist.store.csvsafe`)."""
    if fmt == "csv":
        from sectionist.store.csvsafe import CSV_CONTENT_TYPE, to_csv_bytes

        return to_csv_bytes(df), CSV_CONTENT_TYPE
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue(), "application/vnd.apache.parquet"
    raise ParameterError(f"format {fmt!r}: use csv or parquet")

