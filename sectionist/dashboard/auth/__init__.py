"""Accounts, login and route protection for the dashboard.

:func:`init_auth` is called by :func:`sectionist.dashboard.app.create_app` on every app. It installs

- the user database (:class:`sectionist.dashboard.models.Database`; a SQLite file beside the store by
  default, PostgreSQL by URL) and flask-login (:mod:`.sessions`),
- ``SECRET_KEY`` (argument, ``$SECRET_KEY``, or a generated file with mode 0600 outside the repo: :mod:`.keys`),
- the blueprint of ``/login``, ``/logout``, ``/api/me`` and the admin's ``/admin/users`` (:mod:`.blueprint`),
  and the ``/playlists`` page of playlist links (:mod:`.links`),
- a ``before_request`` hook that requires login on **every** other route (:func:`.guards.require_login`),
- CSRF protection on every state-changing request (flask-wtf), session cookies that are HttpOnly
  and SameSite=Lax, and Secure over TLS.

The modules: :mod:`.context` (the app's :class:`~.context.AuthSettings`, database, current user),
:mod:`.guards` (public paths, role checks), :mod:`.policy` (username, role and password rules),
:mod:`.accounts` (user management), :mod:`.login` (password check and lockout), :mod:`.sessions`,
:mod:`.keys`, :mod:`.blueprint`, :mod:`.users_cli` (``sectionist users``). They only authenticate:
they know nothing of judgements (:mod:`sectionist.dashboard.judging` imports them, never the
reverse), and ``/healthz`` belongs to the app factory. See ``docs/security.md`` for every route
and how it is protected.
"""

from __future__ import annotations

from pathlib import Path


def init_auth(
    app,
    *,
    db_url: str | None,
    secret_key: str | None,
    store_uri: str,
    secure_cookies: bool | None = None,
    behind_proxy: bool | None = None,
    secret_file: str | Path | None = None,
    data_dir: str | Path | None = None,
    max_failures: int = 5,
    lockout_seconds: int = 900,
    playlist_ttl: float | None = None,
) -> None:
    """Protect a Dash app: accounts, login, CSRF, role checks; login required on every route.

    Parameters
    ----------
    app : dash.Dash
        The app (its Flask ``app.server`` is configured).
    db_url : str or None
        SQLAlchemy URL of the user/judgement database; None: :func:`.keys.default_db_url`.
    secret_key : str or None
        Session signing key; None: :func:`.keys.load_secret_key` (a 0600 file: ``secret_file`` or
        ``<data_dir>/secret_key``).
    store_uri : str
        The store the app serves (locates the default database).
    secure_cookies : bool or None
        Always mark cookies Secure (None: no; cookies are Secure anyway on requests that arrived
        over TLS). ``$SECTIONIST_SECURE_COOKIES`` reaches here through the settings.
    behind_proxy : bool or None
        Trust one proxy's ``X-Forwarded-For/Proto/Host/Prefix`` headers (nginx in front;
        None: no; ``$SECTIONIST_BEHIND_PROXY`` through the settings), so ``request.is_secure`` and
        the client IP are right.
    secret_file, data_dir : path, optional
        Where the generated session key is kept (see :func:`.keys.load_secret_key`) and the folder of the
        databases of ``s3://`` stores (see :func:`.keys.default_db_url`).
    max_failures, lockout_seconds : int
        Lock a username+IP after this many failed logins within this many seconds.
    playlist_ttl : float, optional
        Seconds a downloaded playlist's links play (:mod:`.links`; None:
        :data:`sectionist.settings.PLAYLIST_TTL`, 7 days; ``$SECTIONIST_PLAYLIST_TTL`` through the settings).
    """
    from datetime import timedelta

    from flask_login import LoginManager
    from flask_wtf.csrf import CSRFProtect
    from werkzeug.middleware.proxy_fix import ProxyFix

    from sectionist.analysis.errors import ParameterError, SectionistError
    from sectionist.dashboard.models import get_database

    from sectionist.settings import PLAYLIST_TTL

    from sectionist.dashboard.auth.blueprint import bp
    from sectionist.dashboard.auth.links import bp as links_bp
    from sectionist.dashboard.auth.context import EXTENSION_KEY, AuthSettings
    from sectionist.dashboard.auth.guards import require_login
    from sectionist.dashboard.auth.keys import default_db_url, load_secret_key
    from sectionist.dashboard.auth.sessions import TLSAwareSessionInterface, load_user

    server = app.server if hasattr(app, "server") else app
    if EXTENSION_KEY in server.extensions:
        raise SectionistError("init_auth() was already called on this app")
    if max_failures < 1 or lockout_seconds < 1:
        raise ParameterError(f"max_failures={max_failures}, lockout_seconds={lockout_seconds}: must be ≥ 1")
    if playlist_ttl is not None and not playlist_ttl > 0:
        raise ParameterError(f"playlist_ttl={playlist_ttl!r}: must be more than 0 seconds")

    db = get_database(db_url or default_db_url(store_uri, data_dir))
    secure_cookies = bool(secure_cookies)
    server.extensions[EXTENSION_KEY] = AuthSettings(db=db, store_uri=str(store_uri), max_failures=max_failures,
                                                    lockout_seconds=lockout_seconds, secure_cookies=secure_cookies)
    server.config.update(
        SECRET_KEY=load_secret_key(secret_key, secret_file=secret_file, data_dir=data_dir),
        SESSION_COOKIE_NAME="sectionist_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
        PLAYLIST_LINK_SECONDS=float(playlist_ttl or PLAYLIST_TTL),
    )
    server.session_interface = TLSAwareSessionInterface()
    if behind_proxy:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)

    login_manager = LoginManager()
    login_manager.session_protection = "basic"
    login_manager.init_app(server)
    login_manager.user_loader(load_user)
    # first of all before_request hooks: nothing else runs for an anonymous request
    server.before_request_funcs.setdefault(None, []).insert(0, require_login)
    CSRFProtect().init_app(server)
    server.register_blueprint(bp)
    server.register_blueprint(links_bp)
