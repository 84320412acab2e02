"""Accounts, login and route protection for the dashboard.

:func:`init_auth` is called by :func:`sectionist.dashboard.app.create_app` on every app. It installs

- the user database (:class:`sectionist.dashboard.models.Database`; a SQLite file beside the store by
  default, PostgreSQL by URL) and flask-login,
- ``SECRET_KEY`` (argument, ``$SECRET_KEY``, or a generated file with mode 0600 outside the repo),
- ``/login`` (CSRF-protected form, generic error text, local-only ``next``, lockout after repeated
  failures per username and IP), ``/logout``, ``/api/me``, the admin's ``/admin/users`` page,
- a ``before_request`` hook that requires login on **every** other route: Dash pages and
  endpoints, component suites, assets, audio, spectrograms, exports, APIs. API-like requests get
  401, page requests a redirect to ``/login?next=…``,
- CSRF protection on every state-changing request (flask-wtf): forms send ``csrf_token``; Dash's
  renderer sends the ``_csrf_token`` cookie back as the ``X-CSRFToken`` header (double submit),
- session cookies that are HttpOnly and SameSite=Lax, and Secure over TLS.

Roles are enforced on the server: :func:`require_role` / :func:`require_judge` for Flask views,
:func:`check_role` / :func:`check_judge` inside Dash callbacks; the rules themselves are the user
model's (:meth:`sectionist.dashboard.models.User.has_role`, :attr:`~sectionist.dashboard.models.User.can_judge`).
This module only authenticates: it knows nothing of judgements (:mod:`sectionist.dashboard.judging` imports
it, never the reverse), and ``/healthz`` belongs to the app factory. See ``docs/security.md`` for
every route and how it is protected.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask.sessions import SecureCookieSessionInterface

from sectionist.analysis.errors import ParameterError, SectionistError
from sectionist.settings import default_data_dir, store_db_url

from sectionist.dashboard.ui.i18n import N_, _, date_time, word
from sectionist.dashboard.models import (
    ROLES,
    ClusterVerdict,
    Database,
    Judgement,
    LoginAttempt,
    LoginSession,
    PermissionDenied,
    User,
    get_database,
    utcnow,
)

log = logging.getLogger(__name__)

#: Paths reachable without logging in (exact matches).
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
#: Path prefixes reachable without logging in: the language switch (it only sets a cookie and
#: redirects to a local path, so the login page can be read in Spanish too).
PUBLIC_PREFIXES = ("/lang/",)


def is_public(path: str) -> bool:
    """Whether ``path`` is answered without login (:data:`PUBLIC_PATHS`, :data:`PUBLIC_PREFIXES`)."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

#: Path prefixes answered with 401 (not a redirect) when not logged in: XHR, media, APIs.
API_PREFIXES = (
    "/_dash-",
    "/_reload-hash",
    "/_favicon",
    "/api/",
    "/audio/",
    "/spectrogram",
    "/assets/",
    "/export",
    "/static/",
)
#: Cookie the Dash renderer reads and sends back as the ``X-CSRFToken`` header.
CSRF_COOKIE = "_csrf_token"
#: The key, in the signed session cookie, of the random token naming its ``login_sessions`` row.
SESSION_TOKEN_KEY = "_sid"
#: How long a login lasts however much it is used (the idle limit is PERMANENT_SESSION_LIFETIME).
SESSION_MAX_AGE = timedelta(days=7)
GENERIC_LOGIN_ERROR = N_("Invalid username or password.")
LOCKOUT_MESSAGE = N_("Too many failed login attempts. Please wait a few minutes and try again.")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
#: The least zxcvbn strength score (0–4) a chosen password needs: 3 is "safely unguessable"
#: (about 10^8 guesses and more).
MIN_PASSWORD_SCORE = 3

_TEMPLATES = Path(__file__).parent / "templates"


class AccountError(ParameterError):
    """A refused account change (a bad username, role or password, the last admin…): its text is
    English (the ``sectionist users`` command, logs); :meth:`translated` gives the admin page the same
    message in the request's language. ``translate`` names variables that are themselves English
    messages (zxcvbn's hint)."""

    def __init__(self, message: str, *, translate: tuple[str, ...] = (), **variables):
        self.message, self.variables, self.translate = message, variables, translate
        super().__init__(message % variables)

    def translated(self) -> str:
        variables = {k: _(v) if k in self.translate else v for k, v in self.variables.items()}
        return _(self.message, **variables)


#: zxcvbn's warnings (its feedback is English) without their full stop, marked so the admin page can
#: show them translated.
ZXCVBN_WARNINGS = (
    N_("Straight rows of keys are easy to guess"), N_("Short keyboard patterns are easy to guess"),
    N_('Repeats like "aaa" are easy to guess'), N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc"'),
    N_('Sequences like "abc" or "6543" are easy to guess'), N_("Recent years are easy to guess"),
    N_("Dates are often easy to guess"), N_("This is a top-10 common password"),
    N_("This is a top-100 common password"), N_("This is a very common password"),
    N_("This is similar to a commonly used password"), N_("A word by itself is easy to guess"),
    N_("Names and surnames by themselves are easy to guess"), N_("Common names and surnames are easy to guess"),
)


@dataclass
class AuthSettings:
    """What :func:`init_auth` decided, kept in ``server.extensions['sectionist_auth']``."""

    db: Database
    store_uri: str = ""
    max_failures: int = 5
    lockout_seconds: int = 900
    max_failures_per_ip: int = 50
    secure_cookies: bool = False


# ---------------------------------------------------------------------------------------------
# locations and secrets
# ---------------------------------------------------------------------------------------------
# No environment variable is read here: the entry points read them once into
# :class:`sectionist.settings.Settings` and pass the values (``data_dir``, ``secret_file``, …) down.
def data_dir(data_dir: str | Path | None = None) -> Path:
    """Per-user folder for generated secrets and databases of remote stores: ``data_dir`` if given,
    else the built-in default ``~/.local/share/sectionist`` (``$SECTIONIST_DATA_DIR`` and
    ``$XDG_DATA_HOME`` are read by :meth:`sectionist.settings.Settings.from_env`)."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


_data_dir = data_dir  # the parameters below shadow the function's name


def default_db_url(store_uri: str, data_dir: str | Path | None = None) -> str:
    """The default database of a store: ``<store>/sectionist.sqlite`` for a local folder, or a
    SQLite file in ``data_dir`` (default :func:`data_dir`; named after the URI) for an ``s3://`` store.

    (``$SECTIONIST_DB_URL`` is not looked at: :class:`sectionist.settings.Settings` decides which wins.)
    """
    return store_db_url(store_uri, _data_dir(data_dir))


def load_secret_key(secret_key: str | None = None, *, secret_file: str | Path | None = None,
                    data_dir: str | Path | None = None) -> str:
    """The session signing key: ``secret_key``, else the key file.

    The key file is ``secret_file`` or ``<data_dir>/secret_key``; it is created with mode 0600 on
    first use (atomically, so several gunicorn workers agree on one key). ``$SECRET_KEY`` and
    ``$SECTIONIST_SECRET_FILE`` reach here through :class:`sectionist.settings.Settings`.
    """
    key = secret_key
    if key:
        if len(key) < 16:
            raise ParameterError("SECRET_KEY is too short: use at least 16 random characters")
        return key
    path = Path(secret_file or _data_dir(data_dir) / "secret_key").expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            try:
                os.link(tmp, path)  # atomic, and fails if another process was first
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        try:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others (mode %o); set it to 0600", path, mode)
        except OSError:
            raise ParameterError(f"{path}: secret key file is readable by others (mode {mode:o}); chmod 600 it") from None
    key = path.read_text().strip()
    if len(key) < 16:
        raise ParameterError(f"{path}: secret key file is empty or too short; delete it to generate a new one")
    return key


# ---------------------------------------------------------------------------------------------
# users (used by the CLI, the admin page and the tests)
# ---------------------------------------------------------------------------------------------
def generate_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError(
            N_("username %(username)s: use 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
            username=repr(username))
    return username


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(N_("role %(role)s: use one of %(roles)s"), role=repr(role), roles=", ".join(ROLES))
    return role


def _check_password(password: str, username: str | None = None) -> str:
    """``password`` if the policy allows it, else :class:`ParameterError` saying why.

    The policy: at least :data:`MIN_PASSWORD_LENGTH` characters; not in zxcvbn's list of 30,000
    common passwords (shipped with the ``zxcvbn`` package: no network, no list in the repo); not
    the username nor containing it (any case, usernames of 3+ characters); and zxcvbn's strength
    score at least :data:`MIN_PASSWORD_SCORE` (which refuses repeats such as ``aaaaaaaaaa``,
    sequences and keyboard walks). Generated passwords (:func:`generate_password`) always pass.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("password too short: use at least %(length)s characters"), length=MIN_PASSWORD_LENGTH)
    low = password.lower()
    if low in _common_passwords():
        raise AccountError(N_("password is in a list of common passwords: choose another"))
    name = (username or "").strip().lower()
    if name and (low == name or (len(name) >= 3 and name in low)):
        raise AccountError(N_("password must not be or contain the username"))
    from zxcvbn import zxcvbn

    # zxcvbn refuses more than 72 characters (its matching is quadratic): judge the first 72
    result = zxcvbn(password[:72], user_inputs=[name] if name else None)
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = (result["feedback"].get("warning") or N_("add more words or characters")).rstrip(".")
        raise AccountError(N_("password too easy to guess (%(hint)s): use a longer or less predictable one"),
                           translate=("hint",), hint=hint)
    return password


@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset:
    """zxcvbn's list of common passwords (from leaked password sets), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(w.lower() for w in FREQUENCY_LISTS["passwords"])


def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def create_user(db: Database, username: str, role: str, password: str | None = None, *, if_missing: bool = False,
                reset_if_exists: bool = False) -> str | None:
    """Create a user and return the password (generated when ``password`` is None).

    With ``if_missing`` an existing active user is left alone and ``None`` is returned; with
    ``reset_if_exists`` an existing user gets the new password and ``role`` (their open
    sessions end), as ``make demo`` does on every run.
    """
    from sqlalchemy import select

    username, role = _check_username(username), _check_role(role)
    password = generate_password() if password is None else _check_password(password, username)
    with db.write() as s:
        existing = s.scalar(select(User).where(User.username == username))
        if existing is not None:
            if if_missing and existing.active and not reset_if_exists:
                return None
            if existing.active and not reset_if_exists:
                raise AccountError(N_("user %(username)s exists already"), username=repr(username))
            if existing.role == "admin" and role != "admin" and existing.active:
                _ensure_another_admin(s, existing)
            # re-activating a removed user, or resetting: a new password and a new session generation
            existing.active, existing.role = True, role
            existing.password_hash = _hash(password)
            existing.auth_gen += 1
            return password
        s.add(User(username=username, role=role, password_hash=_hash(password)))
    return password


def get_user(db: Database, username: str) -> User | None:
    from sqlalchemy import select

    with db.read() as s:
        return s.scalar(select(User).where(User.username == username))


def list_users(db: Database, include_removed: bool = False) -> list[User]:
    from sqlalchemy import select

    with db.read() as s:
        q = select(User).order_by(User.username)
        if not include_removed:
            q = q.where(User.active.is_(True))
        return list(s.scalars(q))


def _require_user(s, username: str) -> User:
    from sqlalchemy import select

    user = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise AccountError(N_("no user %(username)s"), username=repr(username))
    return user


def set_password(db: Database, username: str, password: str | None = None) -> str:
    """Set a new password (generated when None), ending the user's open sessions. Returns it."""
    password = generate_password() if password is None else _check_password(password, username)
    with db.write() as s:
        user = _require_user(s, username)
        user.password_hash = _hash(password)
        user.auth_gen += 1
    return password


def set_role(db: Database, username: str, role: str) -> None:
    """Change a user's role (takes effect on their next request)."""
    role = _check_role(role)
    with db.write() as s:
        user = _require_user(s, username)
        if user.role == "admin" and role != "admin":
            _ensure_another_admin(s, user)
        user.role = role


def remove_user(db: Database, username: str) -> bool:
    """Remove a user and end their sessions.

    A user with judgements is deactivated (their judgements and history stay); a user without
    any is deleted. Returns True when the row was deleted.
    """
    from sqlalchemy import delete, func, select

    with db.write() as s:
        user = _require_user(s, username)
        if user.role == "admin":
            _ensure_another_admin(s, user)
        n = s.scalar(select(func.count()).select_from(Judgement).where(Judgement.user_id == user.id))
        n += s.scalar(select(func.count()).select_from(ClusterVerdict).where(ClusterVerdict.user_id == user.id))
        s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        if n == 0:
            s.delete(user)
            return True
        user.active = False
        user.auth_gen += 1
        return False


def _ensure_another_admin(s, user: User) -> None:
    from sqlalchemy import func, select

    n = s.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id))
    if n == 0:
        raise AccountError(N_("%(username)s is the last admin; make someone else admin first"),
                           username=repr(user.username))


# ---------------------------------------------------------------------------------------------
# request helpers
# ---------------------------------------------------------------------------------------------
def auth_settings(app=None) -> AuthSettings:
    """The :class:`AuthSettings` of ``app`` (default: the current Flask app)."""
    from flask import current_app

    server = app or current_app
    try:
        return server.extensions["sectionist_auth"]
    except KeyError:
        raise SectionistError("init_auth() was not called on this app") from None


def get_db(app=None) -> Database:
    """The user/judgement database of the current (or given) Flask app."""
    return auth_settings(app).db


def current_user_or_none() -> User | None:
    """The logged-in user, or None (outside a request, or anonymous)."""
    from flask import has_request_context
    from flask_login import current_user

    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if getattr(user, "is_authenticated", False) else None


def _check_user(allowed, needs: str) -> User:
    user = current_user_or_none()
    if user is None:
        raise PermissionDenied("not logged in")
    if not allowed(user):
        raise PermissionDenied(f"role {user.role!r} may not do this (needs {needs})")
    return user


def check_role(*roles: str) -> User:
    """The logged-in user if their role is one of ``roles``; else :class:`PermissionDenied`."""
    return _check_user(lambda u: u.has_role(*roles), " or ".join(roles))


def check_judge() -> User:
    """The logged-in user if they may record judgements (:attr:`User.can_judge`); else
    :class:`PermissionDenied`."""
    return _check_user(lambda u: u.can_judge, "a role that may judge")


def _guard(allowed):
    """Decorator for Flask views: 401 when not logged in, 403 unless ``allowed(user)``."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            from flask import abort

            user = current_user_or_none()
            if user is None:
                abort(401)
            if not allowed(user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return deco


def require_role(*roles: str):
    """Decorator for Flask views: 401 when not logged in, 403 when the role is not in ``roles``."""
    for r in roles:
        _check_role(r)
    return _guard(lambda u: u.has_role(*roles))


def require_judge(view):
    """Decorator for Flask views: 401 when not logged in, 403 unless the user may judge
    (:attr:`User.can_judge`)."""
    return _guard(lambda u: u.can_judge)(view)


def safe_next(target: str | None) -> str:
    """``target`` if it is a local path on this site (``/…``), else ``"/"`` (no open redirects)."""
    if not target:
        return "/"
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def client_ip() -> str:
    from flask import request

    return (request.remote_addr or "unknown")[:64]


def _is_api_request(path: str) -> bool:
    from flask import request

    if path.startswith(API_PREFIXES) or request.method != "GET":
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(name: str, status: int = 200, **context):
    from flask import make_response, render_template_string

    text = (_TEMPLATES / name).read_text()
    resp = make_response(render_template_string(text, **context), status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---------------------------------------------------------------------------------------------
# lockout
# ---------------------------------------------------------------------------------------------
def is_locked_out(settings: AuthSettings, username: str, ip: str) -> bool:
    """Whether logins for ``username`` from ``ip`` are locked (too many recent failures).

    Failures count within ``lockout_seconds``, and for a username only since its last success
    from that IP. Independently, one IP is locked after ``max_failures_per_ip`` failures on any
    usernames (password spraying). A read only: :func:`authenticate` counts and records in one
    locked transaction (:func:`_reserve_attempt`).
    """
    with settings.db.read() as s:
        return _count_locked(s, settings, username, ip)


def _count_locked(s, settings: AuthSettings, username: str, ip: str) -> bool:
    """:func:`is_locked_out`'s count, in the session ``s``."""
    from sqlalchemy import func, select

    since = utcnow() - timedelta(seconds=settings.lockout_seconds)
    last_ok = s.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.success.is_(True)
        )
    )
    start = max(since, _aware(last_ok)) if last_ok is not None else since
    n_user = s.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > start,
        )
    )
    if n_user >= settings.max_failures:
        return True
    n_ip = s.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    )
    return n_ip >= settings.max_failures_per_ip


def _reserve_attempt(settings: AuthSettings, username: str, ip: str) -> int | None:
    """Atomically: None when locked out, else record the attempt as a failure and return its id.

    Count and insert happen in one write transaction that concurrent logins of the same username
    and IP cannot interleave (SQLite: ``BEGIN IMMEDIATE`` serialises every writer; PostgreSQL: a
    transaction-level advisory lock on (username, IP)). The attempt counts as a failure from the
    start, so with N logins racing at most ``max_failures`` passwords are ever checked; a correct
    password then turns it into a success (:func:`authenticate`).
    """
    import hashlib

    from sqlalchemy import text

    with settings.db.write() as s:
        if s.get_bind().dialect.name == "postgresql":
            digest = hashlib.sha256(f"login\x1f{username}\x1f{ip}".encode()).digest()
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest[:8], "big", signed=True)})
        if _count_locked(s, settings, username, ip):
            return None
        attempt = LoginAttempt(username=username, ip=ip, success=False, at=utcnow())
        s.add(attempt)
        s.flush()
        return attempt.id


def _aware(dt):
    from datetime import timezone

    # SQLite returns naive datetimes (stored in UTC)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


# a hash to check against when the username is unknown, so both cases take the same time
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hash(secrets.token_hex(16))
    return _DUMMY_HASH


def authenticate(settings: AuthSettings, username: str, password: str, ip: str) -> tuple[User | None, str | None]:
    """Check a login. Returns ``(user, None)`` on success, ``(None, reason)`` otherwise, where
    reason is ``"locked"`` or ``"invalid"``. Every checked attempt is recorded."""
    from sqlalchemy import select
    from werkzeug.security import check_password_hash

    username = (username or "").strip()[:64]
    # count and record in one locked transaction: concurrent wrong passwords cannot all pass a
    # check that none of them has been recorded in yet
    attempt_id = _reserve_attempt(settings, username, ip)
    if attempt_id is None:
        return None, "locked"
    with settings.db.read() as s:
        user = s.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user is not None else _dummy_hash(), password or "")
    ok = ok and user is not None and user.is_active
    if ok:
        with settings.db.write() as s:
            s.get(LoginAttempt, attempt_id).success = True
            db_user = s.get(User, user.id)
            db_user.last_login_at = utcnow()
    return (user, None) if ok else (None, "invalid")


# ---------------------------------------------------------------------------------------------
# the app wiring
# ---------------------------------------------------------------------------------------------
def _token_id(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Database, user: User) -> str:
    """Record a new login session of ``user`` (lasting at most :data:`SESSION_MAX_AGE`) and return
    its token, for the session cookie. Expired sessions are swept on the way."""
    from sqlalchemy import delete

    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as s:
        s.execute(delete(LoginSession).where(LoginSession.expires_at < now))
        s.add(LoginSession(id=_token_id(token), user_id=user.id, created_at=now, expires_at=now + SESSION_MAX_AGE))
    return token


def end_session(db: Database, token: str | None) -> None:
    """Revoke the login session of ``token`` (a no-op for None or an unknown token)."""
    from sqlalchemy import delete

    if token:
        with db.write() as s:
            s.execute(delete(LoginSession).where(LoginSession.id == _token_id(token)))


def session_is_live(db: Database, token: str | None, user_id: int) -> bool:
    """Whether ``token`` names an unrevoked, unexpired login session of ``user_id``."""
    if not token or not isinstance(token, str):
        return False
    with db.read() as s:
        row = s.get(LoginSession, _token_id(token))
    return row is not None and row.user_id == user_id and _aware(row.expires_at) > utcnow()


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
) -> None:
    """Protect a Dash app: accounts, login, CSRF, role checks; login required on every route.

    Parameters
    ----------
    app : dash.Dash
        The app (its Flask ``app.server`` is configured).
    db_url : str or None
        SQLAlchemy URL of the user/judgement database; None: :func:`default_db_url`.
    secret_key : str or None
        Session signing key; None: :func:`load_secret_key` (a 0600 file: ``secret_file`` or
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
        Where the generated session key is kept (see :func:`load_secret_key`) and the folder of the
        databases of ``s3://`` stores (see :func:`default_db_url`).
    max_failures, lockout_seconds : int
        Lock a username+IP after this many failed logins within this many seconds.
    """
    import flask
    from flask_login import LoginManager, login_user, logout_user
    from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, validate_csrf
    from werkzeug.middleware.proxy_fix import ProxyFix

    server = app.server if hasattr(app, "server") else app
    if "sectionist_auth" in server.extensions:
        raise SectionistError("init_auth() was already called on this app")
    if max_failures < 1 or lockout_seconds < 1:
        raise ParameterError(f"max_failures={max_failures}, lockout_seconds={lockout_seconds}: must be ≥ 1")

    db = get_database(db_url or default_db_url(store_uri, data_dir))
    secure_cookies = bool(secure_cookies)
    behind_proxy = bool(behind_proxy)
    settings = AuthSettings(db=db, store_uri=str(store_uri), max_failures=max_failures, lockout_seconds=lockout_seconds, secure_cookies=secure_cookies)
    server.extensions["sectionist_auth"] = settings

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
    )
    server.session_interface = _TLSAwareSessionInterface()
    if behind_proxy:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)

    login_manager = LoginManager()
    login_manager.session_protection = "basic"
    login_manager.init_app(server)

    @login_manager.user_loader
    def _load_user(user_key: str):
        try:
            uid, gen = (int(x) for x in user_key.split(".", 1))
        except ValueError:
            return None
        with db.read() as s:
            user = s.get(User, uid)
        if user is None or not user.is_active or user.auth_gen != gen:
            return None
        if not session_is_live(db, flask.session.get(SESSION_TOKEN_KEY), user.id):
            return None  # logged out (revoked server-side) or past SESSION_MAX_AGE
        return user

    def require_login():
        req = flask.request
        path = req.path
        if is_public(path):
            return None
        if current_user_or_none() is not None:
            return None
        if _is_api_request(path):
            return flask.Response("login required\n", status=401, mimetype="text/plain", headers={"Cache-Control": "no-store"})
        if path == "/logout":  # nothing to come back to after logging in
            return flask.redirect("/login", code=302)
        target = req.full_path if req.query_string else path
        return flask.redirect("/login?" + urlencode({"next": target}), code=302)

    # first of all before_request hooks: nothing else runs for an anonymous request
    server.before_request_funcs.setdefault(None, []).insert(0, require_login)
    csrf = CSRFProtect()
    csrf.init_app(server)

    @server.errorhandler(CSRFError)
    def _csrf_error(exc):
        return flask.Response(f"bad request: {exc.description}\n", status=400, mimetype="text/plain")

    @server.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user_or_none() is not None:
            # the Dash renderer copies this cookie into the X-CSRFToken header of its requests
            token = flask.request.cookies.get(CSRF_COOKIE)
            valid = False
            if token:
                try:
                    validate_csrf(token)
                    valid = True
                except Exception:  # noqa: BLE001 - any invalid token is replaced
                    valid = False
            if not valid:
                resp.set_cookie(
                    CSRF_COOKIE,
                    generate_csrf(),
                    httponly=False,
                    samesite="Lax",
                    secure=settings.secure_cookies or flask.request.is_secure,
                    path="/",
                )
        return resp

    @server.route("/login", methods=["GET", "POST"], endpoint="sectionist_login")
    def _login():
        req = flask.request
        nxt = safe_next(req.values.get("next"))
        if req.method == "GET":
            if current_user_or_none() is not None:
                return flask.redirect(nxt)
            return _render("login.html", title=_("Log in"), mode="login", error=None, message=None, next=nxt, username="")
        username = req.form.get("username", "")
        password = req.form.get("password", "")
        user, reason = authenticate(settings, username, password, client_ip())
        if user is None:
            status, error = (429, _(LOCKOUT_MESSAGE)) if reason == "locked" else (401, _(GENERIC_LOGIN_ERROR))
            return _render("login.html", status, title=_("Log in"), mode="login", error=error, message=None, next=nxt,
                           username=username.strip()[:64])
        flask.session.clear()  # no session fixation: a fresh session (and CSRF secret) at login
        login_user(user)
        flask.session[SESSION_TOKEN_KEY] = start_session(db, user)
        flask.session.permanent = True
        return flask.redirect(nxt)  # after_request sets a fresh CSRF cookie for the new session

    @server.route("/logout", methods=["GET", "POST"], endpoint="sectionist_logout")
    def _logout():
        req = flask.request
        user = current_user_or_none()
        if req.method == "GET":
            if user is None:
                return flask.redirect("/login")
            return _render("login.html", title=_("Log out"), mode="logout", username=user.username)
        end_session(db, flask.session.get(SESSION_TOKEN_KEY))
        logout_user()
        flask.session.clear()
        resp = flask.redirect("/login")
        resp.delete_cookie(CSRF_COOKIE, path="/")
        return resp

    @server.route("/api/me", endpoint="sectionist_me")
    def _me():
        user = current_user_or_none()
        return flask.jsonify(username=user.username, role=user.role, can_judge=user.can_judge)

    _register_admin_routes(server, settings)


class _TLSAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag also set on requests over TLS."""

    def get_cookie_secure(self, app):
        from flask import has_request_context, request

        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def _register_admin_routes(server, settings: AuthSettings) -> None:
    """``/admin/users``: the admin's user list and forms (add, role, password, remove)."""
    import flask

    @server.route("/admin/users", methods=["GET", "POST"], endpoint="sectionist_admin_users")
    @require_role("admin")
    def _admin_users():
        req = flask.request
        message = error = None
        if req.method == "POST":
            action = req.form.get("action", "")
            username = req.form.get("username", "")
            try:
                if action == "add":
                    password = create_user(settings.db, username, req.form.get("role", "viewer"))
                    message = _("Created %(username)s. Their password (shown once): %(password)s",
                                username=repr(username), password=password)
                elif action == "role":
                    set_role(settings.db, username, req.form.get("role", ""))
                    message = _("%(username)s is now %(role)s.", username=repr(username),
                                role=word(req.form.get("role")))
                elif action == "passwd":
                    password = set_password(settings.db, username)
                    message = _("New password for %(username)s (shown once): %(password)s",
                                username=repr(username), password=password)
                elif action == "remove":
                    me = current_user_or_none()
                    if me is not None and me.username == username.strip():
                        raise AccountError(N_("you cannot remove yourself"))
                    remove_user(settings.db, username)
                    message = _("Removed %(username)s.", username=repr(username))
                else:
                    raise AccountError(N_("unknown action %(action)s"), action=repr(action))
            except AccountError as exc:
                error = exc.translated()
            except ParameterError as exc:
                error = str(exc)
        users = list_users(settings.db)
        if req.accept_mimetypes.best == "application/json" or req.args.get("format") == "json":
            return flask.jsonify(
                users=[{"username": u.username, "role": u.role, "created_at": u.created_at.isoformat()} for u in users],
                message=message,
                error=error,
            ), (400 if error else 200)
        return _render("users.html", 400 if error else 200, users=users, roles=ROLES, message=message, error=error,
                       word=word, date_time=date_time)
