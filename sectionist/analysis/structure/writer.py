"""Structure results into the :data:`~sectionist.store.schema.SEGMENTS` table: the rows of one result
(:func:`segment_rows`), one song's parts for several schemes (:func:`song_segments`, what ``analyze``
writes) and a whole analysed store (:func:`segment_store`, ``sectionist segment``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sectionist.store.schema import SEGMENTS, SONGS

from sectionist.analysis.errors import SectionistError
from sectionist.analysis.structure.base import LEVELS, Structure
from sectionist.analysis.structure.beats import beat_features
from sectionist.analysis.structure.schemes import DEFAULT_SCHEMES, STRUCTURES


def segment_rows(song_id: str, scheme: str, result: Structure) -> pd.DataFrame:
    """Rows of the :data:`~sectionist.store.schema.SEGMENTS` table for one song and scheme: the
    ``section`` level, then each finer level of ``result.levels`` (:data:`~sectionist.analysis.structure.base.LEVELS`)."""
    blob = json.dumps({key: v for key, v in result.params.items() if key != "features"}, sort_keys=True)
    frames = [_level_rows(song_id, scheme, "section", result, blob)]
    for level, sub in result.levels.items():
        if level not in LEVELS or level == "section":
            raise SectionistError(f"structure level {level!r}: choose among {', '.join(LEVELS[1:])}")
        frames.append(_level_rows(song_id, scheme, level, sub, blob))
    return pd.concat(frames, ignore_index=True)


def _level_rows(song_id: str, scheme: str, level: str, result: Structure, blob: str) -> pd.DataFrame:
    k = len(result.bounds)
    conf = (np.full(k, np.nan) if result.confidence is None
            else np.asarray(result.confidence, dtype=np.float64).reshape(k))
    return pd.DataFrame({
        "song_id": song_id, "scheme": scheme, "index": np.arange(k, dtype=np.int32),
        "start_s": result.bounds[:, 0].astype(np.float64), "end_s": result.bounds[:, 1].astype(np.float64),
        "label": np.asarray(result.labels, dtype=np.int64), "n_types": np.int32(result.n_types), "params": blob,
        "level": level, "confidence": conf,
    })



def song_segments(song_id: str, y: np.ndarray, sr: int, schemes, *, spectrum=None) -> dict:
    """Table parts ``{(SEGMENTS, part): rows}`` of one song for each scheme, each given the shared inputs
    it declares (:attr:`~sectionist.analysis.structure.base.Scheme.inputs`): the beat features, computed
    once, and ``spectrum``, the song's :class:`sectionist.analysis.sections.spectrum.SongSpectrum` at
    hop 512 (which also gives the beat features their beats and MFCCs)."""
    parts, feats = {}, None
    for scheme in schemes:
        spec = STRUCTURES[scheme]
        kw = {}
        for name in spec.inputs:  # base.INPUTS: the song's spectrum, or its beat features (computed once)
            if name == "spectrum":
                kw[name] = spectrum
            else:
                feats = feats or beat_features(y, sr, spectrum=spectrum)
                kw[name] = feats
        parts[(SEGMENTS, SEGMENTS.part(scheme=scheme, song_id=song_id))] = segment_rows(
            song_id, scheme, spec.segment(y, sr, **kw))
    return parts


def segment_store(store, schemes=DEFAULT_SCHEMES, *, force: bool = False, sample_rate: int = 22050,
                  progress: bool = True) -> dict:
    """(Re)compute the structure segmentations of every analysed song of ``store`` from its audio.

    Resumable: a song whose part of a scheme exists and was written by the scheme's current
    :attr:`~sectionist.analysis.structure.base.Scheme.version` is skipped unless ``force``. A song that fails
    (missing or unreadable audio) is reported and the others go on.

    Returns
    -------
    dict
        ``written``: list of (song_id, scheme); ``skipped``: count; ``failed``: list of (song_id, title, reason).
    """
    from tqdm.auto import tqdm

    from sectionist.analysis.corpus.audio import load_audio

    schemes = [STRUCTURES[s].name for s in schemes]  # unknown names fail before any work
    if SONGS not in store.tables():
        raise SectionistError(f"{store.uri}: no analysed songs (run 'sectionist analyze' first)")
    songs = store.read_table(SONGS, columns=["song_id", "uri", "title"])
    written, failed, skipped = [], [], 0
    for song in tqdm(songs.sort_values("title").to_dict("records"), desc="segment", unit="song",
                     disable=not progress):
        sid = song["song_id"]
        todo = [s for s in schemes if force or not _current_part(store, s, sid)]
        skipped += len(schemes) - len(todo)
        if not todo:
            continue
        try:
            y, sr = load_audio(str(song["uri"]), sample_rate)
            parts = song_segments(sid, y, sr, todo)
        except (SectionistError, OSError, ValueError) as exc:
            failed.append((sid, song.get("title"), str(exc)))
            continue
        for (table, part), df in parts.items():
            store.write_part(table, part, df)
            written.append((sid, part.split("/")[0]))
    return {"written": written, "skipped": skipped, "failed": failed}


def _current_part(store, scheme: str, song_id: str) -> bool:
    """Whether the song's part of ``scheme`` exists and was written by the scheme's current version."""
    part = SEGMENTS.part(scheme=scheme, song_id=song_id)
    if not store.has_part(SEGMENTS, part):
        return False
    version = STRUCTURES[scheme].version
    if version == 1:
        return True
    rows = store.read_part(SEGMENTS, part, columns=["params"])
    try:
        return len(rows) > 0 and json.loads(rows["params"].iloc[0]).get("version") == version
    except (ValueError, TypeError, KeyError):
        return False

