"""The store: parquet tables and a manifest under one root (a folder in :mod:`sectionist.store.local`, ``s3://`` in :mod:`sectionist.store.s3`).

Layout under the root::

    manifest.json                 schema_version, config, library versions, timings, errors per file
    <table>/<part>.parquet        one part per song (songs, sections, features, frames, tags)
                                  or per run (runs, clusterings, clusters, projections, explanations, …)

A table is the union of its parts. Every part is written atomically (temporary name, then a
rename on a local disk; one PUT on S3), so an interrupted run never leaves a half-written part.
A song counts as finished only when its ``songs`` part exists; that part is written last.

Subclasses implement only the byte-level methods (:meth:`Store.read_bytes`, ``write_bytes``,
``exists``, ``list``, ``delete``, and ``swap_bytes``, the compare-and-swap that
:meth:`Store.update_manifest` rests on); everything about tables lives here once.

Concurrent writers: parts are per song or per run, so writers of different songs never touch the
same part. The manifest is shared: every change to it goes through :meth:`Store.update_manifest`,
which applies an edit to the manifest as it is now and writes only if nobody wrote in between
(a lock on a local disk, a conditional PUT on S3), trying again otherwise; so two processes'
records are both kept, and ``version`` goes up by one per write. Tables, their columns
and part keys are declared in :mod:`sectionist.store.schema`; a part is conformed to its table's declared
types when written.
"""

from __future__ import annotations

import copy
import io
import json
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sectionist.store.errors import DamagedPartError, StoreError
from sectionist.store.schema import MANIFEST, SCHEMA_VERSION
from sectionist.store.schema import table as _declared

_META_KEY = b"sectionist.schema_version"

#: Tries of one :meth:`Store.update_manifest` while other writers keep getting in first.
MANIFEST_ATTEMPTS = 40
#: Longest pause between two tries (seconds; each pause is drawn at random up to a doubling bound).
MANIFEST_MAX_PAUSE = 1.0


class Store:
    """Abstract store. Keys are '/'-separated paths relative to the root."""

    uri: str

    # ---- byte level (implemented by subclasses) -------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (recursively), sorted."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def swap_bytes(self, key: str, make: Callable[[bytes | None], bytes]) -> bytes | None:
        """Compare-and-swap: read ``key`` (``None`` when absent), write ``make(old)`` in its place, but only
        if nobody wrote ``key`` in between. Returns the bytes written, or ``None`` when another writer got
        in first (the caller reads again and retries). ``make`` is called at most once per call."""
        raise NotImplementedError

    def local_path(self, key: str) -> Path | None:
        """A local file path for ``key`` when the store is on a local disk, else ``None``."""
        return None

    def ends(self, key: str, head: int, tail: int) -> tuple[bytes, bytes, int]:
        """The first ``head`` and last ``tail`` bytes of ``key`` and its size, without reading the rest
        where the store can (a local file seeks; S3 makes two ranged GETs). The base reads it whole."""
        data = self.read_bytes(key)
        return data[:head], data[-tail:] if tail else b"", len(data)

    # ---- JSON ------------------------------------------------------------------------------
    def read_json(self, key: str, default=None):
        if not self.exists(key):
            return default
        try:
            return json.loads(self.read_bytes(key))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.uri}/{key}: not valid JSON ({exc})") from None

    def write_json(self, key: str, obj) -> None:
        self.write_bytes(key, _json_bytes(obj))

    def read_manifest(self) -> dict:
        return self.read_json(MANIFEST, default={}) or {}

    def update_manifest(self, edit: Callable[[dict], dict | None], *, attempts: int = MANIFEST_ATTEMPTS) -> dict:
        """Change the manifest without losing anyone else's change; returns the manifest written.

        ``edit`` gets a fresh copy of the manifest as it is in the store now and changes it in place
        (or returns a new dict). The result is written only if nobody wrote the manifest in between
        (:meth:`swap_bytes`); otherwise the manifest is read again and ``edit`` applied again, up to
        ``attempts`` tries with random pauses. So ``edit`` must be a pure change of its argument (set
        these entries, drop those), never one computed from an earlier read. Every write increments
        ``version`` by one (readers such as the dashboard's cache notice it) and sets ``schema_version``.
        """
        written: dict = {}

        def make(old: bytes | None) -> bytes:
            current = self._parse_manifest(old)
            new = copy.deepcopy(current)
            out = edit(new)
            new = dict(out if out is not None else new)
            new["schema_version"] = SCHEMA_VERSION
            # a version that changes on every write lets readers (the dashboard's cache) notice updates
            new["version"] = manifest_version(current) + 1
            written.clear()
            written.update(new)
            return _json_bytes(new)

        for attempt in range(1, attempts + 1):
            if self.swap_bytes(MANIFEST, make) is not None:
                return dict(written)
            time.sleep(random.uniform(0.0, min(MANIFEST_MAX_PAUSE, 0.01 * 2 ** attempt)))  # full jitter
        raise StoreError(f"{self.uri}/{MANIFEST}: other processes wrote it {attempts} times in a row while "
                         "this one tried to update it; nothing was written, try again")

    def write_manifest(self, manifest: dict) -> dict:
        """Replace the whole manifest by ``manifest`` (its ``version``: the stored one + 1). To change part
        of it, use :meth:`update_manifest`: a read-then-``write_manifest`` loses what others wrote between."""
        return self.update_manifest(lambda _current: dict(manifest))

    def _parse_manifest(self, data: bytes | None) -> dict:
        if data is None:
            return {}
        try:
            out = json.loads(data)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.uri}/{MANIFEST}: not valid JSON ({exc})") from None
        return out if isinstance(out, dict) else {}

    # ---- tables ------------------------------------------------------------------------------
    @staticmethod
    def part_key(table: str, part: str) -> str:
        table = str(table)
        if not table or "/" in table or table.startswith("."):
            raise StoreError(f"bad table name {table!r}")
        if not part or part.startswith("/") or ".." in part.split("/"):
            raise StoreError(f"bad part name {part!r}")
        return f"{table}/{part}.parquet"

    def write_part(self, table: str, part: str, df: pd.DataFrame | pa.Table) -> None:
        """Write one part of ``table`` atomically (replacing an older version of that part).

        The columns are cast to the types :mod:`sectionist.store.schema` declares; an undeclared table or
        column is a :class:`StoreError`.
        """
        tbl = df if isinstance(df, pa.Table) else frame_to_arrow(df)
        tbl = _declared(table).conform(tbl)
        meta = dict(tbl.schema.metadata or {})
        meta[_META_KEY] = str(SCHEMA_VERSION).encode()
        tbl = tbl.replace_schema_metadata(meta)
        buf = io.BytesIO()
        pq.write_table(tbl, buf, compression="zstd", use_dictionary=_dictionary_columns(tbl))
        self.write_bytes(self.part_key(table, part), buf.getvalue())

    def has_part(self, table: str, part: str) -> bool:
        return self.exists(self.part_key(table, part))

    def delete_part(self, table: str, part: str) -> None:
        key = self.part_key(table, part)
        if self.exists(key):
            self.delete(key)

    def list_parts(self, table: str) -> list[str]:
        prefix = f"{table}/"
        return [k[len(prefix):-len(".parquet")] for k in self.list(prefix) if k.endswith(".parquet")]

    def _read_arrow(self, key: str, columns=None, table=None) -> pa.Table:
        """One part; columns that ``table`` declares with a default and that the part predates are filled."""
        path = self.local_path(key)
        try:
            src = str(path) if path is not None else io.BytesIO(self.read_bytes(key))
            if columns is not None:
                have = set(pq.ParquetFile(src).schema_arrow.names)
                if not isinstance(src, str):
                    src.seek(0)
                columns = [c for c in columns if c in have or _declared_or_none(table) is None]
            tbl = pq.read_table(src, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DamagedPartError(self.uri, key, str(exc)) from None
        version = int((tbl.schema.metadata or {}).get(_META_KEY, b"0"))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.uri}/{key}: written by a newer sectionist (schema {version} > {SCHEMA_VERSION})")
        t = _declared_or_none(table)
        return t.fill_defaults(tbl) if t is not None else tbl

    def read_part(self, table: str, part: str, columns=None) -> pd.DataFrame:
        return self._read_arrow(self.part_key(table, part), columns, table).to_pandas()

    def read_table(self, table: str, columns=None, parts=None) -> pd.DataFrame:
        """The union of the parts of ``table`` (all, or those named in ``parts``) as one DataFrame.

        An absent table gives an empty DataFrame (with the requested columns, if any).
        """
        names = self.list_parts(table) if parts is None else list(parts)
        tables = [self._read_arrow(self.part_key(table, p), columns, table) for p in names]
        tables = [t for t in tables if t.num_rows or len(tables) == 1]
        if not tables:
            return pd.DataFrame(columns=list(columns) if columns else [])
        merged = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        return merged.to_pandas()

    def tables(self) -> list[str]:
        """Names of the tables present."""
        seen = {k.split("/", 1)[0] for k in self.list("") if "/" in k and k.endswith(".parquet")}
        return sorted(seen)


def manifest_version(manifest: dict) -> int:
    """A manifest's ``version`` (0 when absent or not a number)."""
    try:
        return int(manifest.get("version", 0) or 0)
    except (TypeError, ValueError):
        return 0


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default).encode()


def _declared_or_none(table):
    try:
        return _declared(table) if table is not None else None
    except StoreError:
        return None


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _dictionary_columns(tbl: pa.Table) -> list[str]:
    """Columns worth Parquet's dictionary encoding: the strings (ids, labels, tags repeat); numbers are
    mostly distinct, and trying a dictionary for each of a wide part's hundreds of float columns was
    a third of the time spent writing it (5.5 → 3.5 ms for a song's features), for larger files."""
    return [f.name for f in tbl.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or pa.types.is_dictionary(f.type)]


#: pandas schema metadata of the wide frames already converted, by column names and dtypes.
_PANDAS_META: dict = {}
_WIDE = 32


def frame_to_arrow(df: pd.DataFrame):
    """``pa.Table.from_pandas(df, preserve_index=False)``, the same table (values, nulls, types and
    pandas metadata), built faster for wide frames.

    ``from_pandas`` works column by column through pandas (a Series per column): for a song's
    features, mel and frame parts (130–205 columns, a few rows) that was most of the conversion.
    Here the numeric columns come out of one 2-D array per dtype, NaN as null as ``from_pandas``
    makes them; the other columns go through ``from_pandas``; the pandas metadata, which depends
    only on the names and dtypes, is made once per layout.
    """
    names = df.columns.tolist()
    plain = (len(names) >= _WIDE and isinstance(df.index, pd.RangeIndex) and df.index.start == 0
             and df.index.step == 1 and len(set(names)) == len(names) and all(isinstance(c, str) for c in names))
    if not plain:
        return pa.Table.from_pandas(df, preserve_index=False)
    dtypes = df.dtypes.tolist()
    key = (tuple(names), tuple(dtypes))
    meta = _PANDAS_META.get(key)
    if meta is None:
        if len(_PANDAS_META) >= 64:  # a handful of layouts in practice; bounded all the same
            _PANDAS_META.clear()
        meta = _PANDAS_META[key] = pa.Table.from_pandas(df.iloc[:0], preserve_index=False).schema.metadata
    arrays: dict = {}
    by_dtype: dict = {}
    for c, dt in zip(names, dtypes):
        if isinstance(dt, np.dtype) and dt.kind in "fiu":
            by_dtype.setdefault(dt, []).append(c)
    for dt, cols in by_dtype.items():
        block = np.asfortranarray(df[cols].to_numpy(dtype=dt))
        for j, c in enumerate(cols):
            arrays[c] = pa.array(block[:, j], from_pandas=True)
    rest = [c for c in names if c not in arrays]
    if rest:
        others = pa.Table.from_pandas(df[rest], preserve_index=False)
        arrays.update(zip(others.column_names, others.columns))
    return pa.Table.from_arrays([arrays[c] for c in names], names=names).replace_schema_metadata(meta)
