"""The auth state of an app and of the request being served: :class:`AuthSettings` (what
:func:`sectionist.dashboard.auth.init_auth` decided), the database, the logged-in user, the client's IP."""

from __future__ import annotations

from dataclasses import dataclass

from sectionist.analysis.errors import SectionistError
from sectionist.dashboard.models import Database, User

#: Key of the :class:`AuthSettings` in ``flask_app.extensions``.
EXTENSION_KEY = "sectionist_auth"


@dataclass
class AuthSettings:
    """What :func:`sectionist.dashboard.auth.init_auth` decided, kept in ``server.extensions['sectionist_auth']``."""

    db: Database
    store_uri: str = ""
    max_failures: int = 5
    lockout_seconds: int = 900
    max_failures_per_ip: int = 50
    secure_cookies: bool = False


def auth_settings(app=None) -> AuthSettings:
    """The :class:`AuthSettings` of ``app`` (default: the current Flask app)."""
    from flask import current_app

    server = app or current_app
    try:
        return server.extensions[EXTENSION_KEY]
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


def client_ip() -> str:
    """The request's client address (the proxy's client with ``behind_proxy``), at most 64 characters."""
    from flask import request

    return (request.remote_addr or "unknown")[:64]
