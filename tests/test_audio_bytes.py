"""Section audio is byte-stable: one encoding per span, the same bytes in every worker process and
after every cache eviction, a strong ETag that is the hash of those bytes, and Range answers cut
from them (RFC 9110 §14), so ranges from different workers glue back into the whole."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login, make_user

SR = 8000
ROOT = Path(__file__).resolve().parents[1]

# another worker process (gunicorn runs several): a fresh interpreter with its own empty cache
WORKER = """
import json, sys
from sectionist.dashboard.app import create_app
from tests.auth_helpers import login
store_uri, db_url, password, urls, out = sys.argv[1:6]
client = create_app(store_uri, db_url=db_url, secret_key="k" * 40).server.test_client()
login(client, "listener", password)
answers = {}
for i, url in enumerate(json.loads(urls)):
    resp = client.get(url)
    path = f"{out}.{i}"
    with open(path, "wb") as f:
        f.write(resp.data)
    answers[url] = [resp.status_code, resp.headers.get("ETag"), path]
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio-bytes") / "store"
    return build_synthetic_store(root, n_sections=12, sections_per_song=6, section_seconds=2.0,
                                 audio=True, audio_sr=SR, melspec=False, random_state=5)


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('audio-bytes-db') / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="k" * 40)
    app.db_url = db
    app.password = make_user(db, "listener", "viewer")
    return app


@pytest.fixture(scope="module")
def client(app):
    client = app.server.test_client()
    login(client, "listener", app.password)
    return client


@pytest.fixture(scope="module")
def urls(store):
    secs = store.read_table("sections").sort_values(["song_id", "index"])
    row = secs.iloc[4]
    span = f"/audio/span/{row['song_id']}.ogg?start=0.250&end=1.500"
    return {"ogg": f"/audio/{row['section_id']}.ogg", "wav": f"/audio/{row['section_id']}.wav", "span": span}


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def test_ogg_encoding_is_deterministic():
    """libsndfile gives every Ogg stream a random serial number (so every page's CRC differs too);
    encode() writes a fixed one: the same samples encode to the same bytes, which still decode."""
    from sectionist.dashboard.media.audio import encode

    t = np.arange(3 * SR) / SR
    y = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    outs = {encode(y, SR, "ogg") for _ in range(4)}
    assert len(outs) == 1
    back, sr = sf.read(io.BytesIO(outs.pop()), dtype="float32")
    assert sr == SR and len(back) == len(y)
    assert np.corrcoef(back, y[:, 0])[0, 1] > 0.99


def test_the_longest_span_encodes_without_crashing():
    """libsndfile 1.2.2 dies (SIGSEGV) writing about 2M frames of Ogg Vorbis in one call, e.g. a
    :data:`MAX_SECONDS` span at 8 kHz: encode() writes in blocks. In a child process, so that a
    crash fails this test instead of killing the test run."""
    code = (
        "import io, numpy as np, soundfile as sf\n"
        "from sectionist.dashboard.media.audio import MAX_SECONDS, encode\n"
        f"sr = {SR}; n = int(MAX_SECONDS * sr)\n"
        "y = (0.4 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)[:, None]\n"
        "for fmt in ('ogg', 'wav'):\n"
        "    back, rate = sf.read(io.BytesIO(encode(y, sr, fmt)), dtype='float32')\n"
        "    assert rate == sr and len(back) == n, (fmt, len(back))\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


def test_ogg_page_crc_matches_libogg():
    """The CRC that the rewrite recomputes is Ogg's: it reproduces every CRC libsndfile wrote."""
    import soundfile as sf

    from sectionist.dashboard.media.oggpages import ogg_crc, ogg_pages

    buf = io.BytesIO()
    sf.write(buf, np.random.default_rng(0).uniform(-0.5, 0.5, (SR * 4, 2)), SR, format="OGG", subtype="VORBIS")
    data = buf.getvalue()
    pages = list(ogg_pages(data))
    assert len(pages) >= 3 and pages[-1][1] == len(data)
    for start, end in pages:
        page = bytearray(data[start:end])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        assert ogg_crc(bytes(page)) == stored


def test_repeated_gets_give_identical_bytes_and_a_strong_etag_of_them(client, urls):
    for url in urls.values():
        answers = [client.get(url) for _ in range(4)]
        assert {r.status_code for r in answers} == {200}
        assert len({r.data for r in answers}) == 1, url
        assert {r.headers["ETag"] for r in answers} == {strong_etag(answers[0].data)}, url
        again = client.get(url, headers={"If-None-Match": answers[0].headers["ETag"]})
        assert again.status_code == 304 and again.data == b""


def test_other_worker_processes_send_the_same_bytes(app, client, store, urls, tmp_path):
    """A second worker (another process, its own cache) encodes the same bytes under the same ETag,
    so a download resumed against another worker (ranges glued together) is the whole file."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    ours = {name: client.get(url) for name, url in urls.items()}
    proc = subprocess.run([sys.executable, "-c", WORKER, store.uri, app.db_url, app.password,
                           json.dumps(list(urls.values())), str(tmp_path / "body")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, url in urls.items():
        status, etag, path = theirs[url]
        body = Path(path).read_bytes()
        whole = ours[name].data
        assert status == 200 and etag == ours[name].headers["ETag"], name
        assert body == whole, name
        half = len(whole) // 2
        head = client.get(url, headers={"Range": f"bytes=0-{half - 1}"})
        assert head.status_code == 206 and head.headers["ETag"] == etag
        assert head.data + body[half:] == whole, name


@pytest.mark.parametrize("fmt", ["ogg", "wav"])
def test_any_split_glued_back_is_the_whole(client, urls, fmt):
    url = urls[fmt]
    whole = client.get(url).data
    n = len(whole)
    for cut in (1, 57, n // 3, n // 2, n - 1):
        a = client.get(url, headers={"Range": f"bytes=0-{cut - 1}"})
        b = client.get(url, headers={"Range": f"bytes={cut}-"})
        assert (a.status_code, b.status_code) == (206, 206)
        assert a.headers["Content-Range"] == f"bytes 0-{cut - 1}/{n}"
        assert b.headers["Content-Range"] == f"bytes {cut}-{n - 1}/{n}"
        assert a.data + b.data == whole


@pytest.mark.parametrize("fmt", ["ogg", "wav"])
def test_range_edges_follow_rfc_9110(client, urls, fmt):
    url = urls[fmt]
    whole = client.get(url).data
    n = len(whole)
    # a suffix longer than the representation selects all of it (§14.1.2)
    for suffix in (n, n + 1, 10_000_000):
        resp = client.get(url, headers={"Range": f"bytes=-{suffix}"})
        assert resp.status_code == 206, suffix
        assert resp.headers["Content-Range"] == f"bytes 0-{n - 1}/{n}"
        assert resp.data == whole
    # a last-byte-pos past the end is cut to the end; an open range runs to the end
    resp = client.get(url, headers={"Range": f"bytes=10-{n + 500}"})
    assert resp.status_code == 206 and resp.data == whole[10:]
    assert resp.headers["Content-Range"] == f"bytes 10-{n - 1}/{n}"
    resp = client.get(url, headers={"Range": "bytes=5-"})
    assert resp.status_code == 206 and resp.data == whole[5:]
    resp = client.get(url, headers={"Range": f"bytes={n - 1}-{n - 1}"})
    assert resp.status_code == 206 and resp.data == whole[-1:]
    # nothing satisfiable: 416 with the length
    for spec in (f"bytes={n}-", f"bytes={n + 10}-{n + 20}", "bytes=-0"):
        resp = client.get(url, headers={"Range": spec})
        assert resp.status_code == 416, spec
        assert resp.headers["Content-Range"] == f"bytes */{n}"
    # If-Range with the ETag of the bytes: the range is served (a resumed download)
    tail = client.get(url, headers={"Range": "bytes=-100", "If-Range": strong_etag(whole)})
    assert tail.status_code == 206 and tail.data == whole[-100:]
