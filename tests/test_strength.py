"""How strong a grouping is (issue #21): the bands at their exact edges, the words in English and
Spanish, song purity stored and computed, per-song structures, the map's song colours; the pages
on a store whose runs are weak (tests/weak_store.py)."""

from __future__ import annotations

import colorsys
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from sectionist.dashboard.data import strength as bands
from sectionist.dashboard.data.strength import RunSongMix, StructureStrength

ES = {"Accept-Language": "es-ES,es;q=0.9"}


# ---- bands ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("silhouette, band", [
    (0.95, "strong"), (0.7001, "strong"), (0.70, "moderate"), (0.5001, "moderate"), (0.50, "weak"),
    (0.2501, "weak"), (0.25, "none"), (0.0, "none"), (-0.4, "none"),
    (None, "unknown"), (float("nan"), "unknown"), ("n/a", "unknown")])
def test_silhouette_bands_at_kaufman_rousseeuw_edges(silhouette, band):
    assert bands.silhouette_band(silhouette) == band


@pytest.mark.parametrize("stability, cap", [
    (0.0, "weak"), (0.5999, "weak"), (0.60, "moderate"), (0.7499, "moderate"), (0.75, None), (1.0, None),
    (None, None), (float("nan"), None)])
def test_stability_caps_at_hennig_edges(stability, cap):
    assert bands.stability_cap(stability) == cap


@pytest.mark.parametrize("silhouette, stability, band, capped", [
    (0.80, 0.90, "strong", False), (0.80, None, "strong", False),  # stability not measured: no cap
    (0.80, 0.70, "moderate", True), (0.80, 0.59, "weak", True), (0.60, 0.59, "weak", True),
    (0.60, 0.74, "moderate", False), (0.30, 0.10, "weak", False),  # a cap never raises a band
    (0.10, 0.95, "none", False), (None, 0.9, "unknown", False)])
def test_strength_is_the_silhouette_band_capped_by_stability(silhouette, stability, band, capped):
    s = bands.strength(silhouette, stability)
    assert (s.band, s.capped) == (band, capped)
    assert s.is_weak == (band in ("weak", "none"))


def test_edges_live_in_one_named_place():
    assert dict(bands.SILHOUETTE_EDGES) == {"strong": 0.70, "moderate": 0.50, "weak": 0.25}
    assert bands.STABILITY_CAPS == ((0.60, "weak"), (0.75, "moderate"))
    assert bands.BANDS == ("strong", "moderate", "weak", "none")


@pytest.mark.parametrize("confidence, sureness", [
    (0.9, "clear"), (0.75, "clear"), (0.7499, "fair"), (0.5, "fair"), (0.4999, "uncertain"), (0.0, "uncertain"),
    (float("nan"), "unknown"), (None, "unknown")])
def test_repeat_sureness_edges(confidence, sureness):
    assert bands.repeat_sureness(confidence) == sureness


# ---- song purity --------------------------------------------------------------------------------------
def test_song_mix_by_hand():
    labels = np.array([0, 0, 0, 1, 1, -1, 2])
    songs = np.array([5, 5, 1, 1, 2, 3, 4])
    mix = bands.song_mix(labels, songs)
    assert list(mix.index) == [0, 1, 2]  # noise left out
    assert mix.loc[0, "size"] == 3 and mix.loc[0, "song_purity"] == pytest.approx(2 / 3)
    assert mix.loc[0, "songs_effective"] == pytest.approx(1 / ((2 / 3) ** 2 + (1 / 3) ** 2))  # 1.8
    assert mix.loc[0, "top_song"] == 5 and mix.loc[0, "n_songs"] == 2
    assert mix.loc[1, "song_purity"] == pytest.approx(0.5) and mix.loc[1, "songs_effective"] == pytest.approx(2.0)
    assert mix.loc[2, "song_purity"] == 1.0 and mix.loc[2, "songs_effective"] == 1.0
    assert bands.song_mix(np.array([-1, -1]), np.array([0, 1])).empty


def test_run_song_mix_follows_songs_past_half():
    assert RunSongMix(3, 5, 0.6, 1.5, 34).follows_songs
    assert not RunSongMix(2, 4, 0.5, 2.0, 34).follows_songs  # half is not more than half
    assert not RunSongMix(5, 5, 1.0, 1.0, 1).follows_songs  # one song: nothing to say


# ---- structures -----------------------------------------------------------------------------------------
def _segments(labels, confidence=None, level=None):
    n = len(labels)
    df = pd.DataFrame({"song_id": "s", "scheme": "merged", "index": np.arange(n), "start_s": np.arange(n) * 10.0,
                       "end_s": np.arange(1, n + 1) * 10.0, "label": labels, "n_types": len(set(labels))})
    if confidence is not None:
        df["confidence"] = confidence
    if level is not None:
        df["level"] = level
    return df


def test_structure_strength_counts_and_confidence():
    s = bands.structure_strength(_segments([0, 1, 0, 1, 2, 0], [0.42, 0.35, 0.40, 0.31, np.nan, 0.38]))
    assert (s.n_segments, s.n_parts, s.n_recurring, s.n_repeated, s.n_unique) == (6, 3, 2, 5, 1)
    assert s.confidence == pytest.approx(np.mean([0.42, 0.35, 0.40, 0.31, 0.38]))
    assert s.sureness == "uncertain"
    # an older store: no confidence, no level column
    old = bands.structure_strength(_segments([0, 1, 0, 1]))
    assert old.sureness == "unknown" and math.isnan(old.confidence) and old.n_unique == 0
    # the phrase level is counted apart and left out of the section level's numbers
    mixed = bands.structure_strength(_segments([0, 1, 0, 5, 6, 7, 8], [0.9, 0.8, 0.9] + [np.nan] * 4,
                                               ["section"] * 3 + ["phrase"] * 4))
    assert (mixed.n_segments, mixed.n_phrases, mixed.sureness) == (3, 4, "clear")
    assert bands.structure_strength(_segments([1, 2], level=["phrase", "phrase"])) is None


# ---- words ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flask_app(tmp_path_factory):
    """A Flask app with the dashboard's translations (no store needed for the wording)."""
    from flask import Flask

    from sectionist.dashboard.auth.guards import safe_next
    from sectionist.dashboard.ui.i18n import init_i18n

    app = Flask(__name__)
    init_i18n(app, local_path=safe_next)
    return app


def _in(flask_app, headers, fn, *args):
    with flask_app.test_request_context("/", headers=headers):
        return fn(*args)


def test_structure_sentences_in_english_and_spanish(flask_app):
    from sectionist.dashboard.ui import strength as words

    s = StructureStrength("merged", 8, 4, 3, 7, 1, 0.37, "uncertain")
    assert _in(flask_app, {}, words.structure_sentence, s) == \
        "8 segments, 3 parts recur, 1 segment is heard once; the repeats are uncertain (confidence 0.37)."
    assert _in(flask_app, ES, words.structure_sentence, s) == \
        "8 segmentos; 3 partes se repiten y 1 segmento suena una sola vez; las repeticiones son inciertas (confianza 0,37)."
    unsure = StructureStrength("merged", 8, 3, 3, 8, 0, float("nan"), "unknown")
    assert _in(flask_app, {}, words.structure_sentence, unsure) == \
        "8 segments, 3 parts recur; how sure the repeats are was not recorded."
    flat = StructureStrength("novelty", 5, 5, 0, 0, 5, float("nan"), "unknown")
    assert "none of them repeated" in _in(flask_app, {}, words.structure_sentence, flat)
    assert "ninguno repetido" in _in(flask_app, ES, words.structure_sentence, flat)
    one = StructureStrength("kmeans15", 1, 1, 0, 0, 1, float("nan"), "unknown")
    assert _in(flask_app, {}, words.structure_sentence, one) == "1 segment, all one part: the structure found no change."


def test_song_purity_sentences(flask_app):
    from sectionist.dashboard.ui import strength as words

    assert _in(flask_app, {}, words.cluster_mix_sentence, 0.72, 1.6) == "72% from one song (≈1.6 songs)."
    assert _in(flask_app, ES, words.cluster_mix_sentence, 0.72, 1.6) == "72\xa0% de una sola canción (≈1,6 canciones)."
    assert "Song A" in _in(flask_app, {}, words.cluster_mix_sentence, 0.72, 1.6, "Song A")
    assert "Song A" not in _in(flask_app, {}, words.cluster_mix_sentence, 0.3, 4.2, "Song A")  # not mostly one song
    assert _in(flask_app, {}, words.cluster_mix_sentence, float("nan"), 1.0) is None
    follows = RunSongMix(4, 5, 0.8, 1.4, 34)
    assert _in(flask_app, {}, words.run_mix_sentence, follows) == \
        "4 of 5 clusters are mostly one song — these groups follow songs, not kinds of section."
    assert _in(flask_app, ES, words.run_mix_sentence, follows).startswith(
        "En 4 de 5 grupos, la mayoría de las secciones son de una sola canción")
    assert _in(flask_app, {}, words.run_mix_sentence, RunSongMix(1, 5, 0.3, 4.0, 34)) == \
        "1 of 5 clusters is mostly one song; the others mix songs."
    assert _in(flask_app, {}, words.run_mix_sentence, RunSongMix(0, 5, 0.2, 6.0, 34)).startswith("No cluster")
    assert _in(flask_app, {}, words.run_mix_sentence, RunSongMix(3, 3, 1.0, 1.0, 1)) is None
    assert _in(flask_app, ES, words.run_mix_cell, follows) == "4 de 5"


def test_band_words_and_the_legend_follow_the_constants(flask_app, monkeypatch):
    from sectionist.dashboard.ui import strength as words

    assert [_in(flask_app, {}, words.band_word, b) for b in (*bands.BANDS, "unknown")] == \
        ["strong", "moderate", "weak", "no real groups", "not measured"]
    assert [_in(flask_app, ES, words.band_word, b) for b in (*bands.BANDS, "unknown")] == \
        ["fuerte", "moderado", "débil", "sin grupos reales", "sin medir"]
    assert _in(flask_app, {}, words.run_sentence, "weak").startswith(
        "Sections in different clusters sound only slightly different; treat these groups as a rough sorting")
    capped = bands.strength(0.8, 0.55)
    assert _in(flask_app, {}, words.cap_sentence, capped) == (
        "Refitting on resampled sections changes much of it (stability 0.55), so it counts as weak at most.")
    assert _in(flask_app, {}, words.cap_sentence, bands.strength(0.8, 0.9)) is None
    legend = _in(flask_app, {}, words.bands_explained)
    assert legend[0] == "Strong: silhouette above 0.70 and stability at least 0.75."
    assert legend[3] == "No real groups: silhouette 0.25 or below."
    monkeypatch.setattr(bands, "SILHOUETTE_EDGES", (("strong", 0.8), ("moderate", 0.5), ("weak", 0.25)))
    monkeypatch.setattr(words, "SILHOUETTE_EDGES", bands.SILHOUETTE_EDGES)
    assert _in(flask_app, {}, words.bands_explained)[0].startswith("Strong: silhouette above 0.80")


# ---- song colours on the map ------------------------------------------------------------------------------
def test_song_colours_are_distinct_and_neighbours_far_apart():
    from sectionist.dashboard.ui.figures.palette import song_colors

    colours = song_colors(34)
    assert len(colours) == 34 and len(set(colours)) == 34 and song_colors(34) == colours
    hls = [colorsys.rgb_to_hls(*(int(c[i:i + 2], 16) / 255 for i in (1, 3, 5))) for c in colours]
    for a, b in zip(hls, hls[1:]):
        gap = abs(a[0] - b[0]) % 1.0
        assert min(gap, 1 - gap) * 360 >= 29 or abs(a[1] - b[1]) > 0.15  # another hue, or another lightness
    assert song_colors(0) == [] and len(set(song_colors(36))) == 36
    assert song_colors(40)[36] == song_colors(40)[0]  # past 36 songs colours repeat (the legend says so)


def test_map_by_song_draws_one_named_trace_per_song():
    from sectionist.dashboard.ui.figures import map as map_figures
    from sectionist.dashboard.ui.figures.palette import song_colors

    codes = np.repeat(np.arange(34), 3)
    xyz = np.random.default_rng(0).normal(size=(len(codes), 2))
    names = [f"Song <{i}>" for i in range(34)]
    colours = song_colors(34)
    fig = map_figures.section_map(xyz, np.arange(len(codes)), categories=codes, category_names=names,
                                  category_colors=colours)
    songs = [t for t in fig.data if str(t.legendgroup or "").startswith("song-")]
    assert len(songs) == 34 and songs[5].name == "Song &lt;5&gt;"  # titles are data: escaped
    assert [t.marker.color for t in songs] == colours
    assert sorted(np.concatenate([np.asarray(t.customdata) for t in songs]).tolist()) == list(range(len(codes)))
    many = np.arange(map_figures.CATEGORY_TRACES_LIMIT + 1)
    fig = map_figures.section_map(np.zeros((len(many), 2)), many, categories=many)
    assert len(fig.data) == 2  # one trace of every point (colour per point) and the selection ring


# ---- pages on a weak store ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weak(tmp_path_factory):
    from weak_store import build_weak_store

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("weak")
    store, run_ids = build_weak_store(root / "store")
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="w" * 40)
    return {"app": app, "data": app.server.extensions["sectionist_data"], "store": store, "runs": run_ids,
            "root": root}


def render(component) -> str:
    import plotly.io.json as pj

    return pj.to_json_plotly(component).replace("\\u002f", "/")


def page_layout(app, path, headers=None, **query) -> str:
    import dash

    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    with app.server.test_request_context(path, headers=headers or {}):
        return render(page["layout"](**query))


def test_weak_store_runs_are_weak_and_the_best_is_named(weak):
    data = weak["data"]
    table = bands.run_strengths(data)
    assert set(table.index) == set(weak["runs"])
    assert table["band"].isin(["weak", "none"]).all()
    assert (table["silhouette"] < 0.5).all()
    best = bands.best_run(data)
    assert best == table["silhouette"].idxmax()


def test_overview_warns_in_plain_words_in_both_languages(weak):
    data = weak["data"]
    best = bands.run_strength(data, bands.best_run(data))
    en = page_layout(weak["app"], "/")
    headline = {"none": "No run in this store finds real groups", "weak": "These groupings are weak"}[best.band]
    assert headline in en and '"role":"alert"' in en and '"id":"overview-strength"' in en
    assert "notice-warn" in en and "What strong, moderate and weak mean" in en
    if bands.run_song_mix(data, bands.best_run(data)).follows_songs:  # k-means' 20 clusters: mostly single songs
        assert "clusters are mostly one song — these groups follow songs, not kinds of section." in en
    es = page_layout(weak["app"], "/", ES)
    assert {"none": "Ningún agrupamiento de este almacén encuentra grupos reales",
            "weak": "Estos agrupamientos son débiles"}[best.band] in es
    assert "Qué significan fuerte, moderado y débil" in es


def test_overview_table_has_strength_and_song_columns(weak):
    from sectionist.dashboard.pages import overview

    data = weak["data"]
    with weak["app"].server.test_request_context("/"):
        rows, cols = overview.runs_table_data(data)
        tips = overview.strength_tooltips(data, rows)
    assert [c["id"] for c in cols][:2] == ["run_id", "strength"] and "one_song" in {c["id"] for c in cols}
    for row, tip in zip(rows, tips):
        s = bands.run_strength(data, row["run_id"])
        assert row["strength"] == {"weak": "weak", "none": "no real groups"}[s.band]
        mix = bands.run_song_mix(data, row["run_id"])
        assert row["one_song"] == f"{mix.clusters_one_song} of {mix.n_clusters}"
        assert tip["strength"]["value"].startswith(("Sections in different clusters", "The clusters overlap"))


def test_the_stores_songs_drive_the_purity(weak):
    """On the weak store k-means' many small clusters are mostly single songs, the mixture's three
    are not: the run-level words say so."""
    data = weak["data"]
    kmeans, gmm = weak["runs"]
    assert bands.run_song_mix(data, kmeans).follows_songs
    assert bands.run_song_mix(data, gmm).clusters_one_song == 0
    mix = bands.cluster_song_mix(data, kmeans)
    arr = data.run_arrays(kmeans)
    direct = bands.song_mix(arr.label, data.song_code)
    assert np.allclose(mix["song_purity"], direct["song_purity"]) and (mix["size"] == direct["size"]).all()


def test_older_store_without_purity_columns_gets_them_computed(weak, tmp_path):
    """A store written before the song-purity columns: the app computes the same numbers."""
    from sectionist.dashboard.data.store_data import StoreData
    from sectionist.store import open_store
    from sectionist.store.schema import CLUSTERS, RUNS

    shutil.copytree(weak["store"].uri, tmp_path / "old")
    old = open_store(tmp_path / "old", create=False)
    for table, drop in ((RUNS, ["song_purity", "songs_effective", "clusters_one_song"]),
                        (CLUSTERS, ["song_purity", "songs_effective"])):
        for part in old.list_parts(table):
            df = old.read_part(table, part)
            old.write_part(table, part, df.drop(columns=[c for c in drop if c in df.columns]))
    old_data = StoreData(old.uri)
    for run_id in weak["runs"]:
        assert old_data.runs.loc[run_id, ["song_purity"]].isna().all() if "song_purity" in old_data.runs else True
        computed = bands.run_song_mix(old_data, run_id)
        direct = bands.song_mix(old_data.run_arrays(run_id).label, old_data.song_code)
        assert computed.clusters_one_song == int((direct["song_purity"] >= bands.MOSTLY_ONE_SONG).sum())
        assert computed.song_purity == pytest.approx(np.average(direct["song_purity"], weights=direct["size"]))
        assert computed.songs_effective == pytest.approx(np.average(direct["songs_effective"], weights=direct["size"]))
        stored = bands.run_song_mix(weak["data"], run_id)  # the analysis' own columns, where it wrote them
        assert (stored.clusters_one_song, stored.n_clusters) == (computed.clusters_one_song, computed.n_clusters)
        assert stored.song_purity == pytest.approx(computed.song_purity)


def test_clusters_page_shows_run_and_cluster_verdicts(weak):
    from sectionist.dashboard.pages import clusters

    data = weak["data"]
    kmeans = weak["runs"][0]
    s = bands.run_strength(data, kmeans)
    en = page_layout(weak["app"], "/clusters", run=kmeans)
    assert '"id":"clusters-strength"' in en and "notice-warn" in en
    assert {"none": "No real grouping · run ", "weak": "Weak grouping · run "}[s.band] + kmeans in en
    assert "clusters are mostly one song — these groups follow songs, not kinds of section." in en
    assert "silhouette " + f"{s.silhouette:.2f}" in en
    table = bands.cluster_strengths(data, kmeans)
    one_song = table.index[table["song_purity"] >= 0.5][0]
    with weak["app"].server.test_request_context("/clusters"):
        body = render(clusters.cluster_body(data, kmeans, one_song))
        verdict = render(clusters.run_verdict(data, weak["runs"][1]))
    row = table.loc[one_song]
    title = data.songs["title"].iloc[int(row["top_song"])]
    assert f"{round(row['song_purity'] * 100):d}% from one song, {title}" in body
    assert '"id":"clusters-cluster-strength"' in body
    assert weak["runs"][1] in verdict
    es = page_layout(weak["app"], "/clusters", ES, run=kmeans)
    assert "las secciones son de una sola canción" in es and "silueta" in es


def test_songs_page_words_each_structure(weak):
    from sectionist.dashboard.pages import songs

    data = weak["data"]
    with_segments = [sid for sid in data.songs.index if bands.song_structures(data, sid)]
    assert len(with_segments) == 3
    confident = next(sid for sid in with_segments if bands.song_structures(data, sid)[0].sureness != "unknown")
    en = page_layout(weak["app"], "/songs", song=confident)
    assert "5 segments, 2 parts recur, 1 segment is heard once; the repeats are uncertain (confidence 0.37)." in en
    es = page_layout(weak["app"], "/songs", ES, song=confident)
    assert "las repeticiones son inciertas" in es
    with weak["app"].server.test_request_context("/songs"):
        several = render(songs._structure(with_segments[0], with_segments[1:]))  # one picked, two compared
    assert "none of them repeated" in several and "how sure the repeats are was not recorded" in several
    assert all(data.songs.loc[sid, "title"] in several for sid in with_segments)  # one heading per song


def test_map_song_legend_lists_the_songs_in_their_colours(weak):
    from sectionist.dashboard.pages import map as map_page
    from sectionist.dashboard.ui.components import song_legend

    data = weak["data"]
    run = weak["runs"][0]
    with weak["app"].server.test_request_context("/map"):
        fig, _count, meta = map_page.render_map(data, "classical17", "pca2", run, "song")
        legend = render(song_legend.legend_children(data, meta, "song", run, None, None, False, None))
        two = data.songs.index[:2].tolist()
        fig2, _c, meta2 = map_page.render_map(data, "classical17", "pca2", run, "song", songs=two)
        legend2 = render(song_legend.legend_children(data, meta2, "song", run, two, None, False, None))
        none = song_legend.legend_children(data, meta, "cluster", run, None, None, False, None)
    traces = [t for t in fig.data if str(t.legendgroup or "").startswith("song-")]
    assert len(traces) == len(data.songs) == 34
    for t in traces:
        assert f'"background":"{t.marker.color}"' in legend.replace(" ", "") and t.name in legend
    assert "Colours of the 34 songs shown" in legend
    assert "Colours of the 2 songs shown" in legend2 and data.songs["title"].iloc[2] not in legend2
    # a song keeps its colour whatever the filters leave
    kept = {t.name: t.marker.color for t in fig2.data if str(t.legendgroup or "").startswith("song-")}
    assert kept == {t.name: t.marker.color for t in traces if t.name in kept}
    assert none == []


def test_density_map_by_song_says_why_there_is_no_legend(weak):
    from sectionist.dashboard.pages import map as map_page
    from sectionist.dashboard.ui.components import song_legend

    data = weak["data"]
    with weak["app"].server.test_request_context("/map"):
        fig, _count, meta = map_page.render_map(data, "classical17", "pca2", weak["runs"][0], "song",
                                                density_threshold=50)
        note = render(song_legend.legend_children(data, meta, "song", weak["runs"][0], None, None, False, None))
    assert fig.data[0].type == "heatmap" and meta.get("grid")
    assert "Too many sections to colour by song" in note and "song-legend-item" not in note


# ---- a store whose first run is weak but another is not ------------------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("mixed")
    store = build_synthetic_store(root / "store", n_sections=60, sections_per_song=10, section_seconds=2.0,
                                  random_state=4)
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="m" * 40)
    return {"app": app, "data": app.server.extensions["sectionist_data"]}


def test_a_weak_first_run_is_flagged_when_a_stronger_one_exists(mixed):
    from sectionist.dashboard.ui.components.common import default_run
    from sectionist.dashboard.ui.components.strength import run_verdict, store_verdict

    data = mixed["data"]
    first, best = default_run(data), bands.best_run(data)
    assert bands.run_strength(data, first).is_weak and not bands.run_strength(data, best).is_weak
    with mixed["app"].server.test_request_context("/"):
        out = render(store_verdict(data, "x"))
        verdict = render(run_verdict(data, first))
        strong = render(run_verdict(data, best))
    assert "The run shown first is weak" in out and f"The pages open on {first}" in out and best in out
    assert '"role":"alert"' in out
    assert "A stronger run: " in verdict and f'"href":"/clusters?run={best}"' in verdict
    assert '"role":"status"' in strong and "notice-warn" not in strong  # a moderate run is no warning
