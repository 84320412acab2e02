"""Expert judgements: recording (with history), judging queues, statistics and export.

Recording
    :func:`record_judgement` and :func:`record_cluster_verdict` write one new row; the same
    person's previous verdict on the same thing is marked superseded (``superseded_at``,
    ``superseded_by``), never overwritten. An optional ``client_id`` makes a retried request
    idempotent. The HTTP routes (:func:`register_routes`) and the Dash judging panel both call
    these functions, after checking the role on the server.

Queues
    :func:`build_queue` picks sections for a guided session: a seeded random sample, the
    prototypes or the borderline sections of each cluster, sections on which two runs disagree,
    or the least stable sections.

Statistics (pure functions over the tidy frame of :func:`judgements_frame`)
    progress per expert, agreement rate per run and per cluster with Wilson intervals, Cohen's
    kappa per pair of experts, Fleiss' kappa and Krippendorff's alpha (nominal) overall, the most disputed
    sections, and export to CSV or parquet.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from analysis.errors import ParameterError, SectionistError, StoreError

from .models import CLUSTER_VERDICTS, VERDICTS, ClusterVerdict, Database, Judgement, User, utcnow

#: Queue strategies for the judge page, with their labels.
STRATEGIES = {
    "random": "Random sample",
    "prototypes": "Prototypes of each cluster",
    "borderline": "Borderline sections of each cluster",
    "disagree": "Sections two runs disagree on",
    "unstable": "Least stable sections",
}
MAX_COMMENT = 2000
JUDGEMENT_COLUMNS = [
    "id", "username", "role", "run_id", "section_id", "cluster", "verdict", "suggested_cluster", "comment",
    "source", "blind", "created_at", "superseded_at", "superseded_by",
]
CLUSTER_VERDICT_COLUMNS = [
    "id", "username", "role", "run_id", "cluster", "verdict", "merge_with", "comment", "created_at",
    "superseded_at", "superseded_by",
]


class NotFound(SectionistError):
    """The section, run or cluster judged is not in the store."""


# ---------------------------------------------------------------------------------------------
# recording
# ---------------------------------------------------------------------------------------------
def _opt_int(value, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParameterError(f"{name}={value!r}: must be an integer")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r}: must be an integer") from None
    if not f.is_integer():
        raise ParameterError(f"{name}={value!r}: must be an integer")
    return int(f)


def _text(value, name: str, limit: int, required: bool = True) -> str:
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
    if user is None or not getattr(user, "is_authenticated", False):
        raise ParameterError("no user: judgements need a logged-in user")
    if user.role not in ("admin", "expert"):
        from .auth import PermissionDenied

        raise PermissionDenied(f"role {user.role!r} may not record judgements")


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
        An admin or expert (else :class:`dashboard.auth.PermissionDenied`).
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
    run_id = _text(run_id, "run_id", 200)
    section_id = _text(section_id, "section_id", 200)
    if verdict not in VERDICTS:
        raise ParameterError(f"verdict={verdict!r}: use one of {', '.join(VERDICTS)}")
    cluster = _opt_int(cluster, "cluster")
    suggested_cluster = _opt_int(suggested_cluster, "suggested_cluster")
    comment = _text(comment, "comment", MAX_COMMENT, required=False)
    source = _text(source, "source", 64, required=False)
    client_id = _text(client_id, "client_id", 64, required=False) or None

    def work(s):
        _lock_item(s, "judgement", user.id, run_id, section_id)
        return _insert_superseding(
            s, Judgement, user, client_id, _judgement_dict,
            current=(Judgement.run_id == run_id, Judgement.section_id == section_id),
            values=dict(run_id=run_id, section_id=section_id, cluster=cluster, verdict=verdict,
                        suggested_cluster=suggested_cluster, comment=comment, source=source, blind=bool(blind)),
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
    run_id = _text(run_id, "run_id", 200)
    cluster = _opt_int(cluster, "cluster")
    if cluster is None:
        raise ParameterError("cluster is required")
    if verdict not in CLUSTER_VERDICTS:
        raise ParameterError(f"verdict={verdict!r}: use one of {', '.join(CLUSTER_VERDICTS)}")
    merge_with = _opt_int(merge_with, "merge_with")
    if verdict == "merge" and merge_with is None:
        raise ParameterError("verdict 'merge' needs merge_with (the cluster to merge with)")
    if verdict == "merge" and merge_with == cluster:
        raise ParameterError(f"merge_with={merge_with}: a cluster cannot merge with itself")
    if verdict != "merge":
        merge_with = None
    comment = _text(comment, "comment", MAX_COMMENT, required=False)
    client_id = _text(client_id, "client_id", 64, required=False) or None

    def work(s):
        _lock_item(s, "cluster", user.id, run_id, cluster)
        return _insert_superseding(
            s, ClusterVerdict, user, client_id, _verdict_dict,
            current=(ClusterVerdict.run_id == run_id, ClusterVerdict.cluster == cluster),
            values=dict(run_id=run_id, cluster=cluster, verdict=verdict, merge_with=merge_with, comment=comment),
        )

    return _retrying(db, work)


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
    from sqlalchemy import select

    q = select(Judgement, User.username, User.role).join(User, Judgement.user_id == User.id)
    if not history:
        q = q.where(Judgement.superseded_at.is_(None))
    if user is not None:
        q = q.where(Judgement.user_id == user.id)
    if run_id is not None:
        q = q.where(Judgement.run_id == run_id)
    rows = []
    with db.read() as s:
        for j, username, role in s.execute(q.order_by(Judgement.id)):
            rows.append((j.id, username, role, j.run_id, j.section_id, j.cluster, j.verdict, j.suggested_cluster,
                         j.comment, j.source, bool(j.blind), _ts(j.created_at), _ts(j.superseded_at), j.superseded_by))
    df = pd.DataFrame(rows, columns=JUDGEMENT_COLUMNS)
    for c in ("cluster", "suggested_cluster", "superseded_by"):
        df[c] = df[c].astype("Int64")
    for c in ("created_at", "superseded_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def cluster_verdicts_frame(db: Database, *, user: User | None = None, history: bool = False) -> pd.DataFrame:
    """All cluster verdicts, one row each (current ones only unless ``history``)."""
    from sqlalchemy import select

    q = select(ClusterVerdict, User.username, User.role).join(User, ClusterVerdict.user_id == User.id)
    if not history:
        q = q.where(ClusterVerdict.superseded_at.is_(None))
    if user is not None:
        q = q.where(ClusterVerdict.user_id == user.id)
    rows = []
    with db.read() as s:
        for v, username, role in s.execute(q.order_by(ClusterVerdict.id)):
            rows.append((v.id, username, role, v.run_id, v.cluster, v.verdict, v.merge_with, v.comment,
                         _ts(v.created_at), _ts(v.superseded_at), v.superseded_by))
    df = pd.DataFrame(rows, columns=CLUSTER_VERDICT_COLUMNS)
    for c in ("merge_with", "superseded_by"):
        df[c] = df[c].astype("Int64")
    for c in ("created_at", "superseded_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def _ts(dt):
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def export_bytes(df: pd.DataFrame, fmt: str) -> tuple[bytes, str]:
    """``df`` as CSV or parquet bytes, with the MIME type."""
    if fmt == "csv":
        return df.to_csv(index=False).encode(), "text/csv; charset=utf-8"
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue(), "application/vnd.apache.parquet"
    raise ParameterError(f"format {fmt!r}: use csv or parquet")


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------
def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (95 % by default); (nan, nan) for n = 0."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ParameterError(f"k={k}, n={n}: need 0 ≤ k ≤ n")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, z: float = 1.959964) -> tuple[float, float, float]:
    """Difference of two independent proportions ``k1/n1 − k2/n2`` with its 95 % interval.

    Newcombe's hybrid score interval (method 10 of Newcombe, *Statistics in Medicine* 17, 1998),
    built from the two Wilson intervals; it behaves well for small counts and rates near 0 or 1.
    Returns ``(difference, low, high)``; nans when either n is 0.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def method_differences(per_run: pd.DataFrame) -> pd.DataFrame:
    """The best-agreed run against each other run: is it really better?

    Takes :func:`agreement_per_run` (best first) and returns, per other run, the difference of
    agreement rates with Newcombe's 95 % interval; ``separated`` is True when the interval lies
    above 0 (the data show the best run ahead of that one).
    """
    cols = ["best_run", "run_id", "difference", "ci_low", "ci_high", "separated"]
    runs = per_run[per_run["n"] > 0] if not per_run.empty else per_run
    if len(runs) < 2:
        return pd.DataFrame(columns=cols)
    best = runs.iloc[0]
    rows = []
    for _, r in runs.iloc[1:].iterrows():
        d, lo, hi = newcombe_interval(int(best["agree"]), int(best["n"]), int(r["agree"]), int(r["n"]))
        rows.append((best["run_id"], r["run_id"], d, lo, hi, bool(lo > 0)))
    return pd.DataFrame(rows, columns=cols)


def progress_per_expert(df: pd.DataFrame) -> pd.DataFrame:
    """Per person: current judgements, sections and runs covered, verdict counts, last activity."""
    cols = ["username", "judgements", "sections", "runs", "agree", "disagree", "unsure", "last_at"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby("username")
    out = pd.DataFrame({
        "judgements": g.size(),
        "sections": g["section_id"].nunique(),
        "runs": g["run_id"].nunique(),
        "last_at": g["created_at"].max(),
    })
    counts = pd.crosstab(df["username"], df["verdict"])
    for v in VERDICTS:
        out[v] = counts[v] if v in counts else 0
    return out.reset_index()[cols].sort_values(["judgements", "username"], ascending=[False, True]).reset_index(drop=True)


def _agreement(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cols = keys + ["n", "agree", "disagree", "unsure", "rate", "ci_low", "ci_high", "experts"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, grp in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        a = int((grp["verdict"] == "agree").sum())
        d = int((grp["verdict"] == "disagree").sum())
        u = int((grp["verdict"] == "unsure").sum())
        lo, hi = wilson_interval(a, a + d)
        rate = a / (a + d) if a + d else float("nan")
        rows.append((*key, a + d, a, d, u, rate, lo, hi, int(grp["username"].nunique())))
    return pd.DataFrame(rows, columns=cols)


def agreement_per_run(df: pd.DataFrame) -> pd.DataFrame:
    """How often experts agree with each run's grouping.

    ``rate`` = agree / (agree + disagree) over current verdicts ("unsure" left out, counted
    separately), with a 95 % Wilson interval (``ci_low``, ``ci_high``). Each expert's verdict on
    a section counts once, so a section judged by three experts counts three times.
    """
    out = _agreement(df, ["run_id"])
    return out.sort_values("rate", ascending=False, na_position="last").reset_index(drop=True)


def agreement_per_cluster(df: pd.DataFrame) -> pd.DataFrame:
    """As :func:`agreement_per_run`, per (run, cluster judged)."""
    d = df[df["cluster"].notna()] if not df.empty else df
    out = _agreement(d, ["run_id", "cluster"])
    return out.sort_values(["run_id", "cluster"]).reset_index(drop=True)


def cohen_kappa(a, b, categories=VERDICTS) -> float:
    """Cohen's kappa of two raters' labels on the same items (nan when undefined)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
        raise ParameterError(f"rater label arrays differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return float("nan")
    cats = list(dict.fromkeys(list(categories) + sorted(set(a) | set(b), key=str)))
    po = float(np.mean(a == b))
    pe = sum(float(np.mean(a == c)) * float(np.mean(b == c)) for c in cats)
    if math.isclose(pe, 1.0):
        return float("nan")  # both raters used one and the same category for everything
    return (po - pe) / (1 - pe)


def cohen_kappa_pairs(df: pd.DataFrame, min_items: int = 1) -> pd.DataFrame:
    """Cohen's kappa for every pair of experts over the (run, section) items both judged."""
    cols = ["rater_a", "rater_b", "n_items", "observed_agreement", "kappa"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    wide = df.pivot_table(index=["run_id", "section_id"], columns="username", values="verdict", aggfunc="last")
    rows = []
    for ra, rb in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[ra, rb]].dropna()
        if len(both) < min_items:
            continue
        a, b = both[ra].to_numpy(), both[rb].to_numpy()
        rows.append((ra, rb, len(both), float(np.mean(a == b)), cohen_kappa(a, b)))
    return pd.DataFrame(rows, columns=cols)


def krippendorff_alpha_nominal(units) -> float:
    """Krippendorff's alpha for nominal data.

    Parameters
    ----------
    units : iterable of sequences
        One sequence of values per unit (item), one value per rater who judged it; missing
        ratings are simply absent. Units with fewer than two values are ignored.

    Returns
    -------
    float
        1 = perfect agreement, 0 = chance, < 0 = systematic disagreement; nan when fewer than two
        values are pairable or only one category occurs.
    """
    cats: dict = {}
    units = [list(u) for u in units]
    for u in units:
        for v in u:
            cats.setdefault(v, len(cats))
    k = len(cats)
    if k == 0:
        return float("nan")
    o = np.zeros((k, k))
    for u in units:
        m = len(u)
        if m < 2:
            continue
        idx = np.array([cats[v] for v in u])
        counts = np.bincount(idx, minlength=k).astype(float)
        # coincidences within a unit: pairs of different raters, weighted 1/(m-1)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    disagree_o = o.sum() - np.trace(o)
    disagree_e = (n_c.sum() ** 2 - (n_c ** 2).sum()) / (n - 1)
    if disagree_e == 0:
        return float("nan")
    return float(1 - disagree_o / disagree_e)


def krippendorff_alpha(df: pd.DataFrame) -> tuple[float, int]:
    """Krippendorff's alpha (nominal) of the current verdicts over (run, section) items.

    Returns ``(alpha, n_items)`` where ``n_items`` counts items with at least two raters.
    """
    if df.empty:
        return float("nan"), 0
    units = [g.tolist() for _, g in df.groupby(["run_id", "section_id"])["verdict"] if len(g) >= 2]
    return krippendorff_alpha_nominal(units), len(units)


def fleiss_kappa_counts(counts) -> float:
    """Fleiss' kappa from a table of rating counts.

    Parameters
    ----------
    counts : array-like, shape (n_items, n_categories)
        ``counts[i, j]`` = how many raters put item ``i`` in category ``j``. Items may have
        different numbers of raters (the usual generalisation: each item's observed agreement is
        computed with its own rater count); items with fewer than two raters are ignored.

    Returns
    -------
    float
        Fleiss' kappa; nan when no item has two raters or only one category occurs.
    """
    t = np.asarray(counts, dtype=float)
    if t.ndim != 2:
        raise ParameterError(f"counts must be a 2-D items × categories table, got shape {t.shape}")
    if (t < 0).any():
        raise ParameterError("counts must be non-negative")
    n = t.sum(axis=1)
    t, n = t[n >= 2], n[n >= 2]
    if len(t) == 0:
        return float("nan")
    p_item = ((t ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_cat = t.sum(axis=0) / t.sum()
    p_e = float((p_cat ** 2).sum())
    if math.isclose(p_e, 1.0):
        return float("nan")
    return float((p_item.mean() - p_e) / (1 - p_e))


def fleiss_kappa(df: pd.DataFrame) -> tuple[float, int]:
    """Fleiss' kappa of the current verdicts over (run, section) items with at least two experts.

    Returns ``(kappa, n_items)``.
    """
    if df.empty:
        return float("nan"), 0
    table = (df.groupby(["run_id", "section_id"])["verdict"].value_counts().unstack(fill_value=0)
             .reindex(columns=list(VERDICTS), fill_value=0))
    table = table[table.sum(axis=1) >= 2]
    return fleiss_kappa_counts(table.to_numpy()), len(table)


def most_disputed(df: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Sections whose verdicts disagree most across experts (at least two raters).

    ``disagreement`` = 1 − (share of the most common verdict); ties broken by more raters.
    """
    cols = ["run_id", "section_id", "cluster", "raters", "agree", "disagree", "unsure", "disagreement", "suggested"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (run_id, section_id), g in df.groupby(["run_id", "section_id"]):
        if len(g) < 2:
            continue
        counts = g["verdict"].value_counts()
        sug = sorted({int(x) for x in g["suggested_cluster"].dropna()})
        cl = g["cluster"].dropna()
        rows.append((run_id, section_id, int(cl.iloc[-1]) if len(cl) else None, len(g),
                     int(counts.get("agree", 0)), int(counts.get("disagree", 0)), int(counts.get("unsure", 0)),
                     1 - counts.max() / len(g), ", ".join(map(str, sug))))
    out = pd.DataFrame(rows, columns=cols)
    out = out[out["disagreement"] > 0]
    return out.sort_values(["disagreement", "raters"], ascending=[False, False]).head(top).reset_index(drop=True)


def cluster_verdict_summary(cv: pd.DataFrame) -> pd.DataFrame:
    """Per (run, cluster): how many experts said coherent / mixed / split / merge (and with what)."""
    cols = ["run_id", "cluster", *CLUSTER_VERDICTS, "merge_with", "experts"]
    if cv.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (run_id, cluster), g in cv.groupby(["run_id", "cluster"]):
        counts = g["verdict"].value_counts()
        merge = sorted({int(x) for x in g["merge_with"].dropna()})
        rows.append((run_id, int(cluster), *[int(counts.get(v, 0)) for v in CLUSTER_VERDICTS],
                     ", ".join(map(str, merge)), int(g["username"].nunique())))
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------
# queues
# ---------------------------------------------------------------------------------------------
def build_queue(data, run_id: str, strategy: str, *, n: int = 20, random_state: int = 0,
                exclude: set | None = None, other_run: str | None = None) -> list[dict]:
    """Sections to judge, in order, for one run.

    Parameters
    ----------
    data : dashboard.data.StoreData
        The store.
    run_id : str
        The run whose grouping is judged.
    strategy : str
        A key of :data:`STRATEGIES`.
    n : int
        At most this many sections.
    random_state : int
        Seed for the random sample (and for the order among equals).
    exclude : set of str, optional
        Section ids to leave out (those the expert judged already).
    other_run : str, optional
        For ``"disagree"``: the run to compare with (default: every other run of the store,
        sections on which any of them disagrees after label alignment).

    Returns
    -------
    list of dict
        ``{"section_id", "run_id", "cluster"}`` per section.
    """
    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    if n < 1:
        raise ParameterError(f"n={n}: must be ≥ 1")
    arr = data.run_arrays(run_id)
    ids = data.section_ids
    exclude = exclude or set()
    rng = np.random.default_rng(random_state)
    labelled = np.flatnonzero(arr.label >= 0)

    if strategy == "random":
        order = labelled[rng.permutation(len(labelled))]
    elif strategy in ("prototypes", "borderline"):
        clusters = data.clusters(run_id)
        lists = []
        if strategy in clusters.columns:
            lists = [list(v) for v in clusters[strategy]]
        if not any(lists):
            # no stored lists: most central (highest confidence) or lowest silhouette per cluster
            score = arr.confidence if strategy == "prototypes" else -arr.silhouette
            lists = []
            for c in arr.clusters:
                members = np.flatnonzero(arr.label == c)
                s = np.nan_to_num(score[members], nan=-np.inf)
                lists.append([ids[i] for i in members[np.argsort(-s, kind="stable")]])
        # round-robin over clusters, so a short queue still visits every cluster
        picked = [sid for row in itertools.zip_longest(*lists) for sid in row if sid is not None]
        pos = data.positions(picked)
        order = np.array([p for p in pos if p >= 0 and arr.label[p] >= 0], dtype=np.int64)
    elif strategy == "disagree":
        others = [other_run] if other_run else [r for r in data.runs.index if r != run_id]
        bad = np.zeros(len(ids), bool)
        for other in others:
            cmp = data.comparison(run_id, other)
            bad |= cmp["both"] & ~cmp["agree"]
        cand = np.flatnonzero(bad & (arr.label >= 0))
        order = cand[rng.permutation(len(cand))]
    else:  # unstable
        stab = arr.stability
        cand = labelled[~np.isnan(stab[labelled])]
        if len(cand) == 0:  # no stability stored: fall back to the lowest confidence
            stab = arr.confidence
            cand = labelled[~np.isnan(stab[labelled])]
        order = cand[np.lexsort((rng.random(len(cand)), stab[cand]))]

    out = []
    seen = set()
    for p in order:
        sid = ids[p]
        if sid in exclude or sid in seen:
            continue
        seen.add(sid)
        out.append({"section_id": sid, "run_id": run_id, "cluster": int(arr.label[p])})
        if len(out) >= n:
            break
    return out


def build_mixed_queue(data, run_ids, strategy: str, *, n: int = 20, random_state: int = 0,
                      exclude: dict | None = None) -> list[dict]:
    """A blind comparison of methods: sections of several runs, interleaved in a random order.

    Each run contributes its own queue (:func:`build_queue` with the same strategy); the runs take
    turns, in a freshly shuffled order every round, so the queue holds as many items of each run as
    possible (counts differ by at most one while every run has sections left) and the expert cannot
    tell from the position which method grouped the section. The same section may come up for two
    runs: it is then judged against each run's group.

    Parameters
    ----------
    data : dashboard.data.StoreData
    run_ids : sequence of str
        The runs to compare (at least one).
    strategy : str
        A key of :data:`STRATEGIES`; ``"disagree"`` compares each run with every other run.
    n : int
        Length of the queue.
    random_state : int
        Seed of the sampling and of the interleaving.
    exclude : dict, optional
        ``run_id → set of section ids`` already judged for that run.

    Returns
    -------
    list of dict
        ``{"section_id", "run_id", "cluster"}`` per item.
    """
    run_ids = list(dict.fromkeys(run_ids))
    if not run_ids:
        raise ParameterError("no runs to compare")
    if n < 1:
        raise ParameterError(f"n={n}: must be ≥ 1")
    exclude = exclude or {}
    per_run = [build_queue(data, r, strategy, n=n, random_state=random_state + 7919 * k, exclude=exclude.get(r))
               for k, r in enumerate(run_ids)]
    rng = np.random.default_rng(random_state)
    out: list[dict] = []
    pos = [0] * len(per_run)
    while len(out) < n and any(p < len(q) for p, q in zip(pos, per_run)):
        for k in rng.permutation(len(per_run)):
            if pos[k] < len(per_run[k]) and len(out) < n:
                out.append(per_run[k][pos[k]])
                pos[k] += 1
    return out


# ---------------------------------------------------------------------------------------------
# HTTP routes
# ---------------------------------------------------------------------------------------------
def store_data(app=None):
    """The app's :class:`dashboard.data.StoreData` (created from the auth settings' store if the
    app has none, e.g. a bare test app)."""
    from flask import current_app

    from .data import EXTENSION_KEY, StoreData

    server = app or current_app
    data = server.extensions.get(EXTENSION_KEY)
    if data is None:
        data = server.extensions.get("sectionist_judgement_data")
        if data is None:
            from .auth import auth_settings

            data = server.extensions["sectionist_judgement_data"] = StoreData(auth_settings(server).store_uri)
    return data


def section_cluster(data, run_id: str, section_id: str) -> int:
    """The label of ``section_id`` in ``run_id`` (:class:`NotFound` when either is unknown)."""
    pos = data.position(section_id)
    if pos is None:
        raise NotFound(f"no section {section_id!r} in the store")
    try:
        arr = data.run_arrays(run_id)
    except StoreError:
        raise NotFound(f"no run {run_id!r} in the store") from None
    label = int(arr.label[pos])
    if label < -1:
        raise NotFound(f"section {section_id!r} is not part of run {run_id!r}")
    return label


def submit_judgement(payload: dict, *, source_default: str = "api") -> tuple[dict, bool]:
    """Validate ``payload`` against the store and record it for the logged-in user.

    The cluster recorded is the section's label in the run, read from the store on the server
    (a client cannot record a verdict about a grouping that does not exist). Used by the HTTP
    route and the Dash judging panel alike.
    """
    from .auth import check_role, get_db

    user = check_role("admin", "expert")
    if not isinstance(payload, dict):
        raise ParameterError("send a JSON object")
    run_id = _text(payload.get("run_id"), "run_id", 200)
    section_id = _text(payload.get("section_id"), "section_id", 200)
    cluster = section_cluster(store_data(), run_id, section_id)
    return record_judgement(
        get_db(), user, run_id=run_id, section_id=section_id, verdict=payload.get("verdict"), cluster=cluster,
        suggested_cluster=payload.get("suggested_cluster"), comment=payload.get("comment") or "",
        source=payload.get("source") or source_default, blind=bool(payload.get("blind", False)),
        client_id=payload.get("client_id"),
    )


def submit_cluster_verdict(payload: dict) -> tuple[dict, bool]:
    """Validate ``payload`` (run and cluster must exist) and record it for the logged-in user."""
    from .auth import check_role, get_db

    user = check_role("admin", "expert")
    if not isinstance(payload, dict):
        raise ParameterError("send a JSON object")
    run_id = _text(payload.get("run_id"), "run_id", 200)
    cluster = _opt_int(payload.get("cluster"), "cluster")
    data = store_data()
    try:
        clusters = data.run_arrays(run_id).clusters
    except StoreError:
        raise NotFound(f"no run {run_id!r} in the store") from None
    if cluster not in clusters:
        raise NotFound(f"no cluster {cluster} in run {run_id!r}")
    merge_with = _opt_int(payload.get("merge_with"), "merge_with")
    if merge_with is not None and merge_with not in clusters:
        raise NotFound(f"no cluster {merge_with} in run {run_id!r} to merge with")
    return record_cluster_verdict(
        get_db(), user, run_id=run_id, cluster=cluster, verdict=payload.get("verdict"), merge_with=merge_with,
        comment=payload.get("comment") or "", client_id=payload.get("client_id"),
    )


def register_routes(server) -> None:
    """JSON API and exports (every route behind login; see docs/security.md)."""
    import flask

    from .auth import PermissionDenied, current_user_or_none, get_db

    def _error(exc):
        status = 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) else 400
        return flask.jsonify(error=str(exc)), status

    @server.route("/api/judgements", methods=["POST"], endpoint="sectionist_post_judgement")
    def _post_judgement():
        try:
            row, created = submit_judgement(flask.request.get_json(silent=True))
        except (SectionistError, PermissionDenied) as exc:
            return _error(exc)
        return flask.jsonify(row), (201 if created else 200)

    @server.route("/api/cluster-verdicts", methods=["POST"], endpoint="sectionist_post_cluster_verdict")
    def _post_cluster_verdict():
        try:
            row, created = submit_cluster_verdict(flask.request.get_json(silent=True))
        except (SectionistError, PermissionDenied) as exc:
            return _error(exc)
        return flask.jsonify(row), (201 if created else 200)

    def _visible_user():
        """None (everyone's rows) for an admin, the user for an expert; 403 for a viewer."""
        user = current_user_or_none()
        if user is None:
            flask.abort(401)
        if user.role == "admin":
            return None
        if user.role == "expert":
            return user
        flask.abort(403)

    @server.route("/api/judgements", methods=["GET"], endpoint="sectionist_get_judgements")
    def _get_judgements():
        only = _visible_user()
        args = flask.request.args
        df = judgements_frame(get_db(), user=only, history=args.get("history") == "1", run_id=args.get("run_id") or None)
        if args.get("section_id"):
            df = df[df["section_id"] == args["section_id"]]
        return flask.Response(df.to_json(orient="records", date_format="iso"), mimetype="application/json")

    def _export(frame_fn, name, fmt):
        """A download of ``frame_fn``'s rows (everyone's for an admin, one's own for an expert)."""
        only = _visible_user()
        if fmt not in ("csv", "parquet"):
            flask.abort(404)
        df = frame_fn(get_db(), user=only, history=flask.request.args.get("history") == "1")
        body, mime = export_bytes(df, fmt)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return flask.Response(body, mimetype=mime, headers={
            "Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"', "Cache-Control": "no-store"})

    @server.route("/export/judgements.<fmt>", endpoint="sectionist_export_judgements")
    def _export_judgements(fmt):
        return _export(judgements_frame, "judgements", fmt)

    @server.route("/export/cluster-verdicts.<fmt>", endpoint="sectionist_export_cluster_verdicts")
    def _export_cluster_verdicts(fmt):
        return _export(cluster_verdicts_frame, "cluster-verdicts", fmt)
