"""The Songs page on a small real store (issue #23, "Songs page"): the picker holds one song and
replaces it, comparing is a picker of its own, the lanes show every run, the truth and the
structure schemes' parts (the ``repeats`` section level first), and the legends name what is drawn
(an expert's name included)."""

from __future__ import annotations

import dash
import numpy as np
import pytest
from auth_helpers import make_user
from songs_store import EXPERT_NAME, REPEATS_LABELS, build_songs_store, name_cluster
from songs_store import find_component as _by_id


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("songs-page")
    store, k3 = build_songs_store(root / "store")
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="p" * 40)
    make_user(db, "ada", "expert")
    name_cluster(db, k3)
    app.k3 = k3
    return app


@pytest.fixture
def page(app):
    from sectionist.dashboard.pages import songs  # after create_app: registers the page

    with app.server.test_request_context("/songs"):
        yield songs


@pytest.fixture
def data(app):
    return app.server.extensions["sectionist_data"]


def _ticks(fig):
    return [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext]


def _legend(fig):
    return [t.name for t in fig.data if t.type == "bar" and t.showlegend]


def test_the_picker_holds_one_song_and_comparing_is_its_own_picker(page, data):
    from sectionist.dashboard.ui import ids

    songs = list(data.songs.index)
    layout = page.layout(song=songs[1])
    picker, compare = _by_id(layout, ids.SONGS_SONG), _by_id(layout, ids.SONGS_COMPARE)
    assert picker.multi is False and picker.value == songs[1]
    assert compare.multi is True and compare.value == []
    # ?songs=a,b: the first one picked, the others compared with it
    layout = page.layout(songs=f"{songs[2]},{songs[0]},nope")
    assert _by_id(layout, ids.SONGS_SONG).value == songs[2] and _by_id(layout, ids.SONGS_COMPARE).value == [songs[0]]
    # a section's link shows its song alone
    section = data.song_sections(songs[3])["section_id"].iloc[0]
    layout = page.layout(songs=f"{songs[0]},{songs[1]}", section=section)
    assert _by_id(layout, ids.SONGS_SONG).value == songs[3] and _by_id(layout, ids.SONGS_COMPARE).value == []


def test_picking_a_song_replaces_it_with_all_its_lanes(page, data, app):
    songs = list(data.songs.index)
    for song in songs[:2]:
        fig = page.timeline(data, page.shown_songs(data, song, []), "lanes", app.k3)
        style = page.graph_style(fig)
        assert fig.layout.title.text == data.songs.loc[song, "title"]
        ticks = _ticks(fig)
        for run in data.runs.index:
            assert sum(run in t for t in ticks) == 1, (run, ticks)
        assert ticks[-3:] == ["truth", "structure · repeats", "structure · merged"]
        assert style == {"height": f"{fig.layout.height}px"}
        # the repeats lane: the section level only, lettered by first appearance
        parts = [(float(b), t.name) for t in fig.data if t.type == "bar" and t.meta[0] == "structure · repeats"
                 for b in t.base]
        letters = [name[-1] for _b, name in sorted(parts)]
        assert letters == ["A", "B", "A", "B", "C", "A"] and len(parts) == len(REPEATS_LABELS)
    # comparing: one lane per song, the picked one first
    fig = page.timeline(data, page.shown_songs(data, songs[1], [songs[3], songs[1]]), "lanes", app.k3)
    assert _ticks(fig) == [data.songs.loc[s, "title"] for s in (songs[1], songs[3])]


def test_a_section_chosen_elsewhere_replaces_the_song(page, data):
    songs = list(data.songs.index)
    section = data.song_sections(songs[2])["section_id"].iloc[0]
    assert page._follow_selection({"section_id": section}, songs[0], [songs[1]]) == songs[2]
    assert page._follow_selection({"section_id": section}, songs[0], [songs[2]]) is dash.no_update
    assert page._follow_selection({"section_id": section}, songs[2], []) is dash.no_update


def test_the_k3_runs_legend_names_its_clusters_drawn(page, data, app):
    from sectionist.dashboard.ui.components.common import cluster_names

    names = cluster_names(data, app.k3)
    assert names[0] == EXPERT_NAME and len(names) == 3
    for song in data.songs.index:
        fig = page.lanes_figure(data, song, reference=app.k3)
        pos = data.song_sections(song)["pos"].to_numpy()
        drawn = sorted(int(c) for c in np.unique(data.run_arrays(app.k3).label[pos]))
        legend = [n for n in _legend(fig) if not n.startswith(tuple(r for r in data.runs.index if r != app.k3))]
        clusters = [n for n in legend if n[:1].isdigit()]
        assert clusters == [f"{c}: {names[c]}" for c in drawn]
        assert not [n for n in _legend(fig) if n.startswith("cluster ")]
    # several songs: the same names, the expert's first
    fig = page.multi_song_figure(data, list(data.songs.index), app.k3)
    assert _legend(fig)[0] == f"0: {EXPERT_NAME}" and len(_legend(fig)) == 3


def test_the_truth_lane_shows_when_the_store_has_truth(page, data, app):
    song = data.songs.index[0]
    fig = page.lanes_figure(data, song, reference=app.k3)
    truth = [t for t in fig.data if t.type == "bar" and t.meta[0] == "truth"]
    labels = set(data.song_sections(song)["truth_label"])
    assert {t.name for t in truth} == labels and all(t.legendgroup.startswith("truth-") for t in truth)
    assert any("ground truth" in (t.legendgrouptitle.text or "") for t in truth)
