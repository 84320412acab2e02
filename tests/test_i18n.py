"""English and Spanish: the catalogue is complete and current, the code's display strings go
through gettext, the language follows the browser and the nav's switch, numbers follow the locale."""

from __future__ import annotations

import re

import pytest
from babel.messages.mofile import read_mo

from sectionist.dashboard.ui import i18n, i18n_tools
from tests.i18n_lint import needs_translation, untranslated_literals

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|%\{[^}]*\}")


@pytest.fixture(scope="module")
def spanish():
    return i18n_tools.load("es")


@pytest.fixture(scope="module")
def extracted():
    return i18n_tools.extract()


def test_every_string_of_the_code_is_in_the_spanish_catalogue(spanish, extracted):
    missing = [m.id for m in extracted if m.id and spanish.get(m.id, context=m.context) is None]
    assert not missing, f"run `python -m sectionist.dashboard.ui.i18n_tools update` and translate: {missing[:20]}"


def test_spanish_catalogue_translates_every_string(spanish):
    untranslated = i18n_tools.untranslated(spanish)
    assert not untranslated, f"{len(untranslated)} untranslated Spanish strings, e.g. {untranslated[:20]}"


def test_translations_keep_their_placeholders(spanish):
    bad = []
    for message in spanish:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if s and set(PLACEHOLDER.findall(s)) != wanted:
                bad.append((message.id, s))
    assert not bad, bad[:10]


def test_compiled_catalogue_matches_the_po_file(spanish):
    with i18n_tools.mo_path("es").open("rb") as fh:
        compiled = read_mo(fh)
    def key(value):  # plural messages: read_po gives tuples, read_mo lists
        return tuple(value) if isinstance(value, (list, tuple)) else value

    po = {key(m.id): key(m.string) for m in spanish if m.id and not m.fuzzy}
    mo = {key(m.id): key(m.string) for m in compiled if m.id}
    assert mo == po, "run `python -m sectionist.dashboard.ui.i18n_tools update` (messages.mo is stale)"


def test_the_lint_sees_untranslated_strings(tmp_path):
    code = tmp_path / "page.py"
    code.write_text("from dash import html\nx = html.Button('Save selection')\ny = html.Button(_('Save'))\n"
                    "z = html.Span('3 s')\nw = html.A('x', **{'aria-label': 'Close panel'})\n")
    found = untranslated_literals(tmp_path)
    assert [f[3] for f in found] == ["Save selection", "Close panel"]
    assert needs_translation("from %{base:.1f} s") and not needs_translation("%{x:.2f} s · BPM")


# ---- the language of a request ----------------------------------------------------------------
@pytest.fixture()
def server():
    import flask

    app = flask.Flask(__name__)
    from sectionist.dashboard.auth.guards import safe_next

    i18n.init_i18n(app, local_path=safe_next)
    app.config["SECRET_KEY"] = "test"

    @app.route("/probe")
    def probe():
        return flask.jsonify(lang=i18n.current_language(), text=i18n._("Log out"), n=i18n.number(12345.5, 1),
                             pct=i18n.percent(0.25), seps=i18n.plotly_separators(),
                             word=i18n.word("agree"))

    return app


def test_language_follows_accept_language(server):
    client = server.test_client()
    assert client.get("/probe").json["lang"] == "en"
    es = client.get("/probe", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).json
    assert es == {"lang": "es", "text": "Cerrar sesión", "n": "12.345,5", "pct": "25\xa0%", "seps": ",.",
                  "word": "de acuerdo"}
    en = client.get("/probe", headers={"Accept-Language": "en-GB,en;q=0.9"}).json
    assert en == {"lang": "en", "text": "Log out", "n": "12,345.5", "pct": "25%", "seps": ".,", "word": "agree"}
    assert client.get("/probe", headers={"Accept-Language": "fr-FR"}).json["lang"] == "en"


def test_language_switch_sets_a_cookie_and_goes_back_locally(server):
    client = server.test_client()
    resp = client.get("/lang/es?next=/map%3Frun%3Dkm")
    assert resp.status_code == 302 and resp.headers["Location"] == "/map?run=km"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.LANG_COOKIE}=es") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # the cookie wins over the browser's language
    assert client.get("/probe", headers={"Accept-Language": "en"}).json["lang"] == "es"
    client.get("/lang/en")
    assert client.get("/probe", headers={"Accept-Language": "es"}).json["lang"] == "en"
    # no open redirect, no unknown language
    assert client.get("/lang/es?next=//evil.example/x").headers["Location"] == "/"
    assert client.get("/lang/xx").status_code == 404


def test_outside_a_request_english_is_used():
    assert i18n._("Log out") == "Log out"
    assert i18n.current_language() == "en"
    assert i18n.number(1234.5, 1) == "1,234.5" and i18n.number(float("nan")) == "—"
