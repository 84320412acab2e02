"""What the analysis says of each section beyond its cluster: SHAP explanations, mean mel spectra,
tags, and the profile (feature z-scores, distinctive tags) that a cluster's default name is made from."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from sectionist.store.schema import EXPLANATIONS, MELSPEC, TAGS

from sectionist.dashboard.data.tables import long_lived


class AnnotationsMixin:
    """:class:`sectionist.dashboard.data.store_data.StoreData`'s explanations, spectra and tags."""

    def explanation(self, run_id, pos) -> pd.Series | None:
        """SHAP values of one section towards its cluster in ``run_id`` (feature → value), or None."""
        mat, names = self._explanations(run_id)
        if mat is None or np.isnan(mat[pos]).all():
            return None
        return pd.Series(mat[pos], index=names)

    def cluster_explanations(self, run_id, cluster) -> tuple[np.ndarray, list, np.ndarray]:
        """(SHAP matrix of the cluster's sections, feature names, their positions)."""
        mat, names = self._explanations(run_id)
        if mat is None:
            return np.zeros((0, 0), np.float32), [], np.array([], np.int64)
        labels = self.run_arrays(run_id).label
        pos = np.flatnonzero((labels == int(cluster)) & ~np.isnan(mat).all(axis=1))
        return mat[pos], names, pos

    def _explanations(self, run_id):
        self.refresh()
        self.unavailable(run_id)
        c = self._cache
        with c.lock:
            if run_id in c.explanations:
                return c.explanations[run_id]
        if not c.store.has_part(EXPLANATIONS, run_id):
            out = (None, [])
        else:
            df = c.store.read_part(EXPLANATIONS, run_id)
            shap_cols = [col for col in df.columns if col.startswith("shap_")]
            mat = np.full((self.n_sections, len(shap_cols)), np.nan, np.float32)
            pos = self.positions(df["section_id"])
            ok = pos >= 0
            mat[pos[ok]] = df[shap_cols].to_numpy(np.float32)[ok]
            out = (mat, [col[5:] for col in shap_cols])
        with c.lock:
            c.explanations[run_id] = out
        return out

    @cached_property
    def melspec(self) -> np.ndarray | None:
        """Each section's mean log-mel spectrum in dB [shape=(n_sections, n_mels)] (NaN rows where
        absent), from the ``melspec`` table; None when the store has none."""
        df = self.read_once(MELSPEC)
        cols = [c for c in df.columns if c.startswith("mel") and c[3:].isdigit()]
        if df.empty or not cols:
            return None
        cols.sort(key=lambda c: int(c[3:]))
        out = np.full((self.n_sections, len(cols)), np.nan, np.float32)
        pos = self.positions(df["section_id"])
        ok = pos >= 0
        out[pos[ok]] = df[cols].to_numpy(np.float32)[ok]
        return out

    @cached_property
    def _tags(self) -> pd.DataFrame:
        df = self.read_once(TAGS)
        if df.empty:
            return df
        # ordered by section position: a section's tags are found by binary search (_tag_rows)
        df = df.assign(pos=self.positions(df["section_id"]))
        return long_lived(df.sort_values(["pos", "model", "rank"], kind="stable").set_index("section_id"))

    @cached_property
    def _tag_pos(self) -> np.ndarray:
        tags = self._tags
        return tags["pos"].to_numpy(np.int64) if not tags.empty else np.empty(0, np.int64)

    def tags(self, section_id) -> pd.DataFrame:
        """Top tags of one section (columns model, rank, tag, probability)."""
        df = self._tags
        if df.empty or not isinstance(section_id, str):
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        # rows sorted by section position: two binary searches on an integer array (a label lookup
        # on 5 000 000 string rows costs tens of ms or builds a hash table of them)
        pos = self.position(section_id)
        if pos is None:
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        lo, hi = np.searchsorted(self._tag_pos, pos, "left"), np.searchsorted(self._tag_pos, pos, "right")
        if hi <= lo:
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        return df.iloc[lo:hi].drop(columns="pos").reset_index(drop=True)

    @cached_property
    def _tag_codes(self) -> tuple:
        """The tags table as arrays: section positions, tag codes, probabilities and the tag names."""
        tags = self._tags
        if tags.empty:
            return np.array([], np.int64), np.array([], np.int64), np.array([], np.float64), np.array([], object)
        pos = self.positions(tags.index.to_numpy())
        ok = pos >= 0
        codes, names = pd.factorize(tags["tag"].to_numpy()[ok])
        return pos[ok], codes.astype(np.int64), tags["probability"].to_numpy(np.float64)[ok], np.asarray(names)

    def cluster_top_tags(self, run_id, min_probability: float | None = None) -> dict:
        """cluster → ``(tag, mean probability in the cluster)`` of the tag most over-represented among
        its sections (mean probability in the cluster minus over the corpus, a section without the tag
        in its list counting 0) among the tags whose mean probability in the cluster is at least
        ``min_probability`` (default :data:`sectionist.analysis.glossary.TAG_MIN_PROBABILITY`: below it
        the tagger is guessing), for the clusters that have one above the corpus."""
        from sectionist.analysis.glossary import TAG_MIN_PROBABILITY

        floor = TAG_MIN_PROBABILITY if min_probability is None else float(min_probability)
        if run_id not in self.runs.index:
            return {}
        pos, codes, prob, names = self._tag_codes
        if not len(pos):
            return {}
        labels = self.run_arrays(run_id).label
        lab = labels[pos]
        keep = lab >= 0
        if not keep.any():
            return {}
        n_tags = len(names)
        k = int(lab[keep].max()) + 1
        sizes = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
        inside = np.bincount(lab[keep] * n_tags + codes[keep], weights=prob[keep], minlength=k * n_tags)
        inside = inside.reshape(k, n_tags) / np.maximum(sizes, 1)[:, None]
        corpus = np.bincount(codes[keep], weights=prob[keep], minlength=n_tags) / max(sizes.sum(), 1)
        lift = np.where(inside >= floor, inside - corpus[None, :], -np.inf)
        best = np.argmax(lift, axis=1)
        return {c: (str(names[best[c]]), float(inside[c, best[c]])) for c in range(k)
                if sizes[c] > 0 and lift[c, best[c]] > 0}

    def cluster_profile(self, run_id) -> tuple[pd.DataFrame, dict] | None:
        """What a run's clusters' default names are made from (:func:`sectionist.analysis.glossary.default_cluster_names`):
        the clusters' median feature z-scores (:func:`~sectionist.analysis.glossary.cluster_profiles_z`, over the
        features that have plain words) and :meth:`cluster_top_tags`. None for an unknown run."""
        from sectionist.analysis.glossary import FEATURE_GLOSSARY, cluster_profiles_z

        if run_id not in self.runs.index:
            return None
        labels = self.run_arrays(run_id).label
        cols = [n for n in self.feature_names if n in FEATURE_GLOSSARY and
                (FEATURE_GLOSSARY[n].high_word or FEATURE_GLOSSARY[n].low_word)]
        if cols and (labels >= 0).any():
            z = cluster_profiles_z(self.feature_rows(np.arange(self.n_sections), cols), labels, cols)
        else:
            z = pd.DataFrame(index=pd.Index(sorted({int(x) for x in labels if x >= 0}), name="cluster"))
        return z, self.cluster_top_tags(run_id)
