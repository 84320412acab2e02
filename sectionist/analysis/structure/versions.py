"""Versions of a song's structure under one scheme: the scheme's own (version 1) and the versions
recomputed under experts' corrections (2, 3 …), each kept in the ``segments`` table.

A version is never rewritten. Version 1 is the part ``{scheme}/{song_id}`` that ``analyze`` and
``sectionist segment`` write; a corrected version ``v`` is a part of its own,
``{scheme}~v{v}/{song_id}`` (:func:`version_part`), whose rows name the plain scheme and carry
``version = v``, so readers that take the latest version of each song's scheme
(:func:`sectionist.store.schema.latest_segments`, which ``section_level`` applies) show it in place of
the scheme's own. ``{scheme}~v{v}`` (:func:`version_name`) is also how the dashboard's
``structure_corrections`` rows name the version an expert saw.

:func:`correct_song` computes a new version: the scheme's own section level recomputed by
:func:`~sectionist.analysis.structure.constrained.constrained_structure` under the corrections of the
latest version (its lineage, kept in its ``params``) plus the new ones, with the song's beat
features (from its audio) carrying each correction to the segments that sound like the corrected
one. The phrase level is the scheme's own, cut at the new section boundaries. :func:`correct_songs`
does several songs at once and writes nothing unless every song's corrections hold
(``sectionist segment --constraints/--boundaries``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from sectionist.store.schema import SEGMENTS, SONGS

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.base import Structure
from sectionist.analysis.structure.constrained import TAU, Correction, constrained_structure, piece_labels
from sectionist.analysis.structure.writer import segment_rows

#: Between a scheme and its version in a part name and in ``structure_corrections.scheme``.
VERSION_MARK = "~v"


def version_name(scheme: str, version: int) -> str:
    """``scheme`` for version 1, ``{scheme}~v{version}`` for a corrected one."""
    version = int(version)
    if version < 1:
        raise ParameterError(f"structure version {version}: versions start at 1")
    return scheme if version == 1 else f"{scheme}{VERSION_MARK}{version}"


def parse_version_name(name: str) -> tuple[str, int]:
    """The inverse of :func:`version_name`: ``(scheme, version)``."""
    m = re.fullmatch(rf"(.+){re.escape(VERSION_MARK)}(\d+)", str(name))
    if m and int(m.group(2)) >= 2:
        return m.group(1), int(m.group(2))
    return str(name), 1


def version_part(scheme: str, song_id: str, version: int) -> str:
    """The ``segments`` part that holds ``version`` of ``song_id``'s structure by ``scheme``."""
    return SEGMENTS.part(scheme=version_name(scheme, version), song_id=song_id)


def song_versions(store, song_id: str, scheme: str) -> list[int]:
    """The versions of ``song_id``'s structure by ``scheme`` in ``store``, ascending (empty: none)."""
    out = []
    for part in store.list_parts(SEGMENTS):
        head, _, sid = part.rpartition("/")
        if sid != song_id:
            continue
        name, version = parse_version_name(head)
        if name == scheme:
            out.append(version)
    return sorted(out)


def read_version(store, song_id: str, scheme: str, version: int | None = None) -> pd.DataFrame:
    """The ``segments`` rows of one version (default: the latest) of ``song_id``'s structure by
    ``scheme``; a ParameterError when there is none."""
    versions = song_versions(store, song_id, scheme)
    if version is None and versions:
        version = versions[-1]
    if version not in versions:
        have = ", ".join(map(str, versions)) or "none"
        raise ParameterError(f"song {song_id}: no version {version} of its {scheme!r} structure (versions: {have}; "
                             f"'sectionist segment --scheme {scheme}' writes version 1)")
    return store.read_part(SEGMENTS, version_part(scheme, song_id, version)).assign(version=np.int32(version))


def structure_of(rows: pd.DataFrame) -> Structure:
    """The :class:`~sectionist.analysis.structure.base.Structure` of one version's rows: the ``section``
    level with its finer levels in ``levels``, ``params`` from the rows' JSON."""
    level = rows["level"].fillna("section") if "level" in rows else pd.Series("section", index=rows.index)
    out = {}
    for name, g in rows.groupby(level):
        g = g.sort_values("start_s")
        conf = g["confidence"].to_numpy(np.float64) if "confidence" in g else None
        out[str(name)] = Structure(g[["start_s", "end_s"]].to_numpy(np.float64), g["label"].to_numpy(np.int64),
                                   confidence=conf)
    if "section" not in out:
        raise ParameterError("segments rows: no section level")
    top = out.pop("section")
    top.levels = out
    try:
        top.params = json.loads(rows["params"].iloc[0]) if "params" in rows and len(rows) else {}
    except (TypeError, ValueError):
        top.params = {}
    return top


def lineage(rows: pd.DataFrame) -> list[Correction]:
    """The corrections a version honours (none for the scheme's own), from its ``params``."""
    params = structure_of(rows).params
    return [Correction.from_dict(d, source=f"version {int(rows['version'].iloc[0])}")
            for d in params.get("corrections", [])]


def song_durations(store) -> dict[str, float]:
    """``{song_id: duration_s}`` of the analysed songs."""
    songs = store.read_table(SONGS, columns=["song_id", "duration_s"])
    return dict(zip(songs["song_id"].astype(str), songs["duration_s"].astype(float)))


def song_features(store, song_id: str, sample_rate: int = 22050):
    """The song's :class:`~sectionist.analysis.structure.beats.BeatFeatures`, from its audio (``songs.uri``)."""
    from sectionist.analysis.corpus.audio import load_audio
    from sectionist.analysis.structure.beats import beat_features

    songs = store.read_table(SONGS, columns=["song_id", "uri"])
    uri = songs.loc[songs["song_id"] == song_id, "uri"]
    if uri.empty:
        raise ParameterError(f"song {song_id}: not in {store.uri}")
    y, sr = load_audio(str(uri.iloc[0]), sample_rate)
    return beat_features(y, sr)


def corrected_version(store, song_id: str, scheme: str, corrections, *, features=None, extend: bool = True,
                      tau: float = TAU, propagate: bool = True) -> tuple[int, pd.DataFrame]:
    """The next version of ``song_id``'s structure by ``scheme`` and its rows, not written
    (:func:`correct_song` writes them). Arguments as :func:`correct_song`."""
    base_rows = read_version(store, song_id, scheme, 1)
    base = structure_of(base_rows)
    versions = song_versions(store, song_id, scheme)
    corrections = list(corrections)
    if not corrections:
        raise ParameterError(f"song {song_id}: no corrections")
    if extend and versions[-1] > 1:
        known = {json.dumps(c.as_dict(), sort_keys=True) for c in corrections}
        inherited = [c for c in lineage(read_version(store, song_id, scheme, versions[-1]))
                     if json.dumps(c.as_dict(), sort_keys=True) not in known]
        corrections = inherited + corrections
    result = constrained_structure(base, corrections, features=features, tau=tau, propagate=propagate)
    for name, level in base.levels.items():
        result.levels[name] = cut_level(level, result.bounds[1:, 0])
    version = versions[-1] + 1
    # the scheme's own params stay (readers look for them: merged's pre-merge slices, repeats' unit),
    # what the correction changed on top
    result.params = {**base.params, **result.params, "base_version": 1,
                     "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    rows = segment_rows(song_id, scheme, result)
    return version, rows.assign(version=np.int32(version))


def correct_song(store, song_id: str, scheme: str, corrections, *, features=None, extend: bool = True,
                 tau: float = TAU, propagate: bool = True, sample_rate: int = 22050) -> int:
    """Write a new version of ``song_id``'s structure by ``scheme`` that honours ``corrections``.

    Parameters
    ----------
    store : Store
        An analysed store holding the song's ``scheme`` segments (version 1).
    song_id : str
    scheme : str
        A structure scheme (``repeats``, ``merged`` …).
    corrections : sequence of Correction
        The experts' corrections, in order.
    features : BeatFeatures, optional
        The song's beat features; computed from its audio when None and ``propagate``.
    extend : bool
        Also honour the corrections of the latest version (its lineage; repeats dropped), so each
        version honours every correction made before it. False: only ``corrections``.
    tau, propagate
        As :func:`~sectionist.analysis.structure.constrained.constrained_structure`.
    sample_rate : int
        Rate at which the audio is read for the beat features.

    Returns
    -------
    int
        The version written (2 for the first correction).

    Raises
    ------
    ParameterError
        No version 1 of the song's scheme, no corrections, a time outside the song, a ``different``
        inside one segment, a contradiction; nothing is written.
    """
    if features is None and propagate:
        read_version(store, song_id, scheme, 1)  # a song without the scheme fails before its audio is read
        features = song_features(store, song_id, sample_rate)
    version, rows = corrected_version(store, song_id, scheme, corrections, features=features, extend=extend,
                                      tau=tau, propagate=propagate)
    write_versions(store, scheme, {song_id: (version, rows)})
    return version


def correct_songs(store, scheme: str, by_song: dict, *, extend: bool = True, tau: float = TAU,
                  propagate: bool = True, sample_rate: int = 22050, features: dict | None = None) -> dict:
    """:func:`correct_song` for several songs (``{song_id: [Correction, …]}``), all or nothing: every
    new version is computed before any is written. Returns ``{song_id: version}``."""
    features = dict(features or {})
    ready = {}
    for song_id, corrections in by_song.items():
        feats = features.get(song_id)
        if feats is None and propagate:
            read_version(store, song_id, scheme, 1)
            feats = song_features(store, song_id, sample_rate)
        ready[song_id] = corrected_version(store, song_id, scheme, corrections, features=feats, extend=extend,
                                           tau=tau, propagate=propagate)
    write_versions(store, scheme, ready)
    return {sid: v for sid, (v, _rows) in ready.items()}


def write_versions(store, scheme: str, ready: dict) -> None:
    """Write ``{song_id: (version, rows)}`` as new parts (a version already there is a ParameterError:
    another correction got in first) and give the store a new version so running apps reload."""
    for song_id, (version, _rows) in ready.items():
        if store.has_part(SEGMENTS, version_part(scheme, song_id, version)):
            raise ParameterError(f"song {song_id}: version {version} of its {scheme!r} structure was written "
                                 "meanwhile; correct it again")
    for song_id, (version, rows) in ready.items():
        store.write_part(SEGMENTS, version_part(scheme, song_id, version), rows)
    if ready:
        store.update_manifest(lambda manifest: None)


def cut_level(level: Structure, cuts: np.ndarray) -> Structure:
    """A finer level cut at ``cuts`` (the new section boundaries): a segment a cut falls inside becomes
    its pieces, labelled piece by piece; the others keep their labels and confidence."""
    bounds = np.asarray(level.bounds, dtype=np.float64)
    inner = bounds[1:, 0]
    extra = [float(t) for t in cuts if bounds[0, 0] < t < bounds[-1, 1]
             and not (len(inner) and np.abs(inner - t).min() < 1e-3)]
    edges = np.sort(np.concatenate([bounds[:, 0], [bounds[-1, 1]], extra]))
    new_bounds = np.stack([edges[:-1], edges[1:]], axis=1)
    labels = piece_labels(bounds, np.asarray(level.labels), new_bounds)
    conf = None
    if level.confidence is not None:
        owner = np.clip(np.searchsorted(bounds[:, 0], new_bounds.mean(axis=1), side="right") - 1, 0, len(bounds) - 1)
        conf = np.asarray(level.confidence, dtype=np.float64)[owner]
        counts = np.bincount(labels)
        conf = np.where(counts[labels] < 2, np.nan, conf)
    return Structure(new_bounds, labels, confidence=conf)
