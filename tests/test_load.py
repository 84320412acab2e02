"""Concurrency: 20 experts log in at once and post 50 judgements each through the real endpoint,
against the app under gunicorn with 4 workers on loopback — exactly 1 000 judgements are stored,
none lost, none duplicated. Once with SQLite (WAL) and once with PostgreSQL started from Debian's
packages by the test itself (:mod:`pg`)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from auth_helpers import login_session
from judge_store import RUNS, make_judge_store, race_verdicts, section_ids
from pg import free_port
from sqlalchemy import func, select

from sectionist.dashboard.auth.accounts import create_user
from sectionist.dashboard.models import Database, Judgement, User, sqlite_url

N_EXPERTS = 20
PER_EXPERT = 50
WORKERS = 4
TESTS_DIR = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = pytest.mark.slow


def _start_gunicorn(tmp_path, store, db_url):
    port = free_port()
    (tmp_path / "loadtest_wsgi.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS_DIR)!r})
        from auth_helpers import build_app
        server = build_app({store!r}, {db_url!r}).server
    """))
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR.parent), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [str(GUNICORN), "--preload", "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--chdir", str(tmp_path), "loadtest_wsgi:server"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited ({proc.returncode}):\n{(tmp_path / 'gunicorn.log').read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise AssertionError(f"gunicorn did not answer /healthz:\n{(tmp_path / 'gunicorn.log').read_text()[-3000:]}")


def _one_expert(base, username, password, items):
    session = requests.Session()
    token = login_session(session, base, username, password)
    statuses = []
    for n, (run_id, section_id) in enumerate(items):
        resp = session.post(
            f"{base}/api/judgements",
            json={"run_id": run_id, "section_id": section_id, "verdict": ("agree", "disagree", "unsure")[n % 3],
                  "comment": f"{username} #{n}", "client_id": f"{username}-{n}"},
            headers={"X-CSRFToken": token},
            timeout=60,
        )
        statuses.append(resp.status_code)
    return statuses


def _run_load(tmp_path, db_url):
    store = make_judge_store(tmp_path / "store")
    db = Database(db_url)
    # one real account through the API, then 19 more sharing its password hash (hashing is slow on purpose)
    password = create_user(db, "expert00", "expert")
    with db.write() as s:
        pw_hash = s.scalar(select(User.password_hash).where(User.username == "expert00"))
        s.add_all([User(username=f"expert{i:02d}", role="expert", password_hash=pw_hash) for i in range(1, N_EXPERTS)])
    db.dispose()
    users = {f"expert{i:02d}": password for i in range(N_EXPERTS)}
    items = list(itertools.product(RUNS, section_ids()))
    assert len(items) >= PER_EXPERT
    proc, base = _start_gunicorn(tmp_path, store, db_url)
    try:
        t0 = time.monotonic()
        with ThreadPoolExecutor(N_EXPERTS) as pool:
            futures = {name: pool.submit(_one_expert, base, name, pw, (items[i:] + items[:i])[:PER_EXPERT])
                       for i, (name, pw) in enumerate(users.items())}
            results = {name: f.result() for name, f in futures.items()}
        elapsed = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for name, statuses in results.items():
        assert statuses == [201] * PER_EXPERT, (name, sorted(set(statuses)))

    db = Database(db_url)
    try:
        with db.read() as s:
            total = s.scalar(select(func.count()).select_from(Judgement))
            current = s.scalar(select(func.count()).select_from(Judgement).where(Judgement.superseded_at.is_(None)))
            keys = {tuple(r) for r in s.execute(select(User.username, Judgement.client_id).join(User, Judgement.user_id == User.id))}
            per_user = {name: n for name, n in s.execute(
                select(User.username, func.count(Judgement.id)).join(Judgement, Judgement.user_id == User.id).group_by(User.username))}
    finally:
        db.dispose()
    expected = {(name, f"{name}-{n}") for name in users for n in range(PER_EXPERT)}
    assert total == N_EXPERTS * PER_EXPERT == 1000
    assert current == 1000
    assert keys == expected  # none lost, none duplicated
    assert per_user == {name: PER_EXPERT for name in users}
    print(f"\n{N_EXPERTS * PER_EXPERT} judgements from {N_EXPERTS} experts in {elapsed:.1f} s ({db_url.split(':')[0]})")
    return elapsed


def test_load_sqlite(tmp_path):
    elapsed = _run_load(tmp_path, sqlite_url(tmp_path / "judgements.sqlite"))
    assert elapsed < 120


@pytest.fixture(scope="module")
def pg(pg_server):
    return pg_server


def test_load_postgresql(tmp_path, pg):
    elapsed = _run_load(tmp_path, pg.url)
    assert elapsed < 120


def test_same_section_race_postgresql(pg):
    """Many concurrent verdicts by one expert on one section (PostgreSQL, READ COMMITTED): every
    one is stored, exactly one is current, and the history is one unbroken chain."""
    db = Database(pg.create_database("race"))
    try:
        create_user(db, "racer", "expert", password="steady-tempo-pass-1")
        from sectionist.dashboard.auth.accounts import get_user

        hist = race_verdicts(db, get_user(db, "racer"), "song00-00000", 16)
        assert len(hist) == 16
        assert hist["superseded_at"].isna().sum() == 1
        chain = hist.dropna(subset=["superseded_by"])
        assert len(chain) == 15 and chain["superseded_by"].is_unique
        assert set(chain["superseded_by"]) | {int(hist["id"].min())} == set(hist["id"])
    finally:
        db.dispose()
