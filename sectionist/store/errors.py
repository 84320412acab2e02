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
