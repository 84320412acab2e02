"""The auth blueprint: ``/login`` (CSRF-protected form, generic error text, local-only ``next``,
lockout), ``/logout``, ``/api/me``, the admin's ``/admin/users`` page, and the app-wide security
headers and ``_csrf_token`` cookie (Dash's renderer sends it back as the ``X-CSRFToken`` header:
double submit). :func:`sectionist.dashboard.auth.init_auth` registers it."""

from __future__ import annotations

import flask
from flask_login import login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from sectionist.analysis.errors import ParameterError
from sectionist.dashboard.models import ROLES
from sectionist.dashboard.ui.i18n import N_, _, date_time, word

from sectionist.dashboard.auth.accounts import create_user, list_users, remove_user, set_password, set_role
from sectionist.dashboard.auth.context import auth_settings, client_ip, current_user_or_none
from sectionist.dashboard.auth.guards import require_role, safe_next
from sectionist.dashboard.auth.login import GENERIC_LOGIN_ERROR, LOCKOUT_MESSAGE, authenticate
from sectionist.dashboard.auth.pages import render_page
from sectionist.dashboard.auth.policy import AccountError
from sectionist.dashboard.auth.sessions import SESSION_TOKEN_KEY, end_session, start_session

#: Cookie the Dash renderer reads and sends back as the ``X-CSRFToken`` header.
CSRF_COOKIE = "_csrf_token"

bp = flask.Blueprint("auth", __name__)


@bp.app_errorhandler(CSRFError)
def csrf_error(exc):
    """400 with the reason, as plain text."""
    return flask.Response(f"bad request: {exc.description}\n", status=400, mimetype="text/plain")


@bp.after_app_request
def security_headers(resp):
    """Every response: nosniff, SAMEORIGIN framing, same-origin referrers; for a logged-in user a
    valid :data:`CSRF_COOKIE` (a new one when missing or stale)."""
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
                secure=auth_settings().secure_cookies or flask.request.is_secure,
                path="/",
            )
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login():
    req = flask.request
    nxt = safe_next(req.values.get("next"))
    if req.method == "GET":
        if current_user_or_none() is not None:
            return flask.redirect(nxt)
        return render_page("login.html", title=_("Log in"), mode="login", error=None, message=None, next=nxt, username="")
    username = req.form.get("username", "")
    password = req.form.get("password", "")
    settings = auth_settings()
    user, reason = authenticate(settings, username, password, client_ip())
    if user is None:
        status, error = (429, _(LOCKOUT_MESSAGE)) if reason == "locked" else (401, _(GENERIC_LOGIN_ERROR))
        return render_page("login.html", status, title=_("Log in"), mode="login", error=error, message=None, next=nxt,
                       username=username.strip()[:64])
    flask.session.clear()  # no session fixation: a fresh session (and CSRF secret) at login
    login_user(user)
    flask.session[SESSION_TOKEN_KEY] = start_session(settings.db, user)
    flask.session.permanent = True
    return flask.redirect(nxt)  # after_request sets a fresh CSRF cookie for the new session


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    req = flask.request
    user = current_user_or_none()
    if req.method == "GET":
        if user is None:
            return flask.redirect("/login")
        return render_page("login.html", title=_("Log out"), mode="logout", username=user.username)
    end_session(auth_settings().db, flask.session.get(SESSION_TOKEN_KEY))
    logout_user()
    flask.session.clear()
    resp = flask.redirect("/login")
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp


@bp.route("/api/me")
def me():
    user = current_user_or_none()
    return flask.jsonify(username=user.username, role=user.role, can_judge=user.can_judge)


@bp.route("/admin/users", methods=["GET", "POST"])
@require_role("admin")
def admin_users():
    """The admin's user list and forms (add, role, password, remove); JSON when asked for."""
    req = flask.request
    db = auth_settings().db
    message = error = None
    if req.method == "POST":
        action = req.form.get("action", "")
        username = req.form.get("username", "")
        try:
            if action == "add":
                password = create_user(db, username, req.form.get("role", "viewer"))
                message = _("Created %(username)s. Their password (shown once): %(password)s",
                            username=repr(username), password=password)
            elif action == "role":
                set_role(db, username, req.form.get("role", ""))
                message = _("%(username)s is now %(role)s.", username=repr(username),
                            role=word(req.form.get("role")))
            elif action == "passwd":
                password = set_password(db, username)
                message = _("New password for %(username)s (shown once): %(password)s",
                            username=repr(username), password=password)
            elif action == "remove":
                me = current_user_or_none()
                if me is not None and me.username == username.strip():
                    raise AccountError(N_("you cannot remove yourself"))
                remove_user(db, username)
                message = _("Removed %(username)s.", username=repr(username))
            else:
                raise AccountError(N_("unknown action %(action)s"), action=repr(action))
        except AccountError as exc:
            error = exc.translated()
        except ParameterError as exc:
            error = str(exc)
    users = list_users(db)
    if req.accept_mimetypes.best == "application/json" or req.args.get("format") == "json":
        return flask.jsonify(
            users=[{"username": u.username, "role": u.role, "created_at": u.created_at.isoformat()} for u in users],
            message=message,
            error=error,
        ), (400 if error else 200)
    return render_page("users.html", 400 if error else 200, users=users, roles=ROLES, message=message, error=error,
                   word=word, date_time=date_time)
