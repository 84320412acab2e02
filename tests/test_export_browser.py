"""The Clusters page's playlist download, end to end in headless Chromium (Debian's chromium through
Playwright): log in, open Clusters, click "Download playlist", parse the downloaded XSPF: one track
per section of the chosen cluster, each the app's section URL with start/stop options."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from synthetic_store import RUNS, build_synthetic_store

from sectionist.analysis.export.playlist import VLC_NS, XSPF_NS
from tests.auth_helpers import login_page, make_user
from tests.browser_helpers import ARTIFACTS, chromium_page, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("export-browser")
    store = build_synthetic_store(root / "store", n_sections=48, sections_per_song=12, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=11)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="x" * 40)
    password = make_user(db, "exporter", "expert")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "data": app.server.extensions["sectionist_data"],
               "private": str(root)}


def test_clusters_playlist_download(server, tmp_path):
    run = RUNS[0][0]
    data = server["data"]
    label = data.run_arrays(run).label
    cluster = int(np.bincount(label[label >= 0]).argmax())
    with chromium_page(viewport=(1600, 1000), timeout_ms=60_000) as (page, errors):
        login_page(page, server["url"], "exporter", server["password"], next=f"/clusters?run={run}&cluster={cluster}")
        page.wait_for_selector("#clusters-export-playlist")
        page.wait_for_load_state("networkidle")
        try:
            with page.expect_download() as dl:
                page.click("#clusters-export-playlist")
            path = tmp_path / dl.value.suggested_filename
            dl.value.save_as(path)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failed-export-download.png"), full_page=True)
            raise
        assert not errors, errors
    assert path.suffix == ".xspf"
    payload = path.read_bytes()
    assert server["private"].encode() not in payload  # no server path in what the app exports
    ns = {"x": XSPF_NS, "vlc": VLC_NS}
    tracks = ET.fromstring(payload).findall("x:trackList/x:track", ns)
    members = set(data.section_ids[label == cluster])
    assert len(tracks) == len(members) > 0
    got = set()
    for t in tracks:
        loc = t.find("x:location", ns).text
        # the section's URL with the playlist link's token (it plays without the browser's login)
        url, _, query = loc.partition("?")
        assert url.startswith(server["url"] + "/audio/") and url.endswith(".wav") and query.startswith("token=")
        sid = url.rsplit("/", 1)[1][:-len(".wav")]
        got.add(sid)
        opts = dict(o.text.split("=", 1) for o in t.findall("x:extension/vlc:option", ns))
        sec = data.section(sid)
        # the URL serves the section alone: it plays from 0 for the section's length
        assert float(opts["start-time"]) == 0.0
        assert np.isclose(float(opts["stop-time"]), sec["end_s"] - sec["start_s"], atol=1e-3)
    assert got == members
    import requests

    played = requests.get(tracks[0].find("x:location", ns).text, timeout=60)  # no cookie, as VLC
    assert played.status_code == 200 and played.content[:4] == b"RIFF"
