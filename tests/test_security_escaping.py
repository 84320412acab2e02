"""Text from data never becomes Plotly markup (issue 15, item 4).

Plotly renders a subset of HTML in the text of a figure: a song named
``<a href="https://evil.example">x</a>`` would be a clickable outside link in a chart, ``<b>`` bold.
A store whose song titles, truth labels, run labels and run methods carry such markup is served; every
figure of every page is built from it (layouts and callbacks called as plain functions) and no
string of any ``fig.to_dict()`` may carry the markup unescaped, while the app's own markup
(``<br>``, ``<extra>``) still does. One headless Chromium check on the Clusters page: no ``<a>``
element with the evil href in the plot's SVG.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic_store import build_synthetic_store

from sectionist.store.schema import RUNS, SECTIONS, SONGS

LINK = '<a href="https://evil.example">x</a>'
BOLD = "<b>bold</b>"
EVIL = f"{LINK} {BOLD}"
#: what may never appear in a figure string built from this store (our own markup is <br>, <extra>)
FORBIDDEN = ("<a ", "<a>", "</a>", "<b>", "</b>", "evil.example\">")


def poison(store) -> None:
    """Rewrite the store's song titles, truth labels, run labels and methods to carry markup."""
    for i, part in enumerate(store.list_parts(SONGS)):
        df = store.read_part(SONGS, part)
        df["title"] = [f"{EVIL} song {i}-{j}" for j in range(len(df))]
        store.write_part(SONGS, part, df)
    for part in store.list_parts(SECTIONS):
        df = store.read_part(SECTIONS, part)
        df["truth_label"] = [f"{BOLD}{t}" for t in df["truth_label"]]
        store.write_part(SECTIONS, part, df)
    for part in store.list_parts(RUNS):
        df = store.read_part(RUNS, part)
        df["label"] = [f"{EVIL} {t}" for t in df["label"]]
        df["method"] = [f"{BOLD}{m}" for m in df["method"]]
        store.write_part(RUNS, part, df)


def figure_strings(obj, out: list | None = None) -> list[str]:
    """Every string inside a figure dict (keys included), recursively."""
    out = [] if out is None else out
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.append(str(k))
            figure_strings(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            figure_strings(v, out)
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        figure_strings(obj.tolist(), out)
    return out


def figures_in(component) -> list[dict]:
    """The ``figure`` of every graph in a Dash component tree, as plain dicts."""
    import plotly.io.json as pj

    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Graph" and isinstance(node.get("props"), dict) and node["props"].get("figure"):
                found.append(node["props"]["figure"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(pj.to_json_plotly(component)))
    return found


def as_dict(fig) -> dict:
    return fig.to_dict() if hasattr(fig, "to_dict") else fig


def unescaped(strings) -> list[str]:
    return [s for s in strings if any(bad in s for bad in FORBIDDEN)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from sectionist.dashboard.app import create_app
    from tests.auth_helpers import make_user

    root = tmp_path_factory.mktemp("escaping")
    store = build_synthetic_store(root / "store", n_sections=60, sections_per_song=10, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=5)
    poison(store)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="e" * 40)
    password = make_user(db, "expert1", "expert")
    return {"app": app, "data": app.server.extensions["sectionist_data"], "db": db, "user": "expert1",
            "password": password}


def test_escape_text_escapes_markup_only():
    from sectionist.dashboard.ui.figures.common import escape_text

    assert escape_text(EVIL) == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt; &lt;b&gt;bold&lt;/b&gt;'
    assert escape_text("Rock & Roll") == "Rock &amp; Roll"
    assert escape_text("Don't stop") == "Don't stop"
    assert escape_text(None) == "" and escape_text(3) == "3"


def test_every_builder_escapes_the_text_it_is_given():
    from sectionist.dashboard.ui.figures import (
        clusters as cluster_figures, common as common_figures, compare as compare_figures,
        explain as explain_figures, judgements as judgement_figures, map as map_figures,
        overview as overview_figures, songs as song_figures)

    feats = {f"{BOLD}rms_mean": 0.4, LINK: -0.2}
    per_run = pd.DataFrame({"run_id": ["r1"], "rate": [0.5], "ci_low": [0.2], "ci_high": [0.8],
                                              "agree": [2], "n": [4]})
    built = {
        "empty": common_figures.empty_figure(EVIL),
        "map values": map_figures.section_map(np.zeros((3, 2)), np.arange(3), values=np.arange(3.0), value_name=EVIL,
                                              hover_text=[common_figures.escape_text(EVIL) + "<br>0:00"] * 3),
        "shap bars": explain_figures.shap_bars(feats, feature_values=feats, title=EVIL),
        "beeswarm": explain_figures.shap_beeswarm(np.ones((4, 2)), [EVIL, BOLD], np.ones((4, 2))),
        "ranking": explain_figures.shap_ranking([{"feature": EVIL, "mean_abs_shap": 1.0}]),
        "profile": explain_figures.profile_bars({EVIL: 1.0}, {EVIL: (0.0, 1.0)}, cluster=0),
        "song shares": cluster_figures.song_shares([EVIL, BOLD], [3, 2]),
        "k curves": overview_figures.k_curves({EVIL: {"k": [2, 3], "inertia": [2.0, 1.0], "silhouette": [0.2, 0.3]}}),
        "heatmap": compare_figures.contingency_heatmap(np.ones((2, 2)), [0, 1], [0, 1], name_a=EVIL, name_b=BOLD,
                                                       mapping={0: 0, 1: 1}),
        "sankey": compare_figures.sankey(np.ones((2, 2)), [0, 1], [0, 1], name_a=EVIL, name_b=BOLD, mapping={0: 0}),
        "timeline": song_figures.song_timeline([(EVIL, [0.0], [1.0], [0], [0])], duration=2.0, title=EVIL),
        "tracks": song_figures.cluster_tracks([(0, np.array([0.0]), np.array([1.0]), np.array([0]))], duration=2.0,
                                              title=EVIL),
        "agreement": judgement_figures.agreement_bars(per_run, {"r1": EVIL}),
    }
    for name, fig in built.items():
        strings = figure_strings(fig.to_dict())
        assert not unescaped(strings), (name, unescaped(strings))
    # the text is still there, escaped (shown literally by Plotly), and our own markup still works
    assert "&lt;b&gt;bold&lt;/b&gt;" in built["song shares"].to_dict()["data"][0]["y"]
    assert built["timeline"].to_dict()["layout"]["title"]["text"] == common_figures.escape_text(EVIL)
    timeline_bar = built["timeline"].to_dict()["data"][0]
    assert timeline_bar["meta"] == [common_figures.escape_text(EVIL)] and timeline_bar["hovertemplate"].startswith("%{meta[0]}<br>")
    hover = built["map values"].to_dict()["data"][0]
    assert hover["text"][0].endswith("<br>0:00") and hover["hovertemplate"].endswith("<extra>%{fullData.name}</extra>")
    # a name is never read as a hover template: it travels in meta
    heat = built["heatmap"].to_dict()["data"][0]
    assert heat["meta"] == [common_figures.escape_text(EVIL), common_figures.escape_text(BOLD)]
    assert "evil" not in heat["hovertemplate"]


def _login(app, username):
    """A request context in which ``username`` is the current user (as after a real login)."""
    from flask_login import login_user

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.auth.context import get_db

    user = get_user(get_db(app.server), username)
    login_user(user)
    return user


def test_no_page_puts_user_markup_into_a_figure(served):
    import dash

    from sectionist.dashboard.ui.figures import overview as overview_figures
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.auth.context import get_db
    from sectionist.dashboard.ui.components.detail import section_detail
    from sectionist.dashboard.judging import repository
    from sectionist.dashboard.pages import clusters, compare, judgements, map as map_page, overview, songs

    app, data = served["app"], served["data"]
    db = get_db(app.server)
    expert = get_user(db, served["user"])
    run_ids = list(data.runs.index)
    for i, sid in enumerate(data.section_ids[:6]):
        for run_id in run_ids[:2]:
            repository.record_judgement(db, expert, run_id=run_id, section_id=sid,
                                        verdict="agree" if i % 2 else "disagree", comment=EVIL)

    figs: dict[str, dict] = {}
    pages = {p["path"]: p for p in dash.page_registry.values()}
    with app.server.test_request_context("/"):
        _login(app, served["user"])
        sid = data.section_ids[0]
        for path, page in pages.items():
            for j, fig in enumerate(figures_in(page["layout"]())):
                figs[f"layout {path} #{j}"] = fig
            for j, fig in enumerate(figures_in(page["layout"](section=sid, run=run_ids[0]))):
                figs[f"layout {path}?section #{j}"] = fig
        # map: every colouring, with hover text
        cat = data.projection_catalog
        space = cat["space"].iloc[0]
        projection = f"{cat['kind'].iloc[0]}{int(cat['dims'].iloc[0])}"
        colors = ["cluster", "song", "confidence", "silhouette", "stability", "none"]
        colors += [f"feature:{data.feature_names[0]}"]
        for run_id in run_ids:
            run_space = data.runs.loc[run_id, "space"]
            cat_s = cat[cat["space"] == run_space]
            proj = f"{cat_s['kind'].iloc[0]}{int(cat_s['dims'].iloc[0])}" if len(cat_s) else projection
            for color in colors:
                fig, _, _ = map_page.render_map(data, run_space if len(cat_s) else space, proj, run_id, color=color,
                                                selected_section=sid)
                figs[f"map {run_id} {color}"] = as_dict(fig)
        # clusters: sizes and every cluster's body
        for run_id in run_ids:
            figs[f"sizes {run_id}"] = as_dict(clusters.sizes_figure(data, run_id))
            for c in data.run_arrays(run_id).clusters:
                for j, fig in enumerate(figures_in(clusters.cluster_body(data, run_id, c))):
                    figs[f"cluster {run_id}/{c} #{j}"] = fig
        # compare every pair
        for a in run_ids:
            for b in run_ids:
                if a != b:
                    heat, flow = compare.compare_figures(data, a, b)
                    figs[f"heatmap {a} {b}"], figs[f"sankey {a} {b}"] = as_dict(heat), as_dict(flow)
        # songs: both views, one and several songs
        song_ids = list(data.songs.index)
        for view in ("lanes", "tracks"):
            for chosen in (song_ids[:1], song_ids[:3]):
                figs[f"songs {view} {len(chosen)}"] = as_dict(songs.timeline(data, chosen, view, run_ids[0], sid,
                                                                             with_waveform=False))
        # overview curves of every space, the detail panel, the judgements page body
        for s in data.spaces():
            figs[f"curves {s}"] = as_dict(overview_figures.k_curves(overview.curves_for(data, s)))
        for run_id in run_ids:
            for j, fig in enumerate(figures_in(section_detail(data, sid, run_id, "map"))):
                figs[f"detail {run_id} #{j}"] = fig
        for j, fig in enumerate(figures_in(judgements.body())):
            figs[f"judgements #{j}"] = fig

    assert len(figs) > 40
    bad = {name: unescaped(figure_strings(fig)) for name, fig in figs.items()}
    bad = {k: v[:3] for k, v in bad.items() if v}
    assert not bad, bad
    # the escaped text did reach the figures (the check above is not vacuous)
    everything = "\n".join(s for fig in figs.values() for s in figure_strings(fig))
    assert "&lt;a href=\"https://evil.example\"&gt;x&lt;/a&gt;" in everything
    assert "&lt;b&gt;bold&lt;/b&gt;" in everything
    shares = [f for k, f in figs.items() if k.startswith("cluster ")]
    assert any("&lt;a href" in s for f in shares for s in figure_strings(f))
    agreement = [f for k, f in figs.items() if k.startswith("judgements")]
    assert agreement and any("&lt;b&gt;bold" in s for f in agreement for s in figure_strings(f))
    maps = [f for k, f in figs.items() if k.startswith("map ")]
    assert any("&lt;a href" in t and "<br>" in t for f in maps for tr in f["data"] for t in (tr.get("text") or []))


@pytest.mark.browser
@pytest.mark.slow
def test_clusters_page_draws_no_link_from_a_song_title(served):
    from tests.auth_helpers import login_page
    from tests.browser_helpers import chromium_page, serve_in_thread

    app = served["app"]
    with serve_in_thread(app.server) as url, chromium_page() as (page, errors):
        login_page(page, url, served["user"], served["password"], next="/clusters")
        page.wait_for_selector("#clusters-body .js-plotly-plot .main-svg", timeout=60000)
        page.wait_for_load_state("networkidle", timeout=60000)
        svg = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot svg'))
                                   .map(s => s.outerHTML).join('\\n')""")
        links = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot a'))
                                     .map(a => a.getAttribute('href') || a.getAttribute('xlink:href'))""")
        bold = page.evaluate("""() => document.querySelectorAll('.js-plotly-plot tspan[style*="bold"]').length""")
        assert not errors, errors
    assert "evil.example" in svg  # the title is drawn …
    assert not [h for h in links if h and "evil.example" in h], links  # … as text, never as a link
    assert bold == 0
    assert "<a href=&quot;https://evil.example&quot;" not in svg and "&lt;a href=\"https://evil.example\"&gt;" in svg
