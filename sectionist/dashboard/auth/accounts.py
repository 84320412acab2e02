"""Accounts in the user database: create, look up, list, change the password or role, remove
(used by the ``sectionist users`` command, the admin page and the tests). Every change keeps at
least one admin and checks :mod:`sectionist.dashboard.auth.policy`'s rules."""

from __future__ import annotations

from sectionist.dashboard.models import ClusterVerdict, Database, Judgement, LoginSession, User
from sectionist.dashboard.ui.i18n import N_

from sectionist.dashboard.auth.policy import (
    AccountError,
    generate_password,
    hash_password,
    valid_password,
    valid_role,
    valid_username,
)


def create_user(db: Database, username: str, role: str, password: str | None = None, *, if_missing: bool = False,
                reset_if_exists: bool = False) -> str | None:
    """Create a user and return the password (generated when ``password`` is None).

    With ``if_missing`` an existing active user is left alone and ``None`` is returned; with
    ``reset_if_exists`` an existing user gets the new password and ``role`` (their open
    sessions end), as ``make demo`` does on every run.
    """
    from sqlalchemy import select

    username, role = valid_username(username), valid_role(role)
    password = generate_password() if password is None else valid_password(password, username)
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
            existing.password_hash = hash_password(password)
            existing.auth_gen += 1
            return password
        s.add(User(username=username, role=role, password_hash=hash_password(password)))
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
    password = generate_password() if password is None else valid_password(password, username)
    with db.write() as s:
        user = _require_user(s, username)
        user.password_hash = hash_password(password)
        user.auth_gen += 1
    return password


def set_role(db: Database, username: str, role: str) -> None:
    """Change a user's role (takes effect on their next request)."""
    role = valid_role(role)
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

