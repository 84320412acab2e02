"""The judgement downloads say what was judged (issue 23): each section's song title, start and end,
and the judged cluster's name in the judged run version, spreadsheet-safe; the current verdicts and
the history download under different file names; ``sectionist judgements export --store`` the same."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from auth_helpers import build_app, csrf_header, login
from judge_store import labels, make_judge_store, section_ids

from sectionist.cli import main as cli_main
from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.judging import repository
from sectionist.dashboard.models import ClusterName, get_database, sqlite_url

#: What an expert typed as a name, and worse (the app's form refuses the newline; the export copes).
HOSTILE = '=cmd|" <b>Intro</b>\nnext'


@pytest.fixture
def setup(tmp_path):
    store = make_judge_store(tmp_path / "study-store")
    db_url = sqlite_url(tmp_path / "users.sqlite")
    db = get_database(db_url)
    passwords = {"ada": create_user(db, "ada", "expert"), "root": create_user(db, "root", "admin")}
    ada = get_user(db, "ada")
    ids = section_ids()
    km = labels("km")
    # ada judges three sections of run km, changing her mind on the first (history)
    repository.record_judgement(db, ada, run_id="km", section_id=ids[0], verdict="agree", cluster=int(km[0]))
    repository.record_judgement(db, ada, run_id="km", section_id=ids[0], verdict="disagree", cluster=int(km[0]))
    repository.record_judgement(db, ada, run_id="km", section_id=ids[11], verdict="agree", cluster=int(km[11]))
    repository.record_judgement(db, ada, run_id="gmm", section_id=ids[1], verdict="unsure", cluster=None)
    repository.record_cluster_name(db, ada, run_id="km", cluster=int(km[0]), name="Quiet intro")
    with db.write() as s:
        s.add(ClusterName(user_id=ada.id, run_id="km", cluster=int(km[11]), name=HOSTILE))
    repository.record_cluster_verdict(db, ada, run_id="km", cluster=int(km[0]), verdict="coherent")
    return store, db_url, passwords


def _filename(resp) -> str:
    return re.search(r'filename="([^"]+)"', resp.headers["Content-Disposition"]).group(1)


def test_judgements_csv_has_song_span_and_cluster_name(setup):
    store, db_url, passwords = setup
    app = build_app(store, db_url)
    c = app.server.test_client()
    login(c, "ada", passwords["ada"])
    resp = c.get("/export/judgements.csv")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    df = pd.read_csv(io.StringIO(text), keep_default_na=False)
    cols = list(df.columns)
    assert cols[cols.index("section_id") + 1:cols.index("section_id") + 4] == ["title", "start_s", "end_s"]
    assert cols[cols.index("cluster") + 1] == "cluster_name"
    ids, km = section_ids(), labels("km")
    got = df.set_index("section_id")
    assert got.loc[ids[0], "title"] == "Song 0" and got.loc[ids[0], "start_s"] == 0.0 and got.loc[ids[0], "end_s"] == 15.0
    assert got.loc[ids[11], "title"] == "Song 1" and got.loc[ids[11], "start_s"] == 15.0
    assert got.loc[ids[0], "cluster_name"] == "Quiet intro"
    # the hostile name: on one line, and no formula once a spreadsheet opens it
    rows = {r["section_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[ids[11]]["cluster_name"] == "'" + HOSTILE.replace("\n", " ")
    assert len(list(csv.DictReader(io.StringIO(text)))) == 3
    # a verdict without a cluster has no name; the gmm run's clusters have none
    assert got.loc[ids[1], "cluster_name"] == ""
    # the full history: the superseded verdict too, named alike
    hist = c.get("/export/judgements.csv?history=1")
    hdf = pd.read_csv(io.BytesIO(hist.data), keep_default_na=False)
    assert len(hdf) == 4 and set(hdf.loc[hdf["section_id"] == ids[0], "cluster_name"]) == {"Quiet intro"}
    # parquet: numbers as numbers, the name as typed
    pq = pd.read_parquet(io.BytesIO(c.get("/export/judgements.parquet").data)).set_index("section_id")
    assert pq.loc[ids[11], "cluster_name"] == HOSTILE.replace("\n", " ") and pq["start_s"].dtype.kind == "f"
    assert pq.loc[ids[11], "cluster"] == km[11]


def test_each_download_has_a_file_name_of_its_own(setup):
    store, db_url, passwords = setup
    app = build_app(store, db_url)
    c = app.server.test_client()
    login(c, "root", passwords["root"])
    names = {path: _filename(c.get(path)) for path in (
        "/export/judgements.csv", "/export/judgements.csv?history=1", "/export/judgements.parquet",
        "/export/cluster-verdicts.csv", "/export/cluster-verdicts.csv?history=1")}
    stamp = r"\d{8}T\d{6}Z"
    assert re.fullmatch(rf"judgements-study-store-{stamp}\.csv", names["/export/judgements.csv"])
    assert re.fullmatch(rf"judgement-history-study-store-{stamp}\.csv", names["/export/judgements.csv?history=1"])
    assert re.fullmatch(rf"judgements-study-store-{stamp}\.parquet", names["/export/judgements.parquet"])
    assert re.fullmatch(rf"cluster-verdicts-study-store-{stamp}\.csv", names["/export/cluster-verdicts.csv"])
    assert re.fullmatch(rf"cluster-verdict-history-study-store-{stamp}\.csv",
                        names["/export/cluster-verdicts.csv?history=1"])
    assert len({n.split("-study-store-")[0] for n in names.values()}) == 4
    cv = pd.read_csv(io.BytesIO(c.get("/export/cluster-verdicts.csv").data), keep_default_na=False)
    assert list(cv.columns)[list(cv.columns).index("cluster") + 1] == "cluster_name"
    assert cv["cluster_name"].tolist() == ["Quiet intro"]


def test_cli_export_with_the_store_adds_the_same_columns(setup, tmp_path):
    store, db_url, _passwords = setup
    out = tmp_path / "j.csv"
    assert cli_main(["judgements", "export", "--db", db_url, "-o", str(out)]) == 0
    assert "title" not in pd.read_csv(out).columns  # without a store: the verdicts as stored
    # --store names the store (and its database: here the same file, given by --db)
    assert cli_main(["judgements", "export", "--store", store, "--db", db_url, "-o", str(out)]) == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert {"title", "start_s", "end_s", "cluster_name"} <= set(df.columns)
    assert set(df["cluster_name"]) >= {"Quiet intro", "'" + HOSTILE.replace("\n", " ")}
