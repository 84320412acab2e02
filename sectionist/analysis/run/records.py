"""What one ``analyze`` run records in the manifest, kept as changes and applied to the manifest as it is
when the run writes it (:meth:`sectionist.store.base.Store.update_manifest`).

Another process may write the same store meanwhile (a second ``analyze`` of another folder, a Lab save,
modelling marks): applying this run's changes to the manifest then current, instead of writing back
the copy read at the start, keeps that process's records as well as this one's.
"""

from __future__ import annotations

from sectionist.store.schema import SCHEMA_VERSION


class ManifestRecords:
    """This run's per-file records: ``fail``, ``clear`` (a file no longer failed), ``song`` (its
    ``songs`` entry), and ``set`` for whole top-level entries (config, libraries, a timing).

    :meth:`apply` changes a manifest in place; it may be applied more than once (once per try of
    ``update_manifest``), each time to the manifest then current.
    """

    def __init__(self):
        self.errors: dict[str, str | None] = {}  # path → reason; None: no longer failed
        self.songs: dict[str, tuple[dict, bool]] = {}  # path → (entry, merged into the existing entry)
        self.top: dict[str, object] = {}
        self.timings: dict[str, object] = {}

    def fail(self, path: str, reason: str) -> None:
        self.errors[str(path)] = reason

    def clear(self, path: str) -> None:
        self.errors[str(path)] = None

    def song(self, path: str, entry: dict, *, merge: bool = False) -> None:
        """Set ``songs[path]`` to ``entry`` (``merge``: update the stored entry with it)."""
        self.songs[str(path)] = (dict(entry), merge)

    def set(self, key: str, value) -> None:
        self.top[key] = value

    def timing(self, name: str, value) -> None:
        self.timings[name] = value

    def apply(self, manifest: dict) -> None:
        songs = manifest.setdefault("songs", {})
        errors = manifest.setdefault("errors", {})
        for path, reason in self.errors.items():
            if reason is None:
                errors.pop(path, None)
            else:
                errors[path] = reason
        for path, (entry, merge) in self.songs.items():
            songs[path] = {**songs.get(path, {}), **entry} if merge else dict(entry)
        manifest.update(self.top)
        if self.timings:
            manifest.setdefault("timings", {}).update(self.timings)
        manifest["schema_version"] = SCHEMA_VERSION
