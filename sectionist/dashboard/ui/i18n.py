"""English and Spanish: the dashboard's one translation layer (gettext catalogues via Flask-Babel).

Every user-facing string of the web app — Dash pages, components, figure titles, the login and
admin pages, messages of the JSON routes that the pages show — is written in English in the code
and passed through :func:`_` (``gettext``), :func:`ngettext` or, at import time, marked with
:func:`N_` and translated where it is shown. The Spanish catalogue is
``sectionist/dashboard/ui/translations/es/LC_MESSAGES/messages.po`` (compiled to ``messages.mo`` beside it);
``python scripts/i18n.py update`` extracts the strings (``babel.cfg``), merges them into the
catalogue and compiles it; ``tests/test_i18n.py`` fails on any string the Spanish catalogue does
not translate, and on display strings in the code that do not go through gettext.

The language of a request is, in order: the ``sectionist_lang`` cookie (set by the nav's
language switch, ``/lang/<code>``), the browser's ``Accept-Language``, English. Numbers and dates
are formatted for that locale (:func:`number`, :func:`percent`, :func:`date_time`), and figures
get the locale's decimal and thousands separators (:func:`plotly_separators`).

Usage::

    from sectionist.dashboard.ui.i18n import _, N_, ngettext
    html.H2(_("Clusters"))
    ngettext("%(num)d section", "%(num)d sections", n)   # num is filled in
    _("%(count)s of %(total)s sections", count=…, total=…)
"""

from __future__ import annotations

from pathlib import Path

#: The languages of the app: English (the source language) first.
LANGUAGES = ("en", "es")
#: Their names, each in its own language (the nav's language switch).
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
#: The cookie that remembers the language chosen in the nav (a year; not a secret).
LANG_COOKIE = "sectionist_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (module-level constants, page names);
    translate it with :func:`_` where it is shown."""
    return message


def _(message: str, **variables) -> str:
    """``message`` in the request's language; ``%(name)s`` placeholders filled from ``variables``.

    Outside a request (the CLI, tests that build a layout directly) the English text is returned.
    """
    from flask_babel import gettext

    return gettext(message, **variables)


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """The singular or plural form for ``num`` in the request's language (``%(num)d`` is filled)."""
    from flask_babel import ngettext as _ngettext

    return _ngettext(singular, plural, num, **variables)


def pgettext(context: str, message: str, **variables) -> str:
    """``message`` translated in ``context`` (the same English word with two Spanish translations)."""
    from flask_babel import pgettext as _pgettext

    return _pgettext(context, message, **variables)


def current_language() -> str:
    """The language of the current request (``"en"`` outside a request)."""
    from flask import has_request_context

    if not has_request_context():
        return DEFAULT_LANGUAGE
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def select_language() -> str:
    """The request's language: the cookie, else the best ``Accept-Language`` match, else English."""
    from flask import has_request_context, request

    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def page_title(name: str):
    """A page's browser-tab title, translated per request (``dash.register_page(title=…)`` takes
    a function): ``"<name> · sectionist"``; mark ``name`` with :func:`N_`."""
    def title(**_kwargs):
        return _("%(page)s · sectionist", page=_(name))

    return title


#: The vocabulary stored as codes (roles, verdicts, run kinds…) and how each is shown.
WORDS = {
    "admin": N_("admin"), "expert": N_("expert"), "viewer": N_("viewer"),
    "agree": N_("agree"), "disagree": N_("disagree"), "unsure": N_("unsure"),
    "coherent": N_("coherent"), "mixed": N_("mixed"), "split": N_("split"), "merge": N_("merge"),
    # what a run clusters (runs.level)
    "section": N_("section"), "frame": N_("frame"), "section-mean": N_("section mean"),
}


def word(code) -> str:
    """A stored code word (a role, a verdict…) in the request's language; unknown codes as they are."""
    if code is None:
        return ""
    text = WORDS.get(str(code))
    return _(text) if text is not None else str(code)


# ---- locale formatting ----------------------------------------------------------------------
def number(value, decimals: int = 0) -> str:
    """``value`` with the locale's separators and ``decimals`` fraction digits (``1,234.5`` in
    English, ``1234,5`` / ``12.345,5`` in Spanish); ``"—"`` for a missing value."""
    from babel.numbers import format_decimal

    if value is None or value != value:  # None or NaN
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=current_language())


def integer(value) -> str:
    """A count with the locale's thousands separator."""
    return number(value, 0)


def percent(value, decimals: int = 0) -> str:
    """A fraction (``0.25``) as a percentage in the locale (``25%`` / ``25 %``)."""
    from babel import Locale
    from babel.numbers import format_percent

    if value is None or value != value:
        return "—"
    lang = current_language()
    pattern = Locale.parse(lang).percent_formats[None].pattern  # "#,##0%", "#,##0\xa0%"
    if decimals > 0:
        pattern = pattern.replace("0%", "0." + "0" * decimals + "%").replace("0\xa0%", "0." + "0" * decimals + "\xa0%")
    return format_percent(value, format=pattern, locale=lang)


def date_time(value, fmt: str = "medium") -> str:
    """A date and time (``datetime`` or ISO text) in the locale's format; ``""`` for ``None``."""
    import datetime as _dt

    from babel.dates import format_datetime

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, format=fmt, locale=current_language())


def date(value, fmt: str = "medium") -> str:
    """A date in the locale's format."""
    import datetime as _dt

    from babel.dates import format_date

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = _dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, format=fmt, locale=current_language())


def table_locale() -> dict:
    """``dash_table.DataTable(locale_format=…)``: the locale's decimal mark and thousands separator
    for the numbers a table formats itself (columns of ``type="numeric"`` with a ``format``)."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    lang = current_language()
    return {"decimal": get_decimal_symbol(lang), "group": get_group_symbol(lang)}


def plotly_separators() -> str:
    """Plotly's ``layout.separators`` for the locale: decimal mark then thousands separator
    (``".,"`` in English, ``",."`` in Spanish)."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    lang = current_language()
    return get_decimal_symbol(lang) + get_group_symbol(lang)


#: The strings Plotly draws itself (mode bar tooltips, messages), translated through our catalogue
#: and handed to each graph as a locale (:func:`graph_locale`): no third-party locale script.
PLOTLY_STRINGS = (
    N_("Autoscale"), N_("Box Select"), N_("Lasso Select"), N_("Pan"), N_("Zoom"), N_("Zoom in"), N_("Zoom out"),
    N_("Reset axes"), N_("Reset view"), N_("Reset camera to default"), N_("Reset camera to last save"),
    N_("Orbital rotation"), N_("Turntable rotation"), N_("Toggle Spike Lines"), N_("Show closest data on hover"),
    N_("Compare data on hover"), N_("Toggle show closest data on hover"), N_("Download plot as a png"),
    N_("Download plot"), N_("Double-click to zoom back out"), N_("Double-click on legend to isolate one trace"),
    N_("Click to enter Plot title"), N_("Click to enter X axis title"), N_("Click to enter Y axis title"),
    N_("Click to enter Colorscale title"), N_("Snapshot succeeded"),
    N_("Taking snapshot - this may take a few seconds"),
    N_("Sorry, there was a problem downloading your snapshot!"), N_("trace"), N_("Reset"),
)


def graph_locale() -> dict:
    """The ``config`` entries that make a ``dcc.Graph`` speak the request's language: Plotly's own
    strings (mode bar) from our catalogue, and its number and date format (separators, month and
    day names) from the locale. ``{}`` in English (Plotly's default)."""
    lang = current_language()
    if lang == DEFAULT_LANGUAGE:
        return {}
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol

    loc = Locale.parse(lang)
    months = loc.months["format"]["wide"]
    short_months = loc.months["format"]["abbreviated"]
    days = loc.days["format"]["wide"]
    short_days = loc.days["format"]["abbreviated"]
    fmt = {
        "decimal": get_decimal_symbol(lang), "thousands": get_group_symbol(lang),
        "months": [months[i] for i in range(1, 13)], "shortMonths": [short_months[i] for i in range(1, 13)],
        # Plotly counts days from Sunday, CLDR from Monday (0)
        "days": [days[(i + 6) % 7] for i in range(7)], "shortDays": [short_days[(i + 6) % 7] for i in range(7)],
    }
    return {"locale": lang, "locales": {lang: {"dictionary": {s: _(s) for s in PLOTLY_STRINGS}, "format": fmt}}}


# ---- the Flask side -------------------------------------------------------------------------
def init_i18n(server, local_path) -> None:
    """Install Flask-Babel on ``server`` (locale from :func:`select_language`, the package's
    catalogues, ``_``/``ngettext`` in Jinja templates) and the public ``/lang/<code>`` route that
    sets the language cookie and goes back to ``next`` — through ``local_path``
    (:func:`sectionist.dashboard.auth.guards.safe_next`), so only to a path on this site."""
    import flask
    from flask_babel import Babel

    server.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    server.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    server.config["BABEL_DOMAIN"] = DOMAIN
    Babel(server, locale_selector=select_language)

    @server.context_processor
    def _language_context():
        return {"lang": current_language(), "languages": LANGUAGE_NAMES, "lang_next": flask.request.full_path
                if flask.request.query_string else flask.request.path}

    @server.route("/lang/<code>", methods=["GET"], endpoint="sectionist_language")
    def _set_language(code):
        if code not in LANGUAGES:
            return flask.Response("unknown language\n", status=404, mimetype="text/plain")
        resp = flask.redirect(local_path(flask.request.args.get("next")), code=302)
        resp.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=flask.request.is_secure, path="/")
        return resp


def language_links(pathname: str = "/", search: str = ""):
    """The nav's language switch: one link per language, the current one marked; each goes to
    ``/lang/<code>?next=<this page>``."""
    from urllib.parse import urlencode

    from dash import html

    from sectionist.dashboard.ui import ids

    here = (pathname or "/") + (search or "")
    current = current_language()
    links = []
    for code, name in LANGUAGE_NAMES.items():
        links.append(html.A(code.upper(), href="/lang/" + code + "?" + urlencode({"next": here}), lang=code,
                            title=name, hrefLang=code, id=ids.language_link(code),
                            className="lang-link active" if code == current else "lang-link",
                            **({"aria-current": "true"} if code == current else {})))
    return links
