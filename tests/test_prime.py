"""A web worker reads the store's tables when it starts (sectionist/dashboard/data/prime.py), so that its
first visitors' callbacks find them read; a step that fails is noted, never raised."""

from __future__ import annotations

import pytest
from synthetic_store import build_synthetic_store

from sectionist.dashboard.data.prime import prime, prime_in_background
from sectionist.dashboard.data.store_data import StoreData


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_synthetic_store(tmp_path_factory.mktemp("prime") / "store", n_sections=24, sections_per_song=6,
                                 section_seconds=3.0, random_state=4)


def _no_more_reads(data, monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the store was read again after priming")

    for name in ("read_table", "read_part"):
        monkeypatch.setattr(data.store, name, refuse)


def test_prime_reads_what_the_pages_use_once(store, monkeypatch):
    data = StoreData(store.uri, check_interval=3600)
    out = prime(data)
    assert out["failed"] == [] and out["seconds"] >= 0
    _no_more_reads(data, monkeypatch)
    runs = list(data.runs.index)
    assert runs
    # what the pages' first callbacks ask for, answered from the caches
    assert len(data.features) == data.n_sections == 24
    for run_id in runs:
        assert len(data.run_arrays(run_id).label) == 24
        assert len(data.clusters(run_id))
        assert data.cluster_profile(run_id) is not None  # what the default cluster names are made from
    # the Compare page's first pair, and every other pair (either order) of a store this small
    for a in runs:
        for b in runs:
            if a != b:
                assert 0 <= data.comparison(a, b)["agreement"] <= 1
    row = next(data.projection_catalog[data.projection_catalog["dims"] == 2].itertuples())
    assert data.projection(row.space, row.kind, 2).xyz.shape[0] == 24


def test_a_failing_step_is_noted_and_the_rest_primed(store, monkeypatch):
    data = StoreData(store.uri, check_interval=3600)
    first = str(data.runs.index[0])

    def damaged(run_id):
        raise OSError(f"{run_id}: damaged part")

    monkeypatch.setattr(data, "run_arrays", damaged)
    out = prime(data)
    assert f"run {first}" in out["failed"]
    assert "features" not in out["failed"]


def test_prime_in_background_runs_on_a_daemon_thread(store, monkeypatch):
    data = StoreData(store.uri, check_interval=3600)
    thread = prime_in_background(data)
    assert thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
    _no_more_reads(data, monkeypatch)
    assert len(data.features) == 24


def test_a_large_store_aligns_only_the_first_pair(store, monkeypatch):
    import sectionist.dashboard.data.prime as prime_module

    monkeypatch.setattr(prime_module, "PRIME_PAIRS_SECTIONS", 10)  # the 24-section store counts as large
    data = StoreData(store.uri, check_interval=3600)
    assert prime(data)["failed"] == []
    runs = list(data.runs.index)
    assert set(data._cache.comparisons) == {(runs[0], runs[1])}


def test_extra_steps_run_and_a_failing_one_is_noted(store):
    from sectionist.dashboard.ui.figures.common import build_each_trace_type

    ran = []

    def broken():
        raise RuntimeError("no")

    out = prime(StoreData(store.uri, check_interval=3600),
                also=[("plotly", build_each_trace_type), ("mine", lambda: ran.append(1)), ("broken", broken)])
    assert ran == [1] and out["failed"] == ["broken"]
