"""Explanations for musicians (plain feature names, signed contributions, the surrogate's fidelity)
and named clusters (default names from the profile, experts' renames with history, names shown on
the Clusters and Map pages): issue 14 items 7 and 8."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from auth_helpers import csrf_header, login, make_user
from synthetic_store import EMBEDDER, RUNS, build_synthetic_store

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.features import CLASSICAL, CLASSICAL17
from sectionist.analysis.glossary import (
    FEATURE_GLOSSARY,
    TAG_MIN_PROBABILITY,
    cluster_profiles_z,
    contribution_text,
    default_cluster_names,
    describe,
    feature_label,
    surrogate_note,
)
from sectionist.dashboard.ui.figures import common as common_figures, explain as explain_figures
from sectionist.dashboard.models import ClusterName, PermissionDenied, get_database
from sectionist.dashboard.ui import naming

PASSWORDS = {"ada": "Velvet-Harbour-92x", "bob": "Copper-Lantern-47q", "root": "Marble-Orchard-13z",
             "vic": "Quiet-Glacier-58w"}
RAW = re.compile(r"mfcc\d|_median|_mean\b|_std\b|zero_crossing|spectral_")


# ---- the glossary -------------------------------------------------------------------------------------
def test_every_classical_column_has_a_plain_name_with_unit_and_meaning():
    for col in CLASSICAL + CLASSICAL17:
        term = describe(col)
        assert term is FEATURE_GLOSSARY[col]
        assert term.name and term.unit and term.meaning and term.higher and term.lower
        assert not RAW.search(term.label), (col, term.label)
    assert feature_label("spectral_centroid_median") == "brightness (Hz)"
    tilt = describe("mfcc2_median")
    assert tilt.name == "spectral tilt" and "bright ↔ dark" in tilt.meaning and "MFCC 2" in tilt.technical
    assert describe("rms_std").name == "variation of loudness"
    assert describe("tempo_bpm").label == "tempo (BPM)"
    assert describe("chroma1_median").name == "pitch class C"
    # an unknown column still reads as words, never as a raw identifier with underscores
    assert describe("loudness_lufs2").name == "loudness lufs 2"


def test_contribution_text_combines_direction_and_sign():
    assert contribution_text("spectral_centroid_median", 0.2, True) == "brighter than usual → towards this cluster"
    assert contribution_text("spectral_centroid_median", 0.2, False) == "darker than usual → towards this cluster"
    assert contribution_text("rms_median", -0.1, True) == "louder than usual → away from this cluster"


def test_surrogate_note_only_for_neural_runs_and_names_the_fidelity():
    assert surrogate_note("classical17", 0.9) is None and surrogate_note("classical", 0.5) is None
    note = surrogate_note("musicnn", 0.873)
    assert "surrogate" in note and "musicnn" in note and "87%" in note
    assert "not stored" in surrogate_note("musicnn", None)


# ---- the explanation figures ---------------------------------------------------------------------------
def test_shap_bars_point_towards_or_away_and_say_the_direction_in_words():
    shap = {"spectral_centroid_median": 0.30, "rms_median": 0.20, "mfcc6_median": -0.10}
    values = {"spectral_centroid_median": 3000.0, "rms_median": 0.01, "mfcc6_median": 5.0}
    medians = {"spectral_centroid_median": 2000.0, "rms_median": 0.1, "mfcc6_median": 1.0}
    fig = explain_figures.shap_bars(shap, feature_values=values, medians=medians, note=surrogate_note("musicnn", 0.8))
    bar = fig.data[0]
    by_name = {y.split("<br>")[0]: v for y, v in zip(bar.y, zip(bar.x, bar.text, bar.marker.color))}
    assert "brightness<br>brighter than usual<br>→ towards this cluster" in bar.y  # read beside each bar
    x, text, color = by_name["brightness"]
    assert x == pytest.approx(0.30) and text == "brighter than usual → towards this cluster"
    assert color == explain_figures.TOWARDS_COLOR
    # below the median, and pushing towards: the bar points right, the words say "quieter"
    x, text, color = by_name["loudness"]
    assert x == pytest.approx(0.20) and text == "quieter than usual → towards this cluster"
    x, text, color = by_name["timbre detail 6"]
    assert x == pytest.approx(-0.10) and text == "higher than usual → away from this cluster"
    assert color == explain_figures.AWAY_COLOR
    lo, hi = fig.layout.xaxis.range
    assert lo < 0 < hi
    assert "← away from · towards this cluster →" in [a.text for a in fig.layout.annotations]
    labels = " ".join(list(bar.y) + list(bar.text))
    assert not RAW.search(labels)
    assert "80%" in " ".join(a.text for a in fig.layout.annotations)  # the surrogate's fidelity beside it
    assert "MFCC 6" in " ".join(bar.hovertext)  # the technical name stays available on hover


def test_beeswarm_shows_zero_plain_names_and_visible_average_dots(rng):
    names = ["spectral_centroid_median", "mfcc6_median", "rms_median"]
    shap = rng.uniform(0.05, 0.4, (200, 3))  # all positive: 0 must still be on the axis
    fig = explain_figures.shap_beeswarm(shap, names, rng.normal(size=(200, 3)))
    lo, hi = fig.layout.xaxis.range
    assert lo <= 0 < hi
    assert fig.layout.xaxis.zeroline
    ticks = list(fig.layout.yaxis.ticktext)
    assert "brightness (Hz)" in ticks and not RAW.search(" ".join(ticks))
    scale = fig.data[0].marker.colorscale
    middle = [c for v, c in scale if v == 0.5][0]
    assert middle.lower() not in ("#ffffff", "#fff", "white", "rgb(255,255,255)", "rgb(247,247,247)")
    assert "towards" in fig.layout.xaxis.title.text


def test_profile_is_drawn_and_labelled_in_sd_with_raw_values_on_hover():
    profile = {"spectral_centroid_median": 3000.0, "rms_median": 0.05}
    overall = {"spectral_centroid_median": (2000.0, 500.0), "rms_median": (0.1, 0.05)}
    fig = explain_figures.profile_bars(profile, overall)
    bar = fig.data[0]
    assert list(bar.x) == pytest.approx([2.0, -1.0])
    assert list(bar.text) == ["+2.0 SD", "-1.0 SD"]
    assert "SD" in fig.layout.xaxis.title.text
    assert "3000 Hz" in bar.hovertext[0] and "brighter than the corpus by 2.00 SD" in bar.hovertext[0]
    assert list(bar.y) == ["brightness", "loudness"]


# ---- default names ------------------------------------------------------------------------------------
def test_default_names_from_a_hand_made_profile():
    z = pd.DataFrame({"rms_median": [2.0, -1.5], "spectral_centroid_median": [1.0, -0.2],
                      "spectral_bandwidth_median": [0.5, -2.0], "mfcc6_median": [9.0, 9.0]},
                     index=pd.Index([0, 1], name="cluster"))
    names = default_cluster_names(z, {1: ("ambient", 0.7)})
    # mfcc6 has the largest |z| but no plain adjective: it is skipped
    assert names == {0: "loud · bright · dense", 1: "sparse · quiet · dark · ambient"}


def test_default_names_are_unique_within_a_run():
    z = pd.DataFrame({"rms_median": [2.0, 2.0, 2.0], "spectral_centroid_median": [1.0, 1.0, 1.0],
                      "spectral_bandwidth_median": [0.5, 0.5, 0.5], "zero_crossing_rate_median": [0.1, -0.1, 0.1]},
                     index=[0, 1, 2])
    names = default_cluster_names(z)
    assert len(set(names.values())) == 3
    # 0 and 2 share every word: the cluster number tells them apart; 1 got its distinguishing word
    assert names[1] == "loud · bright · dense · smooth"
    assert names[0].endswith("(0)") and names[2].endswith("(2)")


def test_cluster_profiles_z_against_the_corpus():
    values = np.array([[1.0], [3.0], [5.0], [7.0]])
    z = cluster_profiles_z(values, np.array([0, 0, 1, -1]), ["rms_median"])
    sd = np.std(values)
    assert list(z.index) == [0, 1]
    assert z.loc[0, "rms_median"] == pytest.approx((2.0 - 4.0) / sd)
    assert z.loc[1, "rms_median"] == pytest.approx((5.0 - 4.0) / sd)


# ---- the app: default names, renames with history, names where clusters appear -------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_synthetic_store(tmp_path_factory.mktemp("named") / "store", n_sections=60, sections_per_song=10,
                                 section_seconds=2.0, audio=True, random_state=5)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('named-db') / 'users.sqlite'}"


@pytest.fixture(scope="module")
def app(store, db_url):
    from sectionist.dashboard.app import create_app

    app = create_app(store.uri, db_url=db_url, secret_key="n" * 40)
    for name, role in (("ada", "expert"), ("bob", "expert"), ("root", "admin"), ("vic", "viewer")):
        make_user(db_url, name, role, password=PASSWORDS[name])
    return app


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


def _as(app, db_url, name):
    from flask_login import login_user

    from sectionist.dashboard.auth import accounts

    ctx = app.server.test_request_context("/_dash-update-component", method="POST")
    ctx.push()
    login_user(accounts.get_user(get_database(db_url), name))
    return ctx


def _render(component) -> str:
    import plotly.io.json as pj

    return pj.to_json_plotly(component)


def test_store_default_names_describe_each_cluster_uniquely(data):
    run_id = RUNS[0][0]
    names = naming.default_cluster_names(data, run_id)
    assert set(names) == set(data.run_arrays(run_id).clusters)
    assert len(set(names.values())) == len(names)
    for n in names.values():
        assert n and not RAW.search(n)
    # the tag part is one of the store's tags, the most over-represented in that cluster among those
    # the tagger is sure of (TAG_MIN_PROBABILITY); its guesses never reach a name
    tags = data.cluster_top_tags(run_id)
    assert tags and all(p >= TAG_MIN_PROBABILITY for _t, p in tags.values())
    assert all(t in names[c].removesuffix(f" ({c})").split(" · ") for c, (t, _p) in tags.items())
    adjectives = {w for term in FEATURE_GLOSSARY.values() for w in (term.high_word, term.low_word) if w}
    guesses = {c: t for c, (t, p) in data.cluster_top_tags(run_id, min_probability=0).items()
               if p < TAG_MIN_PROBABILITY and t not in adjectives}
    assert guesses and all(t not in names[c].removesuffix(f" ({c})").split(" · ") for c, t in guesses.items())


def test_rename_keeps_history_and_viewers_are_refused(app, data, db_url):
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.judging import repository

    db = get_database(db_url)
    run_id = RUNS[1][0]
    ada, bob, vic = (accounts.get_user(db, n) for n in ("ada", "bob", "vic"))
    first = repository.record_cluster_name(db, ada, run_id=run_id, cluster=1, name="  big   chorus ")
    assert first["name"] == "big chorus" and first["supersedes"] is None
    second = repository.record_cluster_name(db, bob, run_id=run_id, cluster=1, name="the drop")
    assert second["supersedes"] == first["id"]
    assert repository.current_cluster_names(db, run_id) == {1: "the drop"}
    hist = repository.cluster_name_history(db, run_id, 1)
    assert [(h["name"], h["username"]) for h in hist] == [("big chorus", "ada"), ("the drop", "bob")]
    assert hist[0]["superseded_at"] is not None and hist[1]["superseded_at"] is None
    with pytest.raises(PermissionDenied):
        repository.record_cluster_name(db, vic, run_id=run_id, cluster=1, name="mine")
    with pytest.raises(ParameterError, match="at most 60"):
        repository.record_cluster_name(db, ada, run_id=run_id, cluster=1, name="x" * 61)
    with pytest.raises(ParameterError, match="control"):
        repository.record_cluster_name(db, ada, run_id=run_id, cluster=1, name="a\x07b")
    assert repository.current_cluster_names(db, run_id) == {1: "the drop"}  # bad input lost nothing
    # back to the default: an empty name, kept in the history too
    repository.record_cluster_name(db, ada, run_id=run_id, cluster=1, name="")
    assert repository.current_cluster_names(db, run_id) == {}
    with db.read() as s:
        assert s.query(ClusterName).filter_by(run_id=run_id).count() == 3


def test_rename_route_checks_role_run_and_cluster(app, db_url):
    run_id = RUNS[2][0]
    server = app.server
    expert, viewer = server.test_client(), server.test_client()
    login(expert, "ada", PASSWORDS["ada"])
    login(viewer, "vic", PASSWORDS["vic"])
    r = expert.post("/api/cluster-names", json={"run_id": run_id, "cluster": 0, "name": "<b>hall</b> pads"},
                    headers=csrf_header(expert))
    assert r.status_code == 201 and r.get_json()["name"] == "<b>hall</b> pads"
    assert viewer.post("/api/cluster-names", json={"run_id": run_id, "cluster": 0, "name": "x"},
                       headers=csrf_header(viewer)).status_code == 403
    assert expert.post("/api/cluster-names", json={"run_id": run_id, "cluster": 99, "name": "x"},
                       headers=csrf_header(expert)).status_code == 404
    assert expert.post("/api/cluster-names", json={"run_id": "nope", "cluster": 0, "name": "x"},
                       headers=csrf_header(expert)).status_code == 404
    assert expert.post("/api/cluster-names", json={"run_id": run_id, "cluster": 0, "name": "y" * 200},
                       headers=csrf_header(expert)).status_code == 400
    assert viewer.get(f"/api/cluster-names?run_id={run_id}").get_json() == {"0": "<b>hall</b> pads"}
    hist = viewer.get(f"/api/cluster-names?run_id={run_id}&cluster=0").get_json()
    assert [h["name"] for h in hist] == ["<b>hall</b> pads"]  # the names, not who gave them (below)
    # the name is escaped where Plotly draws it (the map legend): shown literally, never as markup
    from sectionist.dashboard.pages import map as map_page

    with server.test_request_context("/"):
        fig, _, _ = map_page.render_map(app.server.extensions["sectionist_data"], EMBEDDER, "umap2", run_id, "cluster")
    legend = [t.name for t in fig.data if t.legendgroup == "0"]
    assert "0: &lt;b&gt;hall&lt;/b&gt; pads" in legend and not any("<b>" in n for n in legend)


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
        "\u200f", "\u061c"]


def test_names_with_bidi_or_other_invisible_controls_are_refused(app, data, db_url):
    """Issue 24, item 7: a bidirectional control (``U+202E`` turns "evil.wav" round) or another
    invisible control in a cluster name is refused by the repository, the API and the Clusters
    page's rename field, with a message saying which character and why; names of other scripts,
    emoji joined by U+200D and Persian's U+200C stay allowed."""
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.judging import repository
    from sectionist.dashboard.pages import clusters

    db = get_database(db_url)
    run_id = RUNS[1][0]
    ada = accounts.get_user(db, "ada")
    before = repository.current_cluster_names(db, run_id)
    for ch in BIDI:
        with pytest.raises(ParameterError, match=f"bidirectional control characters such as U\\+{ord(ch):04X}"):
            repository.record_cluster_name(db, ada, run_id=run_id, cluster=4, name=f"chorus {ch}vaw.live")
    for ch in ("\u200b", "\ufeff", "\u2060", "\x85", "\x00", "\ud800"):
        with pytest.raises(ParameterError, match="control or invisible characters"):
            repository.record_cluster_name(db, ada, run_id=run_id, cluster=4, name=f"a{ch}b")
    assert repository.current_cluster_names(db, run_id) == before
    for fine in ("سرود · کوتاه", "می\u200cخواهم", "family \U0001F468\u200d\U0001F469\u200d\U0001F467", "Ünïcode"):
        assert repository.record_cluster_name(db, ada, run_id=run_id, cluster=4, name=fine)["name"] == fine
    # the API: 400 with the reason
    client = app.server.test_client()
    login(client, "ada", PASSWORDS["ada"])
    for name in ("x\u202ey", "x\u2066y\u2069", "x\u200by"):
        r = client.post("/api/cluster-names", json={"run_id": run_id, "cluster": 4, "name": name},
                        headers=csrf_header(client))
        assert r.status_code == 400 and "U+" in r.get_json()["error"], r.get_json()
    assert "U+202E" in client.post("/api/cluster-names", json={"run_id": run_id, "cluster": 4, "name": "x\u202ey"},
                                   headers=csrf_header(client)).get_json()["error"]
    # the Clusters page's rename field says so, in the reader's language
    for lang, words in (("en", "Bidirectional control characters such as U+202E"),
                        ("es", "caracteres de control bidireccional como U+202E")):
        ctx = app.server.test_request_context("/_dash-update-component", method="POST",
                                              headers={"Accept-Language": lang})
        ctx.push()
        try:
            from flask_login import login_user

            login_user(accounts.get_user(db, "ada"))
            status, heading, *_ = clusters.on_rename(run_id, 4, "mix \u202eevaw.exe")
        finally:
            ctx.pop()
        assert status.startswith("Not saved" if lang == "en" else "No guardado") and words in status, status
        assert heading is dash_no_update()
    assert repository.current_cluster_names(db, run_id)[4] == "Ünïcode"
    repository.record_cluster_name(db, ada, run_id=run_id, cluster=4, name="")  # the default again


def dash_no_update():
    from dash import no_update

    return no_update


def test_viewers_read_names_and_history_but_not_who_gave_them(app, db_url):
    """Issue 24: ``GET /api/cluster-names?run_id=…&cluster=…`` gave a viewer each renamer's
    username, which every page hides from viewers; experts and admins still see it."""
    run_id = RUNS[1][0]
    clients = {}
    for name in ("ada", "bob", "root", "vic"):
        clients[name] = app.server.test_client()
        login(clients[name], name, PASSWORDS[name])
    for name, new in (("ada", "first"), ("bob", "second")):
        assert clients[name].post("/api/cluster-names", json={"run_id": run_id, "cluster": 3, "name": new},
                                  headers=csrf_header(clients[name])).status_code == 201
    url = f"/api/cluster-names?run_id={run_id}&cluster=3"
    viewer = clients["vic"].get(url).get_json()
    assert [h["name"] for h in viewer][-2:] == ["first", "second"]
    assert all("username" not in h for h in viewer) and "ada" not in json.dumps(viewer)
    assert viewer[-2]["superseded_at"] and viewer[-1]["superseded_at"] is None
    for who in ("ada", "root"):
        assert [h["username"] for h in clients[who].get(url).get_json()][-2:] == ["ada", "bob"]
    assert clients["vic"].get(f"/api/cluster-names?run_id={run_id}").get_json()["3"] == "second"
    assert clients["ada"].post("/api/cluster-names", json={"run_id": run_id, "cluster": 3, "name": ""},
                               headers=csrf_header(clients["ada"])).status_code == 201  # the default again


def test_rename_callback_and_the_name_on_clusters_and_map_for_that_run_only(app, data, db_url):
    from sectionist.dashboard.pages import clusters
    from sectionist.dashboard.pages import map as map_page

    run_id, other = RUNS[0][0], RUNS[1][0]
    ctx = _as(app, db_url, "vic")
    try:  # a viewer sees no rename field, and a forged callback is refused
        body = _render(clusters.cluster_body(data, run_id, 2))
        assert "clusters-rename-input" not in body
        status, *_ = clusters.on_rename(run_id, 2, "viewer name")
        assert "Not saved" in status
    finally:
        ctx.pop()
    ctx = _as(app, db_url, "root")
    try:
        assert "clusters-rename-input" in _render(clusters.cluster_body(data, run_id, 2))
        status, heading, options, sizes = clusters.on_rename(run_id, 2, "Festival drops")
        assert status.startswith("Saved") and heading == "2: Festival drops"
        assert {"label": next(o["label"] for o in options if o["value"] == 2), "value": 2}["label"].startswith(
            "2: Festival drops")
        assert any("Festival drops" in h for h in sizes.data[0].hovertext)
        body = _render(clusters.cluster_body(data, run_id, 2))
        assert "2: Festival drops" in body
        assert "Festival drops" not in _render(clusters.cluster_body(data, other, 2))
        fig, _, _ = map_page.render_map(data, "classical17", "umap2", run_id, "cluster")
        assert "2: Festival drops" in [t.name for t in fig.data]
        names_other = [t.name for t in map_page.render_map(data, "classical", "umap2", other, "cluster")[0].data]
        assert not any("Festival drops" in (n or "") for n in names_other)
        default = naming.default_cluster_names(data, other)[2]
        assert f"2: {default}" in names_other
    finally:
        ctx.pop()


def test_detail_panel_speaks_plainly_and_names_the_surrogate(app, data):
    from sectionist.dashboard.ui.components.detail import section_detail

    neural = RUNS[2][0]
    arr = data.run_arrays(neural)
    pos = int(np.flatnonzero(arr.label >= 0)[0])
    sid = str(data.section_ids[pos])
    with app.server.test_request_context("/"):
        out = _render(section_detail(data, sid, neural, "map"))
        classical = _render(section_detail(data, sid, RUNS[0][0], "map"))
    fidelity = float(data.runs.loc[neural, "fidelity"])
    assert "A surrogate model is speaking" in out and f"{fidelity:.0%}" in out
    assert "A surrogate model is speaking" not in classical
    graph = json.loads(out)
    bars = _find_figure(graph)
    assert bars is not None
    assert not RAW.search(" ".join(bars["data"][0]["y"]))
    assert any("than usual" in t for t in bars["data"][0]["text"])
    name = naming.default_cluster_names(data, neural)[int(arr.label[pos])]
    assert name in out  # the cluster chip names the cluster


def _find_figure(node):
    if isinstance(node, dict):
        fig = node.get("props", {}).get("figure") if "props" in node else None
        if fig and fig.get("data") and fig["data"][0].get("orientation") == "h":
            return fig
        for v in node.values():
            found = _find_figure(v)
            if found is not None:
                return found
    elif isinstance(node, list):
        for v in node:
            found = _find_figure(v)
            if found is not None:
                return found
    return None


def test_judging_panel_names_the_cluster_except_in_blind_mode(app, data, db_url):
    from sectionist.dashboard.ui.components import judging

    run_id = RUNS[0][0]
    arr = data.run_arrays(run_id)
    pos = int(np.flatnonzero(arr.label >= 0)[0])
    sel = {"section_id": str(data.section_ids[pos]), "run_id": run_id}
    name = naming.default_cluster_names(data, run_id)[int(arr.label[pos])]
    ctx = _as(app, db_url, "ada")
    try:
        assert name in _render(judging.panel_children("map", sel))
        blind = _render(judging.panel_children("judge", {**sel, "blind": True}))
        assert name not in blind  # a name tells what the cluster is like: hidden like its number
    finally:
        ctx.pop()


def test_compare_sankey_names_each_runs_clusters(app, data):
    from sectionist.dashboard.pages import compare

    a, b = RUNS[0][0], RUNS[1][0]
    with app.server.test_request_context("/"):
        _, sk = compare.compare_figures(data, a, b)
    labels = list(sk.data[0].node.label)
    name_a, name_b = naming.default_cluster_names(data, a), naming.default_cluster_names(data, b)
    c_a, c_b = data.run_arrays(a).clusters[0], data.run_arrays(b).clusters[0]
    assert f"A: {c_a}: {name_a[c_a]}" in labels
    assert any(lab.startswith(f"B: {c_b}: {name_b[c_b]}") for lab in labels)


def test_a_tag_equal_to_an_adjective_is_not_repeated_nor_one_that_contradicts_it():
    z = pd.DataFrame({"tempo_bpm": [2.0, -2.0]}, index=[0, 1])
    assert default_cluster_names(z, {0: ("fast", 0.9), 1: ("fast", 0.9)}) == {0: "fast", 1: "slow"}


def test_songs_lanes_and_tracks_name_each_runs_clusters(app, data):
    from sectionist.dashboard.ui.components.common import cluster_names
    from sectionist.dashboard.pages import songs

    song = data.songs.index[0]
    run_id = RUNS[0][0]
    names = naming.default_cluster_names(data, run_id)
    with app.server.test_request_context("/"):
        lanes = songs.lanes_figure(data, song)
        tracks = songs.tracks_figure(data, song, run_id)
        shown = {run: cluster_names(data, run) for run in data.runs.index}  # experts' names first
    hovers = " ".join(t.hovertemplate for t in lanes.data if t.hovertemplate)
    for run in data.runs.index:  # every lane's hover names the clusters of its own run
        lab = data.run_arrays(run).label[data.song_sections(song)["pos"].to_numpy()]
        c = int(lab[lab >= 0][0])
        assert f"{c}: {common_figures.escape_text(shown[run][c])}" in hovers
    rows = list(tracks.layout.yaxis.ticktext)
    assert any(r.startswith("0: ") or r.split(": ", 1)[-1] in names.values() for r in rows)
    assert all(": " in r for r in rows if r != "noise")


def test_a_name_never_contradicts_itself():
    # loudness by RMS says loud, MFCC 1 (overall level) says quiet: one word per quality
    z = pd.DataFrame({"rms_median": [2.0], "mfcc1_median": [-1.9], "amplitude_envelope_median": [-1.8],
                      "spectral_centroid_median": [1.5], "mfcc2_median": [1.4], "spectral_bandwidth_median": [0.3]},
                     index=[0])
    assert default_cluster_names(z) == {0: "loud · bright · dense"}


def test_judge_page_names_the_cluster_unless_blind(app, data, db_url):
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.ui.components.common import cluster_names
    from sectionist.dashboard.pages import judge

    run_id = RUNS[0][0]
    ctx = _as(app, db_url, "bob")
    try:
        bob = accounts.get_user(get_database(db_url), "bob")
        q = judge.start_queue(bob, run_id, "random", None, 5, False, 1)
        item = q["items"][0]
        name = cluster_names(data, run_id)[int(item["cluster"])]
        assert name in _render(judge.item_view(q)[0])
        blind = judge.start_queue(bob, run_id, "random", None, 5, True, 1)
        shown = _render(judge.item_view(blind)[0])
        assert not any(n in shown for n in cluster_names(data, run_id).values())
    finally:
        ctx.pop()


def test_cluster_names_on_postgresql_keep_one_current_name_and_the_history(pg_server):
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.judging import repository
    from sectionist.dashboard.models import Database

    db = Database(pg_server.create_database("cluster_names"))
    try:
        accounts.create_user(db, "ada", "expert", PASSWORDS["ada"])
        accounts.create_user(db, "bob", "expert", PASSWORDS["bob"])
        ada, bob = accounts.get_user(db, "ada"), accounts.get_user(db, "bob")
        repository.record_cluster_name(db, ada, run_id="r~v2", cluster=3, name="verse")
        repository.record_cluster_name(db, bob, run_id="r~v2", cluster=3, name="pre-chorus")
        repository.record_cluster_name(db, bob, run_id="r", cluster=3, name="old version")
        assert repository.current_cluster_names(db, "r~v2") == {3: "pre-chorus"}
        assert repository.current_cluster_names(db, "r") == {3: "old version"}  # per run version
        assert [h["name"] for h in repository.cluster_name_history(db, "r~v2", 3)] == ["verse", "pre-chorus"]
    finally:
        db.dispose()
