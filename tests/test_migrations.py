"""Schema migrations of the user/judgement database (sectionist/dashboard/migrations), on SQLite and
PostgreSQL.

- a database made by the release before migrations (tests/fixtures/legacy_models_v0.py, frozen:
  its ``create_all``), full of users, verdicts, cluster verdicts and cluster names with their
  history, goes through the real ``sectionist db upgrade`` and every row is still there, readable
  and writable with the current models;
- the migrations at head make exactly the models' schema (``compare_metadata`` finds nothing, and the
  DDL the database reports is the same as ``create_all``'s);
- the app and the other commands refuse an old database with a message naming the command;
- ``db upgrade`` a second time changes nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from sectionist.cli import main as cli_main
from sectionist.dashboard import migrations
from sectionist.dashboard.models import (
    Base,
    ClusterName,
    ClusterVerdict,
    Database,
    Judgement,
    LoginAttempt,
    LoginSession,
    PlaylistLink,
    User,
    sqlite_url,
)

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import legacy_models_v0 as legacy  # noqa: E402  (the frozen models of the previous release)

CURRENT = {"users": User, "login_attempts": LoginAttempt, "login_sessions": LoginSession,
           "judgements": Judgement, "cluster_verdicts": ClusterVerdict, "cluster_names": ClusterName}
T0 = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


# ---- databases -------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    """A URL of a database that does not exist yet (SQLite file) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "judgements.sqlite")
    pg = request.getfixturevalue("pg_server")
    name = re.sub(r"\W", "_", request.node.name.lower())[-50:].strip("_")
    return pg.create_database(f"m_{name}")


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch):
    for key in [k for k in os.environ if k.startswith("SECTIONIST_")]:
        monkeypatch.delenv(key)


def _engine(url):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def make_legacy_database(url, tables=None) -> dict[str, list[dict]]:
    """The previous release's schema (its ``create_all``) filled with history; returns its rows."""
    engine = _engine(url)
    L = legacy
    meta_tables = None if tables is None else [L.Base.metadata.tables[t] for t in tables]
    L.Base.metadata.create_all(engine, tables=meta_tables)
    with Session(engine) as s:
        ada = L.User(username="ada", password_hash="scrypt:32768:8:1$salt$ab", role="expert", created_at=T0)
        bob = L.User(username="bob", password_hash="scrypt:32768:8:1$salt$cd", role="admin", created_at=T0,
                     last_login_at=T0 + timedelta(days=2), auth_gen=3)
        vic = L.User(username="vic", password_hash="x", role="viewer", active=False, created_at=T0)
        s.add_all([ada, bob, vic])
        s.flush()
        s.add_all([L.LoginAttempt(username="ada", ip="10.0.0.1", success=ok, at=T0 + timedelta(minutes=i))
                   for i, ok in enumerate([False, False, True])])
        s.add(L.LoginAttempt(username="nobody", ip="10.0.0.9", success=False, at=T0))
        if tables is None or "login_sessions" in tables:
            s.add(L.LoginSession(id="a" * 64, user_id=bob.id, created_at=T0, expires_at=T0 + timedelta(days=7)))
        # a verdict, changed twice (history), and one still current, by two experts
        j1 = L.Judgement(user_id=ada.id, run_id="km", section_id="song00-00000", cluster=1, verdict="disagree",
                         suggested_cluster=2, comment="sounds like the chorus", source="queue:random",
                         blind=True, client_id="c-1", created_at=T0)
        s.add(j1)
        s.flush()
        j1.superseded_at = T0 + timedelta(hours=1)  # as the app does: the old one first, then the new one
        s.flush()
        j2 = L.Judgement(user_id=ada.id, run_id="km", section_id="song00-00000", cluster=1, verdict="agree",
                         comment="", source="map", client_id="c-2", created_at=j1.superseded_at)
        s.add(j2)
        s.flush()
        j1.superseded_by = j2.id
        s.add(L.Judgement(user_id=bob.id, run_id="gmm", section_id="song01-00003", cluster=None, verdict="unsure",
                          created_at=T0))
        c1 = L.ClusterVerdict(user_id=ada.id, run_id="km", cluster=0, verdict="mixed", comment="two things",
                              client_id="cv-1", created_at=T0)
        s.add(c1)
        s.flush()
        c1.superseded_at = T0 + timedelta(hours=2)
        s.flush()
        c2 = L.ClusterVerdict(user_id=ada.id, run_id="km", cluster=0, verdict="merge", merge_with=2,
                              created_at=c1.superseded_at)
        s.add(c2)
        s.flush()
        c1.superseded_by = c2.id
        if tables is None or "cluster_names" in tables:
            n1 = L.ClusterName(user_id=ada.id, run_id="km", cluster=2, name="Slow intros", created_at=T0)
            s.add(n1)
            s.flush()
            n1.superseded_at = T0 + timedelta(days=1)
            s.flush()
            n2 = L.ClusterName(user_id=bob.id, run_id="km", cluster=2, name="Quiet intros", created_at=n1.superseded_at)
            s.add(n2)
            s.flush()
            n1.superseded_by = n2.id
            s.add(L.ClusterName(user_id=bob.id, run_id="gmm", cluster=0, name="Ünïcode ✓ names", created_at=T0))
        s.commit()
    rows = _rows(engine)
    engine.dispose()
    return rows


def _rows(engine) -> dict[str, list[dict]]:
    """Every row of every table, as plain dicts, by table, read as the previous release read them."""
    present = set(inspect(engine).get_table_names())
    out = {}
    with engine.connect() as conn:
        for name, table in legacy.Base.metadata.tables.items():
            if name in present:
                out[name] = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
    return out


def rows_of(url) -> dict[str, list[dict]]:
    engine = _engine(url)
    try:
        return _rows(engine)
    finally:
        engine.dispose()


def tables_of(url) -> list[str]:
    engine = _engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _model_rows(db: Database) -> dict[str, list[dict]]:
    """Every row read through the current models."""
    out = {}
    with db.read() as s:
        for name, model in CURRENT.items():
            cols = [c.key for c in model.__table__.columns]
            out[name] = [{c: getattr(obj, c) for c in cols}
                         for obj in s.scalars(select(model).order_by(model.id))]
    return out


def run_cli(*argv) -> int:
    return cli_main(list(argv))


def schema_ddl(url) -> dict:
    """What the database itself says its schema is (tables, columns, constraints, indexes)."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                         "AND name NOT LIKE 'alembic_%' ORDER BY type, name")).all()
                return {(t, n): re.sub(r"\s+", " ", sql or "").replace("( ", "(").replace(" )", ")") for t, n, sql in rows}
            cols = conn.execute(text(
                "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version' "
                "ORDER BY table_name, ordinal_position")).all()
            cons = conn.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'alembic_version' "
                "ORDER BY 1, 2")).all()
            idx = conn.execute(text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY 1, 2")).all()
            seqs = conn.execute(text("SELECT sequence_name FROM information_schema.sequences ORDER BY 1")).all()
            return {"columns": cols, "constraints": cons, "indexes": idx, "sequences": seqs}
    finally:
        engine.dispose()


def version_rows(url) -> list[str]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


# ---- (a) a database of the previous release, upgraded ------------------------------------------------
def test_upgrade_keeps_every_row_of_a_previous_release_database(new_url, capsys):
    from sectionist.dashboard.judging import repository

    before = make_legacy_database(new_url)
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    out = capsys.readouterr().out
    assert "adopted as revision 0001" in out and f"to {migrations.head()} (head)" in out
    assert version_rows(new_url) == [migrations.head()]

    db = Database(new_url)  # now at head: opens without complaint
    try:
        assert _model_rows(db) == before  # every row, every value, read with the current models
        assert {u["username"] for u in before["users"]} == {"ada", "bob", "vic"}
        assert len(before["judgements"]) == 3 and len(before["cluster_verdicts"]) == 2
        assert len(before["cluster_names"]) == 3
        # the history reads as history
        assert repository.current_cluster_names(db, "km") == {2: "Quiet intros"}
        assert [h["name"] for h in repository.cluster_name_history(db, "km", 2)] == ["Slow intros", "Quiet intros"]
        assert repository.current_cluster_names(db, "gmm") == {0: "Ünïcode ✓ names"}
        assert len(repository.judgements_frame(db)) == 2
        assert len(repository.judgements_frame(db, history=True)) == 3
        assert len(repository.cluster_verdicts_frame(db)) == 1
        # and the upgraded database takes new verdicts, superseding the old ones (partial index intact)
        with db.read() as s:
            ada = s.scalars(select(User).where(User.username == "ada")).one()
        repository.record_judgement(db, ada, run_id="km", section_id="song00-00000", verdict="disagree", cluster=1)
        current = repository.judgements_frame(db)
        assert len(current) == 2 and set(current["verdict"]) == {"disagree", "unsure"}
        assert len(repository.judgements_frame(db, history=True)) == 4
    finally:
        db.dispose()


def test_an_older_release_without_the_newer_tables_gets_them(new_url, capsys):
    # releases before logout-revocation and named clusters had no login_sessions / cluster_names
    before = make_legacy_database(new_url, tables=["users", "login_attempts", "judgements", "cluster_verdicts"])
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert "created the tables it lacked: cluster_names, login_sessions" in capsys.readouterr().out
    db = Database(new_url)
    try:
        rows = _model_rows(db)
    finally:
        db.dispose()
    assert rows == {**before, "login_sessions": [], "cluster_names": []}
    assert _no_differences(new_url) == []


def test_upgrade_from_0001_keeps_every_row_and_adds_playlist_links(new_url, capsys):
    """A database at revision 0001 (the first release with migrations), full of history, goes to
    0002 (playlist links) through ``sectionist db upgrade``: every row kept, the new tables work."""
    from sectionist.dashboard.auth.links import issue_link, link_allows

    before = make_legacy_database(new_url)
    db = Database(new_url, create=False)
    try:
        migrations.upgrade(db, "0001")
    finally:
        db.dispose()
    assert version_rows(new_url) == ["0001"] and "playlist_links" not in tables_of(new_url)
    capsys.readouterr()
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert "upgraded from 0001 to 0003 (head)" in capsys.readouterr().out
    assert version_rows(new_url) == ["0003"] == [migrations.head()]
    assert {"playlist_links", "playlist_link_sections", "pair_judgements", "structure_corrections"} <= set(tables_of(new_url))
    assert _no_differences(new_url) == []
    db = Database(new_url)
    try:
        assert _model_rows(db) == before
        with db.read() as s:
            bob = s.scalars(select(User).where(User.username == "bob")).one()
        token, _expires = issue_link(db, bob, ["song00-00000", "song00-00001"], ttl=60, title="t", secret_key="k" * 32)
        with db.read() as s:
            link = s.scalars(select(PlaylistLink)).one()
        assert link.user_id == bob.id and link.n_sections == 2 and token
        assert link_allows(db, link.id, "song00-00001") and not link_allows(db, link.id, "song01-00003")
    finally:
        db.dispose()


def test_upgrade_from_0002_adds_the_guidance_tables_and_keeps_every_row(new_url, capsys):
    """0002 (playlist links) to 0003 (pairwise answers and structure corrections): every row kept,
    one current answer per person, run and pair, a superseded one kept beside it."""
    from sectionist.dashboard.models import PairJudgement, StructureCorrection

    before = make_legacy_database(new_url)
    db = Database(new_url, create=False)
    try:
        migrations.upgrade(db, "0002")
    finally:
        db.dispose()
    assert "pair_judgements" not in tables_of(new_url)
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert "upgraded from 0002 to 0003 (head)" in capsys.readouterr().out
    assert _no_differences(new_url) == []
    db = Database(new_url)
    try:
        assert _model_rows(db) == before
        with db.write() as s:
            bob = s.scalars(select(User).where(User.username == "bob")).one()
            old = PairJudgement(user_id=bob.id, run_id="km", section_a="a-00000", section_b="b-00001", relation="same")
            s.add(old)
            s.flush()
            old.superseded_at = old.created_at
            s.add(PairJudgement(user_id=bob.id, run_id="km", section_a="a-00000", section_b="b-00001",
                                relation="different", created_at=old.created_at))
            s.add(StructureCorrection(user_id=bob.id, song_id="a", scheme="merged", kind="split", time_a=12.5))
        with db.read() as s:
            answers = s.scalars(select(PairJudgement).order_by(PairJudgement.id)).all()
            fix = s.scalars(select(StructureCorrection)).one()
        assert [a.relation for a in answers] == ["same", "different"]
        assert (fix.kind, fix.time_a, fix.time_b, fix.withdrawn_at) == ("split", 12.5, None, None)
    finally:
        db.dispose()


def test_the_installed_command_upgrades_a_store_database(tmp_path):
    """The ``sectionist`` executable itself, with ``--store``, as a deployer types it."""
    store = tmp_path / "store"
    store.mkdir()
    url = sqlite_url(store / "sectionist.sqlite")
    before = make_legacy_database(url)
    exe = Path(sys.executable).parent / "sectionist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTIONIST_")}
    up = subprocess.run([str(exe), "db", "upgrade", "--store", str(store)], capture_output=True, text=True,
                        env=env, timeout=300)
    assert up.returncode == 0, up.stderr
    assert "adopted as revision 0001" in up.stdout
    cur = subprocess.run([str(exe), "db", "current", "--store", str(store)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert cur.returncode == 0 and "up to date" in cur.stdout and f"head:     {migrations.head()}" in cur.stdout
    assert rows_of(url) == before


# ---- (b) head is the models' schema --------------------------------------------------------------------
def _no_differences(url) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrations_at_head_make_exactly_the_models_schema(new_url, request, tmp_path):
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert version_rows(new_url) == [migrations.head()]
    assert _no_differences(new_url) == []
    # stricter than compare_metadata (partial index conditions, ON DELETE, names PostgreSQL gave the
    # unnamed constraints): the DDL the database reports equals what create_all of the models makes
    if new_url.startswith("sqlite"):
        other = sqlite_url(tmp_path / "create_all.sqlite")
    else:
        other = request.getfixturevalue("pg_server").create_database("m_create_all_" + str(abs(hash(new_url)) % 10**6))
    engine = _engine(other)
    Base.metadata.create_all(engine)
    engine.dispose()
    assert schema_ddl(new_url) == schema_ddl(other)


def test_a_previous_release_database_upgraded_has_the_models_schema(new_url):
    make_legacy_database(new_url)
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert _no_differences(new_url) == []


def test_a_new_database_opened_by_the_code_is_created_at_head_and_stamped(new_url):
    db = Database(new_url)  # what the app, users add, … do
    try:
        state = migrations.schema_state(db)
    finally:
        db.dispose()
    assert state.status == "current" and state.revision == migrations.head()
    assert _no_differences(new_url) == []
    if new_url.startswith("sqlite"):
        assert os.stat(new_url[len("sqlite:///"):]).st_mode & 0o777 == 0o600  # password hashes inside


# ---- (c) old databases are refused, with the command that fixes them -----------------------------------
def test_the_app_refuses_a_previous_release_database(tmp_path):
    from judge_store import make_judge_store

    from sectionist.dashboard.app import create_app

    store = make_judge_store(tmp_path / "store")
    url = sqlite_url(tmp_path / "old.sqlite")
    before = make_legacy_database(url)
    with pytest.raises(migrations.SchemaOutOfDate) as err:
        create_app(store, db_url=url, secret_key="k" * 32)
    message = str(err.value)
    assert "earlier release" in message
    assert f"sectionist db upgrade --db {url}" in message and "--store DIR" in message
    assert rows_of(url) == before and "alembic_version" not in tables_of(url)
    # after the upgrade it starts
    assert run_cli("db", "upgrade", "--db", url) == 0
    app = create_app(store, db_url=url, secret_key="k" * 32)
    assert app.server.test_client().get("/healthz").status_code == 200


def test_the_commands_that_open_the_database_refuse_an_old_one(tmp_path, capsys):
    """The commands that open the database refuse too (exit 2) and change nothing."""
    store = tmp_path / "store"
    store.mkdir()
    url = sqlite_url(store / "sectionist.sqlite")
    before = make_legacy_database(url)
    for argv in (["users", "add", "eve", "--role", "expert", "--store", str(store)],
                 ["users", "list", "--db", url],
                 ["judgements", "summary", "--db", url]):
        assert run_cli(*argv) == 2, argv
        err = capsys.readouterr().err
        assert "sectionist db upgrade --db" in err and "earlier release" in err, argv
    assert rows_of(url) == before


def test_a_postgresql_password_is_not_shown(pg_server):
    url = pg_server.create_database("m_pw").replace("sectionist@", "sectionist:s3cret@")
    state = migrations.SchemaState(url=Database(url, create=False).safe_url, revision=None, head="0001",
                                   tables=("users",))
    message = migrations.refusal(state)
    assert "s3cret" not in message and "***" in message and "SECTIONIST_DB_URL" in message


def test_a_database_from_a_newer_release_is_refused_by_everyone(new_url, capsys):
    run_cli("db", "upgrade", "--db", new_url)
    engine = _engine(new_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    capsys.readouterr()
    with pytest.raises(migrations.SchemaOutOfDate, match="does not know"):
        Database(new_url)
    assert run_cli("db", "upgrade", "--db", new_url) == 2
    assert "newer release" in capsys.readouterr().err
    assert version_rows(new_url) == ["f00dfeed"]


# ---- (d) upgrading twice ------------------------------------------------------------------------------------
def test_upgrade_twice_is_a_no_op(new_url, capsys):
    before = make_legacy_database(new_url)
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    schema, rows = schema_ddl(new_url), rows_of(new_url)
    capsys.readouterr()
    assert run_cli("db", "upgrade", "--db", new_url) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert schema_ddl(new_url) == schema and rows_of(new_url) == rows == before
    assert version_rows(new_url) == [migrations.head()]


def test_upgrade_of_a_missing_database_creates_it_at_head(tmp_path, capsys):
    url = sqlite_url(tmp_path / "sub" / "new.sqlite")
    assert run_cli("db", "current", "--db", url) == 0
    assert "no database yet" in capsys.readouterr().out and not (tmp_path / "sub" / "new.sqlite").exists()
    assert run_cli("db", "upgrade", "--db", url) == 0
    assert "created the tables at revision" in capsys.readouterr().out
    assert run_cli("db", "upgrade", "--db", url) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert run_cli("db", "upgrade", "--store", str(tmp_path / "nope")) == 2
    assert "no such store folder" in capsys.readouterr().err
