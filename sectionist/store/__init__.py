"""The store: parquet tables and a manifest under one root, a local folder or ``s3://bucket/prefix``.

The lowest layer: it imports neither :mod:`analysis` nor :mod:`dashboard`. Modules:

- :mod:`sectionist.store.schema`: every table, its columns, dtypes and part keys; :func:`~sectionist.store.schema.section_vectors`.
- :mod:`sectionist.store.base`: :class:`Store` (tables over a byte-level interface).
- :mod:`sectionist.store.local`: :class:`LocalStore` (a folder).
- :mod:`sectionist.store.s3`: :class:`~sectionist.store.s3.S3Store`, ranged song reads, ``sync``.
- :mod:`sectionist.store.cache`: the read-through cache of S3 parts.
"""

from __future__ import annotations

from pathlib import Path

from sectionist.store.base import Store
from sectionist.store.errors import StoreError
from sectionist.store.local import LocalStore
from sectionist.store.schema import MANIFEST, SCHEMA_VERSION

__all__ = ["Store", "LocalStore", "open_store", "MANIFEST", "SCHEMA_VERSION", "StoreError"]


def open_store(uri: str | Path, create: bool = True, **options) -> Store:
    """Open the store at ``uri``: a local folder, or ``s3://bucket/prefix``.

    ``options`` are passed to the S3 store (``endpoint_url``, ``region``, cache settings, …).
    """
    s = str(uri)
    if s.startswith("s3://"):
        from sectionist.store.s3 import S3Store  # imported lazily: boto3 is only needed for S3

        return S3Store(s, create=create, **options)
    if "://" in s:
        raise StoreError(f"{s}: unsupported store URI (use a folder or s3://bucket/prefix)")
    return LocalStore(s, create=create)
