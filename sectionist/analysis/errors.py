"""One error family for the whole package (after librosa's ``util/exceptions.py``).

``SectionistError`` ← ``ParameterError`` (← ``InputError``), ``StoreError`` (defined in the lowest
layer, :mod:`sectionist.store.errors`) and ``AudioError`` (here).
"""

from sectionist.store.errors import ParameterError, SectionistError, StoreError

__all__ = ["SectionistError", "ParameterError", "InputError", "AudioError", "StoreError"]


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


class InputError(ParameterError, ValueError):
    """Rows an estimator cannot use (not 2-D, too few, NaN or infinite values, wrong number of columns).

    A :class:`ParameterError` that is also the ``ValueError`` the scikit-learn estimator contract
    asks for.
    """
