"""One settings object (:mod:`sectionist.settings`) and its one precedence:
command-line option > the more specific option > environment variable > built-in default."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from judge_store import make_judge_store

from sectionist.dashboard.models import Database
from sectionist.cli import build_parser, main
from sectionist.settings import (
    ENVIRONMENT,
    Settings,
    SettingsError,
    sqlite_url,
    store_db_url,
)

HOME = Path.home()
PW = re.compile(r"password \(shown once\): (\S+)")


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**kw)


# ---- the precedence, value by value ---------------------------------------------------------------
ENV_DB = "postgresql://env@db/sectionist"
CASES = [
    # (id, options, environment, attribute, expected)
    # the store
    ("store default", {}, {}, "store", None),
    ("store from env", {}, {"SECTIONIST_STORE": "/env/store"}, "store", "/env/store"),
    ("store option beats env", {"store": "/opt/store"}, {"SECTIONIST_STORE": "/env/store"}, "store", "/opt/store"),
    ("empty env is unset", {}, {"SECTIONIST_STORE": ""}, "store", None),
    # the database: --db > --store's > $SECTIONIST_DB_URL > none
    ("db default", {}, {}, "db_url", None),
    ("db from env", {}, {"SECTIONIST_DB_URL": ENV_DB}, "db_url", ENV_DB),
    ("--store beats env db", {"store": "/opt/store"}, {"SECTIONIST_DB_URL": ENV_DB}, "db_url",
     sqlite_url("/opt/store/sectionist.sqlite")),
    ("--db beats --store and env", {"store": "/opt/store", "db": "sqlite:////x.sqlite"},
     {"SECTIONIST_DB_URL": ENV_DB}, "db_url", "sqlite:////x.sqlite"),
    ("--db alone", {"db": "sqlite:////x.sqlite"}, {}, "db_url", "sqlite:////x.sqlite"),
    ("env store does not beat env db", {}, {"SECTIONIST_STORE": "/env/store", "SECTIONIST_DB_URL": ENV_DB},
     "db_url", ENV_DB),
    ("--store s3: a file in the data dir", {"store": "s3://bucket/p"}, {"SECTIONIST_DATA_DIR": "/data"}, "db_url",
     store_db_url("s3://bucket/p", "/data")),
    # the secret
    ("secret default", {}, {}, "secret_key", None),
    ("secret from env", {}, {"SECRET_KEY": "k" * 20}, "secret_key", "k" * 20),
    ("secret file default", {}, {}, "secret_file", None),
    ("secret file from env", {}, {"SECTIONIST_SECRET_FILE": "/run/key"}, "secret_file", Path("/run/key")),
    # the data folder
    ("data dir default", {}, {}, "data_dir", HOME / ".local" / "share" / "sectionist"),
    ("data dir from XDG", {}, {"XDG_DATA_HOME": "/xdg"}, "data_dir", Path("/xdg/sectionist")),
    ("data dir env beats XDG", {}, {"XDG_DATA_HOME": "/xdg", "SECTIONIST_DATA_DIR": "/d"}, "data_dir", Path("/d")),
    # S3
    ("endpoint default", {}, {}, "s3_endpoint", None),
    ("endpoint from env", {}, {"SECTIONIST_S3_ENDPOINT": "http://env:9000"}, "s3_endpoint", "http://env:9000"),
    ("endpoint option beats env", {"s3_endpoint": "http://opt:9000"}, {"SECTIONIST_S3_ENDPOINT": "http://env:9000"},
     "s3_endpoint", "http://opt:9000"),
    ("region default (the AWS chain)", {}, {"AWS_REGION": "eu-west-1"}, "s3_region", None),
    ("region option", {"s3_region": "eu-north-1"}, {}, "s3_region", "eu-north-1"),
    # the S3 read cache
    ("cache on by default", {}, {}, "s3_cache", True),
    ("cache off with 0 MB", {}, {"SECTIONIST_S3_CACHE_MB": "0"}, "s3_cache", False),
    ("cache size default", {}, {}, "s3_cache_max_bytes", None),
    ("cache size from env", {}, {"SECTIONIST_S3_CACHE_MB": "2.5"}, "s3_cache_max_bytes", int(2.5 * (1 << 20))),
    ("cache ttl default", {}, {}, "s3_cache_ttl", None),
    ("cache ttl from env", {}, {"SECTIONIST_S3_CACHE_TTL": "30"}, "s3_cache_ttl", 30.0),
    ("cache dir default", {}, {}, "s3_cache_dir", HOME / ".cache" / "sectionist" / "s3"),
    ("cache dir from XDG", {}, {"XDG_CACHE_HOME": "/xc"}, "s3_cache_dir", Path("/xc/sectionist/s3")),
    ("cache dir env beats XDG", {}, {"XDG_CACHE_HOME": "/xc", "SECTIONIST_S3_CACHE_DIR": "/c"}, "s3_cache_dir",
     Path("/c")),
    # the model cache
    ("model dir default", {}, {}, "model_dir", None),
    ("model dir from env", {}, {"SECTIONIST_MODEL_DIR": "/models"}, "model_dir", Path("/models")),
    # proxy and cookie flags
    ("proxy default", {}, {}, "behind_proxy", False),
    ("proxy on", {}, {"SECTIONIST_BEHIND_PROXY": "yes"}, "behind_proxy", True),
    ("proxy off", {}, {"SECTIONIST_BEHIND_PROXY": "0"}, "behind_proxy", False),
    ("proxy empty", {}, {"SECTIONIST_BEHIND_PROXY": ""}, "behind_proxy", False),
    ("cookies default", {}, {}, "secure_cookies", False),
    ("cookies on", {}, {"SECTIONIST_SECURE_COOKIES": "TRUE"}, "secure_cookies", True),
    # how long a downloaded playlist's links play
    ("playlist links default: 7 days", {}, {}, "playlist_ttl", 7 * 86400.0),
    ("playlist links in hours", {}, {"SECTIONIST_PLAYLIST_TTL": "12h"}, "playlist_ttl", 12 * 3600.0),
    ("playlist links in seconds", {}, {"SECTIONIST_PLAYLIST_TTL": "90"}, "playlist_ttl", 90.0),
]


@pytest.mark.parametrize("options, environ, attr, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_precedence(options, environ, attr, expected):
    settings = Settings.resolve(_args(**options), environ)
    assert getattr(settings, attr) == expected
    if not options:  # with no option, resolve is the environment alone
        assert getattr(Settings.from_env(environ), attr) == expected


@pytest.mark.parametrize("environ, match", [
    ({"SECTIONIST_S3_CACHE_MB": "lots"}, "SECTIONIST_S3_CACHE_MB"),
    ({"SECTIONIST_S3_CACHE_TTL": "-1"}, "SECTIONIST_S3_CACHE_TTL"),
    ({"SECTIONIST_BEHIND_PROXY": "maybe"}, "SECTIONIST_BEHIND_PROXY"),
    ({"SECTIONIST_PLAYLIST_TTL": "0"}, "SECTIONIST_PLAYLIST_TTL"),
    ({"SECTIONIST_PLAYLIST_TTL": "a week"}, "SECTIONIST_PLAYLIST_TTL"),
])
def test_bad_values_are_reported(environ, match):
    with pytest.raises(SettingsError, match=match):
        Settings.from_env(environ)


def test_what_the_layers_below_get():
    s = Settings.resolve(_args(store="s3://b/p", s3_endpoint="http://h:9000"),
                         {"SECTIONIST_S3_CACHE_MB": "1", "SECTIONIST_S3_CACHE_TTL": "5",
                          "SECTIONIST_S3_CACHE_DIR": "/c", "SECTIONIST_SECURE_COOKIES": "1",
                          "SECTIONIST_SECRET_FILE": "/k", "SECTIONIST_DATA_DIR": "/d"})
    assert s.store_options() == {"endpoint_url": "http://h:9000", "cache": True, "cache_dir": Path("/c"),
                                 "cache_max_bytes": 1 << 20, "cache_ttl": 5.0}
    assert s.auth_options() == {"secret_file": Path("/k"), "data_dir": Path("/d"), "secure_cookies": True,
                                "behind_proxy": False, "playlist_ttl": 7 * 86400.0}
    # the app's database: db_url, else the default database of the store from the environment
    assert Settings.from_env({"SECTIONIST_STORE": "/st"}).database_url() == sqlite_url("/st/sectionist.sqlite")
    assert Settings.from_env({}).database_url() is None
    assert "SECRET_KEY" not in repr(Settings(secret_key="s" * 20)) and "s" * 20 not in repr(Settings(secret_key="s" * 20))


def test_every_variable_read_is_documented():
    src = (Path(__file__).resolve().parents[1] / "sectionist" / "settings.py").read_text()
    read = set(re.findall(r'"((?:SECTIONIST_|XDG_)[A-Z_]+|SECRET_KEY)"', src))
    assert read <= set(ENVIRONMENT)


def test_the_lower_layers_read_no_sectionist_variable():
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for pkg in ("store", "dashboard"):
        assert (root / "sectionist" / pkg).is_dir(), pkg
        for path in (root / "sectionist" / pkg).rglob("*.py"):
            text = path.read_text()
            if re.search(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[", text):
                offenders.append(str(path.relative_to(root)))
    assert not offenders


# ---- through the real command line ---------------------------------------------------------------
def test_users_store_beats_the_db_variable(tmp_path, capsys, monkeypatch):
    """`sectionist users … --store X` with $SECTIONIST_DB_URL set works on X's database (the bug)."""
    other = tmp_path / "other.sqlite"
    monkeypatch.setenv("SECTIONIST_DB_URL", sqlite_url(other))
    store = make_judge_store(tmp_path / "store")
    assert main(["users", "add", "ada", "--role", "admin", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "store" / "sectionist.sqlite") in out and PW.search(out)
    assert (tmp_path / "store" / "sectionist.sqlite").exists() and not other.exists()
    assert main(["users", "list", "--store", str(store)]) == 0
    assert "ada" in capsys.readouterr().out
    # without --store the variable applies; --db beats both
    assert main(["users", "list"]) == 0
    assert "no accounts" in capsys.readouterr().out and other.exists()
    third = tmp_path / "third.sqlite"
    assert main(["users", "add", "bob", "--role", "viewer", "--store", str(store), "--db", sqlite_url(third)]) == 0
    capsys.readouterr()
    db = Database(sqlite_url(third))
    try:
        from sectionist.dashboard.auth.accounts import list_users

        assert [u.username for u in list_users(db)] == ["bob"]
    finally:
        db.dispose()


def test_a_bad_variable_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SECTIONIST_S3_CACHE_MB", "lots")
    assert main(["info", "--store", str(tmp_path)]) == 2
    assert "SECTIONIST_S3_CACHE_MB" in capsys.readouterr().err


def test_shared_options_are_the_same_everywhere():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with_store = [name for name, p in sub.choices.items() if any("--store" in a.option_strings for a in p._actions)]
    assert {"analyze", "info", "embed", "serve", "cluster", "compare", "cluster-defaults"} <= set(with_store)
    for name in ("analyze", "info", "embed", "serve", "cluster", "compare", "cluster-defaults", "sync"):
        flags = {f for a in sub.choices[name]._actions for f in a.option_strings}
        assert {"--s3-endpoint", "--s3-region"} <= flags, name


def test_the_app_for_gunicorn_takes_the_settings(tmp_path, monkeypatch):
    """`sectionist.dashboard.app:server` builds the app from Settings.from_env (what `serve --workers N` hands over)."""
    import sectionist.dashboard.app as appmod
    from sectionist.dashboard.auth.context import auth_settings

    store = make_judge_store(tmp_path / "store")
    monkeypatch.setattr(appmod, "_lazy_app", None)
    monkeypatch.setenv("SECTIONIST_STORE", str(store))
    monkeypatch.delenv("SECTIONIST_DB_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "g" * 40)
    monkeypatch.setenv("SECTIONIST_SECURE_COOKIES", "1")
    server = appmod.server
    assert server.config["SECRET_KEY"] == "g" * 40 and server.config["SESSION_COOKIE_SECURE"] is True
    assert auth_settings(server).db.url == sqlite_url(Path(store) / "sectionist.sqlite")
    monkeypatch.setattr(appmod, "_lazy_app", None)
    monkeypatch.setenv("SECTIONIST_SECURE_COOKIES", "perhaps")
    from sectionist.analysis.errors import ParameterError

    with pytest.raises(ParameterError, match="SECTIONIST_SECURE_COOKIES"):
        appmod.server  # noqa: B018
    monkeypatch.setattr(appmod, "_lazy_app", None)
