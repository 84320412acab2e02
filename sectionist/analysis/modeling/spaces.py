"""Reading the store's spaces: feature sets and embedders, as the rows a run clusters or a map projects."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sectionist.store.schema import FEATURES, SECTIONS, embedders_in, frame_columns, read_frames, section_vectors

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.modeling.specs import SpaceData

log = logging.getLogger(__name__)


def feature_spaces() -> dict:
    from sectionist.analysis.sections.feature_names import FEATURE_SETS

    return FEATURE_SETS


def embedders_in_store(store) -> list[str]:
    """Embedders that have frames in the store."""
    return embedders_in(store)


def read_sections(store) -> pd.DataFrame:
    sections = store.read_table(SECTIONS)
    if sections.empty or "section_id" not in sections:
        raise StoreError(f"{store.uri}: no sections table (run 'sectionist analyze' first)")
    return sections.sort_values("section_id").reset_index(drop=True)


def feature_matrix(store, space: str, section_ids=None) -> tuple[pd.DataFrame, list[str]]:
    """Section ids and the columns of feature set ``space``, rows with non-finite values dropped."""
    from sectionist.analysis.sections.feature_names import feature_columns

    feats = store.read_table(FEATURES)
    if feats.empty:
        raise StoreError(f"{store.uri}: no features table (run 'sectionist analyze' first)")
    wanted = feature_columns(space)
    cols = [c for c in wanted if c in feats.columns]
    missing = [c for c in wanted if c not in feats.columns]
    if space == "classical17" and missing:
        raise StoreError(f"{store.uri}: features table lacks {', '.join(missing)}")
    if not cols:
        raise StoreError(f"{store.uri}: features table has no column of feature set {space!r}")
    df = feats[["section_id", "song_id"] + cols].sort_values("section_id")
    if section_ids is not None:
        df = df[df["section_id"].isin(set(section_ids))]
    vals = df[cols].to_numpy(dtype=np.float64)
    finite = np.isfinite(vals).all(axis=1)
    if not finite.all():
        log.warning("%s: %d section(s) with missing %s feature values left out", store.uri, (~finite).sum(), space)
    return df[finite].reset_index(drop=True), cols


def load_space(store, space: str, *, level: str | None = None, central_only: bool = False) -> SpaceData:
    """Rows of ``space`` (a feature set or an embedder) for clustering.

    Parameters
    ----------
    space : str
        ``classical17``, ``classical``, or an embedder with frames in the store.
    level : {"section", "frame", "section-mean"}, optional
        Feature sets are section level; embedders default to ``frame`` (cluster frames, label each
        section by its most frequent frame label) or ``section-mean`` (cluster section means).
    central_only : bool
        Keep only sections marked ``is_central``.
    """
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
    """Section ids and one row per section of ``space`` (all sections; embedders: frame means)."""
    if space in feature_spaces():
        df, cols = feature_matrix(store, space)
        return df["section_id"].to_numpy(), df[cols].to_numpy(np.float64), cols
    data = load_space(store, space, level="section-mean")
    return data.section_ids, data.X, data.columns
