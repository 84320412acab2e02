"""``sectionist sync`` both ways, and uploads cut mid-way by a connection-dropping proxy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from s3_fixtures import flaky_proxy, moto_endpoint, object_bytes, s3  # noqa: F401  (fixtures)

from sectionist.analysis.errors import StoreError
from sectionist.cli import build_parser
from sectionist.cli import main as cli_main
from sectionist.store import MANIFEST, LocalStore, open_store
from sectionist.store.s3 import S3Store
from sectionist.store.sync import sync


def _make_store(root, n_songs=3, rows=6000, seed=0):
    """A local store like the pipeline's: parts first, manifest last."""
    rng = np.random.default_rng(seed)
    store = LocalStore(root)
    for i in range(n_songs):
        song = f"song{i}"
        store.write_part("features", song, pd.DataFrame({
            "section_id": [f"{song}-{j:05d}" for j in range(rows)],
            "song_id": song,
            # random floats barely compress: parts of ~100 kB, larger than the proxy's cut interval
            "rms_median": rng.random(rows).astype(np.float32),
            "zcr_median": rng.random(rows).astype(np.float32),
            "centroid_median": rng.random(rows).astype(np.float32),
        }))
        store.write_part("songs", song, pd.DataFrame({"song_id": [song], "title": [f"Song {i}"]}))
    store.write_manifest({"config": {"hash": f"cfg{seed}"}, "songs": {}})
    return store


def _local_files(store: LocalStore) -> dict[str, bytes]:
    return {k: store.local_path(k).read_bytes() for k in store.list()}


def test_sync_local_to_s3_and_back(s3, tmp_path):
    local = _make_store(tmp_path / "src")
    result = sync(str(local.root), s3.uri(), progress=False)
    assert len(result["copied"]) == 6 and result["skipped"] == []
    remote = object_bytes(s3.client, s3.bucket, "store")
    src_files = _local_files(local)
    assert set(remote) == set(src_files)
    for key, data in src_files.items():
        if key != MANIFEST:
            assert remote[key] == data
    assert json.loads(remote[MANIFEST])["config"] == {"hash": "cfg0"}

    back = tmp_path / "back"
    result = sync(s3.uri(), str(back), progress=False)
    assert len(result["copied"]) == 6
    copy = LocalStore(back)
    pd.testing.assert_frame_equal(copy.read_table("features"), local.read_table("features"))
    assert copy.read_manifest()["config"] == {"hash": "cfg0"}

    # nothing changed: nothing copied, manifest left alone
    version = open_store(s3.uri()).read_manifest()["version"]
    result = sync(str(local.root), s3.uri(), progress=False)
    assert result["copied"] == [] and len(result["skipped"]) == 6
    assert open_store(s3.uri()).read_manifest()["version"] == version


def test_sync_copies_only_changes_and_raises_the_version(s3, tmp_path):
    local = _make_store(tmp_path / "src")
    sync(str(local.root), s3.uri(), progress=False)
    remote = open_store(s3.uri(), cache=False)
    v1 = remote.read_manifest()["version"]
    local.write_part("songs", "song1", pd.DataFrame({"song_id": ["song1"], "title": ["Renamed"]}))
    local.write_manifest(local.read_manifest())
    s3.client.put_object(Bucket=s3.bucket, Key="store/stale/old.parquet", Body=b"old")

    dry = sync(str(local.root), s3.uri(), delete=True, dry_run=True, progress=False)
    assert dry["copied"] == ["songs/song1.parquet"] and dry["deleted"] == ["stale/old.parquet"]
    assert remote.exists("stale/old.parquet")  # a dry run changes nothing

    result = sync(str(local.root), s3.uri(), delete=True, progress=False)
    assert result["copied"] == ["songs/song1.parquet"] and result["deleted"] == ["stale/old.parquet"]
    assert not remote.exists("stale/old.parquet")
    assert remote.read_part("songs", "song1")["title"].iloc[0] == "Renamed"
    assert remote.read_manifest()["version"] > v1


def test_sync_refuses_an_incomplete_source(s3, tmp_path):
    local = _make_store(tmp_path / "src")
    local.delete(MANIFEST)
    with pytest.raises(StoreError, match="not a complete store"):
        sync(str(local.root), s3.uri(), progress=False)
    assert object_bytes(s3.client, s3.bucket, "store") == {}


def test_sync_command_line(s3, tmp_path, capsys):
    local = _make_store(tmp_path / "src", n_songs=1, rows=10)
    assert cli_main(["sync", str(local.root), s3.uri("cli"), "--s3-endpoint", s3.endpoint, "-q"]) == 0
    out = capsys.readouterr().out
    assert "copied 2 files" in out and s3.uri("cli") in out
    assert open_store(s3.uri("cli")).list_parts("features") == ["song0"]


def test_sync_is_a_registered_command():
    args = build_parser().parse_args(["sync", "a", "s3://bucket-x/y", "--delete"])
    assert args.delete and args.dst == "s3://bucket-x/y"


# ---- fault injection: connections cut in the middle of uploads ---------------------------------------
def _write_like_the_pipeline(store, parts: dict[str, pd.DataFrame]) -> None:
    for song, df in parts.items():
        store.write_part("features", song, df)
    store.write_manifest({"config": {"hash": "new"}})


def _check_no_half_objects(s3, prefix: str, expected: dict[str, bytes]) -> dict[str, bytes]:
    """Every object under the prefix is byte-identical to what was meant to be written there."""
    remote = object_bytes(s3.client, s3.bucket, prefix)
    for key, data in remote.items():
        if key != MANIFEST:
            assert data == expected[key], f"{key}: {len(data)} bytes on the server, {len(expected[key])} meant"
    return remote


def test_dropped_uploads_never_leave_a_complete_looking_store(s3, flaky_proxy, tmp_path):
    local = _make_store(tmp_path / "src", n_songs=4)
    expected = _local_files(local)
    parts = {song: local.read_part("features", song) for song in local.list_parts("features")}
    intended = {}
    for song, df in parts.items():  # the bytes write_part produces for these frames
        scratch = LocalStore(tmp_path / "scratch")
        scratch.write_part("features", song, df)
        intended[f"features/{song}.parquet"] = scratch.local_path(f"features/{song}.parquet").read_bytes()
    del expected

    # no retries at all: the first cut connection fails the run
    flaky_proxy.arm(drops=1, every=150_000)
    fragile = S3Store(s3.uri(), endpoint_url=flaky_proxy.endpoint, attempts=1, max_attempts=1, cache=False)
    with pytest.raises(StoreError, match="connection to S3 .* kept failing|cannot reach"):
        _write_like_the_pipeline(fragile, parts)
    assert flaky_proxy.cuts == 1
    remote = _check_no_half_objects(s3, "store", intended)
    assert MANIFEST not in remote  # the store does not look complete
    assert len(remote) < len(parts)  # the cut really happened before the end

    # with retries (botocore's and ours) the same cuts are survived and the store completes
    flaky_proxy.arm(drops=3, every=150_000)
    sturdy = S3Store(s3.uri(), endpoint_url=flaky_proxy.endpoint, cache=False)
    _write_like_the_pipeline(sturdy, parts)
    assert flaky_proxy.cuts == 4
    remote = _check_no_half_objects(s3, "store", intended)
    assert set(remote) == set(intended) | {MANIFEST}
    assert json.loads(remote[MANIFEST])["config"] == {"hash": "new"}


def test_interrupted_sync_keeps_the_old_manifest_and_a_rerun_completes(s3, flaky_proxy, tmp_path):
    old = _make_store(tmp_path / "old", n_songs=2, seed=0)
    sync(str(old.root), s3.uri(), progress=False)
    old_manifest = open_store(s3.uri(), cache=False).read_manifest()

    new = _make_store(tmp_path / "new", n_songs=4, seed=1)
    expected = _local_files(new)
    flaky_proxy.arm(drops=1, every=250_000)
    with pytest.raises(StoreError):
        sync(str(new.root), s3.uri(), endpoint_url=flaky_proxy.endpoint, progress=False,
             dst_options={"attempts": 1, "max_attempts": 1})
    remote = object_bytes(s3.client, s3.bucket, "store")
    assert json.loads(remote[MANIFEST]) == old_manifest  # still the old, complete store's manifest
    for key, data in remote.items():  # each object is wholly old or wholly new
        if key != MANIFEST:
            assert data == expected[key] or data == old.local_path(key).read_bytes()
    assert any(remote.get(k) != v for k, v in expected.items() if k != MANIFEST)  # unfinished

    flaky_proxy.arm(drops=2, every=30_000)  # parts are ~100 kB: each cut lands inside one
    result = sync(str(new.root), s3.uri(), endpoint_url=flaky_proxy.endpoint, progress=False)
    assert flaky_proxy.cuts == 3 and result["copied"]
    remote = object_bytes(s3.client, s3.bucket, "store")
    for key, data in expected.items():
        if key != MANIFEST:
            assert remote[key] == data
    manifest = json.loads(remote[MANIFEST])
    assert manifest["config"] == {"hash": "cfg1"} and manifest["version"] > old_manifest["version"]


def test_sync_uploads_the_songs_and_points_the_store_at_them(s3, tmp_path):
    from synthetic_store import build_synthetic_store

    local = build_synthetic_store(tmp_path / "store", n_sections=8, sections_per_song=4, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=1)
    local.write_manifest(local.read_manifest())
    songs = local.read_table("songs")
    songs_uri = f"s3://{s3.bucket}/media/songs"
    result = sync(str(local.root), s3.uri(), songs_to=songs_uri, progress=False)
    assert sorted(result["songs"]) == sorted(f"{songs_uri}/{sid}.wav" for sid in songs["song_id"])
    remote = open_store(s3.uri(), cache=False)
    remote_songs = remote.read_table("songs").set_index("song_id")
    for row in songs.itertuples():
        uri = remote_songs.loc[row.song_id, "uri"]
        assert uri == f"{songs_uri}/{row.song_id}.wav"
        body = s3.client.get_object(Bucket=s3.bucket, Key=f"media/songs/{row.song_id}.wav")["Body"].read()
        assert body == open(row.uri, "rb").read()
    # the local store is untouched, the other tables are copied as they are
    assert not local.read_table("songs")["uri"].str.startswith("s3://").any()
    assert remote.read_table("sections").equals(local.read_table("sections"))

    again = sync(str(local.root), s3.uri(), songs_to=songs_uri, progress=False)
    assert again["songs"] == [] and again["copied"] == []  # the rewritten parts are already there

    with pytest.raises(StoreError, match="cannot be read"):
        missing = LocalStore(tmp_path / "broken")
        missing.write_part("songs", "x", pd.DataFrame({"song_id": ["x"], "uri": [str(tmp_path / "gone.wav")]}))
        missing.write_manifest({})
        sync(str(missing.root), s3.uri("broken"), songs_to=songs_uri, progress=False)
