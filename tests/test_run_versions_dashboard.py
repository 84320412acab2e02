"""Run versions on the dashboard side (issue 11): versions shown, verdicts per version, carry-over,
coverage, no silent mixing, and ``sectionist runs list|delete``.

The store is the judge store (run ``km``: label = index mod 3 over 30 sections) plus ``km~v2``
written part by part (:func:`version_store.add_run_version`): v2 relabels km's clusters by a
permutation, changes one section (index 7) and drops one (index 29); it placed sections 20–23.
So of ada's verdicts on km (sections 0–9 and 29), all but two carry over to v2: section 7
(relabelled) and section 29 (not labelled by v2).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from auth_helpers import build_app
from judge_store import labels, make_judge_store, section_ids
from version_store import add_run_version

from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.data.store_data import StoreData
from sectionist.dashboard.judging import repository, stats
from sectionist.dashboard.models import get_database, sqlite_url
from sectionist.cli import main as cli_main
from sectionist.store import open_store
from sectionist.store.schema import CENTROID_PROJECTIONS, CLUSTERINGS, CLUSTERS, RUNS
from sectionist.dashboard.ui import naming

PERM = {0: 2, 1: 0, 2: 1}
IDS = section_ids()


def v2_labels() -> pd.Series:
    lab = pd.Series(labels("km"), index=IDS).map(PERM)
    lab.iloc[7] = (lab.iloc[7] + 1) % 3  # the one section v2 puts elsewhere
    return lab.drop(IDS[29])  # and one it does not label


@pytest.fixture
def store_uri(tmp_path):
    uri = make_judge_store(tmp_path / "store")
    add_run_version(open_store(uri), "km", v2_labels(), placed=IDS[20:24])
    return uri


@pytest.fixture
def db_url(tmp_path):
    url = sqlite_url(tmp_path / "judge.sqlite")
    db = get_database(url)
    for name in ("ada", "bob", "admin1"):
        create_user(db, name, "admin" if name == "admin1" else "expert")
    ada, bob = get_user(db, "ada"), get_user(db, "bob")
    km = labels("km")
    for i in [*range(10), 29]:
        repository.record_judgement(db, ada, run_id="km", section_id=IDS[i], cluster=int(km[i]),
                                    verdict="agree" if i < 8 or i == 29 else "disagree")
    v2 = v2_labels()
    for i in range(3):
        repository.record_judgement(db, bob, run_id="km~v2", section_id=IDS[i], cluster=int(v2.iloc[i]),
                                    verdict="agree" if i else "unsure")
    return url


def frame(db_url):
    return repository.judgements_frame(get_database(db_url))


# ---- stats: pure ------------------------------------------------------------------------------------
def test_parse_version():
    assert stats.parse_version("classical17-kmeans-auto~v2") == ("classical17-kmeans-auto", 2)
    assert stats.parse_version("classical17-kmeans-auto") == ("classical17-kmeans-auto", 1)
    assert stats.parse_version("odd~vx") == ("odd~vx", 1) and stats.parse_version("a~v1") == ("a~v1", 1)


def test_agreement_is_counted_per_version_never_pooled(store_uri, db_url):
    data = StoreData(store_uri)
    per = stats.agreement_per_version(frame(db_url), data.run_versions[["lineage", "version"]])
    assert list(per["run_id"]) == ["km", "km~v2"] and list(per["lineage"]) == ["km", "km"]
    assert list(per["version"]) == [1, 2] and list(per["latest"]) == [False, True]
    v1, v2 = per.iloc[0], per.iloc[1]
    assert (v1["n"], v1["agree"], v1["disagree"], v1["unsure"]) == (11, 9, 2, 0)
    assert (v2["n"], v2["agree"], v2["disagree"], v2["unsure"]) == (2, 2, 0, 1)
    # without the store the versions come from the run ids
    alone = stats.agreement_per_version(frame(db_url))
    assert list(zip(alone["lineage"], alone["version"])) == [("km", 1), ("km", 2)]


def test_carry_over_on_a_known_example(store_uri, db_url):
    data = StoreData(store_uri)
    carry = data.carry_over(frame(db_url))
    assert len(carry) == 1
    c = carry.iloc[0]
    assert (c["lineage"], c["old_run"], c["old_version"], c["new_run"], c["new_version"]) == ("km", "km", 1, "km~v2", 2)
    # 11 verdicts on v1: the permutation is undone by the alignment, so all hold except section 7
    # (relabelled) and section 29 (absent from v2)
    assert (c["verdicts"], c["carried"], c["invalidated"], c["absent"]) == (11, 9, 2, 1)
    assert c["agree_carried"] == 7  # agree on 0–7 and 29, minus 7 and 29


def test_carry_over_pure_with_plain_series():
    known = pd.DataFrame({"lineage": ["a", "a", "a"], "version": [1, 2, 3]}, index=["a", "a~v2", "a~v3"])
    lab = {"a": pd.Series([0, 0, 1, 1], index=list("wxyz")),
           "a~v2": pd.Series([5, 5, 6, 5], index=list("wxyz")),  # z moved
           "a~v3": pd.Series([1, 1, 0, 0], index=list("wxyz"))}  # a pure relabelling of v1
    df = pd.DataFrame({"run_id": "a", "section_id": list("wxyz"), "cluster": [0, 0, 1, 1],
                       "verdict": ["agree", "agree", "disagree", "agree"]})
    carry = stats.version_carry_over(df, known, lab.get)
    got = {(r.old_version, r.new_version): (r.carried, r.invalidated) for r in carry.itertuples()}
    assert got == {(1, 2): (3, 1), (1, 3): (4, 0)}
    assert stats.version_carry_over(df.iloc[0:0], known, lab.get).empty


# ---- store data: versions, picker, coverage -----------------------------------------------------------
def test_picker_defaults_to_the_latest_version_and_keeps_older_ones(store_uri):
    from sectionist.dashboard.ui.components.common import default_run, run_options

    data = StoreData(store_uri)
    v = data.run_versions
    assert v.loc["km", "latest_run"] == "km~v2" and not v.loc["km", "is_latest"] and v.loc["km~v2", "is_latest"]
    assert data.latest_runs() == ["gmm", "km~v2"]
    opts = run_options(data)
    values = [o["value"] for o in opts]
    assert values.index("km~v2") < values.index("km")  # latest first, older still selectable
    label = {o["value"]: o["label"] for o in opts}
    assert label["km"].endswith("· v1 (superseded by v2)") and label["km~v2"].endswith("· v2 (latest)")
    assert "·" not in label["gmm"]  # one version: no version noise
    assert default_run(data) in data.latest_runs()
    # a lineage whose latest is v2 is chosen as v2, never as its superseded v1
    only_km = StoreData(store_uri)
    only_km.__dict__["runs"] = data.runs.drop(index="gmm")
    assert default_run(only_km) == "km~v2"


def test_coverage_text(store_uri, tmp_path):
    data = StoreData(store_uri)
    assert naming.coverage_text(data, "km") == ""
    cov = data.run_coverage("km~v2")
    assert (cov["labelled"], cov["placed"], cov["fitted"], cov["missing"], cov["has_model"]) == (29, 4, 25, 1, False)
    assert naming.coverage_text(data, "km~v2") == ("placed 4 of 29 (labelled by the fitted model, not part of the fit); "
                                           "does not cover 1 section (no model to place them)")
    assert int(data.run_arrays("km~v2").placed.sum()) == 4 and data.run_arrays("km").n_placed == 0
    # a version that misses a whole song (a new song it has no model for)
    store = open_store(store_uri)
    v3 = pd.Series(labels("km"), index=IDS).iloc[:20]
    add_run_version(store, "km", v3, version=3, model_key="models/km~v3.joblib")
    data = StoreData(store_uri)
    assert naming.coverage_text(data, "km~v3") == "does not cover 1 new song (10 sections; not placed yet)"
    assert naming.version_note(data, "km~v2") == "v2 (superseded by v3)"


# ---- pages ---------------------------------------------------------------------------------------------
def _texts(component) -> str:
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


def test_overview_and_judgements_pages_show_versions(store_uri, db_url):
    from flask_login import login_user

    app = build_app(store_uri, db_url)  # pages register themselves with an app

    from sectionist.dashboard.pages import clusters, overview
    from sectionist.dashboard.pages import judgements as page

    data = StoreData(store_uri)
    df = frame(db_url)
    rows, cols = overview.runs_table_data(data, stats.agreement_per_run(df), data.carry_over(df))
    by_run = {r["run_id"]: r for r in rows}
    assert {"version_note", "coverage", "carried_over"} <= {c["id"] for c in cols}
    assert by_run["km"]["version_note"] == "v1 (superseded by v2)" and by_run["gmm"]["version_note"] is None
    assert by_run["km~v2"]["coverage"].startswith("placed 4 of 29")
    assert by_run["km~v2"]["carried_over"] == "9 of 11 from v1 (2 invalidated)"
    # never pooled; v2's unsure verdict counts (3 verdicts, as `judgements summary` says)
    assert by_run["km"]["expert_verdicts"] == 11 and by_run["km~v2"]["expert_verdicts"] == 3
    header = _texts(clusters.run_header(data, "km~v2"))
    assert "v2 (latest)" in header and "placed 4 of 29" in header
    assert clusters.run_header(data, "gmm") is None

    ctx = app.server.test_request_context("/_dash-update-component", method="POST")
    ctx.push()
    try:
        login_user(get_user(get_database(db_url), "admin1"))
        text = _texts(page.body())
    finally:
        ctx.pop()
    assert "Run versions" in text and "v1 (superseded by v2)" in text and "v1 → v2" in text
    assert "9 2 1 7" in text  # carried, invalidated, of which not labelled, agree verdicts carried


def test_carried_cluster_names_pure_and_through_an_unnamed_version():
    idx = [f"s{i}" for i in range(9)]
    v1 = pd.Series([0, 0, 0, 1, 1, 1, 2, 2, 2], index=idx)
    v2 = v1.map(PERM)  # the same grouping, other numbers
    v3 = v2.map({0: 1, 1: 2, 2: 0})
    known = pd.DataFrame({"lineage": "r", "version": [1, 2, 3]}, index=["r", "r~v2", "r~v3"])
    series = {"r": v1, "r~v2": v2, "r~v3": v3}
    own = {"r": {0: "verse", 2: "chorus"}, "r~v2": {}, "r~v3": {}}
    carried = lambda run: stats.carried_cluster_names(run, known, series.get, lambda r: own[r])  # noqa: E731
    assert stats.version_cluster_matches(v1, v2) == {PERM[c]: c for c in range(3)}
    assert carried("r") == {}  # a first version inherits nothing
    assert carried("r~v2") == {PERM[0]: ("verse", 1), PERM[2]: ("chorus", 1)}
    # v3 inherits through the unnamed v2, still marked as given in v1
    v3_of = {c: int(v3[v2 == c].iloc[0]) for c in range(3)}
    assert carried("r~v3") == {v3_of[PERM[0]]: ("verse", 1), v3_of[PERM[2]]: ("chorus", 1)}
    # a name given in v2 wins over v1's for v3; a cluster named in its own version inherits nothing
    own["r~v2"] = {PERM[0]: "intro"}
    own["r~v3"] = {v3_of[PERM[2]]: "hook"}
    assert carried("r~v3") == {v3_of[PERM[0]]: ("intro", 2)}
    assert carried("unknown") == {}


def test_cluster_names_carry_over_to_a_new_version_until_renamed(store_uri, db_url):
    from flask_login import login_user

    app = build_app(store_uri, db_url)

    from sectionist.dashboard.ui.components.common import cluster_names
    from sectionist.dashboard.pages import clusters

    data = StoreData(store_uri)
    db = get_database(db_url)
    ada = get_user(db, "ada")
    repository.record_cluster_name(db, ada, run_id="km", cluster=0, name="verse")
    with app.server.test_request_context("/"):
        login_user(ada)
        assert cluster_names(data, "km")[0] == "verse"
        v2 = cluster_names(data, "km~v2")
        # km's cluster 0 is v2's cluster PERM[0] (the Hungarian matching verdicts carry over by)
        assert v2[PERM[0]] == "verse (from v1)"
        assert all("from v1" not in n for c, n in v2.items() if c != PERM[0])
        assert "from v" not in " ".join(cluster_names(data, "gmm").values())  # other lineages untouched
        block = clusters.cluster_name_block(data, "km~v2", PERM[0], v2)
        assert "verse (from v1)" in _texts(block)
        field = [c for c in _walk(block) if getattr(c, "id", None) == clusters.ids.CLUSTERS_RENAME_INPUT][0]
        assert field.value == ""  # the carried name is not offered as this version's own
    with app.server.test_request_context("/", headers={"Accept-Language": "es"}):
        login_user(ada)
        assert cluster_names(data, "km~v2")[PERM[0]] == "verse (de la v1)"
    repository.record_cluster_name(db, ada, run_id="km~v2", cluster=PERM[0], name="chorus")
    with app.server.test_request_context("/"):
        login_user(ada)
        assert cluster_names(data, "km~v2")[PERM[0]] == "chorus"
        assert cluster_names(data, "km")[0] == "verse"  # each version keeps its own name


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)


def test_map_hover_and_detail_mark_placed_sections(store_uri, db_url):
    app = build_app(store_uri, db_url)

    from sectionist.dashboard.ui.components.detail import PLACED_NOTE, section_detail
    from sectionist.dashboard.pages import map as map_page

    data = StoreData(store_uri)
    rows = np.arange(data.n_sections)
    hover = map_page._hover_text(data, rows, data.run_arrays("km~v2"))
    placed = data.positions(IDS[20:24])
    assert all(PLACED_NOTE in hover[p] for p in placed)
    assert sum(PLACED_NOTE in h for h in hover) == 4
    with app.server.test_request_context("/"):
        assert PLACED_NOTE in _texts(section_detail(data, IDS[21], "km~v2", "map"))
        assert PLACED_NOTE not in _texts(section_detail(data, IDS[21], "km", "map"))


# ---- command line ------------------------------------------------------------------------------------------
def test_judgements_summary_per_version(store_uri, db_url, capsys):
    assert cli_main(["judgements", "summary", "--db", db_url, "--store", store_uri]) == 0
    out = capsys.readouterr().out
    assert "  km: 2 versions" in out
    assert "    v1 km (superseded by v2): 11 verdicts, 9 agree, 2 disagree, 0 unsure, agreement 82 %" in out
    assert "    v2 km~v2 (latest): 3 verdicts, 2 agree, 0 disagree, 1 unsure, agreement 100 %" in out
    assert ("    v1 → v2: 9 of 11 verdicts carry over (same label after alignment), 2 invalidated "
            "(1 of them on sections v2 does not label)") in out
    assert "add --store" not in out
    # without the store: per run id (versions read from the ids), and it says what carry-over needs
    assert cli_main(["judgements", "summary", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "  km: 2 versions (read from the run ids)" in out and "carry over" not in out.replace("carry over to", "")
    assert "add --store DIR" in out


def test_runs_list(store_uri, db_url, capsys):
    db = get_database(db_url)
    repository.record_cluster_verdict(db, get_user(db, "ada"), run_id="gmm", cluster=1, verdict="mixed")
    assert cli_main(["runs", "list", "--store", store_uri, "--db", db_url]) == 0
    out = capsys.readouterr().out.splitlines()
    by_run = {line.split()[0]: line.split() for line in out[1:-1]}
    assert list(by_run) == ["gmm", "km", "km~v2"]
    assert by_run["km"][1:3] == ["v1", "(→"] and by_run["km~v2"][1:3] == ["v2", "(latest)"]
    # K, fitted, placed, model, verdicts, cluster verdicts
    assert by_run["km~v2"][-6:] == ["3", "25", "4", "no", "3", "0"]
    assert by_run["km"][-6:] == ["3", "30", "0", "no", "11", "0"]
    assert by_run["gmm"][-6:] == ["3", "30", "0", "no", "0", "1"]
    assert out[-1].startswith("3 runs in 2 lineages")


def test_delete_refused_with_verdicts_allowed_without(store_uri, db_url, capsys, tmp_path):
    store = open_store(store_uri)
    before = store.read_manifest()["version"]
    for run in ("km", "km~v2"):
        assert cli_main(["runs", "delete", run, "--store", store_uri, "--db", db_url]) == 2
        err = capsys.readouterr().err
        assert f"{run}: not deleted" in err and "reference this version" in err
        assert store.has_part(RUNS, RUNS.part(run_id=run))  # nothing lost
    # a cluster verdict alone refuses too (superseded ones count)
    db = get_database(db_url)
    ada = get_user(db, "ada")
    repository.record_cluster_verdict(db, ada, run_id="gmm", cluster=0, verdict="mixed")
    assert cli_main(["runs", "delete", "gmm", "--store", store_uri, "--db", db_url]) == 2
    assert "1 cluster verdict" in capsys.readouterr().err
    # without verdicts (a fresh database) the version goes, runs row and all
    other = sqlite_url(tmp_path / "empty.sqlite")
    get_database(other).dispose()
    store.write_part(CENTROID_PROJECTIONS, CENTROID_PROJECTIONS.part(run_id="km~v2"), pd.DataFrame({
        "run_id": ["km~v2"], "space": ["classical17"], "kind": ["pca"], "dims": [2], "cluster": [0], "x": [0.0],
        "y": [0.0], "z": [None]}))
    store.write_bytes("models/km~v2.joblib", b"model")
    run = store.read_part(RUNS, RUNS.part(run_id="km~v2"))
    run["model_key"] = "models/km~v2.joblib"
    store.write_part(RUNS, RUNS.part(run_id="km~v2"), run)
    assert cli_main(["runs", "delete", "km~v2", "--store", store_uri, "--db", other]) == 0
    out = capsys.readouterr()
    assert "deleted run km~v2 (no verdict in sqlite:///" in out.err
    for table in (RUNS, CLUSTERINGS, CLUSTERS, CENTROID_PROJECTIONS):
        assert not store.has_part(table, table.part(run_id="km~v2"))
    assert not store.exists("models/km~v2.joblib")
    assert store.has_part(RUNS, RUNS.part(run_id="km"))  # the other version stays
    assert store.read_manifest()["version"] > before
    assert StoreData(store_uri).latest_runs() == ["gmm", "km"]
    # unknown run: a clear error naming it
    assert cli_main(["runs", "delete", "nope", "--store", store_uri, "--db", other]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_delete_without_a_database_file_creates_none(store_uri, tmp_path, capsys):
    # the store's default database does not exist: the verdicts cannot be checked, so deleting is
    # refused unless the user says there are none; no file is created by looking
    default_db = tmp_path / "store" / "sectionist.sqlite"
    assert not default_db.exists()
    assert cli_main(["runs", "delete", "gmm", "--store", store_uri]) == 2
    assert "no judgement database found" in capsys.readouterr().err
    assert store_uri and (tmp_path / "store" / "runs" / "gmm.parquet").exists()
    assert cli_main(["runs", "delete", "gmm", "--store", store_uri, "--no-database"]) == 0
    assert not default_db.exists()
    err = capsys.readouterr().err
    assert f"no judgement database at sqlite:///{default_db}" in err and "say --db URL" in err
    shutil.rmtree(tmp_path / "store" / "runs")
    assert cli_main(["runs", "list", "--store", store_uri]) == 0
    assert "no clustering runs yet" in capsys.readouterr().out
