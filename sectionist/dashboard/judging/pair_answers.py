"""Reading the experts' pairwise answers back ("do these two sound like the same kind of section?").

:func:`sectionist.dashboard.judging.repository.record_pair` writes them (table ``pair_judgements``,
model :class:`sectionist.dashboard.models.PairJudgement`: the pair in order, ``section_a`` <
``section_b``, superseded answers kept). Here: :func:`pairs_frame`, the tidy frame of them, and
:func:`answered_pairs`, the pairs one person has answered in one run (left out of their next
``pairs`` queue on the Judge page). No Flask here.
"""

from __future__ import annotations

from datetime import timezone

import pandas as pd

from sectionist.dashboard.models import Database, PairJudgement, User

PAIR_COLUMNS = ["id", "username", "role", "run_id", "section_a", "section_b", "relation", "created_at",
                "superseded_at", "superseded_by"]


def pairs_frame(db: Database, *, user: User | None = None, history: bool = False,
                run_id: str | None = None) -> pd.DataFrame:
    """Every pairwise answer, one row each (current ones only unless ``history``; one person's
    with ``user``; one run version's with ``run_id``), columns :data:`PAIR_COLUMNS`."""
    from sqlalchemy import select

    q = select(PairJudgement, User.username, User.role).join(User, PairJudgement.user_id == User.id)
    if not history:
        q = q.where(PairJudgement.superseded_at.is_(None))
    if user is not None:
        q = q.where(PairJudgement.user_id == user.id)
    if run_id is not None:
        q = q.where(PairJudgement.run_id == str(run_id))
    with db.read() as s:
        rows = [(p.id, username, role, p.run_id, p.section_a, p.section_b, p.relation, _utc(p.created_at),
                 _utc(p.superseded_at), p.superseded_by)
                for p, username, role in s.execute(q.order_by(PairJudgement.id))]
    df = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    df["superseded_by"] = df["superseded_by"].astype("Int64")
    for c in ("created_at", "superseded_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def answered_pairs(db: Database, user: User, run_id: str) -> set[tuple[str, str]]:
    """The pairs ``(section_a, section_b)`` (in stored order, a < b) ``user`` has a current answer
    on in ``run_id``."""
    from sqlalchemy import select

    with db.read() as s:
        rows = s.execute(select(PairJudgement.section_a, PairJudgement.section_b).where(
            PairJudgement.user_id == user.id, PairJudgement.run_id == str(run_id),
            PairJudgement.superseded_at.is_(None)))
        return {(a, b) for a, b in rows}


def _utc(dt):
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)
