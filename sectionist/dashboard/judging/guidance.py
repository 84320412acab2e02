"""The experts' verdicts as constraints for a guided version (:func:`constraints_from_db`), and the
``sectionist guide`` command that fits one (:func:`register_cli`).

What each current (non-superseded) verdict on any version of the run's lineage becomes, with the
verdict named as the pair's source (``verdict #12 by ada on classical17-kmeans-auto``):

- a section verdict ``agree`` on cluster *c*: a must-link from the section to *c*'s prototypes (the
  :data:`N_PROTOTYPES` most central sections the Judge page plays beside it);
- ``disagree`` with a suggested cluster *c′*: must-links to *c′*'s prototypes and cannot-links to *c*'s;
- ``disagree`` alone: cannot-links to *c*'s prototypes; ``unsure``: nothing;
- a cluster verdict ``merge`` of *c* with *c′*: a must-link between their most central sections (and,
  on the version being guided, K − 1); ``split`` of *c*, on the version being guided: K + 1 and a
  cannot-link between the two halves of *c* (chosen by the fit); ``coherent`` / ``mixed``: nothing;
- a pairwise answer (``pair_judgements``): the pair itself, ``same`` or ``different``.

Prototypes and labels are read from the version the verdict was given on (every version keeps its
own), so a verdict on an older version still says the same thing about the same sections.
"""

from __future__ import annotations

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.constraints import Constraints, Split

#: How many of a cluster's prototypes a section verdict links the section to (the Judge page plays three).
N_PROTOTYPES = 3


class _Versions:
    """Labels and prototypes of the run versions verdicts name, read once each from the store."""

    def __init__(self, store):
        self.store = store
        self._cache: dict = {}

    def get(self, run_id: str):
        if run_id not in self._cache:
            from sectionist.store.schema import CLUSTERINGS, CLUSTERS

            part = CLUSTERINGS.part(run_id=run_id)
            if not self.store.has_part(CLUSTERINGS, part):
                self._cache[run_id] = None
            else:
                cl = self.store.read_part(CLUSTERINGS, part, columns=["section_id", "label", "distance"])
                cl = cl.sort_values(["distance", "section_id"], na_position="last", kind="stable")
                labels = dict(zip(cl["section_id"], cl["label"].astype(int)))
                central = {int(c): list(g["section_id"]) for c, g in cl.groupby("label")}
                protos = {}
                if self.store.has_part(CLUSTERS, part):
                    rows = self.store.read_part(CLUSTERS, part, columns=["cluster", "prototypes"])
                    protos = {int(c): list(p) for c, p in zip(rows["cluster"], rows["prototypes"])
                              if p is not None and len(p)}
                self._cache[run_id] = (labels, central, protos)
        return self._cache[run_id]

    def prototypes(self, run_id: str, cluster: int, exclude: str | None = None, n: int = N_PROTOTYPES) -> list:
        """The cluster's stored prototypes (most central first), else its members nearest the centre."""
        got = self.get(run_id)
        if got is None or cluster is None or cluster < 0:
            return []
        _, central, protos = got
        out = [s for s in protos.get(cluster) or central.get(cluster, []) if s != exclude]
        return out[:n]

    def members(self, run_id: str, cluster: int) -> list:
        got = self.get(run_id)
        return [] if got is None else list(got[1].get(cluster, []))


def _store_of(data_or_store):
    # a StoreData (the app's cached reader) or a store itself
    return data_or_store.store if hasattr(data_or_store, "run_arrays") else data_or_store


def constraints_from_db(db, data_or_store, run_id: str, *, newest_wins: bool = False) -> Constraints:
    """The constraints of a run's lineage from the current verdicts and pairwise answers in ``db``.

    Parameters
    ----------
    db : sectionist.dashboard.models.Database
    data_or_store : StoreData or store.Store
        Where the runs' labels and prototypes are read.
    run_id : str
        The version to be guided (or its lineage: the newest version); verdicts on every version of
        its lineage count, cluster verdicts that change K only on this version.
    newest_wins : bool
        Leave out a pair that newer answers contradict (listed in ``left_out``) instead of refusing.

    Returns
    -------
    Constraints
        Checked for self-pairs and contradictions (a message names the verdicts involved); whether
        every section is one of the run's is checked by the fit.
    """
    import pandas as pd

    from sectionist.store.schema import RUNS

    from sectionist.analysis.modeling.guided import resolve_run

    from sectionist.dashboard.judging.pair_answers import pairs_frame
    from sectionist.dashboard.judging.repository import cluster_verdicts_frame, judgements_frame

    store = _store_of(data_or_store)
    runs = store.read_table(RUNS)
    parent = resolve_run(runs, run_id)
    lineage = str(parent.get("lineage") or parent["run_id"])
    if "lineage" in runs:
        lineages = runs["lineage"].where(runs["lineage"].notna(), runs["run_id"])
    else:
        lineages = runs["run_id"]
    versions = set(runs.loc[lineages == lineage, "run_id"])
    parent_id = str(parent["run_id"])
    vers = _Versions(store)
    rows: list = []

    def src(kind, row) -> str:
        return f"{kind} #{int(row['id'])} by {row['username']} on {row['run_id']}"

    def link(section, others, relation, source, when):
        rows.extend((when, (section, o, relation, source)) for o in others)

    jf = judgements_frame(db)
    for _, j in jf[jf["run_id"].isin(versions)].iterrows():
        if j["verdict"] not in ("agree", "disagree"):
            continue
        v, s = j["run_id"], j["section_id"]
        got = vers.get(v)
        cluster = int(j["cluster"]) if pd.notna(j["cluster"]) else (got[0].get(s) if got else None)
        if cluster is None:
            continue
        where, when = src("verdict", j), j["created_at"]
        if j["verdict"] == "agree":
            link(s, vers.prototypes(v, cluster, exclude=s), "same", where, when)
            continue
        suggested = int(j["suggested_cluster"]) if pd.notna(j["suggested_cluster"]) else None
        if suggested is not None and suggested != cluster:
            link(s, vers.prototypes(v, suggested, exclude=s), "same", where, when)
        link(s, vers.prototypes(v, cluster, exclude=s), "different", where, when)

    splits, merged, split_clusters = [], set(), set()
    cv = cluster_verdicts_frame(db)
    for _, c in cv[cv["run_id"].isin(versions)].iterrows():
        v, cluster, where = c["run_id"], int(c["cluster"]), src("cluster verdict", c)
        if c["verdict"] == "merge" and pd.notna(c["merge_with"]):
            a, b = vers.prototypes(v, cluster, n=1), vers.prototypes(v, int(c["merge_with"]), n=1)
            if a and b:
                rows.append((c["created_at"], (a[0], b[0], "same", where)))
                if v == parent_id:  # two experts (or both ways round) merging one pair: K − 1 once
                    merged.add(frozenset((cluster, int(c["merge_with"]))))
        elif c["verdict"] == "split" and v == parent_id and cluster not in split_clusters:
            members = vers.members(v, cluster)
            if len(members) >= 2:
                splits.append(Split(frozenset(members), where))
                split_clusters.add(cluster)
    k_delta = len(splits) - len(merged)

    pf = pairs_frame(db)
    for _, p in pf[pf["run_id"].isin(versions)].iterrows():
        rows.append((p["created_at"], (p["section_a"], p["section_b"], p["relation"], src("pair answer", p))))
    rows.sort(key=lambda r: r[0])  # oldest first (stable: one verdict's pairs stay together)
    return Constraints.from_pairs([r for _, r in rows], splits=tuple(splits), k_delta=k_delta,
                                  newest_wins=newest_wins)


# ---- sectionist guide -------------------------------------------------------------------------------
def register_cli(subparsers, options) -> None:
    """Add ``sectionist guide``."""
    p = subparsers.add_parser(
        "guide", help="fit a new version of a run that honours the experts' answers (a guided version)",
        description="Fit the next version {lineage}~v{n} of RUN under the experts' answers as pair constraints: "
        "a metric learned from them, then constrained K-Means in it, so that every 'same' pair shares a cluster "
        "and every 'different' pair does not. The answers are the current verdicts and pairwise answers on "
        "RUN's lineage in the judgement database (--db URL, else the store's database), or a CSV "
        "(--constraints FILE) with the columns section_a,section_b,relation (same/different). Nothing is "
        "written when they contradict each other (unless --newest-wins), name an unknown section or cannot all "
        "hold; the old versions and the maps are never changed. See docs/guided.md.",
        epilog="examples: sectionist guide classical17-kmeans-auto --store stores/study; "
        "sectionist guide classical17-kmeans-auto --store stores/study --constraints answers.csv",
    )
    p.add_argument("run", metavar="RUN", help="run id (the version to start from) or lineage (its newest version)")
    options.store(p, required=False, help="store folder or s3://bucket/prefix [$SECTIONIST_STORE]")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--db", metavar="URL", help="judgement database URL [$SECTIONIST_DB_URL, else the store's "
                     "database]")
    src.add_argument("--constraints", metavar="FILE", help="CSV section_a,section_b,relation instead of the database")
    p.add_argument("--newest-wins", action="store_true",
                   help="leave out answers that newer ones contradict (they are listed) instead of refusing")
    p.add_argument("--seed", type=int, default=0, help="random seed of the fit [0]")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_guide)


def _open_db(settings, store_uri, db_url):
    """The judgement database, refusing a SQLite file that does not exist (it would be created empty)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from sectionist.settings import command_database_url

    from sectionist.dashboard.models import Database

    url = command_database_url(settings, store_uri, db_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).expanduser().exists():
        raise ParameterError(f"no judgement database at {parsed.database}: give --db URL, or --constraints FILE")
    return Database(url)


def _cmd_guide(args) -> int:
    from sectionist.analysis.modeling.guided import STEPS, guide_run
    from sectionist.store import open_store

    settings = args.settings
    # --store, else $SECTIONIST_STORE: with neither option the database is $SECTIONIST_DB_URL's (the
    # Judgements page's job passes both in the environment, so no password shows in a process list)
    store_uri = args.store or settings.store
    if not store_uri:
        raise ParameterError("say which store: --store DIR (or s3://bucket/prefix), or $SECTIONIST_STORE")
    store = open_store(store_uri, create=False, **settings.store_options())
    db = None
    if args.constraints:
        constraints = Constraints.from_csv(args.constraints, newest_wins=args.newest_wins)
    else:
        db = _open_db(settings, args.store, args.db)

        def constraints(parent):
            return constraints_from_db(db, store, parent["run_id"], newest_wins=args.newest_wins)
    bar = None
    if not args.quiet:
        from tqdm.auto import tqdm

        # written also when the output is no terminal: a background job reads its " 2/6 [" progress
        bar = tqdm(total=len(STEPS), desc="guide", leave=False, disable=False, mininterval=0)

    def progress(done, what):
        if bar is not None:
            bar.set_description(f"guide: {what}")
            bar.update(min(done, len(STEPS)) - bar.n)

    try:
        report = guide_run(store, args.run, constraints, random_state=args.seed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        if db is not None:
            db.dispose()
    print(f"new version: {report.run_id} (from {report.parent}, K={report.k})")
    print(report.line())
    if report.left_out:
        print(f"left out {len(report.left_out)} older answer(s) that newer ones contradict: "
              + "; ".join(report.left_out))
    return 0
