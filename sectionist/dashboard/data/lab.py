"""The segmentation lab's server side: one :class:`sectionist.analysis.sections.lab.SegmentationSweep` per song, built on
the first open of that song (its audio decoded as ``analyze`` decodes it, ``merged``'s beat features,
Laplacian embedding and multi-scale novelty computed — or all of that read from the media folder, where
:mod:`sectionist.dashboard.data.lab_cache` keeps it for every worker — and the slices of every threshold
precomputed in the background) and kept in a small LRU keyed by store, song and its audio's hash;
:func:`lab_view` answers a slider move from it (what the page's callback and ``bench/segmentation.py``
call); :func:`save_lab_scheme` writes the chosen segmentation as the scheme ``lab-<name>``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np

from sectionist.analysis.errors import AudioError, ParameterError, StoreError
from sectionist.analysis.sections.lab import LabParams, SegmentationSweep, check_scheme_name, save_scheme

from sectionist.dashboard.data import lab_cache
from sectionist.dashboard.ui.figures import lab as lab_figures
from sectionist.dashboard.ui.i18n import _, ngettext

#: Songs whose sweeps are kept (each holds a song's beat features and the beats' Laplacian
#: eigenvectors: ~2 MB for 3.5 minutes at 130 bpm, growing with the square of the number of beats).
MAX_SONGS = 8
#: The analysis rate of the lab (that of ``sectionist segment``).
SAMPLE_RATE = 22050
#: Seconds after a sweep is built that its threshold grid starts filling in the background.
PRECOMPUTE_AFTER_S = 1.0

_sweeps: OrderedDict = OrderedDict()
_building: dict = {}
_lock = threading.Lock()


def _song_audio(data, song_id: str) -> tuple[np.ndarray, int]:
    """The song's samples at :data:`SAMPLE_RATE`: a local file decoded by ``sectionist.analysis.corpus.audio.load_audio``
    (what ``analyze`` and ``sectionist segment`` decode, so the lab's ``merged`` is theirs), an S3
    object through the span reader."""
    from sectionist.analysis.corpus.audio import load_audio, read_span

    from sectionist.dashboard.media.sources import s3_options

    row = data.songs.loc[song_id]
    uri = str(row["uri"])
    if "://" not in uri:
        return load_audio(uri, SAMPLE_RATE)
    duration = float(row["duration_s"]) if row.get("duration_s") == row.get("duration_s") else 3600.0
    y, sr = read_span(str(row["uri"]), 0.0, duration + 1.0, sr=SAMPLE_RATE, mono=True, **s3_options(data.store))
    return np.ascontiguousarray(y, dtype=np.float32), sr


def sweep_from_audio(data, song_id: str) -> SegmentationSweep:
    """The song's sweep computed from its audio (beat features, Laplacian embedding, novelty)."""
    y, sr = _song_audio(data, song_id)
    return SegmentationSweep(y, sr)


def sweep_for(data, song_id: str) -> SegmentationSweep:
    """The song's sweep: this process's, else rebuilt from the media folder's entry
    (:mod:`sectionist.dashboard.data.lab_cache`), else computed from the audio and kept there; its
    threshold grid is precomputed in a background thread. One build per song even when several
    requests ask at once. Raises ``KeyError`` for an unknown song, :class:`AudioError` when its
    audio cannot be read."""
    if song_id not in data.songs.index:
        raise KeyError(song_id)
    row = data.songs.loc[song_id]
    # the audio, not the store's version, decides (a saved scheme must not drop the sweep)
    key = (data.store_uri, song_id, str(row.get("content_hash") or row.get("uri")))
    with _lock:
        sweep = _sweeps.get(key)
        if sweep is not None:
            _sweeps.move_to_end(key)
            return sweep
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _lock:
            sweep = _sweeps.get(key)
        if sweep is None:
            sweep, _read = lab_cache.cached_sweep(data, song_id, SAMPLE_RATE, lambda: sweep_from_audio(data, song_id))
            # the threshold grid fills in the background once this answer is out (it would share the
            # interpreter with it): the first answer waits for one setting only
            grid = threading.Timer(PRECOMPUTE_AFTER_S, sweep.precompute)
            grid.daemon = True
            grid.start()
            with _lock:
                _sweeps[key] = sweep
                while len(_sweeps) > MAX_SONGS:
                    _sweeps.popitem(last=False)
                _building.pop(key, None)
    return sweep


def params_from_controls(threshold, min_slice, merge, window, k, min_seconds) -> LabParams:
    """The controls' values as checked :class:`LabParams` (``min_slice`` in beats; ``k`` 0 or None:
    chosen per song; a missing value: ``merged``'s default)."""
    d = LabParams()
    return LabParams(threshold=threshold if threshold is not None else d.threshold,
                     min_slice_beats=min_slice if min_slice is not None else d.min_slice_beats,
                     merge=bool(merge), window=window if window is not None else d.window,
                     k=None if not k else k,
                     min_seconds=min_seconds if min_seconds is not None else d.min_seconds).checked()


def counts_text(result) -> str:
    """"12 slices before merging, 5 segments after" (translated)."""
    before = ngettext("%(num)d slice before merging", "%(num)d slices before merging", result.n_pre)
    after = ngettext("%(num)d segment after", "%(num)d segments after", result.n_post)
    return _("%(before)s, %(after)s", before=before, after=after)


def lab_view(data, song_id: str, params: LabParams):
    """What a slider move shows: ``(novelty figure, lanes figure, counts text, result)``."""
    sweep = sweep_for(data, song_id)
    res = sweep.result(params)
    title = data.songs.loc[song_id, "title"]
    nov = lab_figures.novelty_threshold(
        sweep.times, sweep.novelty, prominence=sweep.prominence(params.threshold), cuts=res.cuts,
        curve_name=_("novelty"), threshold_name=_("threshold"), cut_name=_("cuts"), x_title=_("time (s)"))
    # " · " is where a long lane name wraps (a phone)
    pre_name = ngettext("before merging · %(num)d slice", "before merging · %(num)d slices", res.n_pre)
    post_name = (ngettext("after merging · %(num)d segment", "after merging · %(num)d segments", res.n_post)
                 if params.merge else _("merging off · the slices"))
    lanes = lab_figures.segmentation_lanes(
        [(pre_name, res.pre[:, 0], res.pre[:, 1], res.pre_labels),
         (post_name, res.post[:, 0], res.post[:, 1], res.labels)],
        duration=sweep.duration, song_id=song_id, title=str(title), x_title=_("time (s)"),
        hover=_("click to listen"))
    return nov, lanes, counts_text(res), res


def save_lab_scheme(data, user, song_id: str, name: str, params: LabParams) -> tuple[bool, str]:
    """Save ``params``'s segmentation of ``song_id`` as scheme ``lab-<name>`` for ``user`` (who must be
    logged in and allowed to judge). Returns ``(ok, message)``; the message says what went wrong."""
    if user is None:
        return False, _("Log in to save a scheme.")
    if not getattr(user, "can_judge", False):
        return False, _("Your role may not save schemes: ask an admin for the expert role.")
    try:
        scheme = check_scheme_name(name)
    except ParameterError:
        return False, _("Name the scheme with 1 to 40 letters, digits, '-' or '_' (no spaces).")
    if song_id not in data.songs.index:
        return False, _("Pick a song first.")
    try:
        res = sweep_for(data, song_id).result(params)
        save_scheme(data.store, song_id, name, res)
    except (AudioError, StoreError, OSError) as exc:
        return False, _("Could not save: %(reason)s", reason=str(exc))
    data.refresh(force=True)
    return True, ngettext("Saved %(num)d segment as scheme %(scheme)s: the Songs page shows it as a lane.",
                          "Saved %(num)d segments as scheme %(scheme)s: the Songs page shows it as a lane.",
                          res.n_post, scheme=scheme)


def warm_lab(app, *, progress=None) -> dict:
    """Make every song's entry that the media folder of ``app`` lacks (what ``sectionist media-warm``
    runs, in a process of its own). Returns ``{"songs", "made", "skipped", "seconds"}`` (skipped: audio
    missing or unreadable)."""
    from sectionist.dashboard.data.store_data import EXTENSION_KEY
    from sectionist.dashboard.media.audio import MEDIA_CACHE_KEY

    server = app.server
    folder = server.extensions.get(MEDIA_CACHE_KEY)
    data = server.extensions[EXTENSION_KEY]
    made = skipped = 0
    t0 = time.monotonic()
    songs = [str(s) for s in data.songs.index]
    for i, song_id in enumerate(songs):
        if folder is not None and folder.get(lab_cache.entry_key(data, song_id, SAMPLE_RATE)) is None:
            try:
                lab_cache.cached_sweep(data, song_id, SAMPLE_RATE, lambda s=song_id: sweep_from_audio(data, s), folder)
                made += 1
            except (AudioError, StoreError, OSError):
                skipped += 1
        if progress is not None:
            progress(i + 1, len(songs))
    return {"songs": len(songs), "made": made, "skipped": skipped, "seconds": time.monotonic() - t0}
