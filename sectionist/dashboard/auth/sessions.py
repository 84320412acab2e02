"""Login sessions: a server-side record per login (revoked at logout, ended after
:data:`SESSION_MAX_AGE`), the flask-login user loader that checks it, and signed session cookies
that are Secure over TLS."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta, timezone

from flask.sessions import SecureCookieSessionInterface

from sectionist.dashboard.models import Database, LoginSession, User, utcnow

from sectionist.dashboard.auth.context import auth_settings

#: The key, in the signed session cookie, of the random token naming its ``login_sessions`` row.
SESSION_TOKEN_KEY = "_sid"
#: How long a login lasts however much it is used (the idle limit is PERMANENT_SESSION_LIFETIME).
SESSION_MAX_AGE = timedelta(days=7)


def aware(dt):
    """``dt`` with its time zone: SQLite returns naive datetimes (stored in UTC)."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _token_id(token: str) -> str:
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
    return row is not None and row.user_id == user_id and aware(row.expires_at) > utcnow()


def load_user(user_key: str) -> User | None:
    """flask-login's user loader: the active user of ``"<id>.<auth_gen>"`` whose login session is
    live, else None."""
    import flask

    db = auth_settings().db
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


class TLSAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag also set on requests over TLS."""

    def get_cookie_secure(self, app):
        from flask import has_request_context, request

        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)
