"""One error family for the whole package (after librosa's ``util/exceptions.py``)."""


class SectionistError(Exception):
    """Base class of every error raised on purpose by sectionist."""


class ParameterError(SectionistError):
    """A parameter or option has a bad value (the message names it)."""


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


class StoreError(SectionistError):
    """The store cannot be read or written (missing, corrupt, wrong schema, no permission)."""
