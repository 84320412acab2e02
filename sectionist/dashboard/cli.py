"""``sectionist serve``: serve the web app for one store."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys


def register_cli(subparsers, options) -> None:
    """Add ``serve`` (``options``: the shared ``--store`` and S3 options)."""
    p = subparsers.add_parser(
        "serve", help="serve the web app for a store (maps, listening, explanations, judgements)",
        description="Start the web app on a store written by 'sectionist analyze'. Every page, the section "
        "audio and the spectrograms require login: create an account first with 'sectionist users add'. "
        "With --workers > 1 it runs under gunicorn (the production server), each worker process answering "
        "--threads requests at once (gthread: a click is several short requests, some waiting on disk, the "
        "network or the database); "
        "otherwise under a threaded development server. Put it behind TLS (nginx, see deploy/) before "
        "exposing it beyond this machine.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    options.store(p, help="store folder or s3://bucket/prefix to serve", s3=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8050, help="port to listen on")
    p.add_argument("--db", default=None, metavar="URL",
                   help="user/judgement database: sqlite:///file or postgresql://… "
                   "[default: the SQLite file beside the store]")
    p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (1: development server)")
    p.add_argument("--threads", type=int, default=8,
                   help="threads per gunicorn worker (gthread worker class; e.g. 2 workers x 8 threads on 2 cores)")
    p.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True,
                   help="also run 'sectionist media-warm' in the background at low priority while it serves: every "
                   "song's Lab front end, the Overview's scores and the sections' media are made before people ask "
                   "(the Lab's first open of a song waits ~15 s for its front end otherwise); a warm folder is "
                   "passed over quickly. Nothing to do when SECTIONIST_MEDIA_CACHE_MB is 0")
    options.s3(p)
    p.set_defaults(func=_serve)
    from sectionist.dashboard.media import warm

    warm.register_cli(subparsers, options)


def masked_url(url: str | None) -> str:
    """A database URL fit to print: its password replaced by ``***``."""
    if not url:
        return "(none)"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: show no more than its scheme
        return url.split("://", 1)[0] + "://…"


#: The worker processes' BLAS and OpenMP pools on one thread each (unless the environment says
#: otherwise): a request's numpy work (a spectrogram's mel product) runs in the request's thread, and
#: pools of as many threads as cores, one per request thread, spun the cores (3x the CPU of a
#: spectrogram measured, for nothing: the requests are the parallelism).
WORKER_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


#: Seconds an idle connection stays open: longer than a person's pause between clicks and than
#: nginx's upstream keepalive_timeout (60 s), so a client never sends on a connection the server is
#: closing at that moment (gunicorn's 2 s gave "connection reset" errors under load: bench/load.py).
KEEP_ALIVE_S = 75


def worker_environment(environ) -> dict:
    """``environ`` with :data:`WORKER_THREAD_VARIABLES` set to 1 where it does not set them."""
    return {**{name: "1" for name in WORKER_THREAD_VARIABLES}, **environ}


def gunicorn_command(gunicorn: str, workers: int, threads: int, host: str, port: int) -> list[str]:
    """The gunicorn command line ``serve`` runs: ``workers`` processes of the ``gthread`` class, each
    answering ``threads`` requests at once, idle connections kept :data:`KEEP_ALIVE_S` seconds
    (deploy/gunicorn.conf.py sets the same)."""
    return [gunicorn, "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--keep-alive", str(KEEP_ALIVE_S), "--bind", f"{host}:{port}", "--timeout", "120",
            "sectionist.dashboard.app:server"]


#: ``nice`` increment of the background ``media-warm`` that ``serve --warm`` starts: the web workers
#: answer first, the warming takes what CPU they leave.
WARM_NICENESS = 10


def warm_command(store) -> list[str]:
    """The ``sectionist media-warm`` command line ``serve --warm`` runs beside the server."""
    exe = shutil.which("sectionist") or os.path.join(os.path.dirname(sys.executable), "sectionist")
    if os.path.exists(exe):
        return [exe, "media-warm", "--store", str(store)]
    return [sys.executable, "-c", "import sys; from sectionist.cli import main; sys.exit(main())", "media-warm",
            "--store", str(store)]


def start_warm(store, settings, env) -> subprocess.Popen | None:
    """Start ``sectionist media-warm`` for ``store`` at :data:`WARM_NICENESS`, its output in
    ``<data dir>/media-warm.log``; ``None`` when the app keeps no media folder. The process shares the
    server's process group, so Ctrl-C on ``serve`` stops it too."""
    if not settings.media_cache_bytes:
        return None
    log_path = os.path.join(str(settings.data_dir), "media-warm.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(warm_command(store), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(WARM_NICENESS))
    print(f"warming the media folder in the background (pid {proc.pid}, log {log_path}; --no-warm to skip)",
          file=sys.stderr)
    return proc


def _serve(args) -> int:
    from sectionist.analysis.errors import ParameterError

    if not 1 <= args.port <= 65535:
        raise ParameterError(f"--port {args.port}: must be within 1–65535")
    if args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: must be ≥ 1")
    if args.threads < 1:
        raise ParameterError(f"--threads {args.threads}: must be ≥ 1")
    settings = args.settings  # resolved once by the entry point: options > environment > defaults
    db_url = settings.database_url()
    store_options = settings.store_options()
    # say which database holds the logins (an s3:// store's is a SQLite file in the data folder)
    print(f"database: {masked_url(db_url)}", file=sys.stderr)

    # the workers (and the background media-warm) build the app from the environment
    # (sectionist.dashboard.app:server, Settings.from_env): hand them the values resolved here
    env = dict(worker_environment(os.environ), SECTIONIST_STORE=str(args.store), SECTIONIST_DB_URL=db_url)
    if settings.s3_endpoint:
        env["SECTIONIST_S3_ENDPOINT"] = settings.s3_endpoint
    if settings.s3_region:
        env["AWS_REGION"] = settings.s3_region  # boto3's own variable

    if args.workers > 1:
        gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
        if not os.path.exists(gunicorn):
            raise ParameterError("--workers > 1 needs gunicorn (pip install gunicorn)")
        # fail here, with a clear message, rather than in every worker
        from sectionist.dashboard.data.store_data import StoreData

        StoreData(args.store, store_options=store_options)
        print(f"serving {args.store} on http://{args.host}:{args.port} with {args.workers} gunicorn workers "
              f"x {args.threads} threads", file=sys.stderr)
        if args.warm:  # gunicorn's master becomes its parent (and reaps it)
            start_warm(args.store, settings, env)
        os.execve(gunicorn, gunicorn_command(gunicorn, args.workers, args.threads, args.host, args.port), env)

    from threadpoolctl import threadpool_limits

    from sectionist.dashboard.app import create_app

    app = create_app(args.store, db_url=db_url, secret_key=settings.secret_key, store_options=store_options,
                     auth_options=settings.auth_options(), **settings.media_options())
    print(f"serving {args.store} on http://{args.host}:{args.port} (log in with an account made by "
          "'sectionist users add'; Ctrl-C stops)", file=sys.stderr)
    # while it serves, its numpy work runs in the request threads (WORKER_THREAD_VARIABLES); the limit
    # ends with the server (a caller in the same process, e.g. a test, gets its pools back)
    warming = start_warm(args.store, settings, env) if args.warm else None
    try:
        with threadpool_limits(limits=1):
            app.run(host=args.host, port=args.port, debug=False, threaded=True)
    finally:
        if warming is not None and warming.poll() is None:
            warming.terminate()
            warming.wait()
    return 0
