"""Real tracker compositions with exact part truth: modules rendered with libopenmpt, the truth read
from the order list as it plays.

A tracker module is a list of patterns (a grid of rows × channels of note cells) and an order list
saying which pattern plays when. Its structure is therefore known exactly:

- **Boundaries.** The module is rendered in chunks of :data:`CHUNK_FRAMES` frames; after each chunk the
  player's order, pattern and row are read (libopenmpt 0.6 has no call giving the time of a row). A
  boundary falls where the playing pattern changes, at the start of the chunk in which the new pattern
  was first seen, i.e. at most one chunk (5.8 ms at 22 050 Hz) before the pattern's first tick. Pattern
  jumps and breaks (``Bxx``, ``Dxx``), loops and delays are thus honoured as they play; consecutive
  plays of one pattern are one segment.
- **Parts.** Two patterns are the same part when they have the same number of rows and at least
  :data:`SAME_PART_MIN` of the cells that are non-empty in either are identical in all six fields (note,
  instrument, volume command and value, effect and parameter). Patterns are taken in the order they
  first play; each joins the first part whose first pattern it matches, else starts a new part. Parts
  are labelled ``A, B, C, …`` (then ``AA, AB, …``) in order of first appearance, and consecutive segments
  of one part are merged.
- Each section also keeps the pattern numbers and order indices it played, its rows played and the
  speed (ticks per row) and tempo at its start.

A module with several subsongs gives one piece per subsong. Rendering: libopenmpt mono float at the
corpus rate, played once (repeat count 0, stopping at the song's end), cut at ``max_seconds``; trailing
silence goes (:func:`sound_end`: patterns that start in it are left out, the last section keeps a
:data:`TAIL_MARGIN_S` margin); the audio is peak-normalised to :data:`PEAK_DBFS` and written as 16-bit
WAV, so the same module gives byte-identical files. Pieces shorter than ``min_seconds``, with a single
section or silent are dropped with the reason. ``tempo_bpm`` is libopenmpt's estimate on the first row
(from speed, tempo and the module's rows per beat, 4 where the format has none); the truth JSON also
keeps the starting ``speed`` and ``tempo`` and each played pattern's row count.

Pieces are split once and for all into ``tune`` and ``held`` by :func:`~sectionist.analysis.corpus.split.split_of` (the SHA-1 of the
module's piece id: even → tune), so tuning on ``DIR/tune`` never sees ``DIR/held``. The entry point is
:func:`make_tracker_corpus` (``sectionist dev-corpus DIR --source tracker``); modules come from Debian
packages (:mod:`sectionist.analysis.corpus.debpkg`) or a local folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sectionist.store.fileio import atomic_write

from sectionist.analysis.corpus import debpkg
from sectionist.analysis.corpus.devcorpus import mirex_lab
from sectionist.analysis.corpus.openmpt import Module, library_version, supported_extensions
from sectionist.analysis.corpus.split import SPLITS, split_of
from sectionist.analysis.corpus.wavwriter import write_wav
from sectionist.analysis.errors import InputError, ParameterError
from sectionist.analysis.structure.base import part_letter

#: The Debian packages of tracker music used by default (game soundtracks under free licences).
DEFAULT_PACKAGES: tuple[str, ...] = ("ironseed-data", "heroes-sound-tracks", "pekka-kana-2-data", "biniax2-data",
                                     "rafkill-data", "pingus-data")

#: Frames rendered between two reads of the player's position (the truth's time resolution).
CHUNK_FRAMES: int = 128

#: Least share of identical non-empty cells for two patterns to be one part.
SAME_PART_MIN: float = 0.9

#: Peak level of every piece, in dBFS.
PEAK_DBFS: float = -1.0

#: Trailing silence is cut: windows of this length (s) quieter than this (dB below the loudest
#: window) at the end go, but for a margin (s) after the last loud one.
TAIL_WINDOW_S, TAIL_SILENCE_DB, TAIL_MARGIN_S = 0.05, -60.0, 0.5

#: A render whose peak stays below this (linear) is silent.
SILENT_PEAK: float = 1e-4



# --------------------------------------------------------------------------------------------
# pieces, names, split




def stem_of(package: str, rel: str, subsong: int | None) -> str:
    """File stem of a piece: package and file name, lower case, ``-sN`` for subsong N."""
    base = re.sub(r"\.gz$", "", Path(rel).name, flags=re.I)
    stem = re.sub(r"[^a-z0-9]+", "-", f"{package}-{Path(base).stem}".lower()).strip("-")
    return stem if subsong is None else f"{stem}-s{subsong}"


def module_files(root) -> list[Path]:
    """Files under ``root`` (recursively, sorted) whose extension libopenmpt reads, also gzipped."""
    exts = set(supported_extensions())
    out = []
    for p in sorted(Path(root).rglob("*")):
        name = p.name.lower()
        name = name[:-3] if name.endswith(".gz") else name
        if p.is_file() and not p.is_symlink() and "." in name and name.rsplit(".", 1)[1] in exts:
            out.append(p)
    return out


def read_module(path) -> bytes:
    """A module file's bytes, gunzipped when it is gzipped."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: a broken gzip file ({exc})") from exc
    return data


# --------------------------------------------------------------------------------------------
# playing and truth


@dataclass
class Played:
    """One run of a pattern as it played: frames ``[start, end)``."""

    start: int
    pattern: int
    orders: list = field(default_factory=list)
    row_starts: list = field(default_factory=list)  # frame at which each row played was first seen
    speed: int = 0
    tempo: int = 0
    end: int = 0


def play(module: Module, sample_rate: int, max_frames: int, chunk: int = CHUNK_FRAMES):
    """Render the prepared ``module`` and follow its order list.

    Returns
    -------
    audio : np.ndarray [shape=(n,)], float32
    runs : list of Played
        Consecutive runs of one pattern, contiguous from 0 to ``n``.
    cut : bool
        The song went on past ``max_frames``.
    bpm : float
        libopenmpt's estimated beats per minute on the first row (0 when nothing played).
    """
    audio = np.zeros(max_frames, dtype=np.float32)
    runs: list[Played] = []
    bpm = 0.0
    pos, last = 0, None
    while pos < max_frames:
        want = min(chunk, max_frames - pos)
        n = module.read_mono(sample_rate, audio[pos:pos + want])
        if n == 0:
            break
        if n < want:  # the song ended in this chunk: its frames end the last run (the player has
            pos += n  # already wrapped to the song's start position)
            if runs:
                runs[-1].end = pos
            break
        order, pattern, row = module.position()
        if not runs or pattern != runs[-1].pattern:
            speed, tempo, est = module.timing()
            bpm = bpm or est
            runs.append(Played(start=pos, pattern=pattern, speed=speed, tempo=tempo))
        run = runs[-1]
        if not run.orders or run.orders[-1] != order:
            run.orders.append(order)
        if (order, row) != last:
            run.row_starts.append(pos)
            last = (order, row)
        pos += n
        run.end = pos
    cut = pos >= max_frames and module.read_mono(sample_rate, np.zeros(chunk, dtype=np.float32)) > 0
    return audio[:pos], runs, cut, bpm


def sound_end(audio, sample_rate) -> tuple[int, int]:
    """Where the sound ends and how much to keep, in frames: ``(loud, keep)``; ``loud`` is the start of the
    last :data:`TAIL_WINDOW_S` window whose RMS is within :data:`TAIL_SILENCE_DB` of the loudest window's,
    ``keep`` the end of that window plus :data:`TAIL_MARGIN_S` (both ``audio.size`` when ``audio`` is
    silent throughout)."""
    hop = max(1, int(round(TAIL_WINDOW_S * sample_rate)))
    n = audio.size // hop
    if n == 0:
        return audio.size, audio.size
    rms = np.sqrt(np.mean(np.square(audio[:n * hop].astype(np.float64)).reshape(n, hop), axis=1))
    if rms.max() <= 0:
        return audio.size, audio.size
    loud = np.nonzero(rms > rms.max() * 10.0 ** (TAIL_SILENCE_DB / 20.0))[0]
    start = int(loud[-1]) * hop
    return start, min(audio.size, start + hop + int(round(TAIL_MARGIN_S * sample_rate)))


def clip_runs(runs, loud: int, keep: int) -> list:
    """The runs that start before frame ``loud`` (the patterns heard), the last one ending at ``keep``."""
    kept = [r for r in runs if r.start < loud]
    if kept:
        kept[-1].end = keep
        kept[-1].row_starts = [f for f in kept[-1].row_starts if f < keep]
    return kept


def cell_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the cells non-empty in ``a`` or ``b`` that are identical (1.0 when both are empty;
    0.0 for patterns of other shapes). ``a``, ``b``: ``[shape=(rows, channels, fields)]``."""
    if a.shape != b.shape:
        return 0.0
    used = a.any(axis=-1) | b.any(axis=-1)
    if not used.any():
        return 1.0
    same = (a == b).all(axis=-1)
    return float((same & used).sum() / used.sum())


def pattern_parts(module: Module, patterns, min_similarity: float = SAME_PART_MIN) -> dict[int, int]:
    """``{pattern: part index}`` for ``patterns`` (in order of first play): each joins the first part
    whose first pattern it matches (:func:`cell_similarity` ≥ ``min_similarity``), else starts a new one."""
    heads: list[np.ndarray] = []
    parts: dict[int, int] = {}
    for p in patterns:
        if p in parts:
            continue
        cells = module.pattern_cells(p)
        for k, head in enumerate(heads):
            if cell_similarity(cells, head) >= min_similarity:
                parts[p] = k
                break
        else:
            parts[p] = len(heads)
            heads.append(cells)
    return parts


def truth_sections(runs, parts, sample_rate) -> list[dict]:
    """The truth sections of played runs: runs of one part merged, labelled by :func:`~sectionist.analysis.structure.base.part_letter`."""
    merged: list[dict] = []
    for r in runs:
        label = part_letter(parts[r.pattern])
        if merged and merged[-1]["label"] == label:
            s = merged[-1]
            s["end_frame"] = r.end
            if s["patterns"][-1] != r.pattern:
                s["patterns"].append(r.pattern)
            s["orders"] += [o for o in r.orders if o != s["orders"][-1]]
            s["rows"] += len(r.row_starts)
        else:
            merged.append({"start_frame": r.start, "end_frame": r.end, "label": label, "patterns": [r.pattern],
                           "orders": list(r.orders), "rows": len(r.row_starts), "speed": r.speed, "tempo": r.tempo})
    return [{"start": round(s.pop("start_frame") / sample_rate, 6), "end": round(s.pop("end_frame") / sample_rate, 6),
             **s} for s in merged]


def render_piece(data: bytes, name: str, subsong: int, *, sample_rate: int, max_seconds: float):
    """Play one subsong of a module: ``(audio, sections, info)``; ``info`` holds the piece's facts."""
    with Module(data, name) as m:
        m.prepare(subsong)
        full = m.duration_seconds
        speed, tempo, _ = m.timing()
        audio, runs, cut, bpm = play(m, sample_rate, int(round(max_seconds * sample_rate)))
        loud, keep = sound_end(audio, sample_rate)
        trimmed = audio.size - keep
        audio, runs = audio[:keep], clip_runs(runs, loud, keep)
        played = list(dict.fromkeys(r.pattern for r in runs))
        parts = pattern_parts(m, played)
        info = {"format": m.metadata("type"), "module_title": m.metadata("title"), "artist": m.metadata("artist"),
                "tracker": m.metadata("tracker"), "channels": m.num_channels, "subsongs": m.num_subsongs,
                "speed": runs[0].speed if runs else speed, "tempo": runs[0].tempo if runs else tempo,
                "tempo_bpm": round(bpm, 3) if bpm > 0 else None,
                "rows_per_pattern": {str(p): m.pattern_rows(p) for p in played},
                "full_duration_s": round(full, 3), "cut": bool(cut),
                "trimmed_silence_s": round(trimmed / sample_rate, 6)}
    return audio, truth_sections(runs, parts, sample_rate), info


def unusable(audio, sections, sample_rate, min_seconds) -> str | None:
    """Why a rendered piece is dropped, or None."""
    seconds = audio.size / sample_rate
    if seconds < min_seconds:
        return f"too short ({seconds:.1f} s < {min_seconds:g} s)"
    if len(sections) < 2:
        return "a single part throughout" if sections else "no pattern played"
    if float(np.max(np.abs(audio))) < SILENT_PEAK:
        return "silent"
    return None


def write_piece(out: Path, stem: str, audio, sections, meta: dict) -> Path:
    """Peak-normalise and write ``stem.wav`` with its truth ``.json`` and ``.lab`` into ``out``."""
    y = audio.astype(np.float64)
    y *= 10.0 ** (PEAK_DBFS / 20.0) / float(np.max(np.abs(y)))
    wav = out / f"{stem}.wav"
    write_wav(wav, y, meta["sample_rate"])
    text = (json.dumps({**meta, "sections": sections}, indent=1) + "\n").encode()
    atomic_write(wav.with_suffix(".json"), lambda fh: fh.write(text))
    lab = mirex_lab(sections).encode()
    atomic_write(wav.with_suffix(".lab"), lambda fh: fh.write(lab))
    return wav


# --------------------------------------------------------------------------------------------
# the corpus


@dataclass
class TrackerCorpus:
    """What :func:`make_tracker_corpus` did."""

    pieces: list = field(default_factory=list)     # entries of corpus.json
    dropped: list = field(default_factory=list)    # {piece, subsong, reason}
    failed: list = field(default_factory=list)     # {path, reason}: modules that could not be read
    packages: dict = field(default_factory=dict)   # package → {version, licence, modules} or {error}


def collect_modules(packages, modules_dir, cache, tmp, report):
    """``[(source, package, piece id, licence, path)]`` of every module to render."""
    items = []
    if modules_dir is not None:
        root = Path(modules_dir)
        if not root.is_dir():
            raise ParameterError(f"--modules {root}: not a folder")
        files = module_files(root)
        report.packages["local"] = {"folder": str(root), "licence": "unknown (local files)", "modules": len(files)}
        for p in files:
            items.append(("tracker:local", "local", f"local/{p.relative_to(root).as_posix()}",
                          "unknown (local files)", p))
        return items
    for pkg in packages:
        try:
            deb = debpkg.fetch_deb(pkg, cache)
            root = debpkg.unpack_deb(deb, Path(tmp) / pkg)
        except InputError as exc:
            report.packages[pkg] = {"error": str(exc)}
            continue
        files = module_files(root)
        licence = debpkg.package_licence(root, pkg)
        report.packages[pkg] = {"version": debpkg.deb_version(deb), "licence": licence, "modules": len(files)}
        for p in files:
            items.append((f"tracker:{pkg}", pkg, f"{pkg}/{p.relative_to(root).as_posix()}", licence, p))
    return items


def make_tracker_corpus(out_dir, *, packages=DEFAULT_PACKAGES, modules_dir=None, cache=debpkg.DEFAULT_CACHE,
                        sample_rate=22050, max_seconds=360.0, min_seconds=30.0, progress=True) -> TrackerCorpus:
    """Render tracker modules into ``out_dir/tune`` and ``out_dir/held`` with exact part truth.

    Beside each ``NAME.wav`` (mono 16-bit): ``NAME.json`` — the dev corpus's truth format plus
    ``source``, ``piece``, ``licence``, ``split`` and the module's facts; sections carry ``patterns``,
    ``orders``, ``rows``, ``speed`` and ``tempo`` — and a MIREX ``NAME.lab``. ``out_dir/corpus.json``
    lists the pieces, what was dropped or unreadable and why, and the packages.

    Parameters
    ----------
    out_dir : str or Path
    packages : sequence of str
        Debian packages to fetch modules from (ignored with ``modules_dir``).
    modules_dir : str or Path, optional
        A folder of module files to use instead of packages (piece ids ``local/RELATIVE/PATH``).
    cache : str or Path
        Where ``.deb`` files are downloaded and kept.
    sample_rate : int
    max_seconds : float
        Pieces are cut here (reported in the piece's ``cut`` and ``full_duration_s``).
    min_seconds : float
        Shorter pieces are dropped.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    TrackerCorpus

    Raises
    ------
    ParameterError
        Bad numbers, ``out_dir`` is a file, ``modules_dir`` is not a folder.
    InputError
        libopenmpt is missing, or no piece could be written (every reason is in the message).
    """
    from tqdm.auto import tqdm

    if not 8000 <= int(sample_rate) <= 192000:
        raise ParameterError(f"sample_rate={sample_rate}: must be within 8000–192000 Hz")
    if not 0 < float(min_seconds) < float(max_seconds) <= 3600:
        raise ParameterError(f"min_seconds={min_seconds}, max_seconds={max_seconds}: need 0 < min < max <= 3600")
    sample_rate = int(sample_rate)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder")
    version = library_version()
    report = TrackerCorpus()
    with tempfile.TemporaryDirectory(prefix="sectionist-tracker-") as tmp:
        items = collect_modules(list(packages), modules_dir, cache, tmp, report)
        for split in SPLITS:
            (out / split).mkdir(parents=True, exist_ok=True)
        stems: set[str] = set()
        for source, pkg, piece, licence, path in tqdm(items, desc="tracker modules", unit="module",
                                                      disable=not progress):
            shown = str(path) if modules_dir is not None else f"{piece} (from the .deb of {pkg})"
            try:
                data = read_module(path)
                with Module(data, shown) as m:
                    n_sub = m.num_subsongs
            except InputError as exc:
                report.failed.append({"piece": piece, "path": shown, "reason": str(exc)})
                continue
            split = split_of(piece)
            for sub in range(n_sub):
                try:
                    audio, sections, info = render_piece(data, shown, sub, sample_rate=sample_rate,
                                                         max_seconds=max_seconds)
                except InputError as exc:
                    report.failed.append({"piece": piece, "path": shown, "reason": str(exc)})
                    continue
                why = unusable(audio, sections, sample_rate, min_seconds)
                if why is not None:
                    report.dropped.append({"piece": piece, "subsong": sub, "reason": why})
                    continue
                stem = stem_of(pkg, piece, sub if n_sub > 1 else None)
                if stem in stems:
                    stem = f"{stem}-{hashlib.sha1(piece.encode()).hexdigest()[:6]}"
                stems.add(stem)
                duration = round(audio.size / sample_rate, 6)
                meta = {"title": stem, "tempo_bpm": info.pop("tempo_bpm"), "key": None,
                        "form": " ".join(s["label"] for s in sections), "duration_s": duration,
                        "sample_rate": sample_rate, "seed": None, "source": source, "piece": piece,
                        "subsong": sub, "licence": licence, "split": split,
                        "package_version": report.packages[pkg].get("version"), "libopenmpt": version,
                        "chunk_frames": CHUNK_FRAMES, "same_part_min": SAME_PART_MIN, **info}
                write_piece(out / split, stem, audio, sections, meta)
                report.pieces.append({"name": stem, "wav": f"{split}/{stem}.wav", "piece": piece, "subsong": sub,
                                      "split": split, "source": source, "licence": licence,
                                      "duration_s": duration, "cut": info["cut"],
                                      "trimmed_silence_s": info["trimmed_silence_s"], "sections": len(sections),
                                      "parts": len({s["label"] for s in sections})})
    listing = {"source": "tracker", "sample_rate": sample_rate, "max_seconds": float(max_seconds),
               "min_seconds": float(min_seconds), "chunk_frames": CHUNK_FRAMES, "same_part_min": SAME_PART_MIN,
               "libopenmpt": version, "split_rule": "sha1(piece) even -> tune, odd -> held",
               "packages": report.packages, "pieces": report.pieces, "dropped": report.dropped,
               "unreadable": report.failed}
    text = (json.dumps(listing, indent=1) + "\n").encode()
    atomic_write(out / "corpus.json", lambda fh: fh.write(text))
    if not report.pieces:
        reasons = [f"{p}: {v['error']}" for p, v in report.packages.items() if "error" in v]
        reasons += [f"{f['path']}: {f['reason']}" for f in report.failed]
        reasons += [f"{d['piece']}#{d['subsong']}: {d['reason']}" for d in report.dropped]
        raise InputError("no usable tracker piece was written to " + str(out) + (
            ": " + "; ".join(reasons) if reasons else ": no module files found"))
    return report
