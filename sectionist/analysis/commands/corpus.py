"""The corpus sub-command ``dev-corpus``: a development corpus with exact truth, from one of several
sources (:data:`SOURCES`).

- ``composed`` (default): songs composed as MIDI and rendered with FluidSynth
  (:mod:`sectionist.analysis.corpus.devcorpus`).
- ``tracker``: real tracker modules from Debian packages (or a folder) rendered with libopenmpt, the
  truth read from their order lists (:mod:`sectionist.analysis.corpus.tracker`).
- ``music21``: real notated pieces of music21's bundled corpus (fiddle tunes, Bach chorales, quartet
  movements) rendered with FluidSynth, the truth their strains from repeat signs and endings
  (:mod:`sectionist.analysis.corpus.notated`).

A source is a :class:`Source` in :data:`SOURCES`: its help line, a function adding its options to
its own argument group, and a function running it from the parsed arguments. ``--source`` takes its
choices from that table, so a new source is one more entry.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Callable

from sectionist.analysis.corpus.debpkg import DEFAULT_CACHE
from sectionist.analysis.corpus.devcorpus import DEFAULT_SECONDS_RANGE, DEFAULT_SOUNDFONT, make_dev_corpus
from sectionist.analysis.corpus.notated import COLLECTIONS, DEFAULT_PIECES
from sectionist.analysis.corpus.tracker import DEFAULT_PACKAGES, SAME_PART_MIN


@dataclass(frozen=True)
class Source:
    """One ``--source`` of ``sectionist dev-corpus``.

    Attributes
    ----------
    help : str
        One line for ``--help``.
    add_options : callable
        ``add_options(group)`` adds the source's options to its argument group.
    run : callable
        ``run(args) -> int`` builds the corpus in ``args.dir`` and prints a summary.
    """

    help: str
    add_options: Callable[[Any], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------------------------
# composed: FluidSynth


def composed_options(g) -> None:
    """Options of ``--source composed``."""
    g.add_argument("--songs", type=int, default=24, help="number of songs")
    g.add_argument("--seed", type=int, default=0, help="random seed (also --source music21)")
    g.add_argument("--seconds", type=float, default=None,
                   help="approximate length of each song (whole bars of its form); default: drawn per song "
                   f"within {DEFAULT_SECONDS_RANGE[0]:g}–{DEFAULT_SECONDS_RANGE[1]:g} s")
    g.add_argument("--soundfont", default=DEFAULT_SOUNDFONT,
                   help="General MIDI soundfont (.sf2; also --source music21)")


def run_composed(args) -> int:
    """``--source composed``: compose and render ``args.songs`` songs."""
    import time

    t0 = time.perf_counter()
    paths = make_dev_corpus(args.dir, n_songs=args.songs, seed=args.seed, seconds=args.seconds,
                            soundfont=args.soundfont, sample_rate=args.sample_rate, progress=not args.quiet)
    took = time.perf_counter() - t0
    audio = sum(json.loads(p.with_suffix(".json").read_text())["duration_s"] for p in paths)
    print(f"wrote {len(paths)} songs ({audio / 60:.1f} min of audio, {audio / max(took, 1e-9):.0f}× real time) "
          f"with truth (.json, .lab) and MIDI to {args.dir}")
    return 0


# --------------------------------------------------------------------------------------------
# tracker: libopenmpt


def tracker_options(g) -> None:
    """Options of ``--source tracker``."""
    g.add_argument("--packages", nargs="+", metavar="PKG", default=list(DEFAULT_PACKAGES),
                   help="Debian packages whose tracker modules are rendered (fetched with apt-get download)")
    g.add_argument("--modules", metavar="DIR", default=None,
                   help="render the module files under DIR (recursively) instead of packages")
    g.add_argument("--cache", default=DEFAULT_CACHE, help="folder keeping the downloaded .deb files")
    g.add_argument("--max-seconds", type=float, default=360.0, help="cut longer pieces here")
    g.add_argument("--min-seconds", type=float, default=30.0, help="drop shorter pieces")


def run_tracker(args) -> int:
    """``--source tracker``: render the modules and print what was written, dropped and why."""
    import sys
    import time

    from sectionist.analysis.corpus.tracker import make_tracker_corpus

    t0 = time.perf_counter()
    rep = make_tracker_corpus(args.dir, packages=args.packages, modules_dir=args.modules, cache=args.cache,
                              sample_rate=args.sample_rate, max_seconds=args.max_seconds,
                              min_seconds=args.min_seconds, progress=not args.quiet)
    took = time.perf_counter() - t0
    for pkg, info in rep.packages.items():
        if "error" in info:
            print(f"package {pkg} skipped: {info['error']}", file=sys.stderr)
    for f in rep.failed:
        print(f"module skipped: {f['reason']}", file=sys.stderr)
    for d in rep.dropped:
        print(f"dropped {d['piece']} subsong {d['subsong']}: {d['reason']}", file=sys.stderr)
    for p in rep.pieces:
        if p["cut"]:
            print(f"cut {p['name']} at {args.max_seconds:g} s", file=sys.stderr)
    trimmed = [p["trimmed_silence_s"] for p in rep.pieces if p["trimmed_silence_s"] >= 1.0]
    if trimmed:
        print(f"trailing silence cut from {len(trimmed)} pieces ({sum(trimmed):.0f} s; counting cuts of 1 s or more)",
              file=sys.stderr)
    total = sum(p["duration_s"] for p in rep.pieces)
    for pkg, info in rep.packages.items():
        mine = [p for p in rep.pieces if p["source"] == f"tracker:{pkg}"]
        if "error" not in info:
            print(f"  {pkg}: {len(mine)} pieces of {info['modules']} modules, "
                  f"{sum(p['duration_s'] for p in mine) / 60:.1f} min, licence {info['licence']}")
    splits = {s: sum(p["split"] == s for p in rep.pieces) for s in ("tune", "held")}
    print(f"wrote {len(rep.pieces)} pieces ({total / 60:.1f} min of audio, {total / max(took, 1e-9):.0f}× real time; "
          f"tune {splits['tune']}, held {splits['held']}; {len(rep.dropped)} dropped, {len(rep.failed)} unreadable) "
          f"with truth (.json, .lab) to {args.dir}/tune and {args.dir}/held, listed in {args.dir}/corpus.json")
    return 0


# --------------------------------------------------------------------------------------------
# music21: notated pieces


def music21_options(g) -> None:
    """Options of ``--source music21`` (with ``--seed`` and ``--soundfont``)."""
    g.add_argument("--pieces", type=int, default=DEFAULT_PIECES,
                   help="number of pieces, shared among music21's collections by fixed shares ("
                   + ", ".join(f"{c.share} {c.name}" for c in COLLECTIONS)
                   + f" of {DEFAULT_PIECES}); --seed picks them and their instruments")


def run_music21(args) -> int:
    """``--source music21``: render notated pieces and print what was written and dropped."""
    import sys
    import time

    from sectionist.analysis.corpus.notated import make_notated_corpus, summary_lines

    t0 = time.perf_counter()
    rep = make_notated_corpus(args.dir, n_pieces=args.pieces, seed=args.seed, soundfont=args.soundfont,
                              sample_rate=args.sample_rate, progress=not args.quiet)
    took = time.perf_counter() - t0
    lines = summary_lines(rep)
    cut = next((i for i, line in enumerate(lines) if line.startswith("dropped ")), len(lines))
    for line in lines[cut:]:
        print(line, file=sys.stderr)
    for line in lines[:cut]:
        print(line)
    audio = sum(t["duration_s"] for t in rep.pieces)
    print(f"wrote {len(rep.pieces)} pieces ({audio / max(took, 1e-9):.0f}× real time) with truth (.json, .lab) "
          f"and MIDI to {args.dir}/tune and {args.dir}/held, listed in {args.dir}/corpus.json")
    return 0


#: The sources of ``sectionist dev-corpus --source``, by name; the first is the default.
SOURCES: dict[str, Source] = {
    "composed": Source(
        help="songs composed as MIDI (key, tempo, a real form such as verse-chorus-bridge or AABA, each section "
        "type with its own chords, melody, bass, drums and General MIDI instruments; recurring sections come back "
        "with variations: other drums, one instrument swapped, the melody an octave up or varied, a fill, a "
        "last-chorus modulation) rendered with FluidSynth, the .mid kept beside; same seed, same files; needs the "
        "Debian packages fluidsynth and fluid-soundfont-gm",
        add_options=composed_options, run=run_composed),
    "tracker": Source(
        help="real tracker modules (.mod .xm .s3m .it …) from Debian packages of game music, or from --modules DIR, "
        "rendered with libopenmpt (Debian package libopenmpt0); the truth is the order list as it plays: a "
        "boundary where the playing pattern changes, patterns with the same rows and at least "
        f"{SAME_PART_MIN:.0%} of their used cells identical are one part (A, B, …); pieces split by a hash of "
        "their id into DIR/tune and DIR/held",
        add_options=tracker_options, run=run_tracker),
    "music21": Source(
        help="real notated pieces from the corpus bundled with the music21 package (reels, jigs and hornpipes "
        "with repeats from Ryan's Mammoth Collection and O'Neill's Music of Ireland, played through twice; Bach "
        "chorales with a repeated first part; string-quartet movements with repeats) rendered with FluidSynth on "
        "General MIDI instruments; the truth is their strains (A, B, … by notated block between repeat signs and "
        "double bars, endings in their strain, one section per pass); pieces split by a hash of their id into "
        "DIR/tune and DIR/held; needs the devcorpus extra (music21) and fluidsynth",
        add_options=music21_options, run=run_music21),
}


def register_cli(sub, options) -> None:
    """Add ``sectionist dev-corpus``."""
    p = sub.add_parser(
        "dev-corpus", help="build a development corpus of real timbres with exact truth",
        description="Write audio with exact part truth into DIR: beside each DIR/NAME.wav the truth JSON "
        "(read by 'sectionist analyze') and a MIREX .lab. Sources: "
        + "; ".join(f"'{name}': {s.help}" for name, s in SOURCES.items())
        + ".",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="examples: sectionist dev-corpus /tmp/devcorpus --songs 24 --seed 0; "
        "sectionist dev-corpus /tmp/tracker --source tracker; "
        "sectionist dev-corpus /tmp/notated --source music21",
    )
    p.add_argument("dir", help="output folder")
    p.add_argument("--source", choices=list(SOURCES), default=next(iter(SOURCES)),
                   help="where the music comes from")
    p.add_argument("--sample-rate", type=int, default=22050, help="sample rate of the WAV files in Hz")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    for name, source in SOURCES.items():
        source.add_options(p.add_argument_group(f"--source {name}"))
    p.set_defaults(func=cmd_dev_corpus)


def cmd_dev_corpus(args) -> int:
    return SOURCES[args.source].run(args)
