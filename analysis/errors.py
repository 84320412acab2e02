"""One error family for the whole package (after librosa's ``util/exceptions.py``).

``SectionistError`` ← ``ParameterError``, ``StoreError`` (defined in the lowest layer,
:mod:`store.errors`) and ``AudioError`` (here).
"""

from store.errors import ParameterError, SectionistError, StoreError

__all__ = ["SectionistError", "ParameterError", "AudioError", "StoreError"]


class AudioError(SectionistError):
    """An audio file cannot be used: unreadable, truncated, empty, silent or too short.

    Parameters
    ----------
    path : str
        The file concerned.
    reason : str
        Why it cannot be used, in words a user understands.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
