"""Judging queues: which sections an expert judges next, and in what order.

:data:`STRATEGIES`: a seeded random sample, the prototypes or the borderline sections of each
cluster, sections on which two runs disagree, or the least stable sections. :func:`build_queue`
makes one run's queue; :func:`build_mixed_queue` interleaves several runs for a blind comparison
of methods. :func:`section_cluster` reads a section's label in a run (:class:`NotFound` when the
store has no such section or run). Everything is read from :class:`sectionist.dashboard.data.store_data.StoreData`.
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
