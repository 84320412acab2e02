"""The Lab's per-song front end on disk, shared by every web worker (issue #23: "Lab first open < 2 s").

Opening a song in the Lab needs ``merged``'s per-song front end: the song decoded, its beat-synchronous
features (librosa's beat tracker, CQT and MFCCs) and the Laplacian embedding and multi-scale novelty
of its beats. Computed in a web worker that costs 1-3 s of CPU per song, plus importing librosa and
compiling its numba kernels in every worker (the 11-24 s first opens of the issue). What a sweep is
rebuilt from (:meth:`sectionist.analysis.sections.lab.SegmentationSweep.front_arrays`: 100-400 kB
per song) is kept as one ``.npz`` entry per song in the app's bounded media folder
(:mod:`sectionist.dashboard.media.diskcache`), so it is computed once per song for every worker and
across restarts, and ``sectionist media-warm`` computes every song's before the experts arrive
(:func:`sectionist.dashboard.data.lab.warm_lab`): then no web worker decodes audio or imports librosa for the Lab.

An entry's key names what its arrays are made from: the song's content hash (its URI when the store
has none), the lab's sample rate, ``merged``'s version and :data:`FORMAT` — a changed song or method
reads another entry, never a stale one. An unreadable entry is made again.
"""

from __future__ import annotations

import io

import numpy as np

from sectionist.analysis.sections.lab import SegmentationSweep
from sectionist.analysis.structure.beats import BeatFeatures
from sectionist.analysis.structure.merged import MERGED_VERSION

#: Version of the entries' layout (part of every key; 2: the slice edges of the threshold grid).
FORMAT = 2
#: The arrays of a :class:`BeatFeatures` (the rest of an entry is the sweep's ``front``).
FEATURES = ("times", "harmony", "timbre")


def entry_key(data, song_id: str, sample_rate: int) -> tuple:
    """The media-folder key of ``song_id``'s entry (module docstring)."""
    row = data.songs.loc[song_id]
    made_from = row.get("content_hash") if "content_hash" in row.index else None
    if not isinstance(made_from, str) or not made_from:
        made_from = str(row.get("uri"))
    return ("lab-front", FORMAT, MERGED_VERSION, int(sample_rate), str(made_from))


def encode(sweep: SegmentationSweep) -> bytes:
    """``sweep``'s :meth:`~SegmentationSweep.front_arrays` as ``.npz`` bytes."""
    buf = io.BytesIO()
    np.savez(buf, **sweep.front_arrays())
    return buf.getvalue()


def decode(payload: bytes, sample_rate: int) -> SegmentationSweep:
    """The sweep an :func:`encode` d entry holds (no audio read, no front computed); ``ValueError`` or
    ``KeyError`` for an entry that is not one."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    features = BeatFeatures(*(arrays.pop(name) for name in FEATURES))
    return SegmentationSweep(None, int(sample_rate), features=features, front=arrays)


def media_folder():
    """The running app's media folder, or None (no Flask app here, or the app keeps none)."""
    import flask

    from sectionist.dashboard.media.audio import MEDIA_CACHE_KEY

    if not flask.has_app_context():
        return None
    return flask.current_app.extensions.get(MEDIA_CACHE_KEY)


def cached_sweep(data, song_id: str, sample_rate: int, build, folder=None) -> tuple[SegmentationSweep, bool]:
    """``song_id``'s sweep from the media folder (``folder``, default :func:`media_folder`), else
    ``build()`` and its entry written there. Returns ``(sweep, read from the folder)``."""
    folder = media_folder() if folder is None else folder
    if folder is None:
        return build(), False
    key = entry_key(data, song_id, sample_rate)
    payload = folder.get(key)
    if payload is not None:
        try:
            return decode(payload, sample_rate), True
        except (ValueError, KeyError, OSError, EOFError):  # a damaged entry: made again below
            pass
    sweep = build()
    folder.put(key, encode(sweep))
    return sweep, False
