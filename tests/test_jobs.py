"""Background jobs an admin starts from a page (sectionist.dashboard.jobs, ui/components/jobs.py): a real
``sectionist tracks`` subprocess with its progress, one job per kind at a time, a failure said in
words without commands, a job lost to a restart; the job box for an admin and for a viewer; the
start refused to a viewer through the real Dash endpoint; and no page tells anyone to run a
``sectionist`` command (issue #23, "Dead ends")."""

from __future__ import annotations

import json
import re
import time

import pytest
from synthetic_store import build_synthetic_store

from sectionist.dashboard.jobs import JobBusy, JobRunner, error_of, plain_reason, progress_of
from sectionist.store.schema import SOUND_TRACKS
from tests.auth_helpers import csrf_header, login, make_user


def _wait(runner, kind, timeout=240.0):
    seen = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        state = runner.state(kind)
        seen.append((state.status, state.done, state.total))
        if not state.running:
            return state, seen
        time.sleep(0.2)
    raise AssertionError(f"the {kind} job did not end in {timeout} s: {seen[-3:]}")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs")
    return build_synthetic_store(root / "store", n_sections=16, sections_per_song=8, section_seconds=2.0, audio=True,
                                 audio_sr=8000, random_state=5)


def test_progress_and_errors_read_from_the_command_output():
    out = ("sound tracks:   0%|          | 0/3 [00:00<?, ?song/s]\rsound tracks:  33%|███▎      | 1/3 "
           "[00:02<00:04, 2.1s/song]\r")
    assert progress_of(out) == (1, 3)
    assert progress_of("loading the model…\n") == (None, None)
    assert error_of("sound tracks: 1/1 [00:01]\nerror: --songs 'x': no song with this id or title in the store\n") \
        == "--songs 'x': no song with this id or title in the store"
    assert error_of("failed Song A (abc): /a.wav: cannot decode\nsound tracks: 1 songs written\n") \
        == "failed Song A (abc): /a.wav: cannot decode"
    # the pages name no commands: the hints of the analysis' messages go
    assert plain_reason("s3://b/x: the store has no songs (run 'sectionist analyze' first)") == \
        "s3://b/x: the store has no songs"
    assert plain_reason("s: no musicnn runs (runs on musicnn, vgg-msd); embed with 'sectionist embed' and cluster "
                        "first") == "s: no musicnn runs (runs on musicnn, vgg-msd)"


def test_a_tracks_job_runs_in_a_subprocess_reports_progress_and_bumps_the_store(store, tmp_path):
    songs = sorted(store.read_table("songs")["song_id"])
    version = store.read_manifest().get("version", 0)
    runner = JobRunner(store.uri, tmp_path / "jobs")
    assert runner.state("tracks").status == "idle"
    started = runner.start("tracks", {"songs": songs}, user="ada")
    assert started.running and started.user == "ada" and started.args == {"songs": songs}
    with pytest.raises(JobBusy):  # one job per store and kind at a time
        runner.start("tracks", {"songs": songs[:1]}, user="bob")
    # another kind is not held back by it (it fails at once here: the run does not exist)
    other = runner.start("saliency", {"run": "no-such-run"}, user="ada")
    state, seen = _wait(runner, "tracks")
    assert state.status == "done", (state, open(tmp_path / "jobs" / "tracks" / "output.log").read()[-2000:])
    assert (state.done, state.total) == (2, 2) and state.ended_at >= state.started_at
    assert any(s == ("running", None, None) or (s[0] == "running" and s[2] == 2) for s in seen)
    assert set(store.read_table(SOUND_TRACKS)["song_id"]) == set(songs)
    # the store has a new version: a running web app reloads and shows the tracks
    assert store.read_manifest().get("version", 0) > version
    # a second runner (another web worker) reads the same state from disk
    assert JobRunner(store.uri, tmp_path / "jobs").state("tracks").job_id == started.job_id
    failed, _ = _wait(runner, "saliency")
    assert other.job_id == failed.job_id and failed.status == "failed"
    assert "no-such-run" in failed.reason and "sectionist " not in failed.reason


def test_a_failed_job_says_why_and_a_lost_one_is_reported(store, tmp_path):
    runner = JobRunner(store.uri, tmp_path / "jobs")
    runner.start("tracks", {"songs": ["no-such-song"]}, user="ada")
    state, _ = _wait(runner, "tracks")
    assert state.status == "failed" and "no-such-song" in state.reason and "no song with this id" in state.reason
    # a job whose process ended unseen (the server restarted while it ran): lock free, no result
    (tmp_path / "jobs" / "tracks" / "result.json").unlink()
    assert runner.state("tracks").status == "lost"
    with pytest.raises(Exception, match="unknown job kind"):
        runner.start("rm -rf", {})


@pytest.fixture(scope="module")
def app_store(tmp_path_factory):
    """A store of its own for the app: no sound tracks, no saliency maps."""
    root = tmp_path_factory.mktemp("jobs-app-store")
    return build_synthetic_store(root / "store", n_sections=16, sections_per_song=8, section_seconds=2.0, audio=True,
                                 audio_sr=8000, random_state=6)


@pytest.fixture(scope="module")
def app(app_store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    store = app_store
    root = tmp_path_factory.mktemp("jobs-app")
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="j" * 40, jobs_dir=root / "jobs")
    app.db_url = db
    app.passwords = {"ada": make_user(db, "ada", "admin"), "vic": make_user(db, "vic", "viewer")}
    return app


def _render(app, who, fn, *args, path="/"):
    import plotly.io.json as pj
    from flask_login import login_user

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.models import get_database

    with app.server.test_request_context(path):
        login_user(get_user(get_database(app.db_url), who))
        return pj.to_json_plotly(fn(*args))


def test_the_job_box_offers_an_admin_a_button_and_tells_others_who_can(app):
    from sectionist.dashboard.pages import clusters
    from sectionist.dashboard.ui.components.jobs import sound_tracks_box

    data = app.server.extensions["sectionist_data"]
    songs = list(data.songs.index)
    run = data.runs.index[0]
    space = data.runs.loc[run, "space"]
    data.runs.loc[run, "space"] = "musicnn"  # a musicnn run without saliency maps
    try:
        for fn, args, path in ((sound_tracks_box, (data, "songs", songs), "/songs"),
                               (clusters.saliency_block, (data, run, 0), "/clusters")):
            admin = _render(app, "ada", fn, *args, path=path)
            viewer = _render(app, "vic", fn, *args, path=path)
            assert '"type":"job-start"' in admin.replace(" ", "") and "Compute " in admin
            assert "job-start" not in viewer and "An admin can compute" in viewer
            for out in (admin, viewer):
                assert "sectionist " not in out and "--store" not in out
    finally:
        data.runs.loc[run, "space"] = space


def _job_request(app, who, page, args, kind="tracks"):
    """The job box's callback as the page calls it when its button is clicked."""
    client = app.server.test_client()
    login(client, who, app.passwords[who])
    key = next(k for k in app.callback_map if f'"page":"{page}"' in k and "job-status" in k)
    target = {"type": "job-target", "page": page, "k": 0}
    body = {"output": key, "outputs": [
        [{"id": {"type": "job-status", "page": page, "k": 0}, "property": "children"}],
        [{"id": {"type": "job-poll", "page": page, "k": 0}, "property": "disabled"}],
        [{"id": {"type": "job-start", "page": page, "k": 0}, "property": "disabled"}],
        {"id": f"{page}-job-done", "property": "data"}],
        "inputs": [[{"id": {"type": "job-start", "page": page, "k": 0}, "property": "n_clicks", "value": 1}],
                   [{"id": {"type": "job-poll", "page": page, "k": 0}, "property": "n_intervals", "value": None}]],
        "state": [[{"id": target, "property": "data", "value": {"kind": kind, "args": args}}]],
        "changedPropIds": ['{"k":0,"page":"%s","type":"job-start"}.n_clicks' % page]}
    resp = client.post("/_dash-update-component", data=json.dumps(body),
                       headers={**csrf_header(client), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.data[:300]
    return resp.get_json()


def test_the_server_refuses_a_start_from_a_viewer_and_starts_one_for_an_admin(app, app_store):
    from sectionist.dashboard.jobs import JOBS_KEY

    runner = app.server.extensions[JOBS_KEY]
    song = sorted(app_store.read_table("songs")["song_id"])[0]
    out = json.dumps(_job_request(app, "vic", "songs", {"songs": [song]}))
    assert "Only an admin can start this." in out and runner.state("tracks").status == "idle"
    out = json.dumps(_job_request(app, "ada", "songs", {"songs": [song]}))
    assert runner.state("tracks").job_id, out
    state, _ = _wait(runner, "tracks")
    assert state.status == "done" and state.user == "ada"


#: Every subcommand of the command line, as a page would spell it.
def _commands() -> re.Pattern:
    from sectionist.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return re.compile(r"sectionist (%s)\b" % "|".join(map(re.escape, sub.choices)))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_page_tells_anyone_to_run_a_command(app, lang):
    """Every page's layout, the Sounds view without tracks (figure and job box), a musicnn run's
    saliency block without maps, the Compare table and a songs lane figure without runs, rendered
    for an admin and a viewer in English and Spanish: no ``sectionist <command>`` anywhere."""
    import dash
    import plotly.io.json as pj
    from flask_login import login_user

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.models import get_database
    from sectionist.dashboard.pages import clusters, compare, songs
    from sectionist.dashboard.ui.components.jobs import sound_tracks_box

    data = app.server.extensions["sectionist_data"]
    commands = _commands()
    run = data.runs.index[0]
    song_ids = list(data.songs.index)
    seen = []
    for who in ("ada", "vic"):
        with app.server.test_request_context("/", headers={"Accept-Language": lang}):
            login_user(get_user(get_database(app.db_url), who))
            parts = [p["layout"]() for p in dash.page_registry.values() if callable(p.get("layout"))
                     and p["path"] != "/lab"]
            parts.append(songs.sound_tracks_figure(data, song_ids))
            parts.append(sound_tracks_box(data, "songs", song_ids))
            parts.append(compare.table_page(data, run, data.runs.index[1])[2])
            space = data.runs.loc[run, "space"]
            data.runs.loc[run, "space"] = "musicnn"
            try:
                parts.append(clusters.cluster_body(data, run, int(data.run_arrays(run).clusters[0])))
            finally:
                data.runs.loc[run, "space"] = space
            text = pj.to_json_plotly(parts)
        seen.append(text)
        found = sorted(set(m.group(0) for m in commands.finditer(text)))
        assert not found, f"{who} ({lang}) is told to run {found}"
    # the check can fail: the old sentences would be caught
    assert commands.search("No sound tracks for these songs yet: run 'sectionist tracks --store …'")
    assert commands.search("Not computed for this run yet: sectionist saliency --store STORE --run x")
    if lang == "es":
        assert any("Aún no hay pistas de sonido" in t or "aún no tiene" in t for t in seen)


def test_a_failed_job_is_said_in_words_in_its_box_and_only_there(app, tmp_path):
    """The box of the songs a job failed for says why (no command in it), in the reader's language;
    the box of other songs does not; a new start is offered again."""
    import plotly.io.json as pj
    from flask_login import login_user

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.jobs import JOBS_KEY
    from sectionist.dashboard.models import get_database
    from sectionist.dashboard.ui.components.jobs import job_box

    runner = app.server.extensions[JOBS_KEY]
    args = {"songs": ["not-a-song"]}
    runner.start("tracks", args, user="ada")
    state, _ = _wait(runner, "tracks")
    assert state.status == "failed"
    out = _render(app, "ada", job_box, "songs", "tracks", args, "missing", path="/songs")
    assert "The computation failed: " in out and "not-a-song" in out and "sectionist " not in out
    assert '"disabled":false' in out.replace(" ", "")  # the button is there to try again
    other = _render(app, "ada", job_box, "songs", "tracks", {"songs": ["another"]}, "missing", path="/songs")
    assert "The computation failed" not in other
    with app.server.test_request_context("/songs", headers={"Accept-Language": "es"}):
        login_user(get_user(get_database(app.db_url), "vic"))
        spanish = pj.to_json_plotly(job_box("songs", "tracks", args, "falta"))
    assert "El cálculo falló: " in spanish and "Un administrador puede calcular" in spanish
