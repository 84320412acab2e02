"""Deployment files: shell scripts, compose file, Dockerfile, systemd unit, and the real thing on
loopback — the image's exact gunicorn command serving a store on S3 (moto's server), and Debian's
nginx running the shipped config in front of it with a self-signed certificate.

No Docker engine runs here: the image itself is not built (see the README's deployment section).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from s3_fixtures import admin_client, moto_endpoint  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent
#: the variables deploy/nginx.conf takes (the same list as deploy/user-data.sh gives envsubst)
NGINX_VARS = ("SERVER_NAME", "HTTP_PORT", "HTTPS_PORT", "TLS_CERT", "TLS_KEY", "UPSTREAM", "ACME_ROOT")


# ---- shell scripts -------------------------------------------------------------------------------
def _repo_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.split()
        return [REPO / p for p in out if (REPO / p).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk it
        skip = {".git", ".venv", "node_modules", "__pycache__"}
        return [p for p in REPO.rglob("*") if p.is_file() and not skip & set(p.relative_to(REPO).parts)]


def _shell_scripts() -> list[Path]:
    scripts = []
    for path in _repo_files():
        if path.suffix == ".sh":
            scripts.append(path)
            continue
        if path.suffix or path.stat().st_size > 1_000_000:
            continue
        with open(path, "rb") as fh:
            first = fh.readline(200)
        if re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba)?sh\b", first):
            scripts.append(path)
    return sorted(scripts)


SCRIPTS = _shell_scripts()


def test_the_known_scripts_are_found():
    names = {p.relative_to(REPO).as_posix() for p in SCRIPTS}
    assert {"deploy/user-data.sh", "deploy/sectionist-admin", "scripts/install-system-deps.sh", ".ci/run"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shell_script_passes_bash_n_and_shellcheck(script):
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: make test installs it (scripts/install-system-deps.sh)"
    lint = subprocess.run([shellcheck, "--external-sources", str(script)], cwd=script.parent,
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


# ---- compose, Dockerfile, systemd ------------------------------------------------------------------
def test_compose_file_has_app_nginx_postgres():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"app", "nginx", "postgres"}
    app, nginx, pg = services["app"], services["nginx"], services["postgres"]
    assert app["build"]["context"] == ".." and (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).is_file()
    env = app["environment"]
    for name in ("SECTIONIST_STORE", "SECTIONIST_DB_URL", "SECRET_KEY"):
        assert name in env
    # secrets come from deploy/.env (required with :?), never written into the file
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "${POSTGRES_PASSWORD:?" in env["SECTIONIST_DB_URL"] and "@postgres:5432/" in env["SECTIONIST_DB_URL"]
    assert pg["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "443:443" in nginx["ports"]
    assert "./nginx.conf:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    assert set(NGINX_VARS) <= set(nginx["environment"])
    assert nginx["environment"]["UPSTREAM"] == "app:8000"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"
    # every variable the compose file takes is documented in env.example
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (DEPLOY / "compose.yaml").read_text()))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (DEPLOY / "env.example").read_text(), re.M))
    assert used <= documented, used - documented


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of a Dockerfile, continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def _final_stage(instructions):
    starts = [i for i, (ins, _) in enumerate(instructions) if ins == "FROM"]
    return instructions[starts[-1]:]


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's final stage."""
    env = {}
    for ins, args in _final_stage(dockerfile_instructions((REPO / "Dockerfile").read_text())):
        if ins == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def image_cmd() -> list[str]:
    cmds = [args for ins, args in dockerfile_instructions((REPO / "Dockerfile").read_text()) if ins == "CMD"]
    return json.loads(cmds[-1])


def image_healthcheck() -> list[str]:
    checks = [args for ins, args in dockerfile_instructions((REPO / "Dockerfile").read_text()) if ins == "HEALTHCHECK"]
    _, _, exec_form = checks[-1].partition("CMD ")
    return json.loads(exec_form)


def image_app_dir(dest: Path) -> Path:
    """What the image's /app holds: the build stage's COPY lines applied to the build context
    (the repository less .dockerignore), into ``dest``. Returns ``dest``."""
    import fnmatch

    patterns = [line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        for pat in patterns:
            if pat.startswith("**/"):
                if any(fnmatch.fnmatch(part, pat[3:]) for part in parts):
                    return True
            elif fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(parts[0], pat):
                return True
        return False

    instructions = dockerfile_instructions((REPO / "Dockerfile").read_text())
    starts = [i for i, (ins, _) in enumerate(instructions) if ins == "FROM"]
    build = instructions[starts[0]:starts[1]]
    for ins, args in build:
        if ins != "COPY":
            continue
        *sources, target = args.split()
        for src in sources:
            src_path = REPO / src
            to = dest / target / src_path.name if target.endswith("/") and src_path.is_file() else dest / target
            if src_path.is_dir():
                def skip(folder, names):
                    rel = Path(folder).relative_to(REPO).as_posix()
                    return [n for n in names if ignored(f"{rel}/{n}".lstrip("./"))]
                shutil.copytree(src_path, to, symlinks=True, ignore=skip, dirs_exist_ok=True)
            else:
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src_path, to)
    return dest


def test_dockerfile_is_multi_stage_non_root_and_secret_free():
    instructions = dockerfile_instructions((REPO / "Dockerfile").read_text())
    froms = [args for ins, args in instructions if ins == "FROM"]
    assert len(froms) >= 2 and "slim" in (REPO / "Dockerfile").read_text().split("PYTHON_IMAGE=")[1].split()[0]
    final = _final_stage(instructions)
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(ins == "COPY" and args.startswith("--from=build") for ins, args in final)
    # configuration by environment only: no secret values baked into the image
    for key, value in image_env().items():
        assert not re.search(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY", key), key
    assert "SECRET_KEY=" not in (REPO / "Dockerfile").read_text().replace("#   SECRET_KEY", "")
    assert image_cmd()[:1] == ["gunicorn"] and image_cmd()[-1] == "sectionist.dashboard.app:server"
    assert any("/healthz" in part for part in image_healthcheck())
    # whatever the image copies exists and is not excluded from the build context
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for ins, args in instructions:
        if ins == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for src in sources:
                assert (REPO / src).exists(), src
                assert src.rstrip("/") not in ignored, f"{src} is in .dockerignore"


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing"
    unit = (DEPLOY / "sectionist.service").read_text()
    assert "ExecStart=/opt/sectionist/venv/bin/gunicorn --config deploy/gunicorn.conf.py sectionist.dashboard.app:server" in unit
    assert "User=sectionist" in unit and "EnvironmentFile=/etc/sectionist/sectionist.env" in unit
    # verify the unit as installed, with the executable it names pointing at this venv's gunicorn
    local = tmp_path / "sectionist.service"
    local.write_text(unit.replace("/opt/sectionist/venv/bin/gunicorn", str(VENV_BIN / "gunicorn")))
    result = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_user_data_installs_the_shipped_unit_and_config():
    script = (DEPLOY / "user-data.sh").read_text()
    assert "deploy/sectionist.service" in script and "deploy/nginx.conf" in script
    assert 'sectionist-admin users add "$ADMIN_USER" --role admin' in script
    listed = re.search(r"local names='([^']+)'", script).group(1).split()
    assert listed == [f"${{{v}}}" for v in NGINX_VARS]
    used = set(re.findall(r"\$\{([A-Z_]+)\}", _strip_comments((DEPLOY / "nginx.conf").read_text())))
    assert used == set(NGINX_VARS)


def test_sectionist_admin_runs_commands_with_the_service_settings(tmp_path):
    import getpass

    db = tmp_path / "users.sqlite"
    env_file = tmp_path / "sectionist.env"
    env_file.write_text(f"SECTIONIST_DB_URL=sqlite:///{db}\nSECTIONIST_STORE={tmp_path / 'store'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTIONIST_")}
    env.update(SECTIONIST_ENV_FILE=str(env_file), SECTIONIST_BIN=str(VENV_BIN / "sectionist"),
               SECTIONIST_USER=getpass.getuser())
    tool = str(DEPLOY / "sectionist-admin")
    added = subprocess.run([tool, "users", "add", "boss", "--role", "admin"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    listed = subprocess.run([tool, "users", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "boss" in listed.stdout and "admin" in listed.stdout
    missing = subprocess.run([tool, "users", "list"], env=dict(env, SECTIONIST_ENV_FILE=str(tmp_path / "none")),
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def _strip_comments(conf: str) -> str:
    return "\n".join(line for line in conf.splitlines() if not line.lstrip().startswith("#"))


# ---- gunicorn with the image's command, nginx in front ------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120.0, **kw) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            return requests.get(url, timeout=5, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            last = exc
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s ({last})")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def served_store(moto_endpoint, tmp_path_factory):
    """A small store with audio, synced with its songs to S3 (moto's server on loopback), as deployed."""
    from synthetic_store import build_synthetic_store

    from sectionist.store.sync import sync

    root = tmp_path_factory.mktemp("deploy") / "store"
    store = build_synthetic_store(root, n_sections=12, sections_per_song=6, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=5)
    store.write_manifest(store.read_manifest())
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "SECTIONIST_S3_ENDPOINT": moto_endpoint}
    admin_client(moto_endpoint).create_bucket(Bucket="sectionist-deploy")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in aws.items():
            mp.setenv(key, value)
        # the library reads no SECTIONIST_* variable (the app reads them once, in Settings.from_env)
        sync(str(store.root), "s3://sectionist-deploy/study/store", songs_to="s3://sectionist-deploy/study/songs",
             endpoint_url=moto_endpoint, progress=False)
    return {"local": store, "uri": "s3://sectionist-deploy/study/store", "env": aws}


@pytest.fixture(scope="module")
def gunicorn_app(served_store, tmp_path_factory):
    """The Dockerfile's CMD, run as is in a copy of the image's /app with the image's environment,
    serving the store on S3."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    db_url = f"sqlite:///{tmp / 'users.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECTIONIST_", "GUNICORN_"))}
    env.update(image_env())
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SECTIONIST_BIND": f"127.0.0.1:{port}",
        **served_store["env"],
        "SECTIONIST_STORE": served_store["uri"],
        "SECTIONIST_DB_URL": db_url,
        "SECRET_KEY": os.urandom(24).hex(),
        "SECTIONIST_DATA_DIR": str(tmp / "data"),
        "SECTIONIST_S3_CACHE_DIR": str(tmp / "cache"),
        "MPLCONFIGDIR": str(tmp / "mpl"),
        "NUMBA_CACHE_DIR": str(tmp / "numba"),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "SECTIONIST_THREADS": "2",
    })
    password = "correct horse battery staple 42"
    add = subprocess.run([str(VENV_BIN / "sectionist"), "users", "add", "deployer", "--role", "viewer",
                          "--password-stdin"], input=password + "\n", env=env, capture_output=True, text=True)
    assert add.returncode == 0, add.stderr
    # run from a copy of what the image holds in /app, so a file the Dockerfile forgets is noticed
    app_dir = image_app_dir(tmp / "app")
    # the image installs sectionist without the optional torch extra: make torch unimportable here too
    blocked = tmp / "not-in-image" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch is not installed in the image')\n")
    env["PYTHONPATH"] = os.pathsep.join([str(app_dir), str(blocked.parent)])
    where = subprocess.run([sys.executable, "-c", "import sectionist; print(sectionist.__file__)"],
                           cwd=app_dir, env=env, capture_output=True, text=True, check=True).stdout
    assert all(path.startswith(str(app_dir)) for path in where.split()), where
    log = open(tmp / "gunicorn.log", "wb")
    proc = subprocess.Popen(image_cmd(), cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", proc)
        yield {"base": base, "port": port, "env": env, "proc": proc, "password": password,
               "log": tmp / "gunicorn.log", "store": served_store}
    finally:
        stop(proc)
        log.close()


def test_image_command_serves_the_app_and_the_healthcheck(gunicorn_app):
    base = gunicorn_app["base"]
    health = requests.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200
    home = requests.get(f"{base}/", allow_redirects=False, timeout=10)
    assert home.status_code in (302, 303) and "/login" in home.headers["Location"]
    # the image's HEALTHCHECK command, run as Docker would (the image's environment)
    check = subprocess.run(image_healthcheck(), env=gunicorn_app["env"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    # …and it fails when nothing answers
    env = dict(gunicorn_app["env"], SECTIONIST_BIND=f"127.0.0.1:{free_port()}")
    assert subprocess.run(image_healthcheck(), env=env, capture_output=True, timeout=30).returncode != 0
    log = gunicorn_app["log"].read_text(errors="replace")
    assert "gthread" in log and f"127.0.0.1:{gunicorn_app['port']}" in log


@pytest.fixture(scope="module")
def nginx_proxy(gunicorn_app, tmp_path_factory):
    """Debian's nginx running deploy/nginx.conf (rendered by envsubst) with a self-signed certificate."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.access(nginx, os.X_OK), "nginx is missing: make test installs it"
    envsubst = shutil.which("envsubst")
    assert envsubst, "envsubst is missing (Debian package gettext-base)"
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    http_port, https_port = free_port(), free_port()
    values = {"SERVER_NAME": "localhost", "HTTP_PORT": str(http_port), "HTTPS_PORT": str(https_port),
              "TLS_CERT": str(cert), "TLS_KEY": str(key), "UPSTREAM": f"127.0.0.1:{gunicorn_app['port']}",
              "ACME_ROOT": str(tmp / "acme")}
    names = " ".join(f"${{{v}}}" for v in NGINX_VARS)
    site = subprocess.run([envsubst, names], input=(DEPLOY / "nginx.conf").read_text(), env={**os.environ, **values},
                          capture_output=True, text=True, check=True).stdout
    assert "$host" in site and "${" not in _strip_comments(site)
    (tmp / "sectionist.conf").write_text(site)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "acme"):
        (tmp / d).mkdir()
    # the http context of Debian's /etc/nginx/nginx.conf, with every path in the temporary folder
    user = "user root root;" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/sectionist.conf;
}}
""")
    base_cmd = [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf")]
    test = subprocess.run(base_cmd + ["-t"], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen(base_cmd + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"https://localhost:{https_port}"
    try:
        wait_for(f"{base}/healthz", proc, timeout=30, verify=str(cert))
        yield {"base": base, "http": f"http://127.0.0.1:{http_port}", "cert": str(cert), "tmp": tmp}
    finally:
        stop(proc, signal.SIGQUIT)


def test_nginx_serves_the_login_page_over_tls(nginx_proxy):
    base, cert = nginx_proxy["base"], nginx_proxy["cert"]
    home = requests.get(f"{base}/", verify=cert, allow_redirects=False, timeout=10)
    assert home.status_code in (302, 303) and "/login" in home.headers["Location"]
    assert home.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    login = requests.get(f"{base}/", verify=cert, timeout=10)  # following the redirect
    assert login.status_code == 200 and login.url.startswith(f"{base}/login")
    assert 'name="csrf_token"' in login.text and 'name="password"' in login.text
    health = requests.get(f"{base}/healthz", verify=cert, timeout=10)
    assert health.status_code == 200 and health.headers["X-Content-Type-Options"] == "nosniff"
    # plain HTTP is redirected to HTTPS
    plain = requests.get(f"{nginx_proxy['http']}/map?x=1", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"] == "https://127.0.0.1/map?x=1"
    # uploads beyond the limit are refused by nginx itself
    big = requests.post(f"{base}/login", data=b"x" * (11 << 20), verify=cert, timeout=30,
                        headers={"Content-Type": "application/octet-stream"})
    assert big.status_code == 413


def test_through_nginx_a_user_logs_in_and_seeks_in_audio_from_s3(nginx_proxy, gunicorn_app):
    from auth_helpers import login_session

    base, cert = nginx_proxy["base"], nginx_proxy["cert"]
    session = requests.Session()
    session.trust_env = False  # else $REQUESTS_CA_BUNDLE would replace session.verify
    session.verify = cert
    session.headers["Referer"] = f"{base}/login"  # as a browser sends it (Referrer-Policy same-origin)
    login_session(session, base, "deployer", gunicorn_app["password"])
    # the session cookie is Secure: the app saw X-Forwarded-Proto https from nginx
    cookie = next(c for c in session.cookies if c.name == "sectionist_session")
    assert cookie.secure
    section = gunicorn_app["store"]["local"].read_table("sections")["section_id"].iloc[2]
    whole = session.get(f"{base}/audio/{section}.wav", timeout=30)
    assert whole.status_code == 200 and whole.headers["Content-Type"].startswith("audio/")
    part = session.get(f"{base}/audio/{section}.wav", headers={"Range": "bytes=100-299"}, timeout=30)
    assert part.status_code == 206, part.status_code
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(whole.content)}"
    assert part.content == whole.content[100:300]
    assert "gzip" not in part.headers.get("Content-Encoding", "")
    # the app read the store's parts from S3 through its local read-through cache
    cache = Path(gunicorn_app["env"]["SECTIONIST_S3_CACHE_DIR"])
    assert any(p.is_file() and p.name.startswith("v") for p in cache.rglob("*"))
    # text is compressed on the way out
    js = session.get(f"{base}/_dash-layout", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert js.status_code == 200 and js.headers.get("Content-Encoding") == "gzip"
