"""``sectionist refit``: fit a new version of runs on every current section, never touching the old one.

A run id is never refitted (verdicts reference exact run ids). Sections added after a run was fitted
are *placed* into it by ``sectionist analyze`` (:func:`sectionist.analysis.modeling.placement.place_new_sections`);
when they are many, or fit badly (``runs.placed_drift`` well above 1), :func:`refit_runs` fits the
same options again on all sections and writes the result as the lineage's next version,
``{lineage}~v{n}``: the lineage is the run id its options make
(:func:`sectionist.analysis.modeling.specs.make_run_id`), so a version is always a refit of the same options. Maps are not refitted unless asked (``maps=True``): refitting a map moves the
coordinates people know.
"""

from __future__ import annotations

import json
import logging

from sectionist.store.schema import RUNS

from sectionist.analysis.errors import ParameterError

log = logging.getLogger(__name__)

#: ``runs.params`` keys that are not estimator parameters.
_RUN_KEYS = {"k", "scaling", "level", "central_only", "stability_repeats", "explained_with", "k_reason"}


def run_options(row) -> dict:
    """The :func:`sectionist.analysis.modeling.cluster.cluster_store` options that made the run of ``runs`` row ``row``."""
    from sectionist.analysis.modeling.estimators import make_method

    params = json.loads(row["params"]) if isinstance(row.get("params"), str) and row["params"] else {}
    # estimator parameters as the run recorded them (the K range and rule it was given, covariance, …)
    est_params = set(make_method(row["method"]).get_params()) - {"n_clusters", "random_state"}
    method_params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()
                     if k in est_params and k not in _RUN_KEYS and v is not None and v != []}
    level = row["level"] if row["level"] != "section" else None
    return dict(space=row["space"], method=row["method"], k=params.get("k", "auto"), scaling=row["scaling"],
                seed=int(row["seed"]), level=level, central_only=bool(params.get("central_only", False)),
                method_params=method_params, n_repeats=int(params.get("stability_repeats", 0) or 0),
                stability=int(params.get("stability_repeats", 0) or 0) >= 2,
                explain=params.get("explained_with") is not None)


def refit_targets(runs, names=None, *, all_runs: bool = False) -> list[str]:
    """Lineages to refit: those of ``names`` (run ids or lineages), every lineage (``all_runs``), or by
    default every lineage whose newest version has placed sections."""
    if runs.empty:
        raise ParameterError("the store has no runs to refit (run 'sectionist analyze' first)")
    from sectionist.analysis.modeling.versions import latest_runs

    if names:
        by_id = dict(zip(runs["run_id"], runs["lineage"]))
        lineages = set(runs["lineage"])
        unknown = [n for n in names if n not in by_id and n not in lineages]
        if unknown:
            raise ParameterError(f"unknown run(s) {', '.join(unknown)}; runs: {', '.join(sorted(runs['run_id']))}")
        return sorted({by_id.get(n, n) for n in names})
    latest = latest_runs(runs)
    if all_runs:
        return sorted(latest["lineage"])
    return sorted(latest.loc[latest["n_placed"].fillna(0) > 0, "lineage"])


def refit_runs(store, names=None, *, all_runs: bool = False, maps: bool = False, progress: bool = True) -> list[str]:
    """Fit the next version of each target lineage (:func:`refit_targets`) on every current section.

    Parameters
    ----------
    store : store.Store
    names : list of str, optional
        Run ids or lineages.
    all_runs : bool
        Every lineage (default: those whose newest version has placed sections).
    maps : bool
        Also refit the maps of the refitted runs' spaces (they move; the old coordinates are replaced).

    Returns
    -------
    list of str
        The new run ids (``{lineage}~v{n}``).
    """
    from sectionist.analysis.modeling.cluster import cluster_store
    from sectionist.analysis.modeling.comparisons import compare_store
    from sectionist.analysis.modeling.maps import project_centroids, project_space, space_projectors
    from sectionist.analysis.modeling.spaces import space_section_matrix
    from sectionist.analysis.modeling.versions import latest_runs

    runs = store.read_table(RUNS)
    targets = refit_targets(runs, names, all_runs=all_runs)
    latest = latest_runs(runs).set_index("lineage")
    made, spaces = [], []
    for lineage in targets:
        row = latest.loc[lineage].to_dict()
        opts = run_options(row)
        # the next version of the lineage its options name (make_run_id): the lineage's own, except for
        # a run of an older store that was filed under the default options' lineage with other options
        run_id = cluster_store(store, project=False, progress=progress, **opts)
        if store.read_part(RUNS, RUNS.part(run_id=run_id))["lineage"].iloc[0] != lineage:
            log.warning("refit %s: %s was fitted with other options than its lineage's name says; the refit "
                        "is a version of the lineage of those options, %s", lineage, row["run_id"], run_id)
        log.info("refit %s: new version %s (was %s)", lineage, run_id, row["run_id"])
        made.append(run_id)
        if opts["space"] not in spaces:
            spaces.append(opts["space"])
    for space in spaces:
        if maps:
            from sectionist.store.schema import PROJECTION_INFO

            from sectionist.analysis.modeling.maps import DEFAULT_PROJECTIONS

            parts = PROJECTION_INFO.parts_where(store.list_parts(PROJECTION_INFO), space=space)
            info = store.read_table(PROJECTION_INFO, columns=["kind", "dims"], parts=parts)
            kinds = [(str(k), int(d)) for k, d in zip(info["kind"], info["dims"])] if len(info) else []
            project_space(store, space, kinds=kinds or DEFAULT_PROJECTIONS, progress=progress)
        else:
            projectors = space_projectors(store, space)
            if projectors:
                project_centroids(store, space, projectors, space_section_matrix(store, space)[2],
                                  run_ids={r for r in made})
    if made:
        compare_store(store, progress=progress, involving=set(made))
    return made


def register_cli(subparsers, options) -> None:
    """Add ``sectionist refit``."""
    p = subparsers.add_parser(
        "refit", help="fit a new version of runs on every current section (the old version stays)",
        description="Fit the named runs again, with the options that made them, on every section the store "
        "holds now, and write each as a NEW run id {lineage}~v{n} (version 1 is the plain id; the lineage is the "
        "id the run's options make, so a version is always the same options refitted). The old "
        "version, its labels and the verdicts recorded on it are never touched. Without RUN names: every "
        "run whose newest version has sections placed by 'sectionist analyze' after its fit (see "
        "'sectionist info'). Maps are kept (coordinates people know do not move) unless --maps is given.",
        epilog="example: sectionist refit classical17-kmeans-auto --store stores/study",
    )
    p.add_argument("runs", nargs="*", metavar="RUN", help="run ids or lineages (default: runs with placed sections)")
    options.store(p)
    p.add_argument("--all", action="store_true", dest="all_runs", help="refit every lineage")
    p.add_argument("--maps", action="store_true",
                   help="also refit the maps of the refitted spaces: this MOVES every point of those maps")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_refit)


def _cmd_refit(args) -> int:
    from sectionist.store import open_store

    settings = getattr(args, "settings", None)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    made = refit_runs(store, args.runs or None, all_runs=args.all_runs, maps=args.maps, progress=not args.quiet)
    if not made:
        print("nothing to refit: no run has placed sections (name runs, or use --all)")
    for run_id in made:
        print(f"new version: {run_id}")
    return 0
