"""Checking a login: the password against its hash, and the lockout after repeated failures per
username and IP (counted and recorded in one locked transaction)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sectionist.dashboard.models import LoginAttempt, User, utcnow
from sectionist.dashboard.ui.i18n import N_

from sectionist.dashboard.auth.context import AuthSettings
from sectionist.dashboard.auth.policy import hash_password
from sectionist.dashboard.auth.sessions import aware

GENERIC_LOGIN_ERROR = N_("Invalid username or password.")
LOCKOUT_MESSAGE = N_("Too many failed login attempts. Please wait a few minutes and try again.")


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
    start = max(since, aware(last_ok)) if last_ok is not None else since
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


# a hash to check against when the username is unknown, so both cases take the same time
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(16))
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
