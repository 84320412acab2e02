"""Who may reach what: the login requirement on every route but the public ones (Dash pages and
endpoints, assets, audio, APIs), safe ``next`` targets, and the role checks for Flask views
(:func:`require_role`, :func:`require_judge`) and Dash callbacks (:func:`check_role`,
:func:`check_judge`). The rules themselves are the user model's
(:meth:`sectionist.dashboard.models.User.has_role`, :attr:`~sectionist.dashboard.models.User.can_judge`)."""

from __future__ import annotations

import functools
from urllib.parse import urlencode, urlsplit

from sectionist.dashboard.models import PermissionDenied, User

from sectionist.dashboard.auth.context import current_user_or_none
from sectionist.dashboard.auth.links import TOKEN_ARG, TOKEN_ENDPOINTS, token_allows
from sectionist.dashboard.auth.policy import valid_role

#: Paths reachable without logging in (exact matches).
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
#: Path prefixes reachable without logging in: the language switch (it only sets a cookie and
#: redirects to a local path, so the login page can be read in Spanish too).
PUBLIC_PREFIXES = ("/lang/",)
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


def is_public(path: str) -> bool:
    """Whether ``path`` is answered without login (:data:`PUBLIC_PATHS`, :data:`PUBLIC_PREFIXES`)."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_api_request(path: str) -> bool:
    """Whether the request is answered 401 rather than redirected to the login page: an API-like
    path, a method other than GET, an XHR, or one that prefers JSON."""
    from flask import request

    if path.startswith(API_PREFIXES) or request.method != "GET":
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


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


def require_login():
    """The app's first ``before_request`` hook: nothing but the public paths without login, and the
    :data:`~sectionist.dashboard.auth.links.TOKEN_ENDPOINTS` (a playlist's section URLs) with a
    ``?token=`` that allows the request (else 403: scope, expiry and revocation are
    :func:`~sectionist.dashboard.auth.links.token_allows`'s). API-like requests get
    401, page requests a redirect to ``/login?next=…``."""
    import flask

    req = flask.request
    path = req.path
    if is_public(path):
        return None
    if current_user_or_none() is not None:
        return None
    if req.endpoint in TOKEN_ENDPOINTS and TOKEN_ARG in req.args:
        if token_allows((req.view_args or {}).get("section_id", "")):
            return None
        # a forged, expired or revoked token, or a section outside the playlist
        return flask.Response("this link does not play this section (expired, revoked or not in the playlist)\n",
                              status=403, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    if is_api_request(path):
        return flask.Response("login required\n", status=401, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    if path == "/logout":  # nothing to come back to after logging in
        return flask.redirect("/login", code=302)
    target = req.full_path if req.query_string else path
    return flask.redirect("/login?" + urlencode({"next": target}), code=302)


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
        valid_role(r)
    return _guard(lambda u: u.has_role(*roles))


def require_judge(view):
    """Decorator for Flask views: 401 when not logged in, 403 unless the user may judge
    (:attr:`User.can_judge`)."""
    return _guard(lambda u: u.can_judge)(view)
