"""The most useful next question (issue 22): the ``informative`` queue (sections nearest a cluster
border, in a guided version's learned metric) and the ``pairs`` queue (a border section and a
prototype across the border)."""

from __future__ import annotations

import numpy as np
import pytest
from guided_store import make_guided_store, truth

from sectionist.analysis.modeling.constraints import Constraints
from sectionist.analysis.modeling.guided import guide_run
from sectionist.dashboard.data.store_data import StoreData
from sectionist.dashboard.judging import queues

PARENT = "classical17-kmeans-k3"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    store = make_guided_store(tmp_path_factory.mktemp("guided-queues") / "store")
    tr = truth(store)
    ids = list(tr.index)
    rng = np.random.default_rng(5)
    rows = []
    for i in range(40):
        a, b = rng.choice(len(ids), 2, replace=False)
        rows.append((ids[a], ids[b], "same" if tr.iloc[a] == tr.iloc[b] else "different", f"r{i}"))
    guide_run(store, PARENT, Constraints.from_pairs(rows))
    return StoreData(store.root)


def test_margins_to_border_on_a_line():
    X = np.array([[0.0], [1.0], [9.0], [10.0], [5.0], [4.0]])
    labels = np.array([0, 0, 1, 1, 0, -1])
    margin, other = queues.margins_to_border(X, labels)
    # centres: cluster 0 at 2, cluster 1 at 9.5; the row at 5 is 3 from its centre and 4.5 from the other
    assert margin[4] == pytest.approx((4.5 - 3.0) / 4.5)
    assert margin[0] == pytest.approx((9.5 - 2.0) / 9.5)
    assert np.isnan(margin[5]) and other[5] == -1
    assert list(other[:5]) == [1, 1, 0, 0, 1]


def test_informative_queue_is_nearest_the_border_first_and_skips_answered(data):
    margin, other = queues.border_margins(data, PARENT)
    q = queues.build_queue(data, PARENT, "informative", n=10)
    pos = data.positions([item["section_id"] for item in q])
    assert len(q) == 10 and np.all(np.diff(margin[pos]) >= 0)
    assert margin[pos[0]] == np.nanmin(margin)
    again = queues.build_queue(data, PARENT, "informative", n=10, exclude={q[0]["section_id"]})
    assert again[0]["section_id"] == q[1]["section_id"]
    assert "informative" in queues.STRATEGIES


def test_a_guided_version_measures_margins_in_its_learned_metric(data):
    guided = f"{PARENT}~v2"
    X, _ = data.space_vectors("classical17")
    w = queues.run_weights(data, guided, X.shape[1])
    assert w is not None and len(w) == 17 and w.std() > 0.1  # the answers weighed the columns
    assert queues.run_weights(data, PARENT, X.shape[1]) is None
    labels = data.run_arrays(guided).label
    margin, _ = queues.border_margins(data, guided)
    weighted, _ = queues.margins_to_border(X.astype(np.float64) * w, labels)
    plain, _ = queues.margins_to_border(X.astype(np.float64), labels)
    assert np.allclose(margin, weighted, equal_nan=True) and not np.allclose(margin, plain, equal_nan=True)


def test_pair_queue_pairs_border_sections_with_prototypes_across(data):
    margin, other = queues.border_margins(data, PARENT)
    pairs = queues.build_pair_queue(data, PARENT, n=8)
    assert len(pairs) == 8
    clusters = data.clusters(PARENT)
    firsts = [p["section_a"] for p in pairs]
    assert len(set(firsts)) == len(firsts)
    for p in pairs:
        i = data.position(p["section_a"])
        assert p["cluster_b"] == other[i] != p["cluster_a"]
        assert p["section_b"] in list(clusters.at[p["cluster_b"], "prototypes"])
    assert np.all(np.diff(margin[data.positions(firsts)]) >= 0)
    # answered pairs are not asked again: the next prototype of that cluster is offered instead
    first = pairs[0]
    answered = {tuple(sorted((first["section_a"], first["section_b"])))}
    again = queues.build_pair_queue(data, PARENT, n=8, exclude=answered)
    assert again[0]["section_a"] == first["section_a"] and again[0]["section_b"] != first["section_b"]


def test_without_vectors_the_stored_confidence_is_the_margin(tmp_path):
    from judge_store import make_judge_store

    data = StoreData(make_judge_store(tmp_path / "store"))
    assert data.space_vectors("classical17") is None  # this store has no features table
    arr = data.run_arrays("km")
    q = queues.build_queue(data, "km", "informative", n=30)
    conf = arr.confidence[data.positions([item["section_id"] for item in q])]
    assert len(q) == 30 and np.all(np.diff(conf) >= 0)
    pairs = queues.build_pair_queue(data, "km", n=6)
    assert len(pairs) == 6 and all(p["cluster_a"] != p["cluster_b"] for p in pairs)
    assert len({p["cluster_b"] for p in pairs}) >= 2  # the other clusters in turn


def test_sounds_like_lists_the_nearest_sections_in_the_guided_metric(data):
    guided = f"{PARENT}~v2"
    X, _ = data.space_vectors("classical17")
    w = queues.run_weights(data, guided, X.shape[1])
    labels = data.run_arrays(guided).label
    sid = data.section_ids[0]
    near = queues.sounds_like(data, guided, sid, n=5)
    d = np.sqrt((((X - X[0]) * w) ** 2).sum(axis=1))
    d[0] = np.inf
    assert [item["section_id"] for item in near] == list(data.section_ids[np.argsort(d, kind="stable")[:5]])
    assert all(item["distance"] > 0 for item in near) and sid not in {item["section_id"] for item in near}
    own = int(labels[0])
    other = next(c for c in set(labels.tolist()) if c != own)
    only = queues.sounds_like(data, guided, sid, n=50, cluster=other)
    assert only and all(item["cluster"] == other for item in only)
    assert len(only) == int((labels == other).sum())
    assert [i["distance"] for i in only] == sorted(i["distance"] for i in only)
