"""The corpus sub-command ``dev-corpus``: a development corpus with exact truth, from one of several
sources (:data:`SOURCES`).

- ``composed`` (default): songs composed as MIDI and rendered with FluidSynth
  (:mod:`sectionist.analysis.corpus.devcorpus`).

A source is a :class:`Source` in :data:`SOURCES`: its help line, a function adding its options to
its own argument group, and a function running it from the parsed arguments. ``--source`` takes its
choices from that table, so a new source is one more entry.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Callable

from sectionist.analysis.corpus.devcorpus import DEFAULT_SECONDS_RANGE, DEFAULT_SOUNDFONT, make_dev_corpus


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
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--seconds", type=float, default=None,
                   help="approximate length of each song (whole bars of its form); default: drawn per song "
                   f"within {DEFAULT_SECONDS_RANGE[0]:g}–{DEFAULT_SECONDS_RANGE[1]:g} s")
    g.add_argument("--soundfont", default=DEFAULT_SOUNDFONT, help="General MIDI soundfont (.sf2)")


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


#: The sources of ``sectionist dev-corpus --source``, by name; the first is the default.
SOURCES: dict[str, Source] = {
    "composed": Source(
        help="songs composed as MIDI (key, tempo, a real form such as verse-chorus-bridge or AABA, each section "
        "type with its own chords, melody, bass, drums and General MIDI instruments; recurring sections come back "
        "with variations: other drums, one instrument swapped, the melody an octave up or varied, a fill, a "
        "last-chorus modulation) rendered with FluidSynth, the .mid kept beside; same seed, same files; needs the "
        "Debian packages fluidsynth and fluid-soundfont-gm",
        add_options=composed_options, run=run_composed),
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
        epilog="example: sectionist dev-corpus /tmp/devcorpus --songs 24 --seed 0",
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
