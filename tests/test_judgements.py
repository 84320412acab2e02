"""Judgements: history, idempotency, statistics against known answers, queues, exports, the judging
panel and the judge/judgements pages (callbacks as plain functions in a logged-in request)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from auth_helpers import build_app, csrf_header, login
from judge_store import labels, make_judge_store, race_verdicts, section_ids

from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.judging import queues, repository, stats
from sectionist.dashboard.models import Database, Judgement, PermissionDenied, get_database, sqlite_url


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_judge_store(tmp_path_factory.mktemp("judge") / "store")


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    path = tmp_path_factory.mktemp("judge-db") / "db.sqlite"
    db = Database(sqlite_url(path))
    made = {name: (name, create_user(db, name, role)) for name, role in
            (("admin1", "admin"), ("ada", "expert"), ("bob", "expert"), ("cy", "expert"), ("vic", "viewer"))}
    db.dispose()
    return path, made


@pytest.fixture
def db_url(tmp_path, _template):
    path = tmp_path / "db.sqlite"
    shutil.copy(_template[0], path)
    return sqlite_url(path)


@pytest.fixture
def users(_template):
    return dict(_template[1])


@pytest.fixture
def db(db_url):
    return get_database(db_url)


def user(db, name):
    return get_user(db, name)


# ---- recording ---------------------------------------------------------------------------------
def test_new_verdict_supersedes_and_history_is_kept(db, users):
    ada = user(db, "ada")
    first, created = repository.record_judgement(db, ada, run_id="km", section_id="song00-00001", verdict="agree",
                                                 cluster=1, comment="sounds right")
    assert created and first["supersedes"] is None
    second, _ = repository.record_judgement(db, ada, run_id="km", section_id="song00-00001", verdict="disagree",
                                            cluster=1, suggested_cluster=2)
    assert second["supersedes"] == first["id"]
    with db.read() as s:
        rows = s.query(Judgement).order_by(Judgement.id).all()
    assert len(rows) == 2
    assert rows[0].superseded_at is not None and rows[0].superseded_by == rows[1].id
    assert rows[0].verdict == "agree" and rows[0].comment == "sounds right"  # never overwritten
    assert rows[1].superseded_at is None and rows[1].user_id == ada.id and rows[1].created_at is not None
    cur = repository.judgements_frame(db)
    assert len(cur) == 1 and cur.iloc[0]["verdict"] == "disagree" and cur.iloc[0]["username"] == "ada"
    hist = repository.judgements_frame(db, history=True)
    assert len(hist) == 2
    # another expert's verdict on the same section is independent
    repository.record_judgement(db, user(db, "bob"), run_id="km", section_id="song00-00001", verdict="agree")
    assert len(repository.judgements_frame(db)) == 2


def test_client_id_makes_retries_idempotent(db):
    ada = user(db, "ada")
    a, created_a = repository.record_judgement(db, ada, run_id="km", section_id="song00-00002", verdict="agree", client_id="k1")
    b, created_b = repository.record_judgement(db, ada, run_id="km", section_id="song00-00002", verdict="agree", client_id="k1")
    assert created_a and not created_b and a["id"] == b["id"]
    assert len(repository.judgements_frame(db, history=True)) == 1


def test_bad_input_and_roles(db):
    ada, vic = user(db, "ada"), user(db, "vic")
    with pytest.raises(PermissionDenied):
        repository.record_judgement(db, vic, run_id="km", section_id="s", verdict="agree")
    with pytest.raises(repository.ParameterError, match="verdict"):
        repository.record_judgement(db, ada, run_id="km", section_id="s", verdict="yes")
    with pytest.raises(repository.ParameterError, match="suggested_cluster"):
        repository.record_judgement(db, ada, run_id="km", section_id="s", verdict="agree", suggested_cluster="two")
    with pytest.raises(repository.ParameterError, match="comment"):
        repository.record_judgement(db, ada, run_id="km", section_id="s", verdict="agree", comment="x" * 5000)
    with pytest.raises(repository.ParameterError, match="merge_with"):
        repository.record_cluster_verdict(db, ada, run_id="km", cluster=0, verdict="merge")
    with pytest.raises(repository.ParameterError, match="itself"):
        repository.record_cluster_verdict(db, ada, run_id="km", cluster=0, verdict="merge", merge_with=0)


def test_cluster_verdicts_supersede(db):
    ada = user(db, "ada")
    a, _ = repository.record_cluster_verdict(db, ada, run_id="km", cluster=0, verdict="mixed", comment="two sounds")
    b, _ = repository.record_cluster_verdict(db, ada, run_id="km", cluster=0, verdict="merge", merge_with=2)
    assert b["supersedes"] == a["id"] and b["merge_with"] == 2
    cv = repository.cluster_verdicts_frame(db)
    assert len(cv) == 1 and cv.iloc[0]["verdict"] == "merge"
    assert len(repository.cluster_verdicts_frame(db, history=True)) == 2
    repository.record_cluster_verdict(db, user(db, "bob"), run_id="km", cluster=0, verdict="coherent")
    summary = stats.cluster_verdict_summary(repository.cluster_verdicts_frame(db))
    row = summary.iloc[0]
    assert (row["coherent"], row["merge"], row["merge_with"], row["experts"]) == (1, 1, "2", 2)


def test_concurrent_verdicts_on_one_section_keep_one_current(db):
    hist = race_verdicts(db, user(db, "ada"), "song01-00003", 12)
    assert len(hist) == 12
    current = hist[hist["superseded_at"].isna()]
    assert len(current) == 1
    # the history is one chain: every superseded row points at a distinct later row
    sup = hist.dropna(subset=["superseded_by"])
    assert len(sup) == 11 and sup["superseded_by"].is_unique


# ---- statistics ---------------------------------------------------------------------------------
def test_wilson_interval_known_values():
    lo, hi = stats.wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(np.isnan(stats.wilson_interval(0, 0)))
    with pytest.raises(stats.ParameterError):
        stats.wilson_interval(11, 10)


def test_cohen_kappa_matches_sklearn(rng):
    from sklearn.metrics import cohen_kappa_score

    cats = np.array(stats.VERDICTS, dtype=object)
    a = cats[rng.integers(0, 3, 200)]
    b = np.where(rng.random(200) < 0.7, a, cats[rng.integers(0, 3, 200)])
    assert stats.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert stats.cohen_kappa(a, a) == pytest.approx(1.0)
    assert np.isnan(stats.cohen_kappa(["agree"] * 5, ["agree"] * 5))


def test_newcombe_interval_reference_examples():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score)
    d, lo, hi = stats.newcombe_interval(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and (lo, hi) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    d, lo, hi = stats.newcombe_interval(5, 56, 0, 29)
    assert (lo, hi) == pytest.approx((-0.0381, 0.1926), abs=5e-5)
    assert all(np.isnan(stats.newcombe_interval(1, 0, 1, 2)))


def test_krippendorff_alpha_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: alpha = 0.743
    N = None
    coders = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
              [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]
    units = [[v for v in unit if v is not None] for unit in zip(*coders)]
    assert stats.krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)
    assert stats.krippendorff_alpha_nominal([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    assert np.isnan(stats.krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]))


def test_fleiss_kappa_reference_example():
    # Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories;
    # P-bar = 0.378, P_e = 0.213, kappa = 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert stats.fleiss_kappa_counts(table) == pytest.approx(0.2099, abs=5e-4)
    assert stats.fleiss_kappa_counts([[2, 0], [0, 2], [0, 3]]) == pytest.approx(1.0)
    assert stats.fleiss_kappa_counts([[1, 1], [1, 1]]) == pytest.approx(-1.0)
    assert np.isnan(stats.fleiss_kappa_counts([[2, 0], [3, 0]]))  # one category only
    assert np.isnan(stats.fleiss_kappa_counts([[1, 0], [0, 1]]))  # no item with two raters
    with pytest.raises(stats.ParameterError, match="2-D"):
        stats.fleiss_kappa_counts([1, 2, 3])


def _frame(rows):
    df = pd.DataFrame(rows, columns=["username", "run_id", "section_id", "cluster", "verdict", "suggested_cluster"])
    df["created_at"] = pd.Timestamp("2026-01-01", tz="UTC")
    return df


def test_agreement_tables_and_disputes():
    rows = []
    # run km: 8 agree, 2 disagree; run gmm: 3 agree, 7 disagree
    for i in range(10):
        rows.append(("ada", "km", f"s{i}", i % 2, "agree" if i < 8 else "disagree", None))
        rows.append(("bob", "gmm", f"s{i}", 0, "agree" if i < 3 else "disagree", 1 if i >= 3 else None))
    rows.append(("bob", "km", "s0", 0, "disagree", 1))
    rows.append(("cy", "km", "s0", 0, "unsure", None))
    rows.append(("cy", "km", "s1", 1, "agree", None))
    df = _frame(rows)
    per_run = stats.agreement_per_run(df).set_index("run_id")
    km = per_run.loc["km"]
    assert (km["n"], km["agree"], km["disagree"], km["unsure"]) == (12, 9, 3, 1)
    assert km["rate"] == pytest.approx(9 / 12)
    assert (km["ci_low"], km["ci_high"]) == pytest.approx(stats.wilson_interval(9, 12))
    assert per_run.loc["gmm", "rate"] == pytest.approx(0.3)
    assert list(stats.agreement_per_run(df)["run_id"]) == ["km", "gmm"]  # best first
    per_cluster = stats.agreement_per_cluster(df)
    assert set(per_cluster["run_id"]) == {"km", "gmm"}
    assert per_cluster["n"].sum() == per_run["n"].sum()
    disputed = stats.most_disputed(df)
    assert disputed.iloc[0]["section_id"] == "s0" and disputed.iloc[0]["raters"] == 3
    assert disputed.iloc[0]["disagreement"] == pytest.approx(2 / 3)
    assert "s1" not in set(disputed["section_id"])  # ada and cy both agree
    progress = stats.progress_per_expert(df).set_index("username")
    assert progress.loc["ada", "judgements"] == 10 and progress.loc["cy", "unsure"] == 1
    pairs = stats.cohen_kappa_pairs(df).set_index(["rater_a", "rater_b"])
    assert pairs.loc[("ada", "cy"), "n_items"] == 2
    alpha, n_items = stats.krippendorff_alpha(df)
    assert n_items == 2 and alpha < 1
    # Fleiss: s0 has one of each verdict (P = 0), s1 two agrees (P = 1); category shares 3/5, 1/5, 1/5
    kappa, n_items = stats.fleiss_kappa(df)
    assert n_items == 2
    assert kappa == pytest.approx((0.5 - 0.44) / (1 - 0.44))
    # km (9 of 12 agree) against gmm (3 of 10): 45 points ahead, interval above zero
    diffs = stats.method_differences(stats.agreement_per_run(df))
    row = diffs.iloc[0]
    assert (row["best_run"], row["run_id"]) == ("km", "gmm") and row["difference"] == pytest.approx(0.45)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(stats.newcombe_interval(9, 12, 3, 10)[1:])
    assert 0 < row["ci_low"] < 0.45 < row["ci_high"] < 1 and row["separated"]
    one_run = stats.agreement_per_run(df[df["run_id"] == "km"])
    assert stats.method_differences(one_run).empty


# ---- queues -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(store):
    from sectionist.dashboard.data.store_data import StoreData

    return StoreData(store)


def test_queues(data):
    ids = section_ids()
    km = labels("km")
    rand = queues.build_queue(data, "km", "random", n=10, random_state=3)
    assert len(rand) == 10 and len({r["section_id"] for r in rand}) == 10
    assert rand == queues.build_queue(data, "km", "random", n=10, random_state=3)  # seeded
    assert rand != queues.build_queue(data, "km", "random", n=10, random_state=4)
    for r in rand:
        assert r["cluster"] == km[ids.index(r["section_id"])]
    protos = queues.build_queue(data, "km", "prototypes", n=6)
    # round-robin over the clusters' stored prototype lists
    assert [p["cluster"] for p in protos[:3]] == [0, 1, 2]
    assert protos[0]["section_id"] == [s for s, l in zip(ids, km) if l == 0][0]
    border = queues.build_queue(data, "km", "borderline", n=3)
    assert border[0]["section_id"] == [s for s, l in zip(ids, km) if l == 0][-3]
    dis = queues.build_queue(data, "km", "disagree", n=30, other_run="gmm")
    assert {d["section_id"] for d in dis} == set(ids[:5])  # the runs disagree on exactly these
    unstable = queues.build_queue(data, "km", "unstable", n=4)
    assert [u["section_id"] for u in unstable] == ids[:4]  # stability rises along the section order
    left = queues.build_queue(data, "km", "unstable", n=4, exclude={ids[0], ids[2]})
    assert [u["section_id"] for u in left] == [ids[1], ids[3], ids[4], ids[5]]
    with pytest.raises(queues.ParameterError, match="strategy"):
        queues.build_queue(data, "km", "best", n=3)


def test_mixed_queue_balances_and_interleaves_runs(data):
    km, gmm = labels("km"), labels("gmm")
    ids = section_ids()
    q = queues.build_mixed_queue(data, ["km", "gmm"], "random", n=10, random_state=5)
    assert len(q) == 10
    assert [r["run_id"] for r in q].count("km") == 5  # the runs take turns
    for r in q:  # each item carries its own run's cluster
        assert r["cluster"] == (km if r["run_id"] == "km" else gmm)[ids.index(r["section_id"])]
    assert q == queues.build_mixed_queue(data, ["km", "gmm"], "random", n=10, random_state=5)
    orders = {tuple(r["run_id"] for r in queues.build_mixed_queue(data, ["km", "gmm"], "random", n=10,
                                                                      random_state=s)) for s in range(6)}
    assert len(orders) > 1  # who comes first in a round is random, not fixed
    # per-run exclusion, and a run that runs dry leaves the rest of the queue to the others
    few = queues.build_mixed_queue(data, ["km", "gmm"], "disagree", n=30, random_state=1,
                                       exclude={"km": set(ids[:3])})
    km_items = [r["section_id"] for r in few if r["run_id"] == "km"]
    assert sorted(km_items) == ids[3:5] and len([r for r in few if r["run_id"] == "gmm"]) == 5
    with pytest.raises(queues.ParameterError, match="no runs"):
        queues.build_mixed_queue(data, [], "random", n=3)


# ---- HTTP: exports and listing ----------------------------------------------------------------------
@pytest.fixture
def app(store, db_url):
    return build_app(store, db_url)


def test_exports_by_role(app, users):
    a, b, adm = app.server.test_client(), app.server.test_client(), app.server.test_client()
    login(a, *users["ada"])
    login(b, *users["bob"])
    login(adm, *users["admin1"])
    for client, sid in ((a, "song00-00000"), (b, "song00-00001"), (b, "song00-00002")):
        r = client.post("/api/judgements", json={"run_id": "km", "section_id": sid, "verdict": "agree",
                                                 "comment": "ok, \"quoted\", comma"}, headers=csrf_header(client))
        assert r.status_code == 201
    # same section again: supersedes
    r = a.post("/api/judgements", json={"run_id": "km", "section_id": "song00-00000", "verdict": "unsure"},
               headers=csrf_header(a))
    assert r.status_code == 201 and r.get_json()["supersedes"] is not None
    csv_a = pd.read_csv(io.BytesIO(a.get("/export/judgements.csv").data))
    assert list(csv_a["username"]) == ["ada"] and list(csv_a["verdict"]) == ["unsure"]
    hist_a = pd.read_csv(io.BytesIO(a.get("/export/judgements.csv?history=1").data))
    assert len(hist_a) == 2
    resp = adm.get("/export/judgements.parquet")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    pq = pd.read_parquet(io.BytesIO(resp.data))
    assert sorted(pq["username"]) == ["ada", "bob", "bob"]
    assert set(pq.columns) >= {"run_id", "section_id", "cluster", "verdict", "created_at", "superseded_at"}
    listing = b.get("/api/judgements").get_json()
    assert {j["username"] for j in listing} == {"bob"}
    assert len(adm.get("/api/judgements?history=1").get_json()) == 4
    assert a.get("/export/judgements.xlsx").status_code == 404
    cv = b.post("/api/cluster-verdicts", json={"run_id": "km", "cluster": 1, "verdict": "merge", "merge_with": 2},
                headers=csrf_header(b))
    assert cv.status_code == 201
    assert b.post("/api/cluster-verdicts", json={"run_id": "km", "cluster": 9, "verdict": "coherent"},
                  headers=csrf_header(b)).status_code == 404
    cvs = pd.read_csv(io.BytesIO(adm.get("/export/cluster-verdicts.csv").data))
    assert list(cvs["verdict"]) == ["merge"] and list(cvs["merge_with"]) == [2]


# ---- the judging panel and pages (callbacks as plain functions) ---------------------------------------
def _as(app, db_url, name):
    """A request context of ``app`` with ``name`` logged in."""
    from flask_login import login_user

    ctx = app.server.test_request_context("/_dash-update-component", method="POST")
    ctx.push()
    login_user(get_user(get_database(db_url), name))
    return ctx


def _texts(component) -> str:
    """All text in a Dash component tree."""
    out = []

    def walk(c):
        if c is None:
            return
        if isinstance(c, (str, int, float)):
            out.append(str(c))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        else:
            walk(getattr(c, "children", None))

    walk(component)
    return " ".join(out)


def _find(component, pred):
    found = []

    def walk(c):
        if isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        elif c is not None and not isinstance(c, (str, int, float)):
            if pred(c):
                found.append(c)
            walk(getattr(c, "children", None))

    walk(component)
    return found


def test_judge_panel_for_expert_and_viewer(app, db_url):
    from sectionist.dashboard.ui.components import judging

    sel = {"section_id": "song00-00004", "run_id": "km"}
    ctx = _as(app, db_url, "vic")
    try:
        view = judging.panel_children("map", sel)
        assert "expert account" in _texts(view)
        assert not _find(view, lambda c: getattr(c, "id", None) and isinstance(c.id, dict) and c.id.get("type") == "judge-verdict")
        # even a forged click from a viewer is refused on the server
        status, saved, _ = judging.on_verdict("map", "agree", {"run_id": "km", "section_id": "song00-00004"}, None, "")
        assert "may not judge" in status
    finally:
        ctx.pop()
    assert repository.judgements_frame(get_database(db_url)).empty

    ctx = _as(app, db_url, "ada")
    try:
        view = judging.panel_children("map", sel)
        text = _texts(view)
        assert "cluster 1" in text and "No verdict from you yet" in text
        buttons = _find(view, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "judge-verdict")
        assert [b.id["verdict"] for b in buttons] == ["agree", "disagree", "unsure"]
        assert [getattr(b, "data-judge-key") for b in buttons] == ["a", "d", "u"]
        ctx_store = _find(view, lambda c: getattr(c, "id", None) == judging.jid("ctx", "map"))[0]
        status, saved, classes = judging.on_verdict("map", "disagree", ctx_store.data, 2, "more like the drop")
        assert status.startswith("Saved: disagree (should be cluster 2)")
        assert saved["section_id"] == "song00-00004" and "selected" in classes[1]
        msg = judging.on_cluster_verdict(ctx_store.data, "split", None, "two textures")
        assert msg.startswith("Saved: split")
        # re-rendered panel shows the current verdict
        assert "Your verdict: disagree" in _texts(judging.panel_children("map", sel))
        # blind: no method, no cluster number, no suggestion, no cluster block
        blind = judging.panel_children("judge", {**sel, "blind": True, "source": "queue:random"})
        btext = _texts(blind)
        assert "cluster 1" not in btext and "km" not in btext and "as a whole" not in btext
        bctx = _find(blind, lambda c: getattr(c, "id", None) == judging.jid("ctx", "judge"))[0].data
        status, _, _ = judging.on_verdict("judge", "agree", bctx, 2, "")
        assert status.startswith("Saved: agree") and "should be" not in status  # suggestion ignored when blind
    finally:
        ctx.pop()
    df = repository.judgements_frame(get_database(db_url))
    row = df.set_index("source").loc["queue:random"]
    assert bool(row["blind"]) and pd.isna(row["suggested_cluster"]) and row["verdict"] == "agree"
    assert len(df) == 1  # the blind verdict superseded the map verdict on the same section and run
    assert len(repository.judgements_frame(get_database(db_url), history=True)) == 2
    cv = repository.cluster_verdicts_frame(get_database(db_url))
    assert list(cv["verdict"]) == ["split"] and list(cv["cluster"]) == [1]


def test_judge_page_queue_walks_and_skips_judged(app, db_url):
    from sectionist.dashboard.pages import judge

    ctx = _as(app, db_url, "bob")
    try:
        page = judge.layout(run="km", strategy="disagree")
        assert judge.ids.JUDGE_RUN in str(page)
        ada = get_user(get_database(db_url), "bob")
        repository.record_judgement(get_database(db_url), ada, run_id="km", section_id="song00-00000", verdict="agree")
        q = judge.start_queue(ada, "km", "disagree", "gmm", 10, True, 1)
        got = [i["section_id"] for i in q["items"]]
        assert sorted(got) == section_ids()[1:5]  # the judged one left out
        view, progress = judge.item_view(q)
        assert progress.startswith("1 / 4") and "blind" in progress
        text = _texts(view)
        assert "Other sections of its group" in text and "cluster" not in text.replace("Other sections", "")
        # the next section's spectrogram is fetched beforehand; the group's players load when played
        assert f"spectrogram/{got[1]}" in str(view) and "judge-prefetch" in str(view)
        assert "preload='none'" in str(view) and "preload='metadata'" in str(view)
        assert "judge-prefetch" not in str(judge.item_view(dict(q, index=3))[0])  # the last one: nothing next
        sel = judge._selection(q)
        assert sel == {"section_id": got[0], "run_id": "km", "blind": True, "source": "queue:disagree"}
        q2 = dict(q, index=4)
        view, progress = judge.item_view(q2)
        assert "Queue finished" in _texts(view)
        # all runs mixed: always blind, both runs in the queue, the judged (run, section) left out
        page = judge.layout(run=judge.MIXED)
        assert judge.MIXED_LABEL in str(page)
        m = judge.start_queue(ada, judge.MIXED, "random", None, 12, False, 1)
        assert m["blind"] and m["mixed"] and {i["run_id"] for i in m["items"]} == {"km", "gmm"}
        assert ("km", "song00-00000") not in {(i["run_id"], i["section_id"]) for i in m["items"]}
        assert judge._selection(m)["source"] == "queue:random:mixed"
        view, progress = judge.item_view(m)
        assert "all runs mixed" in progress and "blind" in progress
        text = _texts(view)
        assert "km" not in text.split() and "gmm" not in text.lower()
    finally:
        ctx.pop()


def _two_experts_judged(db):
    """ada and bob judge three sections of km (2 of 3 and 1 of 3 agree); ada also one of gmm."""
    for name, verdicts in (("ada", ["agree", "agree", "disagree"]), ("bob", ["agree", "disagree", "disagree"])):
        u = get_user(db, name)
        for sid, v in zip(section_ids()[:3], verdicts):
            repository.record_judgement(db, u, run_id="km", section_id=sid, verdict=v)
    repository.record_judgement(db, get_user(db, "ada"), run_id="gmm", section_id=section_ids()[0], verdict="disagree")


def test_judgements_page_by_role(app, db_url):
    from sectionist.dashboard.pages import judgements as page

    _two_experts_judged(get_database(db_url))
    ctx = _as(app, db_url, "admin1")
    try:
        text = _texts(page.body())
        assert "ada" in text and "bob" in text and "Krippendorff" in text and "Cohen" in text
        assert "Fleiss" in text and "really ahead?" in text and "not separated yet" in text  # 3 of 6 vs 0 of 1
        assert "Judgements (.parquet)" in text and "manage users" in text
    finally:
        ctx.pop()
    ctx = _as(app, db_url, "ada")
    try:
        body = page.body()
        text = _texts(body)
        assert "bob" not in text and "expert 1" in text  # other experts anonymised
        assert "Your progress" in text
    finally:
        ctx.pop()
    ctx = _as(app, db_url, "vic")
    try:
        text = _texts(page.body())
        assert "Judgements (.csv)" not in text and "ada" not in text
        assert "Agreement with each method" in text
    finally:
        ctx.pop()


# ---- security: oversized integers, strict booleans, unknown clusters (issue 15) -------------------
def test_judgement_api_rejects_oversized_ints_and_loose_booleans(app, users, db_url):
    c = app.server.test_client()
    login(c, *users["ada"])
    base = {"run_id": "km", "section_id": "song00-00003", "verdict": "disagree"}

    def post(path, **extra):
        return c.post(path, json={**base, **extra}, headers=csrf_header(c))

    for big in (1e308, 2**70, -(2**40), 2**31, "1e308", float("inf")):
        r = post("/api/judgements", suggested_cluster=big)
        assert r.status_code == 400, (big, r.status_code)
        assert "suggested_cluster" in r.get_json()["error"]
    # a cluster the run does not have is refused like an unknown merge_with (404), a real one accepted
    r = post("/api/judgements", suggested_cluster=999)
    assert r.status_code == 404 and "999" in r.get_json()["error"]
    assert post("/api/judgements", suggested_cluster=2).status_code == 201
    # booleans are parsed strictly: "false" is false, anything odd is refused
    r = post("/api/judgements", blind="false")
    assert r.status_code == 201 and r.get_json()["blind"] is False
    assert post("/api/judgements", blind="0").get_json()["blind"] is False
    assert post("/api/judgements", blind=True).get_json()["blind"] is True
    assert post("/api/judgements", blind="TRUE").get_json()["blind"] is True
    for odd in ("no", "yes", 2, [], {}):
        r = post("/api/judgements", blind=odd)
        assert r.status_code == 400 and "blind" in r.get_json()["error"], odd
    cv = {"run_id": "km", "verdict": "merge"}
    for field, extra in (("cluster", {"cluster": 1e308, "merge_with": 2}), ("cluster", {"cluster": 2**70}),
                         ("merge_with", {"cluster": 1, "merge_with": 2**64})):
        r = c.post("/api/cluster-verdicts", json={**cv, **extra}, headers=csrf_header(c))
        assert r.status_code == 400 and field in r.get_json()["error"], (extra, r.status_code)
    # query parameters: strict booleans too
    assert c.get("/api/judgements?history=maybe").status_code == 400
    assert c.get("/export/judgements.csv?history=2").status_code == 400
    assert c.get("/export/cluster-verdicts.csv?history=true").status_code == 200
    assert len(c.get("/api/judgements?history=true").get_json()) == 5
    stored = repository.judgements_frame(get_database(db_url), history=True)
    assert stored["suggested_cluster"].dropna().tolist() == [2]


def test_dash_judging_path_rejects_oversized_ints(app, db_url):
    from sectionist.dashboard.ui.components import judging

    ctx = _as(app, db_url, "ada")
    try:
        sel = {"run_id": "km", "section_id": "song00-00004"}
        for big in (1e308, 2**70):
            status, saved, _ = judging.on_verdict("map", "disagree", sel, big, "")
            assert status.startswith("Not saved") and "suggested_cluster" in status
        status, _, _ = judging.on_verdict("map", "disagree", sel, 999, "")
        assert status.startswith("Not saved") and "999" in status
        msg = judging.on_cluster_verdict({**sel, "cluster": 1}, "merge", 2**70, "")
        assert msg.startswith("Not saved") and "merge_with" in msg
    finally:
        ctx.pop()
    assert repository.judgements_frame(get_database(db_url), history=True).empty


def test_int_and_bool_parsing_and_queue_sizes(data):
    assert repository.opt_int("3", "n") == 3 and repository.opt_int(2.0, "n") == 2
    assert repository.opt_int(None, "n") is None and repository.opt_int(-1, "n") == -1
    for bad in (1e308, 2**31, -(2**31) - 1, float("nan"), "x" * 100, 10**5000, True):
        with pytest.raises(repository.ParameterError):
            repository.opt_int(bad, "n")
    assert repository.parse_bool(None, "b", default=True) is True
    with pytest.raises(repository.ParameterError):
        repository.parse_bool("off", "b")
    for bad_n in (0, 2**70, 1e308, "ten"):
        with pytest.raises(queues.ParameterError, match="n="):
            queues.build_queue(data, "km", "random", n=bad_n)
    with pytest.raises(queues.ParameterError, match="random_state"):
        queues.build_mixed_queue(data, ["km"], "random", n=3, random_state=2**70)


# ---- security: CSV exports are safe to open in a spreadsheet (issue 15) ---------------------------
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]  # (comments are stripped: no leading tab)


def test_csv_exports_neutralise_formulas_but_keep_numbers(app, users, db_url):
    db = get_database(db_url)
    ada = user(db, "ada")
    for i, text in enumerate(FORMULAS):
        repository.record_judgement(db, ada, run_id="km", section_id=f"song01-{i:05d}", verdict="disagree",
                                    cluster=-1, suggested_cluster=-1, comment=text, source="=src")
    repository.record_cluster_verdict(db, ada, run_id="km", cluster=-1, verdict="coherent", comment="@evil")
    c = app.server.test_client()
    login(c, *users["ada"])
    r = c.get("/export/judgements.csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    text = r.get_data(as_text=True)
    assert "=cmd" not in text.replace("'=cmd", "")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    import csv

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["comment"] for row in rows] == ["'" + t for t in FORMULAS]
    assert {row["source"] for row in rows} == {"'=src"}
    # numbers stay numbers: -1 in the numeric cluster columns is not quoted
    assert back["cluster"].tolist() == [-1] * len(FORMULAS)
    assert back["suggested_cluster"].tolist() == [-1] * len(FORMULAS)
    cv = c.get("/export/cluster-verdicts.csv")
    assert cv.headers["Content-Type"] == "text/csv; charset=utf-8"
    cv_rows = list(csv.DictReader(io.StringIO(cv.get_data(as_text=True))))
    assert cv_rows[0]["comment"] == "'@evil" and cv_rows[0]["cluster"] == "-1"
    # parquet keeps the text as typed (no spreadsheet formula risk there)
    pq = pd.read_parquet(io.BytesIO(c.get("/export/judgements.parquet").data))
    assert pq["comment"].tolist() == FORMULAS


def test_csvsafe_only_changes_text_cells():
    from sectionist.store import csvsafe

    df = pd.DataFrame({"n": [-1, 2], "f": [-0.5, 1.0], "o": [-3, "-3"], "s": ["=1", "\tx"], "b": [True, False],
                       "=h": ["a", None]})
    out = csvsafe.safe_frame(df)
    assert out["n"].tolist() == [-1, 2] and out["f"].tolist() == [-0.5, 1.0]
    assert out["o"].tolist() == [-3, "'-3"] and out["s"].tolist() == ["'=1", "'\tx"]
    assert out["b"].tolist() == [True, False] and list(out.columns)[-1] == "'=h"
    assert pd.isna(out["'=h"].tolist()[1])
    assert df["s"].tolist() == ["=1", "\tx"]  # the input is not changed
    assert csvsafe.to_csv_bytes(df).decode().splitlines()[1] == "-1,-0.5,-3,'=1,True,a"


#: formulas behind what a spreadsheet skips: a byte order mark, a zero-width space and a bidi mark,
#: spaces (comments are stripped of their ends, so the spaces sit behind a BOM)
HIDDEN_FORMULAS = ["\ufeff=cmd|' /C calc'!A0", "\u200b\u200e+1+1", "\ufeff  -2+3", "\u2060@SUM(A1)"]


def test_csv_cells_with_a_formula_behind_a_bom_or_spaces_are_neutralised(app, users, db_url):
    """Issue 24, item 9: ``\ufeff=…`` or `` =…`` was exported without the leading quote."""
    from sectionist.store import csvsafe

    df = pd.DataFrame({"s": ["\ufeff=1+1", " =1+1", "\t =1", "\u00a0@x", " plain", "\ufeff", "a =1"],
                       " =h": [1, 2, 3, 4, 5, 6, 7]})
    out = csvsafe.safe_frame(df)
    # the quote first, the text kept as it was after it
    assert out["s"].tolist() == ["'\ufeff=1+1", "' =1+1", "'\t =1", "'\u00a0@x", " plain", "\ufeff", "a =1"]
    assert list(out.columns) == ["s", "' =h"]
    db = get_database(db_url)
    ada = user(db, "ada")
    for i, text in enumerate(HIDDEN_FORMULAS):
        repository.record_judgement(db, ada, run_id="km", section_id=f"song01-{i:05d}", verdict="disagree",
                                    comment=text, source="\ufeff=src")
    c = app.server.test_client()
    login(c, *users["ada"])
    import csv

    rows = list(csv.DictReader(io.StringIO(c.get("/export/judgements.csv").get_data(as_text=True))))
    assert [row["comment"] for row in rows] == ["'" + t for t in HIDDEN_FORMULAS]
    assert {row["source"] for row in rows} == {"'\ufeff=src"}


# ---- Spanish (Accept-Language: es) -----------------------------------------------------------------
def _as_es(app, db_url, name):
    """A request context of ``app`` in Spanish (``Accept-Language: es``) with ``name`` logged in."""
    from flask_login import login_user

    ctx = app.server.test_request_context("/_dash-update-component", method="POST",
                                          headers={"Accept-Language": "es-ES,es;q=0.9"})
    ctx.push()
    login_user(get_user(get_database(db_url), name))
    return ctx


def test_judge_page_and_panel_in_spanish(app, db_url):
    from sectionist.dashboard.ui.components import judging
    from sectionist.dashboard.pages import judge

    ctx = _as_es(app, db_url, "ada")
    try:
        page = judge.layout(run="km")
        text = _texts(page)
        for es in ("Evaluar", "Sesión", "Agrupamiento que evaluar", "Qué secciones", "Secciones en la cola", "Empezar",
                   "Elija un agrupamiento y una estrategia y pulse Empezar.", "← Anterior", "Siguiente", "Veredicto"):
            assert es in text, es
        assert "Session" not in text and "Which sections" not in text and "Start" not in text.split()
        strategy = _find(page, lambda c: getattr(c, "id", None) == judge.ids.JUDGE_STRATEGY)[0]
        assert {o["label"] for o in strategy.options} >= {"Muestra aleatoria", "Secciones menos estables"}
        blind = _find(page, lambda c: getattr(c, "id", None) == judge.ids.JUDGE_BLIND)[0]
        assert "modo ciego" in blind.options[0]["label"]

        q = judge.start_queue(get_user(get_database(db_url), "ada"), "km", "random", None, 4, True, 1)
        view, progress = judge.item_view(q)
        assert progress == "1 / 4 secciones · Muestra aleatoria · modo ciego"
        assert "Otras secciones de su grupo" in _texts(view) and "Sección 1" not in progress
        done, progress = judge.item_view({**q, "index": 4})
        assert "Cola terminada: 4 secciones" in _texts(done) and progress == "4 / 4 secciones"

        sel = {"section_id": "song00-00004", "run_id": "km"}
        panel = judging.panel_children("map", sel)
        text = _texts(panel)
        assert "Su evaluación" in text and "Aún no ha dado un veredicto." in text and "¿Está bien esta sección en" in text
        buttons = _find(panel, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "judge-verdict")
        assert [_texts(b.children[0]) for b in buttons] == ["De acuerdo", "En desacuerdo", "No estoy seguro"]
        ctx_store = _find(panel, lambda c: getattr(c, "id", None) == judging.jid("ctx", "map"))[0]
        status, _saved, _classes = judging.on_verdict("map", "disagree", ctx_store.data, 2, "")
        assert status.startswith("Guardado: en desacuerdo (debería ser el grupo 2) · ") and status.endswith(" UTC")
        status, *_rest = judging.on_verdict("map", "agree", {"run_id": "km", "section_id": "nope"}, None, "")
        assert status == "No guardado: no hay ninguna sección 'nope' en el almacén"
        assert judging.on_cluster_verdict(ctx_store.data, None, None, "") == (
            "Elija primero coherente, mezclado, dividir o fusionar.")
    finally:
        ctx.pop()


def test_judgements_page_in_spanish(app, db_url):
    from sectionist.dashboard.pages import judgements as page

    _two_experts_judged(get_database(db_url))
    ctx = _as_es(app, db_url, "ada")
    try:
        layout = page.layout()
        text = _texts(layout)
        for es in ("Evaluaciones", "Actualizar", "Acuerdo con cada método", "Acuerdo por grupo", "Su progreso",
                   "Acuerdo entre evaluadores", "Secciones más discutidas", "intervalo del 95 %", "de acuerdo",
                   "en desacuerdo", "no estoy seguro", "veredictos", "experto 1", "Exportar",
                   "Evaluaciones (.csv)", "¿Está", "aún sin separar", "sobre 3 secciones con ≥ 2 expertos"):
            assert es in text, es
        for en in ("Agreement with each method", "Your progress", "Inter-rater", "Most disputed", "not separated",
                   " verdicts", "Download ", "expert 1", "sections with"):
            assert en not in text, en
        per_run = _find(layout, lambda c: getattr(c, "id", None) == page.ids.JUDGEMENTS_PER_RUN)[0]
        header = [_texts(th) for th in per_run.children[0].children.children]
        assert header == ["agrupamiento", "veredictos", "de acuerdo", "en desacuerdo", "no estoy seguro", "acuerdo",
                          "intervalo del 95 %", "expertos"]
        km = next(_texts(tr) for tr in per_run.children[1].children if "km" in _texts(tr))
        assert "\xa0%" in km  # percentages in the Spanish format ("67 %")
    finally:
        ctx.pop()


def test_judgements_per_cluster_shows_cluster_names(app, db_url):
    from sectionist.dashboard.ui.components.common import cluster_names
    from sectionist.dashboard.data.store_data import get_data
    from sectionist.dashboard.pages import judgements as page

    db = get_database(db_url)
    ctx = _as(app, db_url, "ada")
    try:
        df = repository.judgements_frame(db)
        text = _texts(page.body())
        if not df.empty and not df["cluster"].notna().any():  # verdicts without their cluster: a sentence, no bare table
            assert "No verdict names the cluster it judged yet." in text
        ada = get_user(db, "ada")
        repository.record_judgement(db, ada, run_id="km", section_id=section_ids()[5], verdict="agree", cluster=1)
        name = cluster_names(get_data(), "km").get(1)
        table = [c for c in _walk_components(page.body()) if getattr(c, "id", None) == page.ids.JUDGEMENTS_PER_CLUSTER]
        assert table, "the per-cluster table is shown once a verdict names its cluster"
        cells = _texts(table[0])
        assert (f"1: {name}" if name else "cluster 1") in cells
    finally:
        ctx.pop()


def _walk_components(c):
    if isinstance(c, (list, tuple)):
        for x in c:
            yield from _walk_components(x)
        return
    yield c
    children = getattr(c, "children", None)
    if isinstance(children, (list, tuple)):
        for x in children:
            yield from _walk_components(x)
    elif children is not None and not isinstance(children, (str, int, float)):
        yield from _walk_components(children)
