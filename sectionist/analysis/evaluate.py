"""Score a store's segmentations against reference annotations with ``mir_eval``.

References are read from a folder (matched to songs by file stem, else by song title) in any of
these formats, by file extension:

- ``.jams``: the first annotation of namespace ``segment_open`` (else any ``segment_*``);
- ``.lab``: MIREX, ``start end label`` per line, whitespace separated (the label may contain spaces);
- ``.csv``: ``start,end,label`` per row, with or without a header row;
- ``.json``: the demo/dev corpus truth, ``{"sections": [{"start", "end", "label"}, …]}``.

When a stem has several, the first of ``.jams``, ``.json``, ``.lab``, ``.csv`` is used. Without a
folder, each song's ``truth_path`` (the JSON that ``sectionist analyze`` found beside it) is used.

Each song's estimated segmentation of a sectioning scheme is its sections of that scheme, in time
order; stretches no section covers (e.g. the short tail the ``fixed`` scheme drops) become segments
labelled ``(none)``, and both segmentations are clipped or padded to ``[0, duration]`` of the song.
Labels come from each corpus-wide clustering run (a section's label is its cluster; noise is the
label ``-1``); a section a run did not label gets ``(none)``. Per-song structure segmentations
(the ``segments`` table: ``merged``, ``laplacian``, ``kmeans15``, ``novelty``) are scored with their
own labels, boundaries and labels together, as rows with ``run_id`` :data:`STRUCTURE_RUN`.

Metrics (the :data:`METRICS`):

- ``hr_{p,r,f}_0.5`` and ``hr_{p,r,f}_3``: boundary hit rate precision, recall and F within ±0.5 s
  and ±3 s, song start and end trimmed (``mir_eval.segment.detection(trim=True)``); they need no
  labels and are reported once per scheme (``run_id`` empty);
- ``pairwise_{p,r,f}``: frame-pair precision, recall, F (``mir_eval.segment.pairwise``);
- ``nce_over``, ``nce_under``, ``nce_f``: normalised conditional entropies (``mir_eval.segment.nce``);
- ``ari_frames``: adjusted Rand index of the labels sampled every 0.1 s;
- ``l_p``, ``l_r``, ``l_f``: the L-measure of a structure's levels (section over phrase) against
  the reference (McFee et al. 2017, ``mir_eval.hierarchy.lmeasure``): precision, recall and F of
  which frame pairs meet deeper in one hierarchy than another; structure rows only.

A structure with several levels (the ``level`` column: ``section``, then ``phrase``) is scored at
each: the ``section`` level under the scheme's name, a finer one as ``scheme:level`` (e.g.
``merged:phrase``); the L-measure rows score all its levels together under the scheme's name.

The table is tidy: one row per song × scheme × run × metric with columns :data:`COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store.fileio import atomic_write
from sectionist.store.schema import CLUSTERINGS, RUNS, SECTIONS, SEGMENTS, SONGS, latest_segments

from sectionist.analysis.errors import InputError, ParameterError

log = logging.getLogger(__name__)

#: Reference formats, in order of preference when one stem has several.
FORMATS: tuple[str, ...] = (".jams", ".json", ".lab", ".csv")

#: Frame period (seconds) of the pairwise, entropy and ARI scores.
FRAME_SECONDS: float = 0.1

#: Label of stretches without a segment.
NONE_LABEL = "(none)"

BOUNDARY_METRICS: tuple[str, ...] = ("hr_p_0.5", "hr_r_0.5", "hr_f_0.5", "hr_p_3", "hr_r_3", "hr_f_3")
LABEL_METRICS: tuple[str, ...] = ("pairwise_p", "pairwise_r", "pairwise_f", "nce_over", "nce_under", "nce_f",
                                  "ari_frames")
HIERARCHY_METRICS: tuple[str, ...] = ("l_p", "l_r", "l_f")
METRICS: tuple[str, ...] = BOUNDARY_METRICS + LABEL_METRICS + HIERARCHY_METRICS

#: Columns of the tidy table.
COLUMNS: tuple[str, ...] = ("song_id", "title", "scheme", "run_id", "metric", "value")
#: ``run_id`` of the rows scoring a per-song structure segmentation (``segments`` table): its
#: boundaries and its labels (local to the song) together.
STRUCTURE_RUN = "structure"


@dataclass(frozen=True)
class Segmentation:
    """Labelled intervals: ``intervals`` of shape (n, 2) in seconds, ``labels`` of length n."""

    intervals: np.ndarray
    labels: list

    def __len__(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------------------------
# reading references


def _float(value, path, where):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {where}: {value!r} is not a number of seconds") from None
    if not math.isfinite(x):
        raise InputError(f"{path}: {where}: {value!r} is not a finite number of seconds")
    return x


def _checked(rows, path) -> Segmentation:
    if not rows:
        raise InputError(f"{path}: no segments")
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    for (s, e, lab, where) in rows:
        if e <= s:
            raise InputError(f"{path}: {where}: end {e:g} is not after start {s:g}")
        if s < 0:
            raise InputError(f"{path}: {where}: negative start {s:g}")
    for a, b in zip(rows, rows[1:]):
        if b[0] < a[1] - 1e-6:
            raise InputError(f"{path}: {b[3]}: segment starting at {b[0]:g} overlaps the one ending at {a[1]:g}")
    return Segmentation(np.array([[r[0], r[1]] for r in rows], dtype=float), [str(r[2]) for r in rows])


def _read_lab(path, text):
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 2)
        if len(fields) < 3:
            raise InputError(f"{path}: line {n}: expected 'start end label', got {line!r}")
        where = f"line {n}"
        rows.append((_float(fields[0], path, where), _float(fields[1], path, where), fields[2].strip(), where))
    return rows


def _read_csv(path, text):
    rows, cols, first = [], (0, 1, 2), True
    for n, rec in enumerate(csv.reader(io.StringIO(text)), 1):
        if not rec or all(not f.strip() for f in rec):
            continue
        if first:  # the first row is a header when its first cell is not a number
            first = False
            try:
                float(rec[0])
            except ValueError:
                names = [f.strip().lower() for f in rec]
                if {"start", "end", "label"} <= set(names):
                    cols = (names.index("start"), names.index("end"), names.index("label"))
                continue
        if len(rec) <= max(cols):
            raise InputError(f"{path}: row {n}: expected start,end,label, got {rec!r}")
        where = f"row {n}"
        rows.append((_float(rec[cols[0]], path, where), _float(rec[cols[1]], path, where),
                     rec[cols[2]].strip(), where))
    return rows


def _read_json(path, text):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    sections = data.get("sections") if isinstance(data, dict) else None
    if not isinstance(sections, list):
        raise InputError(f"{path}: expected {{\"sections\": [{{\"start\", \"end\", \"label\"}}, …]}}")
    rows = []
    for n, s in enumerate(sections):
        where = f"sections[{n}]"
        if not isinstance(s, dict) or not {"start", "end", "label"} <= set(s):
            raise InputError(f"{path}: {where}: needs start, end and label")
        rows.append((_float(s["start"], path, where), _float(s["end"], path, where), str(s["label"]), where))
    return rows


def _read_jams(path):
    import jams

    try:
        jam = jams.load(str(path), validate=False)
    except (OSError, ValueError, KeyError, TypeError, jams.JamsError) as exc:  # IO, JSON, schema
        raise InputError(f"{path}: not a readable JAMS file ({exc})") from None
    anns = jam.search(namespace="segment_open") or jam.search(namespace="segment_.*")
    if not anns:
        raise InputError(f"{path}: no segment_open (or other segment_*) annotation")
    rows = []
    for n, obs in enumerate(anns[0].data):
        where = f"observation {n}"
        s = _float(obs.time, path, where)
        rows.append((s, s + _float(obs.duration, path, where), str(obs.value), where))
    return rows


def read_reference(path) -> Segmentation:
    """Read a reference segmentation (``.jams``, ``.lab``, ``.csv`` or ``.json``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Segmentation
        Sorted, non-overlapping segments (gaps are allowed).

    Raises
    ------
    InputError
        An unknown extension, an unreadable file, a bad number, an empty or overlapping segmentation;
        the message names the file and the line, row or entry.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{path}: unknown reference format {ext!r} (use one of {', '.join(FORMATS)})")
    if ext == ".jams":
        return _checked(_read_jams(path), path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    reader = {".lab": _read_lab, ".csv": _read_csv, ".json": _read_json}[ext]
    return _checked(reader(path, text), path)


def find_references(folder) -> dict[str, Path]:
    """``{stem: path}`` of the reference files in ``folder`` (recursively), one per stem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--truth {folder}: not a folder")
    found: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        ext = p.suffix.lower()
        if not p.is_file() or ext not in FORMATS:
            continue
        old = found.get(p.stem)
        if old is None or FORMATS.index(ext) < FORMATS.index(old.suffix.lower()):
            found[p.stem] = p
    return found


# --------------------------------------------------------------------------------------------
# scoring (pure)


def cover(seg: Segmentation, duration: float) -> Segmentation:
    """``seg`` clipped to ``[0, duration]`` with every gap filled by a :data:`NONE_LABEL` segment."""
    out_i, out_l, t = [], [], 0.0
    for (s, e), lab in zip(np.asarray(seg.intervals, dtype=float), seg.labels):
        s, e = max(s, t), min(e, duration)
        if e <= s:
            continue
        if s > t + 1e-9:
            out_i.append((t, s))
            out_l.append(NONE_LABEL)
        out_i.append((s, e))
        out_l.append(str(lab))
        t = e
    if t < duration - 1e-9:
        out_i.append((t, duration))
        out_l.append(NONE_LABEL)
    return Segmentation(np.array(out_i, dtype=float).reshape(-1, 2), out_l)


def boundary_scores(ref: Segmentation, est: Segmentation, duration: float) -> dict[str, float]:
    """Boundary hit rates (precision, recall, F) at ±0.5 s and ±3 s, start and end trimmed."""
    from mir_eval.segment import detection

    r, e = cover(ref, duration), cover(est, duration)
    out = {}
    for w, name in ((0.5, "0.5"), (3.0, "3")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mir_eval warns when a segmentation has no inner boundary
            p, rc, f = detection(r.intervals, e.intervals, window=w, trim=True)
        out[f"hr_p_{name}"], out[f"hr_r_{name}"], out[f"hr_f_{name}"] = float(p), float(rc), float(f)
    return out


def frame_labels(seg: Segmentation, duration: float, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """The label at times ``0, f, 2f, … < duration`` (``seg`` covered, see :func:`cover`)."""
    from mir_eval.util import intervals_to_samples

    c = cover(seg, duration)
    _, labels = intervals_to_samples(c.intervals, c.labels, offset=0, sample_size=frame_seconds,
                                     fill_value=NONE_LABEL)
    return np.asarray(labels, dtype=object)


def label_scores(ref: Segmentation, est: Segmentation, duration: float,
                 frame_seconds: float = FRAME_SECONDS) -> dict[str, float]:
    """Pairwise precision/recall/F, normalised conditional entropies and frame-level ARI."""
    from mir_eval.segment import nce, pairwise
    from sklearn.metrics import adjusted_rand_score

    r, e = cover(ref, duration), cover(est, duration)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp, pr, pf = pairwise(r.intervals, r.labels, e.intervals, e.labels, frame_size=frame_seconds)
        so, su, sf = nce(r.intervals, r.labels, e.intervals, e.labels, frame_size=frame_seconds)
    ari = adjusted_rand_score(frame_labels(ref, duration, frame_seconds).astype(str),
                              frame_labels(est, duration, frame_seconds).astype(str))
    return {"pairwise_p": float(pp), "pairwise_r": float(pr), "pairwise_f": float(pf), "nce_over": float(so),
            "nce_under": float(su), "nce_f": float(sf), "ari_frames": float(ari)}


def hierarchy_scores(ref: Segmentation, levels: list[Segmentation], duration: float,
                     frame_seconds: float = FRAME_SECONDS) -> dict[str, float]:
    """The L-measure (``mir_eval.hierarchy.lmeasure``) of an estimated hierarchy ``levels`` (coarse to
    fine; one level is a flat segmentation) against the flat reference ``ref``: ``l_p``, ``l_r``, ``l_f``."""
    from mir_eval.hierarchy import lmeasure

    r = cover(ref, duration)
    est = [cover(e, duration) for e in levels]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lp, lr, lf = lmeasure([r.intervals], [list(r.labels)], [e.intervals for e in est],
                              [list(e.labels) for e in est], frame_size=frame_seconds)
    return {"l_p": float(lp), "l_r": float(lr), "l_f": float(lf)}


def structure_scores(ref: Segmentation, segments: pd.DataFrame, duration: float, *,
                     hierarchy: bool = True) -> dict[str, dict[str, float]]:
    """Scores of one song's segments of one scheme (rows of the segments table), by level name:
    boundary and label metrics of each level, and (``hierarchy``) the L-measure of all levels together
    under ``section`` (a frame without ``level`` is one ``section`` level)."""
    seg = segments if "level" in segments.columns else segments.assign(level="section")
    seg = seg.assign(level=seg["level"].fillna("section"))
    out, levels = {}, []
    order = {name: i for i, name in enumerate(("section", "phrase"))}
    for level, g in sorted(seg.groupby("level"), key=lambda kv: (order.get(kv[0], 99), str(kv[0]))):
        g = g.sort_values("start_s")
        est = Segmentation(g[["start_s", "end_s"]].to_numpy(float), g["label"].astype(int).astype(str).tolist())
        out[str(level)] = {**boundary_scores(ref, est, duration), **label_scores(ref, est, duration)}
        levels.append(est)
    if hierarchy and levels and "section" in out:
        out["section"].update(hierarchy_scores(ref, levels, duration))
    return out


# --------------------------------------------------------------------------------------------
# a store


def _song_reference(song, refs, skipped):
    """The reference of one songs-table row, or None (the reason appended to ``skipped``)."""
    title = str(song.get("title") or "")
    stem = Path(str(song.get("uri") or "")).stem
    if refs is not None:
        path = refs.get(stem) or refs.get(title)
        if path is None:
            skipped.append((song["song_id"], title or stem, f"no reference named {stem}.* in the truth folder"))
            return None
    else:
        tp = song.get("truth_path")
        if tp is None or (isinstance(tp, float) and math.isnan(tp)) or pd.isna(tp):
            skipped.append((song["song_id"], title or stem, "no truth_path recorded (pass --truth DIR)"))
            return None
        path = Path(str(tp))
        if not path.is_file():
            skipped.append((song["song_id"], title or stem, f"truth file {path} is missing"))
            return None
    try:
        return read_reference(path)
    except InputError as exc:
        skipped.append((song["song_id"], title or stem, str(exc)))
        return None


def evaluate_store(store, truth_dir=None, *, schemes=None, runs=None, progress=True, hierarchy=True):
    """Score every segmentation of ``store`` against references.

    Parameters
    ----------
    store : Store
    truth_dir : str or Path, optional
        Folder of references (see :func:`find_references`); default: each song's ``truth_path``.
    schemes : list of str, optional
        Sectioning schemes to score (default: all in the ``sections`` table).
    runs : list of str, optional
        Clustering runs whose labels to score (default: all runs).
    progress : bool
        Show a progress bar over songs.
    hierarchy : bool
        Score each structure's levels together with the L-measure (``l_p``, ``l_r``, ``l_f``): nine
        tenths of the time on a store of many songs; False leaves those rows out.

    Returns
    -------
    table : pd.DataFrame
        Tidy, columns :data:`COLUMNS`; ``run_id`` is empty for the boundary metrics.
    skipped : list of (song_id, title, reason)
        Songs without a usable reference (they are not scored).

    Raises
    ------
    InputError
        The store has no songs or sections, or no song has a reference.
    ParameterError
        An unknown scheme or run (the message lists the valid ones).
    """
    from tqdm.auto import tqdm

    tables = store.tables()
    if SONGS not in tables or SECTIONS not in tables:
        raise InputError(f"{store.uri}: no analysed songs (run 'sectionist analyze' first)")
    songs = store.read_table(SONGS)
    sections = store.read_table(SECTIONS, columns=["section_id", "song_id", "scheme", "start_s", "end_s"])
    seg_cols = ["song_id", "scheme", "start_s", "end_s", "label", "level", "version"]
    segments = (latest_segments(store.read_table(SEGMENTS, columns=seg_cols)) if SEGMENTS in tables
                else pd.DataFrame(columns=seg_cols))
    have_schemes = sorted(set(sections["scheme"].dropna()) | set(segments["scheme"].dropna()))
    if schemes:
        bad = sorted(set(schemes) - set(have_schemes))
        if bad:
            raise ParameterError(f"--scheme {', '.join(bad)}: not in {store.uri} "
                                 f"(schemes there: {', '.join(have_schemes) or 'none'})")
        sections = sections[sections["scheme"].isin(schemes)]
        segments = segments[segments["scheme"].isin(schemes)]
    run_ids = sorted(store.read_table(RUNS, columns=["run_id"])["run_id"]) if RUNS in tables else []
    if runs:
        bad = sorted(set(runs) - set(run_ids))
        if bad:
            raise ParameterError(f"--run {', '.join(bad)}: not in {store.uri} "
                                 f"(runs there: {', '.join(run_ids) or 'none'})")
        run_ids = [r for r in run_ids if r in set(runs)]
    labels = {}
    if run_ids:
        cl = store.read_table(CLUSTERINGS, parts=[CLUSTERINGS.part(run_id=r) for r in run_ids],
                              columns=["run_id", "section_id", "label"])
        for rid, g in cl.groupby("run_id"):
            labels[rid] = dict(zip(g["section_id"], g["label"].astype(int).astype(str)))

    refs = find_references(truth_dir) if truth_dir is not None else None
    rows, skipped = [], []
    by_song = dict(tuple(sections.groupby("song_id")))
    seg_by_song = dict(tuple(segments.groupby("song_id")))
    for song in tqdm(songs.sort_values("title").to_dict("records"), desc="evaluate", unit="song",
                     disable=not progress):
        sid, title = song["song_id"], song.get("title")
        if sid not in by_song and sid not in seg_by_song:
            continue
        ref = _song_reference(song, refs, skipped)
        if ref is None:
            continue
        duration = float(song["duration_s"])
        for scheme, seg in (seg_by_song[sid].groupby("scheme") if sid in seg_by_song else ()):
            # per-song structure: boundaries and labels of each level, run "structure"
            for level, scores in structure_scores(ref, seg, duration, hierarchy=hierarchy).items():
                name = scheme if level == "section" else f"{scheme}:{level}"
                rows.extend((sid, title, name, STRUCTURE_RUN, m, v) for m, v in scores.items())
        for scheme, sec in (by_song[sid].groupby("scheme") if sid in by_song else ()):
            sec = sec.sort_values("start_s")
            iv = sec[["start_s", "end_s"]].to_numpy(float)
            est = Segmentation(iv, [str(i) for i in range(len(sec))])
            for m, v in boundary_scores(ref, est, duration).items():
                rows.append((sid, title, scheme, "", m, v))
            for rid in run_ids:
                lab = labels.get(rid, {})
                est_l = [lab.get(s, NONE_LABEL) for s in sec["section_id"]]
                if all(x == NONE_LABEL for x in est_l):
                    continue  # the run did not cluster this scheme's sections
                for m, v in label_scores(ref, Segmentation(iv, est_l), duration).items():
                    rows.append((sid, title, scheme, rid, m, v))
    if not rows:
        reasons = "; ".join(f"{t}: {r}" for _, t, r in skipped[:5])
        raise InputError(f"{store.uri}: no song has a reference to score against"
                         + (f" ({reasons}{' …' if len(skipped) > 5 else ''})" if reasons else ""))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table, skipped


def mean_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over songs of each metric: one row per (scheme, run_id), one column per metric, plus
    ``n_songs``."""
    g = table.groupby(["scheme", "run_id", "metric"], sort=True)["value"].mean().unstack("metric")
    g = g[[m for m in METRICS if m in g.columns]]
    g.insert(0, "n_songs", table.groupby(["scheme", "run_id"])["song_id"].nunique())
    return g.reset_index()


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with text cells that a spreadsheet would run as a formula prefixed by ``'``."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: "'" + v if isinstance(v, str) and _FORMULA.match(v) else v)
    return out


def write_table(table: pd.DataFrame, path) -> Path:
    """Write ``table`` atomically as CSV (formula-safe) or parquet, by the extension of ``path``."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".csv", ".parquet"):
        raise ParameterError(f"-o {path}: use a .csv or .parquet file name")
    if not path.parent.is_dir():
        raise ParameterError(f"-o {path}: folder {path.parent} does not exist")
    if ext == ".csv":
        data = csv_safe(table).to_csv(index=False).encode()
    else:
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        data = buf.getvalue()
    atomic_write(path, lambda fh: fh.write(data))
    return path


# --------------------------------------------------------------------------------------------
# command line


def register_cli(sub, options) -> None:
    """Add ``sectionist evaluate``."""
    p = sub.add_parser(
        "evaluate", help="score a store's segmentations against reference annotations (mir_eval)",
        description="Score every song's sections (per sectioning scheme) and every clustering run's labels "
        "of them against reference segmentations: boundary hit rate P/R/F at 0.5 s and 3 s (song start "
        "and end trimmed), pairwise P/R/F, normalised conditional entropies (over, under, F) and the "
        "adjusted Rand index of labels sampled every 0.1 s; per-song structures are scored at each of their "
        "levels (section, and phrase as SCHEME:phrase) and by the L-measure of their levels together. References: a folder of .jams (segment_open), "
        "MIREX .lab (start end label), .csv (start,end,label; header optional) or demo/dev-corpus .json "
        "files named like the songs; without --truth, the truth JSON each song had beside it. Prints the "
        "mean of each metric per scheme and run; -o writes the tidy per-song table (one row per song, "
        "scheme, run and metric; run_id empty for the boundary metrics). Songs without a reference are "
        "listed and skipped.",
        epilog="example: sectionist evaluate --store stores/dev --truth /tmp/devcorpus -o scores.csv",
    )
    options.store(p)
    p.add_argument("--truth", metavar="DIR", default=None,
                   help="folder of reference annotations, matched by file stem (else song title) "
                   "[the truth_path recorded for each song]")
    p.add_argument("--scheme", nargs="+", default=None, metavar="S", help="only these sectioning schemes [all]")
    p.add_argument("--run", nargs="+", default=None, metavar="RUN", help="only these clustering runs [all]")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the per-song table here (.csv or .parquet)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    import sys

    from sectionist.store import open_store

    from sectionist.analysis.commands.analyze import store_options

    if args.output is not None:
        out = Path(args.output)
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise ParameterError(f"-o {out}: use a .csv or .parquet file name")
    store = open_store(args.store, create=False, **store_options(args))
    table, skipped = evaluate_store(store, args.truth, schemes=args.scheme, runs=args.run,
                                    progress=not args.quiet)
    for sid, title, reason in skipped:
        print(f"skipped {title} ({sid}): {reason}", file=sys.stderr)
    means = mean_table(table)
    means["run_id"] = means["run_id"].replace("", "(boundaries)")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(means.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    n = table["song_id"].nunique()
    print(f"{n} songs scored, {len(skipped)} skipped")
    if args.output is not None:
        print(f"wrote {write_table(table, args.output)}")
    return 0
