"""The sub-command ``export`` (:mod:`sectionist.analysis.export`)."""

from __future__ import annotations

from pathlib import Path

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.export.data import QUEUES, gather, read_selection, space_vectors
from sectionist.analysis.export.files import KINDS, export_files, write_files
from sectionist.analysis.export.locations import LOCATIONS


def register_cli(subparsers, options, *, cluster_names=None, playlist_link=None) -> None:
    """Add ``sectionist export``.

    ``cluster_names``: a function of the parsed options that returns a reader of the experts'
    cluster names (``reader(store, run_ids)`` → ``(names, named_in)``, see
    :func:`sectionist.analysis.export.data.gather`) or None; the command line passes the
    dashboard's (the analysis layer reads no database). ``playlist_link``: likewise, a function of
    the options that returns ``issue(section_ids, title)`` → ``(token, expires_at)``, a playlist
    link of the app for ``--link-for`` (:func:`sectionist.dashboard.auth.links.command_link_issuer`).
    """
    import argparse
    import textwrap

    kinds = "\n".join(f"  {k:<9} {d}" for k, (d, _) in KINDS.items())
    about = textwrap.fill(
        "Per-song kinds (audacity, jams, lab) and projector write several files: -o names a folder "
        "(created) or a .zip archive. Every file is written atomically. Runs are named by run id "
        "('sectionist info' or the Overview page lists them); an unknown run, scheme, song or space is "
        "an error that lists the valid ones. See docs/export.md.", 100)

    p = subparsers.add_parser(
        "export", help="export sections and labels to REAPER, Audacity, VLC, JAMS/MIREX, TensorBoard, CSV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a store's sections and their cluster labels in the format of another tool.\n\n"
        f"KIND is one of:\n{kinds}\n\n{about}",
        epilog="examples:\n  sectionist export reaper --store demo/store --run classical17-kmeans-auto -o demo.rpp\n"
        "  sectionist export xspf --store demo/store --run classical17-kmeans-k4 --cluster 2 --queue prototypes -o protos.xspf\n"
        "  sectionist export projector --store demo/store --space musicnn -o projector/",
    )
    p.add_argument("kind", metavar="KIND", choices=list(KINDS), help="what to write: " + ", ".join(KINDS))
    options.store(p)
    p.add_argument("--run", action="append", default=None, metavar="RUN",
                   help="a run id (repeat for several; default: every run)")
    p.add_argument("--scheme", default=None, help="only the sections of this sectioning scheme")
    p.add_argument("--songs", nargs="+", default=None, metavar="SONG", help="only these songs (ids or titles)")
    p.add_argument("--selection", metavar="FILE", default=None,
                   help="only the sections listed in FILE (one id a line, or a CSV with a section_id column)")
    p.add_argument("--cluster", type=int, default=None, help="only the sections of this cluster of the --run")
    p.add_argument("--queue", choices=QUEUES, default=None,
                   help="with --cluster: only its prototype or borderline queue, in order")
    p.add_argument("--space", default=None, help="projector: the space whose vectors to write")
    p.add_argument("--paths", choices=LOCATIONS, default="absolute",
                   help="how reaper/xspf name the original files: absolute (default), relative (to the output "
                   "folder), corpus (relative to the folder that holds every song of the store: put the file "
                   "in the top folder of a copy of the corpus), name (file name only), url (xspf: the app's "
                   "section URLs, which need a login unless --link-for gives them a playlist link; needs "
                   "--base-url)")
    p.add_argument("--base-url", default=None, help="the app's address for --paths url (e.g. https://host)")
    if cluster_names is not None:
        g = p.add_argument_group("cluster names (the experts' names of clusters, from the app's database)")
        g.add_argument("--db", metavar="URL", default=None,
                       help="read them from this database (sqlite:///FILE or postgresql://…) [default: the store's "
                       "database, STORE/sectionist.sqlite, when it exists; else every cluster is 'cluster N']")
        g.add_argument("--no-names", action="store_true", help="label every cluster 'cluster N'")
    if playlist_link is not None:
        g = p.add_argument_group("playlist links (xspf --paths url: tracks that play without a login)")
        g.add_argument("--link-for", metavar="USER", default=None,
                       help="record a playlist link of the app's user USER (in the database above) for exactly "
                       "the playlist's sections and put its token in every URL: VLC plays them without a login "
                       "until the link expires or is revoked on USER's Playlist links page (/playlists)")
        g.add_argument("--link-ttl", metavar="DURATION", default=None,
                       help="how long the link plays: seconds, or 30m, 12h, 7d; at most the app's "
                       "SECTIONIST_PLAYLIST_TTL [default: that, 7 days unless set]")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="output file, folder or .zip")
    p.set_defaults(func=cmd_export, cluster_names=cluster_names, playlist_link=playlist_link)


def cmd_export(args) -> int:
    from sectionist.store import open_store

    settings = getattr(args, "settings", None)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    selection = read_selection(args.selection) if args.selection else None
    if args.kind == "projector" and not args.space:
        raise ParameterError("projector export needs --space (a feature set or an embedder of the store)")
    issuer = _link_issuer(args)
    vectors = space_vectors(store, args.space) if args.kind == "projector" else None
    reader = getattr(args, "cluster_names", None)
    names = reader(args) if reader is not None else None
    data = gather(store, runs=args.run, scheme=args.scheme, songs=args.songs, selection=selection,
                  cluster=args.cluster, queue=args.queue, names=names)
    out = Path(args.output)
    out_dir = out if (out.is_dir() or out.suffix == "") else out.parent
    title = f"sectionist {args.kind}: " + ", ".join(data.run_ids)
    token, expires = issuer(data.sections["section_id"], title) if issuer is not None else (None, None)
    files = export_files(args.kind, data, location=args.paths, out_dir=out_dir, base_url=args.base_url,
                         vectors=vectors, title=title, token=token)
    written = write_files(files, out)
    print(f"wrote {len(files)} file(s) ({sum(map(len, files.values())) / 1e3:.1f} kB) of "
          f"{len(data.sections)} sections from {len(data.songs)} songs: "
          + (str(written[0]) if len(written) == 1 else f"{out}/"))
    if expires is not None:
        print(f"its links play without a login until {expires:%Y-%m-%d %H:%M} UTC (playlist link of "
              f"{args.link_for}; revoke it on the app's Playlist links page, /playlists)")
    return 0


def _link_issuer(args):
    """The playlist link issuer of ``--link-for`` (None without it), checked before any work."""
    user = getattr(args, "link_for", None)
    if not user:
        return None
    if args.kind != "xspf" or args.paths != "url" or not args.base_url:
        raise ParameterError(f"--link-for {user}: only for a playlist of the app's section URLs "
                             "(export xspf --paths url --base-url https://host)")
    return args.playlist_link(args)
