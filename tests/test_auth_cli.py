"""``sectionist users``: add, list, role, passwd, remove; no default password anywhere."""

from __future__ import annotations

import io
import os
import re
import stat

import pytest
from auth_helpers import build_app, login
from judge_store import make_judge_store

from sectionist.dashboard.auth.accounts import list_users
from sectionist.dashboard.auth.keys import default_db_url
from sectionist.dashboard.models import Database
from sectionist.cli import main

PW = re.compile(r"password \(shown once\): (\S+)")


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_commands(tmp_path, capsys, monkeypatch):
    store = make_judge_store(tmp_path / "store")
    code, out, _ = run(capsys, "users", "add", "demo-admin", "--role", "admin", "--if-missing", "--store", store)
    assert code == 0
    pw = PW.search(out).group(1)
    assert len(pw) >= 16
    db_file = tmp_path / "store" / "sectionist.sqlite"
    assert stat.S_IMODE(os.stat(db_file).st_mode) == 0o600
    # again with --if-missing: nothing changes, no password printed
    code, out, _ = run(capsys, "users", "add", "demo-admin", "--role", "admin", "--if-missing", "--store", store)
    assert code == 0 and "exists already" in out and not PW.search(out)
    # --reset-if-exists (make demo): a fresh password every run, the old one stops working
    code, out, _ = run(capsys, "users", "add", "demo-admin", "--role", "admin", "--reset-if-exists", "--store", store)
    assert code == 0 and out.startswith("reset user")
    old_pw, pw = pw, PW.search(out).group(1)
    assert pw != old_pw
    # without --if-missing an existing name is an error
    code, _, err = run(capsys, "users", "add", "demo-admin", "--role", "admin", "--store", store)
    assert code == 2 and "exists" in err
    # password from stdin is used and not printed
    monkeypatch.setattr("sys.stdin", io.StringIO("a-chosen-password-1\n"))
    code, out, _ = run(capsys, "users", "add", "ada", "--role", "expert", "--password-stdin", "--store", store)
    assert code == 0 and "a-chosen-password-1" not in out
    code, out, _ = run(capsys, "users", "list", "--store", store)
    assert re.search(r"ada\s+expert", out) and re.search(r"demo-admin\s+admin", out)
    code, out, _ = run(capsys, "users", "role", "ada", "viewer", "--store", store)
    assert code == 0
    code, out, _ = run(capsys, "users", "passwd", "ada", "--store", store)
    new_pw = PW.search(out).group(1)

    # the accounts work in the app, with the printed passwords
    app = build_app(store, default_db_url(store))
    client = app.server.test_client()
    assert login(client, "demo-admin", old_pw, check=False).status_code == 401
    login(client, "demo-admin", pw)
    assert client.get("/api/me").get_json()["role"] == "admin"
    other = app.server.test_client()
    assert login(other, "ada", "a-chosen-password-1", check=False).status_code == 401
    login(other, "ada", new_pw)
    assert other.get("/api/me").get_json()["role"] == "viewer"

    code, out, _ = run(capsys, "users", "remove", "ada", "--store", store)
    assert code == 0
    code, out, _ = run(capsys, "users", "list", "--store", store)
    assert "ada" not in out
    code, _, err = run(capsys, "users", "remove", "demo-admin", "--store", store)
    assert code == 2 and "last admin" in err


def test_users_needs_a_database(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SECTIONIST_DB_URL", raising=False)
    code, _, err = run(capsys, "users", "list")
    assert code == 2 and "--db" in err
    code, _, err = run(capsys, "users", "list", "--store", str(tmp_path / "missing"))
    assert code == 2 and "no such store" in err
    code, _, err = run(capsys, "users", "list", "--db", "mysql://x/y")
    assert code == 2 and "only sqlite and postgresql" in err
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    code, out, _ = run(capsys, "users", "list", "--db", url)
    assert code == 0 and "no accounts" in out
    with pytest.raises(SystemExit):
        main(["users", "add", "x", "--role", "root", "--db", url])
    db = Database(url)
    assert list_users(db) == []
    db.dispose()


def test_users_cli_refuses_weak_passwords(tmp_path, capsys, monkeypatch):
    store = make_judge_store(tmp_path / "store")
    for weak, reason in (("aaaaaaaaaa", "too easy to guess"), ("password123", "common passwords"),
                         ("ada-is-my-name", "username")):
        monkeypatch.setattr("sys.stdin", io.StringIO(weak + "\n"))
        code, out, err = run(capsys, "users", "add", "ada", "--role", "expert", "--password-stdin", "--store", store)
        assert code == 2 and reason in err and weak not in out
    monkeypatch.setattr("sys.stdin", io.StringIO("a-chosen-password-1\n"))
    code, _, _ = run(capsys, "users", "add", "ada", "--role", "expert", "--password-stdin", "--store", store)
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("aaaaaaaaaa\n"))
    code, _, err = run(capsys, "users", "passwd", "ada", "--password-stdin", "--store", store)
    assert code == 2 and "too easy to guess" in err
