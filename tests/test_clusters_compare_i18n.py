"""The Clusters and Compare pages in Spanish (axis titles, glossary names, default cluster names,
the locale's separators in every figure), and the Compare page naming clusters like every other
page — default and experts' names in its table, heatmap ticks and Sankey nodes (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from auth_helpers import make_user
from synthetic_store import RUNS, build_synthetic_store

from sectionist.analysis.glossary import FEATURE_GLOSSARY, describe
from sectionist.dashboard.ui.figures import map as map_figures, palette
from sectionist.dashboard.models import get_database
from sectionist.dashboard.ui import naming

SPANISH = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('i18n-cc-db') / 'users.sqlite'}"


@pytest.fixture(scope="module")
def app(tmp_path_factory, db_url):
    from sectionist.dashboard.app import create_app

    store = build_synthetic_store(tmp_path_factory.mktemp("i18n-cc") / "store", n_sections=80, random_state=3)
    app = create_app(store.uri, db_url=db_url, secret_key="t" * 40)
    make_user(db_url, "ada", "expert", password="Velvet-Harbour-92x")
    return app


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


def render(component) -> str:
    """A component or figure as JSON text with its non-ASCII characters as they are."""
    import plotly.io.json as pj

    return json.dumps(json.loads(pj.to_json_plotly(component)), ensure_ascii=False)


def _figures(component) -> list[dict]:
    """Every figure inside a rendered component tree."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("figure"), dict):
                found.append(node["figure"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(render(component)))
    return found


#: The English adjectives of cluster names that read differently in Spanish.
ENGLISH_WORDS = {w for t in FEATURE_GLOSSARY.values() for w in (t.high_word, t.low_word) if w} - {"tonal"}


def test_clusters_page_speaks_spanish(app, data):
    from sectionist.dashboard.pages import clusters

    run_id = RUNS[0][0]
    english_names = naming.default_cluster_names(data, run_id)  # outside a request: English
    with app.server.test_request_context("/clusters", headers=SPANISH):
        spanish_names = naming.default_cluster_names(data, run_id)
        page = clusters.layout(run=run_id)
        text = render(page)
        cluster = clusters.cluster_options(data, run_id)[0]["value"]
        body = clusters.cluster_body(data, run_id, cluster)
        body_text = render(body)
        profile_feature = next(f for f in data.feature_names if f.endswith("_median") and f in FEATURE_GLOSSARY)
        spanish_label = describe(profile_feature, clusters._).name
    assert "Tamaños de los grupos (haga clic en una barra)" in text and "Cluster sizes" not in text
    # default names: the same clusters, in Spanish words ("fuerte · brillante · denso")
    assert set(spanish_names) == set(english_names) and spanish_names != english_names
    for name in spanish_names.values():
        assert not set(name.replace(" (", " · ").split(" · ")) & ENGLISH_WORDS, name
    first = next(iter(spanish_names))
    assert f"{first}: {spanish_names[first]}" in text  # the cluster picker's labels
    # the body: Spanish axis titles and plain feature names from the glossary
    assert "diferencia con el corpus (DE)" in body_text and "difference to the corpus" not in body_text
    assert "Qué significan estos descriptores" in body_text
    assert spanish_label in body_text and spanish_label != describe(profile_feature).name
    figs = _figures(page) + _figures(body)
    assert figs and all(f["layout"].get("separators") == ",." for f in figs)


def test_glossary_speaks_the_language_it_is_given():
    from sectionist.analysis.glossary import (
        contribution_text,
        default_cluster_names,
        surrogate_note,
    )

    es = {"brightness": "brillo", "%(name)s (%(unit)s)": "%(name)s (%(unit)s)", "loud": "fuerte",
          "bright": "brillante", "dense": "denso", "brighter": "más brillante",
          "%(change)s than usual → towards this cluster": "%(change)s de lo habitual → hacia este grupo"}
    assert describe("spectral_centroid_median", lambda s: es.get(s, s)).label == "brillo (Hz)"
    assert contribution_text("spectral_centroid_median", 0.2, True, lambda s: es.get(s, s)) == \
        "más brillante de lo habitual → hacia este grupo"
    import pandas as pd

    z = pd.DataFrame({"rms_median": [2.0], "spectral_centroid_median": [1.0], "spectral_bandwidth_median": [0.5]})
    assert default_cluster_names(z, gettext=lambda s: es.get(s, s)) == {0: "fuerte · brillante · denso"}
    assert default_cluster_names(z) == {0: "loud · bright · dense"}  # English without gettext (CLI, exports)
    assert "87 %" in surrogate_note("musicnn", 0.873, percent=lambda f: f"{100 * f:.0f} %")


def test_compare_page_speaks_spanish(app, data):
    from sectionist.dashboard.pages import compare

    a, b = RUNS[0][0], RUNS[1][0]
    with app.server.test_request_context("/compare", headers=SPANISH):
        page = compare.layout(a=a, b=b)
        text = render(page)
        rows, _pages, note = compare.table_page(data, a, b, 0, 20)
    assert "Contingencia (grupos de B alineados con los de A)" in text
    assert "grupo según A" in text and "cluster by A" not in text
    heat, flow = [f for f in _figures(page) if f["data"] and f["data"][0]["type"] in ("heatmap", "sankey")]
    assert heat["layout"]["xaxis"]["title"]["text"].startswith("grupos de B")
    assert heat["layout"]["separators"] == ",." and flow["layout"]["separators"] == ",."
    assert note.startswith("Mismo grupo en ") and "tras emparejar" in note  # the agreement, in Spanish
    assert {r["relation_shown"] for r in rows} <= {"igual", "división", "fusión", "difiere"}
    assert {r["relation"] for r in rows} <= {"same", "split", "merge", "differs"}  # the stored codes stay


def test_compare_shows_cluster_names_like_every_page(app, data, db_url):
    """Issue 14: the Compare table and heatmap showed bare numbers ("0", "B1 ↔ A0") where every other
    page shows the clusters' names, experts' names included."""
    from flask_login import login_user

    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.ui.components.common import cluster_names
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.pages import compare

    a, b = RUNS[0][0], RUNS[1][0]
    db = get_database(db_url)
    with app.server.test_request_context("/compare"):
        login_user(accounts.get_user(db, "ada"))
        renamed = int(data.run_arrays(a).clusters[0])
        record_cluster_name(db, accounts.get_user(db, "ada"), run_id=a, cluster=renamed, name="Festival drops")
        names_a, names_b = cluster_names(data, a), cluster_names(data, b)
        rows, _pages, _note = compare.table_page(data, a, b, 0, 500)
        heat, flow = compare.compare_figures(data, a, b)
        hits, _pages, _note = compare.table_page(data, a, b, 0, 500, filter_query="{cluster_a} contains festival")
        by_number, _pages, _note = compare.table_page(data, a, b, 0, 500,
                                                      filter_query=f"{{cluster_a}} contains {renamed}")
    assert names_a[renamed] == "Festival drops" and len(names_b) > 1
    assert rows
    for r in rows:
        assert r["cluster_a"] == palette.cluster_name(r["label_a"], names_a)
        assert r["cluster_b"] == palette.cluster_name(r["label_b"], names_b)
        assert r["cluster_b"].startswith(f"{r['label_b']}: ") or r["label_b"] < 0
    assert any(r["cluster_a"] == f"{renamed}: Festival drops" for r in rows)
    # the shown name filters (text) and the number still works
    assert hits and all(r["label_a"] == renamed for r in hits)
    assert by_number and {r["label_a"] for r in by_number} == {renamed}
    matched = [r for r in rows if r["label_b_aligned"] != "no match"]
    assert matched and all(r["matched_a"] == palette.cluster_name(int(r["label_b_aligned"][1:]), names_a)
                           for r in matched)
    ticks_y = list(heat.data[0].y)
    assert f"A{renamed}: Festival drops" in ticks_y
    assert all(": " in t for t in ticks_y if "noise" not in t)
    assert all(": " in t for t in heat.data[0].x if "noise" not in t)
    assert any(f"{renamed}: Festival drops" in n for n in flow.data[0].node.label)
    assert int(np.asarray(heat.data[0].z).sum()) == data.comparison(a, b)["n"]


def test_map_colour_bar_names_per_section_values_in_spanish(app):
    with app.server.test_request_context("/map", headers=SPANISH):
        fig = map_figures.section_map(np.zeros((3, 2)), np.arange(3), values=np.array([0.2, 0.5, 0.9]),
                                      value_name="confidence")
        feature = map_figures.section_map(np.zeros((3, 2)), np.arange(3), values=np.arange(3.0), value_name="<b>x</b>")
    marker = fig.data[0].marker
    assert marker.colorbar.title.text == "confianza" and (marker.cmin, marker.cmax) == (0.0, 1.0)
    assert feature.data[0].marker.colorbar.title.text == "&lt;b&gt;x&lt;/b&gt;"  # other names: data, escaped
    assert fig.layout.separators == ",."
