"""Propagation, confirmed by ear (issue #22): after a section is moved to another cluster, the
judging panel lists the sections of its old cluster nearest it (in the run's metric), ticked, and
one confirmation records each as a verdict like the first; nothing is offered for an agree, a
disagree without a suggestion, or in blind mode; sections already judged are not offered again."""

from __future__ import annotations

import numpy as np
import pytest
from auth_helpers import make_user
from synthetic_store import build_synthetic_store

from sectionist.dashboard.auth.accounts import get_user
from sectionist.dashboard.judging.repository import judgements_frame, record_judgement
from sectionist.dashboard.models import get_database
from sectionist.dashboard.ui.components import propagate


@pytest.fixture(scope="module")
def app_db(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("propagate")
    store = build_synthetic_store(root / "store", n_sections=80, sections_per_song=10, random_state=6)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="p" * 40)
    make_user(db, "eve", "expert")
    return app, db


def _login(app, db, name):
    from flask_login import login_user

    ctx = app.server.test_request_context("/_dash-update-component", method="POST")
    ctx.push()
    login_user(get_user(get_database(db), name))
    return ctx


def _vector_run(data):
    for run_id in data.runs.index:
        if data.space_vectors(data.runs.at[run_id, "space"]) is not None:
            return run_id
    raise AssertionError("no run in a space with vectors")


def test_a_move_offers_the_nearest_sections_of_the_old_cluster_and_confirms_them(app_db):
    app, db = app_db
    ctx = _login(app, db, "eve")
    try:
        data = app.server.extensions["sectionist_data"]
        run_id = _vector_run(data)
        arr = data.run_arrays(run_id)
        sid = str(data.section_ids[int(np.flatnonzero(arr.label >= 0)[0])])
        old = int(arr.label[data.position(sid)])
        new = next(int(c) for c in arr.clusters if c != old and c >= 0)
        ctx_data = {"section_id": sid, "run_id": run_id, "cluster": old, "blind": False}
        saved = {"id": 1, "verdict": "disagree", "section_id": sid, "run_id": run_id, "suggested": new}
        view = propagate.listen_list("map", saved, ctx_data)
        assert view, "a move offers a listen-list"
        pick = view[0].children[2]
        offered = [o["value"] for o in pick.options]
        assert 1 <= len(offered) <= propagate.N_SOUNDS_LIKE and pick.value == offered  # all ticked
        assert sid not in offered
        assert all(int(arr.label[data.position(s)]) == old for s in offered)  # from the old cluster
        # nearest first, in the run's metric
        want = [s["section_id"] for s in propagate.sounds_like(data, run_id, sid, n=len(offered), cluster=old)]
        assert offered == [str(s) for s in want]
        # nothing for an agree, a disagree without a place, or blind
        assert propagate.listen_list("map", {**saved, "verdict": "agree"}, ctx_data) == []
        assert propagate.listen_list("map", {**saved, "suggested": None}, ctx_data) == []
        assert propagate.listen_list("map", saved, {**ctx_data, "blind": True}) == []
        # confirm all but the last: one verdict each, disagree, should be in the new cluster
        text, enabled = propagate.confirm(offered[:-1], view[0].children[3].data)
        assert not enabled and str(len(offered) - 1) in text
        df = judgements_frame(get_database(db))
        got = df[df["source"] == propagate.SOURCE] if "source" in df.columns else df
        assert sorted(got["section_id"]) == sorted(offered[:-1])
        assert set(got["verdict"]) == {"disagree"} and set(got["suggested_cluster"].astype(int)) == {new}
        # judged sections are not offered again
        record_judgement(get_database(db), get_user(get_database(db), "eve"), run_id=run_id, section_id=sid,
                         verdict="disagree", cluster=old, suggested_cluster=new)
        again = propagate.listen_list("map", saved, ctx_data)
        left = [o["value"] for o in again[0].children[2].options] if again else []
        assert not set(left) & set(offered[:-1])
        assert propagate.confirm([], view[0].children[3].data)[1] is True  # nothing ticked: nothing done
    finally:
        ctx.pop()
