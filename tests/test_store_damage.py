"""A store with a damaged part (issue 24, item 1): a clusterings part cut to half its size.

``/healthz`` counts it (200, ``degraded``: the rest is served), the pages keep answering and say which run
is unavailable and why, the judgements API answers 409 with the same message, ``sectionist check`` and
``info`` name the part (on a folder and on S3, with ranged reads), and ``sectionist repair`` rebuilds it
from the run's saved model: the part's values come back equal and ``check`` is clean again.
"""

from __future__ import annotations

import importlib
import json
import os

import pandas as pd
import pytest

from auth_helpers import csrf_header, login, make_user
from conftest import copy_store
from s3_fixtures import moto_endpoint, s3  # noqa: F401 - fixtures

from sectionist.cli import main
from sectionist.store.check import check_store
from sectionist.store.errors import DamagedPartError
from sectionist.store.schema import CLUSTERINGS

RUN = "classical17-kmeans-auto"
KEY = f"{CLUSTERINGS}/{RUN}.parquet"


def truncate(store, key=KEY) -> None:
    path = store.local_path(key)
    os.truncate(path, path.stat().st_size // 2)


@pytest.fixture
def damaged(demo_store, tmp_path):
    """A copy of the analysed demo store with the clusterings part of RUN cut in half, and that part's values."""
    store = copy_store(demo_store, tmp_path / "store")
    original = store.read_part(CLUSTERINGS, RUN)
    truncate(store)
    return store, original


@pytest.fixture
def app_client(damaged, tmp_path):
    from sectionist.dashboard.app import create_app

    store, _ = damaged
    db = f"sqlite:///{tmp_path / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="test-secret-key-" + "x" * 32)
    client = app.server.test_client()
    login(client, "ada", make_user(db, "ada", "admin"))
    return app, client


def test_check_and_info_name_the_part_and_repair_restores_its_values(damaged, capsys):
    store, original = damaged
    assert main(["check", "--store", store.uri]) == 1
    out = capsys.readouterr().out
    assert KEY in out and "truncated" in out and f"sectionist repair --store {store.uri}" in out
    assert main(["info", "--store", store.uri]) == 2
    assert KEY in capsys.readouterr().out

    assert main(["repair", "--store", store.uri]) == 0
    out = capsys.readouterr().out
    assert f"repaired {KEY}" in out and "whole again" in out
    assert main(["check", "--store", store.uri]) == 0
    assert "parts are whole" in capsys.readouterr().out
    pd.testing.assert_frame_equal(store.read_part(CLUSTERINGS, RUN), original)


def test_repair_writes_nothing_over_readable_parts_and_refuses_without_the_model(damaged, capsys):
    store, _ = damaged
    before = {k: store.read_bytes(k) for k in store.list("") if k != KEY and not k.endswith(".json")}
    model = f"models/runs/{RUN}.joblib"
    model_bytes = store.read_bytes(model)
    store.delete(model)
    assert main(["repair", "--store", store.uri]) == 1
    out = capsys.readouterr().out
    assert f"not repaired {KEY}" in out and "model" in out and "gone" in out
    assert check_store(store).damaged.keys() == {KEY}
    store.write_bytes(model, model_bytes)
    assert main(["repair", "--store", store.uri]) == 0
    after = {k: store.read_bytes(k) for k in before}
    assert after == before  # only the damaged part was written


def test_healthz_counts_the_damaged_parts_and_stays_in_rotation(app_client):
    """/healthz is public: it says how many parts are damaged, never which (their keys name runs and
    songs); the pages and 'sectionist check' name them."""
    _, client = app_client
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "degraded" and resp.get_json()["damaged"] == 1
    assert RUN not in resp.get_data(as_text=True)


def test_pages_answer_and_say_which_run_is_unavailable(app_client):
    from sectionist.dashboard.ui import ids

    app, client = app_client
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    text = json.dumps(layout.get_json())  # Dash writes "/" as \u002f
    assert f"Run {RUN} is unavailable" in text and KEY in text and "sectionist repair" in text
    # every logged-in user reads the notice: the server's paths and the store's address stay out
    uri = app.server.extensions["sectionist_data"].store_uri
    assert uri not in text and uri.replace("/", "\\u002f") not in text
    for path in ("/", "/map", "/clusters", "/compare", "/judgements"):
        assert client.get(path).status_code == 200
    for name, path in (("overview", "/"), ("map", "/map"), ("clusters", "/clusters"), ("compare", "/compare"),
                       ("judgements", "/judgements")):
        page = importlib.import_module(f"sectionist.dashboard.pages.{name}")
        with app.server.test_request_context(path):
            page.layout()  # raised DamagedPartError before (Overview, Compare)
    data = app.server.extensions["sectionist_data"]
    assert RUN not in data.runs.index and len(data.runs)
    with pytest.raises(DamagedPartError, match=KEY):
        data.run_arrays(RUN)
    # the Map's redraw and its detail panel asked for the damaged run: no 500, the notice says why
    body = {"output": "..map-graph.figure...map-count.children...map-meta.data..",
            "outputs": [{"id": "map-graph", "property": "figure"}, {"id": "map-count", "property": "children"},
                        {"id": "map-meta", "property": "data"}],
            "inputs": [{"id": ids.MAP_SPACE, "property": "value", "value": "classical17"},
                       {"id": ids.MAP_KIND, "property": "value", "value": "umap2"},
                       {"id": ids.MAP_RUN, "property": "value", "value": RUN},
                       {"id": ids.MAP_COLOR, "property": "value", "value": "cluster"},
                       {"id": ids.MAP_SONGS, "property": "value", "value": None},
                       {"id": ids.MAP_CLUSTERS, "property": "value", "value": None},
                       {"id": ids.MAP_CENTRAL, "property": "value", "value": []},
                       {"id": ids.MAP_CONF, "property": "value", "value": [0, 1]}],
            "state": [{"id": ids.selected("map"), "property": "data", "value": None}],
            "changedPropIds": [f"{ids.MAP_RUN}.value"]}
    resp = client.post("/_dash-update-component", json=body, headers=csrf_header(client))
    assert resp.status_code == 200, resp.data[:300]
    said = json.dumps(resp.get_json())
    assert RUN in said and KEY in said and "unavailable" in said  # damaged, named with its part: never a 500


def test_judging_a_damaged_run_is_a_conflict_naming_the_part(app_client):
    app, client = app_client
    sid = str(app.server.extensions["sectionist_data"].section_ids[0])
    resp = client.post("/api/judgements", json={"run_id": RUN, "section_id": sid, "verdict": "agree"},
                       headers=csrf_header(client))
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert KEY in error and "sectionist repair" in error and "no run" not in error
    assert app.server.extensions["sectionist_data"].store_uri not in error  # no server paths


def test_check_on_s3_names_the_part_with_ranged_reads(damaged, s3, capsys):  # noqa: F811
    from sectionist.store import open_store
    from sectionist.store.sync import sync

    store, _ = damaged
    uri = s3.uri("damaged")
    sync(store.uri, uri)
    s3store = open_store(uri, create=False)
    got = []
    real = s3store.client.get_object
    s3store.client.get_object = lambda **kw: got.append(kw.get("Range")) or real(**kw)
    result = check_store(s3store)
    assert set(result.damaged) == {KEY}
    assert got and all(r is not None for r in got)  # ranged reads only, never a whole part
    assert main(["check", "--store", uri]) == 1
    assert KEY in capsys.readouterr().out
