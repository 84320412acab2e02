"""Reading a store's tables for the dashboard: parts read with a few threads, and frames kept out
of the garbage collector's full scans."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

#: Parts read at once when a table has many (one per song): parquet decoding releases the GIL,
#: and on S3 each part is a round trip.
READ_THREADS = 8


def long_lived(value):
    """``value``, after moving every object alive now out of the garbage collector's full scans
    (:func:`gc.freeze`). The store's frames and arrays live as long as the cache, and a full
    collection visits every element of every object array among them: at 1 000 000 sections
    each one took ~0.4 s, a pause in whichever request happened to trigger it. Frozen objects are
    still freed by reference counting when the cache is dropped, and :meth:`sectionist.dashboard.data.store_data.StoreData.refresh`
    unfreezes them then (so cycles among them are collected too)."""
    import gc

    gc.freeze()
    return value


def read_table_parallel(store, table: str, parts=None) -> pd.DataFrame:
    """``store.read_table(table, parts=parts)``, reading the parts with a few threads.

    The same rows (their order may differ: every reader here aligns rows by ``section_id``); a
    store of thousands of songs has thousands of parts per table.
    """
    names = store.list_parts(table) if parts is None else list(parts)
    if len(names) <= 2 * READ_THREADS:
        return store.read_table(table, parts=names)
    from concurrent.futures import ThreadPoolExecutor

    chunks = [names[i::READ_THREADS] for i in range(READ_THREADS)]
    with ThreadPoolExecutor(READ_THREADS) as pool:
        frames = list(pool.map(lambda ps: store.read_table(table, parts=ps), chunks))
    frames = [f for f in frames if len(f)]
    if not frames:
        return store.read_table(table, parts=names[:1])
    return pd.concat(frames, ignore_index=True)


def loads_json(v):
    """A JSON column's value decoded (a dict or list passes through); None for a missing or bad one."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return None
