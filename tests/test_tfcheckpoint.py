"""The TensorFlow tensor-bundle reader: a hand-built SSTable, then the real musicnn checkpoints."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sectionist.analysis.embeddings import modelcache
from sectionist.analysis.embeddings.tfcheckpoint import (
    TABLE_MAGIC,
    CheckpointError,
    CheckpointReader,
    parse_fields,
    read_sstable,
    read_varint,
)

# ---- a minimal writer of the same formats, to test the reader on known content -----------------


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num: int, wire: int, payload) -> bytes:
    key = varint(num << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        return key + varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<I", payload)
    raise ValueError(wire)


def bundle_entry(dtype: int, shape, offset: int, size: int) -> bytes:
    dims = b"".join(field(2, 2, field(1, 0, d)) for d in shape)
    return (field(1, 0, dtype) + field(2, 2, dims) + (field(4, 0, offset) if offset else b"")
            + field(5, 0, size) + field(6, 5, 0xDEADBEEF))


def block(entries, restart_interval=2) -> bytes:
    out, restarts, prev = bytearray(), [], b""
    for i, (k, v) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(k), len(prev)) and k[shared] == prev[shared]:
                shared += 1
        out += varint(shared) + varint(len(k) - shared) + varint(len(v)) + k[shared:] + v
        prev = k
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def sstable(entries, per_block=3) -> bytes:
    data, index = bytearray(), []
    for i in range(0, len(entries), per_block):
        chunk = entries[i:i + per_block]
        b = block(chunk)
        index.append((chunk[-1][0], varint(len(data)) + varint(len(b))))
        data += b + b"\x00" + b"\x00\x00\x00\x00"  # trailer: no compression, crc (not checked)
    meta = block([])
    meta_off = len(data)
    data += meta + b"\x00" * 5
    ib = block(index)
    index_off = len(data)
    data += ib + b"\x00" * 5
    footer = varint(meta_off) + varint(len(meta)) + varint(index_off) + varint(len(ib))
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", TABLE_MAGIC)
    return bytes(data + footer)


@pytest.fixture
def tiny_bundle(tmp_path, rng):
    tensors = {
        "conv/kernel": rng.standard_normal((3, 2, 1, 4)).astype(np.float32),
        "conv/bias": rng.standard_normal(4).astype(np.float32),
        "conv/bias/Adam": np.zeros(4, np.float32),
        "counter": np.array(7, dtype=np.int64),
        "dense/kernel": rng.standard_normal((5, 3)).astype(np.float64),
        "beta1_power": np.array(0.9, np.float32),
    }
    codes = {np.dtype(np.float32): 1, np.dtype(np.float64): 2, np.dtype(np.int64): 9}
    data, entries = bytearray(), [(b"", field(1, 0, 1))]  # header: num_shards = 1
    for name in sorted(tensors):
        a = tensors[name]
        raw = a.tobytes()
        entries.append((name.encode(), bundle_entry(codes[a.dtype], a.shape, len(data), len(raw))))
        data += raw
    prefix = tmp_path / "model" / ""
    prefix.mkdir()
    (prefix / ".index").write_bytes(sstable(entries))
    (prefix / ".data-00000-of-00001").write_bytes(bytes(data))
    return prefix, tensors


def test_varint_and_fields():
    for v in (0, 1, 127, 128, 300, 2**35 + 5, 2**63 - 1):
        assert read_varint(varint(v), 0) == (v, len(varint(v)))
    msg = field(1, 0, 150) + field(2, 2, b"abc") + field(6, 5, 0x01020304)
    assert parse_fields(msg) == [(1, 0, 150), (2, 2, b"abc"), (6, 5, 0x01020304)]
    with pytest.raises(CheckpointError, match="truncated"):
        parse_fields(field(2, 2, b"abcdef")[:-2])


def test_sstable_prefix_compressed_keys_across_blocks():
    entries = [(f"layer_{i:02d}/kernel".encode(), bytes([i]) * i) for i in range(10)]
    assert read_sstable(sstable(entries, per_block=4)) == entries


def test_bad_magic_is_rejected():
    raw = bytearray(sstable([(b"a", b"1")]))
    raw[-1] ^= 0xFF
    with pytest.raises(CheckpointError, match="magic"):
        read_sstable(bytes(raw))


def test_reader_on_hand_built_bundle(tiny_bundle):
    prefix, tensors = tiny_bundle
    r = CheckpointReader(str(prefix) + "/")
    assert r.names() == sorted(tensors)
    for name, a in tensors.items():
        got = r.get(name)
        assert got.dtype == a.dtype and got.shape == a.shape
        np.testing.assert_array_equal(got, a)
    assert r.entries["conv/bias"].crc32c == 0xDEADBEEF
    assert sorted(r.to_dict()) == ["conv/bias", "conv/kernel", "counter", "dense/kernel"]
    # the folder itself is accepted as the prefix, as musicnn's checkpoints use it
    np.testing.assert_array_equal(CheckpointReader(prefix).get("conv/kernel"), tensors["conv/kernel"])
    with pytest.raises(CheckpointError, match="no variable 'nope'"):
        r.get("nope")


def test_missing_and_truncated_files(tiny_bundle, tmp_path):
    prefix, _ = tiny_bundle
    with pytest.raises(CheckpointError, match="checkpoint index not found"):
        CheckpointReader(tmp_path / "absent" / "x")
    data = prefix / ".data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="beyond the end"):
        CheckpointReader(prefix).get("dense/kernel")


# ---- the real checkpoints of the musicnn wheel ------------------------------------------------------


@pytest.mark.parametrize("model,n_entries,n_vars,n_params", [
    ("MSD_musicnn", 150, 64, 792_079), ("MTT_musicnn", 150, 64, 792_079),
    ("MSD_vgg", 86, 36, 607_030), ("MTT_vgg", 86, 36, 607_030),
])
def test_musicnn_checkpoints(musicnn_cache, model, n_entries, n_vars, n_params):
    r = CheckpointReader(modelcache.musicnn_checkpoint(model))
    assert len(r.entries) == n_entries
    w = r.to_dict()
    assert len(w) == n_vars
    assert sum(v.size for v in w.values()) == n_params
    assert all(v.dtype == np.float32 and np.all(np.isfinite(v)) for v in w.values())
    if model.endswith("musicnn"):
        assert w["conv2d/kernel"].shape == (7, 38, 1, 204)
        assert w["conv2d_5/kernel"].shape == (7, 561, 1, 64)
        assert w["dense/kernel"].shape == (1506, 200)
        assert w["batch_normalization_10/moving_variance"].shape == (200,)
        assert np.all(w["batch_normalization_9/moving_variance"] > 0)
    else:
        assert w["1CNN/kernel"].shape == (3, 3, 1, 128)
        assert w["dense/kernel"].shape == (256, 50)


def test_msd_and_mtt_differ(musicnn_cache):
    a = CheckpointReader(modelcache.musicnn_checkpoint("MSD_musicnn")).to_dict()
    b = CheckpointReader(modelcache.musicnn_checkpoint("MTT_musicnn")).to_dict()
    assert a.keys() == b.keys()
    assert all(not np.array_equal(a[k], b[k]) for k in a)
