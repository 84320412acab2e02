#!/usr/bin/env bash
# cloud-init user-data for a fresh Ubuntu (22.04/24.04) or Debian (12) VM, e.g. an EC2 instance:
# installs sectionist, PostgreSQL and nginx, and serves the dashboard over HTTPS from an S3 store.
#
# Paste this file as the instance's user data after editing the settings below (or pass them in
# the environment when running it by hand as root: `sudo SERVER_NAME=… bash user-data.sh`).
# It is safe to run again: every step checks what is already there.
#
# Give the instance an IAM role with deploy/iam-policy.json (read-only access to the store and
# the songs); no AWS keys are written anywhere. The first admin's password is printed once to
# the cloud-init log and kept in /root/sectionist-admin.txt (mode 0600): read it, log in, and
# delete the file.
set -euo pipefail

# ---- settings ---------------------------------------------------------------------------------
SERVER_NAME="${SERVER_NAME:-dashboard.example.org}"          # DNS name pointing at this VM
LETSENCRYPT_EMAIL="${LETSENCRYPT_EMAIL:-}"                   # empty: self-signed certificate
SECTIONIST_STORE="${SECTIONIST_STORE:-s3://my-bucket/sectionist/store}"
AWS_REGION="${AWS_REGION:-eu-west-1}"                        # the bucket's region
REPO_URL="${REPO_URL:-https://github.com/example/sectionist.git}"
GIT_REF="${GIT_REF:-main}"
ADMIN_USER="${ADMIN_USER:-admin}"
WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
SECTIONIST_S3_ENDPOINT="${SECTIONIST_S3_ENDPOINT:-}"        # S3-compatible services only

# ---- layout -------------------------------------------------------------------------------------
PREFIX=/opt/sectionist
SRC="$PREFIX/src"
VENV="$PREFIX/venv"
ETC=/etc/sectionist
ENV_FILE="$ETC/sectionist.env"
TLS_DIR="$ETC/tls"
ACME_ROOT=/var/www/certbot
export DEBIAN_FRONTEND=noninteractive

log() { printf '[sectionist] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root (cloud-init does)" >&2
    exit 1
fi

log "installing packages"
apt-get update -q
apt-get install -y -q --no-install-recommends \
    ca-certificates git python3 python3-venv python3-pip libsndfile1 ffmpeg \
    nginx postgresql certbot gettext-base openssl curl

log "creating the service user and folders"
if ! id sectionist >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/sectionist --create-home \
        --shell /usr/sbin/nologin sectionist
fi
install -d -m 0755 "$PREFIX" "$ACME_ROOT"
install -d -m 0750 -o root -g sectionist "$ETC"
install -d -m 0700 "$TLS_DIR"

log "fetching the code ($REPO_URL @ $GIT_REF)"
if [ -d "$SRC/.git" ]; then
    git -C "$SRC" fetch --quiet origin "$GIT_REF"
    git -C "$SRC" checkout --quiet FETCH_HEAD
else
    git clone --quiet --branch "$GIT_REF" --depth 1 "$REPO_URL" "$SRC"
fi

log "creating the virtual environment"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip wheel
"$VENV/bin/pip" install --quiet -e "$SRC"
ln -sf "$VENV/bin/sectionist" /usr/local/bin/sectionist

log "setting up PostgreSQL"
systemctl enable --now postgresql
if [ -f "$ENV_FILE" ]; then
    # keep the passwords of an earlier run
    DB_PASSWORD="$(sed -n 's|^SECTIONIST_DB_URL=postgresql://sectionist:\([^@]*\)@.*|\1|p' "$ENV_FILE")"
    SECRET_KEY="$(sed -n 's/^SECRET_KEY=//p' "$ENV_FILE")"
fi
DB_PASSWORD="${DB_PASSWORD:-$(openssl rand -hex 24)}"
SECRET_KEY="${SECRET_KEY:-$(openssl rand -base64 48 | tr -d '\n')}"
if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='sectionist'" | grep -q 1; then
    runuser -u postgres -- psql -q -c "CREATE ROLE sectionist LOGIN PASSWORD '$DB_PASSWORD'"
else
    runuser -u postgres -- psql -q -c "ALTER ROLE sectionist PASSWORD '$DB_PASSWORD'"
fi
if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='sectionist'" | grep -q 1; then
    runuser -u postgres -- createdb -O sectionist sectionist
fi

log "writing $ENV_FILE"
umask 027
cat > "$ENV_FILE.new" <<ENV
# sectionist settings (read by sectionist.service). Secrets: keep this file 0640 root:sectionist.
SECTIONIST_STORE=$SECTIONIST_STORE
SECTIONIST_DB_URL=postgresql://sectionist:$DB_PASSWORD@127.0.0.1:5432/sectionist
SECRET_KEY=$SECRET_KEY
AWS_REGION=$AWS_REGION
SECTIONIST_S3_ENDPOINT=$SECTIONIST_S3_ENDPOINT
SECTIONIST_BIND=127.0.0.1:8000
SECTIONIST_BEHIND_PROXY=1
SECTIONIST_SECURE_COOKIES=1
WEB_CONCURRENCY=$WEB_CONCURRENCY
ENV
chown root:sectionist "$ENV_FILE.new"
chmod 0640 "$ENV_FILE.new"
mv "$ENV_FILE.new" "$ENV_FILE"
umask 022

log "installing sectionist-admin (sectionist commands as the service user, with its settings)"
install -m 0750 "$SRC/deploy/sectionist-admin" /usr/local/sbin/sectionist-admin

# before the (re)start: the app refuses a database whose schema is older than the code's
# (creates it on a first run, adopts a database of a release before migrations, no-op when current)
log "upgrading the database schema"
/usr/local/sbin/sectionist-admin db upgrade

log "starting the dashboard service"
install -m 0644 "$SRC/deploy/sectionist.service" /etc/systemd/system/sectionist.service
systemctl daemon-reload
systemctl enable sectionist.service
systemctl restart sectionist.service

log "creating the first admin account ($ADMIN_USER)"
if out="$(/usr/local/sbin/sectionist-admin users add "$ADMIN_USER" --role admin --if-missing)"; then
    if [ -n "$out" ]; then
        umask 077
        printf '%s\n' "$out" > /root/sectionist-admin.txt
        umask 022
        log "$out"
    fi
fi

log "configuring nginx and TLS"
render_nginx() {
    # shellcheck disable=SC2016  # literal on purpose: the names of the variables envsubst may replace
    local names='${SERVER_NAME} ${HTTP_PORT} ${HTTPS_PORT} ${TLS_CERT} ${TLS_KEY} ${UPSTREAM} ${ACME_ROOT}'
    export SERVER_NAME ACME_ROOT
    HTTP_PORT=80 HTTPS_PORT=443 TLS_CERT="$1" TLS_KEY="$2" UPSTREAM=127.0.0.1:8000 \
        envsubst "$names" < "$SRC/deploy/nginx.conf" > /etc/nginx/sites-available/sectionist
    ln -sf /etc/nginx/sites-available/sectionist /etc/nginx/sites-enabled/sectionist
    rm -f /etc/nginx/sites-enabled/default
    nginx -t -q
    systemctl reload-or-restart nginx
}
# a self-signed certificate first: nginx needs one to start, and certbot needs nginx running
if [ ! -s "$TLS_DIR/selfsigned.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$SERVER_NAME" \
        -addext "subjectAltName=DNS:$SERVER_NAME" \
        -keyout "$TLS_DIR/selfsigned.key" -out "$TLS_DIR/selfsigned.pem" 2>/dev/null
fi
systemctl enable nginx
render_nginx "$TLS_DIR/selfsigned.pem" "$TLS_DIR/selfsigned.key"

if [ -n "$LETSENCRYPT_EMAIL" ]; then
    log "requesting a Let's Encrypt certificate for $SERVER_NAME"
    if certbot certonly --webroot -w "$ACME_ROOT" -d "$SERVER_NAME" --email "$LETSENCRYPT_EMAIL" \
        --agree-tos --non-interactive --keep-until-expiring \
        --deploy-hook "systemctl reload nginx"; then
        render_nginx "/etc/letsencrypt/live/$SERVER_NAME/fullchain.pem" \
            "/etc/letsencrypt/live/$SERVER_NAME/privkey.pem"
    else
        log "certbot failed (is DNS for $SERVER_NAME pointing here, and port 80 open?); keeping the self-signed certificate"
    fi
fi

log "checking the health endpoint"
for _ in $(seq 1 60); do
    if curl -fsS http://127.0.0.1:8000/healthz >/dev/null 2>&1; then
        log "ready: https://$SERVER_NAME/ (first admin: see /root/sectionist-admin.txt)"
        exit 0
    fi
    sleep 2
done
log "the dashboard did not answer on 127.0.0.1:8000/healthz; see: journalctl -u sectionist"
exit 1
