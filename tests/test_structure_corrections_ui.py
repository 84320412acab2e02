"""The Songs page's "Correct this structure" panel (issue #22; ui/components/corrections.py), its
callbacks' functions called as plain functions on a small real store: who sees it, what clicks
pick and how the picks read, the payload sent, refusals in plain words, and a real recompute job
(``sectionist segment`` in a subprocess) whose new version the lanes then show, the old one kept."""

from __future__ import annotations

import time

import pytest
from auth_helpers import make_user
from songs_store import MERGED_LABELS, build_songs_store
from songs_store import find_component as _find


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("corrections-ui")
    store, _k3 = build_songs_store(root / "store", n_songs=2, sections_per_song=8, audio=True)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="c" * 40, jobs_dir=root / "jobs")
    make_user(db, "ada", "expert")
    make_user(db, "vic", "viewer")
    app.db_url, app.store = db, store
    return app


@pytest.fixture
def as_user(app):
    """``as_user(name)``: a request to /songs logged in as ``name`` (a context manager)."""
    import contextlib

    from flask_login import login_user

    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.models import get_database

    @contextlib.contextmanager
    def enter(name, lang="en"):
        with app.server.test_request_context("/songs", headers={"Accept-Language": lang}):
            login_user(accounts.get_user(get_database(app.db_url), name))
            yield
    return enter


@pytest.fixture
def data(app):
    return app.server.extensions["sectionist_data"]


def _state(c, data, song, picks, trigger, *, scheme="merged", kind="same", click=None, view="lanes", compare=None):
    from sectionist.dashboard.ui import ids

    return c.panel_state(data, song=song, compare=compare or [], view=view, scheme=scheme, kind=kind, click=click,
                         trigger=trigger, picks=picks, done_id=ids.job_done("songs"))


def test_experts_get_the_panel_and_viewers_none(app, data, as_user):
    from sectionist.dashboard.pages import songs
    from sectionist.dashboard.ui import ids
    from sectionist.dashboard.ui.components import corrections as c

    song = data.songs.index[0]
    with as_user("vic"):
        assert c.correction_panel(data, song) is None
        assert _find(songs.layout(song=song), ids.SONGS_CORRECT) is None
    with as_user("ada"):
        panel = _find(songs.layout(song=song), ids.SONGS_CORRECT)
        assert panel is not None and panel.hidden is False
        assert [o["label"] for o in _find(panel, ids.SONGS_CORRECT_SCHEME).options] == [
            "structure · repeats", "structure · merged"]
        assert _find(songs.layout(song=song, view="tracks"), ids.SONGS_CORRECT).hidden is True
        # comparing several songs or another view: the panel hides
        assert _state(c, data, song, None, ids.SONGS_COMPARE, compare=[data.songs.index[1]])["hidden"]
        assert _state(c, data, song, None, ids.SONGS_VIEW, view="sounds")["hidden"]
    with as_user("ada", "es"):
        panel = c.correction_panel(data, song)
        assert _find(panel, ids.SONGS_CORRECT_SEND).children == "Enviar la corrección"
        assert [o["label"] for o in _find(panel, ids.SONGS_CORRECT_KIND).options][0] == "misma parte"


def test_the_lab_has_the_same_panel_with_the_versions_as_lanes(app, data, as_user):
    from dash import html

    from sectionist.dashboard.pages import lab
    from sectionist.dashboard.ui import ids
    from sectionist.dashboard.ui.components import corrections as c

    song = data.songs.index[0]
    with as_user("vic"):
        assert _find(lab.layout(song=song), ids.LAB_CORRECT) is None
    with as_user("ada"):
        page = lab.layout(song=song)
        assert _find(page, ids.LAB_CORRECT) is not None and _find(page, ids.job_done("lab")) is not None
        # the Lab draws the chosen structure's versions as lanes even when it has one, in a graph to click
        s = c.panel_state(data, song=song, scheme="merged", kind="split", click=None, trigger=ids.LAB_CORRECT_SCHEME,
                          picks=None, panel=c.LAB)
        lanes = _find(html.Div(s["versions"]), ids.LAB_CORRECT_LANES)
        assert list(lanes.figure.layout.yaxis.ticktext) == ["merged v1"]
        assert lanes.config.get("displayModeBar") is False
        # a click on the Lab's lanes (its own click store) picks, as on the Songs page
        step = float(data.songs.loc[song, "duration_s"]) / len(MERGED_LABELS)
        s = c.panel_state(data, song=song, scheme="merged", kind="split", click={"time": 2.5 * step, "n": 1},
                          trigger=ids.LAB_CORRECT_CLICK, picks=c.empty_picks(song, "merged", "split"), panel=c.LAB)
        assert s["ready"] and s["words"].startswith("Split segment 3 (")
        # the Songs page's click store does not pick on the Lab
        s = c.panel_state(data, song=song, scheme="merged", kind="split", click={"time": 2.5 * step, "n": 2},
                          trigger=ids.SONGS_CORRECT_CLICK, picks=c.empty_picks(song, "merged", "split"), panel=c.LAB)
        assert not s["ready"]


def test_clicks_pick_segments_and_read_in_words(app, data, as_user):
    from sectionist.dashboard.ui import ids
    from sectionist.dashboard.ui.components import corrections as c

    song = data.songs.index[0]
    duration = float(data.songs.loc[song, "duration_s"])
    step = duration / len(MERGED_LABELS)  # merged: A A B C B, equal segments
    click = ids.SONGS_CORRECT_CLICK
    with as_user("ada"):
        # a click on the merged lane picks that structure, even when repeats was chosen
        s = _state(c, data, song, None, click, scheme="repeats", kind="different",
                   click={"time": 0.5 * step, "lane": "structure · merged"})
        assert s["scheme"] == "merged" and s["picks"]["times"] == [round(0.5 * step, 2)] and not s["ready"]
        assert "now click the other segment" in s["words"]
        s = _state(c, data, song, s["picks"], click, kind="different", click={"time": 2.5 * step, "lane": "truth"})
        t = c.fmt_time
        assert s["ready"] and s["words"] == (
            f"Segment 1 (0:00.0–{t(step)}, part A) and segment 3 ({t(2 * step)}–{t(3 * step)}, part B) "
            "are different parts.")
        payload = c.payload_of(data, s["picks"], "x1")
        assert payload == {"song_id": song, "scheme": "merged", "kind": "different", "client_id": "x1",
                           "time_a": round(0.5 * step, 3), "time_b": round(2.5 * step, 3)}
        # a third click starts over; two clicks in one segment are not sent
        s = _state(c, data, song, s["picks"], click, kind="different", click={"time": 3.2 * step, "lane": None})
        s = _state(c, data, song, s["picks"], click, kind="different", click={"time": 3.7 * step, "lane": None})
        assert not s["ready"] and "click two different segments" in s["words"]
        # another kind starts over; "move a boundary": the boundary nearest the first click, then where
        s = _state(c, data, song, s["picks"], ids.SONGS_CORRECT_KIND, kind="boundary")
        assert s["picks"]["times"] == [] and s["words"] == "Click the boundary to move."
        s = _state(c, data, song, s["picks"], click, kind="boundary", click={"time": step - 0.4, "lane": None})
        s = _state(c, data, song, s["picks"], click, kind="boundary", click={"time": step + 1.0, "lane": None})
        assert s["ready"] and s["words"] == (f"Move the boundary at {t(step)} (between segments 1 and 2) "
                                             f"to {t(step + 1.0)}.")
        assert c.payload_of(data, s["picks"], "x2")["time_a"] == round(step, 3)
        s = _state(c, data, song, s["picks"], click, kind="split", click={"time": 4.2 * step, "lane": None})
        assert s["ready"] and s["words"].startswith("Split segment 5 (")
        assert _state(c, data, song, s["picks"], ids.SONGS_CORRECT_CLEAR, kind="split")["picks"]["times"] == []
        # a second click before the answer to the first came back (that answer dropped): the browser
        # sends the first along, and it is added once
        first, second = {"time": 0.5 * step, "n": 100}, {"time": 2.5 * step, "lane": None, "n": 101}
        s = _state(c, data, song, None, click, kind="same", click={**second, "recent": [first]})
        assert s["picks"]["times"] == [round(0.5 * step, 2), round(2.5 * step, 2)] and s["ready"]
        s = _state(c, data, song, s["picks"], click, kind="same",
                   click={"time": 3.5 * step, "n": 102, "recent": [{"time": 2.5 * step, "n": 101}]})
        assert s["picks"]["times"] == [round(3.5 * step, 2)]
    with as_user("ada", "es"):
        s = _state(c, data, song, {**s["picks"], "kind": "same", "times": [1.0, 2.5 * step]}, ids.SONGS_CORRECT_KIND)
        assert s["words"].endswith("son la misma parte.") and "parte A" in s["words"]


def _wait_job(app, timeout=120.0):
    from sectionist.dashboard.jobs import JOBS_KEY

    runner = app.server.extensions[JOBS_KEY]
    t0 = time.monotonic()
    while runner.state("structure").running:
        assert time.monotonic() - t0 < timeout, "the structure job did not end"
        time.sleep(0.2)
    return runner.state("structure")


@pytest.mark.slow
def test_send_refusals_and_a_real_recompute(app, data, as_user):
    from sectionist.analysis.structure.versions import read_version, song_versions
    from sectionist.dashboard.auth.context import get_db
    from sectionist.dashboard.judging.structure_routes import current_corrections
    from sectionist.dashboard.pages import songs
    from sectionist.dashboard.ui.components import corrections as c

    song, other = data.songs.index[:2]
    step = float(data.songs.loc[song, "duration_s"]) / len(MERGED_LABELS)
    v1 = read_version(app.store, song, "merged", 1)
    with as_user("ada"):
        # split the first A of merged in two; while it is recomputed, a correction of the other song waits
        status, job = c.send(data, {"song_id": song, "scheme": "merged", "kind": "split", "times": [0.5 * step]})
        assert job is not None and not job["waiting"], status
        tie = {"song_id": other, "scheme": "merged", "kind": "same", "times": [0.25 * step, 2.5 * step]}
        busy_status, waiting = c.send(data, tie)
        assert waiting["waiting"] and "this one starts when it ends" in busy_status[1].children
        # refusals in plain words, nothing recorded: the recorded tie contradicted, two times of one segment
        status, refused = c.send(data, {**tie, "kind": "different"})
        assert refused is None and "contradicts an earlier correction" in status[0].children
        status, refused = c.send(data, {**tie, "kind": "different", "times": [0.1, 0.2]})
        assert refused is None and status[0].children.startswith("Both times are in one segment")
        state = _wait_job(app)
        assert state.status == "done"
        status, left, done = c.poll(data, job)
        assert left is None and done == {"job_id": state.job_id, "kind": "structure"}
        assert status[0].children == "Done: the lanes show structure · merged v2."
        # polled only after another expert's recompute had started: the song's newer version says it ended
        _status, left, done = c.poll(data, {**job, "job_id": "someone-else"})
        assert left is None and done is not None and job["before"] == 1
        status, left, done = c.poll(data, {**job, "job_id": "someone-else", "before": 2})
        assert left is None and done is None and "stopped before it finished" in status[0].children
        # the lanes name the new version; the older one stays readable in the store and in the panel
        lanes = [lane.name for lane in songs.segment_lanes(data, song)]
        assert lanes == ["structure · repeats", "structure · merged v2"]
        assert song_versions(app.store, song, "merged") == [1, 2]
        assert read_version(app.store, song, "merged", 1).equals(v1)
        fig = c.versions_view(data, song, "merged")[1].figure
        assert [n.replace("<br>", " ") for n in fig.layout.yaxis.ticktext] == ["merged v1", "merged v2"]
        assert any(abs(float(b) - 0.5 * step) < 0.05 for t in fig.data if t.meta[0] == "merged v2" for b in t.base)
        assert not any(abs(float(b) - 0.5 * step) < 0.05 for t in fig.data if t.meta[0] == "merged v1" for b in t.base)
        # the waiting correction is sent again (its client_id: recorded once) and gets its own recompute
        status, waiting, done = c.poll(data, waiting)
        assert waiting is not None and not waiting["waiting"] and done is None
        assert _wait_job(app).status == "done"
        _status, left, done = c.poll(data, waiting)
        assert left is None and done is not None and song_versions(app.store, other, "merged") == [1, 2]
        assert len(current_corrections(get_db(), other, "merged")) == 1
        seg = c.structure_segments(data, other, "merged")
        assert seg["part"].iloc[c.segment_at(seg, 0.25 * step)] == seg["part"].iloc[c.segment_at(seg, 2.5 * step)]
    with as_user("ada", "es"):
        status, job = c.send(data, {**tie, "kind": "different"})
        assert job is None and "contradice una corrección anterior" in status[0].children
    with as_user("vic"):
        status, job = c.send(data, tie)
        assert job is None and "Only experts and admins" in status[0].children
