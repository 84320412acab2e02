"""Security of the web app: every route behind login, CSRF, lockout, open redirects, cookies, roles."""

from __future__ import annotations

import os
import re
import shutil
import stat

import pytest
from auth_helpers import build_app, csrf_from_html, csrf_header, login
from judge_store import make_judge_store, section_ids

from sectionist.analysis.errors import ParameterError
from sectionist.dashboard.auth.accounts import create_user, get_user, remove_user, set_password, set_role
from sectionist.dashboard.auth.context import AuthSettings, auth_settings
from sectionist.dashboard.auth.guards import is_public, safe_next
from sectionist.dashboard.auth.keys import default_db_url, load_secret_key
from sectionist.dashboard.auth.login import GENERIC_LOGIN_ERROR, LOCKOUT_MESSAGE, authenticate
from sectionist.dashboard.auth.policy import generate_password, valid_password
from sectionist.dashboard.auth.sessions import SESSION_MAX_AGE
from sectionist.dashboard.auth import sessions
from sectionist.dashboard.models import Database, get_database, sqlite_url

PW_RE = re.compile(r"shown once\): (\S+)<")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_judge_store(tmp_path_factory.mktemp("auth") / "store")


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    """Users made once (password hashing is slow on purpose); each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("auth-db") / "users.sqlite"
    db = Database(sqlite_url(path))
    made = {role: (f"{role}1", create_user(db, f"{role}1", role)) for role in ("admin", "expert", "viewer")}
    db.dispose()  # closing the last connection folds the WAL into the file
    return path, made


@pytest.fixture
def db_url(tmp_path, _template):
    path = tmp_path / "users.sqlite"
    shutil.copy(_template[0], path)
    return sqlite_url(path)


@pytest.fixture
def app(store, db_url):
    return build_app(store, db_url)


@pytest.fixture
def client(app):
    return app.server.test_client()


@pytest.fixture
def users(db_url, _template):
    return dict(_template[1])


def _sample_url(rule) -> str:
    """A concrete URL for a url_map rule (placeholders filled with harmless values)."""
    values = {}
    for arg in rule.arguments:
        conv = rule._converters[arg]
        name = type(conv).__name__
        if name in ("IntegerConverter",):
            values[arg] = 1
        elif name == "PathConverter":
            values[arg] = "some/path.js"
        else:
            values[arg] = {"fmt": "wav"}.get(arg, "x")
    url = rule.build(values, append_unknown=False)[1]
    return url


ANON_EXTRA = [
    ("GET", "/"),
    ("GET", "/map"),
    ("GET", "/clusters?run=km"),
    ("GET", "/judge"),
    ("GET", "/judgements"),
    ("GET", "/_dash-layout"),
    ("GET", "/_dash-dependencies"),
    ("POST", "/_dash-update-component"),
    ("GET", "/_reload-hash"),
    ("GET", "/_dash-component-suites/dash/dcc/dash_core_components.js"),
    ("GET", "/_dash-component-suites/dash/deps/react@18.v4_0_0m1.min.js"),
    ("GET", "/assets/judging.js"),
    ("GET", "/audio/song00-00000.wav"),
    ("GET", "/audio/song00-00000.ogg"),
    ("GET", "/spectrogram/song00-00000.png"),
    ("GET", "/export/judgements.csv"),
    ("GET", "/export/judgements.parquet"),
    ("GET", "/export/cluster-verdicts.csv"),
    ("GET", "/api/judgements"),
    ("POST", "/api/judgements"),
    ("POST", "/api/cluster-verdicts"),
    ("GET", "/api/me"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/_favicon.ico"),
]


def _assert_blocked(resp, method, url):
    assert resp.status_code in (302, 401), f"{method} {url} answered {resp.status_code} without login"
    if resp.status_code == 302:
        loc = resp.headers["Location"]
        assert loc.startswith("/login?next=") or (url == "/logout" and loc == "/login"), (url, loc)
    body = resp.get_data()
    assert b"RIFF" not in body and b"PNG" not in body


def test_every_route_requires_login(app, client):
    rules = list(app.server.url_map.iter_rules())
    assert len(rules) >= 8
    checked = 0
    for rule in rules:
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method)
            if is_public(url):
                # 400: POST /login without CSRF; 302/404: the language switch (known/unknown code)
                assert resp.status_code in (200, 302, 400, 404), (method, url, resp.status_code)
                continue
            _assert_blocked(resp, method, url)
            checked += 1
    for method, url in ANON_EXTRA:
        _assert_blocked(client.open(url, method=method, json={} if method == "POST" else None), method, url)
        checked += 1
    assert checked >= 30


def test_page_redirects_and_api_gets_401(client):
    page = client.get("/map?run=km", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Fmap%3Frun%3Dkm"
    xhr = client.post("/_dash-update-component", json={"output": "x"})
    assert xhr.status_code == 401
    assert client.get("/audio/song00-00000.wav").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_login_then_pages_and_dash_endpoints_work(client, users):
    login(client, *users["viewer"])
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200
    me = client.get("/api/me").get_json()
    assert me == {"username": "viewer1", "role": "viewer", "can_judge": False}
    # logging in again goes straight on; GET /login while logged in redirects
    assert client.get("/login?next=/map").headers["Location"] == "/map"


def test_dash_callback_needs_csrf_header(app, client, users):
    login(client, *users["viewer"])
    deps = client.get("/_dash-dependencies").get_json()
    assert deps, "the app has callbacks"
    cb = deps[0]
    body = {
        "output": cb["output"],
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[-1]} for o in cb["output"].strip(".").split("...")]
        if cb["output"].startswith("..") else {"id": cb["output"].split(".")[0], "property": cb["output"].split(".")[1]},
        "inputs": [{"id": i["id"], "property": i["property"], "value": None} for i in cb["inputs"]],
        "changedPropIds": [],
        "state": [{"id": s["id"], "property": s["property"], "value": None} for s in cb.get("state", [])],
    }
    without = client.post("/_dash-update-component", json=body)
    assert without.status_code == 400
    assert b"CSRF" in without.data
    with_token = client.post("/_dash-update-component", json=body, headers=csrf_header(client))
    assert with_token.status_code in (200, 204), with_token.data[:300]


def test_login_post_without_csrf_is_rejected(client, users):
    name, pw = users["admin"]
    resp = client.post("/login", data={"username": name, "password": pw})
    assert resp.status_code == 400
    assert client.get("/api/me").status_code == 401
    # a token from another session is rejected as well
    other = client.application.test_client()
    token = csrf_from_html(other.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": name, "password": pw, "csrf_token": token})
    assert resp.status_code == 400
    assert client.get("/api/me").status_code == 401


def test_generic_error_text(client, users):
    name, _ = users["expert"]
    wrong = login(client, name, "wrong-password-123", check=False)
    unknown = login(client, "nobody-here", "wrong-password-123", check=False)
    assert wrong.status_code == unknown.status_code == 401
    for resp in (wrong, unknown):
        text = resp.get_data(as_text=True)
        assert GENERIC_LOGIN_ERROR in text
        assert "unknown" not in text.lower() and "no such" not in text.lower()


def test_lockout_after_repeated_failures(app, client, users):
    settings = auth_settings(app.server)
    settings.max_failures = 3
    name, pw = users["expert"]
    for _ in range(3):
        assert login(client, name, "not-the-password", check=False).status_code == 401
    locked = login(client, name, pw, check=False)  # even the right password is refused now
    assert locked.status_code == 429
    assert LOCKOUT_MESSAGE in locked.get_data(as_text=True)
    assert client.get("/api/me").status_code == 401
    # the lock is per username and IP: the same user from another address still gets in
    other = app.server.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    login(other, name, pw)
    # and it ends when the failures age out of the window
    settings.lockout_seconds = 1
    import time

    time.sleep(1.2)
    login(client, name, pw)


def test_lockout_counts_unknown_usernames_too(app, client):
    auth_settings(app.server).max_failures = 2
    for _ in range(2):
        assert login(client, "ghost", "whatever-password", check=False).status_code == 401
    assert login(client, "ghost", "whatever-password", check=False).status_code == 429


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil", "//evil.example/x", "/\\evil.example", "\\\\evil", "http:/evil",
     "javascript:alert(1)", " //evil", "https:evil.example", "\t//evil", "/\t/evil", "///evil"],
)
def test_open_redirect_blocked(client, users, target):
    from urllib.parse import urlsplit

    resp = login(client, *users["viewer"], next=target)
    loc = resp.headers["Location"]
    assert loc == "/", (target, loc)
    parts = urlsplit(loc)
    assert not parts.scheme and not parts.netloc


def test_next_keeps_local_paths(client, users):
    resp = login(client, *users["viewer"], next="/map?run=km&x=1")
    assert resp.headers["Location"] == "/map?run=km&x=1"


def test_safe_next_unit():
    assert safe_next(None) == "/"
    assert safe_next("/songs?song=a") == "/songs?song=a"
    for bad in ["https://evil.example", "//evil", "/\\evil", "evil", "http:/x", "/a\nb", ""]:
        assert safe_next(bad) == "/", bad


def _set_cookies(resp):
    return resp.headers.getlist("Set-Cookie")


def test_session_cookie_flags(app, client, users):
    resp = login(client, *users["viewer"])
    session_cookie = [c for c in _set_cookies(resp) if c.startswith("sectionist_session=")]
    assert session_cookie, _set_cookies(resp)
    c = session_cookie[0]
    assert "HttpOnly" in c and "SameSite=Lax" in c
    assert "Secure" not in c  # plain http in a test client
    # over TLS the cookie is Secure
    tls = app.server.test_client()
    page = tls.get("/login", base_url="https://localhost")
    token = csrf_from_html(page.get_data(as_text=True))
    name, pw = users["expert"]
    resp = tls.post("/login", data={"username": name, "password": pw, "csrf_token": token}, base_url="https://localhost",
                    headers={"Referer": "https://localhost/login"})
    assert resp.status_code == 302
    c = [c for c in _set_cookies(resp) if c.startswith("sectionist_session=")][0]
    assert "Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c
    # the CSRF cookie the Dash renderer reads is not HttpOnly (by design) but SameSite and Secure
    csrf_cookie = [c for c in _set_cookies(resp) if c.startswith("_csrf_token=")][0]
    assert "SameSite=Lax" in csrf_cookie and "Secure" in csrf_cookie


def test_secure_cookie_flag_forced_by_config(app, users):
    settings = auth_settings(app.server)
    settings.secure_cookies = True
    app.server.config["SESSION_COOKIE_SECURE"] = True
    client = app.server.test_client()
    resp = login(client, *users["viewer"])
    c = [c for c in _set_cookies(resp) if c.startswith("sectionist_session=")][0]
    assert "Secure" in c


def test_logout(client, users):
    login(client, *users["expert"])
    page = client.get("/logout")
    assert page.status_code == 200
    token = csrf_from_html(page.get_data(as_text=True))
    assert client.post("/logout").status_code == 400  # CSRF-less logout refused
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/api/me").status_code == 401
    assert client.get("/").status_code == 302


def _judgement(sid="song00-00001", verdict="agree", run="km"):
    return {"run_id": run, "section_id": sid, "verdict": verdict}


def test_viewer_cannot_judge_or_manage_users(client, users):
    login(client, *users["viewer"])
    h = csrf_header(client)
    assert client.post("/api/judgements", json=_judgement(), headers=h).status_code == 403
    assert client.post("/api/cluster-verdicts", json={"run_id": "km", "cluster": 0, "verdict": "coherent"},
                       headers=h).status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"action": "add", "username": "eve", "role": "admin",
                                             "csrf_token": h["X-CSRFToken"]}).status_code == 403
    assert client.get("/export/judgements.csv").status_code == 403
    assert get_user(get_database(client.application.extensions["sectionist_auth"].db.url), "eve") is None


def test_expert_judges_but_cannot_manage_users(client, users, db_url):
    login(client, *users["expert"])
    h = csrf_header(client)
    resp = client.post("/api/judgements", json=_judgement(), headers=h)
    assert resp.status_code == 201, resp.data
    assert resp.get_json()["cluster"] == 1  # read from the store on the server
    assert client.post("/api/judgements", json=_judgement()).status_code == 400  # no CSRF header
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"action": "role", "username": "expert1", "role": "admin",
                                             "csrf_token": h["X-CSRFToken"]}).status_code == 403
    assert get_user(get_database(db_url), "expert1").role == "expert"


def test_admin_manages_users(client, users, db_url):
    login(client, *users["admin"])
    h = csrf_header(client)
    page = client.get("/admin/users")
    assert page.status_code == 200 and b"expert1" in page.data
    resp = client.post("/admin/users", data={"action": "add", "username": "newbie", "role": "expert",
                                              "csrf_token": h["X-CSRFToken"]})
    assert resp.status_code == 200
    pw = PW_RE.search(resp.get_data(as_text=True)).group(1)
    other = client.application.test_client()
    login(other, "newbie", pw)
    # a role change is enforced on the next request of an open session
    client.post("/admin/users", data={"action": "role", "username": "newbie", "role": "viewer",
                                      "csrf_token": h["X-CSRFToken"]})
    assert other.post("/api/judgements", json=_judgement(), headers=csrf_header(other)).status_code == 403
    # removal ends the session
    client.post("/admin/users", data={"action": "remove", "username": "newbie", "csrf_token": h["X-CSRFToken"]})
    assert other.get("/api/me").status_code == 401
    # CSRF-less admin form post refused
    assert client.post("/admin/users", data={"action": "add", "username": "x2", "role": "admin"}).status_code == 400
    assert get_user(get_database(db_url), "x2") is None


def test_password_change_ends_sessions(client, users, db_url):
    name, pw = users["expert"]
    login(client, name, pw)
    assert client.get("/api/me").status_code == 200
    new = set_password(get_database(db_url), name)
    assert client.get("/api/me").status_code == 401
    login(client, name, new)


def test_unknown_section_or_run_is_404(client, users):
    login(client, *users["expert"])
    h = csrf_header(client)
    assert client.post("/api/judgements", json=_judgement(sid="nope"), headers=h).status_code == 404
    assert client.post("/api/judgements", json=_judgement(run="nope"), headers=h).status_code == 404
    assert client.post("/api/judgements", json=_judgement(verdict="maybe"), headers=h).status_code == 400
    assert client.post("/api/judgements", data="not json", headers=h).status_code == 400
    assert section_ids()[1] == "song00-00001"


def test_secret_key_file_is_private(tmp_path):
    key = load_secret_key(None, data_dir=tmp_path / "data")
    path = tmp_path / "data" / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret_key(None, data_dir=tmp_path / "data") == key  # stable across processes/workers
    assert load_secret_key(None, secret_file=path, data_dir=tmp_path / "elsewhere") == key
    assert load_secret_key("given-by-the-settings-0123456789") == "given-by-the-settings-0123456789"
    with pytest.raises(ParameterError, match="too short"):
        load_secret_key("short")


def test_default_db_url(tmp_path, monkeypatch):
    monkeypatch.setenv("SECTIONIST_DB_URL", "sqlite:////not/this/one.sqlite")  # read by the settings, not here
    assert default_db_url(str(tmp_path / "st")) == f"sqlite:///{(tmp_path / 'st' / 'sectionist.sqlite').resolve()}"
    s3 = default_db_url("s3://bucket/prefix", tmp_path / "data")
    assert s3.startswith(f"sqlite:///{(tmp_path / 'data' / 'stores').resolve()}") and s3.endswith(".sqlite")


def test_user_management_rules(tmp_path):
    db = get_database(sqlite_url(tmp_path / "fresh.sqlite"))
    pw = create_user(db, "boss", "admin")
    assert len(pw) >= 16
    assert create_user(db, "boss", "admin", if_missing=True) is None
    with pytest.raises(ParameterError, match="exists"):
        create_user(db, "boss", "expert")
    with pytest.raises(ParameterError, match="role"):
        create_user(db, "x", "superuser")
    with pytest.raises(ParameterError, match="username"):
        create_user(db, "bad name!", "viewer")
    with pytest.raises(ParameterError, match="too short"):
        create_user(db, "shorty", "viewer", password="abc")
    with pytest.raises(ParameterError, match="last admin"):
        remove_user(db, "boss")
    with pytest.raises(ParameterError, match="last admin"):
        set_role(db, "boss", "viewer")
    from werkzeug.security import check_password_hash

    user = get_user(db, "boss")
    assert user.password_hash != pw and check_password_hash(user.password_hash, pw)


def test_behind_proxy_uses_forwarded_proto_and_ip(store, db_url, users):
    from sectionist.dashboard.app import create_app
    from sectionist.settings import Settings

    settings = Settings.from_env({"SECTIONIST_BEHIND_PROXY": "1"})
    app = create_app(store, db_url=db_url, secret_key="test-secret-key-" + "x" * 32,
                     auth_options=settings.auth_options())
    settings = auth_settings(app.server)
    settings.max_failures = 2
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "judge.example"}
    client = app.server.test_client()
    name, pw = users["expert"]
    for _ in range(2):
        page = client.get("/login", headers=fwd)
        token = csrf_from_html(page.get_data(as_text=True))
        resp = client.post("/login", data={"username": name, "password": "wrong-password-1", "csrf_token": token},
                           headers={**fwd, "Referer": "https://judge.example/login"})
        assert resp.status_code == 401
    # locked for the forwarded client address, not for the proxy's own address
    with settings.db.read() as s:
        from sectionist.dashboard.models import LoginAttempt

        assert {a.ip for a in s.query(LoginAttempt)} == {"203.0.113.7"}
    page = client.get("/login", headers=fwd)
    token = csrf_from_html(page.get_data(as_text=True))
    locked = client.post("/login", data={"username": name, "password": pw, "csrf_token": token},
                         headers={**fwd, "Referer": "https://judge.example/login"})
    assert locked.status_code == 429
    other = {**fwd, "X-Forwarded-For": "198.51.100.9"}
    page = client.get("/login", headers=other)
    token = csrf_from_html(page.get_data(as_text=True))
    ok = client.post("/login", data={"username": name, "password": pw, "csrf_token": token},
                     headers={**other, "Referer": "https://judge.example/login"})
    assert ok.status_code == 302
    cookie = [c for c in _set_cookies(ok) if c.startswith("sectionist_session=")][0]
    assert "Secure" in cookie  # the request came in over TLS at the proxy


# ---- security: password policy beyond length (issue 15) -------------------------------------------
@pytest.mark.parametrize("password, reason", [
    ("aaaaaaaaaa", "too easy to guess"),           # long enough, but a repeat
    ("password123", "common passwords"),
    ("qwertyuiop", "common passwords"),
    ("1234567890", "common passwords"),
    ("abcdefghijkl", "too easy to guess"),         # a sequence
    ("ola-nordmann", "username"),                  # the username itself
    ("my-OLA-NORDMANN-rocks-42", "username"),      # contains it, any case
])
def test_weak_passwords_are_refused(tmp_path, password, reason):
    db = get_database(sqlite_url(tmp_path / "pw.sqlite"))
    with pytest.raises(ParameterError, match=reason):
        create_user(db, "ola-nordmann", "viewer", password=password)
    pw = create_user(db, "ola-nordmann", "viewer")  # a generated password passes
    with pytest.raises(ParameterError, match=reason):
        set_password(db, "ola-nordmann", password)
    assert set_password(db, "ola-nordmann") != pw


def test_password_policy_accepts_strong_and_generated_passwords(tmp_path):
    db = get_database(sqlite_url(tmp_path / "pw.sqlite"))
    for i, good in enumerate(("correct horse battery staple 42", "Tr0ub4dor&3-sunny-harbour", "x" * 3 + "?Vq8#mLw2!zR" * 8)):
        assert create_user(db, f"user{i}", "viewer", password=good) == good
    for _ in range(50):
        valid_password(generate_password(), "someone")
    with pytest.raises(ParameterError, match="too short"):
        valid_password(None)


# ---- security: the lockout holds under concurrent logins (issue 15) ----------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_wrong_passwords_check_at_most_the_limit(backend, tmp_path, monkeypatch, request):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import time

    import werkzeug.security

    from sectionist.dashboard.models import LoginAttempt

    if backend == "sqlite":
        db = Database(sqlite_url(tmp_path / "race.sqlite"))
    else:  # the advisory-lock path, on a real server
        db = Database(request.getfixturevalue("pg_server").create_database("lockout"))
    request.addfinalizer(db.dispose)
    pw = create_user(db, "target", "expert")
    settings = AuthSettings(db=db, max_failures=5)
    checked = []
    real_check = werkzeug.security.check_password_hash

    def slow_check(pwhash, password):  # a slow hash widens the window the old code raced in
        checked.append(password)
        time.sleep(0.05)
        return real_check(pwhash, password)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", slow_check)
    gate = threading.Barrier(30)

    def attempt(i):
        gate.wait()
        return authenticate(settings, "target", f"wrong-{i}", "10.0.0.9")[1]

    with ThreadPoolExecutor(max_workers=30) as pool:
        reasons = list(pool.map(attempt, range(30)))
    n_checked = len(checked)
    assert 1 <= n_checked <= settings.max_failures
    assert reasons.count("invalid") == n_checked and reasons.count("locked") == 30 - n_checked
    assert authenticate(settings, "target", pw, "10.0.0.9") == (None, "locked")  # even the right one
    # another address is not locked, and a success there is recorded as one
    user, reason = authenticate(settings, "target", pw, "10.0.0.10")
    assert reason is None and user.username == "target"
    from sqlalchemy import select

    with db.read() as s:
        rows = s.execute(select(LoginAttempt.ip, LoginAttempt.success)).all()
    assert sorted(rows) == sorted([("10.0.0.9", False)] * n_checked + [("10.0.0.10", True)])


def test_anonymous_admin_users_page_redirects_browsers_and_refuses_apis(client):
    """What docs/security.md states for an anonymous /admin/users."""
    page = client.get("/admin/users", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=%2Fadmin%2Fusers"
    assert client.get("/admin/users", headers={"Accept": "application/json"}).status_code == 401
    assert client.get("/admin/users", headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 401
    assert client.post("/admin/users", data={"action": "add"}).status_code == 401


@pytest.mark.parametrize("path", [
    "/_dash-component-suites/dash/__init__.py",
    "/_dash-component-suites/dash/no-such-file.js",
    "/_dash-component-suites/no_such_package/x.js",
    "/_dash-component-suites/os/__init__.py",
])
def test_unknown_component_suite_path_is_404(client, users, path, caplog):
    """A file Dash does not serve under /_dash-component-suites/ is a 404, with no traceback logged."""
    login(client, *users["viewer"])
    with caplog.at_level("ERROR"):
        resp = client.get(path)
    assert resp.status_code == 404
    assert not [r for r in caplog.records if r.exc_info]


def test_registered_component_suite_files_are_still_served(client, users):
    login(client, *users["viewer"])
    html = client.get("/").get_data(as_text=True)
    srcs = re.findall(r'src="(/_dash-component-suites/[^"]+)"', html)
    assert srcs
    assert client.get(srcs[0]).status_code == 200


def _session_cookie(client) -> str:
    cookie = client.get_cookie("sectionist_session")
    assert cookie is not None
    return cookie.value


def test_logout_revokes_the_session_server_side(app, client, users):
    """A copy of the session cookie taken before logging out no longer signs in afterwards."""
    login(client, *users["expert"])
    assert client.get("/api/me").status_code == 200
    saved = _session_cookie(client)
    token = csrf_from_html(client.get("/logout").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.server.test_client()
    replay.set_cookie("sectionist_session", saved)
    assert replay.get("/api/me").status_code == 401
    assert replay.get("/").status_code == 302
    # another login of the same user (another browser) is not affected by this logout
    other = app.server.test_client()
    login(other, *users["expert"])
    login(client, *users["expert"])
    token = csrf_from_html(client.get("/logout").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert other.get("/api/me").status_code == 200


def test_session_has_an_absolute_lifetime(client, users, db_url, monkeypatch):
    """However often it is used, a login ends SESSION_MAX_AGE after it began."""
    from datetime import timedelta

    login(client, *users["viewer"])
    assert client.get("/api/me").status_code == 200
    real_now = sessions.utcnow
    monkeypatch.setattr(sessions, "utcnow", lambda: real_now() + SESSION_MAX_AGE - timedelta(minutes=1))
    assert client.get("/api/me").status_code == 200  # still within the lifetime
    monkeypatch.setattr(sessions, "utcnow", lambda: real_now() + SESSION_MAX_AGE + timedelta(minutes=1))
    assert client.get("/api/me").status_code == 401
    assert SESSION_MAX_AGE <= timedelta(days=7)


def test_session_without_a_server_side_record_is_refused(app, client, users, db_url):
    """Deleting the login_sessions rows (what logout does) ends the sessions they name."""
    from sqlalchemy import delete

    from sectionist.dashboard.models import LoginSession

    login(client, *users["viewer"])
    assert client.get("/api/me").status_code == 200
    with get_database(db_url).write() as s:
        s.execute(delete(LoginSession))
    assert client.get("/api/me").status_code == 401
