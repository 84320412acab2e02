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
import re

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


# ---- user text is never read as a Plotly template (issue 24, item 6) ---------------------------------
#: a cluster name, song title or file name that is a Plotly template and markup at once
CRAFTED = "%{customdata} %{meta[0]} <b>b</b></br>"
#: the same length and spaces (so texts wrap alike), neither a template nor markup
PLAIN = CRAFTED.translate(str.maketrans("%<>/", "pqrs"))
#: plotly.js's TEMPLATE_STRING_REGEX (src/lib/index.js): what its templates substitute
TEMPLATE = re.compile(r"%{([^\s%{}:]*)([:|][^}]*)?}")


def builder_calls(text: str) -> dict:
    """Every figure builder of ``sectionist/dashboard/ui/figures`` called with ``text`` in each
    parameter that takes text from data or people (names of clusters, songs, runs, lanes, files,
    features), keyed ``module.function``."""
    from sectionist.dashboard.ui.figures import (
        clusters, common, compare, explain, judgements, lab, map as map_figures, overview, saliency, songs)

    names = {0: text, 1: text + " 1"}
    feats = {text: 0.4, text + " 2": -0.2}
    per_run = pd.DataFrame({"run_id": ["r1"], "rate": [0.5], "ci_low": [0.2], "ci_high": [0.8], "agree": [2],
                            "n": [4]})
    xyz = np.array([[0.0, 0.0], [1.0, 0.5], [0.2, 1.0], [0.9, 0.9]])
    grid = dict(x0=0.0, y0=0.0, dx=0.5, dy=0.5, counts=np.array([[1, 2], [0, 1]]),
                majority=np.array([[0, 1], [-1, 0]]), level=np.array([[0, 2], [0, 1]]))
    centres = map_figures.centre_traces(xyz, np.array([0, 0, 1, 1]), names)
    return {
        "clusters.cluster_sizes": lambda: clusters.cluster_sizes([0, 1], [3, 2], [1, 2], names),
        "clusters.song_shares": lambda: clusters.song_shares([text, text + " 2"], [3, 2]),
        "common.empty_figure": lambda: common.empty_figure(text),
        "compare.contingency_heatmap": lambda: compare.contingency_heatmap(
            np.ones((2, 2)), [0, 1], [0, 1], name_a=text, name_b=text, mapping={0: 0, 1: 1}, names_a=names,
            names_b=names),
        "compare.sankey": lambda: compare.sankey(np.ones((2, 2)), [0, 1], [0, 1], name_a=text, name_b=text,
                                                 mapping={0: 0, 1: 5}, names_a=names, names_b=names),
        "explain.shap_bars": lambda: explain.shap_bars(feats, feature_values=feats, medians=feats, title=text,
                                                       note=text),
        "explain.shap_beeswarm": lambda: explain.shap_beeswarm(np.ones((4, 2)), list(feats), np.ones((4, 2)),
                                                               note=text),
        "explain.shap_ranking": lambda: explain.shap_ranking([{"feature": text, "mean_abs_shap": 1.0}], cluster=0),
        "explain.profile_bars": lambda: explain.profile_bars(feats, {k: (0.0, 1.0) for k in feats}, cluster=0),
        "judgements.agreement_bars": lambda: judgements.agreement_bars(per_run, {"r1": text}),
        "lab.novelty_threshold": lambda: lab.novelty_threshold(
            np.arange(4.0), np.ones(4), prominence=0.1, cuts=[1.0], title=text, curve_name=text, threshold_name=text,
            cut_name=text, x_title=text),
        "lab.segmentation_lanes": lambda: lab.segmentation_lanes(
            [(text, [0.0, 1.0], [1.0, 2.0], [0, 1])], duration=2.0, song_id="s1", title=text, x_title=text,
            hover=text),
        "map.section_map": lambda: (
            map_figures.section_map(xyz, np.arange(4), labels=np.array([0, 0, 1, 1]), cluster_names=names,
                                    centres=True, axis_titles=[text, text],
                                    hover_text=[common.escape_text(text) + "<br>0:00"] * 4),
            map_figures.section_map(xyz, np.arange(4), values=np.arange(4.0), value_name=text),
            map_figures.section_map(np.c_[xyz, xyz[:, :1]], np.arange(4), categories=np.arange(4),
                                    category_names=[text] * 4, axis_titles=[text] * 3)),
        "map.density_map": lambda: (
            map_figures.density_map(grid, clusters=[0, 1], cluster_names=names, hover=text, name=text,
                                    centres=centres, axis_titles=[text, text]),
            map_figures.density_map(dict(grid, mean=np.ones((2, 2)), majority=None), value_name=text, hover=text),
            map_figures.density_map(dict(grid, majority=None), count_title=text, hover=text)),
        "overview.k_curves": lambda: overview.k_curves({text: {"k": [2, 3], "inertia": [2.0, 1.0],
                                                               "silhouette": [0.2, 0.3], "bic": [5.0, 4.0]}}),
        "saliency.saliency_heatmap": lambda: saliency.saliency_heatmap(
            np.ones((4, 3)), np.array([100.0, 300.0, 1000.0, 3000.0]), method=text, n_sections=3, cluster=0,
            names=names),
        "songs.song_timeline": lambda: songs.song_timeline(
            [(text, [0.0, 1.0], [1.0, 2.0], [0, 1], [0, 1], names, [0, 1])], duration=2.0, title=text,
            legend_names=names, legend_title=text, song_id="s1"),
        "songs.cluster_tracks": lambda: songs.cluster_tracks(
            [(0, np.array([0.0]), np.array([1.0]), np.array([0])), (1, np.array([1.0]), np.array([2.0]), np.array([1]))],
            duration=2.0, title=text, cluster_names=names, songs=[(text, 0.0, 1.0), (text, 1.0, 1.0)]),
        "songs.sound_tracks": lambda: songs.sound_tracks(
            [{"song_id": "s1", "title": text, "duration": 2.0,
              "tracks": [("sound", text, [0.0], [1.0]), ("nmf", f"{text} · {text}", [1.0], [2.0])]}], title=text),
    }


def figure_builders() -> set[str]:
    """``module.function`` of every public function in ``sectionist/dashboard/ui/figures`` that
    returns a figure (read from the modules, so a builder added later is walked too)."""
    import importlib
    import inspect
    import pkgutil

    import sectionist.dashboard.ui.figures as package

    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and \
                    "Figure" in str(inspect.signature(fn).return_annotation):
                found.add(f"{info.name}.{name}")
    # the constructor the builders hand their finished traces and layout to: it places no text
    return found - {"common.fast_figure"}


def shown_strings(obj, out: list | None = None) -> list[str]:
    """Every string of a figure dict that Plotly may draw or read as a template: all but
    ``customdata`` (data a template formats, never read as one; the players read its names)."""
    out = [] if out is None else out
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k != "customdata":
                shown_strings(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            shown_strings(v, out)
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        shown_strings(obj.tolist(), out)
    return out


def built_strings(built) -> list[str]:
    figs = built if isinstance(built, tuple) else (built,)
    return [s for fig in figs for s in shown_strings(json.loads(fig.to_json()))]


def test_every_figure_builder_shows_names_as_typed_never_as_templates_or_markup():
    """Cluster names, song titles and file names such as ``%{customdata} %{meta[0]} <b>b</b></br>``
    in every figure builder: Plotly's templates (hovertemplate, texttemplate) find no variable the
    text brought, and no tag of it survives (issue 24, item 6: a cluster name was substituted in the
    Songs page's lanes and tracks hover)."""
    crafted, plain = builder_calls(CRAFTED), builder_calls(PLAIN)
    assert set(crafted) == figure_builders(), "a figure builder is not walked by this test"
    for name, build in crafted.items():
        strings = built_strings(build())
        # the builder's own variables only: as many as with a name that is no template
        ours = sum(len(TEMPLATE.findall(s)) for s in built_strings(plain[name]()))
        assert sum(len(TEMPLATE.findall(s)) for s in strings) == ours, (name, [s for s in strings if "%{c" in s])
        leaked = [s for s in strings if any(bad in s for bad in ("<b>b</b>", "</br>", "%{customdata} %{meta"))]
        assert not leaked, (name, leaked)
        # the text did reach the figure, escaped (shown as typed)
        assert any("&#37;{customdata} &#37;{meta[0]}" in s or "&#37;{customdata}" in s for s in strings), name
        assert any("&lt;b&gt;b&lt;/b&gt;" in s for s in strings), name


def test_escape_text_hides_template_variables():
    from sectionist.dashboard.ui.figures.common import escape_text

    assert escape_text("%{customdata} 50% {x}") == "&#37;{customdata} 50% {x}"
    assert escape_text("<b>%{meta[0]}</b>") == "&lt;b&gt;&#37;{meta[0]}&lt;/b&gt;"
    assert not TEMPLATE.search(escape_text(CRAFTED))


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


@pytest.mark.browser
@pytest.mark.slow
def test_plotly_shows_crafted_names_in_hover_labels_as_typed():
    """The real check of the escape (issue 24, item 6): the Songs page's lanes and tracks, the sound
    tracks and the contingency heatmap, drawn by the plotly.js the app serves in Chromium. The hover
    label of a block built with the crafted name reads exactly as the one built with a plain name
    of the same length, the crafted name in its place: nothing substituted, nothing bold (``%%{``
    would not do: plotly.js still substitutes the ``%{…}`` after the first ``%``)."""
    from pathlib import Path

    import plotly

    from tests.browser_helpers import chromium_page

    names = ("songs.song_timeline", "songs.cluster_tracks", "songs.sound_tracks", "compare.contingency_heatmap")
    shown = {}
    with chromium_page(viewport=(1200, 900)) as (page, errors):
        page.set_content("<html><body><div id='g' style='width:1100px;height:800px'></div></body></html>")
        page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
        for text in (CRAFTED, PLAIN):
            calls = builder_calls(text)
            for name in names:
                fig = json.loads(calls[name]().to_json())
                curve = next(i for i, t in enumerate(fig["data"]) if t.get("hovertemplate"))
                heatmap = fig["data"][curve]["type"] == "heatmap"
                page.evaluate("""async ([fig, curve, heatmap]) => {
                    const gd = document.getElementById('g');
                    await Plotly.newPlot(gd, fig.data, fig.layout);
                    if (!heatmap) Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: 0}]);
                }""", [fig, curve, heatmap])
                if heatmap:  # Fx.hover takes no heatmap cell: the mouse over the first one
                    box = page.query_selector("#g .nsewdrag").bounding_box()
                    page.mouse.move(box["x"] + 5, box["y"] + 5)
                page.wait_for_selector("#g .hoverlayer .hovertext", timeout=5000)
                shown[name, text] = page.evaluate("""() => {
                    const gd = document.getElementById('g');
                    return {text: gd.querySelector('.hoverlayer .hovertext').textContent,
                            bold: gd.querySelectorAll('.hoverlayer tspan[style*="bold"]').length,
                            ticks: Array.from(gd.querySelectorAll('.ytick text, .xtick text')).map(t => t.textContent)};
                }""")
                page.mouse.move(0, 0)
        assert not errors, errors
    for name in names:
        got, plain = shown[name, CRAFTED], shown[name, PLAIN]
        assert PLAIN in plain["text"], (name, plain)  # the name is in this hover label at all
        assert got["text"] == plain["text"].replace(PLAIN, CRAFTED), (name, got["text"])
        assert got["bold"] == 0, (name, got)
    assert any(CRAFTED in t for t in shown["songs.cluster_tracks", CRAFTED]["ticks"])
