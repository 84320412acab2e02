"""Which parts of a store are damaged: every parquet part's footer checked cheaply (:func:`check_store`).

A parquet file starts and ends with the magic bytes ``PAR1``; the four bytes before the final magic
are the length of the footer (the file's metadata), which must fit between the two magics. A part cut
short (a full disk, a copy interrupted) or overwritten by something else fails this test; reading it
would fail later, in the middle of a request. Only the first 4 and last 8 bytes of each part are read
(on S3: two ranged GETs per part, never the part itself), so ``sectionist check``, ``sectionist info``
and the web app's ``/healthz`` can afford it (the app keeps the result per manifest version).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sectionist.store.errors import StoreError, damaged_message

MAGIC = b"PAR1"
#: Parts checked at once (on S3 each check is two round trips).
CHECK_THREADS = 8


def part_problem(store, key: str) -> str | None:
    """Why the part ``key`` is not a whole parquet file, or None when its ends look right."""
    try:
        head, tail, size = store.ends(key, 4, 8)
    except StoreError as exc:
        return f"cannot be read: {exc}"
    if size < 12:
        return f"{size} bytes, too short for a parquet file"
    if head != MAGIC:
        return "does not start with the parquet magic bytes (not a parquet file)"
    if tail[4:] != MAGIC:
        return f"no parquet footer at its end ({size} bytes: truncated or overwritten)"
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        return f"its footer claims {footer} bytes, more than the {size}-byte file holds (truncated)"
    return None


@dataclass
class StoreCheck:
    """The result of :func:`check_store`: how many parts were checked and which are damaged."""

    uri: str
    n_parts: int = 0
    #: store key (``clusterings/<run>.parquet``) → what is wrong with it
    damaged: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.damaged

    def damaged_in(self, table: str) -> dict:
        """``{part: reason}`` of the damaged parts of ``table``."""
        prefix = f"{table}/"
        return {k[len(prefix):-len(".parquet")]: r for k, r in self.damaged.items() if k.startswith(prefix)}

    def lines(self) -> list[str]:
        """Lines naming each damaged part and the repair command (none when every part is whole)."""
        if self.ok:
            return []
        return ([f"{self.uri}: {len(self.damaged)} of {self.n_parts} parquet parts are damaged"]
                + [f"  {key}: {why}" for key, why in sorted(self.damaged.items())]
                + [f"'sectionist repair --store {self.uri}' rebuilds what it can"])

    def message(self, key: str) -> str:
        """The sentence naming the damaged part ``key`` and the repair command."""
        return damaged_message(self.uri, key, self.damaged[key])


def parquet_keys(store) -> list[str]:
    """Every parquet part of the store (the tables' parts; files under ``models/`` are not tables)."""
    return [k for k in store.list("") if k.endswith(".parquet") and "/" in k and not k.startswith("models/")]


def check_store(store, keys=None) -> StoreCheck:
    """Check the footer of every parquet part of ``store`` (or of ``keys``).

    Parameters
    ----------
    store : sectionist.store.base.Store
    keys : list of str, optional
        Part keys to check (default: :func:`parquet_keys`).

    Returns
    -------
    StoreCheck
    """
    keys = parquet_keys(store) if keys is None else list(keys)
    if len(keys) > 2 * CHECK_THREADS:
        with ThreadPoolExecutor(CHECK_THREADS) as pool:
            problems = list(pool.map(lambda k: part_problem(store, k), keys))
    else:
        problems = [part_problem(store, k) for k in keys]
    return StoreCheck(store.uri, len(keys), {k: p for k, p in zip(keys, problems) if p is not None})
