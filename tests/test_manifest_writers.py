"""Concurrent writers of one store's ``manifest.json`` (issue 24, item 3): every record kept.

Each writer is a real process (``subprocess``) going through the real code paths: the pipeline's
failure records (``analyze``), the Lab's ``save_scheme`` and the modelling marks. On a local folder
and on S3 (moto's standalone server over loopback), every writer's records must be there afterwards
and the manifest's ``version`` must equal the number of writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from s3_fixtures import moto_endpoint, s3  # noqa: F401  (fixtures)
from sectionist.cli import main as cli_main
from sectionist.store import open_store
from sectionist.store.schema import SEGMENTS, SONGS
from tests.conftest import ROOT, click_track, tone, write_audio

WRITERS = 6
ROUNDS = 4

#: One writer: waits for the go file (so that all start together), records its corrupt file's failure
#: through ``analyze``, then saves ROUNDS Lab schemes and ROUNDS modelling marks.
WRITER = r"""
import os, sys, time
import numpy as np
from sectionist.analysis.modeling.marks import mark
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.pipeline import analyze
from sectionist.analysis.sections.lab import LabParams, LabResult, save_scheme
from sectionist.store import open_store

uri, i, rounds, bad, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
store = open_store(uri)
seg = np.array([[0.0, 5.0], [5.0, 10.0]])
result = LabResult(LabParams(), cuts=np.array([5.0]), pre=seg, pre_labels=np.array([0, 1]), post=seg,
                   labels=np.array([0, 1]), k_used=2)
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.005)
summary = analyze([bad], store, AnalysisConfig(embed=False, cluster=False, workers=1), progress=False)
assert list(summary.failed) == [bad], summary.failed
for r in range(rounds):
    save_scheme(store, f"song{i}", f"w{i}-r{r}", result)
    mark(store, f"unit-{i}-{r}", "modelling-hash")
"""


def corrupt_wav(path):
    """A WAV cut to a third of its length (the pipeline reports it as truncated)."""
    full = write_audio(path.with_suffix(".full.wav"), tone(440, 6.0), 22050).read_bytes()
    path.write_bytes(full[: len(full) // 3])
    path.with_suffix(".full.wav").unlink()
    return path


def run_writers(uri, tmp_path, env=None):
    bads = [str(corrupt_wav(tmp_path / f"in{i}" / f"bad{i}.wav")) for i in range(WRITERS)]
    for b in bads:
        os.makedirs(os.path.dirname(b), exist_ok=True)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, uri, str(i), str(ROUNDS), bads[i], str(go)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(WRITERS)]
    time.sleep(1.5)  # let every writer import and open the store
    go.write_text("go")
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    return bads


def check_every_record(store, bads):
    m = store.read_manifest()
    assert set(m["errors"]) == set(bads), "failures of some writers were lost"
    assert {p for p, e in m["songs"].items() if e["status"] == "failed"} == set(bads)
    units = {f"unit-{i}-{r}" for i in range(WRITERS) for r in range(ROUNDS)}
    assert set(m["modeling"]["done"]) == units, "modelling marks of some writers were lost"
    assert len(m["modeling"]["done"]) == len(units)
    schemes = {f"lab-w{i}-r{r}/song{i}" for i in range(WRITERS) for r in range(ROUNDS)}
    assert set(store.list_parts(SEGMENTS)) == schemes
    # one analyze, ROUNDS saves and ROUNDS marks per writer: each a write of its own
    assert m["version"] == WRITERS * (1 + 2 * ROUNDS)


def test_concurrent_writers_keep_every_record_in_a_folder(tmp_path):
    store_dir = tmp_path / "store"
    bads = run_writers(str(store_dir), tmp_path)
    check_every_record(open_store(store_dir), bads)


@pytest.fixture
def serial_moto(s3):  # noqa: F811
    """A moto S3 server that answers one request at a time, holding ``s3``'s environment.

    moto 5.2.5 honours ``If-Match``/``If-None-Match`` on PutObject (412 PreconditionFailed), but checks
    the condition and stores the object as two steps of a request handler: on its threaded server two
    racing conditional PUTs can both succeed (16 racers on one ETag: 2 winners), which S3 itself never
    allows. Serving one request at a time gives the conditional write S3's atomicity; the requests
    are still real HTTP to moto's real S3 implementation.
    """
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    from s3_fixtures import admin_client

    admin_client(endpoint).create_bucket(Bucket=s3.bucket)
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": endpoint, "SECTIONIST_S3_ENDPOINT": endpoint}
    yield s3.uri("store"), endpoint, env
    server.shutdown()


def test_concurrent_writers_keep_every_record_on_s3(serial_moto, tmp_path):
    uri, endpoint, env = serial_moto
    bads = run_writers(uri, tmp_path, env=env)
    check_every_record(open_store(uri, endpoint_url=endpoint, cache=False), bads)


def test_two_analyze_processes_into_one_new_store_keep_both_failures(tmp_path, capsys):
    """The issue's case: two ``sectionist analyze`` into one new store, each folder with a corrupt WAV."""
    store_dir = tmp_path / "store"
    folders = []
    for i in range(2):
        folder = tmp_path / f"folder{i}"
        write_audio(folder / f"song{i}.wav", click_track(bpm=120 + 8 * i, seconds=20.0) + tone(300 + 100 * i, 20.0, amp=0.2),
                    22050)
        corrupt_wav(folder / f"broken{i}.wav")
        folders.append(folder)
    procs = [subprocess.Popen([sys.executable, "-m", "sectionist.cli", "analyze", str(f), "--store", str(store_dir),
                               "--no-embed", "--no-cluster", "--workers", "1", "-q"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in folders]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode in (0, 1), err[-3000:]  # 1: some files failed (the corrupt ones)
    store = open_store(store_dir)
    assert len(store.read_table(SONGS)) == 2  # the tables were always complete
    m = store.read_manifest()
    broken = {str(f / f"broken{i}.wav") for i, f in enumerate(folders)}
    assert set(m["errors"]) == broken
    assert {p for p, e in m["songs"].items() if e["status"] == "ok"} == {str(f / f"song{i}.wav") for i, f in enumerate(folders)}
    assert m["version"] == 2
    capsys.readouterr()
    cli_main(["info", "--store", str(store_dir)])
    info = capsys.readouterr().out
    assert "failed files: 2" in info and all(b in info for b in broken)
    json.dumps(m)


def test_s3_update_retries_when_another_writer_got_in_between(s3):  # noqa: F811
    """The conditional PUT is refused (412) when the manifest changed after it was read; the edit is
    applied again to the new manifest, so the other writer's entry stays."""
    store = open_store(s3.uri("cas"), cache=False)
    assert store.update_manifest(lambda m: m.update(first=1))["version"] == 1  # If-None-Match: * on a new store
    calls = []

    def edit(m):
        calls.append(dict(m))
        if len(calls) == 1:  # another process writes between this read and this write
            s3.client.put_object(Bucket=s3.bucket, Key="cas/manifest.json",
                                 Body=json.dumps({**m, "other": True, "version": 2}).encode())
        m["mine"] = True

    written = store.update_manifest(edit)
    assert len(calls) == 2 and calls[1]["other"] is True
    m = store.read_manifest()
    assert m == written and (m["first"], m["other"], m["mine"], m["version"]) == (1, True, True, 3)
    # a store created by someone else at the same moment: If-None-Match: * refused, then merged
    fresh, seen = open_store(s3.uri("cas2"), cache=False), []

    def create_race(m):
        seen.append(dict(m))
        if len(seen) == 1:
            s3.client.put_object(Bucket=s3.bucket, Key="cas2/manifest.json", Body=b'{"version": 1, "a": 1}')
        m["b"] = 2

    assert fresh.update_manifest(create_race) == {**fresh.read_manifest(), "a": 1, "b": 2, "version": 2}
    assert seen == [{}, {"version": 1, "a": 1}]


def test_local_update_manifest_lock_is_hidden_and_write_manifest_keeps_version_rising(tmp_path):
    store = open_store(tmp_path / "store")
    store.update_manifest(lambda m: m.update(a=1))
    store.write_manifest({"b": 2, "version": 0})  # a replacement still moves the version on
    assert store.read_manifest() == {"b": 2, "version": 2, "schema_version": store.read_manifest()["schema_version"]}
    assert (tmp_path / "store" / ".manifest.json.lock").exists()
    assert store.list("") == ["manifest.json"]  # not listed: sync never copies it
