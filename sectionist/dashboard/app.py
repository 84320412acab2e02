"""The app factory and the gunicorn target.

:func:`create_app` builds one Dash app (Dash Pages from ``sectionist/dashboard/pages``) serving one store;
nothing is built at import time. ``sectionist.dashboard.app:server`` — the gunicorn target — is created
lazily, the first time it is asked for, from the environment::

    SECTIONIST_STORE=demo/store SECRET_KEY=… gunicorn -w 4 'sectionist.dashboard.app:server'

(``SECTIONIST_DB_URL`` selects the user/judgement database; see :mod:`sectionist.dashboard.auth`.)
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from sectionist.analysis.errors import ParameterError
from sectionist.settings import default_data_dir
from sectionist.store.errors import DamagedPartError

from sectionist.dashboard.ui import ids
from sectionist.dashboard.data.store_data import EXTENSION_KEY, StoreData
from sectionist.dashboard.jobs import JOBS_KEY, JobRunner, default_folder
from sectionist.dashboard.ui.i18n import _, current_language, init_i18n, language_links, pgettext, word
from sectionist.dashboard.ui.store_notice import damage_lines, damage_text, error_lines, store_notice

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PAGES_FOLDER = PACKAGE_DIR / "pages"
#: Order of the pages in the navigation (pages not listed come after, by their ``order``).
NAV_ORDER = ["/", "/map", "/clusters", "/compare", "/songs", "/lab"]
#: The Content-Security-Policy of every response (:func:`content_security_policy` adds the hashes
#: of Dash's inline scripts to ``script-src``). Only what the app needs, as Chromium reports it
#: (tests/test_security_csp.py): scripts from the app only, no inline script but Dash's own (by
#: hash); ``'unsafe-eval'`` because Plotly's WebGL traces (the map, the SHAP beeswarm) compile
#: their shaders' code with ``Function`` (regl), which fails without it; inline styles because
#: React and Plotly set ``style`` attributes and Plotly adds ``<style>`` elements;
#: ``data:``/``blob:`` images for Plotly; audio from the app. ``frame-ancestors 'self'`` matches
#: ``X-Frame-Options: SAMEORIGIN``. ``deploy/nginx.conf`` passes this header through and sets its
#: own only on the responses nginx makes itself.
CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'self'",
    "form-action": "'self'",
}


def assets_folder() -> Path:
    """The web assets shipped inside the package (``sectionist/dashboard/assets``)."""
    return PACKAGE_DIR / "assets"


def create_app(store_uri, *, db_url: str | None = None, secret_key: str | None = None,
               store_options: dict | None = None, auth_options: dict | None = None,
               check_interval: float = 2.0, jobs_dir=None, media_cache_bytes: int = 0, media_dir=None,
               **options):
    """Build the web app for the store at ``store_uri``.

    Parameters
    ----------
    store_uri : str or Path
        A store folder or ``s3://bucket/prefix`` written by ``sectionist analyze``.
    db_url : str, optional
        SQLAlchemy URL of the user/judgement database (default: a SQLite file beside the store).
    secret_key : str, optional
        Session signing key (default: a generated 0600 file in the data folder; never in the repo).
    store_options : dict, optional
        Passed to :func:`store.open_store` (S3 ``endpoint_url``, ``region``, cache…;
        :meth:`sectionist.settings.Settings.store_options`).
    auth_options : dict, optional
        Passed to :func:`sectionist.dashboard.auth.init_auth` (``secret_file``, ``data_dir``, ``secure_cookies``,
        ``behind_proxy``; :meth:`sectionist.settings.Settings.auth_options`). The app reads no
        environment variable itself: see :func:`_app_from_env` for gunicorn.
    check_interval : float
        Seconds between checks of the store's manifest version (the cache is dropped on change).
    jobs_dir : str or Path, optional
        Where the background jobs an admin starts from the pages keep their state
        (:mod:`sectionist.dashboard.jobs`; default ``<data dir>/jobs/<hash of the store's URI>``).
    media_cache_bytes : int
        Size limit of the rendered media (spectrograms, section audio) kept on disk for every worker
        process to share (:mod:`sectionist.dashboard.media.diskcache`); 0: none, each process renders
        its own (:meth:`sectionist.settings.Settings.media_options`: 512 MiB unless
        ``SECTIONIST_MEDIA_CACHE_MB``).
    media_dir : str or Path, optional
        That folder (default ``<data dir>/media/<hash of the store's URI>``).
    **options
        Passed to :class:`dash.Dash` (e.g. ``title``).

    Returns
    -------
    dash.Dash
        The app; ``app.server`` is its Flask server, with the audio routes, the judgements API
        and exports (:mod:`sectionist.dashboard.judging.routes`) and ``/healthz`` (store and database).
        Every route but ``/login`` and ``/healthz`` requires login (installed by
        :func:`sectionist.dashboard.auth.init_auth`).

    Raises
    ------
    sectionist.analysis.errors.StoreError
        When the store cannot be opened.
    """
    import dash
    from dash import dcc, html

    from sectionist.dashboard.media import audio
    from sectionist.dashboard.auth import init_auth
    from sectionist.dashboard.auth.guards import safe_next
    from sectionist.dashboard.judging import routes as judging_routes
    from sectionist.dashboard.judging import structure_routes
    from sectionist.dashboard.ui import inputs as callback_inputs

    # plotly's JSON encoder looks PIL.Image up in sys.modules without importing it; the first
    # spectrogram imports it (through matplotlib) in a request thread, and a callback answered at that
    # moment found it half-initialised (an AttributeError: a 500): it is imported whole here
    import PIL.Image  # noqa: F401

    data = StoreData(store_uri, check_interval=check_interval, store_options=store_options)
    options.setdefault("title", "sectionist")
    app = dash.Dash(
        "dashboard",  # the package name: Dash names the page modules sectionist.dashboard.pages.<name>
        use_pages=True,
        pages_folder=str(PAGES_FOLDER),
        assets_folder=str(assets_folder()),
        suppress_callback_exceptions=True,
        update_title=None,
        on_error=_callback_error,
        **options,
    )
    server = app.server
    server.extensions[EXTENSION_KEY] = data
    if jobs_dir is None:
        jobs_dir = default_folder(store_uri, (auth_options or {}).get("data_dir") or default_data_dir())
    server.extensions[JOBS_KEY] = JobRunner(store_uri, jobs_dir, store_options=store_options)
    audio.install_caches(server, _media_cache(store_uri, media_cache_bytes, media_dir, auth_options))
    init_i18n(server, local_path=safe_next)
    server.register_blueprint(audio.bp)
    init_auth(app, db_url=db_url, secret_key=secret_key, store_uri=str(store_uri), **(auth_options or {}))
    server.register_blueprint(judging_routes.bp)
    server.register_blueprint(structure_routes.bp)  # POST /api/structure-corrections
    # every callback's inputs and state checked before Dash runs it (after the login and CSRF checks)
    callback_inputs.install(app)
    server.add_url_rule("/healthz", endpoint="sectionist_healthz", view_func=_healthz, methods=["GET"])
    from dash.exceptions import DependencyException

    server.register_error_handler(DependencyException, _unknown_component_suite)
    server.register_error_handler(OSError, _unknown_component_suite)
    server.register_error_handler(DamagedPartError, _damaged_part)

    @server.after_request
    def _content_security_policy(resp):
        # every response: pages, login, audio, JSON, errors (docs/security.md)
        resp.headers.setdefault("Content-Security-Policy", content_security_policy(app))
        return resp

    def shell():
        return html.Div(className="app", children=[
            dcc.Location(id=ids.URL),
            dcc.Store(id=ids.GLOBAL_SELECTION, storage_type="session"),
            html.Header(className="topbar", children=[
                html.A(className="brand", href="/", children=[html.Span("◆", className="brand-mark"), "sectionist"]),
                # on small screens the pages and the user menu fold into a menu this button opens
                # (assets/nav.js: no inline script, keyboard and screen-reader friendly)
                html.Button([html.Span(className="nav-toggle-bars", **{"aria-hidden": "true"}), _("Menu")],
                            id=ids.NAV_TOGGLE, className="nav-toggle", type="button",
                            **{"aria-controls": ids.NAV_MENU, "aria-expanded": "false"}),
                html.Div(id=ids.NAV_MENU, className="nav-menu", children=[
                    html.Nav(id=ids.NAV, className="nav", children=_nav_links(dash.page_registry, "/")),
                    html.Div(className="topbar-right", children=[
                        html.Span(id=ids.NAV_LANGUAGES, className="lang-switch", role="group",
                                  **{"aria-label": _("Language")}, children=language_links("/")),
                        *_user_menu(),
                    ]),
                ]),
            ]),
            html.Div(id=ids.STORE_NOTICE, className="store-notice", children=store_notice(damage_lines(data))),
            # why a callback ignored what the page sent (ui/inputs.py), instead of a 500
            html.Div(id=ids.INPUT_ALERT, className="input-alert notice notice-error", role="alert"),
            html.Main(dash.page_container, className="main"),
        ])

    app.layout = shell
    _declare_page_language(app)

    @dash.callback(dash.Output(ids.NAV, "children"), dash.Output(ids.NAV_LANGUAGES, "children"),
                   dash.Output(ids.INPUT_ALERT, "children"),
                   dash.Input(ids.URL, "pathname"), dash.Input(ids.URL, "search"))
    def _nav(pathname, search):
        # a new page starts without the last page's input alert (ui/inputs.py)
        return _nav_links(dash.page_registry, pathname or "/"), language_links(pathname or "/", search or ""), None

    # Hand the callbacks registered while the page modules were imported to this app now, not at
    # its first request: another app built in the same process would otherwise take them.
    with server.test_request_context("/"):
        app._setup_server()
    return app


def _media_cache(store_uri, max_bytes: int, folder, auth_options):
    """The app's :class:`~sectionist.dashboard.media.diskcache.MediaCache`, or None when ``max_bytes``
    is 0."""
    from sectionist.dashboard.media import diskcache

    if not max_bytes:
        return None
    if folder is None:
        folder = diskcache.default_folder(store_uri, (auth_options or {}).get("data_dir") or default_data_dir())
    return diskcache.MediaCache(folder, max_bytes)


def content_security_policy(app) -> str:
    """The ``Content-Security-Policy`` header value of ``app``: :data:`CSP_DIRECTIVES` with the
    SHA-256 hashes of the inline scripts Dash writes into its pages (the renderer's start and the
    clientside callbacks) allowed in ``script-src``, so no other inline script runs.

    Parameters
    ----------
    app : dash.Dash

    Returns
    -------
    str
    """
    directives = dict(CSP_DIRECTIVES)
    directives["script-src"] = " ".join([directives["script-src"], *dict.fromkeys(app.csp_hashes())])
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _declare_page_language(app) -> None:
    """Write the request's language into the page's ``<html lang>`` (screen readers, hyphenation)."""
    interpolate = app.interpolate_index

    def interpolate_index(**kwargs):
        page = interpolate(**kwargs)
        return page.replace("<html>", f'<html lang="{current_language()}">', 1)

    app.interpolate_index = interpolate_index


def _nav_links(registry, pathname: str):
    from dash import dcc

    pages = sorted(registry.values(), key=lambda p: (NAV_ORDER.index(p["path"]) if p["path"] in NAV_ORDER
                                                      else len(NAV_ORDER) + p.get("order", 99) if
                                                      isinstance(p.get("order"), (int, float)) else 99,
                                                      p["name"]))
    links = []
    for p in pages:
        if p.get("nav") is False or p["path"].startswith("/_"):
            continue
        active = pathname == p["path"] or (p["path"] != "/" and pathname.startswith(p["path"] + "/"))
        links.append(dcc.Link(_(p.get("nav_label") or p["name"]), href=p["relative_path"],
                              className="nav-link active" if active else "nav-link"))
    return links


def _user_menu():
    from dash import html

    try:
        from flask_login import current_user

        name = current_user.username if current_user and current_user.is_authenticated else None
        role = getattr(current_user, "role", None) if name else None
    except Exception:  # noqa: BLE001 - outside a request (layout validation)
        name, role = None, None
    if not name:
        return []
    admin = [html.A(_("Users"), href="/admin/users", id=ids.NAV_ADMIN_USERS, className="nav-link")] \
        if role == "admin" else []
    # the top bar's short label (Spanish has no room for the page's full title at 1440 px)
    links = [html.A(pgettext("top bar", "Playlist links"), href="/playlists", id=ids.NAV_PLAYLISTS, className="nav-link",
                    title=_("Playlists whose links play anywhere: see and revoke them"))]
    return admin + links + [html.Span(className="user", children=[html.Span(name, className="user-name"),
                                                          html.Span(word(role), className="user-role") if role else None]),
                    html.A(_("Log out"), href="/logout", className="btn btn-ghost btn-small")]


def _unknown_component_suite(exc):
    """A path under ``/_dash-component-suites/`` that Dash did not register (its
    ``DependencyException``) or whose file is missing (``OSError``): 404, not a 500 with a
    traceback. Any other error is re-raised (a 500, as before)."""
    from dash.exceptions import DependencyException
    from flask import Response, request

    if request.path.startswith("/_dash-component-suites/") and isinstance(exc, (DependencyException, OSError)):
        return Response("not found\n", status=404, mimetype="text/plain")
    raise exc


def _callback_error(exc):
    """Dash's error handler of every callback: one that ran into a damaged part of the store updates
    nothing and says so in the notice above the page (which part, why, the repair command) instead of
    failing with a 500; any other error is raised as before."""
    if not isinstance(exc, DamagedPartError):
        raise exc
    from dash import set_props

    set_props(ids.STORE_NOTICE, {"children": store_notice(error_lines(exc))})
    return None


def _damaged_part(exc):
    """A request that ran into a damaged part of the store (outside a Dash callback): 503 naming the
    part and the repair command (not the server's paths), not a 500 with a traceback."""
    from flask import jsonify

    log.warning("%s", exc)  # the whole story, paths included, for the administrator
    return jsonify({"error": damage_text(exc), "damaged": [exc.key]}), 503


def _healthz():
    """``GET /healthz`` (public, no data; :data:`sectionist.dashboard.auth.guards.PUBLIC_PATHS`): 200
    ``{"status": "ok"}`` when the store is readable and the database answers ``SELECT 1``; 200
    ``{"status": "degraded", "damaged": <count>}`` when some parts of the store are damaged but the
    rest is served (a load balancer keeps the server in rotation; monitoring alerts on ``degraded``);
    else 503 ``{"status": "error", "reason": …, "store": "ok"|"unreadable", "database": "ok"|"unavailable"}``.
    The parts' footers are checked once per store version (:meth:`StoreData.check`)."""
    from flask import current_app, jsonify

    from sectionist.dashboard.auth.context import get_db

    health = current_app.extensions[EXTENSION_KEY].health()
    store_ok = health["store"] != "unreadable"
    db_ok = get_db(current_app).ping()
    if store_ok and db_ok:
        if health["store"] == "degraded":
            # public: how many, never which (part keys name runs and songs); 'sectionist check' names them
            return jsonify({"status": "degraded", "damaged": len(health["damaged"]),
                            "repair": "sectionist check, then sectionist repair"})
        return jsonify({"status": "ok"})
    reason = " and ".join(r for r, ok in (("store unreadable", store_ok), ("database unavailable", db_ok)) if not ok)
    return jsonify({"status": "error", "reason": reason, "store": "ok" if store_ok else "unreadable",
                    "database": "ok" if db_ok else "unavailable"}), 503


# ---- gunicorn target ----------------------------------------------------------------------------
_lazy_lock = threading.Lock()
_lazy_app = None


def _app_from_env():
    """The app gunicorn serves, built once from :meth:`Settings.from_env(os.environ)
    <sectionist.settings.Settings.from_env>` (``SECTIONIST_STORE``, ``SECTIONIST_DB_URL``, ``SECRET_KEY``,
    the S3 and proxy/cookie variables): the one place the web app reads the environment."""
    global _lazy_app
    with _lazy_lock:
        if _lazy_app is None:
            from sectionist.settings import Settings, SettingsError

            try:
                settings = Settings.from_env(os.environ)
            except SettingsError as exc:
                raise ParameterError(str(exc)) from None
            if not settings.store:
                raise ParameterError("set SECTIONIST_STORE to the store to serve (a folder or s3://bucket/prefix) "
                                     "before loading sectionist.dashboard.app:server")
            _lazy_app = create_app(settings.store, db_url=settings.database_url(), secret_key=settings.secret_key,
                                   store_options=settings.store_options(), auth_options=settings.auth_options(),
                                   **settings.media_options())
            # each worker process reads the store's tables now, not on its first visitors' clicks
            from sectionist.dashboard.data.prime import prime_in_background
            from sectionist.dashboard.ui.figures.common import build_each_trace_type

            prime_in_background(_lazy_app.server.extensions[EXTENSION_KEY],
                                also=[("plotly", build_each_trace_type)])
        return _lazy_app


def __getattr__(name):
    # PEP 562: `server` (and `app`) are built on first access, never at import time
    if name == "server":
        return _app_from_env().server
    if name == "app":
        return _app_from_env()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
