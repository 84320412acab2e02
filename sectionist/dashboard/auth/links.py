"""Playlist links: section URLs that play without a login, for a playlist played outside the browser.

A VLC playlist downloaded from the app is a list of ``/audio/<section_id>.wav`` URLs. VLC sends no
session cookie, so each URL carries ``?token=…``: an :mod:`itsdangerous` token signed with the app's
``SECRET_KEY`` (salt :data:`SALT`) that names one :class:`~sectionist.dashboard.models.PlaylistLink`
row. :func:`token_allows` lets the audio route serve a section for a request without a login only when

- the signature is valid and the token is younger than the app's playlist lifetime
  (``SECTIONIST_PLAYLIST_TTL``, :data:`sectionist.settings.PLAYLIST_TTL` by default),
- the link is in the database, not revoked, and its ``expires_at`` has not passed,
- the user who downloaded it is still active with the same ``auth_gen`` (a password change or the
  removal of the account ends every link they issued), and
- the section is one of the playlist's own (:class:`~sectionist.dashboard.models.PlaylistLinkSection`):
  the same token for any other section is refused (403).

The token is a bearer secret: whoever has the playlist file can play its sections until the link
expires or is revoked. The person who downloaded it, or an admin, revokes it on the ``/playlists``
page (:data:`bp`), which lists one's own links (an admin's: everyone's). The app's own request logs
never write it: :class:`RedactTokens` (installed on gunicorn's access log and the development server's
request log when the blueprint is registered) writes ``token=[redacted]``.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

import flask

from sectionist.analysis.errors import ParameterError
from sectionist.dashboard.models import Database, PermissionDenied, PlaylistLink, PlaylistLinkSection, User, utcnow
from sectionist.dashboard.ui.i18n import _, date_time, integer

from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.auth.pages import render_page
from sectionist.dashboard.auth.sessions import aware

#: itsdangerous salt of playlist tokens (a token signed for anything else never reads as one).
SALT = "sectionist.playlist-link"
#: The query parameter of the audio route that carries a playlist token.
TOKEN_ARG = "token"
#: Endpoints a request without a login may reach with a token that allows it (the login guard,
#: :func:`sectionist.dashboard.auth.guards.require_login`, asks :func:`token_allows`).
TOKEN_ENDPOINTS = frozenset({"sectionist_audio.section_audio"})
#: Key of the playlist lifetime in seconds in the Flask app's config.
TTL_CONFIG = "PLAYLIST_LINK_SECONDS"
#: The longest title kept for a link (the playlist's title).
MAX_TITLE = 200
#: How long an expired link stays listed (and in the database) before it is deleted.
KEEP_EXPIRED = timedelta(days=30)

#: Loggers that write request lines with their query strings: gunicorn's access log (``accesslog`` in
#: deploy/gunicorn.conf.py) and the development server's (werkzeug) request log.
REQUEST_LOGGERS = ("gunicorn.access", "werkzeug")
_TOKEN_IN_TEXT = re.compile(rf"((?:^|[?&;]){TOKEN_ARG}(?:=|%3[dD]))[^&\s\"';]*")

bp = flask.Blueprint("sectionist_links", __name__)


def redact_tokens(text: str) -> str:
    """``text`` (a request line, a URL, a query string) with every ``token=…`` value replaced by
    ``[redacted]``."""
    return _TOKEN_IN_TEXT.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """A logging filter that takes playlist tokens out of request log records (their message and
    their arguments: gunicorn passes a dict of atoms, werkzeug a tuple), so a log line never holds
    a URL that plays."""

    def filter(self, record: logging.LogRecord) -> bool:
        def clean(value):
            return redact_tokens(value) if isinstance(value, str) and TOKEN_ARG in value else value

        record.msg = clean(record.msg)
        if isinstance(record.args, dict):  # in place: gunicorn's dict answers "-" for a missing atom
            for key in list(record.args):
                record.args[key] = clean(dict.__getitem__(record.args, key))
        elif isinstance(record.args, tuple):
            record.args = tuple(clean(v) for v in record.args)
        return True


@bp.record_once
def _redact_request_logs(_state) -> None:
    """Install :class:`RedactTokens` on :data:`REQUEST_LOGGERS` (once per process)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def _serializer(secret_key: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret_key, salt=SALT)


def issue_link(db: Database, user: User, section_ids, *, ttl: float, title: str, secret_key: str) -> tuple[str, object]:
    """Record a playlist link of ``user`` for exactly ``section_ids``, valid ``ttl`` seconds (links
    that expired more than :data:`KEEP_EXPIRED` ago are deleted on the way, their sections with them).

    Returns
    -------
    (str, datetime)
        The signed token to put in the section URLs, and when the link expires.
    """
    ids = list(dict.fromkeys(str(s) for s in section_ids))
    if not ids:
        raise ParameterError("a playlist link needs at least one section")
    if not ttl or ttl <= 0:
        raise ParameterError(f"playlist lifetime {ttl!r}: must be more than 0 seconds")
    link_id = secrets.token_urlsafe(16)
    now = utcnow()
    expires = now + timedelta(seconds=float(ttl))
    with db.write() as s:
        from sqlalchemy import delete, select

        old = list(s.scalars(select(PlaylistLink.id).where(PlaylistLink.expires_at < now - KEEP_EXPIRED)))
        if old:
            s.execute(delete(PlaylistLinkSection).where(PlaylistLinkSection.link_id.in_(old)))
            s.execute(delete(PlaylistLink).where(PlaylistLink.id.in_(old)))
        s.add(PlaylistLink(id=link_id, user_id=user.id, auth_gen=user.auth_gen, title=str(title)[:MAX_TITLE],
                           n_sections=len(ids), created_at=now, expires_at=expires))
        s.flush()
        s.bulk_insert_mappings(PlaylistLinkSection, [{"link_id": link_id, "section_id": sid} for sid in ids])
    return _serializer(secret_key).dumps({"link": link_id}), expires


def link_of_token(token, *, secret_key: str, max_age: float) -> str | None:
    """The link id a token names, or None when it is not one of ours, is forged, or is older than
    ``max_age`` seconds."""
    from itsdangerous import BadData

    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except BadData:
        return None
    link = data.get("link") if isinstance(data, dict) else None
    return link if isinstance(link, str) else None


def link_allows(db: Database, link_id: str, section_id: str) -> bool:
    """Whether link ``link_id`` may play ``section_id`` now (see the module docstring)."""
    from sqlalchemy import select

    with db.read() as s:
        row = s.execute(select(PlaylistLink, User).join(User, PlaylistLink.user_id == User.id)
                        .where(PlaylistLink.id == link_id)).first()
        if row is None:
            return False
        link, user = row
        if link.revoked_at is not None or aware(link.expires_at) <= utcnow():
            return False
        if not user.active or user.auth_gen != link.auth_gen:
            return False
        return s.get(PlaylistLinkSection, (link_id, str(section_id))) is not None


def token_allows(section_id: str) -> bool:
    """Whether the current request's ``?token=`` lets it play ``section_id`` without a login."""
    app = flask.current_app
    link = link_of_token(flask.request.args.get(TOKEN_ARG), secret_key=app.config["SECRET_KEY"],
                         max_age=float(app.config[TTL_CONFIG]))
    return link is not None and link_allows(get_db(), link, section_id)


@bp.after_app_request
def _token_answers_are_not_kept(resp):
    """An answer to a token request is not cached anywhere: a revoked link stops playing at once."""
    if flask.request.endpoint in TOKEN_ENDPOINTS and TOKEN_ARG in flask.request.args:
        resp.headers["Cache-Control"] = "no-store"
    return resp


def issue_for_request(section_ids, title: str) -> str:
    """A playlist link of the logged-in user for ``section_ids`` (the app's lifetime); its token."""
    user = current_user_or_none()
    if user is None:
        raise PermissionDenied("not logged in")
    app = flask.current_app
    token, _expires = issue_link(get_db(), user, section_ids, ttl=float(app.config[TTL_CONFIG]), title=title,
                                 secret_key=app.config["SECRET_KEY"])
    return token


def command_link_issuer(args):
    """The playlist link issuer of ``sectionist export xspf --paths url --link-for USER`` (``args``:
    its parsed options), or None without ``--link-for``.

    The link is recorded in the database ``serve`` uses with the same options (``--db``, else the
    store's) for user ``USER`` and signed with the same key (``SECRET_KEY``, else the key file), so the
    running app plays it without a login and lists it on USER's ``/playlists`` page, where it is
    revoked. Its lifetime is ``--link-ttl`` (at most the app's ``SECTIONIST_PLAYLIST_TTL``, which ends
    any older token), by default the app's.

    Returns
    -------
    callable or None
        ``issue(section_ids, title)`` → ``(token, expires_at)``.
    """
    username = getattr(args, "link_for", None)
    if not username:
        return None
    from sectionist.settings import command_database_url, parse_duration

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.auth.keys import load_secret_key

    settings = args.settings
    limit = float(settings.playlist_ttl)
    ttl = parse_duration("--link-ttl", getattr(args, "link_ttl", None)) or limit
    if ttl > limit:
        raise ParameterError(f"--link-ttl {args.link_ttl}: longer than the app's playlist lifetime ({limit:g} s, "
                             "SECTIONIST_PLAYLIST_TTL), after which the app refuses the link's token")
    url = command_database_url(settings, getattr(args, "store", None), getattr(args, "db", None))

    def issue(section_ids, title: str):
        db = Database(url)
        try:
            user = get_user(db, username)
            if user is None or not user.active:
                raise ParameterError(f"--link-for {username!r}: no such user in {db.safe_url} (sectionist users list)")
            secret = load_secret_key(settings.secret_key, secret_file=settings.secret_file, data_dir=settings.data_dir)
            return issue_link(db, user, section_ids, ttl=ttl, title=title, secret_key=secret)
        finally:
            db.dispose()

    return issue


def revoke_link(db: Database, user: User, link_id: str) -> bool:
    """Revoke link ``link_id`` (its issuer or an admin); False when it was revoked already.

    Raises
    ------
    ParameterError
        No such link.
    PermissionDenied
        ``user`` neither issued it nor is an admin.
    """
    with db.write() as s:
        link = s.get(PlaylistLink, str(link_id))
        if link is None:
            raise ParameterError(f"no playlist link {link_id!r}")
        if link.user_id != user.id and not user.is_admin:
            raise PermissionDenied("only the person who downloaded a playlist, or an admin, may revoke its links")
        if link.revoked_at is not None:
            return False
        link.revoked_at, link.revoked_by = utcnow(), user.id
        return True


def list_links(db: Database, user: User) -> list[dict]:
    """The playlist links ``user`` may see (their own; an admin's: everyone's), newest first, with
    ``status``: ``active``, ``expired``, ``revoked`` or ``ended`` (the issuer's password changed or
    the account was removed)."""
    from sqlalchemy import select

    q = select(PlaylistLink, User).join(User, PlaylistLink.user_id == User.id)
    if not user.is_admin:
        q = q.where(PlaylistLink.user_id == user.id)
    now, out = utcnow(), []
    with db.read() as s:
        for link, owner in s.execute(q.order_by(PlaylistLink.created_at.desc(), PlaylistLink.id)):
            if link.revoked_at is not None:
                status = "revoked"
            elif aware(link.expires_at) <= now:
                status = "expired"
            elif not owner.active or owner.auth_gen != link.auth_gen:
                status = "ended"
            else:
                status = "active"
            out.append({"id": link.id, "username": owner.username, "title": link.title, "sections": link.n_sections,
                        "created_at": aware(link.created_at), "expires_at": aware(link.expires_at),
                        "revoked_at": aware(link.revoked_at) if link.revoked_at else None, "status": status})
    return out


STATUS_WORDS = {"active": lambda: _("plays"), "expired": lambda: _("expired"), "revoked": lambda: _("revoked"),
                "ended": lambda: _("ended (password changed or account removed)")}


@bp.route("/playlists", methods=["GET", "POST"])
def playlists_page():
    """The logged-in user's playlist links (an admin's: everyone's), each with a "revoke" button."""
    user = current_user_or_none()
    if user is None:  # pragma: no cover - the login guard answers first
        flask.abort(401)
    db = get_db()
    message = error = None
    if flask.request.method == "POST":
        try:
            if revoke_link(db, user, flask.request.form.get("link", "")):
                message = _("Revoked: its links no longer play.")
            else:
                message = _("That playlist was revoked already.")
        except PermissionDenied:
            flask.abort(403)
        except ParameterError:
            error = _("No such playlist.")
    links = list_links(db, user)
    if flask.request.args.get("format") == "json":
        return flask.jsonify(links=[{**ln, **{k: ln[k].isoformat() if ln[k] else None
                                               for k in ("created_at", "expires_at", "revoked_at")}}
                                    for ln in links], message=message, error=error), (400 if error else 200)
    return render_page("playlists.html", 400 if error else 200, links=links, message=message, error=error,
                       show_user=user.is_admin, status_word=lambda s: STATUS_WORDS[s](), date_time=date_time,
                       integer=integer)
