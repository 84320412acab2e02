"""SQL models of the dashboard: users, login attempts, expert judgements, cluster verdicts,
experts' names of clusters, and the playlist links that play sections without a login.

Judgements live in a SQL database (a SQLite file by default, PostgreSQL by URL), never in the
parquet store: many people write them at the same time. History is kept: a new verdict by the same
person on the same thing *supersedes* the previous one (the old row gets ``superseded_at`` and
``superseded_by``); rows are never updated otherwise and never deleted by the app.

:class:`Database` wraps one SQLAlchemy engine per process. On SQLite it switches the file to WAL
mode, sets a busy timeout and opens write transactions with ``BEGIN IMMEDIATE`` so concurrent
writers from several gunicorn workers queue up instead of failing with "database is locked".
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from sectionist.analysis.errors import ParameterError, SectionistError

# the vocabulary lives in a module without imports (the statistics use it without SQLAlchemy)
from sectionist.dashboard.vocabulary import CLUSTER_VERDICTS, JUDGING_ROLES, ROLES, VERDICTS  # noqa: F401 - re-exported

#: Seconds a SQLite writer waits for the lock before giving up.
SQLITE_BUSY_SECONDS = 60


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PermissionDenied(SectionistError):
    """The user's role does not allow this action (:mod:`sectionist.dashboard.auth` raises it for requests,
    :mod:`sectionist.dashboard.judging` for writes by a user who may not judge)."""


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person who logs in. ``auth_gen`` changes on password change or removal, ending sessions."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    auth_gen: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # flask-login protocol (kept here so the model needs no flask import)
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # the generation makes old session cookies invalid after a password change or removal
        return f"{self.id}.{self.auth_gen}"

    # the role rules: every check of what a user may do goes through these
    def has_role(self, *roles: str) -> bool:
        """Whether the user's role is one of ``roles``."""
        return self.role in roles

    @property
    def can_judge(self) -> bool:
        """Whether the user may record judgements (and export their own): admins and experts."""
        return self.has_role(*JUDGING_ROLES)

    @property
    def is_admin(self) -> bool:
        """Whether the user manages users and sees every expert's judgements."""
        return self.has_role("admin")

    def __repr__(self) -> str:
        return f"User({self.username!r}, role={self.role!r})"


class LoginAttempt(Base):
    """One login attempt (for the lockout and the audit trail). Unknown usernames are recorded too."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_login_attempts_user_ip_at", "username", "ip", "at"), Index("ix_login_attempts_ip_at", "ip", "at"))


class LoginSession(Base):
    """One signed-in browser session: the signed session cookie carries ``token``, whose SHA-256 is
    ``id``. Logging out deletes the row, so a copy of the cookie no longer signs in; ``expires_at``
    bounds the session's life from the login however it is used (the absolute lifetime)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


class Judgement(Base):
    """An expert's verdict on whether a section belongs in its cluster of one run.

    ``cluster`` is the label the expert was judging (the section's label in ``run_id`` at the
    time); ``suggested_cluster`` the one they think it should be in (optional).
    ``client_id`` is an idempotency key sent by the client: a retried request with the same key
    stores nothing new.
    """

    __tablename__ = "judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    run_id: Mapped[str] = mapped_column(String(200), nullable=False)
    section_id: Mapped[str] = mapped_column(String(200), nullable=False)
    cluster: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)
    suggested_cluster: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    blind: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (
        # at most one current verdict per person, run and section (partial unique index)
        Index(
            "uq_judgements_current",
            "user_id",
            "run_id",
            "section_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("uq_judgements_client", "user_id", "client_id", unique=True),
        Index("ix_judgements_run_section", "run_id", "section_id"),
    )


class ClusterVerdict(Base):
    """An expert's verdict on a whole cluster of a run: coherent, mixed, should be split, or merge."""

    __tablename__ = "cluster_verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    run_id: Mapped[str] = mapped_column(String(200), nullable=False)
    cluster: Mapped[int] = mapped_column(Integer, nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)
    merge_with: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (
        Index(
            "uq_cluster_verdicts_current",
            "user_id",
            "run_id",
            "cluster",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("uq_cluster_verdicts_client", "user_id", "client_id", unique=True),
    )


class ClusterName(Base):
    """The name experts gave a cluster of one run version (shown instead of its default name).

    One name per (run, cluster) is current, whoever wrote it: a rename supersedes the current row
    (``superseded_at``, ``superseded_by``), which is kept as history. An empty ``name`` means
    "back to the default name".
    """

    __tablename__ = "cluster_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    run_id: Mapped[str] = mapped_column(String(200), nullable=False)
    cluster: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (
        Index(
            "uq_cluster_names_current",
            "run_id",
            "cluster",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )


class PlaylistLink(Base):
    """A playlist whose section URLs play without logging in (a VLC playlist downloaded from the app).

    The URLs carry a token signed with the app's ``SECRET_KEY`` that names this row (``id``, random);
    the audio route serves a section for it only while the row is not revoked, ``expires_at`` has
    not passed, the issuing user is active with the same ``auth_gen`` (a password change or
    removal ends their links), and the section is one of :class:`PlaylistLinkSection`'s rows of
    this link. The token itself is not stored: it is a bearer secret the user holds.
    """

    __tablename__ = "playlist_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    auth_gen: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    n_sections: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    user: Mapped[User] = relationship(lazy="select")


class PlaylistLinkSection(Base):
    """One section a :class:`PlaylistLink` may play (its scope: exactly the playlist's sections)."""

    __tablename__ = "playlist_link_sections"

    link_id: Mapped[str] = mapped_column(ForeignKey("playlist_links.id", ondelete="CASCADE"), primary_key=True)
    section_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class PairJudgement(Base):
    """An expert's answer to "do these two sections sound like the same kind of section?".

    Asked of one run version (``run_id``: the version whose queue offered the pair); the answer is a
    constraint for every later guided version of that lineage (:mod:`sectionist.analysis.modeling`).
    ``section_a`` < ``section_b`` (stored in that order, so a pair is one key). A new answer of the same
    person on the same pair and run supersedes the old row, which is kept as history.
    """

    __tablename__ = "pair_judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    run_id: Mapped[str] = mapped_column(String(200), nullable=False)
    section_a: Mapped[str] = mapped_column(String(200), nullable=False)
    section_b: Mapped[str] = mapped_column(String(200), nullable=False)
    relation: Mapped[str] = mapped_column(String(16), nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (
        Index(
            "uq_pair_judgements_current",
            "user_id",
            "run_id",
            "section_a",
            "section_b",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("uq_pair_judgements_client", "user_id", "client_id", unique=True),
        Index("ix_pair_judgements_run", "run_id"),
    )


class StructureCorrection(Base):
    """An expert's correction of one song's structure under one scheme version.

    ``kind``: ``same`` / ``different`` (the segments holding ``time_a`` and ``time_b`` are one part /
    different parts), ``split`` (a boundary at ``time_a`` that splits a segment) or ``boundary`` (the
    boundary nearest ``time_a`` moves to ``time_b``). ``scheme`` names the scheme version that was shown
    (e.g. ``merged`` or ``merged~v2``); a recomputed structure is a new version, this row is never
    rewritten. ``withdrawn_at`` marks a correction its author took back (kept as history).
    """

    __tablename__ = "structure_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    song_id: Mapped[str] = mapped_column(String(200), nullable=False)
    scheme: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    time_a: Mapped[float] = mapped_column(Float, nullable=False)
    time_b: Mapped[float | None] = mapped_column(Float, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (
        Index("ix_structure_corrections_song", "song_id", "scheme"),
        Index("uq_structure_corrections_client", "user_id", "client_id", unique=True),
    )


# ---------------------------------------------------------------------------------------------
# database access
# ---------------------------------------------------------------------------------------------
class Database:
    """One engine and two session factories (read, write) for a database URL.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host/db``
        (``postgresql://`` is mapped to the psycopg 3 driver).
    create : bool
        Check the schema on opening (:meth:`create_tables`): a new, empty database is created at
        the newest migration; one at an older schema is refused (:class:`SchemaOutOfDate`, whose
        message names ``sectionist db upgrade``). False: open as is (``sectionist db`` does).
    """

    def __init__(self, url: str, *, create: bool = True):
        self.url = normalize_url(url)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._make_engine()
        if create:
            self.create_tables()

    # -- engine ---------------------------------------------------------------------------------
    def _make_engine(self) -> None:
        url = make_url(self.url)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if url.database and url.database != ":memory:":
                path = Path(url.database).expanduser()
                path.parent.mkdir(parents=True, exist_ok=True)
                # password hashes live here: readable by the owner only (SQLite gives its -wal
                # and -shm files the same mode)
                os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False})
            _install_sqlite_pragmas(engine)
        else:
            engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        # SQLite: writers take the lock at BEGIN, so they queue (busy timeout) instead of failing
        self._write = sessionmaker(bind=engine.execution_options(sqlite_begin_immediate=True), expire_on_commit=False)

    def _check_fork(self) -> None:
        # gunicorn --preload forks after the app is built: never share pooled connections
        if os.getpid() != self._pid:
            with self._lock:
                if os.getpid() != self._pid:
                    self.engine.dispose(close=False)
                    self._pid = os.getpid()

    def create_tables(self) -> None:
        """Make sure the database has this release's schema (several processes may call this at once).

        An empty database is created at the newest revision of :mod:`sectionist.dashboard.migrations`
        (and that revision recorded); a database made by an earlier release, or at an older
        revision, raises :class:`~sectionist.dashboard.migrations.SchemaOutOfDate`: only
        ``sectionist db upgrade`` changes the schema of a database that holds data.
        """
        from sectionist.dashboard.migrations import ensure_schema

        ensure_schema(self)

    @property
    def safe_url(self) -> str:
        """The URL without its password (for messages)."""
        return make_url(self.url).render_as_string(hide_password=True)

    # -- sessions -------------------------------------------------------------------------------
    @contextmanager
    def read(self):
        """A session for reading; objects stay usable (detached, loaded) after it closes."""
        self._check_fork()
        session: Session = self._read()
        try:
            yield session
        finally:
            session.close()  # ends the transaction without expiring what was loaded

    @contextmanager
    def write(self):
        """A session in one write transaction: committed on success, rolled back on error."""
        self._check_fork()
        session: Session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """True when the database answers a ``SELECT 1`` (for the health check; never raises)."""
        try:
            with self.read() as s:
                s.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def normalize_url(url: str) -> str:
    """Check a database URL and pick the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if not url or not isinstance(url, str):
        raise ParameterError(f"database URL {url!r}: give sqlite:///FILE or postgresql://…")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ParameterError(f"database URL {url!r}: not a valid URL (sqlite:///FILE or postgresql://…)") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ParameterError(f"database URL {parsed.render_as_string(hide_password=True)}: only sqlite and postgresql are supported")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # let SQLAlchemy (below) issue BEGIN itself, so that writes can say BEGIN IMMEDIATE
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_begin_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_DATABASES: dict[str, Database] = {}
_DATABASES_LOCK = threading.Lock()


def get_database(url: str) -> Database:
    """The process-wide :class:`Database` for ``url`` (created, with its tables, on first use)."""
    key = normalize_url(url)
    with _DATABASES_LOCK:
        db = _DATABASES.get(key)
        if db is None:
            db = _DATABASES[key] = Database(key)
        return db
