"""Agreement statistics over the tidy frames of :mod:`sectionist.dashboard.judging.repository`.

Pure functions of pandas frames and counts: no SQL, no Flask (a test checks that importing this
module loads neither). Shared by the Judgements page and ``sectionist judgements summary``.

- proportions: :func:`wilson_interval`, :func:`newcombe_interval` (difference of two proportions),
- per expert, run and cluster: :func:`progress_per_expert`, :func:`agreement_per_run`,
  :func:`agreement_per_cluster`, :func:`method_differences` (is the best run really ahead?),
- inter-rater agreement: :func:`cohen_kappa`, :func:`cohen_kappa_pairs`, :func:`fleiss_kappa`,
  :func:`fleiss_kappa_counts`, :func:`krippendorff_alpha`, :func:`krippendorff_alpha_nominal`,
- :func:`most_disputed` sections and :func:`cluster_verdict_summary`,
- run versions (a refit is a new run id ``{lineage}~v{version}``, so a verdict names one exact
  version): :func:`agreement_per_version` (never pooled across versions) and
  :func:`version_carry_over` (how many verdicts on an older version still hold in a newer one),
  :func:`carried_cluster_names` (experts' names of an older version's clusters shown on the matched
  clusters of a newer one, until experts name them there), both through :func:`version_cluster_matches`.

The frames hold current verdicts, one row each: ``username``, ``run_id``, ``section_id``,
``cluster``, ``verdict``, ``suggested_cluster``, ``created_at``… (cluster verdicts: ``cluster``,
``verdict``, ``merge_with``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError

from sectionist.dashboard.vocabulary import CLUSTER_VERDICTS, VERDICTS


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (95 % by default); (nan, nan) for n = 0."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ParameterError(f"k={k}, n={n}: need 0 ≤ k ≤ n")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, z: float = 1.959964) -> tuple[float, float, float]:
    """Difference of two independent proportions ``k1/n1 − k2/n2`` with its 95 % interval.

    Newcombe's hybrid score interval (method 10 of Newcombe, *Statistics in Medicine* 17, 1998),
    built from the two Wilson intervals; it behaves well for small counts and rates near 0 or 1.
    Returns ``(difference, low, high)``; nans when either n is 0.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def method_differences(per_run: pd.DataFrame) -> pd.DataFrame:
    """The best-agreed run against each other run: is it really better?

    Takes :func:`agreement_per_run` (best first) and returns, per other run, the difference of
    agreement rates with Newcombe's 95 % interval; ``separated`` is True when the interval lies
    above 0 (the data show the best run ahead of that one).
    """
    cols = ["best_run", "run_id", "difference", "ci_low", "ci_high", "separated"]
    runs = per_run[per_run["n"] > 0] if not per_run.empty else per_run
    if len(runs) < 2:
        return pd.DataFrame(columns=cols)
    best = runs.iloc[0]
    rows = []
    for _, r in runs.iloc[1:].iterrows():
        d, lo, hi = newcombe_interval(int(best["agree"]), int(best["n"]), int(r["agree"]), int(r["n"]))
        rows.append((best["run_id"], r["run_id"], d, lo, hi, bool(lo > 0)))
    return pd.DataFrame(rows, columns=cols)


def progress_per_expert(df: pd.DataFrame) -> pd.DataFrame:
    """Per person: current judgements, sections and runs covered, verdict counts, last activity."""
    cols = ["username", "judgements", "sections", "runs", "agree", "disagree", "unsure", "last_at"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby("username")
    out = pd.DataFrame({
        "judgements": g.size(),
        "sections": g["section_id"].nunique(),
        "runs": g["run_id"].nunique(),
        "last_at": g["created_at"].max(),
    })
    counts = pd.crosstab(df["username"], df["verdict"])
    for v in VERDICTS:
        out[v] = counts[v] if v in counts else 0
    return out.reset_index()[cols].sort_values(["judgements", "username"], ascending=[False, True]).reset_index(drop=True)


def _agreement(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cols = keys + ["n", "agree", "disagree", "unsure", "rate", "ci_low", "ci_high", "experts"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, grp in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        a = int((grp["verdict"] == "agree").sum())
        d = int((grp["verdict"] == "disagree").sum())
        u = int((grp["verdict"] == "unsure").sum())
        lo, hi = wilson_interval(a, a + d)
        rate = a / (a + d) if a + d else float("nan")
        rows.append((*key, a + d, a, d, u, rate, lo, hi, int(grp["username"].nunique())))
    return pd.DataFrame(rows, columns=cols)


def agreement_per_run(df: pd.DataFrame) -> pd.DataFrame:
    """How often experts agree with each run's grouping.

    ``rate`` = agree / (agree + disagree) over current verdicts ("unsure" left out, counted
    separately), with a 95 % Wilson interval (``ci_low``, ``ci_high``). Each expert's verdict on
    a section counts once, so a section judged by three experts counts three times.
    """
    out = _agreement(df, ["run_id"])
    return out.sort_values("rate", ascending=False, na_position="last").reset_index(drop=True)


def agreement_per_cluster(df: pd.DataFrame) -> pd.DataFrame:
    """As :func:`agreement_per_run`, per (run, cluster judged)."""
    d = df[df["cluster"].notna()] if not df.empty else df
    out = _agreement(d, ["run_id", "cluster"])
    return out.sort_values(["run_id", "cluster"]).reset_index(drop=True)


def cohen_kappa(a, b, categories=VERDICTS) -> float:
    """Cohen's kappa of two raters' labels on the same items (nan when undefined)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
        raise ParameterError(f"rater label arrays differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return float("nan")
    cats = list(dict.fromkeys(list(categories) + sorted(set(a) | set(b), key=str)))
    po = float(np.mean(a == b))
    pe = sum(float(np.mean(a == c)) * float(np.mean(b == c)) for c in cats)
    if math.isclose(pe, 1.0):
        return float("nan")  # both raters used one and the same category for everything
    return (po - pe) / (1 - pe)


def cohen_kappa_pairs(df: pd.DataFrame, min_items: int = 1) -> pd.DataFrame:
    """Cohen's kappa for every pair of experts over the (run, section) items both judged."""
    cols = ["rater_a", "rater_b", "n_items", "observed_agreement", "kappa"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    wide = df.pivot_table(index=["run_id", "section_id"], columns="username", values="verdict", aggfunc="last")
    rows = []
    for ra, rb in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[ra, rb]].dropna()
        if len(both) < min_items:
            continue
        a, b = both[ra].to_numpy(), both[rb].to_numpy()
        rows.append((ra, rb, len(both), float(np.mean(a == b)), cohen_kappa(a, b)))
    return pd.DataFrame(rows, columns=cols)


def krippendorff_alpha_nominal(units) -> float:
    """Krippendorff's alpha for nominal data.

    Parameters
    ----------
    units : iterable of sequences
        One sequence of values per unit (item), one value per rater who judged it; missing
        ratings are simply absent. Units with fewer than two values are ignored.

    Returns
    -------
    float
        1 = perfect agreement, 0 = chance, < 0 = systematic disagreement; nan when fewer than two
        values are pairable or only one category occurs.
    """
    cats: dict = {}
    units = [list(u) for u in units]
    for u in units:
        for v in u:
            cats.setdefault(v, len(cats))
    k = len(cats)
    if k == 0:
        return float("nan")
    o = np.zeros((k, k))
    for u in units:
        m = len(u)
        if m < 2:
            continue
        idx = np.array([cats[v] for v in u])
        counts = np.bincount(idx, minlength=k).astype(float)
        # coincidences within a unit: pairs of different raters, weighted 1/(m-1)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    disagree_o = o.sum() - np.trace(o)
    disagree_e = (n_c.sum() ** 2 - (n_c ** 2).sum()) / (n - 1)
    if disagree_e == 0:
        return float("nan")
    return float(1 - disagree_o / disagree_e)


def krippendorff_alpha(df: pd.DataFrame) -> tuple[float, int]:
    """Krippendorff's alpha (nominal) of the current verdicts over (run, section) items.

    Returns ``(alpha, n_items)`` where ``n_items`` counts items with at least two raters.
    """
    if df.empty:
        return float("nan"), 0
    units = [g.tolist() for _, g in df.groupby(["run_id", "section_id"])["verdict"] if len(g) >= 2]
    return krippendorff_alpha_nominal(units), len(units)


def fleiss_kappa_counts(counts) -> float:
    """Fleiss' kappa from a table of rating counts.

    Parameters
    ----------
    counts : array-like, shape (n_items, n_categories)
        ``counts[i, j]`` = how many raters put item ``i`` in category ``j``. Items may have
        different numbers of raters (the usual generalisation: each item's observed agreement is
        computed with its own rater count); items with fewer than two raters are ignored.

    Returns
    -------
    float
        Fleiss' kappa; nan when no item has two raters or only one category occurs.
    """
    t = np.asarray(counts, dtype=float)
    if t.ndim != 2:
        raise ParameterError(f"counts must be a 2-D items × categories table, got shape {t.shape}")
    if (t < 0).any():
        raise ParameterError("counts must be non-negative")
    n = t.sum(axis=1)
    t, n = t[n >= 2], n[n >= 2]
    if len(t) == 0:
        return float("nan")
    p_item = ((t ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_cat = t.sum(axis=0) / t.sum()
    p_e = float((p_cat ** 2).sum())
    if math.isclose(p_e, 1.0):
        return float("nan")
    return float((p_item.mean() - p_e) / (1 - p_e))


def fleiss_kappa(df: pd.DataFrame) -> tuple[float, int]:
    """Fleiss' kappa of the current verdicts over (run, section) items with at least two experts.

    Returns ``(kappa, n_items)``.
    """
    if df.empty:
        return float("nan"), 0
    table = (df.groupby(["run_id", "section_id"])["verdict"].value_counts().unstack(fill_value=0)
             .reindex(columns=list(VERDICTS), fill_value=0))
    table = table[table.sum(axis=1) >= 2]
    return fleiss_kappa_counts(table.to_numpy()), len(table)


def most_disputed(df: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Sections whose verdicts disagree most across experts (at least two raters).

    ``disagreement`` = 1 − (share of the most common verdict); ties broken by more raters.
    """
    cols = ["run_id", "section_id", "cluster", "raters", "agree", "disagree", "unsure", "disagreement", "suggested"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (run_id, section_id), g in df.groupby(["run_id", "section_id"]):
        if len(g) < 2:
            continue
        counts = g["verdict"].value_counts()
        sug = sorted({int(x) for x in g["suggested_cluster"].dropna()})
        cl = g["cluster"].dropna()
        rows.append((run_id, section_id, int(cl.iloc[-1]) if len(cl) else None, len(g),
                     int(counts.get("agree", 0)), int(counts.get("disagree", 0)), int(counts.get("unsure", 0)),
                     1 - counts.max() / len(g), ", ".join(map(str, sug))))
    out = pd.DataFrame(rows, columns=cols)
    out = out[out["disagreement"] > 0]
    return out.sort_values(["disagreement", "raters"], ascending=[False, False]).head(top).reset_index(drop=True)


def cluster_verdict_summary(cv: pd.DataFrame) -> pd.DataFrame:
    """Per (run, cluster): how many experts said coherent / mixed / split / merge (and with what)."""
    cols = ["run_id", "cluster", *CLUSTER_VERDICTS, "merge_with", "experts"]
    if cv.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (run_id, cluster), g in cv.groupby(["run_id", "cluster"]):
        counts = g["verdict"].value_counts()
        merge = sorted({int(x) for x in g["merge_with"].dropna()})
        rows.append((run_id, int(cluster), *[int(counts.get(v, 0)) for v in CLUSTER_VERDICTS],
                     ", ".join(map(str, merge)), int(g["username"].nunique())))
    return pd.DataFrame(rows, columns=cols)


# ---- run versions ---------------------------------------------------------------------------------
#: Separator of a refit's run id: ``{lineage}~v{version}`` (version 1 keeps the plain id).
VERSION_SEPARATOR = "~v"


def parse_version(run_id) -> tuple[str, int]:
    """``(lineage, version)`` read from a run id alone: ``"a~v3"`` → ``("a", 3)``, ``"a"`` → ``("a", 1)``.

    For runs the store no longer (or does not yet) hold; the store's ``lineage``/``version``
    columns win where known.
    """
    run_id = str(run_id)
    head, sep, tail = run_id.rpartition(VERSION_SEPARATOR)
    if sep and head and tail.isdigit() and int(tail) >= 2:
        return head, int(tail)
    return run_id, 1


def run_versions_of(run_ids, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """``lineage`` and ``version`` of each run id (index ``run_id``): from ``known`` (a frame indexed
    by run id with those columns, e.g. :attr:`sectionist.dashboard.data.store_data.StoreData.run_versions`) where it has
    the run, else :func:`parse_version`. ``in_store`` says which."""
    rows = []
    for r in dict.fromkeys(run_ids):
        if known is not None and r in known.index:
            rows.append((r, str(known.at[r, "lineage"]), int(known.at[r, "version"]), True))
        else:
            rows.append((r, *parse_version(r), False))
    return pd.DataFrame(rows, columns=["run_id", "lineage", "version", "in_store"]).set_index("run_id")


def agreement_per_version(df: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`agreement_per_run` with each run's ``lineage`` and ``version``, one row per version.

    Verdicts are counted per run id, i.e. per exact version: a refit never inherits the verdicts of
    the version before it (:func:`version_carry_over` says how many would still hold). Rows are
    ordered by lineage, then version; ``latest`` marks the newest version of its lineage among
    ``known`` and the judged runs.
    """
    per_run = agreement_per_run(df)
    cols = ["lineage", "version", "latest", *per_run.columns]
    if per_run.empty:
        return pd.DataFrame(columns=cols)
    ids = list(per_run["run_id"]) + (list(known.index) if known is not None else [])
    v = run_versions_of(ids, known)
    newest = v.groupby("lineage")["version"].max()
    out = per_run.copy()
    out["lineage"] = out["run_id"].map(v["lineage"])
    out["version"] = out["run_id"].map(v["version"]).astype(np.int64)
    out["latest"] = out["version"] == out["lineage"].map(newest)
    return out[cols].sort_values(["lineage", "version"], kind="stable").reset_index(drop=True)


def version_carry_over(df: pd.DataFrame, known: pd.DataFrame, labels) -> pd.DataFrame:
    """For each (older, newer) pair of versions of a lineage: do the verdicts on the older one hold?

    A verdict on the older version *carries over* when the section's label in the newer version,
    aligned to the older version's labels (:func:`sectionist.analysis.modeling.compare.compare_labelings`, the
    Hungarian alignment over the sections both versions label), equals the cluster that was judged;
    otherwise the newer version *invalidates* it (``absent``: of those, sections the newer version
    does not label at all). Verdicts without a judged cluster count as invalidated.

    Parameters
    ----------
    df : DataFrame
        Current verdicts (``run_id``, ``section_id``, ``cluster``, ``verdict``).
    known : DataFrame
        ``lineage`` and ``version`` per run id (index), every version the store holds.
    labels : callable
        ``labels(run_id)`` → Series of labels indexed by section id (the sections the run labels),
        or None when the run's labels are unknown (its pairs are left out).

    Returns
    -------
    DataFrame
        Columns ``lineage``, ``old_run``, ``old_version``, ``new_run``, ``new_version``,
        ``verdicts``, ``carried``, ``invalidated``, ``absent``, ``agree_carried`` (agree verdicts
        that carry over); one row per pair whose older version has verdicts.
    """
    cols = ["lineage", "old_run", "old_version", "new_run", "new_version", "verdicts", "carried",
            "invalidated", "absent", "agree_carried"]
    if df.empty or known is None or known.empty:
        return pd.DataFrame(columns=cols)
    judged = df.groupby("run_id")
    rows = []
    cache: dict = {}

    def labels_of(run_id):
        if run_id not in cache:
            cache[run_id] = labels(run_id)
        return cache[run_id]

    for lineage, grp in known.rename_axis("run_id").reset_index().groupby("lineage", sort=True):
        grp = grp.sort_values("version")
        runs = list(zip(grp["run_id"], grp["version"]))
        for i, (old, old_v) in enumerate(runs):
            if old not in judged.groups:
                continue
            verdicts = judged.get_group(old)
            for new, new_v in runs[i + 1:]:
                la, lb = labels_of(old), labels_of(new)
                if la is None or lb is None:
                    continue
                aligned = lb.map(version_cluster_matches(la, lb))
                now = verdicts["section_id"].map(aligned)
                cluster = pd.to_numeric(verdicts["cluster"], errors="coerce")
                carried = (now.notna() & cluster.notna()
                           & (pd.to_numeric(now, errors="coerce") == cluster)).to_numpy(bool)
                absent = int((lb.index.get_indexer(pd.Index(verdicts["section_id"], dtype=object)) < 0).sum())
                agree = (verdicts["verdict"] == "agree").to_numpy(bool)
                rows.append((lineage, old, int(old_v), new, int(new_v), len(verdicts), int(carried.sum()),
                             int(len(verdicts) - carried.sum()), absent, int((carried & agree).sum())))
    return pd.DataFrame(rows, columns=cols)


def version_cluster_matches(old_labels: pd.Series, new_labels: pd.Series) -> dict[int, int]:
    """Newer version's cluster → the older version's cluster it is matched to: the Hungarian
    alignment (:func:`sectionist.analysis.modeling.compare.compare_labelings`) over the sections both versions label
    (Series of labels indexed by section id). The one matching by which verdicts
    (:func:`version_carry_over`) and experts' cluster names (:func:`carried_cluster_names`) carry
    over to a newer version."""
    from sectionist.analysis.modeling.compare import compare_labelings

    common = old_labels.index.intersection(new_labels.index)
    if not len(common):
        return {}
    mapping = compare_labelings(old_labels.loc[common].to_numpy(), new_labels.loc[common].to_numpy(),
                                scores=False).mapping
    return {int(k): int(v) for k, v in mapping.items()}


def carried_cluster_names(run_id, known: pd.DataFrame, labels, names) -> dict[int, tuple[str, int]]:
    """Experts' cluster names carried over to run version ``run_id`` from the version before it.

    A cluster of ``run_id`` that experts have not named in this version takes the name of the
    cluster of the previous version (the nearest older version of its lineage that the store holds)
    it is matched to (:func:`version_cluster_matches`), when that one has a name: its experts' own
    name, or one carried over to it in turn (so a name given in v1 reaches v3 through an unnamed v2).

    Parameters
    ----------
    run_id : str
    known : DataFrame
        ``lineage`` and ``version`` per run id (index), every version the store holds.
    labels : callable
        ``labels(run_id)`` → Series of labels indexed by section id, or None when unknown.
    names : callable
        ``names(run_id)`` → ``{cluster: name}``, the experts' own names of that version.

    Returns
    -------
    dict
        cluster → ``(name, version it was given in)``, for the clusters of ``run_id`` without a
        name of their own that inherit one; ``{}`` for a first version or an unknown run.
    """
    if known is None or run_id not in known.index:
        return {}
    lineage, version = known.at[run_id, "lineage"], int(known.at[run_id, "version"])
    older = known[(known["lineage"] == lineage) & (known["version"].astype(int) < version)]
    if older.empty:
        return {}
    previous = older["version"].astype(int).idxmax()
    inherited = {c: (n, int(older.at[previous, "version"])) for c, n in names(previous).items() if n}
    inherited = {**carried_cluster_names(previous, known, labels, names), **inherited}
    if not inherited:
        return {}
    old, new = labels(previous), labels(run_id)
    if old is None or new is None:
        return {}
    own = names(run_id)
    return {new_c: inherited[old_c] for new_c, old_c in version_cluster_matches(old, new).items()
            if new_c >= 0 and old_c in inherited and new_c not in own}
