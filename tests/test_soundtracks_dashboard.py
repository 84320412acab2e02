"""Sound tracks in the dashboard: the span audio route (/audio/span/<song_id>.wav?start=&end=), the
sound-tracks figure (escaped, one panel per song, blocks carry their span) and the Songs page's
"sounds" view."""

from __future__ import annotations

import io

import dash
import numpy as np
import pytest
import soundfile as sf
from synthetic_store import build_synthetic_store

from sectionist.analysis.sections.soundtracks import tracks_store
from sectionist.dashboard.ui.figures import songs as song_figures
from sectionist.store.schema import SOUND_TRACKS
from tests.auth_helpers import login, make_user

SR = 8000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("soundtracks-dash") / "store"
    store = build_synthetic_store(root, n_sections=24, sections_per_song=8, section_seconds=2.0, audio=True,
                                  audio_sr=SR, random_state=5)
    res = tracks_store(store, beats=2, nmf=2, progress=False)
    assert not res["failed"], res["failed"]
    return store


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('soundtracks-db') / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="s" * 40)
    app.db_url = db
    return app


@pytest.fixture(scope="module")
def client(app):
    client = app.server.test_client()
    login(client, "producer", make_user(app.db_url, "producer", "viewer"))
    return client


def test_span_route_serves_exactly_the_span(client, store):
    songs = store.read_table("songs").set_index("song_id")
    sid = songs.index[0]
    resp = client.get(f"/audio/span/{sid}.wav?start=1.5&end=4.25")
    assert resp.status_code == 200 and resp.mimetype == "audio/wav"
    assert resp.headers["Accept-Ranges"] == "bytes" and "private" in resp.headers["Cache-Control"]
    y, sr = sf.read(io.BytesIO(resp.data), dtype="float32")
    full, _ = sf.read(songs.loc[sid, "uri"], dtype="float32")
    assert sr == SR and len(y) == round(2.75 * SR)
    a = round(1.5 * SR)
    assert np.allclose(y.reshape(len(y), -1)[:, 0], full.reshape(len(full), -1)[a:a + len(y), 0], atol=1e-3)
    # ranges and revalidation as for sections
    part = client.get(f"/audio/span/{sid}.wav?start=1.5&end=4.25", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == resp.data[:100]
    again = client.get(f"/audio/span/{sid}.wav?start=1.5&end=4.25", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("query", ["", "?start=1", "?start=a&end=2", "?start=3&end=2", "?start=-1&end=2",
                                   "?start=nan&end=2", "?start=0&end=inf", "?start=0&end=1000",
                                   "?start=999&end=1000", "?start=1&end=1.0001", "?start=1e999&end=2"])
def test_span_route_refuses_bad_spans(client, store, query):
    sid = store.read_table("songs")["song_id"].iloc[0]
    assert client.get(f"/audio/span/{sid}.wav{query}").status_code == 400


def test_span_route_unknown_song_format_and_login(client, app, store):
    assert client.get("/audio/span/0123456789abcdef.wav?start=0&end=1").status_code == 404
    assert client.get("/audio/span/..%2F..%2Fetc.wav?start=0&end=1").status_code == 404
    sid = store.read_table("songs")["song_id"].iloc[0]
    assert client.get(f"/audio/span/{sid}.mp3?start=0&end=1").status_code == 404
    anonymous = app.server.test_client()
    resp = anonymous.get(f"/audio/span/{sid}.wav?start=0&end=1")
    assert resp.status_code == 401 and not resp.data.startswith(b"RIFF")  # as docs/security.md states


def test_figure_escapes_and_carries_spans():
    panels = [{"song_id": "s1", "title": "<b>Bold</b> & co", "duration": 10.0,
               "tracks": [("sound", "sound 1 · 2 blocks · mostly mid", [0.0, 4.0], [2.0, 6.0]),
                          ("nmf", "component 1 · 1 blocks · mostly low/dark", [1.0], [9.0])]},
              {"song_id": "s2", "title": "Two", "duration": 8.0,
               "tracks": [("sound", "sound 1 · 1 blocks · mostly high/bright", [0.0], [8.0])]}]
    fig = song_figures.sound_tracks(panels, title="t")
    assert len(fig.data) == 3
    assert list(fig.data[0].customdata[1]) == ["s1", 4.0, 6.0, "sound 1 · 2 blocks"]
    assert list(fig.data[0].base) == [0.0, 4.0] and list(fig.data[0].x) == [2.0, 2.0]
    texts = " ".join(fig.layout.yaxis.ticktext)
    assert fig.layout.yaxis.ticktext[0] == "<b>&lt;b&gt;Bold&lt;/b&gt; &amp; co</b> · 1 sound"
    assert "<b>Bold</b>" not in texts
    assert fig.data[1].marker.color == song_figures.NMF_COLOR
    # a heading row per song, then one row per track
    assert list(fig.layout.yaxis.tickvals) == [0, 1, 2, 3, 4]
    assert fig.layout.yaxis.ticktext[1] == "sound 1 · 2 blocks<br>mostly mid"
    assert song_figures.sound_tracks([]).layout.annotations[0].text.startswith("No sound tracks")


def test_songs_page_sounds_view_for_two_songs(app, store):
    from sectionist.dashboard.data.store_data import get_data
    from sectionist.dashboard.pages import songs as page

    with app.server.app_context():
        data = get_data()
        sids = list(data.songs.index[:2])
        fig = page.timeline(data, sids, "sounds", None)
        stored = store.read_table(SOUND_TRACKS)
        n_tracks = stored[stored["song_id"].isin(sids)].groupby(["song_id", "kind", "track"]).ngroups
        assert len(fig.data) == n_tracks
        assert {cd[0] for tr in fig.data for cd in tr.customdata} == set(sids)
        # without NMF: only the sounds
        fig = page.timeline(data, sids, "sounds", None, with_nmf=False)
        assert len(fig.data) == stored[stored["song_id"].isin(sids) & (stored["kind"] == "sound")] \
            .groupby(["song_id", "track"]).ngroups
        # a click on a block gives its span and a player for it
        cd = list(fig.data[0].customdata[0])
        span = page.clicked_span(data, {"points": [{"customdata": cd}]})
        assert span == (cd[0], cd[1], cd[2]) and cd[3].startswith("sound 1 · ")
        player = page._play_span({"points": [{"customdata": cd}]}, "sounds")
        assert player.children[0].children[1].children == cd[3]  # the player names the track
        assert page._play_span({"points": [{"customdata": cd}]}, "lanes") is dash.no_update
        audio = player.children[1]
        assert audio.src.startswith(f"/audio/span/{cd[0]}.wav?start=") and audio.autoPlay
        assert page.clicked_span(data, {"points": [{"customdata": 3}]}) is None
        assert page.clicked_span(data, {"points": [{"customdata": ["nope", 0, 1]}]}) is None


def test_sound_track_names_in_the_page_language(app):
    from sectionist.dashboard.pages import songs  # registered by the app

    stored = "sound 3 · 41 blocks · mostly low/dark"
    with app.server.test_request_context(headers={"Accept-Language": "en"}):
        assert songs.sound_track_label("sound", 2, 41, stored) == stored
        assert songs.sound_track_label("nmf", 0, 1, "x · mostly mid") == "component 1 · 1 block · mostly mid"
    with app.server.test_request_context(headers={"Accept-Language": "es"}):
        assert songs.sound_track_label("sound", 2, 41, stored) == "sonido 3 · 41 bloques · sobre todo grave/oscuro"
        assert songs.sound_track_label("nmf", 1, 1, "x · silent") == "componente 2 · 1 bloque · silencio"
