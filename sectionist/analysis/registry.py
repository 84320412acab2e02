"""One registry type for every family of algorithms (sectioning schemes, clustering methods, embedders).

A :class:`Registry` is a ``dict`` from name to entry with one rule for adding and one for looking
up:

- adding a name that is already registered raises :class:`~sectionist.analysis.errors.ParameterError`
  unless ``replace=True`` is passed (so two modules cannot silently shadow each other);
- looking up an unknown name raises :class:`UnknownNameError` — a ``ParameterError`` (and a
  ``KeyError``, so ``dict`` idioms keep working) whose message lists the valid names.

Command-line choices come from the registry itself (``sorted(REGISTRY)``), so a registered
algorithm is offered everywhere at once.

Examples
--------
>>> SCHEMES = Registry("sectioning scheme", entry=lambda name, func, **kw: func)
>>> @SCHEMES.register("fixed")
... def fixed(duration_s):
...     return duration_s
>>> SCHEMES["fixed"](3.0)
3.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sectionist.analysis.errors import ParameterError

__all__ = ["Registry", "UnknownNameError"]


class UnknownNameError(ParameterError, KeyError):
    """A name that is not in a :class:`Registry`; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Registry(dict):
    """Name → entry mapping with a decorator to fill it.

    Parameters
    ----------
    kind : str
        What the entries are, in words (``"clustering method"``); used in error messages.
    entry : callable(name, obj, **options) -> entry, optional
        Builds the stored entry from the decorated object and the decorator's keyword options
        (e.g. a spec dataclass). Default: the object itself (no options allowed).
    """

    def __init__(self, kind: str, entry: Callable[..., Any] | None = None):
        super().__init__()
        self.kind = kind
        self._entry = entry

    def register(self, name: str, *, replace: bool = False, **options) -> Callable:
        """Decorator adding the decorated class or function under ``name``.

        Parameters
        ----------
        name : str
        replace : bool
            Allow replacing an entry already registered under ``name``.
        **options
            Passed to ``entry``.

        Returns
        -------
        callable
            The decorator; it returns the decorated object unchanged.
        """

        def deco(obj):
            self._check_new(name, replace)
            if self._entry is None:
                if options:
                    raise ParameterError(f"{self.kind} registry takes no options, got {', '.join(options)}")
                value = obj
            else:
                value = self._entry(name, obj, **options)
            self.add(name, value, replace=replace)
            return obj

        return deco

    def _check_new(self, name: str, replace: bool) -> None:
        if not replace and dict.__contains__(self, name):
            raise ParameterError(f"{self.kind} {name!r} is already registered; pass replace=True to replace it")

    def add(self, name: str, value, *, replace: bool = False) -> None:
        """Add ``value`` under ``name``; an existing name raises ParameterError unless ``replace``."""
        self._check_new(name, replace)
        dict.__setitem__(self, name, value)

    def __setitem__(self, name, value) -> None:
        self.add(name, value)

    def __missing__(self, name):
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}")

    def names(self) -> list[str]:
        """Registered names, sorted (the command line's choices)."""
        return sorted(self)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
