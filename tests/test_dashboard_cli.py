"""``sectionist serve`` and the gunicorn target, as real processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login_session, make_user

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {out[-2000:]}")
        try:
            r = requests.get(url + "/healthz", timeout=5)
            if r.status_code == 200:
                return r
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError("server did not become healthy")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "store"
    return build_synthetic_store(root, n_sections=30, sections_per_song=10, section_seconds=2.0, audio=True,
                                 random_state=5)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_command(store, tmp_path, workers):
    port = _free_port()
    db = f"sqlite:///{tmp_path / 'users.sqlite'}"
    password = make_user(db, "ops", "viewer")
    data_dir = tmp_path / "data"
    env = dict(os.environ, SECRET_KEY="c" * 40, SECTIONIST_DATA_DIR=str(data_dir))
    # with gunicorn, serve also warms the media folder in the background (the default); alone, --no-warm
    warm = ["--no-warm"] if workers == 1 else []
    proc = subprocess.Popen([str(BIN / "sectionist"), "serve", "--store", store.uri, "--port", str(port), "--db", db,
                             "--workers", str(workers), *warm], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        health = _wait_healthy(url, proc)
        assert health.json() == {"status": "ok"}
        assert requests.get(url + "/map", allow_redirects=False, timeout=10).status_code == 302
        s = requests.Session()
        login_session(s, url, "ops", password)
        page = s.get(url + "/map", timeout=10)
        assert page.status_code == 200 and "sectionist" in page.text
        sid = store.read_table("sections")["section_id"].iloc[4]
        audio = s.get(f"{url}/audio/{sid}.wav", headers={"Range": "bytes=0-99"}, timeout=20)
        assert audio.status_code == 206 and len(audio.content) == 100 and audio.content[:4] == b"RIFF"
        log = data_dir / "media-warm.log"
        if workers == 1:
            assert not log.exists()
        else:  # every song's Lab front end and every section's media made while the server answers
            deadline = time.monotonic() + 90
            while "made the media of" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
                time.sleep(0.5)
            text = log.read_text()
            n_songs = store.read_table("songs")["song_id"].nunique()
            assert f"made the Lab's front end of {n_songs} songs" in text, text[-2000:]
            assert "made the media of 30 sections" in text, text[-2000:]
    finally:
        _stop(proc)


def test_serve_rejects_a_missing_store(tmp_path):
    out = subprocess.run([str(BIN / "sectionist"), "serve", "--store", str(tmp_path / "nope"), "--workers", "2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "no such store folder" in out.stderr
