"""Judging queues: which sections an expert judges next, and in what order.

:data:`STRATEGIES`: a seeded random sample, the prototypes or the borderline sections of each
cluster, sections on which two runs disagree, the least stable sections, or the most informative
ones (nearest a cluster border in the run's metric, a guided version's learned one included:
:func:`border_margins`). :func:`build_queue` makes one run's queue; :func:`build_pair_queue` the
pairs of the ``pairs`` questions (a border section and a prototype across the border);
:func:`build_mixed_queue` interleaves several runs for a blind comparison of methods;
:func:`sounds_like` lists the sections nearest one in the run's metric (the listen-list after a
move). :func:`section_cluster` reads a section's label in a run (:class:`NotFound` when the store has
no such section or run). Everything is read from :class:`sectionist.dashboard.data.store_data.StoreData`.
"""

from __future__ import annotations

import itertools

import numpy as np

from sectionist.analysis.errors import ParameterError, SectionistError, StoreError
from sectionist.store.errors import DamagedPartError

from sectionist.dashboard.ui.i18n import N_, _
from sectionist.dashboard.ui.store_notice import damage_text

#: Queue strategies for the judge page, with their labels (marked: translate them with ``_`` where shown).
STRATEGIES = {
    "random": N_("Random sample"),
    "prototypes": N_("Prototypes of each cluster"),
    "borderline": N_("Borderline sections of each cluster"),
    "disagree": N_("Sections two runs disagree on"),
    "unstable": N_("Least stable sections"),
    "informative": N_("Most informative: nearest a cluster border"),
}


class NotFound(SectionistError):
    """The section, run or cluster judged is not in the store."""


class Unavailable(SectionistError):
    """The run judged is in the store but one of its parts is damaged (answered 409, with the part
    and the repair command)."""


def available_run_arrays(data, run_id: str):
    """``data.run_arrays(run_id)``: :class:`Unavailable` for a run with a damaged part, :class:`NotFound`
    for an unknown one."""
    try:
        return data.run_arrays(run_id)
    except DamagedPartError as exc:
        raise Unavailable(_("run %(run)s is unavailable: %(error)s", run=repr(run_id), error=damage_text(exc))) from None
    except StoreError:
        raise NotFound(_("no run %(run)s in the store", run=repr(run_id))) from None


def build_queue(data, run_id: str, strategy: str, *, n: int = 20, random_state: int = 0,
                exclude: set | None = None, other_run: str | None = None) -> list[dict]:
    """Sections to judge, in order, for one run.

    Parameters
    ----------
    data : sectionist.dashboard.data.store_data.StoreData
        The store.
    run_id : str
        The run whose grouping is judged.
    strategy : str
        A key of :data:`STRATEGIES`.
    n : int
        At most this many sections.
    random_state : int
        Seed for the random sample (and for the order among equals).
    exclude : set of str, optional
        Section ids to leave out (those the expert judged already).
    other_run : str, optional
        For ``"disagree"``: the run to compare with (default: every other run of the store,
        sections on which any of them disagrees after label alignment).

    Returns
    -------
    list of dict
        ``{"section_id", "run_id", "cluster"}`` per section.
    """
    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    n, random_state = _check_sizes(n, random_state)
    arr = data.run_arrays(run_id)
    ids = data.section_ids
    exclude = exclude or set()
    rng = np.random.default_rng(random_state)
    labelled = np.flatnonzero(arr.label >= 0)

    if strategy == "random":
        order = labelled[rng.permutation(len(labelled))]
    elif strategy in ("prototypes", "borderline"):
        clusters = data.clusters(run_id)
        lists = []
        if strategy in clusters.columns:
            lists = [list(v) for v in clusters[strategy]]
        if not any(lists):
            # no stored lists: most central (highest confidence) or lowest silhouette per cluster
            score = arr.confidence if strategy == "prototypes" else -arr.silhouette
            lists = []
            for c in arr.clusters:
                members = np.flatnonzero(arr.label == c)
                s = np.nan_to_num(score[members], nan=-np.inf)
                lists.append([ids[i] for i in members[np.argsort(-s, kind="stable")]])
        # round-robin over clusters, so a short queue still visits every cluster
        picked = [sid for row in itertools.zip_longest(*lists) for sid in row if sid is not None]
        pos = data.positions(picked)
        order = np.array([p for p in pos if p >= 0 and arr.label[p] >= 0], dtype=np.int64)
    elif strategy == "disagree":
        others = [other_run] if other_run else [r for r in data.runs.index if r != run_id]
        bad = np.zeros(len(ids), bool)
        for other in others:
            cmp = data.comparison(run_id, other)
            bad |= cmp["both"] & ~cmp["agree"]
        cand = np.flatnonzero(bad & (arr.label >= 0))
        order = cand[rng.permutation(len(cand))]
    elif strategy == "informative":
        margin, _ = border_margins(data, run_id)
        cand = labelled[np.isfinite(margin[labelled])]
        order = cand[np.lexsort((rng.random(len(cand)), margin[cand]))]
    else:  # unstable
        stab = arr.stability
        cand = labelled[~np.isnan(stab[labelled])]
        if len(cand) == 0:  # no stability stored: fall back to the lowest confidence
            stab = arr.confidence
            cand = labelled[~np.isnan(stab[labelled])]
        order = cand[np.lexsort((rng.random(len(cand)), stab[cand]))]

    out = []
    seen = set()
    for p in order:
        sid = ids[p]
        if sid in exclude or sid in seen:
            continue
        seen.add(sid)
        out.append({"section_id": sid, "run_id": run_id, "cluster": int(arr.label[p])})
        if len(out) >= n:
            break
    return out


def run_weights(data, run_id: str, n_columns: int) -> np.ndarray | None:
    """The column weights a guided version learned (``runs.params.guided.weights``, in the space's
    column order), or None for any other run (or when they do not fit the space's ``n_columns``)."""
    import json

    runs = data.runs
    if run_id not in runs.index or "params" not in runs.columns:
        return None
    try:
        params = json.loads(runs.at[run_id, "params"] or "{}")
    except (TypeError, ValueError):
        return None
    weights = (params.get("guided") or {}).get("weights") if isinstance(params, dict) else None
    if not isinstance(weights, dict) or len(weights) != n_columns:
        return None
    w = np.asarray(list(weights.values()), dtype=np.float64)
    return w if np.isfinite(w).all() and (w > 0).all() else None


def border_margins(data, run_id: str) -> tuple[np.ndarray, np.ndarray]:
    """How near each section lies to the border of its cluster, and which cluster is across it.

    In the run's space (:meth:`~sectionist.dashboard.data.store_data.StoreData.space_vectors`:
    standardised columns, weighted by a guided version's learned weights, :func:`run_weights`), with
    each cluster's centre the mean of its sections: ``margin = (d₂ − d₁) / d₂`` (0 on the border
    between the nearest centre and the second nearest, 1 at a centre) and the second nearest
    cluster, the one an answer on the section would most likely move it to. For a space without
    vectors (a song-relative space) the run's stored ``confidence`` stands in for the margin and the
    other cluster is unknown (−1).

    Returns
    -------
    margin : np.ndarray [shape=(n_sections,)]
        NaN for sections the run does not label (or labels as noise).
    other : np.ndarray [shape=(n_sections,)], int
        The second nearest cluster (−1 when unknown).
    """
    arr = available_run_arrays(data, run_id)
    n = len(arr.label)
    other = np.full(n, -1, dtype=np.int64)
    labelled = arr.label >= 0
    vec = data.space_vectors(data.runs.at[run_id, "space"]) if run_id in data.runs.index else None
    if vec is None or len(arr.clusters) < 2:
        margin = np.where(labelled, arr.confidence.astype(np.float64), np.nan)
        return margin, other
    X, norms = vec
    X = X.astype(np.float64)
    w = run_weights(data, run_id, X.shape[1])
    if w is not None:
        X = X * w
    label = np.where(np.isfinite(norms), arr.label, -1)
    margin, other = margins_to_border(X, label)
    return np.where(labelled, margin, np.nan), other


def margins_to_border(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`border_margins` over arrays: each cluster's centre is the mean of its rows.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
        Rows in the metric (standardised, weighted).
    labels : np.ndarray [shape=(n,)], int
        Cluster of each row; rows below 0 are left out (margin NaN, other −1).

    Returns
    -------
    margin : np.ndarray [shape=(n,)]
        ``(d₂ − d₁) / d₂`` with ``d₁`` the distance to the own centre, ``d₂`` to the nearest other.
    other : np.ndarray [shape=(n,)], int
        The nearest other cluster.
    """
    n = len(labels)
    ok = labels >= 0
    margin, other = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    clusters = np.unique(labels[ok])
    if len(clusters) < 2:
        return margin, other
    C = np.array([X[labels == c].mean(axis=0) for c in clusters])
    D = np.sqrt(np.maximum((X**2).sum(1)[:, None] - 2 * X @ C.T + (C**2).sum(1)[None, :], 0.0))
    rows = np.flatnonzero(ok)
    own = np.searchsorted(clusters, labels[rows])
    d1 = D[rows, own]
    D[rows, own] = np.inf
    second = np.argmin(D[rows], axis=1)
    d2 = D[rows, second]
    with np.errstate(divide="ignore", invalid="ignore"):
        margin[rows] = np.where(d2 > 0, (d2 - d1) / d2, 0.0)
    other[rows] = clusters[second]
    return margin, other


def sounds_like(data, run_id: str, section_id: str, *, n: int = 8, cluster: int | None = None) -> list[dict]:
    """The sections nearest ``section_id`` in the run's metric: after an expert moves a section to
    another cluster, the listen-list "these N sections sound like it" to confirm in one step.

    The metric is :func:`border_margins`' (standardised columns, a guided version's learned weights);
    ``cluster`` keeps only sections the run has in that cluster (e.g. the one the section was moved
    out of: those would follow it). Empty when the space has no vectors.

    Returns
    -------
    list of dict
        ``{"section_id", "cluster", "distance"}``, nearest first, the section itself left out.
    """
    arr = available_run_arrays(data, run_id)
    pos = data.position(section_id)
    if pos is None:
        raise NotFound(_("no section %(section)s in the store", section=repr(section_id)))
    vec = data.space_vectors(data.runs.at[run_id, "space"])
    if vec is None or not np.isfinite(vec[1][pos]):
        return []
    X = vec[0].astype(np.float64)
    w = run_weights(data, run_id, X.shape[1])
    if w is not None:
        X = X * w
    d = np.sqrt(((X - X[pos]) ** 2).sum(axis=1))
    keep = (arr.label >= 0) & np.isfinite(vec[1])
    if cluster is not None:
        keep &= arr.label == int(cluster)
    keep[pos] = False
    cand = np.flatnonzero(keep)
    order = cand[np.argsort(d[cand], kind="stable")][: max(int(n), 0)]
    ids = data.section_ids
    return [{"section_id": ids[i], "cluster": int(arr.label[i]), "distance": float(d[i])} for i in order]


def build_pair_queue(data, run_id: str, *, n: int = 20, random_state: int = 0,
                     exclude: set | None = None) -> list[dict]:
    """Pairs to answer "do these two sound like the same kind of section?", the most useful first.

    Each pair is a section near a cluster border (smallest :func:`border_margins` first) and a
    prototype of the cluster across that border: "same" moves the section over, "different" keeps
    it where it is, so either answer settles the uncertain one. Successive pairs into one cluster
    take its prototypes in turn; a section appears at most once as the uncertain side. For a space
    without vectors (margins from the stored confidence) the other clusters are taken in turn.

    Parameters
    ----------
    data : sectionist.dashboard.data.store_data.StoreData
    run_id : str
    n : int
        At most this many pairs.
    random_state : int
        Orders sections of equal margin.
    exclude : set of (str, str), optional
        Pairs (in stored order, ``a < b``) already answered.

    Returns
    -------
    list of dict
        ``{"section_a", "section_b", "run_id", "cluster_a", "cluster_b"}`` per pair: ``section_a`` the
        uncertain section and its cluster, ``section_b`` the prototype and its cluster.
    """
    n, random_state = _check_sizes(n, random_state)
    arr = available_run_arrays(data, run_id)
    margin, other = border_margins(data, run_id)
    ids = data.section_ids
    exclude = exclude or set()
    clusters = data.clusters(run_id)
    protos = {}
    for c in arr.clusters:
        listed = list(clusters.at[c, "prototypes"]) if c in clusters.index and "prototypes" in clusters.columns else []
        members = np.flatnonzero(arr.label == c)
        by_conf = [ids[i] for i in members[np.argsort(-np.nan_to_num(arr.confidence[members], nan=-1), kind="stable")]]
        protos[c] = [s for s in listed if data.position(s) is not None] or by_conf[:5]
    rng = np.random.default_rng(random_state)
    cand = np.flatnonzero(np.isfinite(margin))
    order = cand[np.lexsort((rng.random(len(cand)), margin[cand]))]
    used = {c: 0 for c in arr.clusters}
    out = []
    for turn, i in enumerate(order):
        c = int(other[i])
        if c < 0:  # no vectors for the space: the other clusters in turn
            others = [k for k in arr.clusters if k != arr.label[i]]
            if not others:
                continue
            c = others[turn % len(others)]
        pool = [p for p in protos.get(c, []) if p != ids[i]]
        if not pool:
            continue
        for k in range(len(pool)):
            p = pool[(used[c] + k) % len(pool)]
            if tuple(sorted((ids[i], p))) not in exclude:
                used[c] += 1
                out.append({"section_a": ids[i], "section_b": p, "run_id": run_id,
                            "cluster_a": int(arr.label[i]), "cluster_b": c})
                break
        if len(out) >= n:
            break
    return out


def build_mixed_queue(data, run_ids, strategy: str, *, n: int = 20, random_state: int = 0,
                      exclude: dict | None = None) -> list[dict]:
    """A blind comparison of methods: sections of several runs, interleaved in a random order.

    Each run contributes its own queue (:func:`build_queue` with the same strategy); the runs take
    turns, in a freshly shuffled order every round, so the queue holds as many items of each run as
    possible (counts differ by at most one while every run has sections left) and the expert cannot
    tell from the position which method grouped the section. The same section may come up for two
    runs: it is then judged against each run's group.

    Parameters
    ----------
    data : sectionist.dashboard.data.store_data.StoreData
    run_ids : sequence of str
        The runs to compare (at least one).
    strategy : str
        A key of :data:`STRATEGIES`; ``"disagree"`` compares each run with every other run.
    n : int
        Length of the queue.
    random_state : int
        Seed of the sampling and of the interleaving.
    exclude : dict, optional
        ``run_id → set of section ids`` already judged for that run.

    Returns
    -------
    list of dict
        ``{"section_id", "run_id", "cluster"}`` per item.
    """
    run_ids = list(dict.fromkeys(run_ids))
    if not run_ids:
        raise ParameterError("no runs to compare")
    n, random_state = _check_sizes(n, random_state)
    exclude = exclude or {}
    per_run = [build_queue(data, r, strategy, n=n, random_state=random_state + 7919 * k, exclude=exclude.get(r))
               for k, r in enumerate(run_ids)]
    rng = np.random.default_rng(random_state)
    out: list[dict] = []
    pos = [0] * len(per_run)
    while len(out) < n and any(p < len(q) for p, q in zip(pos, per_run)):
        for k in rng.permutation(len(per_run)):
            if pos[k] < len(per_run[k]) and len(out) < n:
                out.append(per_run[k][pos[k]])
                pos[k] += 1
    return out


def _check_sizes(n, random_state) -> tuple[int, int]:
    """``n`` (≥ 1) and ``random_state`` (≥ 0) as 32-bit ints, else :class:`ParameterError`."""
    from sectionist.dashboard.judging.repository import opt_int

    n = opt_int(n, "n", lo=1)
    if n is None:
        raise ParameterError("n is required")
    return n, opt_int(random_state, "random_state", lo=0) or 0


def section_cluster(data, run_id: str, section_id: str) -> int:
    """The label of ``section_id`` in ``run_id`` (:class:`NotFound` when either is unknown; its
    message is in the request's language, the judging panel and the JSON routes show it)."""
    arr = available_run_arrays(data, run_id)
    pos = data.position(section_id)
    if pos is None:
        raise NotFound(_("no section %(section)s in the store", section=repr(section_id)))
    label = int(arr.label[pos])
    if label < -1:
        raise NotFound(_("section %(section)s is not part of run %(run)s", section=repr(section_id),
                         run=repr(run_id)))
    return label
