"""The read-through cache of S3 stores: hits, size limit, invalidation by the manifest version."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
from s3_fixtures import moto_endpoint, s3  # noqa: F401  (fixtures)

from sectionist.analysis.errors import ParameterError
from sectionist.store import open_store
from sectionist.store.cache import ReadThroughCache, cache_dir_for


def _part(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"section_id": [f"s{seed}-{i:05d}" for i in range(n)],
                         "rms_median": rng.random(n).astype(np.float32)})


def test_second_read_is_served_locally(s3, tmp_path):
    writer = open_store(s3.uri(), cache=False)
    writer.write_part("features", "a", _part(100, 1))
    writer.write_manifest({})
    reader = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c", cache_ttl=3600)
    first = reader.read_part("features", "a")
    assert reader.cache.stats.misses == 1 and reader.cache.stats.hits == 0
    # remove the object behind the cache's back: a hit must not need the server
    s3.client.delete_object(Bucket=s3.bucket, Key="store/features/a.parquet")
    second = reader.read_part("features", "a")
    pd.testing.assert_frame_equal(first, second)
    assert reader.cache.stats.hits == 1


def test_new_manifest_version_invalidates(s3, tmp_path):
    writer = open_store(s3.uri(), cache=False)
    writer.write_part("features", "a", _part(50, 1))
    writer.write_manifest({})
    reader = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c", cache_ttl=0)
    assert reader.read_part("features", "a")["section_id"].iloc[0] == "s1-00000"
    assert reader.cache.version == 1

    # a part replaced without a new manifest is not yet part of a complete store: still the old one
    writer.write_part("features", "a", _part(50, 2))
    assert reader.read_part("features", "a")["section_id"].iloc[0] == "s1-00000"
    assert reader.cache.stats.hits == 1

    writer.write_manifest(writer.read_manifest())  # version 2: the analysis finished
    assert reader.read_part("features", "a")["section_id"].iloc[0] == "s2-00000"
    assert reader.cache.version == 2 and reader.cache.stats.invalidations == 1
    names = sorted(p.name for p in reader.cache.directory.iterdir())
    assert len(names) == 1 and names[0].startswith("v2-")


def test_version_is_checked_at_most_once_per_ttl(s3, tmp_path):
    writer = open_store(s3.uri(), cache=False)
    writer.write_part("features", "a", _part(10, 1))
    writer.write_manifest({})
    reader = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c")
    now = [1000.0]
    reader.cache = ReadThroughCache(reader.cache.directory, ttl=30.0, clock=lambda: now[0])
    reader.read_part("features", "a")
    writer.write_part("features", "a", _part(10, 2))
    writer.write_manifest(writer.read_manifest())
    now[0] += 29.0  # within the TTL the old version is trusted: no manifest request at all
    assert reader.read_part("features", "a")["section_id"].iloc[0] == "s1-00000"
    now[0] += 1.0
    assert reader.read_part("features", "a")["section_id"].iloc[0] == "s2-00000"
    assert reader.cache.version == 2


def test_size_limit_evicts_least_recently_used(s3, tmp_path):
    writer = open_store(s3.uri(), cache=False)
    for i in range(5):
        writer.write_part("features", f"p{i}", _part(2000, i))
    writer.write_manifest({})
    part_size = s3.client.head_object(Bucket=s3.bucket, Key="store/features/p0.parquet")["ContentLength"]
    limit = int(part_size * 3.5)
    reader = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c", cache_max_bytes=limit, cache_ttl=3600)
    for i in range(3):
        reader.read_part("features", f"p{i}")
        time.sleep(0.02)  # distinct modification times for the LRU order
    reader.read_part("features", "p0")  # p0 is now the most recently used
    time.sleep(0.02)
    for i in (3, 4):
        reader.read_part("features", f"p{i}")
        time.sleep(0.02)
        assert reader.cache.size() <= limit
    assert reader.cache.stats.evictions == 2
    hits = reader.cache.stats.hits
    reader.read_part("features", "p0")  # kept: recently used
    assert reader.cache.stats.hits == hits + 1
    misses = reader.cache.stats.misses
    reader.read_part("features", "p1")  # evicted first: least recently used
    assert reader.cache.stats.misses == misses + 1


def test_cache_folder_is_shared_between_processes(s3, tmp_path):
    writer = open_store(s3.uri(), cache=False)
    writer.write_part("features", "a", _part(10, 1))
    writer.write_manifest({})
    first = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c")
    first.read_part("features", "a")
    second = open_store(s3.uri(), create=False, cache_dir=tmp_path / "c")  # another gunicorn worker
    assert second.cache.directory == first.cache.directory
    second.read_part("features", "a")
    assert second.cache.stats.hits == 1 and second.cache.stats.misses == 0


def test_env_configures_the_cache(s3, tmp_path):
    """The variables reach the store through the settings (the store itself reads none)."""
    from sectionist.settings import Settings, SettingsError

    env = {"SECTIONIST_S3_CACHE_DIR": str(tmp_path / "env-cache")}
    writer = open_store(s3.uri(), **Settings.from_env(env).store_options())
    assert writer.cache is not None
    assert str(writer.cache.directory).startswith(str(tmp_path / "env-cache"))
    assert open_store(s3.uri(), **Settings.from_env({**env, "SECTIONIST_S3_CACHE_MB": "2"}).store_options()) \
        .cache.max_bytes == 2 << 20
    assert open_store(s3.uri(), **Settings.from_env({**env, "SECTIONIST_S3_CACHE_MB": "0"}).store_options()).cache is None
    assert open_store(s3.uri(), cache_max_bytes=0).cache is None
    with pytest.raises(SettingsError, match="SECTIONIST_S3_CACHE_MB"):
        Settings.from_env({"SECTIONIST_S3_CACHE_MB": "lots"})


def test_cache_unit(tmp_path):
    with pytest.raises(ParameterError, match="max_bytes"):
        ReadThroughCache(tmp_path, max_bytes=0)
    with pytest.raises(ParameterError, match="ttl"):
        ReadThroughCache(tmp_path, ttl=-1)
    cache = ReadThroughCache(cache_dir_for(tmp_path, "s3://b/p"), max_bytes=100)
    assert cache.get("k") is None and not cache.put("k", b"x")  # no version seen yet: nothing cached
    cache.observe_version(3)
    assert cache.put("k", b"x" * 10) and cache.get("k") == b"x" * 10
    assert not cache.put("big", b"x" * 101)  # larger than the whole limit
    cache.invalidate("k")
    assert cache.get("k") is None
    cache.put("k", b"y")
    cache.clear()
    assert cache.size() == 0 and not [p for p in os.listdir(cache.directory) if not p.startswith(".")]
