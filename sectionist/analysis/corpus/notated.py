"""A development corpus of real notated compositions: pieces of music21's bundled corpus rendered
with FluidSynth, with strain truth from their repeat signs and endings (``sectionist dev-corpus
--source music21``).

The pieces come from four collections of the corpus that ships inside the ``music21`` wheel
(:data:`COLLECTIONS`): reels, jigs and hornpipes with repeat signs from Ryan's Mammoth Collection
(1883) and O'Neill's Music of Ireland (1903) in ABC, Bach's four-part chorales whose first phrases
are repeated (``|: Stollen :| Abgesang``), and string-quartet movements by Haydn, Mozart, Beethoven
and Schumann with repeats, in MusicXML. Each collection has a share of the ``n_pieces`` asked for;
its candidates are shuffled by ``seed`` and taken in that order until its share is written, so a
larger ``n_pieces`` adds pieces without changing the first ones. A candidate that gives no strain
truth is dropped with its reason (:mod:`sectionist.analysis.corpus.strains`), and so is one longer
than :data:`MAX_SECONDS` or with a tempo mark outside 20–400 quarters a minute.

Truth: the strains of :func:`~sectionist.analysis.corpus.strains.expand_strains` (``A``, ``B``, …
by notated block, one section per pass, starting on the bar line where the pass starts). A fiddle
tune is played through twice, as players do (``AABB AABB``: sections ``A A B B A A B B``); chorales
and quartet movements once. The last section runs to the end of the file, :data:`TAIL_S` after the
final bar line, where the last notes ring out.

Tempo: the score's metronome marks (MusicXML ``<sound tempo>`` included), or else a default: fiddle
tunes by their ABC unit note length ``L:`` (the running note), :data:`RUNNING_NOTES_PER_MINUTE` of
them — a reel's half note (4 running eighths) at 112, a hornpipe's at 84, a jig's dotted quarter
(3 running eighths) at 116 —; a chorale's beat (a quarter in 4/4) at :data:`CHORALE_BPM`; a quartet
movement's quarter at :data:`QUARTET_QUARTER_BPM`.

Instruments (General MIDI, drawn per piece from ``seed`` and the piece id): a fiddle tune is one
melody, played by violin, fiddle, flute or accordion; a chorale by church organ on all four voices,
a string quartet (violin, violin, viola, cello) or choir; a quartet by its strings. The MIDI file is
written by music21 and rendered by :func:`~sectionist.analysis.corpus.devcorpus.render_midi` at
``sample_rate``: the same seed gives byte-identical files.

Each piece goes to ``DIR/tune`` or ``DIR/held`` by its split (:mod:`sectionist.analysis.corpus.split`,
fixed by the piece id): ``NAME.wav`` and beside it ``NAME.json`` (the truth format of
:mod:`sectionist.analysis.corpus.devcorpus` plus ``source``, ``piece``, ``licence``, ``split``…),
``NAME.lab`` and ``NAME.mid``; ``DIR/corpus.json`` lists the pieces (merged with what it held) and
the candidates dropped, with their reasons.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from sectionist.analysis.corpus.devcorpus import DEFAULT_SOUNDFONT, check_renderer, mirex_lab, render_midi
from sectionist.analysis.corpus.split import merge_corpus_index, split_of
from sectionist.analysis.corpus.strains import PieceDropped, expand_strains, score_midi, seconds_at
from sectionist.analysis.errors import InputError, ParameterError
from sectionist.store.fileio import atomic_write


@dataclass(frozen=True)
class Collection:
    """A collection of music21's corpus used by the notated corpus."""

    name: str
    kind: str  # "fiddle", "chorale" or "quartet"
    share: int  # pieces out of DEFAULT_PIECES
    work: str  # what the music is, for the licence line
    patterns: tuple[str, ...]  # globs under the corpus folder


#: The collections, their kind and share of :data:`DEFAULT_PIECES`.
COLLECTIONS: tuple[Collection, ...] = (
    Collection("ryansMammoth", "fiddle", 30, "Ryan's Mammoth Collection (Boston, 1883)", ("ryansMammoth/*.abc",)),
    Collection("oneills1850", "fiddle", 24, "O'Neill's Music of Ireland (Chicago, 1903)", ("oneills1850/*.abc",)),
    Collection("bach", "chorale", 14, "J. S. Bach's four-part chorales", ("bach/*.mxl",)),
    Collection("quartets", "quartet", 12, "string quartets",
               ("haydn/*/movement*.mxl", "mozart/k*/movement*.mxl", "beethoven/opus*/movement*.mxl",
                "schumann_robert/opus41no1/movement*.mxl")),
)

#: Pieces written by default (the collections' shares add up to it).
DEFAULT_PIECES: int = sum(c.share for c in COLLECTIONS)

#: Composers of the quartet collection, by corpus folder (for the licence line).
COMPOSERS: dict[str, str] = {"haydn": "Joseph Haydn", "mozart": "W. A. Mozart", "beethoven": "Ludwig van Beethoven",
                             "schumann_robert": "Robert Schumann"}

#: What the licence line says of every encoding (music21's corpus/license.txt, summarised).
LICENCE_NOTE = ("the music is in the public domain; the encoding is distributed in music21's corpus with its "
                "encoders' permission, licensed for use but possibly not for commercial use "
                "(music21/corpus/license.txt and the notes in the file)")

#: Fiddle-tune genres (ABC ``R:``, lower case, spaces removed) → genre, and the meters accepted.
FIDDLE_GENRES: dict[str, str] = {"reel": "reel", "hornpipe": "hornpipe", "jig": "jig", "doublejig": "jig"}
FIDDLE_METERS: dict[str, frozenset] = {"reel": frozenset({"2/4", "C|", "C", "4/4", "2/2"}),
                                       "hornpipe": frozenset({"2/4", "C|", "C", "4/4", "2/2"}),
                                       "jig": frozenset({"6/8", "9/8"})}

#: Default tempo of a fiddle tune: running notes (its ABC unit note length) per minute.
RUNNING_NOTES_PER_MINUTE: dict[str, float] = {"reel": 4 * 112.0, "hornpipe": 4 * 84.0, "jig": 3 * 116.0}

#: Default tempo of a chorale, beats (of its time signature) per minute.
CHORALE_BPM: float = 70.0

#: Default tempo of a quartet movement, quarter notes per minute.
QUARTET_QUARTER_BPM: float = 112.0

#: Longest piece accepted (seconds).
MAX_SECONDS: float = 900.0

#: Ring-out after the final bar line (seconds), part of the last section.
TAIL_S: float = 1.0

#: General MIDI programs by kind: name → one program per part (the last repeats for more parts).
INSTRUMENTS: dict[str, dict[str, tuple[int, ...]]] = {
    "fiddle": {"violin": (40,), "fiddle": (110,), "flute": (73,), "accordion": (21,)},
    "chorale": {"church organ": (19,), "string quartet": (40, 40, 41, 42), "choir": (52,)},
    "quartet": {"string quartet": (40, 40, 41, 42)},
}


@dataclass(frozen=True)
class Candidate:
    """A piece of the corpus that may enter the notated corpus."""

    piece: str  # stable id: "music21:" + corpus path (+ "#" + ABC tune number)
    collection: Collection
    path: str  # corpus-relative path
    genre: str  # reel, jig, hornpipe, chorale or quartet
    title: str
    stem: str  # file name of its WAV, without suffix
    abc: str | None = None  # the tune's ABC text (file header + tune)
    unit_ql: float | None = None  # ABC L: in quarter lengths

    @property
    def source(self) -> str:
        """``music21:`` + the corpus folder (``music21:ryansMammoth``, ``music21:haydn``…)."""
        return "music21:" + self.path.split("/")[0]


@dataclass
class NotatedReport:
    """What :func:`make_notated_corpus` wrote and dropped."""

    paths: list[Path] = field(default_factory=list)
    pieces: list[dict] = field(default_factory=list)  # the truth JSON of each written piece
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (piece id, reason)
    stale: list[str] = field(default_factory=list)  # WAVs of an earlier build left in the folder


# --------------------------------------------------------------------------------------------
# candidates


def corpus_root() -> Path:
    """The folder of music21's bundled corpus, or an :class:`InputError` naming the install."""
    try:
        from music21 import common
    except ImportError as exc:
        raise InputError("music21 is not installed: pip install 'sectionist[devcorpus]' "
                         "(or: pip install music21)") from exc
    root = Path(common.getCorpusFilePath())
    if not (root / "ryansMammoth").is_dir():
        raise InputError(f"music21's corpus is not in {root}: this music21 was installed without its corpus; "
                         "install the music21 wheel from PyPI, which bundles it")
    return root


def music21_version() -> str:
    import music21

    return str(music21.__version__)


def safe_stem(text: str) -> str:
    """A file stem from a corpus path: ``/`` → ``_``, anything but letters, digits, ``_`` and ``-`` → ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text.replace("/", "_"))


def abc_fields(text: str) -> dict[str, str]:
    """The first value of each one-letter ABC header field of ``text``."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^([A-Za-z]):(.*)$", text, re.M):
        out.setdefault(m.group(1), m.group(2).strip())
    return out


def unit_length(meter: str, unit: str | None) -> float:
    """ABC unit note length in quarter lengths: ``L:``, or ABC's default for the meter (1/16 below 3/4)."""
    if unit:
        return float(Fraction(unit.replace(" ", ""))) * 4.0
    value = 1.0 if meter in ("C", "C|") else float(Fraction(meter))
    return 0.25 if value < 0.75 else 0.5


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def fiddle_candidates(root: Path, coll: Collection) -> list[Candidate]:
    """Reels, jigs and hornpipes of an ABC collection that have repeat signs (first copy of each tune number)."""
    out, seen = [], set()
    for f in sorted(p for pat in coll.patterns for p in root.glob(pat)):
        text = read_text(f)
        chunks = re.split(r"(?m)^(?=X:)", text)
        header, tunes = chunks[0], chunks[1:]
        for tune in tunes:
            h = abc_fields(tune)
            genre = FIDDLE_GENRES.get(h.get("R", "").lower().replace(" ", ""))
            meter = h.get("M", "").replace(" ", "")
            number = h.get("X", "").strip()
            if genre is None or meter not in FIDDLE_METERS[genre] or not number.isdigit():
                continue
            if ":|" not in tune and "::" not in tune:
                continue
            rel = f.relative_to(root).as_posix()
            key = (coll.name, int(number)) if len(tunes) > 1 else (rel, int(number))
            if key in seen:
                continue
            seen.add(key)
            stem = safe_stem(rel.rsplit(".", 1)[0]) + (f"_{int(number):04d}" if len(tunes) > 1 else "")
            try:
                unit = unit_length(meter, h.get("L"))
            except (ValueError, ZeroDivisionError):
                continue
            out.append(Candidate(f"music21:{rel}#{int(number)}", coll, rel, genre, h.get("T", stem), stem,
                                 abc=header + tune, unit_ql=unit))
    return out


def musicxml_text(path: Path) -> str:
    """The MusicXML text inside a compressed ``.mxl`` file."""
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")]
        return z.read(names[0]).decode("utf-8", "replace") if names else ""


def musicxml_candidates(root: Path, coll: Collection) -> list[Candidate]:
    """The ``.mxl`` files of a collection that have a backward repeat."""
    out = []
    for f in sorted(p for pat in coll.patterns for p in root.glob(pat)):
        text = musicxml_text(f)
        if 'direction="backward"' not in text:
            continue
        rel = f.relative_to(root).as_posix()
        genre = "chorale" if coll.kind == "chorale" else "quartet"
        name = rel.rsplit(".", 1)[0]  # the files' own titles are often a number or the file name
        out.append(Candidate(f"music21:{rel}", coll, rel, genre, name, safe_stem(name)))
    return out


def candidates(root: Path, coll: Collection, seed: int) -> list[Candidate]:
    """The collection's candidates in the order ``seed`` shuffles them to."""
    found = fiddle_candidates(root, coll) if coll.kind == "fiddle" else musicxml_candidates(root, coll)
    order = np.random.default_rng([int(seed), zlib.crc32(coll.name.encode())]).permutation(len(found))
    return [found[i] for i in order]


def quotas(n_pieces: int) -> dict[str, int]:
    """Pieces per collection: ``n_pieces`` split by the collections' shares (largest remainders)."""
    total = sum(c.share for c in COLLECTIONS)
    raw = {c.name: n_pieces * c.share / total for c in COLLECTIONS}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), list(raw).index(k)))[: n_pieces - sum(out.values())]:
        out[k] += 1
    return out


# --------------------------------------------------------------------------------------------
# one piece


def licence_work(cand: Candidate) -> str:
    """What the piece is, for its licence line: its collection, a quartet's composer."""
    folder = cand.path.split("/")[0]
    return f"{COMPOSERS[folder]}'s {cand.collection.work}" if folder in COMPOSERS else cand.collection.work


def piece_rng(seed: int, piece: str):
    return np.random.default_rng([int(seed), int.from_bytes(hashlib.sha1(piece.encode()).digest()[:4], "big")])


def load_score(root: Path, cand: Candidate):
    """The candidate's score, parsed by music21."""
    from music21 import converter, stream

    if cand.abc is not None:
        s = converter.parse(cand.abc, format="abc")
    else:
        s = converter.parse(str(root / cand.path), forceSource=True, storePickle=False)
    if isinstance(s, stream.Opus):
        s = s.scores[0]
    return s


def key_name(score) -> str:
    """The first key with a mode the score states (ABC ``K:``), else music21's key estimate."""
    from music21 import key

    for k in score.recurse().getElementsByClass(key.Key):
        return f"{k.tonic.name} {k.mode}"
    k = score.analyze("key")
    return f"{k.tonic.name} {k.mode}"


def default_quarter_bpm(cand: Candidate, score) -> float:
    """The default tempo (quarters a minute) of a piece without metronome marks."""
    from music21 import meter

    if cand.genre in RUNNING_NOTES_PER_MINUTE:
        return RUNNING_NOTES_PER_MINUTE[cand.genre] * cand.unit_ql
    if cand.genre == "chorale":
        ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
        beat = float(ts.beatDuration.quarterLength) if ts is not None else 1.0
        return CHORALE_BPM * beat
    return QUARTET_QUARTER_BPM


def set_tempo(score, cand: Candidate) -> float:
    """Keep the score's metronome marks or put the default at its start; returns the first tempo."""
    from music21 import stream, tempo

    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    bpms = [mm.getQuarterBPM() for mm in marks if mm.getQuarterBPM() is not None]
    if bpms:
        bad = [b for b in bpms if not 20.0 <= b <= 400.0]
        if bad:
            raise PieceDropped(f"a tempo mark of {bad[0]:g} quarters a minute (outside 20–400)")
        first = min(marks, key=lambda mm: mm.getOffsetInHierarchy(score))
        return float(first.getQuarterBPM() or bpms[0])
    for mm in marks:
        mm.activeSite.remove(mm)
    bpm = round(default_quarter_bpm(cand, score), 3)
    first_measure = score.parts[0].getElementsByClass(stream.Measure).first()
    first_measure.insert(0, tempo.MetronomeMark(number=bpm, referent=1.0))
    return bpm


def choose_instruments(cand: Candidate, n_parts: int, rng) -> list[dict]:
    """One General MIDI program per part, from an ensemble drawn for the piece's kind."""
    choices = INSTRUMENTS[cand.collection.kind]
    names = sorted(choices)
    name = names[int(rng.integers(len(names)))]
    programs = choices[name]
    return [{"part": i, "program": programs[min(i, len(programs) - 1)], "ensemble": name} for i in range(n_parts)]


def strip_chord_symbols(score) -> None:
    """Remove ABC/MusicXML chord symbols (they are not played)."""
    from music21 import harmony

    for h in list(score.recurse().getElementsByClass(harmony.Harmony)):
        h.activeSite.remove(h)


def build_piece(root: Path, cand: Candidate, seed: int):
    """Parse, expand, orchestrate and time one piece: ``(mido.MidiFile, truth dict)``.

    Raises
    ------
    PieceDropped
        The piece gives no strain truth, is too long, or music21 fails on it.
    """
    from music21 import meter

    try:
        score = load_score(root, cand)
    except Exception as exc:  # noqa: BLE001 - music21's parsers raise many types
        raise PieceDropped(f"music21 cannot parse it ({type(exc).__name__}: {exc})") from exc
    try:
        strip_chord_symbols(score)
        key = key_name(score)
        ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
        strains = expand_strains(score, play_through=2 if cand.collection.kind == "fiddle" else 1)
        rng = piece_rng(seed, cand.piece)
        bpm = set_tempo(strains.score, cand)
        instruments = choose_instruments(cand, len(strains.score.parts), rng)
        mid = score_midi(strains.score, [i["program"] for i in instruments])
    except PieceDropped:
        raise
    except Exception as exc:  # noqa: BLE001 - music21's expander and MIDI writer raise many types
        raise PieceDropped(f"music21 fails on it ({type(exc).__name__}: {exc})") from exc
    total_ql = strains.expanded_ql * (2 if cand.collection.kind == "fiddle" else 1)
    times = seconds_at(mid, [p.start_ql for p in strains.passes] + [total_ql])
    duration = times[-1] + TAIL_S
    if duration > MAX_SECONDS:
        raise PieceDropped(f"it lasts {duration:.0f} s (more than {MAX_SECONDS:g} s)")
    sections = []
    for k, p in enumerate(strains.passes):
        end = times[k + 1] if k + 1 < len(strains.passes) else duration
        sections.append({"start": round(times[k], 6), "end": round(end, 6), "label": p.label, "pass": k + 1,
                         "measures": [p.first_measure, p.last_measure]})
    truth = {"title": cand.title, "tempo_bpm": round(bpm, 4), "key": key, "form": strains.form,
             "meter": ts.ratioString if ts is not None else None, "genre": cand.genre,
             "source": cand.source, "piece": cand.piece, "split": split_of(cand.piece),
             "licence": f"{licence_work(cand)}: {LICENCE_NOTE}",
             "play_through": 2 if cand.collection.kind == "fiddle" else 1,
             "notated_quarters": round(strains.notated_ql, 4), "expanded_quarters": round(strains.expanded_ql, 4),
             "instruments": instruments, "sections": sections}
    return mid, truth, duration


# --------------------------------------------------------------------------------------------
# the corpus


def make_notated_corpus(out_dir, *, n_pieces=DEFAULT_PIECES, seed=0, soundfont=DEFAULT_SOUNDFONT,
                        sample_rate=22050, progress=True) -> NotatedReport:
    """Render ``n_pieces`` notated pieces of music21's corpus with strain truth into ``out_dir``.

    Piece files depend only on ``(piece, seed, soundfont, sample_rate)``; the choice of pieces on
    ``(seed, n_pieces)``, a larger ``n_pieces`` adding pieces to each collection's first ones.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing).
    n_pieces : int
        Number of pieces (1–1000), shared among :data:`COLLECTIONS` by their shares.
    seed : int
        Seed of the choice and the instruments (non-negative).
    soundfont : str or Path
        General MIDI soundfont.
    sample_rate : int
        Samples per second of the WAV files.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    NotatedReport

    Raises
    ------
    ParameterError
        A bad count, seed or sample rate, or ``out_dir`` is not a folder.
    InputError
        music21 or its corpus, ``fluidsynth`` or the soundfont is missing, or rendering failed.
    """
    from tqdm.auto import tqdm

    try:
        n_pieces, seed = int(n_pieces), int(seed)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"n_pieces={n_pieces!r}, seed={seed!r}: must be integers") from exc
    if not 1 <= n_pieces <= 1000:
        raise ParameterError(f"n_pieces={n_pieces}: must be within 1–1000")
    if seed < 0:
        raise ParameterError(f"seed={seed}: must be >= 0")
    if not 8000 <= int(sample_rate) <= 192000:
        raise ParameterError(f"sample_rate={sample_rate}: must be within 8000–192000 Hz")
    check_renderer(soundfont)
    root = corpus_root()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    report = NotatedReport()
    want = quotas(n_pieces)
    bar = tqdm(total=n_pieces, desc="notated pieces", unit="piece", disable=not progress)
    try:
        for coll in COLLECTIONS:
            if want[coll.name] == 0:
                continue
            done = 0
            for cand in candidates(root, coll, seed):
                if done == want[coll.name]:
                    break
                try:
                    mid, truth, duration = build_piece(root, cand, seed)
                except PieceDropped as exc:
                    report.dropped.append((cand.piece, str(exc)))
                    continue
                wav = out / truth["split"] / f"{cand.stem}.wav"
                wav.parent.mkdir(exist_ok=True)
                n = render_midi(mid, wav, seconds=duration, soundfont=soundfont, sample_rate=sample_rate,
                                mid_path=wav.with_suffix(".mid"))
                truth = {**truth, "duration_s": round(n / sample_rate, 6), "sample_rate": int(sample_rate),
                         "seed": seed, "soundfont": Path(soundfont).name}
                truth["sections"][-1]["end"] = truth["duration_s"]
                text = (json.dumps(truth, indent=1, ensure_ascii=False) + "\n").encode()
                atomic_write(wav.with_suffix(".json"), lambda fh, text=text: fh.write(text))
                lab = mirex_lab(truth["sections"]).encode()
                atomic_write(wav.with_suffix(".lab"), lambda fh, lab=lab: fh.write(lab))
                report.paths.append(wav)
                report.pieces.append(truth)
                done += 1
                bar.update(1)
    finally:
        bar.close()
    gone = merge_corpus_index(out, [{"piece": t["piece"], "source": t["source"], "split": t["split"],
                              "licence": t["licence"], "duration_s": t["duration_s"], "name": p.stem,
                              "wav": f"{t['split']}/{p.name}", "title": t["title"], "genre": t["genre"],
                              "sections": len(t["sections"]), "parts": len({s["label"] for s in t["sections"]})}
                             for p, t in zip(report.paths, report.pieces)],
                       music21={"version": music21_version(), "seed": seed, "n_pieces": n_pieces,
                                "dropped": [{"piece": d, "reason": r} for d, r in report.dropped]},
                              replace_sources="music21:")
    report.stale = [str(p["wav"]) for p in gone if (out / str(p.get("wav", ""))).is_file()]
    return report


def summary_lines(report: NotatedReport) -> list[str]:
    """The corpus in a few lines: pieces, minutes, per collection, splits, segment lengths, drops."""
    pieces = report.pieces
    minutes = sum(t["duration_s"] for t in pieces) / 60
    lines = [f"{len(pieces)} pieces, {minutes:.1f} min of audio"]
    by = {}
    for t in pieces:
        by.setdefault(t["source"], []).append(t["duration_s"])
    lines += [f"  {src}: {len(d)} pieces, {sum(d) / 60:.1f} min" for src, d in sorted(by.items())]
    splits = {s: sum(t["split"] == s for t in pieces) for s in ("tune", "held")}
    split_min = {s: sum(t["duration_s"] for t in pieces if t["split"] == s) / 60 for s in splits}
    lines.append("  split: " + ", ".join(f"{s} {splits[s]} ({split_min[s]:.1f} min)" for s in splits))
    segs = [s["end"] - s["start"] for t in pieces for s in t["sections"]]
    if segs:
        lines.append(f"  sections: {len(segs)}, median {float(np.median(segs)):.1f} s "
                     f"(min {min(segs):.1f}, max {max(segs):.1f})")
    if report.stale:
        lines.append(f"{len(report.stale)} pieces of an earlier build are still in the folder but no longer "
                     "listed in corpus.json (delete them or build into an empty folder): " + ", ".join(report.stale))
    if report.dropped:
        lines.append(f"dropped {len(report.dropped)}:")
        lines += [f"  {piece}: {reason}" for piece, reason in report.dropped]
    return lines
