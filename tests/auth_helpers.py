"""Log in from tests: create users, log in a Flask test client, a requests session or a browser page.

Usage::

    from tests.auth_helpers import make_user, login
    pw = make_user(db_url, "ada", "expert")
    login(client, "ada", pw)           # Flask test client; asserts the login worked

``db_url`` is the URL given to ``create_app(..., db_url=...)`` (or
:func:`sectionist.dashboard.auth.default_db_url` of the store when the app uses the default).
"""

from __future__ import annotations

import re

from sectionist.dashboard.auth.accounts import create_user
from sectionist.dashboard.models import get_database

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(db_url: str, username: str, role: str = "expert", password: str | None = None) -> str:
    """Create ``username`` with ``role`` in the database at ``db_url``; return the password."""
    return create_user(get_database(db_url), username, role, password)


def csrf_from_html(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    m = _CSRF_RE.search(html)
    if not m:
        raise AssertionError("no csrf_token field in the page")
    return m.group(1)


def login(client, username: str, password: str, *, next: str | None = None, check: bool = True):
    """Log a Flask test client in through the real login form (GET for the CSRF token, then POST).

    Returns the POST response (a 302 redirect on success). With ``check`` it asserts success.
    """
    page = client.get("/login")
    assert page.status_code == 200, page.status_code
    token = csrf_from_html(page.get_data(as_text=True))
    form = {"username": username, "password": password, "csrf_token": token}
    if next is not None:
        form["next"] = next
    resp = client.post("/login", data=form)
    if check:
        assert resp.status_code == 302, f"login of {username!r} failed: {resp.status_code}"
        assert not resp.headers["Location"].startswith("/login")
    return resp


def csrf_header(client) -> dict:
    """``{"X-CSRFToken": …}`` for a logged-in Flask test client (the token the app set as cookie)."""
    cookie = client.get_cookie("_csrf_token")
    if cookie is None:
        client.get("/api/me")  # any logged-in request sets the cookie
        cookie = client.get_cookie("_csrf_token")
    assert cookie is not None, "no _csrf_token cookie: is the client logged in?"
    return {"X-CSRFToken": cookie.value}


def login_session(session, base_url: str, username: str, password: str) -> str:
    """Log a ``requests.Session`` in against a running server; return the CSRF token for
    ``X-CSRFToken`` headers of later POSTs."""
    base_url = base_url.rstrip("/")
    page = session.get(f"{base_url}/login", timeout=30)
    page.raise_for_status()
    token = csrf_from_html(page.text)
    resp = session.post(
        f"{base_url}/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302, f"login of {username!r} failed: {resp.status_code} {resp.text[:200]}"
    me = session.get(f"{base_url}/api/me", timeout=30)
    assert me.status_code == 200, me.status_code
    return session.cookies.get("_csrf_token")


def login_page(page, base_url: str, username: str, password: str, *, next: str = "/") -> None:
    """Log a Playwright ``page`` in through the login form, then wait for the app to load."""
    from urllib.parse import quote

    base_url = base_url.rstrip("/")
    page.goto(f"{base_url}/login?next={quote(next)}")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-button")
    if "/login" in page.url:
        raise AssertionError(f"browser login of {username!r} failed (still on {page.url})")


def build_app(store_uri: str, db_url: str):
    """The real app (``sectionist.dashboard.app.create_app``) when it exists, else a minimal Dash app with one
    page, one callback, and stand-ins for the audio and spectrogram routes, protected by
    :func:`sectionist.dashboard.auth.init_auth`. Tune the login rules afterwards through
    ``sectionist.dashboard.auth.auth_settings(app.server)``."""
    try:
        from sectionist.dashboard.app import create_app
    except ImportError:
        create_app = None
    if create_app is not None:
        return create_app(store_uri, db_url=db_url, secret_key="test-secret-key-" + "x" * 32)

    import dash
    import flask
    from dash import Input, Output, dcc, html

    from sectionist.dashboard.auth import init_auth

    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div([dcc.Location(id="url"), dcc.Input(id="t-in", value="a"), html.Div(id="t-out")])

    @app.callback(Output("t-out", "children"), Input("t-in", "value"))
    def _echo(value):
        return f"echo {value}"

    @app.server.route("/audio/<section_id>.<fmt>")
    def _audio(section_id, fmt):
        return flask.Response(b"RIFF", mimetype="audio/wav")

    @app.server.route("/spectrogram/<section_id>.png")
    def _spec(section_id):
        return flask.Response(b"\x89PNG", mimetype="image/png")

    init_auth(app, db_url=db_url, secret_key="test-secret-key-" + "x" * 32, store_uri=store_uri)
    return app


def judged_app(root, secret_key: str):
    """The real app on a small synthetic store with audio (6 songs, 96 sections) and an admin "ada"
    who judged 5 sections of every run (agree, agree, disagree, unsure, agree), so every page,
    the runs table and the Judgements page have something to show. Returns ``(app, password, data)``."""
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.judging.repository import record_judgement

    store = build_synthetic_store(root / "store", n_sections=96, sections_per_song=16, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=5)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key=secret_key)
    password = make_user(db, "ada", "admin")
    data = app.server.extensions["sectionist_data"]
    database = get_database(db)
    ada = get_user(database, "ada")
    for run_id in data.runs.index:
        for sid, verdict in zip(data.section_ids[:5], ["agree", "agree", "disagree", "unsure", "agree"]):
            record_judgement(database, ada, run_id=run_id, section_id=str(sid), verdict=verdict)
    return app, password, data
