"""Section features and the vectors of each space: the feature matrix, standardised space vectors,
nearest neighbours, corpus medians."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.store.schema import FEATURES, embedders_in, section_vectors



class FeaturesMixin:
    """:class:`sectionist.dashboard.data.store_data.StoreData`'s features and space vectors."""

    @cached_property
    def features(self) -> pd.DataFrame:
        """The features table aligned to the section order (NaN rows for sections without features)."""
        df = self.read_once(FEATURES)
        num = [c for c in df.columns if c not in ("section_id", "song_id")]
        out = pd.DataFrame(np.nan, index=range(self.n_sections), columns=num, dtype=np.float32)
        if len(df):
            pos = self.positions(df["section_id"])
            ok = pos >= 0
            out.iloc[pos[ok]] = df[num].to_numpy(np.float32)[ok]
        return out

    @property
    def feature_names(self) -> list[str]:
        return list(self.features.columns)

    @cached_property
    def feature_matrix(self) -> np.ndarray:
        """The features as one float32 array [shape=(n_sections, n_features)] (column order of
        :attr:`feature_names`): row lookups without pandas."""
        # one float32 block: a view of the frame's memory, not a second copy
        return self.features.to_numpy(np.float32, copy=False)

    @cached_property
    def feature_index(self) -> dict:
        return {name: i for i, name in enumerate(self.features.columns)}

    def feature_rows(self, positions, names) -> np.ndarray:
        """Values of ``names`` for the sections at ``positions`` [shape=(len(positions), len(names))]."""
        cols = [self.feature_index[n] for n in names]
        return self.feature_matrix[np.asarray(positions)][:, cols]

    def feature_values(self, name) -> np.ndarray:
        """One feature column aligned to the section order (float32)."""
        if name not in self.feature_index:
            raise StoreError(f"{self.store_uri}: no feature {name!r}")
        return self.feature_matrix[:, self.feature_index[name]]

    def space_vectors(self, space) -> tuple[np.ndarray, np.ndarray] | None:
        """Standardised vectors of ``space`` per section and their squared norms; None if unknown.

        Classical spaces come from the features table; an embedder's vectors are the mean of its
        frames per section. Sections without vectors have zeros and an infinite norm.
        """
        self.refresh()
        c = self._cache
        with c.lock:
            if space in c.space_vectors:
                return c.space_vectors[space]
        X = None
        cols = _space_columns(space, self.feature_names)
        if cols:
            X = self.features[cols].to_numpy(np.float32)
        else:
            if space in embedders_in(self.store):
                reader = self.readable  # the frames' parts, damaged ones left out
                ids, means, ecols = section_vectors(self.store, space, reader=reader)
                X = np.full((self.n_sections, len(ecols)), np.nan, np.float32)
                pos = self.positions(ids)
                ok = pos >= 0
                X[pos[ok]] = means.astype(np.float32)[ok]
        out = None
        if X is not None and X.shape[1]:
            mu = np.nanmean(X, axis=0)
            sd = np.nanstd(X, axis=0)
            X = ((X - mu) / np.where(sd > 0, sd, 1)).astype(np.float32)
            bad = np.isnan(X).any(axis=1)
            X[bad] = 0
            norms = np.einsum("ij,ij->i", X, X)
            norms[bad] = np.inf
            out = (np.ascontiguousarray(X), norms)
        with c.lock:
            c.space_vectors[space] = out
        return out

    def neighbours(self, pos: int, space, k: int = 8) -> list[tuple[int, float]]:
        """The ``k`` nearest sections to section ``pos`` in ``space``: (pos, distance), nearest first.

        Falls back to the first available projection of the space when it has no vectors.
        """
        vec = self.space_vectors(space)
        if vec is None:
            cat = self.projection_catalog
            cat = cat[cat["space"] == space]
            if cat.empty:
                return []
            X = np.nan_to_num(self.projection(space, cat.iloc[0]["kind"], cat.iloc[0]["dims"]).xyz, nan=1e9)
            vec = (X, np.einsum("ij,ij->i", X, X))
        X, norms = vec
        if not np.isfinite(norms[pos]):
            return []
        q = X[pos]
        d = norms - 2 * (X @ q) + norms[pos]
        d[pos] = np.inf
        k = min(k, len(d) - 1)
        if k <= 0:
            return []
        idx = np.argpartition(d, k)[:k]
        idx = idx[np.argsort(d[idx])]
        return [(int(i), float(np.sqrt(max(d[i], 0.0)))) for i in idx if np.isfinite(d[i])]

    @cached_property
    def feature_medians(self) -> dict:
        """feature column → its median over the corpus (what "higher than usual" is measured from)."""
        mat = self.feature_matrix
        if not mat.size:
            return {}
        with np.errstate(all="ignore"):
            med = np.nanmedian(mat, axis=0) if len(mat) else np.full(mat.shape[1], np.nan)
        return {name: float(m) for name, m in zip(self.features.columns, med) if np.isfinite(m)}


def _space_columns(space, available) -> list[str]:
    if not str(space).startswith("classical"):
        return []
    try:
        from sectionist.analysis.sections.feature_names import feature_columns
    except ImportError:  # pragma: no cover - the features module is part of the package
        return []
    try:
        return feature_columns(space, available)
    except Exception:  # unknown feature set name: not a classical space after all
        return []
