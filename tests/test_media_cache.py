"""The rendered-media folder every web worker shares (sectionist.dashboard.media.diskcache): a section's
spectrogram rendered once across two apps on one folder, least recently used entries trimmed under
the limit, one entry made once however many threads ask at the same moment; the settings and
``serve``'s worker options that set it up."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from synthetic_store import build_synthetic_store

from sectionist.analysis.errors import ParameterError
from sectionist.dashboard.media import audio
from sectionist.dashboard.media.diskcache import MediaCache, default_folder
from sectionist.settings import MEDIA_CACHE_MB, Settings, SettingsError
from tests.auth_helpers import login, make_user


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("media-cache") / "store"
    return build_synthetic_store(root, n_sections=12, sections_per_song=4, section_seconds=2.0, audio=True,
                                 audio_sr=8000, melspec=False, random_state=5)


def _client(store, db_url, media_dir, name):
    from sectionist.dashboard.app import create_app

    app = create_app(store.uri, db_url=db_url, secret_key="m" * 40, media_cache_bytes=8 << 20, media_dir=media_dir)
    client = app.server.test_client()
    login(client, name, make_user(db_url, name, "viewer"))
    return app, client


def test_a_spectrogram_is_rendered_once_for_two_apps_sharing_the_folder(store, tmp_path, monkeypatch):
    renders = []
    real_render = audio.render_png

    def counting_render(*args, **kwargs):
        renders.append(time.monotonic())
        return real_render(*args, **kwargs)

    monkeypatch.setattr(audio, "render_png", counting_render)
    db_url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    media = tmp_path / "media"
    # two app instances (two worker processes' apps), each with its own in-memory cache
    app_a, client_a = _client(store, db_url, media, "ana")
    app_b, client_b = _client(store, db_url, media, "bea")
    assert app_a.server.extensions[audio.MEDIA_CACHE_KEY] is not app_b.server.extensions[audio.MEDIA_CACHE_KEY]
    sid = store.read_table("sections")["section_id"].iloc[5]

    first = client_a.get(f"/spectrogram/{sid}.png")
    assert first.status_code == 200 and first.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(renders) == 1
    entries = MediaCache(media).entries()
    assert len(entries) == 1 and entries[0][1] == len(first.data)

    second = client_b.get(f"/spectrogram/{sid}.png")
    assert second.status_code == 200
    assert len(renders) == 1  # read from the folder, not rendered again
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]

    # another section is rendered (once), and a third app without the folder renders its own
    other = store.read_table("sections")["section_id"].iloc[6]
    assert client_b.get(f"/spectrogram/{other}.png").status_code == 200
    assert client_a.get(f"/spectrogram/{other}.png").status_code == 200
    assert len(renders) == 2
    from sectionist.dashboard.app import create_app

    app_c = create_app(store.uri, db_url=db_url, secret_key="m" * 40)
    assert audio.MEDIA_CACHE_KEY not in app_c.server.extensions
    client_c = app_c.server.test_client()
    login(client_c, "cleo", make_user(db_url, "cleo", "viewer"))
    assert client_c.get(f"/spectrogram/{sid}.png").data == first.data
    assert len(renders) == 3


def test_section_audio_goes_through_the_folder_too(store, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    _app, client = _client(store, db_url, tmp_path / "media", "dora")
    sid = store.read_table("sections")["section_id"].iloc[2]
    resp = client.get(f"/audio/{sid}.ogg")
    assert resp.status_code == 200
    sizes = sorted(size for _, size, _ in MediaCache(tmp_path / "media").entries())
    assert sizes == [len(resp.data)]


def test_least_recently_used_entries_are_trimmed_under_the_limit(tmp_path):
    cache = MediaCache(tmp_path, max_bytes=10_000)
    now = time.time()
    for i in range(8):  # 8 kB, oldest first
        cache.put(("entry", i), bytes([i]) * 1000)
        os.utime(cache.path(("entry", i)), (now - 100 + i, now - 100 + i))
    assert cache.size() == 8000
    # entry 0 is read: the most recently used now
    assert cache.get(("entry", 0)) == bytes([0]) * 1000
    for i in range(8, 12):  # 4 kB more: over the limit at the third, trimmed to 90 % of it
        cache.put(("entry", i), bytes([i]) * 1000)
    assert cache.size() <= 10_000

    def kept():  # without reading them (a read is a use)
        return {i for i in range(13) if cache.path(("entry", i)).exists()}

    assert kept() == {0, *range(3, 12)}  # the two least recently used went; the read one stayed
    assert cache.trim() == 10_000  # at the limit: nothing to remove
    cache.put(("entry", 12), b"x" * 1000)
    assert cache.size() <= 9000 and kept() == {0, *range(5, 13)}
    # an entry larger than the whole limit is not kept
    cache.put(("huge",), b"x" * 20_000)
    assert cache.get(("huge",)) is None


def test_the_folder_is_trimmed_as_entries_are_written(tmp_path):
    cache = MediaCache(tmp_path, max_bytes=16_000)
    for i in range(60):
        cache.put(("png", i), os.urandom(1000))
    # measured again after every 1/16 of the limit written: never far above it
    assert cache.size() <= 16_000 + 1000
    assert cache.get(("png", 59)) is not None


def test_concurrent_threads_make_one_entry_once(tmp_path):
    made = []
    start = threading.Barrier(12)

    def make():
        made.append(threading.get_ident())
        time.sleep(0.2)  # a slow render: every other thread arrives meanwhile
        return b"rendered once"

    caches = [MediaCache(tmp_path), MediaCache(tmp_path)]  # a second instance reads what the first wrote
    results = []

    def ask(i):
        start.wait()
        results.append(caches[0].get_or_make(("spec", "s1"), make))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert results == [b"rendered once"] * 12
    assert caches[1].get_or_make(("spec", "s1"), make) == b"rendered once"
    assert len(made) == 1
    assert len(caches[1].entries()) == 1
    assert not list(Path(tmp_path).rglob("*.tmp*"))  # no temporary file left behind


def test_nothing_is_kept_when_make_gives_nothing_or_fails(tmp_path):
    cache = MediaCache(tmp_path)
    assert cache.get_or_make(("none",), lambda: None) is None
    with pytest.raises(RuntimeError):
        cache.get_or_make(("boom",), lambda: (_ for _ in ()).throw(RuntimeError("render failed")))
    assert cache.entries() == []
    assert cache.get_or_make(("boom",), lambda: b"now") == b"now"


def test_bad_limits_and_folders_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="media cache size 0"):
        MediaCache(tmp_path, max_bytes=0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="cannot be created"):
        MediaCache(blocker / "media")


def test_settings_and_create_app_put_the_folder_under_the_data_dir(store, tmp_path):
    from sectionist.dashboard.app import create_app

    assert Settings.from_env({}).media_cache_bytes == MEDIA_CACHE_MB << 20
    assert Settings.from_env({"SECTIONIST_MEDIA_CACHE_MB": "64"}).media_options() == {"media_cache_bytes": 64 << 20}
    assert Settings.from_env({"SECTIONIST_MEDIA_CACHE_MB": "0"}).media_cache_bytes == 0
    with pytest.raises(SettingsError, match="SECTIONIST_MEDIA_CACHE_MB"):
        Settings.from_env({"SECTIONIST_MEDIA_CACHE_MB": "lots"})
    settings = Settings.from_env({"SECTIONIST_DATA_DIR": str(tmp_path / "data"), "SECTIONIST_MEDIA_CACHE_MB": "3"})
    app = create_app(store.uri, db_url=f"sqlite:///{tmp_path / 'u.sqlite'}", secret_key="m" * 40,
                     auth_options=settings.auth_options(), **settings.media_options())
    cache = app.server.extensions[audio.MEDIA_CACHE_KEY]
    assert cache.folder == default_folder(store.uri, tmp_path / "data")
    assert cache.folder.is_dir() and cache.folder.parent == tmp_path / "data" / "media"
    assert cache.max_bytes == 3 << 20
    with pytest.raises(ParameterError, match="media cache size"):
        create_app(store.uri, db_url=f"sqlite:///{tmp_path / 'u.sqlite'}", secret_key="m" * 40, media_cache_bytes=-1,
                   media_dir=tmp_path / "m2")


def test_serve_runs_gthread_workers():
    from sectionist.dashboard.cli import gunicorn_command

    cmd = gunicorn_command("/bin/gunicorn", 2, 8, "127.0.0.1", 8050)
    assert cmd[cmd.index("--worker-class") + 1] == "gthread"
    assert cmd[cmd.index("--threads") + 1] == "8" and cmd[cmd.index("--workers") + 1] == "2"
    assert cmd[-1] == "sectionist.dashboard.app:server"
    assert int(cmd[cmd.index("--keep-alive") + 1]) > 60  # nginx's upstream keepalive_timeout
    conf = (Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py").read_text()
    assert 'worker_class = "gthread"' in conf


def test_serve_puts_the_workers_blas_on_one_thread():
    """A request's numpy work runs single-threaded in its worker (the threads are the parallelism),
    unless the environment says otherwise."""
    import subprocess
    import sys

    from sectionist.dashboard.cli import WORKER_THREAD_VARIABLES, worker_environment

    env = worker_environment({"PATH": "/bin", "OMP_NUM_THREADS": "3"})
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "3"
    assert set(WORKER_THREAD_VARIABLES) <= set(env)
    # what a worker started with that environment gets from numpy's OpenBLAS
    probe = ("from threadpoolctl import threadpool_info; import numpy; "
             "print(max(p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas'))")
    out = subprocess.run([sys.executable, "-c", probe], env=worker_environment({}), capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"


def test_spectrogram_pictures_are_drawn_fast_with_round_ticks():
    """The PNG is drawn by Pillow (sectionist.dashboard.media.picture), not laid out by matplotlib: a
    15 s section's picture in well under the ~0.4 s matplotlib took (CPU time, best of three)."""
    import io

    import numpy as np
    from PIL import Image

    from sectionist.dashboard.media.picture import draw_png, nice_ticks, tick_label

    assert nice_ticks(10.0, 25.0) == [10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert [tick_label(v, 2.5) for v in (10.0, 12.5)] == ["10.0", "12.5"] and tick_label(14.0, 2.0) == "14"
    rng = np.random.default_rng(0)
    S = rng.normal(size=(96, 801))
    S[40] += 20  # one loud band
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        png = draw_png(S, (640, 200), (0.085, 0.21, 0.885, 0.76), x_range=(10.0, 25.0), y_range=(0.0, 96.0),
                       y_ticks=[0.0, 48.0, 96.0], y_labels=["0", "48", "96"], x_label="time", y_label="band")
        best = min(best, time.process_time() - t)
    assert best < 0.15, best
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    assert img.shape == (200, 640, 3)
    # the loud band is the brightest row inside the frame, 40.5/96 of the way up from its bottom
    top, bottom = 200 - int(200 * 0.97), 200 - int(200 * 0.21)
    rows = img[top:bottom, 60:600].sum(axis=(1, 2))
    expected = bottom - (40.5 / 96) * (bottom - top)
    assert abs(top + int(np.argmax(rows)) - expected) <= 3


def test_warming_makes_every_section_so_that_clicks_render_nothing(store, tmp_path, monkeypatch):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.media.warm import warm_media

    db_url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    warmer = create_app(store.uri, db_url=db_url, secret_key="m" * 40, media_cache_bytes=64 << 20,
                        media_dir=tmp_path / "media")
    steps = []
    out = warm_media(warmer, progress=lambda done, total: steps.append((done, total)))
    n = len(store.read_table("sections"))
    assert out["sections"] == n and out["skipped"] == 0 and steps[-1] == (n, n)
    assert len(MediaCache(tmp_path / "media").entries()) == 3 * n  # spectrogram in en and es, Ogg audio

    renders = []
    real_render = audio.render_png
    monkeypatch.setattr(audio, "render_png", lambda *a, **k: renders.append(1) or real_render(*a, **k))
    _app, client = _client(store, db_url, tmp_path / "media", "emma")  # a web worker on the same folder
    sid = store.read_table("sections")["section_id"].iloc[3]
    for lang in ("en", "es"):
        resp = client.get(f"/spectrogram/{sid}.png", headers={"Accept-Language": lang})
        assert resp.status_code == 200 and resp.data[:4] == b"\x89PNG"
    assert client.get(f"/audio/{sid}.ogg").status_code == 200
    assert renders == []  # all made beforehand
    # a share of the limit stops it early; an app without a folder has nothing to warm
    small = create_app(store.uri, db_url=db_url, secret_key="m" * 40, media_cache_bytes=200_000,
                       media_dir=tmp_path / "small")
    assert warm_media(small, share=0.5)["sections"] < n
    with pytest.raises(ParameterError, match="no media folder"):
        warm_media(create_app(store.uri, db_url=db_url, secret_key="m" * 40))


def test_media_warm_command_fills_the_folder_serve_reads(store, tmp_path, monkeypatch, capsys):
    from sectionist.cli import main

    monkeypatch.setenv("SECTIONIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTIONIST_MEDIA_CACHE_MB", "16")
    assert main(["media-warm", "--store", store.uri, "--languages", "en"]) == 0
    n, songs = len(store.read_table("sections")), len(store.read_table("songs"))
    folder = default_folder(store.uri, tmp_path / "data")
    # English spectrograms and Ogg audio, and each song's front end of the Lab (data/lab_cache.py)
    assert len(MediaCache(folder).entries()) == 2 * n + songs
    printed = capsys.readouterr().out
    assert f"made the media of {n} sections" in printed and f"front end of {songs} songs" in printed
    assert main(["media-warm", "--store", store.uri, "--languages", "fr"]) == 2
    monkeypatch.setenv("SECTIONIST_MEDIA_CACHE_MB", "0")
    assert main(["media-warm", "--store", store.uri]) == 2
