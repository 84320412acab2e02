"""Sections and songs of a store, in one fixed section order (song, then start time): the rows,
positions of section ids, per-section arrays."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.store.schema import SECTIONS, SONGS

from sectionist.dashboard.data.tables import long_lived


class SectionsMixin:
    """:class:`sectionist.dashboard.data.store_data.StoreData`'s sections and songs."""

    @cached_property
    def sections(self) -> pd.DataFrame:
        """Sections in song order then start time, with a positional index (``pos``)."""
        df = self.read_once(SECTIONS)
        if df.empty:
            raise StoreError(f"{self.store_uri}: the store has no sections (run 'sectionist analyze' first)")
        df = df.sort_values(["song_id", "start_s"], kind="stable").reset_index(drop=True)
        songs = self.songs
        df["song_code"] = pd.Categorical(df["song_id"], categories=songs.index).codes.astype(np.int32)
        df["title"] = songs["title"].to_numpy()[df["song_code"].to_numpy()]
        return long_lived(df)

    @cached_property
    def songs(self) -> pd.DataFrame:
        """Songs indexed by ``song_id``, sorted by title."""
        df = self.table(SONGS)
        if df.empty:
            raise StoreError(f"{self.store_uri}: the store has no songs")
        df = df.copy()
        df["title"] = df["title"].fillna(df["song_id"]).astype(str)
        return df.sort_values("title", kind="stable").set_index("song_id")

    @cached_property
    def section_ids(self) -> np.ndarray:
        return long_lived(self.sections["section_id"].to_numpy(dtype=object))

    @cached_property
    def _section_index(self) -> pd.Index:
        return pd.Index(self.section_ids)

    @property
    def n_sections(self) -> int:
        return len(self.section_ids)

    def positions(self, section_ids) -> np.ndarray:
        """Row positions of ``section_ids`` (``-1`` for unknown ids)."""
        return self._section_index.get_indexer(pd.Index(list(section_ids)))

    def position(self, section_id) -> int | None:
        """Row position of one section id, or None when it is not in the store."""
        if not isinstance(section_id, str):
            return None
        try:
            pos = self._section_index.get_loc(section_id)
        except KeyError:
            return None
        return int(pos) if isinstance(pos, (int, np.integer)) else None

    @cached_property
    def song_code(self) -> np.ndarray:
        return self.sections["song_code"].to_numpy()

    @cached_property
    def is_central(self) -> np.ndarray:
        return self.sections["is_central"].fillna(False).to_numpy(dtype=bool)

    def section(self, section_id) -> dict | None:
        """One section's row with its song's fields (uri, title, duration_s…), or None."""
        pos = self.position(section_id)
        if pos is None:
            return None
        row = self.sections.iloc[pos].to_dict()
        song = self.songs.loc[row["song_id"]].to_dict()
        row.update({f"song_{k}": v for k, v in song.items()})
        row["pos"] = pos
        return row

    def song_sections(self, song_id) -> pd.DataFrame:
        """The sections of one song (with ``pos``), by start time."""
        code = self.songs.index.get_indexer([song_id])[0]
        if code < 0:
            return self.sections.iloc[0:0].assign(pos=[])
        pos = np.flatnonzero(self.song_code == code)
        return self.sections.iloc[pos].assign(pos=pos)

    @cached_property
    def titles(self) -> np.ndarray:
        """Song title per section (object array)."""
        return long_lived(self.sections["title"].to_numpy())

    @cached_property
    def starts(self) -> np.ndarray:
        """Start time per section in seconds."""
        return self.sections["start_s"].to_numpy(np.float64)
