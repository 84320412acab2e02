"""End to end on S3 (moto's server on loopback): analyse into an s3:// store, serve the dashboard
from it, and stream section audio from songs stored in S3 with ranged reads."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
import soundfile as sf
from auth_helpers import login, make_user
from s3_fixtures import FlakyProxy, admin_client

from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.errors import StoreError
from sectionist.analysis.run.pipeline import analyze
from sectionist.store import MANIFEST, open_store
from sectionist.store.s3 import S3Store
from sectionist.store.sync import sync

BUCKET = "sectionist-serve"


@pytest.fixture(scope="module")
def s3env(tmp_path_factory):
    """A moto server, a bucket, and the environment a user would set (for this module)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    tmp = tmp_path_factory.mktemp("s3-serve")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "SECTIONIST_S3_CACHE_MB"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(tmp / "none"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "none"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_ENDPOINT_URL_S3", endpoint)  # boto3's own: the library reads no SECTIONIST_* variable
        mp.setenv("SECTIONIST_S3_ENDPOINT", endpoint)  # what the sectionist command reads
        mp.setenv("SECTIONIST_S3_CACHE_DIR", str(tmp / "cache"))
        mp.setattr("sectionist.store.cache.default_cache_dir", lambda: tmp / "cache")
        client = admin_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield {"endpoint": endpoint, "host": host, "port": port, "client": client, "tmp": tmp, "mp": mp}
    server.stop()


@pytest.fixture(scope="module")
def s3_store(s3env, demo_corpus):
    """The demo corpus analysed straight into s3://…/analysed (sections and classical features;
    clustering and embedders are left out here: they cost minutes and add nothing S3-specific)."""
    folder, _ = demo_corpus
    store = open_store(f"s3://{BUCKET}/analysed")
    summary = analyze([folder], store, AnalysisConfig(embed=False, cluster=False), progress=False)
    return store, summary


def test_analyze_writes_a_complete_store_to_s3(s3env, s3_store, demo_corpus):
    store, summary = s3_store
    _, paths = demo_corpus
    assert summary.ok == len(paths) and not summary.failed
    keys = [o["Key"] for o in s3env["client"].list_objects_v2(Bucket=BUCKET, Prefix="analysed/")["Contents"]]
    assert f"analysed/{MANIFEST}" in keys
    reader = open_store(f"s3://{BUCKET}/analysed", create=False, cache=False)
    songs, sections = reader.read_table("songs"), reader.read_table("sections")
    assert len(songs) == len(paths)
    assert set(sections["song_id"]) == set(songs["song_id"])
    assert len(reader.read_table("features")) == len(sections)
    manifest = reader.read_manifest()
    assert manifest["version"] >= 1 and all(v["status"] == "ok" for v in manifest["songs"].values())
    # resuming against S3: a second run finds every song done
    again = analyze([demo_corpus[0]], reader, AnalysisConfig(embed=False, cluster=False), progress=False)
    assert again.skipped == len(paths) and again.ok == 0


@pytest.fixture(scope="module")
def app_client(s3env, s3_store):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{s3env['tmp'] / 'users.sqlite'}"
    app = create_app(f"s3://{BUCKET}/analysed", db_url=db, secret_key="s" * 40)
    client = app.server.test_client()
    login(client, "listener", make_user(db, "listener", "viewer"))
    return client


def test_dashboard_serves_an_s3_store(app_client, s3_store):
    store, _ = s3_store
    assert app_client.get("/healthz").status_code == 200
    page = app_client.get("/")
    assert page.status_code == 200 and "_dash-config" in page.get_data(as_text=True)
    assert app_client.get("/_dash-layout").status_code == 200
    sections = store.read_table("sections")
    row = sections.iloc[len(sections) // 2]
    resp = app_client.get(f"/audio/{row['section_id']}.wav")
    assert resp.status_code == 200 and resp.mimetype.startswith("audio/")
    y, sr = sf.read(io.BytesIO(resp.get_data()))
    assert abs(len(y) / sr - (row["end_s"] - row["start_s"])) < 0.05
    png = app_client.get(f"/spectrogram/{row['section_id']}.png")
    assert png.status_code == 200 and png.get_data()[:4] == b"\x89PNG"


def test_section_audio_streams_from_songs_in_s3_with_ranged_reads(s3env, s3_store, tmp_path):
    from sectionist.dashboard.app import create_app

    # the store and its songs on S3: sync uploads the song files and rewrites songs.uri
    songs_uri = f"s3://{BUCKET}/songs"
    result = sync(f"s3://{BUCKET}/analysed", f"s3://{BUCKET}/with-songs", songs_to=songs_uri, progress=False)
    assert result["songs"]
    remote = open_store(f"s3://{BUCKET}/with-songs", create=False, cache=False)
    songs = remote.read_table("songs").set_index("song_id")
    assert songs["uri"].str.startswith(f"{songs_uri}/").all()

    # every byte the dashboard takes from S3 goes through a counting proxy
    proxy = FlakyProxy(s3env["host"], s3env["port"])
    try:
        db = f"sqlite:///{tmp_path / 'users.sqlite'}"
        app = create_app(f"s3://{BUCKET}/with-songs", db_url=db, secret_key="s" * 40,
                         store_options={"endpoint_url": proxy.endpoint})
        client = app.server.test_client()
        login(client, "listener", make_user(db, "listener", "viewer"))
        sections = remote.read_table("sections")
        first, row = sections[sections["index"] == 1].iloc[0], sections[sections["index"] == 2].iloc[1]
        song_size = s3env["client"].head_object(Bucket=BUCKET, Key=songs.loc[row["song_id"], "uri"].split("/", 3)[3])["ContentLength"]
        # one section of another song first, so the app's tables are loaded before counting
        assert client.get(f"/audio/{first['section_id']}.wav").status_code == 200
        proxy.reset_counts()
        resp = client.get(f"/audio/{row['section_id']}.wav")
        assert resp.status_code == 200
        fetched = proxy.bytes_down
    finally:
        proxy.close()

    # the same span read from the original local file
    local_uri = open_store(f"s3://{BUCKET}/analysed", create=False, cache=False).read_table("songs") \
        .set_index("song_id").loc[row["song_id"], "uri"]
    with sf.SoundFile(local_uri) as f:
        f.seek(int(round(row["start_s"] * f.samplerate)))
        expected = f.read(int(round((row["end_s"] - row["start_s"]) * f.samplerate)), dtype="float32")
        span_bytes = len(expected) * f.channels * 2
    served, _ = sf.read(io.BytesIO(resp.get_data()), dtype="float32")
    np.testing.assert_allclose(served.reshape(expected.shape), expected, atol=1e-4)
    # ranged GETs: the span, the header's GET (64 KiB) and at most one read-ahead (256 KiB) more,
    # plus HTTP headers — not the whole song
    assert fetched < song_size / 2, (fetched, song_size)
    assert fetched <= span_bytes + 64 * 1024 + 256 * 1024 + 16 * 1024, (fetched, span_bytes)


def test_a_writer_cut_off_mid_analysis_leaves_songs_whole(s3env, demo_corpus):
    """Connections cut while the pipeline uploads: each song is complete or absent, and a rerun finishes."""
    folder, paths = demo_corpus
    proxy = FlakyProxy(s3env["host"], s3env["port"])
    try:
        fragile = S3Store(f"s3://{BUCKET}/cut", endpoint_url=proxy.endpoint, attempts=1, max_attempts=1, cache=False)
        proxy.arm(drops=1, every=60_000)
        with pytest.raises(StoreError, match="connection to S3"):
            analyze([folder], fragile, AnalysisConfig(embed=False, cluster=False), progress=False)
        assert proxy.cuts == 1
        reader = open_store(f"s3://{BUCKET}/cut", create=False, cache=False)
        done = set(reader.read_table("songs", columns=["song_id"])["song_id"])
        assert len(done) < len(paths)
        for song_id in done:  # a songs part is written last: its song's other parts are all there
            assert reader.has_part("sections", song_id) and reader.has_part("features", song_id)
        manifest = json.loads(reader.read_bytes(MANIFEST)) if reader.exists(MANIFEST) else {}
        ok = {v["song_id"] for v in manifest.get("songs", {}).values() if v.get("status") == "ok"}
        assert ok <= done  # the manifest never claims a song that is not whole

        proxy.arm(drops=2, every=60_000)
        sturdy = S3Store(f"s3://{BUCKET}/cut", endpoint_url=proxy.endpoint, cache=False)
        summary = analyze([folder], sturdy, AnalysisConfig(embed=False, cluster=False), progress=False)
        assert proxy.cuts == 3
        assert summary.ok + summary.skipped == len(paths) and summary.skipped == len(done)
        assert len(reader.read_table("songs")) == len(paths)
    finally:
        proxy.close()


def test_command_line_analyze_info_and_sync_with_s3(s3env, tmp_path):
    """`sectionist analyze --store s3://… --s3-endpoint URL` and `sync`, as a user types them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import click_track, write_audio

    songs = tmp_path / "songs"
    for i, bpm in enumerate((100.0, 130.0)):
        write_audio(songs / f"clicks{i}.wav", click_track(bpm=bpm, seconds=20.0), 22050)
    # the flag alone says where
    env = {k: v for k, v in os.environ.items() if k not in ("SECTIONIST_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3")}
    exe = str(Path(sys.executable).parent / "sectionist")
    uri = f"s3://{BUCKET}/cli-store"

    def run(*args):
        proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("analyze", str(songs), "--store", uri, "--s3-endpoint", s3env["endpoint"], "--no-embed", "--no-cluster", "-q")
    reader = open_store(uri, create=False, cache=False)
    assert len(reader.read_table("songs")) == 2 and reader.exists(MANIFEST)
    run("sync", uri, str(tmp_path / "copy"), "--s3-endpoint", s3env["endpoint"], "-q")
    copy = open_store(tmp_path / "copy", create=False)
    assert sorted(copy.read_table("songs")["song_id"]) == sorted(reader.read_table("songs")["song_id"])
    # a missing bucket, from the command line: a clear message and exit status 2
    proc = subprocess.run([exe, "sync", f"s3://no-such-{BUCKET}/x", str(tmp_path / "none"), "--s3-endpoint",
                           s3env["endpoint"]], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "bucket does not exist" in proc.stderr


def test_users_add_for_an_s3_store_makes_the_login_that_serve_uses(s3env, s3_store, tmp_path, monkeypatch, capsys):
    """Issue 24.12: `users add --store s3://…` failed with "no such store folder", and `serve` used a SQLite
    file in the data folder without naming it. Both now take the same database, and serve says which."""
    import re

    import flask

    from sectionist.cli import main
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.cli import masked_url
    from sectionist.settings import Settings, store_db_url

    uri = f"s3://{BUCKET}/analysed"
    monkeypatch.setenv("SECTIONIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SECTIONIST_DB_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("an-s3-admin-passphrase-42\n"))
    assert main(["users", "add", "curator", "--role", "admin", "--password-stdin", "--store", uri]) == 0
    db_url = store_db_url(uri, tmp_path / "data")
    assert db_url.startswith(f"sqlite:///{tmp_path / 'data' / 'stores'}")
    assert main(["users", "list", "--store", uri]) == 0 and "curator" in capsys.readouterr().out
    assert main(["db", "current", "--store", uri]) == 0
    # `serve --store s3://…` names that database at start (the server itself is not started here)
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kw: None)
    assert main(["serve", "--store", uri, "--no-warm"]) == 0
    assert f"database: {db_url}" in capsys.readouterr().err
    # and the app built for the store, as serve builds it, lets the user in
    settings = Settings.resolve(None, {**os.environ, "SECTIONIST_STORE": uri})
    assert settings.database_url() == db_url
    app = create_app(uri, db_url=settings.database_url(), secret_key="s" * 40, store_options=settings.store_options())
    login(app.server.test_client(), "curator", "an-s3-admin-passphrase-42")
    # a password in a database URL is never printed
    masked = masked_url("postgresql://judge:hunter2-secret@db.example/sectionist")
    assert "hunter2" not in masked and re.search(r"judge:\*+@db\.example", masked)
