"""Reading the store's spaces: feature sets and embedders, as the rows a run clusters or a map projects.

Every space has a song-relative twin (``<space>-role``, ``<space>-rel``,
:mod:`sectionist.analysis.modeling.roles`): its rows are the base space's, each column made relative
to the rows of the same song right where they are read here, so every reader of a space (runs, maps,
explanations, placement of new songs) gets the same values.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from sectionist.store.schema import FEATURES, SECTIONS, embedders_in, frame_columns, read_frames, section_vectors

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.modeling.roles import song_relative, split_space
from sectionist.analysis.modeling.specs import SpaceData

log = logging.getLogger(__name__)


def feature_spaces() -> dict:
    from sectionist.analysis.sections.feature_names import FEATURE_SETS

    return FEATURE_SETS


def is_feature_space(space) -> bool:
    """Whether ``space`` is a feature set or a feature set's song-relative space (section level only)."""
    return split_space(space)[0] in feature_spaces()


def default_level(space) -> str:
    """The level a run of ``space`` has when none is asked for: ``section`` for feature sets, ``frame``
    for embedders."""
    return "section" if is_feature_space(space) else "frame"


def embedders_in_store(store) -> list[str]:
    """Embedders that have frames in the store."""
    return embedders_in(store)


def read_sections(store) -> pd.DataFrame:
    sections = store.read_table(SECTIONS)
    if sections.empty or "section_id" not in sections:
        raise StoreError(f"{store.uri}: no sections table (run 'sectionist analyze' first)")
    return sections.sort_values("section_id").reset_index(drop=True)


def feature_matrix(store, space: str, section_ids=None) -> tuple[pd.DataFrame, list[str]]:
    """Section ids and the columns of feature set ``space``, rows with non-finite values dropped.

    A song-relative space (``classical17-role``) has its base set's columns, each relative to the
    rows of the same song among those kept (:func:`sectionist.analysis.modeling.roles.song_relative`).
    """
    from sectionist.analysis.sections.feature_names import feature_columns

    base, kind = split_space(space)
    feats = store.read_table(FEATURES)
    if feats.empty:
        raise StoreError(f"{store.uri}: no features table (run 'sectionist analyze' first)")
    wanted = feature_columns(base)
    cols = [c for c in wanted if c in feats.columns]
    missing = [c for c in wanted if c not in feats.columns]
    if base == "classical17" and missing:
        raise StoreError(f"{store.uri}: features table lacks {', '.join(missing)}")
    if not cols:
        raise StoreError(f"{store.uri}: features table has no column of feature set {base!r}")
    df = feats[["section_id", "song_id"] + cols].sort_values("section_id")
    if section_ids is not None:
        df = df[df["section_id"].isin(set(section_ids))]
    vals = df[cols].to_numpy(dtype=np.float64)
    finite = np.isfinite(vals).all(axis=1)
    if not finite.all():
        log.warning("%s: %d section(s) with missing %s feature values left out", store.uri, (~finite).sum(), base)
    df = df[finite].reset_index(drop=True)
    if kind is not None:
        df = relative_to_song(df, cols, kind)
    return df, cols


def relative_to_song(df: pd.DataFrame, cols: list[str], kind: str = "role") -> pd.DataFrame:
    """A copy of ``df`` (with a ``song_id`` column) whose ``cols`` are relative to the rows of the same song."""
    out = df.copy()
    out[cols] = song_relative(df[cols].to_numpy(np.float64), df["song_id"].to_numpy(), kind=kind)
    return out


def load_space(store, space: str, *, level: str | None = None, central_only: bool = False) -> SpaceData:
    """Rows of ``space`` (a feature set or an embedder, or its song-relative space) for clustering.

    Parameters
    ----------
    space : str
        ``classical17``, ``classical``, or an embedder with frames in the store; any of them with
        ``-role`` or ``-rel`` (:mod:`sectionist.analysis.modeling.roles`): the base space's rows with each
        column relative to the rows of the same song among those loaded (its sections, or at the
        ``frame`` level its frames).
    level : {"section", "frame", "section-mean"}, optional
        Feature sets are section level; embedders default to ``frame`` (cluster frames, label each
        section by its most frequent frame label) or ``section-mean`` (cluster section means).
    central_only : bool
        Keep only sections marked ``is_central`` (a role space is then relative to the song's central
        sections).
    """
    base, kind = split_space(space)
    if kind is not None:
        data = load_space(store, base, level=level, central_only=central_only)
        row_songs = data.song_ids if data.groups is None else data.song_ids[data.groups]
        return replace(data, space=space, X=song_relative(data.X, row_songs, kind=kind))
    sections = read_sections(store)
    keep = sections
    if central_only:
        keep = sections[sections["is_central"].fillna(False).astype(bool)]
        if keep.empty:
            raise StoreError(f"{store.uri}: no central sections")
    wanted = set(keep["section_id"])
    if space in feature_spaces():
        if level not in (None, "section"):
            raise ParameterError(f"level={level!r}: feature set {space!r} is section level only")
        df, cols = feature_matrix(store, space, wanted)
        return SpaceData(space, "section", df["section_id"].to_numpy(), df["song_id"].to_numpy(),
                         df[cols].to_numpy(np.float64), None, cols)
    level = level or "frame"
    if level not in ("frame", "section-mean"):
        raise ParameterError(f"level={level!r}: embedder spaces use 'frame' or 'section-mean'")
    fr = read_frames(store, space)
    fr = fr[fr["section_id"].isin(wanted)]
    song_of = dict(zip(sections["section_id"], sections["song_id"]))
    if level == "section-mean":
        section_ids, X, cols = section_vectors(store, space, frames=fr)
        if not len(section_ids):
            raise StoreError(f"{store.uri}: no usable frames of {space!r}")
        song_ids = np.array([song_of.get(s, "") for s in section_ids])
        return SpaceData(space, level, section_ids, song_ids, X, None, cols)
    cols = frame_columns(fr.columns)
    if not cols:
        raise StoreError(f"{store.uri}: frames of {space!r} have no e0..eN columns")
    fr = fr.sort_values(["section_id", "start_s"], kind="stable")
    vals = fr[cols].to_numpy(np.float64)
    finite = np.isfinite(vals).all(axis=1)
    fr, vals = fr[finite], vals[finite]
    if fr.empty:
        raise StoreError(f"{store.uri}: no usable frames of {space!r}")
    section_ids, groups = np.unique(fr["section_id"].to_numpy(), return_inverse=True)
    song_ids = np.array([song_of.get(s, "") for s in section_ids])
    return SpaceData(space, level, section_ids, song_ids, vals, groups.astype(np.int64), cols)


def space_section_matrix(store, space: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Section ids and one row per section of ``space`` (all sections; embedders: frame means; a
    song-relative space relative to those rows of each song)."""
    if is_feature_space(space):
        df, cols = feature_matrix(store, space)
        return df["section_id"].to_numpy(), df[cols].to_numpy(np.float64), cols
    data = load_space(store, space, level="section-mean")
    return data.section_ids, data.X, data.columns
