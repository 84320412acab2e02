"""The ``sectionist`` command: every sub-command of the analysis and of the dashboard, in one place.

Sub-commands live beside the code they drive; each module adds its own with
``register_cli(subparsers, options)`` (kept light: heavy imports happen inside the handlers):

- :mod:`sectionist.analysis.commands.analyze`: ``analyze``, ``info``, ``demo-corpus``;
- :mod:`sectionist.analysis.commands.segment`: ``segment``;
- :mod:`sectionist.analysis.embeddings.cli`: ``models``, ``embed``;
- :mod:`sectionist.analysis.commands.modeling`: ``cluster``, ``compare``, ``cluster-defaults``;
- :mod:`sectionist.analysis.modeling.refit`: ``refit`` (a new version of runs, the old one kept);
- :mod:`sectionist.dashboard.judging.guidance`: ``guide`` (a guided version: the experts' answers as constraints);
- :mod:`sectionist.analysis.commands.corpus`, :mod:`sectionist.analysis.evaluate`: ``dev-corpus``, ``evaluate``;
- :mod:`sectionist.analysis.commands.export`: ``export``;
- :mod:`sectionist.analysis.sections.soundtracks`: ``tracks``;
- :mod:`sectionist.dashboard.auth.users_cli`, :mod:`sectionist.dashboard.judging.cli`, :mod:`sectionist.dashboard.judging.runs_cli`,
  :mod:`sectionist.dashboard.cli`: ``users``, ``judgements``, ``runs``, ``serve``;
- :mod:`sectionist.dashboard.migrations.cli`: ``db`` (``db upgrade``, ``db current``: the database's schema);
- this module: ``sync``.

The options that many commands share (``--store``, the S3 options, the database options) are
defined once, by :class:`SharedOptions`, which is handed to every ``register_cli``. After parsing,
:func:`main` reads the environment once into a :class:`~sectionist.settings.Settings`
(:meth:`~sectionist.settings.Settings.resolve`: option > more specific option > environment >
default) and hands it to the command as ``args.settings``.

Exit status: 0 success, 1 some songs failed (``analyze``/``embed``), 2 a usage or data error
(the message says what to change), 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from sectionist.settings import Settings, SettingsError

#: ``--store`` help where the store is the thing a command works on.
STORE_HELP = "store folder or s3://bucket/prefix"


class SharedOptions:
    """The options several commands share, defined once. Every ``register_cli`` gets one."""

    def store(self, parser, *, required: bool = True, help: str = STORE_HELP, s3: bool = True) -> None:
        """``--store`` (and, with ``s3``, the S3 options of :meth:`s3`)."""
        parser.add_argument("--store", required=required, help=help)
        if s3:
            self.s3(parser)

    def s3(self, parser) -> None:
        """``--s3-endpoint`` and ``--s3-region``, for ``s3://`` stores."""
        g = parser.add_argument_group("S3 (for s3:// stores; credentials from the standard AWS configuration)")
        g.add_argument("--s3-endpoint", metavar="URL", default=None,
                       help="endpoint URL of an S3-compatible service (MinIO, Ceph…) "
                       "[$SECTIONIST_S3_ENDPOINT, else AWS]")
        g.add_argument("--s3-region", metavar="REGION", default=None,
                       help="region of the bucket [AWS_REGION or ~/.aws/config]")

    def database(self, parser) -> None:
        """``--db URL`` / ``--store DIR``: which user and judgement database a command works on."""
        g = parser.add_argument_group("database (one of; else $SECTIONIST_DB_URL)")
        g.add_argument("--db", metavar="URL", help="database URL: sqlite:///FILE or postgresql://user@host/db")
        g.add_argument("--store", metavar="DIR",
                       help="use the default database of this store (DIR/sectionist.sqlite)")


# ---- sync (the store package holds no command-line code) -------------------------------------------
def register_sync(sub, options: SharedOptions) -> None:
    """Add ``sectionist sync``."""
    p = sub.add_parser(
        "sync",
        help="copy a store between a folder and S3 (either way)",
        description="Copy the store at SRC to DST; each is a folder or s3://bucket/prefix. Only "
        "files that are missing or differ are copied, and manifest.json is written last, so an "
        "interrupted sync never leaves DST looking complete. Credentials and region come from the "
        "standard AWS configuration (environment, ~/.aws, instance role).",
        epilog="example: sectionist sync demo/store s3://my-bucket/sectionist/demo",
    )
    p.add_argument("src", metavar="SRC", help="source store: a folder or s3://bucket/prefix")
    p.add_argument("dst", metavar="DST", help="destination store: a folder or s3://bucket/prefix")
    p.add_argument("--songs-to", metavar="S3URI", default=None,
                   help="also upload the song files (local paths in the songs table) to this "
                   "s3://bucket/prefix and point DST's songs table at them, so the dashboard streams "
                   "section audio from S3")
    p.add_argument("--delete", action="store_true", help="also delete files in DST that SRC does not have")
    p.add_argument("--dry-run", action="store_true", help="only say what would be copied")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    options.s3(p)
    p.set_defaults(func=cmd_sync)


def cmd_sync(args) -> int:
    from sectionist.store.sync import sync

    settings = args.settings
    result = sync(args.src, args.dst, endpoint_url=settings.s3_endpoint, region=settings.s3_region,
                  delete=args.delete, dry_run=args.dry_run, progress=not args.quiet, songs_to=args.songs_to)
    verb = "would copy" if args.dry_run else "copied"
    print(f"{verb} {len(result['copied'])} files ({result['bytes'] / 1e6:.1f} MB), "
          f"{len(result['skipped'])} unchanged, {'would delete' if args.dry_run else 'deleted'} "
          f"{len(result['deleted'])}: {args.src} → {args.dst}")
    if result["songs"]:
        print(f"uploaded {len(result['songs'])} song files to {args.songs_to}")
    return 0


# ---- the parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from sectionist.analysis import __version__, evaluate
    from sectionist.analysis.commands import analyze as commands
    from sectionist.analysis.commands import corpus as corpus_commands
    from sectionist.analysis.commands import export as export_commands
    from sectionist.analysis.commands import modeling as modeling_commands
    from sectionist.analysis.commands import repair as repair_commands
    from sectionist.analysis.commands import segment as segment_commands
    from sectionist.analysis.modeling import refit
    from sectionist.analysis.embeddings import saliency
    from sectionist.analysis.sections import soundtracks
    from sectionist.analysis.embeddings import cli as embeddings_cli
    from sectionist.dashboard import cli as serve_cli
    from sectionist.dashboard.judging import cli as judgements_cli, export_names, guidance, runs_cli
    from sectionist.dashboard.auth import links as playlist_links, users_cli
    from sectionist.dashboard.migrations import cli as db_cli

    parser = argparse.ArgumentParser(
        prog="sectionist",
        description="Cut songs into sections, describe and cluster them, and serve a dashboard "
        "where experts listen to the sections and judge the grouping.",
        epilog="Run 'sectionist COMMAND --help' for the options of a command. Options win over "
        "environment variables (SECTIONIST_DB_URL, SECTIONIST_S3_ENDPOINT, …; see the README).",
    )
    parser.add_argument("--version", action="version", version=f"sectionist {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    options = SharedOptions()
    commands.register_cli(sub, options)
    repair_commands.register_cli(sub, options)
    embeddings_cli.register_cli(sub, options)
    register_sync(sub, options)
    users_cli.register_cli(sub, options)
    judgements_cli.register_cli(sub, options)
    runs_cli.register_cli(sub, options)
    serve_cli.register_cli(sub, options)
    db_cli.register_cli(sub, options)
    modeling_commands.register_cli(sub, options)
    refit.register_cli(sub, options)
    guidance.register_cli(sub, options)
    export_commands.register_cli(sub, options, cluster_names=export_names.command_names,
                                 playlist_link=playlist_links.command_link_issuer)
    corpus_commands.register_cli(sub, options)
    evaluate.register_cli(sub, options)
    segment_commands.register_cli(sub, options)
    soundtracks.register_cli(sub, options)
    saliency.register_cli(sub, options)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sectionist.analysis.errors import SectionistError

    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.settings = Settings.resolve(args, os.environ)  # the one read of the environment
        return int(args.func(args) or 0)
    except (SectionistError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished songs are kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
