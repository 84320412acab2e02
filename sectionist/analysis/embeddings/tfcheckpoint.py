"""Read TensorFlow checkpoints ("tensor bundles") without TensorFlow.

A V2 checkpoint with prefix ``P`` is two files:

- ``P.index``: an SSTable (LevelDB table format) mapping each variable name to a serialised
  ``BundleEntryProto`` (dtype, shape, shard, offset, size, crc32c); the entry with the empty key
  is the ``BundleHeaderProto``.
- ``P.data-00000-of-00001`` (one per shard): the raw little-endian tensor bytes.

This module parses both with a tiny hand-written protobuf decoder (varints, length-delimited fields
and fixed32/64 only), which is all the two messages need. Only the musicnn checkpoints have to be
read, so slices (partitioned variables) and string tensors are rejected with a clear error.

Note the musicnn checkpoints use the model *folder* as their prefix: the files are literally
``<dir>/.index`` and ``<dir>/.data-00000-of-00001``, so the prefix is ``"<dir>/"``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sectionist.analysis.errors import SectionistError

#: LevelDB / TF table magic number (the last 8 bytes of every table file).
TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER_LEN = 5  # 1 byte compression type + 4 bytes masked crc32c

#: TensorFlow ``DataType`` enum values → NumPy dtypes (little endian).
TF_DTYPES = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


class CheckpointError(SectionistError):
    """A checkpoint file is missing, truncated or not a tensor bundle this reader understands."""


# ---- protobuf wire format ----------------------------------------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``buf[pos:]``.

    Returns
    -------
    value : int
    pos : int
        Position just after the varint.
    """
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint longer than 10 bytes")


def parse_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split one serialised protobuf message into ``(field_number, wire_type, value)`` triples.

    Varints give ints, fixed32/fixed64 give ints (unsigned), length-delimited fields give bytes.
    """
    out = []
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > n:
                raise CheckpointError("truncated fixed64 field")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > n:
                raise CheckpointError("truncated length-delimited field")
            value = bytes(buf[pos:pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > n:
                raise CheckpointError("truncated fixed32 field")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire} (field {field})")
        out.append((field, wire, value))
    return out


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass(frozen=True)
class BundleEntry:
    """One variable of a tensor bundle (the fields of ``BundleEntryProto`` that matter)."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    has_slices: bool

    @property
    def np_dtype(self) -> np.dtype:
        try:
            return TF_DTYPES[self.dtype]
        except KeyError:
            raise CheckpointError(f"variable {self.name!r}: unsupported TF dtype enum {self.dtype}") from None


def parse_tensor_shape(buf: bytes) -> tuple[int, ...]:
    """Decode a ``TensorShapeProto`` (``dim`` = field 2, each ``Dim.size`` = field 1)."""
    dims = []
    for field, _, value in parse_fields(buf):
        if field == 2:
            size = 0
            for f2, _, v2 in parse_fields(value):
                if f2 == 1:
                    size = _signed64(v2)
            dims.append(size)
        elif field == 3 and value:
            raise CheckpointError("tensor shape of unknown rank")
    return tuple(dims)


def parse_bundle_entry(name: str, buf: bytes) -> BundleEntry:
    """Decode a ``BundleEntryProto``: dtype=1, shape=2, shard_id=3, offset=4, size=5, crc32c=6, slices=7."""
    dtype, shape, shard, offset, size, crc, slices = 0, (), 0, 0, 0, None, False
    for field, _, value in parse_fields(buf):
        if field == 1:
            dtype = value
        elif field == 2:
            shape = parse_tensor_shape(value)
        elif field == 3:
            shard = value
        elif field == 4:
            offset = _signed64(value)
        elif field == 5:
            size = _signed64(value)
        elif field == 6:
            crc = value
        elif field == 7:
            slices = True
    return BundleEntry(name, dtype, shape, shard, offset, size, crc, slices)


# ---- SSTable ----------------------------------------------------------------------------------


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one table block (prefix-compressed keys, restart array at the end)."""
    if len(block) < 4:
        raise CheckpointError("table block too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    if end < 0:
        raise CheckpointError("corrupt table block (restart array)")
    out = []
    pos = 0
    key = b""
    while pos < end:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        value_len, pos = read_varint(block, pos)
        if shared > len(key) or pos + non_shared + value_len > end:
            raise CheckpointError("corrupt table block entry")
        key = key[:shared] + bytes(block[pos:pos + non_shared])
        pos += non_shared
        out.append((key, bytes(block[pos:pos + value_len])))
        pos += value_len
    return out


def _read_block(data: bytes, offset: int, size: int) -> bytes:
    if offset < 0 or offset + size + _BLOCK_TRAILER_LEN > len(data):
        raise CheckpointError(f"table block at {offset}+{size} lies outside the file")
    ctype = data[offset + size]
    if ctype != 0:
        raise CheckpointError(f"compressed table block (type {ctype}) is not supported")
    return data[offset:offset + size]


def read_sstable(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table held in ``data``, in key order."""
    if len(data) < _FOOTER_LEN:
        raise CheckpointError("file too short for a table footer")
    footer = data[-_FOOTER_LEN:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER_LEN - 8)
    if magic != TABLE_MAGIC:
        raise CheckpointError(f"bad table magic 0x{magic:016x} (not a TF checkpoint index)")
    pos = 0
    _meta_off, pos = read_varint(footer, pos)
    _meta_size, pos = read_varint(footer, pos)
    index_off, pos = read_varint(footer, pos)
    index_size, pos = read_varint(footer, pos)
    entries = []
    for _, handle in _block_entries(_read_block(data, index_off, index_size)):
        off, p = read_varint(handle, 0)
        size, _ = read_varint(handle, p)
        entries.extend(_block_entries(_read_block(data, off, size)))
    return entries


# ---- bundle ------------------------------------------------------------------------------------


class CheckpointReader:
    """Variables of a TF V2 checkpoint, read without TensorFlow.

    Parameters
    ----------
    prefix : str or Path
        The checkpoint prefix: the files are ``prefix + ".index"`` and
        ``prefix + ".data-00000-of-0000N"``. For a musicnn model folder ``d``, pass ``f"{d}/"``
        (or the folder itself: a folder holding a file named ``.index`` is accepted).

    Examples
    --------
    >>> r = CheckpointReader("~/.cache/sectionist/models/musicnn/MSD_musicnn/")  # doctest: +SKIP
    >>> r.shape("dense/kernel")  # doctest: +SKIP
    (1506, 200)
    """

    def __init__(self, prefix: str | Path):
        p = str(Path(prefix).expanduser()) if not str(prefix).endswith("/") else str(prefix)
        if Path(p).is_dir():
            p = p.rstrip("/") + "/"
        self.prefix = p
        index_path = Path(p + ".index")
        try:
            raw = index_path.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(f"{index_path}: checkpoint index not found") from None
        try:
            table = read_sstable(raw)
        except CheckpointError as exc:
            raise CheckpointError(f"{index_path}: {exc}") from None
        self.num_shards = 1
        self.entries: dict[str, BundleEntry] = {}
        for key, value in table:
            name = key.decode("utf-8")
            if name == "":
                for field, _, v in parse_fields(value):
                    if field == 1:
                        self.num_shards = v
                    elif field == 2 and v != 0:
                        raise CheckpointError(f"{index_path}: big-endian bundles are not supported")
                continue
            self.entries[name] = parse_bundle_entry(name, value)
        self._shards: dict[int, bytes] = {}

    def names(self) -> list[str]:
        """Every variable name, sorted (includes optimiser slots such as ``…/Adam``)."""
        return sorted(self.entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def _entry(self, name: str) -> BundleEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise CheckpointError(f"{self.prefix}: no variable {name!r}") from None

    def _shard(self, shard_id: int) -> bytes:
        if shard_id not in self._shards:
            path = Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")
            try:
                self._shards[shard_id] = path.read_bytes()
            except FileNotFoundError:
                raise CheckpointError(f"{path}: checkpoint data file not found") from None
        return self._shards[shard_id]

    def get(self, name: str) -> np.ndarray:
        """The value of variable ``name`` as a new NumPy array of its dtype and shape."""
        e = self._entry(name)
        if e.has_slices:
            raise CheckpointError(f"{self.prefix}: variable {name!r} is partitioned (slices are not supported)")
        dt = e.np_dtype
        count = int(np.prod(e.shape, dtype=np.int64)) if e.shape else 1
        if count * dt.itemsize != e.size:
            raise CheckpointError(
                f"{self.prefix}: variable {name!r} has {e.size} bytes, expected {count * dt.itemsize} for {e.shape}"
            )
        data = self._shard(e.shard_id)
        if e.offset + e.size > len(data):
            raise CheckpointError(f"{self.prefix}: variable {name!r} lies beyond the end of its data file")
        arr = np.frombuffer(data, dtype=dt, count=count, offset=e.offset).reshape(e.shape)
        return arr.astype(dt.newbyteorder("="), copy=True)

    def to_dict(self, skip_optimizer: bool = True) -> dict[str, np.ndarray]:
        """All variables as a dict; optimiser slots (``Adam``, ``beta*_power``) left out by default."""
        out = {}
        for name in self.names():
            if skip_optimizer and name.endswith(("/Adam", "/Adam_1", "_power")):
                continue
            out[name] = self.get(name)
        return out
