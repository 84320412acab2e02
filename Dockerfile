# syntax=docker/dockerfile:1
# The dashboard image: gunicorn serving sectionist.dashboard.app:server as a non-root user.
# Configuration by environment variables only (nothing secret is baked in):
#   SECTIONIST_STORE    store to serve: s3://bucket/prefix (or a folder mounted into the container)
#   SECTIONIST_DB_URL   postgresql://user:password@host/db (users and judgements)
#   SECRET_KEY          session signing key (32+ random characters)
#   AWS_REGION, AWS credentials (or an instance role), SECTIONIST_S3_ENDPOINT for S3-compatible services
# Build:  docker build -t sectionist .      Run: see deploy/compose.yaml and the README.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with sectionist and its dependencies ----------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/sectionist
WORKDIR /app
# the locked versions first (hashes checked; a layer that only changes with the lock)
COPY requirements/py311.lock requirements/py311.lock
RUN /opt/sectionist/bin/pip install --upgrade pip wheel \
 && /opt/sectionist/bin/pip install --require-hashes -r requirements/py311.lock
COPY pyproject.toml README.md ./
COPY sectionist/ sectionist/
COPY deploy/gunicorn.conf.py deploy/gunicorn.conf.py
# editable: the code stays in /app, which is copied as is into the runtime stage (same path)
RUN /opt/sectionist/bin/pip install --no-deps -e .

# ---- runtime: the venv and the code, no compilers, no pip cache ----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsndfile1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/sectionist --create-home \
      --shell /usr/sbin/nologin sectionist \
 && install -d -o sectionist -g sectionist -m 0750 /var/cache/sectionist
COPY --from=build /opt/sectionist /opt/sectionist
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/sectionist/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SECTIONIST_BIND=0.0.0.0:8000 \
    SECTIONIST_DATA_DIR=/var/lib/sectionist \
    SECTIONIST_S3_CACHE_DIR=/var/cache/sectionist/s3 \
    SECTIONIST_BEHIND_PROXY=1 \
    FORWARDED_ALLOW_IPS=* \
    MPLCONFIGDIR=/tmp/matplotlib \
    NUMBA_CACHE_DIR=/tmp/numba
USER sectionist
EXPOSE 8000
VOLUME ["/var/lib/sectionist", "/var/cache/sectionist"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('SECTIONIST_BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % port, timeout=4)"]
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "sectionist.dashboard.app:server"]
