"""The ``segment`` sub-command: (re)compute the per-song structure segmentations of an analysed store
(:func:`sectionist.analysis.structure.writer.segment_store`), or write versions of them corrected by
experts (``--constraints`` / ``--boundaries``: :func:`read_corrections`,
:func:`sectionist.analysis.structure.versions.correct_songs`)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure.schemes import DEFAULT_SCHEMES, STRUCTURES

#: Columns of a ``--constraints`` CSV and of a ``--boundaries`` CSV.
CONSTRAINT_COLUMNS: tuple[str, ...] = ("song", "time_a", "time_b", "relation")
BOUNDARY_COLUMNS: tuple[str, ...] = ("song", "time")
#: Optional columns: ``from`` of a ``--boundaries`` row moves the boundary nearest it to ``time``.
OPTIONAL_COLUMNS: tuple[str, ...] = ("from",)


def register_cli(sub, options) -> None:
    """Add ``sectionist segment``."""
    p = sub.add_parser(
        "segment", help="per-song structure segmentations (merged, laplacian, …) of an analysed store",
        description="Cut each analysed song into segments with per-song structure labels (which segments "
        "are the same part) and store them in the 'segments' table, one part per scheme and song. "
        "Schemes: " + "; ".join(f"{k}: {v.help}" for k, v in sorted(STRUCTURES.items())) + ". "
        "Resumable: songs already segmented by the scheme's current version are skipped (--force "
        "recomputes); a song whose "
        "audio cannot be read is reported and the others go on. "
        "With --constraints and/or --boundaries (one --scheme), experts' corrections instead: each song "
        "named there gets a new version of its structure by that scheme that honours them and every "
        "correction of its latest version (older versions are kept; readers show the latest). A bad row "
        "(unknown song, a time outside the song, 'different' on two times of one segment, a contradiction) "
        "is an error naming FILE:LINE, and nothing is written.")
    options.store(p)
    p.add_argument("--scheme", nargs="+", default=list(DEFAULT_SCHEMES), metavar="S",
                   help=f"structure schemes ({', '.join(sorted(STRUCTURES))}) [{' '.join(DEFAULT_SCHEMES)}]")
    p.add_argument("--force", action="store_true", help="recompute songs already segmented")
    p.add_argument("--constraints", metavar="FILE",
                   help="CSV song,time_a,time_b,relation: the segments holding time_a and time_b (seconds) are "
                   "the same part or different parts (relation same/different); song: the audio file's stem "
                   "or the song_id")
    p.add_argument("--boundaries", metavar="FILE",
                   help="CSV song,time[,from]: a boundary at time (seconds), kept in place; with from, the "
                   "boundary nearest from moves to time")
    p.add_argument("--no-inherit", action="store_true",
                   help="the files hold every correction of their songs: the latest version's corrections are "
                   "not carried over (what the dashboard passes, its withdrawn corrections left out)")
    p.add_argument("--sample-rate", type=int, default=22050, help="analysis rate in Hz [22050]")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_segment)


def cmd_segment(args) -> int:
    from sectionist.store import open_store

    from sectionist.analysis.structure.writer import segment_store

    t0 = time.perf_counter()
    for s in args.scheme:
        STRUCTURES[s]  # unknown: ParameterError listing the valid schemes, before the store is opened
    correcting = bool(getattr(args, "constraints", None) or getattr(args, "boundaries", None))
    if correcting and len(args.scheme) != 1:
        raise ParameterError(f"--constraints/--boundaries correct one scheme's structure: name it with --scheme "
                             f"(got {' '.join(args.scheme)})")
    settings = getattr(args, "settings", None)  # S3 endpoint, region, read cache
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    if correcting:
        return _correct(store, args, t0)
    res = segment_store(store, args.scheme, force=args.force, sample_rate=args.sample_rate, progress=not args.quiet)
    print(f"segmented {len({s for s, _ in res['written']})} songs ({len(res['written'])} parts) in "
          f"{time.perf_counter() - t0:.1f} s; {res['skipped']} parts already there; {len(res['failed'])} failed")
    for sid, title, reason in res["failed"]:
        print(f"failed: {title} ({sid}): {reason}")
    return 0 if not res["failed"] else 1


def _correct(store, args, t0) -> int:
    from sectionist.analysis.structure.versions import correct_songs

    scheme = STRUCTURES[args.scheme[0]].name
    by_song = read_corrections(store, constraints=args.constraints, boundaries=args.boundaries)
    written = correct_songs(store, scheme, by_song, sample_rate=args.sample_rate,
                            extend=not getattr(args, "no_inherit", False))
    for sid, version in sorted(written.items()):
        n = len(by_song[sid])
        print(f"{sid}: {scheme} version {version} ({n} correction{'' if n == 1 else 's'})")
    print(f"corrected the {scheme} structure of {len(written)} song{'' if len(written) == 1 else 's'} in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


def read_corrections(store, *, constraints=None, boundaries=None) -> dict:
    """``{song_id: [Correction, …]}`` from a ``--constraints`` CSV (``song,time_a,time_b,relation``)
    and a ``--boundaries`` CSV (``song,time``, optionally ``from``: a ``boundary`` move from there),
    in file order, each correction's ``source`` its ``FILE:LINE``. A missing column, an unknown or ambiguous song, a time that is not a number or lies
    outside the song, an unknown relation: ParameterError naming ``FILE:LINE``."""
    from sectionist.store.schema import SONGS

    from sectionist.analysis.structure.constrained import Correction, parse_seconds

    songs = store.read_table(SONGS, columns=["song_id", "uri", "duration_s"])
    duration = dict(zip(songs["song_id"].astype(str), songs["duration_s"].astype(float)))
    stems: dict[str, list[str]] = {}
    for sid, uri in zip(songs["song_id"].astype(str), songs["uri"].astype(str)):
        stems.setdefault(Path(uri.rsplit("/", 1)[-1]).stem, []).append(sid)

    def song_of(name, where):
        if name in duration:
            return name
        found = stems.get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise ParameterError(f"{where}: song {name!r} is the stem of {len(found)} songs; give its song_id")
        raise ParameterError(f"{where}: unknown song {name!r} (neither a song_id nor an audio file's stem in {store.uri})")

    def seconds(value, sid, where, column, inner=False):
        t = parse_seconds(value, f"{where}: {column}")
        end = duration[sid]
        if t < 0 or t > end or (inner and not 0 < t < end):
            raise ParameterError(f"{where}: {column} {t:g} s is outside the song (0–{end:g} s)")
        return t

    out: dict[str, list] = {}
    for path, columns in ((constraints, CONSTRAINT_COLUMNS), (boundaries, BOUNDARY_COLUMNS)):
        if not path:
            continue
        for where, row in _csv_rows(path, columns):
            sid = song_of(row["song"], where)
            if columns is BOUNDARY_COLUMNS:
                t = seconds(row["time"], sid, where, "time", inner=True)
                c = (Correction("boundary", seconds(row["from"], sid, where, "from", inner=True), t, source=where)
                     if row.get("from") else Correction("split", t, source=where))
            else:
                relation = row["relation"].lower()
                if relation not in ("same", "different"):
                    raise ParameterError(f"{where}: relation {row['relation']!r}: use same or different")
                c = Correction(relation, seconds(row["time_a"], sid, where, "time_a"),
                               seconds(row["time_b"], sid, where, "time_b"), source=where)
            out.setdefault(sid, []).append(c)
    if not out:
        raise ParameterError(f"{constraints or boundaries}: no corrections")
    return out


def _csv_rows(path, columns):
    """``(FILE:LINE, {column: text})`` of each non-empty row of the CSV ``path`` (a header naming ``columns``)."""
    name = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ParameterError(f"{name}:1: missing column {', '.join(missing)} (columns: {', '.join(columns)})")
    for rec in reader:
        where = f"{name}:{reader.line_num}"
        if not any(cell.strip() for cell in rec):
            continue
        if len(rec) < len(header):
            raise ParameterError(f"{where}: {len(rec)} cells, the header has {len(header)}")
        yield where, {h: rec[i].strip() for i, h in enumerate(header) if h in columns or h in OPTIONAL_COLUMNS}
