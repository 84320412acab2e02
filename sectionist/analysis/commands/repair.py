"""``sectionist check`` (is every part of a store readable?) and ``sectionist repair`` (rebuild the damaged ones)."""

from __future__ import annotations

import sys


def register_cli(sub, options) -> None:
    """Add ``check`` and ``repair``; ``options`` defines ``--store`` and the S3 options."""
    p = sub.add_parser(
        "check", help="check that every parquet part of a store is whole (exit 1 naming the damaged ones)",
        description="Check the footer of every parquet part of a store (the magic bytes at both ends and the "
        "footer length; on S3 two ranged reads of a few bytes per part, never the part itself) and name "
        "the damaged parts. Exit status: 0 when every part is whole, 1 when some are damaged "
        "('sectionist repair' rebuilds them), 2 when the store cannot be read at all.",
    )
    options.store(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "repair", help="rebuild a store's damaged parts from the units that wrote them (never over a readable one)",
        description="Rebuild the damaged parts that 'sectionist check' finds by running again the unit that "
        "wrote each one, writing only the damaged part and only when what it makes equals what the readable "
        "parts and saved models hold; a readable part is never written. Rebuilt: a song's own parts (songs, "
        "sections, features, melspec, frames, tags, segments) by analysing its audio again with the store's "
        "settings; a run's runs, clusterings, clusters and explanations by refitting it with its saved "
        "model's spec (its labels and readable parts must come out equal); a map's projections and "
        "projection_info from its saved projector (which keeps its fitted coordinates: PCA, t-SNE and UMAP "
        "bit for bit); a run's centroid_projections from its clusters and the space's projectors; "
        "comparisons and comparison_sections from the two runs' clusterings. Refused, with the reason and "
        "what to run: a song whose audio is gone or changed; a run whose model is gone, that placed sections "
        "after its fit or whose refit differs ('sectionist refit RUN' fits a new version); a map whose "
        "projector is gone, fitted on a sample of a large corpus, with sections placed after its fit, or "
        "saved before its fit's seconds were kept ('sectionist refit --maps'); sound_tracks and other parts "
        "no modelling unit makes. Prints what it did; exit status 0 when the store is whole afterwards, 1 "
        "when damaged parts remain (each with the reason).",
    )
    options.store(p)
    p.set_defaults(func=cmd_repair)


def _store(args):
    from sectionist.store import open_store

    from sectionist.analysis.commands.analyze import store_options

    return open_store(args.store, create=False, **store_options(args))


def cmd_check(args) -> int:
    from sectionist.store.check import check_store

    check = check_store(_store(args))
    if check.ok:
        print(f"{check.uri}: all {check.n_parts} parts are whole")
        return 0
    print("\n".join(check.lines()), file=sys.stdout)
    return 1


def cmd_repair(args) -> int:
    from sectionist.analysis.run.repair import repair_store

    report = repair_store(_store(args))
    print("\n".join(report.lines()))
    return 0 if report.after is not None and report.after.ok else 1
