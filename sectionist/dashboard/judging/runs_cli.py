"""``sectionist runs``: the clustering runs of a store with their versions, and deleting a version.

A run id is never refitted: a refit writes a new run id ``{lineage}~v{version}``, so every verdict
names one exact version. ``list`` shows each run's lineage, version, K, the sections it fitted and
placed, and how many verdicts reference it. ``delete`` checks the run id, then removes one version's
parts and reports each; it is refused while any verdict or cluster verdict (current or superseded)
references the run, because those verdicts would then point at nothing, and while experts have named
its clusters unless ``--with-names`` deletes the names too. It lives in the dashboard package because
it reads the judgement database.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.settings import command_database_url


def register_cli(subparsers, options) -> None:
    """Add ``runs`` (``options``: the shared options; ``--store``/``--db`` as for ``judgements``)."""
    p = subparsers.add_parser(
        "runs",
        help="list a store's clustering runs with their versions, or delete one version",
        description="The clustering runs of a store. A refit never overwrites a run: it is a new run id "
        "'{lineage}~v{version}' (version 1 keeps the plain id), and every expert verdict names one exact "
        "version.",
        epilog="--store names the store (required; a folder or s3://bucket/prefix); the verdicts are read from "
        "--db URL, else from that store's database. "
        "Examples: sectionist runs list --store demo/store; "
        "sectionist runs delete classical17-kmeans-auto~v2 --store demo/store",
    )
    sub = p.add_subparsers(dest="runs_command", metavar="ACTION")
    sub.required = True

    ls = sub.add_parser("list", help="runs with lineage, version, K, sections fitted/placed and verdicts",
                        description="One line per run: run id, lineage, version (and whether a newer one "
                        "exists), space and method, K (clusters found), sections fitted and placed (labelled "
                        "by the fitted model after the fit), whether it can place new songs (has a model), "
                        "and the number of verdicts (current, on sections) and cluster verdicts referencing it. "
                        "--store names the store (required); the verdicts are read from --db URL, else from that "
                        "store's database.")
    _store_and_db(ls, options)
    ls.set_defaults(func=_list)

    rm = sub.add_parser("delete", help="delete one run version (refused while verdicts or expert names "
                        "reference it)",
                        description="Remove one run version from the store: its runs row first (so a half-deleted "
                        "run never looks complete), then its clusterings, clusters, explanations, centroid "
                        "projections, stored comparisons and its fitted model; every file removed is printed, and "
                        "a summary by table. The run id is checked first: a name that is not a run id of the store "
                        "is an error (exit status 2) and nothing changes. Refused (exit status 2) while any "
                        "verdict or cluster verdict, current or superseded, references the run: those would "
                        "point at nothing; refused too while experts have named its clusters, unless "
                        "--with-names deletes those names with it. --store names the store (required); the "
                        "verdicts are read from --db URL, else from that store's database.")
    rm.add_argument("run", metavar="RUN", help="the run id of the version to delete (see 'sectionist runs list')")
    rm.add_argument("--with-names", action="store_true",
                    help="also delete the names experts gave the clusters of this version (history included; "
                         "without it a named version is not deleted); also deletes names left behind by a "
                         "version deleted before")
    rm.add_argument("--no-database", action="store_true",
                    help="delete although no judgement database is found (only for a store that never had "
                         "experts: without the database the verdicts cannot be checked)")
    _store_and_db(rm, options)
    rm.set_defaults(func=_delete)


def _store_and_db(parser, options) -> None:
    options.database(parser)  # --db and --store (the store also gives the default database)
    options.s3(parser)


def _open(args):
    """(store, database or None) of a command: ``--store`` is required."""
    from sectionist.store import open_store

    settings = args.settings
    uri = args.store
    if not uri:
        raise ParameterError("say which store: --store DIR (or s3://bucket/prefix)")
    url = command_database_url(settings, uri, getattr(args, "db", None))  # the database `serve` uses
    store = open_store(uri, create=False, **settings.store_options())
    db = _open_db(url)
    if db is None:
        print(f"note: no judgement database at {url or '(none given)'}, so no verdicts reference any run; "
              "say --db URL if the verdicts live elsewhere", file=sys.stderr)
    return store, db


def _open_db(url):
    """The judgement database, or None when it is a SQLite file that does not exist (no verdicts)."""
    from sqlalchemy.engine import make_url

    from sectionist.dashboard.models import Database

    if not url:
        return None
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
            and not Path(u.database).expanduser().exists():
        return None
    return Database(url)


def verdict_counts(db) -> tuple[dict, dict, dict]:
    """Per run id: current verdicts on sections, all verdicts ever given (superseded ones too), and
    cluster verdicts ever given. Empty dicts without a database."""
    if db is None:
        return {}, {}, {}
    from sectionist.dashboard.judging.repository import cluster_verdicts_frame, judgements_frame

    every = judgements_frame(db, history=True)
    current = every[every["superseded_at"].isna()]
    cv = cluster_verdicts_frame(db, history=True)
    return (current["run_id"].value_counts().to_dict(), every["run_id"].value_counts().to_dict(),
            cv["run_id"].value_counts().to_dict())


def runs_frame(store, db):
    """The ``sectionist runs list`` table as a DataFrame (one row per run id, by lineage and version)."""
    import pandas as pd

    from sectionist.store.schema import RUNS

    runs = store.read_table(RUNS)
    cols = ["run_id", "lineage", "version", "latest_version", "space", "method", "k", "fitted", "placed",
            "has_model", "verdicts", "cluster_verdicts"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    current, _every, cv = verdict_counts(db)
    runs = runs.copy()
    runs["lineage"] = runs["lineage"].where(runs["lineage"].notna(), runs["run_id"])
    runs["version"] = pd.to_numeric(runs["version"], errors="coerce").fillna(1).astype(int)
    runs["latest_version"] = runs.groupby("lineage")["version"].transform("max")
    runs["k"] = runs.get("n_clusters")
    runs["placed"] = pd.to_numeric(runs.get("n_placed", 0), errors="coerce").fillna(0).astype(int)
    runs["fitted"] = pd.to_numeric(runs.get("n_sections"), errors="coerce")
    model = runs["model_key"] if "model_key" in runs else pd.Series(None, index=runs.index)
    runs["has_model"] = model.notna() & (model.astype(str) != "")
    runs["verdicts"] = runs["run_id"].map(current).fillna(0).astype(int)
    runs["cluster_verdicts"] = runs["run_id"].map(cv).fillna(0).astype(int)
    return runs[cols].sort_values(["lineage", "version"], kind="stable").reset_index(drop=True)


def _list(args: argparse.Namespace) -> int:
    store, db = _open(args)
    try:
        df = runs_frame(store, db)
    finally:
        if db is not None:
            db.dispose()
    if df.empty:
        print(f"{store.uri}: no clustering runs yet (run 'sectionist cluster')")
        return 0
    width = max(len("run"), *(len(r) for r in df["run_id"]))
    print(f"{'run':<{width}}  version           space / method                K  fitted  placed  model  "
          f"verdicts  cluster verdicts")
    for _, r in df.iterrows():
        v, last = int(r["version"]), int(r["latest_version"])
        version = f"v{v}" + (" (latest)" if v == last and last > 1 else f" (→ v{last})" if v < last else "")
        k = "–" if r["k"] is None or r["k"] != r["k"] else str(int(r["k"]))
        fitted = "–" if r["fitted"] != r["fitted"] else str(int(r["fitted"]))
        where = f"{r['space']} / {r['method']}"
        print(f"{r['run_id']:<{width}}  {version:<16}  {where:<28}  {k:>2}  {fitted:>6}  {int(r['placed']):>6}  "
              f"{'yes' if r['has_model'] else 'no':<5}  {int(r['verdicts']):>8}  {int(r['cluster_verdicts']):>16}")
    lineages = df.groupby("lineage")["version"].max()
    print(f"{len(df)} runs in {len(lineages)} lineages; lineage = the run id of version 1")
    return 0


#: What a run id named on the command line may look like: a lineage (letters, digits, ``.``, ``_``,
#: ``+``, ``-``; :func:`sectionist.analysis.modeling.specs.make_run_id`), optionally ``~v`` and a version.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(?:~v[0-9]+)?")


def check_run_id(run_id) -> tuple[str, int]:
    """``(lineage, version)`` of a run id named by a person, before anything is read or changed.

    Raises :class:`~sectionist.analysis.errors.ParameterError` for what cannot be a run id (a path such
    as ``../../etc``, an empty name, …) and for a version below 2 (version 1 is the plain lineage id).
    """
    text = str(run_id)
    if not RUN_ID_PATTERN.fullmatch(text):
        raise ParameterError(f"{text!r}: not a run id (letters, digits, '.', '_', '+', '-', and '~v' with a "
                             "version for a refit, e.g. classical17-kmeans-auto~v2; see 'sectionist runs list')")
    lineage, sep, version = text.rpartition("~v")
    if not sep:
        return text, 1
    if int(version) < 2:
        raise ParameterError(f"{text!r}: version {int(version)} is not written with '~v': version 1 of a lineage "
                             f"is its plain id {lineage!r}, later versions are {lineage}~v2, ~v3, …")
    return lineage, int(version)


@dataclass
class Deleted:
    """What :func:`delete_run` removed: store keys (``parts``, in the order removed) and expert
    cluster-name rows (``name_rows``, history included, of ``named_clusters`` clusters)."""

    run_id: str
    parts: list = field(default_factory=list)
    named_clusters: int = 0
    name_rows: int = 0

    def summary(self) -> str:
        """``"runs (1), clusterings (1), clusters (1), model (1)"``: the removed store keys by table."""
        counts: dict = {}
        for key in self.parts:
            kind = "model" if key.startswith("models/") else key.split("/", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{kind} ({n})" for kind, n in counts.items()) or "nothing"


def delete_run(store, run_id: str, db=None, *, with_names: bool = False) -> Deleted:
    """Delete one run version's parts from ``store`` (and, with ``with_names``, the experts' names of
    its clusters from ``db``); return what was removed.

    Checked before anything changes (:class:`~sectionist.analysis.errors.ParameterError`): the run id
    (:func:`check_run_id`); that the store has such a run; that ``db`` holds no verdict or cluster
    verdict (current or superseded) on it; and that no expert named its clusters, unless
    ``with_names``. A run whose parts are gone but whose names remain (left by an earlier delete) has
    only its names deleted, with ``with_names``. The ``runs`` part goes first, so an interrupted delete
    leaves no run that looks complete (:class:`~sectionist.analysis.errors.StoreError` says which
    files went); the fitted model is removed unless another run uses the same key; the manifest
    version is bumped so a running dashboard notices.
    """
    from sectionist.store.schema import RUN_TABLES, RUNS

    check_run_id(run_id)
    in_store = any(store.has_part(t, t.part(run_id=run_id)) for t in RUN_TABLES)
    named, name_rows = _name_counts(db, run_id)
    if not in_store and not (with_names and name_rows):
        # a delete that stopped part way left parts without a runs row: the same command finishes it
        known = sorted(store.list_parts(RUNS))
        left = (f"; the judgement database {db.safe_url} still holds {name_rows} cluster-name row"
                f"{'s' if name_rows != 1 else ''} of it: add --with-names to delete them") if name_rows else ""
        raise ParameterError(f"{store.uri}: no run {run_id!r} (runs: {', '.join(known) or 'none'}){left}")
    _current, every, cv = verdict_counts(db)
    n, n_cv = int(every.get(run_id, 0)), int(cv.get(run_id, 0))
    if n or n_cv:
        raise ParameterError(
            f"{run_id}: not deleted: {n} verdict{'s' if n != 1 else ''} on sections and {n_cv} cluster "
            f"verdict{'s' if n_cv != 1 else ''} (history included) in {db.safe_url} reference this version; "
            "a verdict names one exact version, so deleting it would leave them pointing at nothing. "
            "Export them first ('sectionist judgements export') if the version must go.")
    if name_rows and not with_names:
        raise ParameterError(
            f"{run_id}: not deleted: experts named {named} cluster{'s' if named != 1 else ''} of this version "
            f"({name_rows} name row{'s' if name_rows != 1 else ''}, history included) in {db.safe_url}; "
            "deleting the version would leave those names pointing at nothing. Add --with-names to delete "
            "the names with it.")
    done = Deleted(run_id)
    try:
        _delete_parts(store, run_id, done.parts)
    except StoreError as exc:
        gone = ", ".join(done.parts) or "nothing"
        row = ("its runs row is gone, so it no longer shows as a run" if any(k.startswith("runs/") for k in done.parts)
               else "its runs row is still there")
        raise StoreError(f"{run_id}: deleting stopped part way ({exc}); removed so far: {gone}; {row}; no cluster "
                         "name was deleted; run the same command again to remove the rest") from None
    if with_names and name_rows:
        from sectionist.dashboard.judging.repository import delete_cluster_names

        done.named_clusters, done.name_rows = named, delete_cluster_names(db, run_id)
    return done


def _name_counts(db, run_id: str) -> tuple[int, int]:
    """:func:`sectionist.dashboard.judging.repository.cluster_name_counts`, (0, 0) without a database."""
    if db is None:
        return 0, 0
    from sectionist.dashboard.judging.repository import cluster_name_counts

    return cluster_name_counts(db, run_id)


def _delete_parts(store, run_id: str, removed: list) -> None:
    """Remove the run's store parts, appending each key to ``removed`` as it goes."""
    from sectionist.store.schema import COMPARISON_SECTIONS, COMPARISONS, RUN_TABLES, RUNS

    key = None
    if store.has_part(RUNS, RUNS.part(run_id=run_id)):
        run = store.read_part(RUNS, RUNS.part(run_id=run_id))
        key = run["model_key"].iloc[0] if "model_key" in run and len(run) else None
    order = [RUNS] + [t for t in RUN_TABLES if t != RUNS]
    for table in order:
        part = table.part(run_id=run_id)
        if store.has_part(table, part):
            store.delete_part(table, part)
            removed.append(store.part_key(table, part))
    pairs = [p for p in store.list_parts(COMPARISONS) if _compares(store, p, run_id)]
    pairs += [p for p in store.list_parts(COMPARISON_SECTIONS)
              if p not in pairs and not store.has_part(COMPARISONS, p) and _named_pair(p, run_id)]
    for part in pairs:
        for table in (COMPARISONS, COMPARISON_SECTIONS):
            if store.has_part(table, part):
                store.delete_part(table, part)
                removed.append(store.part_key(table, part))
    if isinstance(key, str) and key:
        rest = store.read_table(RUNS, columns=["model_key"]) if store.list_parts(RUNS) else None
        shared = rest is not None and "model_key" in rest and (rest["model_key"] == key).any()
        if not shared and store.exists(key):
            store.delete(key)
            removed.append(key)
    if removed:
        store.update_manifest(lambda manifest: None)  # a new store version: readers reload (no record lost)


def _compares(store, part: str, run_id: str) -> bool:
    """Whether the stored comparison ``part`` is between ``run_id`` and another run."""
    from sectionist.store.schema import COMPARISONS

    pair = store.read_part(COMPARISONS, part, columns=["run_a", "run_b"])
    return bool(((pair["run_a"] == run_id) | (pair["run_b"] == run_id)).any())


def _named_pair(part: str, run_id: str) -> bool:
    """Whether a comparison part's name (``{run_a}__{run_b}``) names ``run_id`` (for parts whose
    comparisons row is gone)."""
    from sectionist.store.schema import COMPARISONS

    return any(part == COMPARISONS.part(run_a=a, run_b=b) for a, b in
               ((run_id, part[len(run_id) + 2:]), (part[: -len(run_id) - 2], run_id))
               if a and b and "/" not in a and "/" not in b)


def _delete(args: argparse.Namespace) -> int:
    check_run_id(args.run)  # before the store or the database is opened
    store, db = _open(args)
    if db is None and not args.no_database:
        # verdicts that cannot be checked may exist elsewhere (e.g. PostgreSQL named by $SECTIONIST_DB_URL)
        raise ParameterError(f"{args.run}: not deleted: no judgement database found to check for verdicts; "
                             "say --db URL where the verdicts live, or --no-database if this store has none")
    try:
        done = delete_run(store, args.run, db, with_names=args.with_names)
        checked = f"no verdict in {db.safe_url} references it" if db is not None else "no judgement database"
        where = db.safe_url if db is not None else ""
    finally:
        if db is not None:
            db.dispose()
    print(f"deleted run {args.run} ({checked}): {len(done.parts)} files removed from {store.uri}: "
          f"{done.summary()}", file=sys.stderr)
    if done.name_rows:
        print(f"deleted the experts' names of {done.named_clusters} cluster{'s' if done.named_clusters != 1 else ''} "
              f"of {args.run} ({done.name_rows} row{'s' if done.name_rows != 1 else ''}, history included) "
              f"from {where}", file=sys.stderr)
    for key in done.parts:
        print(key)
    return 0
