"""The web app's store cache under gthread workers (docs/serving.md): sixteen request threads read
the same cold arrays, tables and memos at once, while the store gets a new version and other threads
drop the cache, and every answer is whole and equal to the one a single thread gets."""

from __future__ import annotations

import threading

import numpy as np
from synthetic_store import RUNS, build_synthetic_store

from sectionist.dashboard.data.store_data import StoreData

THREADS = 16


def _read_all(data: StoreData, sid: str) -> dict:
    run = RUNS[0][0]
    arr = data.run_arrays(run)
    proj = data.projection("classical17", "umap", 2)
    return {"labels": arr.label.copy(), "xy": np.asarray(proj.xyz).copy(), "clusters": sorted(data.clusters(run).index),
            "section": data.section(sid)["start_s"], "memo": data.memo("answer", run, lambda: len(data.sections)),
            "n": data.n_sections}


def test_threads_reading_a_cold_cache_while_the_store_changes_version(tmp_path):
    store = build_synthetic_store(tmp_path / "store", n_sections=200, sections_per_song=20, random_state=4)
    sid = store.read_table("sections")["section_id"].iloc[17]
    expected = _read_all(StoreData(store.uri, check_interval=3600), sid)

    data = StoreData(store.uri, check_interval=0.0)  # every call looks at the manifest's version
    start = threading.Barrier(THREADS + 1)
    results, errors = [], []

    def reader():
        start.wait()
        try:
            for _ in range(5):
                results.append(_read_all(data, sid))
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(THREADS)]
    for t in threads:
        t.start()
    start.wait()
    for _ in range(3):  # new versions while they read: each drops the whole cache
        store.update_manifest(lambda m: m)
        data.refresh(force=True)
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(results) == THREADS * 5
    for got in results:
        np.testing.assert_array_equal(got["labels"], expected["labels"])
        np.testing.assert_array_equal(got["xy"], expected["xy"])
        assert got["clusters"] == expected["clusters"] and got["section"] == expected["section"]
        assert got["memo"] == got["n"] == expected["n"]
    assert data.version == store.read_manifest()["version"]
