"""The ``segment`` sub-command: (re)compute the per-song structure segmentations of an analysed store
(:func:`sectionist.analysis.structure.writer.segment_store`)."""

from __future__ import annotations

import time

from sectionist.analysis.structure.schemes import DEFAULT_SCHEMES, STRUCTURES


def register_cli(sub, options) -> None:
    """Add ``sectionist segment``."""
    p = sub.add_parser(
        "segment", help="per-song structure segmentations (merged, laplacian, …) of an analysed store",
        description="Cut each analysed song into segments with per-song structure labels (which segments "
        "are the same part) and store them in the 'segments' table, one part per scheme and song. "
        "Schemes: " + "; ".join(f"{k}: {v.help}" for k, v in sorted(STRUCTURES.items())) + ". "
        "Resumable: songs already segmented by the scheme's current version are skipped (--force "
        "recomputes); a song whose "
        "audio cannot be read is reported and the others go on.")
    options.store(p)
    p.add_argument("--scheme", nargs="+", default=list(DEFAULT_SCHEMES), metavar="S",
                   help=f"structure schemes ({', '.join(sorted(STRUCTURES))}) [{' '.join(DEFAULT_SCHEMES)}]")
    p.add_argument("--force", action="store_true", help="recompute songs already segmented")
    p.add_argument("--sample-rate", type=int, default=22050, help="analysis rate in Hz [22050]")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_segment)


def cmd_segment(args) -> int:
    from sectionist.store import open_store

    from sectionist.analysis.structure.writer import segment_store

    t0 = time.perf_counter()
    for s in args.scheme:
        STRUCTURES[s]  # unknown: ParameterError listing the valid schemes, before the store is opened
    settings = getattr(args, "settings", None)  # S3 endpoint, region, read cache
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    res = segment_store(store, args.scheme, force=args.force, sample_rate=args.sample_rate, progress=not args.quiet)
    print(f"segmented {len({s for s, _ in res['written']})} songs ({len(res['written'])} parts) in "
          f"{time.perf_counter() - t0:.1f} s; {res['skipped']} parts already there; {len(res['failed'])} failed")
    for sid, title, reason in res["failed"]:
        print(f"failed: {title} ({sid}): {reason}")
    return 1 if res["failed"] else 0

