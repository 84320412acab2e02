"""Reading the experts' pairwise answers back ("do these two sound like the same kind of section?").

:func:`sectionist.dashboard.judging.repository.record_pair` writes them (table ``pair_judgements``,
model :class:`sectionist.dashboard.models.PairJudgement`: the pair in order, ``section_a`` <
``section_b``, superseded answers kept). Here: :func:`pairs_frame`, the tidy frame of them, and
:func:`answered_pairs`, the pairs one person has answered in one run (left out of their next
``pairs`` queue on the Judge page). No Flask here.
"""

from __future__ import annotations

import pandas as pd

from sectionist.dashboard.judging.repository import answer_rows, as_utc
from sectionist.dashboard.models import Database, PairJudgement, User

PAIR_COLUMNS = ["id", "username", "role", "run_id", "section_a", "section_b", "relation", "created_at",
                "superseded_at", "superseded_by"]


def pairs_frame(db: Database, *, user: User | None = None, history: bool = False,
                run_id: str | None = None) -> pd.DataFrame:
    """Every pairwise answer, one row each (current ones only unless ``history``; one person's
    with ``user``; one run version's with ``run_id``), columns :data:`PAIR_COLUMNS`."""
    rows = [(p.id, username, role, p.run_id, p.section_a, p.section_b, p.relation, as_utc(p.created_at),
             as_utc(p.superseded_at), p.superseded_by)
            for p, username, role in answer_rows(db, PairJudgement, user=user, history=history, run_id=run_id)]
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

