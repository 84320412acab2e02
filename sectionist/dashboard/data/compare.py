"""Agreement of two runs of one store: stored scores when the pair was compared by the analysis,
else :func:`sectionist.analysis.modeling.compare.compare_labelings` on the two clusterings."""

from __future__ import annotations

import numpy as np

from sectionist.store.schema import COMPARISONS

from sectionist.dashboard.data.runs import MISSING


class CompareMixin:
    """:class:`sectionist.dashboard.data.store_data.StoreData`'s run comparisons."""

    def comparison(self, run_a, run_b) -> dict:
        """Agreement of two runs: ari, nmi, agreement, contingency, mapping and per-section arrays.

        Read from the ``comparisons`` tables when the pair was stored (in either order), else
        computed from the two clusterings by :func:`sectionist.analysis.modeling.compare.compare_labelings`
        (Hungarian alignment of B's labels onto A's; an unmatched B cluster gets a new label
        above A's, listed in ``"unmatched"``).
        """
        key = (run_a, run_b)
        self.refresh()
        c = self._cache
        with c.lock:
            if key in c.comparisons:
                return c.comparisons[key]
        stored = self.table(COMPARISONS)
        hit = rev = stored.iloc[0:0]
        if not stored.empty:
            hit = stored[(stored["run_a"] == run_a) & (stored["run_b"] == run_b)]
            rev = stored[(stored["run_a"] == run_b) & (stored["run_b"] == run_a)]
        # a stored pair brings its scores (ARI and NMI are symmetric, so the reversed pair's serve
        # too): only the cheap alignment is computed here
        known = hit if len(hit) else rev
        out = _compare_labels(self.run_arrays(run_a).label, self.run_arrays(run_b).label, scores=not len(known))
        if len(known):
            out.update(ari=float(known.iloc[0]["ari"]), nmi=float(known.iloc[0]["nmi"]))
        if len(hit):
            out["agreement"] = float(hit.iloc[0]["agreement"])
        out["run_a"], out["run_b"] = run_a, run_b
        with c.lock:
            c.comparisons[key] = out
        return out


def _compare_labels(la: np.ndarray, lb: np.ndarray, scores: bool = True) -> dict:
    """:func:`sectionist.analysis.modeling.compare.compare_labelings` over the sections both runs clustered, spread back
    onto the store's section order (``MISSING`` where a run left a section out).

    Unmatched clusters of B keep a label of their own, above every A label (the rule of
    :mod:`sectionist.analysis.modeling.compare`), so they never count as agreeing. ARI and NMI are NaN without
    ``scores``.
    """
    from sectionist.analysis.modeling.compare import compare_labelings

    both = (la != MISSING) & (lb != MISSING)
    n = int(both.sum())
    aligned = np.full(len(la), MISSING, np.int32)
    agree = np.zeros(len(la), bool)
    if not n:
        return {"rows": [], "cols": [], "counts": np.zeros((0, 0), np.int64), "mapping": {}, "unmatched": [],
                "aligned_b": aligned, "agree": agree, "both": both, "n": 0, "agreement": float("nan"),
                "ari": float("nan"), "nmi": float("nan")}
    comp = compare_labelings(la[both], lb[both], scores=scores)
    aligned[both] = comp.b_aligned
    agree[both] = comp.agree
    return {
        "rows": comp.rows, "cols": comp.cols, "counts": comp.counts, "mapping": comp.mapping,
        "unmatched": comp.unmatched, "aligned_b": aligned, "agree": agree, "both": both, "n": n,
        "agreement": comp.agreement, "ari": comp.ari, "nmi": comp.nmi,
    }
