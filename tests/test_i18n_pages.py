"""The Map and Overview pages, the section detail panel, the admin's users page and the spectrogram
images in Spanish (Accept-Language: es), and still in English by default."""

from __future__ import annotations

import pytest
from auth_helpers import csrf_from_html, login, make_user
from synthetic_store import build_synthetic_store

ES = {"Accept-Language": "es-ES,es;q=0.9"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("i18n-pages")
    store = build_synthetic_store(root / "store", n_sections=40, sections_per_song=10, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=3)
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="t" * 40)
    app.server.config["TEST_DB_URL"] = f"sqlite:///{root / 'users.sqlite'}"
    return app


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


def render(component) -> str:
    import plotly.io.json as pj

    return pj.to_json_plotly(component)


def page_layout(app, path, headers=None, **query) -> str:
    import dash

    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    with app.server.test_request_context(path, headers=headers or {}):
        return render(page["layout"](**query))


def test_map_page_in_spanish_and_english(app, data):
    from sectionist.dashboard.pages import map as map_page

    es = page_layout(app, "/map", ES)
    for spanish in ("Colorear por", "Filtros", "todas las canciones", "Descargar la selección",
                    "Comparar de oído: casillas A y B",
                    "Lista de reproducción de VLC, enlaces que suenan en cualquier reproductor (.xspf)"):
        assert spanish in es, spanish
    for english in ("Colour by", "Filters", "all songs", "Download selection", "Compare by ear", "VLC playlist"):
        assert english not in es, english
    en = page_layout(app, "/map")
    assert "Colour by" in en and "Download selection" in en and "Colorear por" not in en

    run = data.runs.index[0]
    space = data.runs.loc[run, "space"]
    projection = map_page.projection_options(data, space)[0]["value"]
    sid = str(data.section_ids[0])
    with app.server.test_request_context("/map", headers=ES):
        _fig, count, _meta = map_page.render_map(data, space, projection, run)
        summary = render(map_page.selection_summary(data, {"rows": list(range(12)), "active": True}, run))
        detail = render(map_page.section_detail(data, sid, run, "map"))
        slots = render(map_page.slot_view(data, {"A": sid}, run))
    assert count == f"Se muestran {len(data.section_ids)} de {len(data.section_ids)} secciones"
    assert "12 secciones seleccionadas de 2 canciones" in summary
    assert "Vecinos más cercanos" in detail and "Poner en la casilla A" in detail and "Nearest neighbours" not in detail
    assert "Casilla B" in slots and "Poner en la casilla B" in slots and "Slot B" not in slots


def test_overview_page_in_spanish(app):
    es = page_layout(app, "/", ES)
    for spanish in ("Agrupamientos y su calidad", "horas de audio", "Elegir K: codo, silueta y BIC",
                    "todos los espacios", "silueta ↑", "Almacén "):
        assert spanish in es, spanish
    for english in ("Runs and their quality", "hours of audio", "Choosing K", "all spaces", "silhouette ↑"):
        assert english not in es, english
    assert "Runs and their quality" in page_layout(app, "/")


@pytest.fixture(scope="module")
def admin(app):
    client = app.server.test_client()
    login(client, "boss", make_user(app.server.config["TEST_DB_URL"], "boss", "admin"))
    return client


def test_admin_users_page_in_spanish(admin):
    page = admin.get("/admin/users", headers=ES).get_data(as_text=True)
    assert '<html lang="es">' in page
    for spanish in ("Añadir un usuario", "nombre de usuario", "nueva contraseña", "¿Eliminar a boss?",
                    ">administrador</option>", ">experto</option>", "← volver al panel"):
        assert spanish in page, spanish
    for english in ("Add a user", ">new password<", ">expert</option>", "back to the dashboard"):
        assert english not in page, english
    # the language links come back to this page
    assert 'href="/lang/en?next=/admin/users"' in page or 'href="/lang/en?next=%2Fadmin%2Fusers"' in page
    # a refused change is explained in Spanish
    token = csrf_from_html(page)
    resp = admin.post("/admin/users", headers=ES, data={"action": "add", "username": "no spaces", "role": "expert",
                                                        "csrf_token": token})
    assert resp.status_code == 400
    assert "empezando por una letra o un dígito" in resp.get_data(as_text=True)
    resp = admin.post("/admin/users", headers=ES, data={"action": "add", "username": "ana", "role": "expert",
                                                        "csrf_token": token})
    assert resp.status_code == 200 and "Se ha creado &#39;ana&#39;" in resp.get_data(as_text=True)
    english = admin.get("/admin/users").get_data(as_text=True)
    assert '<html lang="en">' in english and "Add a user" in english and ">expert</option>" in english


def test_password_policy_message_in_both_languages(app):
    from sectionist.dashboard.auth.policy import AccountError, valid_password

    with pytest.raises(AccountError) as info:
        valid_password("aaaaaaaaaaaa")
    assert str(info.value).startswith('password too easy to guess (Repeats like "aaa" are easy to guess)')
    with app.server.test_request_context("/admin/users", headers=ES):
        assert info.value.translated().startswith(
            "contraseña demasiado fácil de adivinar (Las repeticiones como «aaa» son fáciles de adivinar)")


def test_spectrogram_labels_follow_the_language(admin, data):
    url = f"/spectrogram/{data.section_ids[0]}.png"
    en, es = admin.get(url), admin.get(url, headers=ES)
    assert en.status_code == es.status_code == 200
    assert en.headers["ETag"] != es.headers["ETag"] and en.data != es.data
    assert "Accept-Language" in es.headers["Vary"] and "Cookie" in es.headers["Vary"]
