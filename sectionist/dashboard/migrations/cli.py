"""``sectionist db``: the schema of the user and judgement database (``upgrade``, ``current``).

The database is chosen like every command's (``--db URL``, else ``--store DIR``'s default
database, else ``$SECTIONIST_DB_URL``: :meth:`sectionist.settings.Settings.resolve`).

``db upgrade`` is the one command that changes the schema of a database holding data: the web app
and the other commands refuse a database that is not at this release's newest revision (an empty
one they create at it). Run it on every deploy, before restarting the app; it is a no-op when the
database is up to date, and safe while an old app still runs (one transaction, under a lock).
"""

from __future__ import annotations

import argparse
from pathlib import Path

STATUS = {
    "empty": "empty (no tables yet)",
    "unversioned": "made by a release before migrations (no schema version)",
    "behind": "older than this release: run 'sectionist db upgrade'",
    "current": "up to date",
    "unknown": "unknown to this release (a newer release upgraded it)",
}


def register_cli(subparsers, options) -> None:
    """Add ``db`` (``options``: the shared options; ``options.database`` adds ``--db``/``--store``)."""
    p = subparsers.add_parser(
        "db",
        help="the user/judgement database's schema: upgrade it after installing a new release",
        description="Schema migrations of the user and judgement database (Alembic, shipped with "
        "sectionist). The web app and the other commands only run on a database at this release's "
        "schema; 'db upgrade' brings an older one there, keeping every row.",
        epilog="Example: sectionist db upgrade --store demo/store   (on a deploy: before restarting gunicorn)",
    )
    sub = p.add_subparsers(dest="db_command", metavar="ACTION")
    sub.required = True

    up = sub.add_parser(
        "upgrade", help="upgrade the schema to this release's (creates an empty database; no-op when current)",
        description="Upgrade the database to this release's newest schema revision, in one transaction. "
        "A database made by a release before migrations is recognised (revision 0001) and upgraded; "
        "an empty one is created. Back the database up first.")
    options.database(up)
    up.set_defaults(func=_upgrade)

    cur = sub.add_parser("current", help="show the database's schema revision and this release's",
                         description="Show the schema revision of the database and the newest one this release knows.")
    options.database(cur)
    cur.set_defaults(func=_current)


def _url(args) -> str:
    from sectionist.settings import command_database_url

    return command_database_url(args.settings, args.store, args.db)


def _missing_sqlite_file(url: str) -> bool:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return (u.get_backend_name() == "sqlite" and bool(u.database) and u.database != ":memory:"
            and not Path(u.database).expanduser().exists())


def _upgrade(args: argparse.Namespace) -> int:
    from sectionist.dashboard import migrations
    from sectionist.dashboard.models import Database

    db = Database(_url(args), create=False)
    try:
        before, after = migrations.upgrade(db)
    finally:
        db.dispose()
    if before.status == "current":
        print(f"{after.url}: at revision {after.revision} (head), nothing to do")
        return 0
    if before.status == "empty":
        print(f"{after.url}: created the tables at revision {after.revision} (head)")
        return 0
    if before.status == "unversioned":
        created = sorted(set(after.tables) - set(before.tables))
        extra = f"; created the tables it lacked: {', '.join(created)}" if created else ""
        print(f"{after.url}: made by a release before migrations, adopted as revision {migrations.BASELINE}{extra}")
    print(f"{after.url}: upgraded from {before.revision or 'no version'} to {after.revision} (head)")
    return 0


def _current(args: argparse.Namespace) -> int:
    from sectionist.dashboard import migrations
    from sectionist.dashboard.models import Database

    url = _url(args)
    if _missing_sqlite_file(url):
        print(f"{url}: no database yet (the first command that opens it creates it at revision {migrations.head()})")
        return 0
    db = Database(url, create=False)
    try:
        state = migrations.schema_state(db)
    finally:
        db.dispose()
    print(f"database: {state.url}")
    print(f"revision: {state.revision or '(none)'}")
    print(f"head:     {state.head}")
    print(f"status:   {STATUS[state.status]}")
    return 0
