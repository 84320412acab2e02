"""``sectionist media-warm``: make sections' spectrograms and audio, every song's front end of the
Lab (:func:`sectionist.dashboard.data.lab.warm_lab`) and the Overview's scores against the truth
(:func:`sectionist.dashboard.data.evaluation.warm_evaluation`), into the media folder before the experts
arrive, so that their first clicks find them made (docs/serving.md).

Under load, a click on a section nobody had opened cost the server about twice a click on one already
seen (its audio read and encoded, its log-mel spectrogram computed and drawn); ``bench/load.py``
measured 50 experts at p95 0.65 s once every section's media were made and 2.6-2.9 s while most
clicks were first clicks. This runs in a process of its own (so that no web worker's request
threads wait for it), through the very functions the routes call, into the same folder the workers
read (:mod:`sectionist.dashboard.media.diskcache`): central sections first, then the rest, one
spectrogram per language and the Ogg audio the players ask for, until the folder holds ``share`` of
its limit.
"""

from __future__ import annotations

import sys
import time

from sectionist.analysis.errors import ParameterError

#: Part of the media folder's limit the warming may fill (the rest is left to the clicks).
DEFAULT_SHARE = 0.5


def warm_media(app, *, languages=("en", "es"), formats=("ogg",), share: float = DEFAULT_SHARE,
               progress=None) -> dict:
    """Make the media of the store's sections into ``app``'s media folder.

    Parameters
    ----------
    app : dash.Dash
        Built by :func:`sectionist.dashboard.app.create_app` with a media folder (``media_cache_bytes`` > 0).
    languages : sequence of str
        The languages of the spectrograms' labels (one picture each).
    formats : sequence of str
        Audio formats to encode (``"ogg"``, ``"wav"``).
    share : float
        Stop once the entries made here reach this part of the folder's limit (0 < share ≤ 1).
    progress : callable, optional
        Called with ``(sections done, sections in all)`` after each section.

    Returns
    -------
    dict
        ``{"sections": done, "skipped": unreadable, "bytes": made, "seconds": elapsed}``.
    """
    import numpy as np
    from werkzeug.exceptions import HTTPException

    from sectionist.dashboard.data.store_data import EXTENSION_KEY
    from sectionist.dashboard.media.audio import MEDIA_CACHE_KEY, section_audio_bytes, section_spectrogram_png

    if not 0 < float(share) <= 1:
        raise ParameterError(f"share {share!r}: must be within (0, 1]")
    server = app.server
    disk = server.extensions.get(MEDIA_CACHE_KEY)
    if disk is None:
        raise ParameterError("this app keeps no media folder (SECTIONIST_MEDIA_CACHE_MB is 0): nothing to warm")
    data = server.extensions[EXTENSION_KEY]
    # central sections first (the ones the pages offer first), each group in store order
    order = np.argsort(~data.is_central, kind="stable")
    budget, made, done, skipped = disk.max_bytes * float(share), 0, 0, 0
    t0 = time.monotonic()
    for pos in order:
        sid = str(data.section_ids[pos])
        try:
            for lang in languages:
                with server.test_request_context("/", headers={"Accept-Language": lang}):
                    made += len(section_spectrogram_png(data, sid)[0])
            with server.test_request_context("/"):
                for fmt in formats:
                    made += len(section_audio_bytes(data, sid, fmt)[0])
        except HTTPException:  # its audio is missing or unreadable: the routes answer 404 too
            skipped += 1
        done += 1
        if progress is not None:
            progress(done, len(order))
        if made >= budget:
            break
    return {"sections": done, "skipped": skipped, "bytes": made, "seconds": time.monotonic() - t0}


def register_cli(subparsers, options) -> None:
    """Add ``media-warm`` (``options``: the shared ``--store`` options)."""
    import argparse

    p = subparsers.add_parser(
        "media-warm", help="make the sections' spectrograms and audio for the web app before people click",
        description="Fill the web app's media folder (<data dir>/media/, SECTIONIST_MEDIA_CACHE_MB) with every "
        "song's front end of the Lab (its beats, novelty and embedding: the Lab opens the song at once), the "
        "Overview's scores against the truth when songs carry truth, then every "
        "section's spectrogram (one per language) and Ogg audio, central sections first, up to --share of the "
        "folder's limit, so that the first click on a section finds them made. Run it after 'sectionist analyze', "
        "with the same SECTIONIST_DATA_DIR as 'sectionist serve'; the server may be running.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    options.store(p, help="store folder or s3://bucket/prefix that 'sectionist serve' serves", s3=False)
    p.add_argument("--share", type=float, default=DEFAULT_SHARE, help="part of the media folder's limit to fill")
    p.add_argument("--languages", default="en,es", help="languages of the spectrograms' labels, comma-separated")
    options.s3(p)
    p.set_defaults(func=_warm)


def _warm(args) -> int:
    from threadpoolctl import threadpool_limits

    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.ui.i18n import LANGUAGES

    languages = [x.strip() for x in str(args.languages).split(",") if x.strip()]
    bad = [x for x in languages if x not in LANGUAGES]
    if bad or not languages:
        raise ParameterError(f"--languages {args.languages!r}: choose among {', '.join(LANGUAGES)}")
    settings = args.settings
    if not settings.media_cache_bytes:
        raise ParameterError("SECTIONIST_MEDIA_CACHE_MB is 0: the web app keeps no media folder to warm")
    # as the web workers compute them (their bytes are the same either way); the limit ends with the
    # command, so a caller in the same process (a test) gets its pools back
    limits = threadpool_limits(limits=1)
    try:
        return _warm_app(args, settings, languages, create_app)
    finally:
        limits.restore_original_limits()


def _warm_app(args, settings, languages, create_app) -> int:
    app = create_app(args.store, db_url=settings.database_url(), secret_key=settings.secret_key,
                     store_options=settings.store_options(), auth_options=settings.auth_options(),
                     **settings.media_options())

    def progress(done, total):
        if done % 50 == 0 or done == total:
            print(f"  {done}/{total} sections", file=sys.stderr)

    from sectionist.dashboard.data.lab import warm_lab

    # the Lab's per-song front end first: a few hundred kB per song, and the Lab's first open waits for it
    lab = warm_lab(app)
    from sectionist.dashboard.data.evaluation import warm_evaluation

    scores = warm_evaluation(app)  # the Overview's scores against the truth (whole-store work)
    out = warm_media(app, languages=languages, share=args.share, progress=progress)
    folder = app.server.extensions["sectionist_media_cache"].folder
    print(f"made the Lab's front end of {lab['made']} songs ({lab['skipped']} without readable audio) in "
          f"{lab['seconds']:.1f} s")
    if scores["made"]:
        print(f"scored the segmentations against the truth (the Overview's card) in {scores['seconds']:.1f} s")
    print(f"made the media of {out['sections']} sections ({out['skipped']} without readable audio), "
          f"{out['bytes'] / 2**20:.1f} MB in {out['seconds']:.1f} s, into {folder}")
    return 0
