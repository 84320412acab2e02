"""Section audio and spectrogram routes: spans, ranges, caching headers, 404s, traversal, login."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login, make_user

SECTION_SECONDS = 2.0
SR = 8000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio-routes") / "store"
    # no melspec table: the cluster image falls back to the prototypes' audio
    return build_synthetic_store(root, n_sections=24, sections_per_song=6, section_seconds=SECTION_SECONDS,
                                 audio=True, audio_sr=SR, melspec=False, random_state=3)


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('audio-db') / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="k" * 40)
    app.db_url = db
    return app


@pytest.fixture(scope="module")
def client(app):
    client = app.server.test_client()
    password = make_user(app.db_url, "listener", "viewer")
    login(client, "listener", password)
    return client


@pytest.fixture(scope="module")
def section(store):
    secs = store.read_table("sections").sort_values(["song_id", "index"])
    songs = store.read_table("songs").set_index("song_id")
    row = secs.iloc[3]  # a section in the middle of a song
    return row, songs.loc[row["song_id"], "uri"]


def test_wav_is_exactly_the_section_span(client, section):
    row, uri = section
    resp = client.get(f"/audio/{row['section_id']}.wav")
    assert resp.status_code == 200
    assert resp.mimetype == "audio/wav"
    y, sr = sf.read(io.BytesIO(resp.data), dtype="float32")
    full, sr_full = sf.read(uri, dtype="float32")
    assert sr == sr_full == SR
    start = int(round(row["start_s"] * SR))
    n = int(round((row["end_s"] - row["start_s"]) * SR))
    assert len(y) == n
    # 16-bit encoding: equal to the original samples within one quantisation step
    np.testing.assert_allclose(y, full[start:start + n], atol=1.5 / 32768)
    assert len(y) < len(full)  # never the whole file


def test_ogg_is_served_and_decodes(client, section):
    row, _ = section
    resp = client.get(f"/audio/{row['section_id']}.ogg")
    assert resp.status_code == 200
    assert resp.mimetype == "audio/ogg"
    y, sr = sf.read(io.BytesIO(resp.data))
    assert sr == SR
    assert abs(len(y) - SECTION_SECONDS * SR) <= 1
    assert np.abs(y).max() > 0.1


def test_range_request_returns_206_with_the_right_bytes(client, section):
    row, _ = section
    url = f"/audio/{row['section_id']}.wav"
    whole = client.get(url).data
    resp = client.get(url, headers={"Range": "bytes=100-1099"})
    assert resp.status_code == 206
    assert resp.data == whole[100:1100]
    assert resp.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert resp.headers["Accept-Ranges"] == "bytes"
    tail = client.get(url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == whole[-50:]
    bad = client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert bad.status_code == 416


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-10", "bytes=5-2", "bytes=", "bytes=-", "bytes 0-10",
                                    "bytes=0-10,x"])
def test_malformed_or_unknown_unit_range_is_ignored(client, section, header):
    """RFC 9110 §14.2: a Range header that is not understood is ignored: 200 and the whole body."""
    row, _ = section
    url = f"/audio/{row['section_id']}.wav"
    whole = client.get(url).data
    resp = client.get(url, headers={"Range": header})
    assert resp.status_code == 200 and resp.data == whole
    assert "Content-Range" not in resp.headers


def test_multiple_ranges_serve_the_first_satisfiable_one(client, section):
    row, _ = section
    url = f"/audio/{row['section_id']}.wav"
    whole = client.get(url).data
    resp = client.get(url, headers={"Range": "bytes=0-99,200-299"})
    assert resp.status_code == 206 and resp.data == whole[:100]
    assert resp.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    far = len(whole) + 10
    resp = client.get(url, headers={"Range": f"bytes={far}-,10-19"})
    assert resp.status_code == 206 and resp.data == whole[10:20]
    # valid syntax, nothing satisfiable: still 416
    assert client.get(url, headers={"Range": f"bytes={far}-,{far + 5}-"}).status_code == 416
    assert client.get(url, headers={"Range": "bytes=-0"}).status_code == 416
    # spectrograms go through the same code
    png = f"/spectrogram/{row['section_id']}.png"
    assert client.get(png, headers={"Range": "items=0-10"}).status_code == 200
    assert client.get(png, headers={"Range": "bytes=0-9,20-29"}).status_code == 206


def test_etag_and_cache_headers(client, section):
    row, _ = section
    url = f"/audio/{row['section_id']}.wav"
    resp = client.get(url)
    etag = resp.headers["ETag"]
    assert etag
    cc = resp.headers["Cache-Control"]
    assert "private" in cc and "max-age" in cc and "public" not in cc
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""


def test_unknown_section_and_format_are_404(client, section):
    row, _ = section
    assert client.get("/audio/0000000000000000-00001.wav").status_code == 404
    assert client.get(f"/audio/{row['section_id']}.mp3").status_code == 404
    assert client.get("/spectrogram/nope.png").status_code == 404


def test_dot_segments_never_reach_a_file(client):
    # clients resolve literal dot segments before sending: this asks for /etc/passwd.wav, which is
    # no route of ours; the app answers with its HTML shell (in-app 404 page), never a file
    resp = client.get("/audio/../../etc/passwd.wav")
    assert resp.status_code in (200, 404)
    assert resp.mimetype == "text/html"
    assert b"root:" not in resp.data


@pytest.mark.parametrize("path", [
    "/audio/..%2F..%2Fetc%2Fpasswd.wav",
    "/audio/%2Fetc%2Fpasswd.wav",
    "/audio/....%2F%2Fsongs.wav",
    "/spectrogram/..%2Fmanifest.png",
    "/audio/manifest.json.wav",
])
def test_path_traversal_is_404(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert b"root:" not in resp.data


def test_song_file_outside_the_songs_table_is_never_read(client, store, tmp_path):
    # a file that exists next to the store but is not a song: no URL reaches it
    secret = tmp_path / "secret.wav"
    sf.write(secret, np.ones(800, np.float32) * 0.5, SR)
    assert client.get(f"/audio/{secret.stem}.wav").status_code == 404
    assert client.get(f"/audio/{str(secret).replace('/', '%2F')}").status_code == 404


def test_spectrogram_png(client, section):
    from PIL import Image

    row, _ = section
    resp = client.get(f"/spectrogram/{row['section_id']}.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    img = Image.open(io.BytesIO(resp.data))
    from sectionist.dashboard.media.audio import SPEC_SIZE

    assert img.size == SPEC_SIZE  # the image with its time and frequency axes
    px = np.asarray(img.convert("L"), dtype=float)
    assert px.std() > 5  # not a blank image
    etag = resp.headers["ETag"]
    assert client.get(f"/spectrogram/{row['section_id']}.png", headers={"If-None-Match": etag}).status_code == 304


def test_cluster_spectrogram(client, store):
    runs = store.read_table("runs")
    run_id = runs["run_id"].iloc[0]
    clusters = store.read_table("clusters", parts=[run_id])
    c = int(clusters["cluster"].iloc[0])
    resp = client.get(f"/spectrogram/cluster/{run_id}/{c}.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert client.get(f"/spectrogram/cluster/{run_id}/999.png").status_code == 404
    assert client.get("/spectrogram/cluster/nope/0.png").status_code == 404


def test_missing_song_file_is_404(app, store, tmp_path):
    from werkzeug.exceptions import NotFound

    from sectionist.dashboard.media.audio import section_audio_bytes
    from sectionist.dashboard.data.store_data import StoreData

    data = StoreData(store.uri)
    sid = data.section_ids[0]
    row = data.section(sid)
    with app.server.test_request_context("/"):
        # the route reads the path from the songs table; a vanished file answers 404, not a crash
        data.songs.loc[row["song_id"], "uri"] = str(tmp_path / "gone.wav")
        with pytest.raises(NotFound):
            section_audio_bytes(data, sid, "wav")


def test_routes_require_login(app, section):
    row, _ = section
    anon = app.server.test_client()
    for url in (f"/audio/{row['section_id']}.wav", f"/spectrogram/{row['section_id']}.png", "/map", "/"):
        resp = anon.get(url)
        assert resp.status_code in (302, 401), (url, resp.status_code)
        assert not resp.data.startswith(b"RIFF")
    health = anon.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok"}
