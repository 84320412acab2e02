"""No dead ends (issue #23), in headless Chromium with real clicks, at 1440×900 and 390×844, in English
and Spanish: the Songs page's Sounds view and the Clusters page's "What the network listens to"
start their job from the page — an admin clicks, sees the progress, and the sound tracks and the
saliency map appear (real ``sectionist tracks`` / ``sectionist saliency`` subprocesses on a store of
tone songs embedded with musicnn) — while anyone else reads that an admin can compute them; no page
text names a command. Compare says how two runs agree (not "N of N sections match"), and the Map's
compare-by-ear slots name their clusters as every page does (the experts' name first). Screenshots
in test-artifacts/screenshots/deadends/."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from auth_helpers import login_page, make_user
from browser_helpers import ARTIFACTS, chromium_page, serve_in_thread
from synthetic_store import RUNS as SYN_RUNS
from synthetic_store import build_synthetic_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "screenshots" / "deadends"
SR = 16000
LOW, HIGH = 250.0, 2000.0
SECTION_S = 6.0
#: (viewport, browser locale): every admin flow runs once in each, on a song and a run of its own.
COMBOS = [((1440, 900), "en-GB"), ((390, 844), "en-GB"), ((1440, 900), "es-ES"), ((390, 844), "es-ES")]
#: "sectionist <a subcommand>" as a page would write it.
COMMAND = re.compile(r"sectionist (analyze|tracks|saliency|cluster|embed|repair|check|evaluate|segment|export|serve)\b")


def _name(viewport, locale, what):
    return f"{what}-{viewport[0]}x{viewport[1]}-{locale[:2]}.png"


def _shot(pg, viewport, locale, what):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / _name(viewport, locale, what)), full_page=True)


def _no_command(pg):
    text = pg.inner_text("body")
    assert not COMMAND.search(text), COMMAND.search(text).group(0)


def _tone_song(freqs, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECTION_S * SR)) / SR
    return np.concatenate([0.5 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))
                           for f in freqs]).astype(np.float32)


@pytest.fixture(scope="module")
def jobs_server(musicnn_cache, tmp_path_factory):
    """Five songs of alternating low and high tones, embedded with musicnn, clustered five times
    (k = 2…6): no sound tracks and no saliency maps yet."""
    import soundfile as sf

    from sectionist.analysis.embeddings.runner import embed_store
    from sectionist.analysis.modeling.cluster import cluster_store
    from sectionist.dashboard.app import create_app
    from sectionist.store import open_store

    root = tmp_path_factory.mktemp("dead-ends")
    store = open_store(root / "store")
    for i in range(5):
        freqs = (LOW, HIGH, LOW, HIGH) if i % 2 else (HIGH, LOW, HIGH, LOW)
        song_id = f"{i:016x}"
        wav = root / f"song{i}.wav"
        sf.write(str(wav), _tone_song(freqs, i), SR)
        starts = np.arange(len(freqs)) * SECTION_S
        store.write_part("sections", song_id, pd.DataFrame({
            "section_id": [f"{song_id}-{k:05d}" for k in range(len(freqs))], "song_id": song_id, "scheme": "fixed",
            "index": np.arange(len(freqs)), "start_s": starts, "end_s": starts + SECTION_S}))
        store.write_part("songs", song_id, pd.DataFrame([{"song_id": song_id, "uri": str(wav), "title": f"Tones {i}",
                                                           "duration_s": len(freqs) * SECTION_S, "embedders": ""}]))
    embed_store(store, "musicnn", batch_size=4, progress=False)
    runs = [cluster_store(store, "musicnn", "kmeans", k=k, explain=False, stability=False, project=False,
                          progress=False) for k in (2, 3, 4, 5, 6)]
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="e" * 40, jobs_dir=root / "jobs", check_interval=0.5)
    passwords = {"ada": make_user(db, "ada", "admin"), "vic": make_user(db, "vic", "viewer")}
    songs = [f"{i:016x}" for i in range(5)]
    with serve_in_thread(app.server) as url:
        yield {"url": url, "passwords": passwords, "songs": songs, "runs": runs, "store": store}


@pytest.mark.parametrize("viewport, locale", [COMBOS[0], COMBOS[3]])
def test_a_viewer_reads_that_an_admin_can_compute_them(jobs_server, viewport, locale):
    s = jobs_server
    with chromium_page(viewport=viewport, timeout_ms=60_000, locale=locale) as (pg, errors):
        login_page(pg, s["url"], "vic", s["passwords"]["vic"], next=f"/songs?song={s['songs'][4]}&view=sounds")
        box = pg.wait_for_selector("[data-job='tracks']")
        assert pg.locator("[data-job='tracks'] button").count() == 0
        want = "An admin can compute the sound tracks" if locale.startswith("en") else \
            "Un administrador puede calcular las pistas de sonido"
        assert want in box.inner_text()
        _no_command(pg)
        _shot(pg, viewport, locale, "sounds-viewer")
        pg.goto(f"{s['url']}/clusters?run={s['runs'][4]}")
        box = pg.wait_for_selector("[data-job='saliency']")
        assert pg.locator("[data-job='saliency'] button").count() == 0
        want = "An admin can compute it" if locale.startswith("en") else "Un administrador puede calcularlo"
        assert want in box.inner_text()
        _no_command(pg)
        box.scroll_into_view_if_needed()
        _shot(pg, viewport, locale, "saliency-viewer")
        assert not errors, errors


def _run_job(pg, kind, viewport, locale, what):
    """Click the box's button, see the progress, return when the box is gone."""
    button = pg.wait_for_selector(f"[data-job='{kind}'] button.btn")
    button.scroll_into_view_if_needed()
    _shot(pg, viewport, locale, f"{what}-admin")
    button.click()
    # progress while it runs (a bar and "Starting…" or "n of N"), the button disabled meanwhile
    pg.wait_for_selector(f"[data-job='{kind}'] .job-progress", timeout=30_000)
    assert pg.locator(f"[data-job='{kind}'] button.btn").is_disabled()
    text = pg.inner_text(f"[data-job='{kind}'] .job-status")
    assert re.search(r"Starting…|Empezando…|of \d+|de \d+", text), text
    _shot(pg, viewport, locale, f"{what}-running")
    pg.wait_for_selector(f"[data-job='{kind}']", state="detached", timeout=180_000)


# a laptop in English and a phone in Spanish: both sizes and both languages, two background jobs
# each (the other two combinations added ~1 min to the suite and nothing the other tests lack)
@pytest.mark.parametrize("i, viewport, locale", [(i, *COMBOS[i]) for i in (0, 3)])
def test_an_admin_computes_the_sound_tracks_and_the_saliency_map_from_the_page(jobs_server, i, viewport, locale):
    s = jobs_server
    with chromium_page(viewport=viewport, timeout_ms=60_000, locale=locale) as (pg, errors):
        login_page(pg, s["url"], "ada", s["passwords"]["ada"], next=f"/songs?song={s['songs'][i]}&view=sounds")
        _no_command(pg)
        t0 = time.monotonic()
        _run_job(pg, "tracks", viewport, locale, "sounds")
        # the view fills in: the song's sound tracks, drawn
        pg.wait_for_selector("#songs-timeline .barlayer .point path", timeout=30_000)
        tracks_s = time.monotonic() - t0
        _no_command(pg)
        _shot(pg, viewport, locale, "sounds-done")

        pg.goto(f"{s['url']}/clusters?run={s['runs'][i]}")
        t0 = time.monotonic()
        _run_job(pg, "saliency", viewport, locale, "saliency")
        heat = pg.wait_for_selector("#clusters-saliency .main-svg", timeout=30_000)
        saliency_s = time.monotonic() - t0
        heat.scroll_into_view_if_needed()
        _no_command(pg)
        _shot(pg, viewport, locale, "saliency-done")
        print(f"\n{viewport} {locale}: sound tracks {tracks_s:.1f} s, saliency {saliency_s:.1f} s from the click")
        assert not errors, errors
    from sectionist.store.schema import SALIENCY, SOUND_TRACKS

    assert s["songs"][i] in set(s["store"].read_table(SOUND_TRACKS)["song_id"])
    assert s["runs"][i] in set(s["store"].read_table(SALIENCY)["run_id"])


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.models import get_database

    root = tmp_path_factory.mktemp("dead-ends-compare")
    store = build_synthetic_store(root / "store", n_sections=80, sections_per_song=10, section_seconds=3.0,
                                  audio=True, audio_sr=8000, random_state=12)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="c" * 40, jobs_dir=root / "jobs")
    password = make_user(db, "ada", "admin")
    data = app.server.extensions["sectionist_data"]
    run = SYN_RUNS[0][0]
    label = data.run_arrays(run).label
    section = str(data.section_ids[int(np.flatnonzero(label >= 0)[0])])
    cluster = int(label[data.position(section)])
    record_cluster_name(get_database(db), get_user(get_database(db), "ada"), run_id=run, cluster=cluster,
                        name="Glassy pads")
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "run": run, "other": SYN_RUNS[1][0], "section": section,
               "cluster": cluster}


@pytest.mark.parametrize("viewport, locale", COMBOS)
def test_compare_says_how_the_runs_agree_and_the_slots_name_their_clusters(compare_server, viewport, locale):
    s = compare_server
    en = locale.startswith("en")
    with chromium_page(viewport=viewport, timeout_ms=60_000, locale=locale) as (pg, errors):
        login_page(pg, s["url"], "ada", s["password"], next=f"/compare?a={s['run']}&b={s['other']}")
        note = pg.wait_for_selector("#compare-table-note:not(:empty)")
        text = note.inner_text()
        assert text.startswith("Same cluster for " if en else "Mismo grupo en "), text
        assert not re.search(r"(\d+) of \1 sections match", text)
        pg.locator("#compare-only-disagree input").check()
        pg.wait_for_function("document.querySelector('#compare-table-note').innerText.includes(%r)"
                             % ("The filter keeps" if en else "El filtro deja"))
        _no_command(pg)
        _shot(pg, viewport, locale, "compare")
        # a DataTable never marks itself as updating: the table is dimmed while its note, an output of
        # the same callback, is loading (assets/loading.css), so its old rows never read as the new
        assert pg.evaluate("() => parseFloat(getComputedStyle(document.getElementById('compare-table')).opacity)") == 1
        pg.evaluate("() => document.getElementById('compare-table-note').setAttribute('data-dash-is-loading', 'true')")
        pg.wait_for_function("() => parseFloat(getComputedStyle(document.getElementById('compare-table')).opacity)"
                             " < 0.6", timeout=2_000)
        pg.evaluate("() => document.getElementById('compare-table-note').removeAttribute('data-dash-is-loading')")

        pg.goto(f"{s['url']}/map?section={s['section']}&run={s['run']}")
        slot_a = pg.wait_for_selector("button:has-text('%s A')" % ("Put in slot" if en else "Poner en la casilla"))
        slot_a.click()
        first = pg.wait_for_selector(".slot .chip")
        assert first.inner_text() == f"{s['cluster']}: Glassy pads"  # the experts' name, not "cluster N"
        pg.locator(".detail .list-row .btn-icon").first.click()  # a neighbour: select and play
        pg.wait_for_function("s => { const a = document.querySelector('.detail audio');"
                             " return a && a.dataset.section && a.dataset.section !== s; }", arg=s["section"])
        pg.click("button:has-text('%s B')" % ("Put in slot" if en else "Poner en la casilla"))
        pg.wait_for_function("document.querySelectorAll('.slot .chip').length === 2")
        chips = [c.inner_text() for c in pg.query_selector_all(".slot .chip")]
        # every chip names its cluster (an expert's name or the descriptive one), none says "cluster N"
        assert all(re.match(r"^\d+: \S", c) for c in chips), chips
        pg.query_selector(".slots").scroll_into_view_if_needed()
        _shot(pg, viewport, locale, "map-slots")
        assert not errors, errors
