"""The ``sectionist`` command line.

Sub-commands live beside the code they drive: this module holds ``analyze``, ``info`` and
``demo-corpus``; each module named in :data:`EXTENSIONS` adds its own through
``register_cli(subparsers)`` (kept light: heavy imports happen inside the handlers).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import SectionistError

#: Modules that add sub-commands (each defines ``register_cli(subparsers)``).
EXTENSIONS: list[str] = [
    "analysis.embeddings.cli",
    "store.s3",
    "dashboard.users_cli",
    "dashboard.judgements_cli",
    "dashboard.cli",
    "analysis.modeling",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sectionist",
        description="Cut songs into sections, describe and cluster them, and serve a dashboard "
        "where experts listen to the sections and judge the grouping.",
        epilog="Run 'sectionist COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sectionist {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    from . import commands

    commands.register_cli(sub)
    for name in EXTENSIONS:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except SectionistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished songs are kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
