"""``sectionist cluster``, ``sectionist compare`` and ``sectionist cluster-defaults``."""

from __future__ import annotations

import pandas as pd

from sectionist.store.schema import RUNS

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.comparisons import compare_store
from sectionist.analysis.modeling.defaults import run_default_models
from sectionist.analysis.modeling.runs import LARGE_FIT_SAMPLE, LARGE_ROWS
from sectionist.analysis.modeling.specs import parse_k


def register_cli(subparsers, options) -> None:
    """Add ``cluster``, ``compare`` and ``cluster-defaults`` (``options``: the shared options)."""
    from sectionist.analysis.modeling.estimators import REGISTRY
    from sectionist.analysis.modeling.kchoice import K_MIN_STABILITY, K_RANGE, K_RULES, K_SILHOUETTE_TOLERANCE, K_STABILITY_REPEATS
    from sectionist.analysis.modeling.scaling import SCALINGS

    p = subparsers.add_parser(
        "cluster", help="cluster one space of a store with one method",
        description="Cluster the sections of a store in one space (a feature set or an embedder) with one "
        "method; store labels, confidences, silhouettes, stability, SHAP explanations and the space's "
        "projections. The run id is printed. It is made from every option that changes the fit: a readable "
        "part (space, method, K, scaling, level, central sections, seed; e.g. classical17-gmm-auto) and, when "
        "any method option (--k-min/--k-max, --k-rule, --covariance-type, --min-cluster-size, --min-samples) "
        "differs from its default, a short hash of those (e.g. classical17-gmm-auto-3f9a1c). Running the same "
        "options again writes a new version {run}~v2 (a run id is never refitted, so verdicts on it stay "
        "valid); other options make another run, never a version of this one.",
    )
    options.store(p)
    p.add_argument("--space", default="classical17",
                   help="classical17 (the study's 17 features), classical (all features) or an embedder name; "
                   "any of them with -role (each feature a z-score within its song: kinds of section across songs "
                   "rather than songs, e.g. classical17-role) or -rel (the difference from its song's mean)")
    p.add_argument("--method", default="kmeans", choices=sorted(REGISTRY),
                   help="; ".join(f"{n}: {s.description}" for n, s in sorted(REGISTRY.items())))
    p.add_argument("--k", default="auto", help="number of clusters, or 'auto' (default) to choose it by --k-rule")
    p.add_argument("--k-min", type=int, default=None, metavar="K",
                   help=f"smallest K searched when K is automatic (default {K_RANGE[0]}; at least 2)")
    p.add_argument("--k-max", type=int, default=None, metavar="K",
                   help=f"largest K searched when K is automatic (default {K_RANGE[1]}; also at most one cluster "
                   "per 4 rows)")
    p.add_argument("--k-rule", choices=K_RULES, default=None,
                   help="how an automatic K is chosen (default stable-silhouette): the largest K ≥ 3 whose "
                   f"silhouette is within {K_SILHOUETTE_TOLERANCE:g} of the best and whose bootstrap stability "
                   f"(mean ARI of {K_STABILITY_REPEATS} refits on resamples) is at least {K_MIN_STABILITY:g}; "
                   "K=2 only when its silhouette beats every larger K by more than the tolerance. silhouette: "
                   "the best silhouette; bic: the lowest BIC (gmm). A K at the edge of the range is flagged "
                   "(runs.k_at_edge, 'sectionist info', the Overview)")
    p.add_argument("--covariance-type", choices=("diag", "full", "spherical", "tied"), default=None,
                   help="gmm: covariance model (default diag)")
    p.add_argument("--min-cluster-size", type=int, default=None, metavar="N",
                   help="hdbscan: smallest cluster (default max(5, min(50, rows/50)); at least 2)")
    p.add_argument("--min-samples", type=int, default=None, metavar="N",
                   help="hdbscan: neighbourhood size of the core distance (default: --min-cluster-size; at least 1)")
    p.add_argument("--scaling", default="standard", choices=SCALINGS,
                   help="column scaling: standard (z-scores, default) or l2cols (the study's column L2 norm)")
    p.add_argument("--level", choices=("frame", "section-mean"), default=None,
                   help="embedder spaces: cluster frames and take each section's most frequent label "
                   "(frame, default) or cluster section means (section-mean)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--central-only", action="store_true", help="cluster only the central sections")
    p.add_argument("--no-explain", action="store_true", help="skip the surrogate model and SHAP values")
    p.add_argument("--no-stability", action="store_true", help="skip the bootstrap stability refits")
    p.add_argument("--no-project", action="store_true", help="skip the maps: by default the space's missing maps are fitted (existing ones never are) and "
                   "the run's centroids are drawn on every map of the space")
    p.add_argument("--compare", action="store_true", help="also compare all runs afterwards")
    _large_rows_option(p)
    p.set_defaults(func=_cmd_cluster)

    c = subparsers.add_parser(
        "compare", help="compare every pair of runs in a store (and each run with the ground truth)",
        description="Align the cluster labels of every pair of runs (Hungarian method), store the "
        "contingency tables, agreement, ARI and NMI, and print one tidy table, with ARI/NMI against "
        "the ground-truth section labels where the store has them.",
    )
    options.store(c)
    c.add_argument("--runs", nargs="+", default=None, help="only these run ids (default: all)")
    c.set_defaults(func=_cmd_compare)

    m = subparsers.add_parser(
        "cluster-defaults", help="bring a store's default runs, maps and comparisons up to date (new sections are "
        "placed; nothing is refitted)",
        description="What 'sectionist analyze' does at the end: K-Means and GMM on classical17 (K by the "
        "stable-silhouette rule, see 'sectionist cluster --help'), K-Means with the study's K=4 on classical17, K-Means on "
        "classical17-role (classical17 relative to each song), K-Means on each embedder with frames in the store, "
        "projections, explanations and comparisons.",
    )
    options.store(m)
    m.add_argument("--embedders", nargs="*", default=["musicnn"], help="embedders to cluster (default musicnn)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _large_rows_option(m)
    m.set_defaults(func=_cmd_models)


def _large_rows_option(parser) -> None:
    from sectionist.analysis.modeling.explain import EXPLAIN_SAMPLE
    from sectionist.analysis.modeling.projection import PROJECTION_FIT_SAMPLE

    parser.add_argument(
        "--large-rows", type=int, default=LARGE_ROWS, metavar="N",
        help=f"above N rows (default {LARGE_ROWS}) take the large-corpus path: each method and its K rule are "
        f"fitted on a seeded sample of {LARGE_FIT_SAMPLE} rows, K-Means then refined by MiniBatchKMeans over "
        f"all rows, other methods label all rows with the sample fit; t-SNE and UMAP fitted on "
        f"{PROJECTION_FIT_SAMPLE} sections and the others placed with transform; SHAP on about "
        f"{EXPLAIN_SAMPLE} sections stratified by cluster (docs/modeling.md)")


def _open(args):
    from sectionist.store import open_store

    settings = getattr(args, "settings", None)  # resolved by the entry point (S3 endpoint, cache…)
    return open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))


def _print_table(df: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 500, "display.width", 160):
        print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def cluster_method_params(method: str, k="auto", *, k_min=None, k_max=None, k_rule=None, covariance_type=None,
                          min_cluster_size=None, min_samples=None) -> dict:
    """The estimator parameters of ``sectionist cluster``'s method options, checked.

    Options that do not apply (a K range with a fixed K or with ``hdbscan``, ``--min-cluster-size``
    with another method, …) and out-of-range values raise :class:`sectionist.analysis.errors.ParameterError` naming the option
    and the value, before anything is read or written.

    Returns
    -------
    dict
        E.g. ``{"k_range": (3, 12), "k_rule": "stable-silhouette"}`` or ``{"min_cluster_size": 8}``.
    """
    from sectionist.analysis.modeling.estimators import REGISTRY
    from sectionist.analysis.modeling.kchoice import K_RANGE

    spec = REGISTRY[method]
    auto = parse_k(k) == "auto"
    params: dict = {}
    if k_min is not None or k_max is not None or k_rule is not None:
        given = ", ".join(f"--{n}" for n, v in (("k-min", k_min), ("k-max", k_max), ("k-rule", k_rule)) if v is not None)
        if not spec.uses_k:
            raise ParameterError(f"{given}: method {method!r} finds K itself (use --min-cluster-size/--min-samples)")
        if not auto:
            raise ParameterError(f"{given}: only with an automatic K, but --k {k} fixes it")
        lo = K_RANGE[0] if k_min is None else int(k_min)
        hi = K_RANGE[1] if k_max is None else int(k_max)
        if lo < 2:
            raise ParameterError(f"--k-min {lo}: must be at least 2")
        if hi < lo:
            raise ParameterError(f"--k-max {hi}: must be at least --k-min ({lo})")
        if k_min is not None or k_max is not None:
            params["k_range"] = (lo, hi)
        if k_rule is not None:
            if k_rule == "bic" and method != "gmm":
                raise ParameterError(f"--k-rule bic: only gmm has a BIC, not {method!r}")
            params["k_rule"] = k_rule
    if covariance_type is not None:
        if method != "gmm":
            raise ParameterError(f"--covariance-type {covariance_type}: a gmm option, not one of {method!r}")
        params["covariance_type"] = covariance_type
    for name, value, least in (("min-cluster-size", min_cluster_size, 2), ("min-samples", min_samples, 1)):
        if value is None:
            continue
        if method != "hdbscan":
            raise ParameterError(f"--{name} {value}: an hdbscan option, not one of {method!r}")
        if int(value) < least:
            raise ParameterError(f"--{name} {value}: must be at least {least}")
        params[name.replace("-", "_")] = int(value)
    return params


def _cmd_cluster(args) -> int:
    params = cluster_method_params(args.method, args.k, k_min=args.k_min, k_max=args.k_max, k_rule=args.k_rule,
                                   covariance_type=args.covariance_type, min_cluster_size=args.min_cluster_size,
                                   min_samples=args.min_samples)
    store = _open(args)
    run_id = cluster_store(store, args.space, args.method, k=args.k, scaling=args.scaling, seed=args.seed,
                           level=args.level, central_only=args.central_only, explain=not args.no_explain,
                           stability=not args.no_stability, project=not args.no_project, method_params=params,
                           large_rows=args.large_rows)
    run = store.read_part(RUNS, run_id)
    cols = ["run_id", "k", "k_rule", "silhouette", "davies_bouldin", "stability_ari", "fidelity", "ari_truth",
            "song_purity", "songs_effective", "clusters_one_song"]
    _print_table(run[[c for c in cols if c in run]])
    if run.get("k_at_edge") is not None and bool(run["k_at_edge"].fillna(False).iloc[0]):
        print(f"warning: K={int(run['k'].iloc[0])} is at the edge of the searched range "
              f"{int(run['k_min'].iloc[0])}–{int(run['k_max'].iloc[0])}; try a wider --k-min/--k-max")
    if args.compare:
        _print_table(compare_store(store))
    return 0


def _cmd_compare(args) -> int:
    _print_table(compare_store(_open(args), args.runs))
    return 0


def _cmd_models(args) -> int:
    store = _open(args)
    runs = run_default_models(store, embedders=tuple(args.embedders), seed=args.seed, large_rows=args.large_rows)
    table = store.read_table(RUNS)
    _print_table(table[table["run_id"].isin(runs)][["run_id", "k", "silhouette", "stability_ari", "fidelity",
                                                    "ari_truth", "nmi_truth", "song_purity", "clusters_one_song"]])
    return 0
