"""The corpus sub-command ``dev-corpus``: compose and render the development corpus
(:mod:`sectionist.analysis.corpus.devcorpus`)."""

from __future__ import annotations

import json

from sectionist.analysis.corpus.devcorpus import DEFAULT_SECONDS_RANGE, DEFAULT_SOUNDFONT, make_dev_corpus


def register_cli(sub, options) -> None:
    """Add ``sectionist dev-corpus``."""
    import argparse

    p = sub.add_parser(
        "dev-corpus", help="compose and render a development corpus of real timbres (FluidSynth)",
        description="Compose songs as MIDI (key, tempo, a real form such as verse-chorus-bridge or AABA, "
        "each section type with its own chords, melody, bass, drums and General MIDI instruments; "
        "recurring sections come back with variations: other drums, one instrument swapped, the melody "
        "an octave up or varied, a fill, a last-chorus modulation) and render them with FluidSynth. "
        "Beside each DIR/dev_XX.wav: the truth JSON (read by 'sectionist analyze'), a MIREX .lab and the "
        ".mid. Needs the Debian packages fluidsynth and fluid-soundfont-gm. Same seed, same files.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="example: sectionist dev-corpus /tmp/devcorpus --songs 24 --seed 0",
    )
    p.add_argument("dir", help="output folder")
    p.add_argument("--songs", type=int, default=24, help="number of songs")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--seconds", type=float, default=None,
                   help="approximate length of each song (whole bars of its form); default: drawn per song "
                   f"within {DEFAULT_SECONDS_RANGE[0]:g}–{DEFAULT_SECONDS_RANGE[1]:g} s")
    p.add_argument("--soundfont", default=DEFAULT_SOUNDFONT, help="General MIDI soundfont (.sf2)")
    p.add_argument("--sample-rate", type=int, default=22050, help="sample rate of the WAV files in Hz")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_dev_corpus)


def cmd_dev_corpus(args) -> int:
    import time

    t0 = time.perf_counter()
    paths = make_dev_corpus(args.dir, n_songs=args.songs, seed=args.seed, seconds=args.seconds,
                            soundfont=args.soundfont, sample_rate=args.sample_rate, progress=not args.quiet)
    took = time.perf_counter() - t0
    audio = sum(json.loads(p.with_suffix(".json").read_text())["duration_s"] for p in paths)
    print(f"wrote {len(paths)} songs ({audio / 60:.1f} min of audio, {audio / max(took, 1e-9):.0f}× real time) "
          f"with truth (.json, .lab) and MIDI to {args.dir}")
    return 0
