"""``sectionist runs delete`` (issue 24, item 8): the run id is checked before anything changes, a
version whose clusters experts named is kept unless ``--with-names`` deletes the names with it, and
the command says exactly what it removed (or, stopped part way, what it had removed)."""

from __future__ import annotations

import pandas as pd
import pytest
from judge_store import labels, make_judge_store, section_ids
from version_store import add_run_version

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.cli import main as cli_main
from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.judging import repository
from sectionist.dashboard.judging.runs_cli import check_run_id, delete_run
from sectionist.dashboard.models import get_database, sqlite_url
from sectionist.store import open_store
from sectionist.store.schema import CLUSTERINGS, CLUSTERS, RUN_TABLES, RUNS

IDS = section_ids()


@pytest.fixture
def store_uri(tmp_path):
    uri = make_judge_store(tmp_path / "store")
    add_run_version(open_store(uri), "km", pd.Series(labels("km"), index=IDS))
    return uri


@pytest.fixture
def db_url(tmp_path):
    """Experts, a verdict on ``km`` and none on ``gmm`` or ``km~v2``."""
    url = sqlite_url(tmp_path / "judge.sqlite")
    db = get_database(url)
    create_user(db, "ada", "expert")
    repository.record_judgement(db, get_user(db, "ada"), run_id="km", section_id=IDS[0], cluster=int(labels("km")[0]),
                                verdict="agree")
    return url


def _files(root) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _name(db_url, run_id, cluster, name):
    db = get_database(db_url)
    repository.record_cluster_name(db, get_user(db, "ada"), run_id=run_id, cluster=cluster, name=name)


@pytest.mark.parametrize("bad", ["../../etc", "..", "", "a/b", ".hidden", "km~v1", "km~v0", "km~vx", "km run"])
def test_a_name_that_is_no_run_id_changes_nothing(store_uri, db_url, tmp_path, capsys, bad):
    root = tmp_path / "store"
    before = _files(root)
    assert cli_main(["runs", "delete", bad, "--store", store_uri, "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "not a run id" in err or "version 1 of a lineage is its plain id" in err
    assert "stopped part way" not in err and "runs row is gone" not in err
    assert _files(root) == before  # not even the manifest moved
    with pytest.raises(ParameterError):
        check_run_id(bad)


def test_an_unknown_run_id_changes_nothing_and_says_so(store_uri, db_url, tmp_path, capsys):
    root = tmp_path / "store"
    before = _files(root)
    for run in ("nope", "km~v7"):
        assert cli_main(["runs", "delete", run, "--store", store_uri, "--db", db_url]) == 2
        err = capsys.readouterr().err
        assert f"no run '{run}'" in err and "runs: gmm, km, km~v2" in err and "part way" not in err
    assert _files(root) == before
    assert check_run_id("classical17-gmm-auto-79d030~v3") == ("classical17-gmm-auto-79d030", 3)


def test_a_version_with_only_cluster_names_is_kept_unless_with_names(store_uri, db_url, capsys):
    _name(db_url, "gmm", 0, "loud")
    _name(db_url, "gmm", 0, "very loud")  # a rename: two rows, one current
    _name(db_url, "gmm", 2, "quiet")
    store = open_store(store_uri)
    assert cli_main(["runs", "delete", "gmm", "--store", store_uri, "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "gmm: not deleted: experts named 2 clusters of this version (3 name rows" in err and "--with-names" in err
    assert store.has_part(RUNS, RUNS.part(run_id="gmm")) and store.has_part(CLUSTERS, CLUSTERS.part(run_id="gmm"))
    db = get_database(db_url)
    assert repository.current_cluster_names(db, "gmm") == {0: "very loud", 2: "quiet"}

    assert cli_main(["runs", "delete", "gmm", "--store", store_uri, "--db", db_url, "--with-names"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == ["runs/gmm.parquet", "clusterings/gmm.parquet", "clusters/gmm.parquet"]
    assert f"3 files removed from {store.uri}: runs (1), clusterings (1), clusters (1)" in out.err
    assert "deleted the experts' names of 2 clusters of gmm (3 rows, history included)" in out.err
    assert not any(store.has_part(t, t.part(run_id="gmm")) for t in RUN_TABLES)
    assert repository.cluster_name_counts(db, "gmm") == (0, 0)
    # --with-names never overrides verdicts
    _name(db_url, "km", 1, "drums")
    assert cli_main(["runs", "delete", "km", "--store", store_uri, "--db", db_url, "--with-names"]) == 2
    assert "1 verdict on sections" in capsys.readouterr().err
    assert repository.current_cluster_names(db, "km") == {1: "drums"}


def test_names_left_by_an_earlier_delete_are_named_and_removable(store_uri, db_url, capsys):
    _name(db_url, "gone~v2", 1, "orphan")  # the names an earlier version of this command left behind
    assert cli_main(["runs", "delete", "gone~v2", "--store", store_uri, "--db", db_url]) == 2
    assert "no run 'gone~v2'" in (err := capsys.readouterr().err) and "1 cluster-name row of it" in err
    assert cli_main(["runs", "delete", "gone~v2", "--store", store_uri, "--db", db_url, "--with-names"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "0 files removed" in out.err and "names of 1 cluster of gone~v2 (1 row" in out.err
    assert repository.cluster_name_counts(get_database(db_url), "gone~v2") == (0, 0)


def test_a_delete_that_stops_part_way_says_what_it_removed(store_uri, db_url, monkeypatch):
    _name(db_url, "km~v2", 0, "kept")
    store = open_store(store_uri)
    real = store.delete_part

    def failing(table, part):
        if table == CLUSTERS:
            raise StoreError("disk says no")
        return real(table, part)

    monkeypatch.setattr(store, "delete_part", failing)
    db = get_database(db_url)
    with pytest.raises(StoreError) as exc:
        delete_run(store, "km~v2", db, with_names=True)
    msg = str(exc.value)
    assert "disk says no" in msg and "removed so far: runs/km~v2.parquet, clusterings/km~v2.parquet" in msg
    assert "its runs row is gone" in msg and "no cluster name was deleted" in msg
    assert store.has_part(CLUSTERS, CLUSTERS.part(run_id="km~v2"))
    assert not store.has_part(CLUSTERINGS, CLUSTERINGS.part(run_id="km~v2"))
    assert repository.current_cluster_names(db, "km~v2") == {0: "kept"}
    # the same call again finishes it (the runs row is gone, the rest is found)
    monkeypatch.setattr(store, "delete_part", real)
    done = delete_run(store, "km~v2", db, with_names=True)
    assert done.parts == ["clusters/km~v2.parquet"] and done.name_rows == 1
    assert not any(store.has_part(t, t.part(run_id="km~v2")) for t in RUN_TABLES)
