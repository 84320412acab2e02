"""Pairwise answers ("do these two sound like the same kind of section?"): recorded in order with
history, idempotent by client id, validated, read back, and through the API against the store."""

from __future__ import annotations

import shutil

import pytest
from auth_helpers import build_app, csrf_header, login
from judge_store import make_judge_store

from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.judging import pair_answers, repository
from sectionist.dashboard.models import Database, PairJudgement, PermissionDenied, get_database, sqlite_url


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_judge_store(tmp_path_factory.mktemp("pairs") / "store")


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs-db") / "db.sqlite"
    db = Database(sqlite_url(path))
    made = {name: (name, create_user(db, name, role)) for name, role in (("ada", "expert"), ("vic", "viewer"))}
    db.dispose()
    return path, made


@pytest.fixture
def db_url(tmp_path, _template):
    path = tmp_path / "db.sqlite"
    shutil.copy(_template[0], path)
    return sqlite_url(path)


def test_pair_is_stored_in_order_superseded_and_idempotent(db_url):
    db = get_database(db_url)
    ada = get_user(db, "ada")
    first, created = repository.record_pair(db, ada, "km", "song01-00002", "song00-00001", "same", client_id="c1")
    assert created and (first["section_a"], first["section_b"]) == ("song00-00001", "song01-00002")
    again, created = repository.record_pair(db, ada, "km", "song01-00002", "song00-00001", "same", client_id="c1")
    assert not created and again["id"] == first["id"]
    second, _ = repository.record_pair(db, ada, "km", "song00-00001", "song01-00002", "different")
    assert second["supersedes"] == first["id"]
    with db.read() as s:
        rows = s.query(PairJudgement).order_by(PairJudgement.id).all()
    assert [r.relation for r in rows] == ["same", "different"]
    assert rows[0].superseded_by == rows[1].id and rows[1].superseded_at is None
    cur = pair_answers.pairs_frame(db)
    assert list(cur["relation"]) == ["different"] and list(cur["username"]) == ["ada"]
    assert len(pair_answers.pairs_frame(db, history=True)) == 2
    assert len(pair_answers.pairs_frame(db, run_id="other")) == 0
    assert pair_answers.answered_pairs(db, ada, "km") == {("song00-00001", "song01-00002")}


def test_pair_bad_input_and_roles(db_url):
    db = get_database(db_url)
    ada, vic = get_user(db, "ada"), get_user(db, "vic")
    with pytest.raises(PermissionDenied):
        repository.record_pair(db, vic, "km", "a", "b", "same")
    with pytest.raises(repository.ParameterError, match="two different sections"):
        repository.record_pair(db, ada, "km", "a", "a", "same")
    with pytest.raises(repository.ParameterError, match="relation"):
        repository.record_pair(db, ada, "km", "a", "b", "maybe")
    assert len(pair_answers.pairs_frame(db, history=True)) == 0


def test_pair_api_checks_the_store(store, db_url, _template):
    app = build_app(store, db_url)
    c = app.server.test_client()
    login(c, *_template[1]["ada"])
    ok = {"run_id": "km", "section_a": "song00-00000", "section_b": "song01-00001", "relation": "same"}
    r = c.post("/api/pair-judgements", json=ok, headers=csrf_header(c))
    assert r.status_code == 201 and r.get_json()["relation"] == "same"
    assert c.post("/api/pair-judgements", json={**ok, "section_b": "nope"}, headers=csrf_header(c)).status_code == 404
    assert c.post("/api/pair-judgements", json={**ok, "relation": "x"}, headers=csrf_header(c)).status_code == 400
    assert c.post("/api/pair-judgements", json=ok).status_code in (400, 403)  # no CSRF header
    v = app.server.test_client()
    login(v, *_template[1]["vic"])
    assert v.post("/api/pair-judgements", json=ok, headers=csrf_header(v)).status_code == 403
