"""The core sub-commands: ``analyze``, ``info`` and ``demo-corpus``."""

from __future__ import annotations

import argparse
import sys

from sectionist.store.schema import CLUSTERINGS, FEATURES, FRAMES, RUNS, SECTIONS, SONGS


def register_cli(sub, options) -> None:
    """Add ``analyze``, ``info`` and ``demo-corpus``; ``options`` defines the shared options
    (``--store`` and the S3 options; see :class:`sectionist.cli.SharedOptions`)."""
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.cpu import available_cores
    from sectionist.analysis.sections.sectioning import SCHEMES

    d = AnalysisConfig()
    p = sub.add_parser(
        "analyze", help="analyse songs into a store (sections, features, embeddings, clusterings)",
        description="Cut every song into sections, compute classical features (and the default embedder's "
        "frames), write them to the store, then fit the default clusterings, projections, explanations and "
        "comparisons. Re-running skips songs whose content and configuration are unchanged; an interrupted "
        "run resumes where it stopped. Bad files are reported with their reason and the rest goes on. "
        "Defaults are shown in brackets; a --config TOML file can set any option.",
    )
    p.add_argument("songs", nargs="+", metavar="SONGS", help="audio files or folders (searched recursively)")
    options.store(p, s3=False)
    p.add_argument("--config", help="TOML file setting any option below (command-line options win)")
    p.add_argument("--section-seconds", type=float, default=None, help=f"section length for 'fixed' [{d.section_seconds}]")
    p.add_argument("--scheme", choices=sorted(SCHEMES), default=None,
                   help=f"sectioning scheme [{d.scheme}]: " + "; ".join(f"{k}: {v.help}" for k, v in sorted(SCHEMES.items())))
    p.add_argument("--beats-per-section", type=int, default=None, help=f"beats per section for 'beats' [{d.beats_per_section}]")
    p.add_argument("--min-section-seconds", type=float, default=None,
                   help=f"shortest section for 'novelty' [{d.min_section_seconds}]")
    p.add_argument("--sample-rate", type=int, default=None, help=f"analysis sample rate in Hz [{d.sample_rate}]")
    p.add_argument("--central-rule", choices=["ratio", "energy"], default=None,
                   help=f"central-section rule: the study's centroid/RMS ratio, or top RMS [{d.central_rule}]")
    p.add_argument("--central-fraction", type=float, default=None, help=f"fraction of central sections per song [{d.central_fraction}]")
    p.add_argument("--workers", type=int, default=None,
                   help="songs analysed in parallel (processes), each with cores/N threads for the network "
                        f"[the cores this process may use ({available_cores()} here) from 10 minutes of audio, else 1]")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="analyse the songs on a Dask cluster instead: local:N (N worker processes on this "
                        "machine) or a scheduler address such as tcp://host:8786 (workers must read the song "
                        "files at the same paths; this process writes the store)")
    p.add_argument("--embedder", action="append", dest="embedders", default=None,
                   help="embedder to run (repeatable) [musicnn]")
    p.add_argument("--no-embed", action="store_true", help="skip learned embeddings")
    p.add_argument("--no-cluster", action="store_true", help="skip the default clusterings")
    p.add_argument("--sound-tracks", action="store_true",
                   help="also compute each analysed song's sound tracks with the defaults of 'sectionist tracks' "
                   "(0.3-0.4 s per minute of audio measured; off by default) [false]")
    p.add_argument("--device", default=None, help="torch device for embeddings, e.g. cuda [cpu]")
    p.add_argument("--force", action="store_true", help="recompute songs even if unchanged")
    p.add_argument("--retry-failed", action="store_true",
                   help="try again files that failed last time although unchanged (by default they are "
                        "reported again without being re-read)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    options.s3(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("info", help="print what a store holds",
                       description="Print the songs, sections, features, embeddings, runs and errors of a store.")
    options.store(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "demo-corpus", help="synthesise the demo corpus of electronic-dance-style songs",
        description="Write deterministic synthetic songs (WAV) with a ground-truth JSON of their labelled "
        "sections (intro, build, drop, break, outro) beside each.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("dir", help="output folder")
    p.add_argument("--songs", type=int, default=12, help="number of songs")
    p.add_argument("--seconds", type=float, default=180.0, help="length of each song in seconds (at least 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=cmd_demo_corpus)


def store_options(args) -> dict:
    """Options for ``store.open_store`` from the settings the entry point resolved (``args.settings``:
    S3 endpoint, region, read cache); none when a handler runs without them."""
    settings = getattr(args, "settings", None)
    return settings.store_options() if settings is not None else {}


def cmd_analyze(args) -> int:
    from sectionist.store import open_store

    from sectionist.analysis.run.config import load_config
    from sectionist.analysis.run.pipeline import analyze, checked_inputs

    checked_inputs(args.songs)  # a missing input is an error before the store folder is created
    cfg = load_config(
        args.config,
        section_seconds=args.section_seconds, scheme=args.scheme, beats_per_section=args.beats_per_section,
        min_section_seconds=args.min_section_seconds,
        sample_rate=args.sample_rate, central_rule=args.central_rule, central_fraction=args.central_fraction,
        workers=args.workers, dask=args.dask, embedders=tuple(args.embedders) if args.embedders else None,
        device=args.device, force=args.force or None, retry_failed=args.retry_failed or None,
        embed=False if args.no_embed else None, cluster=False if args.no_cluster else None,
        sound_tracks=True if args.sound_tracks else None,
    )
    store = open_store(args.store, **store_options(args))
    summary = analyze(args.songs, store, cfg, progress=not args.quiet)
    print(f"store: {store.uri}")
    for line in summary.lines():
        print(line)
    return 1 if summary.failed and not (summary.ok or summary.skipped) else 0


def k_edge_warnings(runs) -> list[str]:
    """One warning line per run whose automatic K sits at the edge of its searched range (``runs.k_at_edge``;
    runs written before the column existed have no value and get no line)."""
    if "k_at_edge" not in runs:
        return []
    out = []
    for r in runs[runs["k_at_edge"].fillna(False).astype(bool)].itertuples():
        out.append(f"warning: run {r.run_id}: K={int(r.n_clusters)} is at the edge of its search range "
                   f"{int(r.k_min)}–{int(r.k_max)} (rule {r.k_rule}); refit with a wider "
                   f"'sectionist cluster --k-min/--k-max' before reading it as the corpus' K")
    return out


def store_summary(store) -> list[str]:
    """Human-readable lines describing a store."""
    m = store.read_manifest()
    lines = [f"store: {store.uri}  (schema {m.get('schema_version', '?')}, version {m.get('version', '?')})"]
    tables = store.tables()
    if SONGS in tables:
        songs = store.read_table(SONGS)
        lines.append(f"songs: {len(songs)}  ({songs['duration_s'].sum() / 3600:.2f} h of audio)")
    if SECTIONS in tables:
        sec = store.read_table(SECTIONS, columns=["section_id", "scheme", "is_central", "truth_label"])
        lines.append(f"sections: {len(sec)}  ({int(sec['is_central'].sum())} central; "
                     f"schemes: {', '.join(sorted(sec['scheme'].unique()))})")
        if sec["truth_label"].notna().any():
            counts = sec["truth_label"].value_counts()
            lines.append("ground truth: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if FEATURES in tables:
        parts = store.list_parts(FEATURES)
        cols = store.read_part(FEATURES, parts[0]).columns if parts else []
        lines.append(f"features: {len(cols) - 2} columns per section")
    if FRAMES in tables:
        by = {}
        for part in store.list_parts(FRAMES):
            by.setdefault(part.split("/")[0], 0)
            by[part.split("/")[0]] += 1
        lines.append("embeddings: " + ", ".join(f"{k} ({v} songs)" for k, v in sorted(by.items())))
    if RUNS in tables:
        runs = store.read_table(RUNS)
        lines.append(f"clustering runs: {len(runs)}")
        cols = [c for c in ["run_id", "n_clusters", "silhouette", "stability_ari", "ari_truth", "nmi_truth"] if c in runs]
        with_pd_opts = runs[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
        lines.extend("  " + ln for ln in with_pd_opts.splitlines())
        lines.extend(coverage_lines(store, runs))
        lines.extend(k_edge_warnings(runs))
    errors = m.get("errors") or {}
    if errors:
        lines.append(f"failed files: {len(errors)}")
        lines.extend(f"  {p}: {r}" for p, r in sorted(errors.items()))
    if len(lines) == 1:
        lines.append("(empty store)")
    return lines


def coverage_lines(store, runs) -> list[str]:
    """One line per run: its version, how many of the store's sections it covers, how many were placed."""
    import json

    import numpy as np

    if not store.list_parts(SECTIONS):
        return []
    sec = store.read_table(SECTIONS, columns=["section_id", "is_central"])
    n_all, n_central = len(sec), int(sec["is_central"].fillna(False).astype(bool).sum())
    out = []
    for row in runs.sort_values("run_id").to_dict("records"):
        run_id = row["run_id"]
        n = len(store.read_part(CLUSTERINGS, run_id, columns=["section_id"])) if store.has_part(CLUSTERINGS, run_id) else 0
        try:
            central = bool(json.loads(row.get("params") or "{}").get("central_only"))
        except (TypeError, ValueError):
            central = False
        m = n_central if central else n_all
        line = (f"run {run_id} (version {int(row.get('version', 1))} of {row.get('lineage', run_id)}) covers {n} of "
                f"{m} {'central ' if central else ''}sections ({int(row.get('n_placed', 0) or 0)} placed after the fit")
        drift = row.get("placed_drift")
        line += f", drift {drift:.2f})" if isinstance(drift, float) and np.isfinite(drift) else ")"
        if n < m and not isinstance(row.get("model_key"), str):
            line += (" — no saved model (an older run): it does not cover the newer sections; "
                     f"'sectionist refit {run_id}' fits a version that does")
        out.append(line)
    return out


def cmd_info(args) -> int:
    from sectionist.store import open_store

    from sectionist.store.errors import StoreError
    from sectionist.store.schema import MANIFEST

    store = open_store(args.store, create=False, **store_options(args))
    if not store.exists(MANIFEST) and not store.tables():
        raise StoreError(f"{store.uri}: not a sectionist store (no manifest.json, no tables); "
                         f"'sectionist analyze SONGS --store {args.store}' makes one")
    from sectionist.store.check import check_store

    damaged = check_store(store).lines()  # every part's footer, before reading any of them
    if damaged:
        print("\n".join(damaged))
        return 2
    print("\n".join(store_summary(store)))
    return 0


def cmd_demo_corpus(args) -> int:
    from sectionist.analysis.corpus.demo import make_corpus

    paths = make_corpus(args.dir, n_songs=args.songs, seconds=args.seconds, seed=args.seed)
    print(f"wrote {len(paths)} songs with ground truth to {args.dir}", file=sys.stdout)
    return 0
