"""Choosing K: the searched range, the rules (:func:`choose_k`) and the bootstrap stability per K."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sectionist.analysis.errors import ParameterError


#: Default range of K tried when K is chosen automatically.
K_RANGE = (2, 10)
#: Rules that choose K automatically (``k_rule`` of the methods that take K); the first is the default.
K_RULES = ("stable-silhouette", "silhouette", "bic")
#: ``stable-silhouette``: a K is "as good as the best" when its silhouette is within this much of the
#: best silhouette (silhouettes live on a fixed [−1, 1] scale; on corpora of music sections adjacent
#: K differ by 0.01–0.03, while one K too many on well-separated groups costs 0.1 or more).
K_SILHOUETTE_TOLERANCE = 0.05
#: ``stable-silhouette``: a K is "stable" when the mean ARI between its fit on all rows and its refits
#: on bootstrap resamples reaches this (Hennig's 0.75 rule of thumb for stable clusters).
K_MIN_STABILITY = 0.75
#: ``stable-silhouette``: bootstrap refits per K, and the size cap of each resample.
K_STABILITY_REPEATS = 5
K_STABILITY_MAX_ROWS = 2000


def k_candidates(n: int, k_range) -> list[int]:
    lo, hi = int(k_range[0]), int(k_range[1])
    # at least ~4 rows per cluster on average: with fewer, BIC and silhouette reward splitting noise
    hi = min(hi, n - 1, max(lo, n // 4))
    if lo < 2 or hi < lo:
        raise ParameterError(f"cannot choose K automatically from {n} rows with k_range={tuple(k_range)}")
    return list(range(lo, hi + 1))


def choose_k(ks, silhouette, stability=None, *, rule: str = "stable-silhouette", bic=None,
             tolerance: float = K_SILHOUETTE_TOLERANCE,
             min_stability: float = K_MIN_STABILITY) -> tuple[int, bool, str]:
    """Choose K from the curves over the searched range (a pure function).

    Rules
    -----
    ``stable-silhouette`` (default)
        Among K ≥ 3, the candidates are the K whose silhouette is within ``tolerance`` of the best
        silhouette over K ≥ 3 and whose bootstrap ``stability`` reaches ``min_stability``; the
        **largest** candidate wins (the finest partition that is as well separated as the best and
        reproducible), so a corpus where K = 2 is only marginally better does not collapse to two
        clusters. K = 2 is chosen only when the data clearly have two groups: its silhouette beats
        every K ≥ 3 by more than ``tolerance`` and it is stable. Without a stable candidate, the
        most stable K within the tolerance is taken (and the reason says so).
    ``silhouette``
        The K with the highest silhouette (what earlier versions did).
    ``bic``
        The K with the lowest BIC (mixtures only).

    Parameters
    ----------
    ks : list of int
        The K searched, increasing and contiguous.
    silhouette, stability, bic : list of float
        Curves over ``ks`` (NaN where undefined); ``stability`` is needed by ``stable-silhouette``,
        ``bic`` by ``bic``.
    tolerance, min_stability : float
        See :data:`K_SILHOUETTE_TOLERANCE` and :data:`K_MIN_STABILITY`.

    Returns
    -------
    k : int
    at_edge : bool
        The chosen K is the largest searched, or the smallest searched while that is above 2 (a
        smaller K could have been tried): the range may have cut the choice short. K = 2 chosen from
        a range starting at 2 is not at an edge (1 cluster is no clustering).
    reason : str
        One sentence naming the rule and the numbers that decided.
    """
    ks = [int(k) for k in ks]
    if not ks:
        raise ParameterError("choose_k: no K was searched")
    if rule not in K_RULES:
        raise ParameterError(f"k_rule={rule!r}: use one of {', '.join(K_RULES)}")
    sil = np.asarray(silhouette, dtype=np.float64)
    if rule == "bic":
        if bic is None:
            raise ParameterError("k_rule='bic' needs a BIC curve (gmm only)")
        i = int(np.nanargmin(np.asarray(bic, dtype=np.float64)))
        reason = f"lowest BIC {bic[i]:.1f}"
    elif rule == "silhouette" or np.isnan(sil).all():
        i = int(np.nanargmax(sil)) if not np.isnan(sil).all() else 0
        reason = f"best silhouette {sil[i]:.3f}"
    else:
        if stability is None:
            raise ParameterError("k_rule='stable-silhouette' needs a stability curve")
        stab = np.asarray(stability, dtype=np.float64)
        s = np.where(np.isnan(sil), -np.inf, sil)
        st = np.where(np.isnan(stab), -np.inf, stab)
        ge3 = np.array([k >= 3 for k in ks])
        if ge3.any():
            best3 = float(s[ge3].max())
            two = [j for j, k in enumerate(ks) if k == 2]
            if two and s[two[0]] > best3 + tolerance and st[two[0]] >= min_stability:
                i = two[0]
                reason = (f"K=2 clearly best: silhouette {s[i]:.3f} beats every K≥3 (best {best3:.3f}) by more "
                          f"than {tolerance:g}, stability {st[i]:.2f}")
            else:
                near = [j for j in range(len(ks)) if ge3[j] and s[j] >= best3 - tolerance]
                stable = [j for j in near if st[j] >= min_stability]
                if stable:
                    i = max(stable, key=lambda j: ks[j])
                    reason = (f"largest K≥3 with silhouette within {tolerance:g} of the best ({best3:.3f}) and "
                              f"stability ≥ {min_stability:g}: silhouette {s[i]:.3f}, stability {st[i]:.2f}")
                else:
                    i = max(near, key=lambda j: (st[j], ks[j]))
                    reason = (f"no K≥3 within {tolerance:g} of the best silhouette ({best3:.3f}) reaches stability "
                              f"{min_stability:g}; the most stable of them: silhouette {s[i]:.3f}, "
                              f"stability {st[i]:.2f}")
        else:  # only K = 2 searched
            i = 0
            reason = f"only K=2 searched: silhouette {s[0]:.3f}, stability {st[0]:.2f}"
    k = ks[i]
    at_edge = len(ks) > 1 and (k == ks[-1] or (k == ks[0] and ks[0] > 2))
    return k, bool(at_edge), reason


def k_stability(estimator, X, ks, labels, *, n_repeats: int = K_STABILITY_REPEATS,
                 max_rows: int = K_STABILITY_MAX_ROWS) -> list[float]:
    """Per K: mean ARI between the full-data ``labels`` and the labels predicted by refits (K fixed,
    own seed) on seeded bootstrap resamples of at most ``max_rows`` rows; the ARI is taken over all
    rows, or over a seeded sample of ``5 · max_rows`` of them on larger inputs."""
    from sklearn.base import clone
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(estimator.random_state)
    n = X.shape[0]
    size = min(n, max_rows)
    draws = [(rng.choice(n, size, replace=True), int(rng.integers(2**31 - 1))) for _ in range(n_repeats)]
    judge = np.sort(rng.choice(n, 5 * max_rows, replace=False)) if n > 5 * max_rows else np.arange(n)
    out = []
    for k, lab in zip(ks, labels):
        aris = []
        for idx, seed in draws:
            est = clone(estimator).set_params(n_clusters=int(k), random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X[idx])
            aris.append(adjusted_rand_score(np.asarray(lab)[judge], est.predict(X[judge])))
        out.append(float(np.mean(aris)))
    return out
