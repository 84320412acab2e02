"""``sectionist judgements``: the experts' verdicts from the command line, without the web app.

``summary`` prints what the Judgements page shows in numbers: agreement with each run (Wilson
95 % intervals), whether the best-agreed run is really ahead of each other one (Newcombe
intervals of the difference), Fleiss' kappa and Krippendorff's alpha, and the cluster verdicts.
Every run id is one fitted version (a refit is a new id ``{lineage}~v{version}``): verdicts are
counted per version, and with ``--store`` the summary also says how many verdicts on an older
version carry over to each newer one (same label after alignment) and how many it invalidates.
``export`` writes the judgements (current verdicts, or the full history) or the cluster verdicts
as CSV or parquet, for a notebook or a paper. The database is chosen as for ``sectionist users``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sectionist.analysis.errors import ParameterError

from sectionist.dashboard.auth.users_cli import open_db


def register_cli(subparsers, options) -> None:
    """Add ``judgements`` (``options``: the shared options; the database as for ``users``)."""
    p = subparsers.add_parser(
        "judgements",
        help="summarise or export the experts' judgements (agreement per run, kappa, CSV/parquet)",
        description="The experts' verdicts from the command line: a summary of how often they agree with "
        "each run and with each other, or an export of the raw verdicts.",
        epilog="Examples: sectionist judgements summary --store demo/store; "
        "sectionist judgements export --store demo/store -o judgements.parquet",
    )
    sub = p.add_subparsers(dest="judgements_command", metavar="ACTION")
    sub.required = True

    s = sub.add_parser("summary", help="agreement per run version, method differences, inter-rater agreement",
                       description="Print agreement with each run (agree ÷ (agree + disagree), Wilson 95 % "
                       "interval), the best-agreed run against each other one (Newcombe 95 % interval of the "
                       "difference), Fleiss' kappa and Krippendorff's alpha, and the cluster verdicts. Verdicts "
                       "are counted per run version, never pooled; with --store (a store folder) it also reads "
                       "the runs' labels and says, for each older version, how many verdicts carry over to each "
                       "newer version (the section keeps the judged cluster after Hungarian alignment) and how "
                       "many are invalidated.")
    options.database(s)
    s.set_defaults(func=_summary)

    e = sub.add_parser("export", help="write the verdicts as CSV or parquet",
                       description="Write the current verdicts on sections (or on whole clusters; --history "
                       "adds the superseded ones) to a file; the format follows the file's extension unless "
                       "--format is given. '-o -' writes CSV to standard output. With --store the rows also "
                       "get each section's song title, start_s and end_s, and each cluster's name in the "
                       "judged run version (cluster_name), as the app's download.")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="output file (.csv or .parquet), or - for stdout")
    e.add_argument("--format", choices=["csv", "parquet"], default=None, help="file format [from the extension]")
    e.add_argument("--history", action="store_true", help="every verdict ever given, superseded ones included")
    e.add_argument("--cluster-verdicts", action="store_true", help="the verdicts on whole clusters instead of sections")
    options.database(e)
    e.set_defaults(func=_export)


def _pct(v) -> str:
    return "–" if v != v else f"{100 * v:.0f} %"  # nan-safe


def version_lines(df, known=None, labels=None) -> list[str]:
    """The per-version part of the summary: verdicts and agreement per version of each lineage with
    a judged version, and (with ``known`` and ``labels``, see
    :func:`sectionist.dashboard.judging.stats.version_carry_over`) the carry-over to newer versions."""
    from sectionist.dashboard.judging.stats import agreement_per_version, version_carry_over

    per = agreement_per_version(df, known)
    if per.empty:
        return []

    def newest_of(lineage, grp):
        mine = known[known["lineage"] == lineage] if known is not None else grp.iloc[0:0]
        return max(int(grp["version"].max()), int(mine["version"].max()) if len(mine) else 1)

    refitted = [(lin, grp, newest_of(lin, grp)) for lin, grp in per.groupby("lineage")]
    refitted = [t for t in refitted if t[2] > 1]
    if not refitted:
        where = "in the store" if known is not None else "named by the judged run ids (add --store DIR to look in the store)"
        return ["", f"run versions: every judged run is the only version of its lineage {where}"]
    lines = ["", "verdicts per run version (a refit is a new run id; verdicts are never pooled across versions):"]
    carry = version_carry_over(df, known, labels) if known is not None and labels is not None else None
    for lineage, grp, newest in refitted:
        source = "" if known is not None else " (read from the run ids)"
        lines.append(f"  {lineage}: {newest} version{'s' if newest != 1 else ''}{source}")
        rows = {int(r["version"]): r for _, r in grp.iterrows()}
        unjudged = known[(known["lineage"] == lineage) & ~known.index.isin(grp["run_id"])] if known is not None \
            else known
        for run_id, v in ([] if unjudged is None else zip(unjudged.index, unjudged["version"])):
            rows.setdefault(int(v), {"run_id": run_id})
        for version in sorted(rows):
            r = rows[version]
            state = "latest" if version >= newest else f"superseded by v{newest}"
            if "n" not in r:
                lines.append(f"    v{version} {r['run_id']} ({state}): no verdicts yet")
                continue
            lines.append(f"    v{version} {r['run_id']} ({state}): {int(r['n'] + r['unsure'])} verdicts, "
                         f"{int(r['agree'])} agree, {int(r['disagree'])} disagree, {int(r['unsure'])} unsure, "
                         f"agreement {_pct(r['rate'])}")
        if carry is not None:
            for _, c in carry[carry["lineage"] == lineage].iterrows():
                absent = f" ({int(c['absent'])} of them on sections v{int(c['new_version'])} does not label)" \
                    if c["absent"] else ""
                lines.append(f"    v{int(c['old_version'])} → v{int(c['new_version'])}: {int(c['carried'])} of "
                             f"{int(c['verdicts'])} verdicts carry over (same label after alignment), "
                             f"{int(c['invalidated'])} invalidated{absent}")
    if carry is None:
        lines.append("  (how many verdicts carry over to a newer version needs the runs' labels: add --store DIR)")
    return lines


def summary_lines(df, cv, known=None, labels=None) -> list[str]:
    """The summary as text lines, from :func:`judgements_frame` and :func:`cluster_verdicts_frame`.

    ``known`` (lineage and version per run id of the store) and ``labels`` (run id → labels per
    section id) add the carry-over of verdicts between versions; without them versions are read
    from the run ids.
    """
    from sectionist.dashboard.judging.stats import (
        agreement_per_run,
        cluster_verdict_summary,
        fleiss_kappa,
        krippendorff_alpha,
        method_differences,
    )

    if df.empty and cv.empty:
        return ["no judgements yet"]
    lines = [f"judgements: {len(df)} current verdicts by {df['username'].nunique()} experts on "
             f"{df[['run_id', 'section_id']].drop_duplicates().shape[0]} (run, section) pairs"]
    if not df.empty:
        per_run = agreement_per_run(df)
        width = max(len("run"), *(len(r) for r in per_run["run_id"]))
        lines += ["", "agreement with each run (agree ÷ (agree + disagree), 95 % Wilson interval):",
                  f"  {'run':<{width}}  verdicts  agree  disagree  unsure  agreement  95 % interval"]
        for _, r in per_run.iterrows():
            lines.append(f"  {r['run_id']:<{width}}  {int(r['n']):>8}  {int(r['agree']):>5}  {int(r['disagree']):>8}  "
                         f"{int(r['unsure']):>6}  {_pct(r['rate']):>9}  {_pct(r['ci_low'])} – {_pct(r['ci_high'])}")
        diffs = method_differences(per_run)
        if not diffs.empty:
            lines += ["", f"is {diffs.iloc[0]['best_run']} really ahead? (difference in agreement, Newcombe 95 % interval)"]
            for _, r in diffs.iterrows():
                lines.append(f"  vs {r['run_id']:<{width}}  {100 * r['difference']:+.0f} points  "
                             f"[{100 * r['ci_low']:+.0f}, {100 * r['ci_high']:+.0f}]  "
                             + ("ahead" if r["separated"] else "not separated yet"))
        lines += version_lines(df, known, labels)
        alpha, n_items = krippendorff_alpha(df)
        kappa, _ = fleiss_kappa(df)
        if not n_items:
            lines += ["", "inter-rater agreement: no section judged by two experts yet"]
        elif kappa != kappa and alpha != alpha:  # nan: every verdict on those pairs is the same
            lines += ["", f"inter-rater agreement over {n_items} (run, section) pairs with ≥ 2 experts: undefined "
                          "(all their verdicts are the same, so chance agreement is total)"]
        else:
            lines += ["", f"inter-rater agreement over {n_items} (run, section) pairs with ≥ 2 experts: "
                          f"Fleiss' kappa {kappa:.3f}, Krippendorff's alpha {alpha:.3f}"]
    if not cv.empty:
        lines += ["", "cluster verdicts (experts per verdict):"]
        for _, r in cluster_verdict_summary(cv).iterrows():
            merge = f" (merge with {r['merge_with']})" if r["merge_with"] else ""
            lines.append(f"  {r['run_id']} cluster {r['cluster']}: coherent {r['coherent']}, mixed {r['mixed']}, "
                         f"split {r['split']}, merge {r['merge']}{merge}")
    return lines


def _summary(args: argparse.Namespace) -> int:
    from sectionist.dashboard.judging.repository import cluster_verdicts_frame, judgements_frame

    db = open_db(args)
    try:
        df, cv = judgements_frame(db), cluster_verdicts_frame(db)
    finally:
        db.dispose()
    known = labels = None
    if args.store and not df.empty:
        known, labels = store_versions(args.store)
    print("\n".join(summary_lines(df, cv, known, labels)))
    return 0


def store_versions(store_uri):
    """``(versions, labels)`` of a store's runs for :func:`summary_lines`: lineage and version per
    run id, and a function giving a run's labels per section id (None when the run is not there)."""
    data = open_store_data(store_uri)
    return data.run_versions[["lineage", "version"]], data.labels_by_section


def open_store_data(store_uri):
    """The store's data as the app reads it (a StoreData), or a ParameterError saying why not."""
    from sectionist.analysis.errors import StoreError

    from sectionist.dashboard.data.store_data import StoreData

    try:
        return StoreData(store_uri, check_interval=1e9)
    except StoreError as exc:
        raise ParameterError(f"{store_uri}: cannot read the store ({exc})") from None


def _export(args: argparse.Namespace) -> int:
    from sectionist.store.fileio import atomic_write

    from sectionist.dashboard.judging.repository import cluster_verdicts_frame, export_bytes, judgements_frame

    to_stdout = args.output == "-"
    fmt = args.format or ("csv" if to_stdout else Path(args.output).suffix.lstrip(".").lower())
    if fmt not in ("csv", "parquet"):
        raise ParameterError(f"{args.output}: say --format csv or parquet (or name the file .csv / .parquet)")
    if to_stdout and fmt != "csv":
        raise ParameterError("-o -: standard output takes CSV only")
    out = Path(args.output)
    if not to_stdout and not out.parent.is_dir():
        raise ParameterError(f"{out.parent}: no such folder")
    db = open_db(args)
    try:
        frame = cluster_verdicts_frame if args.cluster_verdicts else judgements_frame
        df = frame(db, history=args.history)
        if args.store:  # as the app's download: the sections' songs and spans, the clusters' names
            from sectionist.dashboard.judging.exports import judgement_download

            df = judgement_download(df, open_store_data(args.store), db, sections=not args.cluster_verdicts)
    finally:
        db.dispose()
    blob, _ = export_bytes(df, fmt)
    if to_stdout:
        sys.stdout.write(blob.decode())
        return 0
    atomic_write(out, lambda f: f.write(blob))
    what = ("cluster verdicts" if args.cluster_verdicts else "verdicts") + (" (full history)" if args.history else " (current)")
    print(f"wrote {len(df)} {what} to {out}", file=sys.stderr)
    return 0
