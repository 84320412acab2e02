"""The experts' verdicts as constraints (issue 22): section verdicts, cluster verdicts and pairwise answers
stored in PostgreSQL and SQLite become the pairs of :func:`constraints_from_db`, and the guided version
honours every one of them."""

from __future__ import annotations

import shutil

import pytest
from guided_store import make_guided_store, snapshot

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.guided import guide_run
from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.judging import repository
from sectionist.dashboard.judging.guidance import N_PROTOTYPES, constraints_from_db
from sectionist.dashboard.models import Database, sqlite_url
from sectionist.store import open_store
from sectionist.store.schema import CLUSTERINGS, CLUSTERS

PARENT = "classical17-kmeans-k3"


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    return make_guided_store(tmp_path_factory.mktemp("guided-verdicts") / "store").root


@pytest.fixture
def store(tmp_path, _template):
    shutil.copytree(_template, tmp_path / "store")
    return open_store(tmp_path / "store", create=False)


def experts(db):
    for name in ("ada", "bob"):
        create_user(db, name, "expert")
    return get_user(db, "ada"), get_user(db, "bob")


def labels_of(store, run_id) -> dict:
    cl = store.read_part(CLUSTERINGS, run_id, columns=["section_id", "label"])
    return dict(zip(cl["section_id"], cl["label"].astype(int)))


def prototypes(store, run_id, cluster, exclude, n=N_PROTOTYPES):
    cl = store.read_part(CLUSTERS, run_id).set_index("cluster")
    return [s for s in cl.at[cluster, "prototypes"] if s != exclude][:n]


def non_prototype(store, run_id, cluster, skip=()):
    """A section of ``cluster`` that is none of its prototypes."""
    protos = set(store.read_part(CLUSTERS, run_id).set_index("cluster").at[cluster, "prototypes"])
    return next(s for s, c in sorted(labels_of(store, run_id).items()) if c == cluster and s not in protos
                and s not in skip)


def record_verdicts(db, store):
    """Every kind of verdict on the parent; returns the pairs they must become (same, different)."""
    ada, bob = experts(db)
    lab = labels_of(store, PARENT)
    s_agree = non_prototype(store, PARENT, 0)
    s_moved = non_prototype(store, PARENT, 1)
    s_alone = non_prototype(store, PARENT, 2)
    s_changed = non_prototype(store, PARENT, 0, skip={s_agree})
    same, different = set(), set()
    repository.record_judgement(db, ada, run_id=PARENT, section_id=s_agree, verdict="agree", cluster=0)
    same |= {tuple(sorted((s_agree, p))) for p in prototypes(store, PARENT, 0, s_agree)}
    repository.record_judgement(db, bob, run_id=PARENT, section_id=s_moved, verdict="disagree", cluster=1,
                                suggested_cluster=2)
    same |= {tuple(sorted((s_moved, p))) for p in prototypes(store, PARENT, 2, s_moved)}
    different |= {tuple(sorted((s_moved, p))) for p in prototypes(store, PARENT, 1, s_moved)}
    repository.record_judgement(db, bob, run_id=PARENT, section_id=s_alone, verdict="disagree", cluster=2)
    different |= {tuple(sorted((s_alone, p))) for p in prototypes(store, PARENT, 2, s_alone)}
    # a verdict taken back: only the current one counts
    repository.record_judgement(db, ada, run_id=PARENT, section_id=s_changed, verdict="agree", cluster=0)
    repository.record_judgement(db, ada, run_id=PARENT, section_id=s_changed, verdict="unsure", cluster=0)
    # another run's verdicts are not this lineage's
    repository.record_judgement(db, ada, run_id="other-run", section_id=s_alone, verdict="agree", cluster=2)
    a, b = sorted(s for s, c in lab.items() if c == 1)[:2]
    repository.record_pair(db, ada, PARENT, a, b, "different")
    different.add((a, b))
    c, d = sorted(s for s, c in lab.items() if c == 2)[-1], sorted(s for s, c in lab.items() if c == 0)[-1]
    repository.record_pair(db, bob, PARENT, c, d, "same")
    same.add(tuple(sorted((c, d))))
    return same, different


def check_guided(store, db, same, different):
    cons = constraints_from_db(db, store, PARENT)
    assert cons.must == same and cons.cannot == different
    report = guide_run(store, PARENT, lambda parent: constraints_from_db(db, store, parent["run_id"]))
    lab = labels_of(store, report.run_id)
    assert all(lab[a] == lab[b] for a, b in same) and all(lab[a] != lab[b] for a, b in different)
    assert report.constraints_satisfied == report.constraints_total == len(same) + len(different)
    return report


def test_verdicts_stored_in_postgresql_become_constraints_the_guided_version_honours(pg_server, store):
    db = Database(pg_server.create_database("guided_verdicts"))
    try:
        same, different = record_verdicts(db, store)
        report = check_guided(store, db, same, different)
        # the guided version is of the lineage: a pair answered on it counts with the parent's verdicts
        lab = labels_of(store, report.run_id)
        x, y = sorted(s for s, c in lab.items() if c == 0)[:2]
        repository.record_pair(db, get_user(db, "ada"), report.run_id, x, y, "different")
        later = constraints_from_db(db, store, report.run_id)
        assert later.cannot == different | {(x, y)} and later.must == same
        assert "pair answer" in later.source("different", x, y) and "by ada" in later.source("different", x, y)
    finally:
        db.dispose()


def test_verdicts_in_sqlite_and_the_guide_command(store, tmp_path, capsys):
    from sectionist.cli import main

    url = sqlite_url(tmp_path / "judgements.sqlite")
    db = Database(url)
    try:
        same, different = record_verdicts(db, store)
    finally:
        db.dispose()
    n = len(same) + len(different)
    assert main(["guide", PARENT, "--store", str(store.root), "--db", url, "-q"]) == 0
    out = capsys.readouterr().out
    assert f"new version: {PARENT}~v2" in out and f"{n} of {n} constraints satisfied" in out
    lab = labels_of(store, f"{PARENT}~v2")
    assert all(lab[a] == lab[b] for a, b in same) and all(lab[a] != lab[b] for a, b in different)


def test_split_and_merge_verdicts_change_k(store, tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    try:
        ada, bob = experts(db)
        repository.record_cluster_verdict(db, ada, run_id=PARENT, cluster=1, verdict="split")
        report = guide_run(store, PARENT, lambda parent: constraints_from_db(db, store, parent["run_id"]))
        assert report.k == 4
        old, new = labels_of(store, PARENT), labels_of(store, report.run_id)
        assert len({new[s] for s, c in old.items() if c == 1}) >= 2  # the cluster was split
        # merging 0 and 2 (both experts, both ways round) on the parent: K − 1 once, with the split: 3
        repository.record_cluster_verdict(db, ada, run_id=PARENT, cluster=0, verdict="merge", merge_with=2)
        repository.record_cluster_verdict(db, bob, run_id=PARENT, cluster=2, verdict="merge", merge_with=0)
        report = guide_run(store, PARENT, lambda parent: constraints_from_db(db, store, parent["run_id"]))
        new = labels_of(store, report.run_id)
        assert report.k == 3
        p0, p2 = prototypes(store, PARENT, 0, None, 1)[0], prototypes(store, PARENT, 2, None, 1)[0]
        assert new[p0] == new[p2]
    finally:
        db.dispose()


def test_contradicting_experts_are_named_and_nothing_is_written(store, tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    try:
        ada, bob = experts(db)
        a, b = sorted(labels_of(store, PARENT))[:2]
        repository.record_pair(db, ada, PARENT, a, b, "same")
        repository.record_pair(db, bob, PARENT, a, b, "different")
        before = snapshot(store.root)
        with pytest.raises(ParameterError, match=r"pair answer #2 by bob .* pair answer #1 by ada.*cannot be both"):
            guide_run(store, PARENT, lambda parent: constraints_from_db(db, store, parent["run_id"]))
        assert snapshot(store.root) == before
    finally:
        db.dispose()
    empty = Database(sqlite_url(tmp_path / "empty.sqlite"))
    try:
        with pytest.raises(ParameterError, match="no constraints to guide"):
            guide_run(store, PARENT, lambda parent: constraints_from_db(empty, store, parent["run_id"]))
    finally:
        empty.dispose()
    assert snapshot(store.root) == before


def test_newest_verdict_wins_when_asked(store, tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    try:
        ada, bob = experts(db)
        a, b = sorted(labels_of(store, PARENT))[:2]
        repository.record_pair(db, ada, PARENT, a, b, "same")
        repository.record_pair(db, bob, PARENT, a, b, "different")
        cons = constraints_from_db(db, store, PARENT, newest_wins=True)
        assert cons.cannot == {(a, b)} and not cons.must
        assert cons.left_out == (f"pair answer #1 by ada on {PARENT}",)
        report = guide_run(store, PARENT, lambda parent: constraints_from_db(db, store, parent["run_id"],
                                                                               newest_wins=True))
        lab = labels_of(store, report.run_id)
        assert lab[a] != lab[b] and report.left_out == cons.left_out
    finally:
        db.dispose()
