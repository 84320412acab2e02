"""The dashboard on a store written by the real pipeline (the demo corpus, analysed once per session)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.auth_helpers import login, make_user


@pytest.fixture(scope="module")
def app(demo_store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('demo-dash') / 'users.sqlite'}"
    app = create_app(demo_store.uri, db_url=db, secret_key="d" * 40)
    app.db_url = db
    return app


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


@pytest.fixture(scope="module")
def client(app):
    c = app.server.test_client()
    login(c, "demo-viewer", make_user(app.db_url, "demo-viewer", "viewer"))
    return c


def render(component) -> str:
    import plotly.io.json as pj

    return pj.to_json_plotly(component).replace("\\u002f", "/")


def test_every_page_renders_on_the_demo_store(app, data):
    import dash

    assert data.n_sections > 0 and len(data.runs) >= 1
    pages = {p["path"]: p for p in dash.page_registry.values()}
    with app.server.test_request_context("/"):
        for path in ("/", "/map", "/clusters", "/compare", "/songs"):
            assert '"type":"Div"' in render(pages[path]["layout"]()).replace(" ", ""), path


def test_map_every_projection_and_detail(app, data):
    import sys

    map_page = sys.modules["sectionist.dashboard.pages.map"]
    from sectionist.dashboard.ui.components.detail import section_detail

    run_id = data.runs.index[0]
    space = data.runs.loc[run_id, "space"]
    cat = data.projection_catalog
    assert len(cat[cat["space"] == space]), "the pipeline writes projections of each run's space"
    for _, row in cat.iterrows():
        fig, count, meta = map_page.render_map(data, row["space"], f"{row['kind']}{row['dims']}", run_id, "cluster")
        assert count.startswith("Showing") and meta["ring"] == len(fig.data) - 1
    sid = data.section_ids[0]
    out = render(section_detail(data, sid, run_id, "map"))
    assert f"/audio/{sid}.ogg" in out and "Nearest neighbours" in out
    if data.explanation(run_id, 0) is not None:
        assert "how much a feature places this section in its cluster" in out


def test_audio_of_a_real_section(client, data):
    sid = data.section_ids[1]
    sec = data.section(sid)
    resp = client.get(f"/audio/{sid}.wav")
    assert resp.status_code == 200
    y, sr = sf.read(io.BytesIO(resp.data))
    assert abs(len(y) / sr - (sec["end_s"] - sec["start_s"])) < 0.01
    full, sr_full = sf.read(sec["song_uri"], dtype="float32", always_2d=True)
    start = int(round(sec["start_s"] * sr_full))
    ref = full[start:start + len(y)]
    np.testing.assert_allclose(np.asarray(y).reshape(ref.shape), ref, atol=1.5 / 32768)
    part = client.get(f"/audio/{sid}.wav", headers={"Range": "bytes=44-1043"})
    assert part.status_code == 206 and part.data == resp.data[44:1044]
    assert client.get(f"/spectrogram/{sid}.png").mimetype == "image/png"


def test_clusters_compare_songs_on_the_demo_store(app, data, client):
    import sys

    clusters = sys.modules["sectionist.dashboard.pages.clusters"]
    compare = sys.modules["sectionist.dashboard.pages.compare"]
    songs = sys.modules["sectionist.dashboard.pages.songs"]
    run_id = data.runs.index[0]
    c = data.run_arrays(run_id).clusters[0]
    out = render(clusters.cluster_body(data, run_id, c))
    assert "Prototype queue" in out
    assert client.get(f"/spectrogram/cluster/{run_id}/{c}.png").status_code == 200
    if len(data.runs) >= 2:
        a, b = data.runs.index[:2]
        rows, pages, note = compare.table_page(data, a, b, 0, 10)
        assert rows and note.startswith("Same cluster for ")  # the agreement of the two runs
    song = data.songs.index[0]
    fig = songs.timeline(data, [song], "lanes", run_id)
    assert fig.data[0].name == "waveform"
    assert len([t for t in fig.data if t.type == "bar"]) >= 1
