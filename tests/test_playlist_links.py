"""Playlists that play outside the browser (issue 23): signed, expiring, revocable section links.

The VLC test starts the real app under gunicorn (``sectionist.dashboard.app:server``, configured by
the environment as a deployment is, with a short ``SECTIONIST_PLAYLIST_TTL``), downloads a cluster's
playlist through the Clusters page's download callback as a logged-in user, and fetches every track
URL with ``curl`` and no cookie, as VLC does: 200 and the section's WAV for the playlist's sections
(a ranged GET answered 206, ffmpeg's HTTP reader decodes the section's length),
403 for another section with the same token, 403 once revoked, 403 once expired. The other tests use
the Flask test client: who may revoke, the ``/playlists`` page, the corpus-path playlist; and a link's
life (scope, revocation, expiry, the issuer's password change or removal) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from auth_helpers import csrf_header, login, login_session, make_user
from pg import free_port
from synthetic_store import RUNS, build_synthetic_store

from sectionist.analysis.export.playlist import VLC_APP, VLC_NS, XSPF_NS
from sectionist.dashboard.ui import ids
from sectionist.store.schema import CLUSTERINGS, SECTIONS

RUN = RUNS[0][0]
TTL = 8  # seconds a playlist link plays in the live test (the app's setting)
SECRET = "playlist-test-secret-" + "k" * 32
NS = {"x": XSPF_NS, "vlc": VLC_NS}
HOSTILE = '=cmd|" <Breakdown> & co'


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("playlists")
    return build_synthetic_store(root / "corpus" / "store", n_sections=24, sections_per_song=8, section_seconds=3.0,
                                 audio=True, random_state=3)


def _cluster(store):
    lab = store.read_part(CLUSTERINGS, RUN)
    counts = lab.loc[lab["label"] >= 0, "label"].value_counts()
    cluster = int(counts.index[0])
    members = set(lab.loc[lab["label"] == cluster, "section_id"])
    return cluster, members, sorted(set(lab["section_id"]) - members)


def _name_cluster(db_url, cluster):
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.models import get_database

    db = get_database(db_url)
    record_cluster_name(db, get_user(db, "ada"), run_id=RUN, cluster=cluster, name=HOSTILE)


def _download_body(cluster, *, links="xspf", queue="all", clicks=1):
    """The Clusters page's download callback, as the browser posts it for "Download playlist"."""
    return {"output": f"{ids.CLUSTERS_DOWNLOAD}.data",
            "outputs": {"id": ids.CLUSTERS_DOWNLOAD, "property": "data"},
            "inputs": [{"id": ids.CLUSTERS_EXPORT_RUN, "property": "n_clicks", "value": None},
                       {"id": ids.CLUSTERS_EXPORT_PLAYLIST, "property": "n_clicks", "value": clicks}],
            "state": [{"id": ids.CLUSTERS_RUN, "property": "value", "value": RUN},
                      {"id": ids.CLUSTERS_CLUSTER, "property": "value", "value": cluster},
                      {"id": ids.CLUSTERS_EXPORT_KIND, "property": "value", "value": "reaper"},
                      {"id": ids.CLUSTERS_EXPORT_QUEUE, "property": "value", "value": queue},
                      {"id": ids.CLUSTERS_EXPORT_LINKS, "property": "value", "value": links}],
            "changedPropIds": [f"{ids.CLUSTERS_EXPORT_PLAYLIST}.n_clicks"]}


def _playlist_of(answer: dict) -> tuple[str, bytes]:
    sent = answer["response"][ids.CLUSTERS_DOWNLOAD]["data"]
    payload = base64.b64decode(sent["content"]) if sent.get("base64") else sent["content"].encode()
    return sent["filename"], payload


def _tracks(payload: bytes) -> list[dict]:
    out = []
    for t in ET.fromstring(payload).findall("x:trackList/x:track", NS):
        opts = dict(o.text.split("=", 1) for o in t.findall("x:extension/vlc:option", NS))
        out.append({"location": t.find("x:location", NS).text, "title": t.find("x:title", NS).text,
                    "creator": t.find("x:creator", NS).text, "options": opts,
                    "annotation": t.find("x:annotation", NS).text})
    return out


def curl(url: str, out: Path, *options: str) -> tuple[int, str]:
    """GET ``url`` as VLC does: no cookie, no session; the status and Content-Type."""
    res = subprocess.run(["curl", "-sS", *options, "-o", str(out), "-w", "%{http_code} %{content_type}",
                          "--max-time", "60", url], capture_output=True, text=True, check=True)
    code, _, ctype = res.stdout.partition(" ")
    return int(code), ctype


# ---- the live server ----------------------------------------------------------------------------------
@pytest.fixture
def live(tmp_path, store):
    from sectionist.dashboard.models import sqlite_url

    db_url = sqlite_url(tmp_path / "users.sqlite")
    passwords = {"ada": make_user(db_url, "ada", "expert"), "bo": make_user(db_url, "bo", "expert")}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTIONIST_")}
    env.update(SECTIONIST_STORE=str(store.root), SECTIONIST_DB_URL=db_url, SECRET_KEY=SECRET,
               SECTIONIST_PLAYLIST_TTL=str(TTL), SECTIONIST_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1")
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--workers", "1", "--threads", "4", "--worker-class", "gthread",
                             "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--access-logfile", str(tmp_path / "access.log"),
                             "sectionist.dashboard.app:server"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:])
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        yield base, db_url, passwords
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_vlc_plays_a_downloaded_playlist_without_a_login_until_revoked_or_expired(live, store, tmp_path):
    base, db_url, passwords = live
    cluster, members, outsiders = _cluster(store)
    _name_cluster(db_url, cluster)
    web = requests.Session()
    csrf = login_session(web, base, "ada", passwords["ada"])
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}

    answer = web.post(f"{base}/_dash-update-component", data=json.dumps(_download_body(cluster)), headers=headers,
                      timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    issued = time.monotonic()
    filename, payload = _playlist_of(answer.json())
    assert filename.endswith(".xspf")
    tracks = _tracks(payload)
    assert {urlsplit(t["location"]).path.rsplit("/", 1)[1].removesuffix(".wav") for t in tracks} == members
    # the expert's name, escaped as XML, in every track
    assert b"<Breakdown>" not in payload and all(t["creator"] == HOSTILE for t in tracks)
    assert all(t["title"].endswith(HOSTILE) for t in tracks)
    assert all(t["options"]["start-time"] == "0.000" for t in tracks)
    tokens = {parse_qs(urlsplit(t["location"]).query)["token"][0] for t in tracks}
    assert len(tokens) == 1
    token = tokens.pop()

    # VLC: every track, no cookie -> the section's WAV
    for i, t in enumerate(tracks):
        code, ctype = curl(t["location"], tmp_path / f"t{i}.wav")
        body = (tmp_path / f"t{i}.wav").read_bytes()
        assert (code, ctype) == (200, "audio/wav"), (t["location"], code, body[:200])
        assert body[:4] == b"RIFF" and body[8:12] == b"WAVE" and len(body) > 3 * 8000  # 3 s at 8 kHz
    # a player reads it as VLC does: ranged (VLC asks for "bytes=0-" and seeks by ranges), and ffmpeg's
    # HTTP demuxer, with no cookie, decodes the section's 3 s
    assert curl(tracks[0]["location"], tmp_path / "r.wav", "-r", "0-99")[0] == 206
    assert (tmp_path / "r.wav").read_bytes() == (tmp_path / "t0.wav").read_bytes()[:100]
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            tracks[0]["location"]], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert float(probe.stdout) == pytest.approx(3.0, abs=0.05)
    # the same token for a section outside the playlist, a forged token, no token
    sid = outsiders[0]
    assert curl(f"{base}/audio/{sid}.wav?token={token}", tmp_path / "x")[0] == 403
    assert curl(f"{base}/audio/{sid}.ogg?token={token}", tmp_path / "x")[0] == 403
    assert curl(tracks[0]["location"][:-3] + "xyz", tmp_path / "x")[0] == 403
    assert curl(tracks[0]["location"].split("?")[0], tmp_path / "x")[0] == 401
    assert curl(f"{base}/api/judgements?token={token}", tmp_path / "x")[0] == 401  # only the audio route

    # a second playlist, revoked on the /playlists page: it stops, the first one plays on
    second = web.post(f"{base}/_dash-update-component", data=json.dumps(_download_body(cluster, clicks=2)),
                      headers=headers, timeout=60)
    other = _tracks(_playlist_of(second.json())[1])
    links = web.get(f"{base}/playlists?format=json", timeout=30).json()["links"]
    assert [ln["status"] for ln in links] == ["active", "active"] and links[0]["sections"] == len(members)
    # another expert may not revoke it
    bo = requests.Session()
    bo_csrf = login_session(bo, base, "bo", passwords["bo"])
    assert bo.get(f"{base}/playlists?format=json", timeout=30).json()["links"] == []
    refused = bo.post(f"{base}/playlists", data={"link": links[0]["id"], "csrf_token": bo_csrf},
                      headers={"X-CSRFToken": bo_csrf}, timeout=30)
    assert refused.status_code == 403
    assert curl(other[0]["location"], tmp_path / "o.wav")[0] == 200
    done = web.post(f"{base}/playlists", data={"link": links[0]["id"]}, headers={"X-CSRFToken": csrf}, timeout=30)
    assert done.status_code == 200 and "Revoked" in done.text
    assert curl(other[0]["location"], tmp_path / "o.wav")[0] == 403
    assert curl(tracks[0]["location"], tmp_path / "t.wav")[0] == 200
    assert time.monotonic() - issued < TTL, "the machine was too slow to check the links before they expired"

    # after the app's lifetime the first playlist's links stop too
    time.sleep(max(0.0, issued + TTL + 1.5 - time.monotonic()))
    for t in tracks[:3]:
        code, _ = curl(t["location"], tmp_path / "late.wav")
        assert code == 403
    statuses = {ln["id"]: ln["status"] for ln in web.get(f"{base}/playlists?format=json", timeout=30).json()["links"]}
    assert sorted(statuses.values()) == ["expired", "revoked"]
    # gunicorn's access log lists every track request, never a token that plays
    access = (tmp_path / "access.log").read_text()
    second_token = parse_qs(urlsplit(other[0]["location"]).query)["token"][0]
    assert token not in access and second_token not in access
    played = urlsplit(tracks[0]["location"]).path
    assert f"{played}?token=[redacted]" in access and access.count("token=[redacted]") >= len(tracks) + 8


def test_the_development_servers_request_log_holds_no_token(app, caplog):
    import logging

    token = "eyJsaW5rIjoiYWJjIn0.Zz-9_x.s1gn4ture"
    with caplog.at_level(logging.INFO, logger="werkzeug"):  # as werkzeug's request handler logs a request
        logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "127.0.0.1", "07/Dec/2026 12:00:00",
                                           f"GET /audio/abc.wav?token={token}&x=1 HTTP/1.1", "200", "-")
    assert token not in caplog.text and "GET /audio/abc.wav?token=[redacted]&x=1 HTTP/1.1" in caplog.text


# ---- the Flask test client ---------------------------------------------------------------------------
@pytest.fixture
def app(tmp_path, store):
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.models import sqlite_url

    db_url = sqlite_url(tmp_path / "users.sqlite")
    a = create_app(store.uri, db_url=db_url, secret_key=SECRET, auth_options={"playlist_ttl": 3600})
    a.db_url = db_url
    return a


def _download(client, cluster, **kw):
    resp = client.post("/_dash-update-component", json=_download_body(cluster, **kw), headers=csrf_header(client))
    assert resp.status_code == 200, resp.data[:300]
    return _playlist_of(resp.get_json())


def test_an_admin_revokes_anyones_link_and_a_password_change_ends_them(app, store):
    from sectionist.dashboard.auth.accounts import set_password
    from sectionist.dashboard.auth.context import get_db

    cluster, members, _outsiders = _cluster(store)
    ada, root = app.server.test_client(), app.server.test_client()
    login(ada, "ada", make_user(app.db_url, "ada", "viewer"))  # a viewer may listen, so may download
    login(root, "root", make_user(app.db_url, "root", "admin"))
    urls = [t["location"] for t in _tracks(_download(ada, cluster)[1])]
    later = [t["location"] for t in _tracks(_download(ada, cluster, clicks=2)[1])]
    anonymous = app.server.test_client()
    path = lambda u: u.split("localhost", 1)[1]  # noqa: E731 - the test client's base URL is http://localhost
    resp = anonymous.get(path(urls[0]))
    assert resp.status_code == 200 and resp.data[:4] == b"RIFF"
    assert resp.headers["Cache-Control"] == "no-store"
    listed = root.get("/playlists?format=json").get_json()["links"]
    assert {ln["username"] for ln in listed} == {"ada"} and len(listed) == 2
    page = root.get("/playlists")
    assert page.status_code == 200 and b"ada" in page.data and b"revoke" in page.data
    first = listed[-1]["id"]  # newest first: the first download is the last row
    assert root.post("/playlists", data={"link": first}, headers=csrf_header(root)).status_code == 200
    assert anonymous.get(path(urls[0])).status_code == 403
    assert anonymous.get(path(later[0])).status_code == 200
    assert root.post("/playlists", data={"link": "nope"}, headers=csrf_header(root)).status_code == 400
    with app.server.app_context():
        set_password(get_db(), "ada")  # a new password ends every link ada issued
    assert anonymous.get(path(later[0])).status_code == 403
    statuses = {ln["status"] for ln in root.get("/playlists?format=json").get_json()["links"]}
    assert statuses == {"revoked", "ended"}


def test_the_corpus_playlist_points_at_the_songs_with_start_and_stop(app, store):
    cluster, members, _outsiders = _cluster(store)
    client = app.server.test_client()
    login(client, "ada", make_user(app.db_url, "ada", "expert"))
    _name, payload = _download(client, cluster, links="xspf-local")
    root = ET.fromstring(payload)
    assert all(e.get("application") == VLC_APP for e in root.iter(f"{{{XSPF_NS}}}extension"))
    secs = store.read_table(SECTIONS).set_index("section_id")
    songs = store.read_table("songs").set_index("song_id")
    corpus = Path(os.path.commonpath([str(Path(u).parent) for u in songs["uri"]]))
    tracks = _tracks(payload)
    assert len(tracks) == len(members)
    for t in tracks:
        sid = t["annotation"].split(";")[0]
        song = Path(songs.loc[secs.loc[sid, "song_id"], "uri"])
        assert t["location"] == song.relative_to(corpus).as_posix()  # relative: no server path
        assert float(t["options"]["start-time"]) == pytest.approx(secs.loc[sid, "start_s"], abs=1e-3)
        assert float(t["options"]["stop-time"]) == pytest.approx(secs.loc[sid, "end_s"], abs=1e-3)
    assert str(corpus).encode() not in payload and b"token=" not in payload
    assert client.get("/playlists?format=json").get_json()["links"] == []  # no link issued for it


def test_a_token_of_another_app_or_salt_is_refused(app, store):
    from itsdangerous import URLSafeTimedSerializer

    from sectionist.dashboard.auth.links import SALT

    cluster, members, _outsiders = _cluster(store)
    client = app.server.test_client()
    login(client, "ada", make_user(app.db_url, "ada", "expert"))
    url = _tracks(_download(client, cluster)[1])[0]["location"]
    link = client.get("/playlists?format=json").get_json()["links"][0]["id"]
    anonymous = app.server.test_client()
    sid = urlsplit(url).path.rsplit("/", 1)[1]
    for forged in (URLSafeTimedSerializer("another-secret-key-" + "x" * 30, salt=SALT).dumps({"link": link}),
                   URLSafeTimedSerializer(SECRET, salt="itsdangerous").dumps({"link": link})):
        assert anonymous.get(f"/audio/{sid}?token={forged}").status_code == 403
    assert anonymous.get(f"/audio/{sid}?{urlsplit(url).query}").status_code == 200


def test_links_long_expired_are_deleted_with_their_sections(tmp_path):
    from datetime import timedelta

    from sqlalchemy import func, select

    from sectionist.dashboard.auth.accounts import create_user, get_user
    from sectionist.dashboard.auth.links import KEEP_EXPIRED, issue_link, link_allows
    from sectionist.dashboard.models import Database, PlaylistLink, PlaylistLinkSection, sqlite_url, utcnow

    db = Database(sqlite_url(tmp_path / "u.sqlite"))
    create_user(db, "ada", "viewer")
    ada = get_user(db, "ada")
    issue_link(db, ada, ["a", "b"], ttl=60, title="old", secret_key=SECRET)
    issue_link(db, ada, ["c"], ttl=60, title="recent", secret_key=SECRET)
    with db.write() as s:
        old, recent = sorted(s.scalars(select(PlaylistLink)), key=lambda ln: ln.title)
        old.expires_at = utcnow() - KEEP_EXPIRED - timedelta(hours=1)
        recent.expires_at = utcnow() - timedelta(days=1)  # expired, still listed
        old_id, recent_id = old.id, recent.id
    assert not link_allows(db, recent_id, "c")
    issue_link(db, ada, ["d"], ttl=60, title="new", secret_key=SECRET)
    with db.read() as s:
        assert {ln.title for ln in s.scalars(select(PlaylistLink))} == {"recent", "new"}
        assert s.scalar(select(func.count()).select_from(PlaylistLinkSection)
                        .where(PlaylistLinkSection.link_id == old_id)) == 0
        assert s.get(PlaylistLinkSection, (recent_id, "c")) is not None
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def link_db(request, tmp_path):
    """An empty judgement database, SQLite or PostgreSQL (timestamps come back naive from one, aware
    from the other: expiry must read the same)."""
    from sectionist.dashboard.models import Database, sqlite_url

    if request.param == "sqlite":
        db = Database(sqlite_url(tmp_path / "links.sqlite"))
    else:
        db = Database(request.getfixturevalue("pg_server").create_database(f"links_{os.getpid()}_{free_port()}"))
    yield db
    db.dispose()


def test_a_links_scope_expiry_revocation_and_end_on_either_database(link_db):
    from datetime import timedelta

    from sectionist.dashboard.auth.accounts import create_user, get_user, remove_user, set_password
    from sectionist.dashboard.auth.links import issue_link, link_allows, link_of_token, list_links, revoke_link
    from sectionist.analysis.errors import ParameterError
    from sectionist.dashboard.models import PermissionDenied, PlaylistLink, utcnow

    db = link_db
    for name, role in (("ada", "viewer"), ("bo", "expert"), ("root", "admin")):
        create_user(db, name, role)
    ada, bo, root = (get_user(db, n) for n in ("ada", "bo", "root"))
    tokens = {}
    for title in ("kept", "revoked", "expired", "ended"):
        user = bo if title == "ended" else ada
        tokens[title], expires = issue_link(db, user, ["s1", "s2", "s1"], ttl=3600, title=title, secret_key=SECRET)
        assert timedelta(seconds=3590) < expires - utcnow() <= timedelta(seconds=3600)
    links = {t: link_of_token(tok, secret_key=SECRET, max_age=3600) for t, tok in tokens.items()}
    assert all(links.values()) and len(set(links.values())) == 4
    assert link_of_token(tokens["kept"], secret_key=SECRET + "x", max_age=3600) is None
    assert link_of_token(tokens["kept"][:-2], secret_key=SECRET, max_age=3600) is None
    # scope: exactly the playlist's sections (s1 listed twice is one row)
    assert link_allows(db, links["kept"], "s1") and link_allows(db, links["kept"], "s2")
    assert not link_allows(db, links["kept"], "s3") and not link_allows(db, "no-such-link", "s1")
    # revocation: the issuer or an admin, not another user, once
    with pytest.raises(PermissionDenied):
        revoke_link(db, bo, links["revoked"])
    assert revoke_link(db, ada, links["revoked"]) and not revoke_link(db, root, links["revoked"])
    with pytest.raises(ParameterError, match="nope"):
        revoke_link(db, ada, "nope")
    # expiry, as stored by the database (naive in SQLite, aware in PostgreSQL)
    with db.write() as s:
        s.get(PlaylistLink, links["expired"]).expires_at = utcnow() - timedelta(seconds=1)
    # the issuer's password changes: every link they issued ends
    set_password(db, "bo")
    assert [link_allows(db, links[t], "s1") for t in ("kept", "revoked", "expired", "ended")] == [True, False, False, False]
    statuses = {ln["title"]: ln["status"] for ln in list_links(db, root)}
    assert statuses == {"kept": "active", "revoked": "revoked", "expired": "expired", "ended": "ended"}
    assert {ln["title"] for ln in list_links(db, ada)} == {"kept", "revoked", "expired"}
    assert remove_user(db, "ada") and not link_allows(db, links["kept"], "s1")
    with pytest.raises(ParameterError, match="at least one section"):
        issue_link(db, root, [], ttl=60, title="empty", secret_key=SECRET)
    with pytest.raises(ParameterError, match="lifetime"):
        issue_link(db, root, ["s1"], ttl=0, title="never", secret_key=SECRET)


def test_cli_export_issues_a_link_the_app_plays_without_a_login(app, store, tmp_path, monkeypatch, capsys):
    from sectionist.cli import main

    monkeypatch.setenv("SECRET_KEY", SECRET)  # the key the app signs with, as on the server
    make_user(app.db_url, "ada", "expert")
    cluster, members, outsiders = _cluster(store)
    out = tmp_path / "protos.xspf"
    base = ["export", "xspf", "--store", store.uri, "--run", RUN, "--cluster", str(cluster), "--db", app.db_url]
    assert main([*base, "--paths", "url", "--base-url", "http://localhost", "--link-for", "ada", "--link-ttl", "30m",
                 "-o", str(out)]) == 0
    assert "revoke it on the app's Playlist links page" in capsys.readouterr().out
    tracks = _tracks(out.read_bytes())
    assert {urlsplit(t["location"]).path.rsplit("/", 1)[1].removesuffix(".wav") for t in tracks} == members
    anonymous = app.server.test_client()
    for t in tracks:
        resp = anonymous.get(t["location"].removeprefix("http://localhost"))
        assert resp.status_code == 200 and resp.data[:4] == b"RIFF"
    token = parse_qs(urlsplit(tracks[0]["location"]).query)["token"][0]
    assert anonymous.get(f"/audio/{outsiders[0]}.wav?token={token}").status_code == 403
    # ada sees it on her Playlist links page, for 30 minutes
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.auth.links import list_links
    from sectionist.dashboard.models import get_database

    db = get_database(app.db_url)
    (link,) = list_links(db, get_user(db, "ada"))
    assert link["status"] == "active" and link["sections"] == len(members)
    assert 1790 < (link["expires_at"] - link["created_at"]).total_seconds() <= 1800
    # refused before anything is written: another kind, no URLs, an unknown user, longer than the app allows
    for extra, says in ((["--paths", "corpus", "--link-for", "ada"], "only for a playlist of the app's section URLs"),
                        (["--paths", "url", "--base-url", "http://h", "--link-for", "nobody"], "'nobody': no such user"),
                        (["--paths", "url", "--base-url", "http://h", "--link-for", "ada", "--link-ttl", "30d"],
                         "longer than the app's playlist lifetime")):
        bad = tmp_path / "bad.xspf"
        assert main([*base, *extra, "-o", str(bad)]) == 2
        assert says in capsys.readouterr().err and not bad.exists()
    assert len(list_links(db, get_user(db, "ada"))) == 1
