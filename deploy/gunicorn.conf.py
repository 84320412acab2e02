"""gunicorn settings for the dashboard, all from environment variables (the image's CMD and the
systemd unit both use this file): ``gunicorn --config deploy/gunicorn.conf.py sectionist.dashboard.app:server``.

SECTIONIST_BIND      address to listen on (default 127.0.0.1:8000; the image sets 0.0.0.0:8000)
WEB_CONCURRENCY      worker processes (default 2)
SECTIONIST_THREADS   threads per worker (default 8: callbacks, audio and images mostly wait on disk, S3 or
                     the database; bench/load.py measures a setting under many users)
SECTIONIST_TIMEOUT   seconds before a stuck worker is restarted (default 120)
FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)

The app itself reads SECTIONIST_STORE, SECTIONIST_DB_URL, SECRET_KEY, … (see the README).
"""

import os

# numpy's BLAS and OpenMP pools on one thread in each worker (read when the worker imports numpy,
# after the fork): the request threads are the parallelism, and a pool per request thread spun the
# cores (sectionist.dashboard.cli.WORKER_THREAD_VARIABLES)
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

bind = [os.environ.get("SECTIONIST_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("SECTIONIST_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("SECTIONIST_TIMEOUT", "120"))
graceful_timeout = 30
# longer than nginx's upstream keepalive_timeout (60 s; nginx.conf keeps 16 connections open): nginx
# must never send a request on a connection gunicorn is closing (a 502 for a POST)
keepalive = 75
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("SECTIONIST_LOG_LEVEL", "info")
# the app is built in each worker (sectionist.dashboard.app:server is created lazily), never in the master
preload_app = False
# a worker is recycled now and then, so slow leaks (plot caches, …) never pile up
max_requests = 2000
max_requests_jitter = 200
