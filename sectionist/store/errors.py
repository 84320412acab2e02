"""The error family's roots, shared by every layer (after librosa's ``util/exceptions.py``).

The store is the lowest layer, so the base classes live here; :mod:`sectionist.analysis.errors` re-exports
them and adds :class:`~sectionist.analysis.errors.AudioError`.
"""


class SectionistError(Exception):
    """Base class of every error raised on purpose by sectionist."""


class ParameterError(SectionistError):
    """A parameter or option has a bad value (the message names it)."""


class StoreError(SectionistError):
    """The store cannot be read or written (missing, corrupt, wrong schema, no permission)."""


class DamagedPartError(StoreError):
    """A parquet part of the store cannot be read (truncated, overwritten, not parquet).

    ``key`` is the part's store key (``clusterings/<run>.parquet``), ``table`` and ``part`` its table and
    part name, ``reason`` what is wrong; the message names the part and the repair command.
    """

    def __init__(self, uri: str, key: str, reason: str):
        self.uri, self.key, self.reason = str(uri), str(key), str(reason)
        self.table, _, rest = self.key.partition("/")
        self.part = rest[:-len(".parquet")] if rest.endswith(".parquet") else rest
        super().__init__(damaged_message(self.uri, self.key, self.reason))


def damaged_message(uri: str, key: str, reason: str) -> str:
    """The one sentence about a damaged part: which part, why, and the command that repairs it."""
    return (f"{uri}/{key}: unreadable parquet part ({reason}); "
            f"'sectionist repair --store {uri}' rebuilds it (see 'sectionist check --store {uri}')")
