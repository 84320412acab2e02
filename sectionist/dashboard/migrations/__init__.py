"""Schema migrations of the dashboard's database (users, judgements, cluster verdicts and names),
with Alembic configured in code: no ``alembic.ini`` at run time, the revisions live in
``versions/`` of this package (shipped with it).

Which schema a database has (:func:`schema_state`):

``empty``
    none of the dashboard's tables: any command that opens it creates it at the newest revision
    (*head*) through the migrations and records that revision in ``alembic_version``;
``unversioned``
    tables but no ``alembic_version``: made by a release before migrations (0.1.0 or older);
``behind``
    an older revision than this release's head;
``current``
    at head: the only state the web app and the commands run on;
``unknown``
    a revision this release does not know (written by a newer release).

:func:`ensure_schema` is what :class:`sectionist.dashboard.models.Database` runs when it opens a
database: it creates an empty one at head and refuses every state but ``current`` with
:class:`SchemaOutOfDate`, whose message names the command that fixes it. Only
:func:`upgrade` (``sectionist db upgrade``) changes the schema of a database that has data: an
``unversioned`` one is adopted as the baseline revision ``0001`` (the tables an older release
lacked are created, nothing else is touched) and then upgraded like any other.

Both take the same lock as the app's first start did: ``BEGIN IMMEDIATE`` on SQLite, a
transaction-level advisory lock on PostgreSQL, so several processes at once are safe, and the
whole upgrade is one transaction (SQLite and PostgreSQL both run DDL transactionally): a failed
upgrade leaves the database as it was.
"""

from __future__ import annotations

import functools
import shlex
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sectionist.analysis.errors import StoreError

#: This folder: Alembic's ``script_location`` (``env.py``, ``script.py.mako``, ``versions/``).
SCRIPT_LOCATION = Path(__file__).resolve().parent
#: The revision that stands for the schema of the last release before migrations.
BASELINE = "0001"
#: The tables of the baseline: a database with any of them and no ``alembic_version`` was made
#: by an earlier release.
BASELINE_TABLES = ("users", "login_attempts", "login_sessions", "judgements", "cluster_verdicts", "cluster_names")
#: PostgreSQL advisory lock key held while a schema is checked, created or upgraded.
LOCK_KEY = 7345120001


class SchemaOutOfDate(StoreError):
    """The database's schema is not the one this release runs on (the message says what to do)."""


def alembic_config(connection=None):
    """Alembic's configuration in code; ``connection`` (open, in a transaction) is what env.py migrates."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=1)
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision of this release."""
    return _scripts().get_current_head()


def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in _scripts().walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    """Where one database stands (see the module docstring for :attr:`status`)."""

    url: str  # without its password
    revision: str | None
    head: str
    tables: tuple[str, ...]  # the baseline's tables it has

    @property
    def status(self) -> str:
        if self.revision is None:
            return "unversioned" if self.tables else "empty"
        if self.revision == self.head:
            return "current"
        return "behind" if self.revision in known_revisions() else "unknown"


def inspect_schema(conn, url: str) -> SchemaState:
    """The :class:`SchemaState` of the database behind an open connection."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    revision = MigrationContext.configure(conn).get_current_revision()
    present = set(inspect(conn).get_table_names())
    return SchemaState(url=url, revision=revision, head=head(), tables=tuple(t for t in BASELINE_TABLES if t in present))


def schema_state(db) -> SchemaState:
    """Where ``db`` (a :class:`~sectionist.dashboard.models.Database`) stands; changes nothing."""
    with db.engine.connect() as conn:
        return inspect_schema(conn, db.safe_url)


@contextmanager
def _locked(db):
    """A write transaction that holds the migration lock (committed when the block succeeds)."""
    from sqlalchemy import text

    with db.engine.execution_options(sqlite_begin_immediate=True).begin() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        yield conn


def _with_retries(fn, db):
    from sqlalchemy.exc import OperationalError

    for attempt in range(5):
        try:
            return fn()
        except OperationalError as exc:  # another process holds the database (SQLite) or went away
            if attempt == 4:
                raise StoreError(f"{db.safe_url}: cannot check or create the tables ({exc.orig})") from None
            time.sleep(0.2 * (attempt + 1))


def upgrade_command(url: str) -> str:
    """The command that upgrades the database at ``url`` (a URL without its password)."""
    cmd = f"sectionist db upgrade --db {shlex.quote(url)}"
    hint = "or --store DIR for a store's default database"
    if ":***@" in url:
        hint = "the password is hidden here: give the full URL, or set $SECTIONIST_DB_URL and leave --db out"
    return f"{cmd} ({hint})"


def refusal(state: SchemaState) -> str:
    """Why a database in ``state`` is not opened, and what to run."""
    if state.status == "unknown":
        return (f"the database {state.url} has schema revision {state.revision}, which this release of "
                f"sectionist does not know (head {state.head}): it was upgraded by a newer release; run that "
                "release, or restore the backup taken before the upgrade")
    if state.status == "unversioned":
        what = "was made by an earlier release of sectionist (its tables carry no schema version)"
    else:
        what = f"has schema revision {state.revision}, older than this release's {state.head}"
    return (f"the database {state.url} {what}: back it up, upgrade it with\n    {upgrade_command(state.url)}\n"
            "then start again")


def ensure_schema(db) -> SchemaState:
    """Create an empty database at head; refuse (:class:`SchemaOutOfDate`) any schema but head's."""
    from alembic import command

    def check():
        state = schema_state(db)  # the usual case, at head, takes no write lock
        if state.status == "empty":
            with _locked(db) as conn:
                state = inspect_schema(conn, db.safe_url)  # another process may have been first
                if state.status == "empty":
                    command.upgrade(alembic_config(conn), "head")
                    state = inspect_schema(conn, db.safe_url)
        return state

    state = _with_retries(check, db)
    if state.status != "current":
        raise SchemaOutOfDate(refusal(state))
    return state


def upgrade(db, revision: str = "head") -> tuple[SchemaState, SchemaState]:
    """Bring ``db`` to ``revision`` (adopting a database of an earlier release as the baseline
    first); returns the states before and after. A database at an unknown revision is refused."""
    from alembic import command

    def run():
        with _locked(db) as conn:
            before = inspect_schema(conn, db.safe_url)
            if before.status == "unknown":
                raise SchemaOutOfDate(refusal(before))
            if before.status != "current" or revision != "head":
                command.upgrade(alembic_config(conn), revision)
            return before, inspect_schema(conn, db.safe_url)

    return _with_retries(run, db)
