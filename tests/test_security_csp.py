"""Content-Security-Policy (issue 15, item 9).

The app sends one policy on every response (``sectionist.dashboard.app.CSP_DIRECTIVES`` plus the hashes of
Dash's inline scripts): no inline script but Dash's own, no ``eval``, nothing from elsewhere.
Checked here: the header on pages, the login page, audio, JSON and refusals (Flask test client);
that the hashes cover exactly the inline scripts the pages carry; Debian's nginx running
``deploy/nginx.conf`` passes the app's policy through once and puts its own on its own pages; and
headless Chromium loads every page with the header on, draws the map, plays a section and uses the
admin's users page with no CSP violation reported (``securitypolicyviolation`` events and the
console).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from synthetic_store import build_synthetic_store

from tests.auth_helpers import login, login_page, make_user

REPO = Path(__file__).resolve().parents[1]
PAGES = ["/", "/map", "/clusters", "/compare", "/songs", "/judge", "/judgements"]
NGINX_VARS = ("SERVER_NAME", "HTTP_PORT", "HTTPS_PORT", "TLS_CERT", "TLS_KEY", "UPSTREAM", "ACME_ROOT")


def parse_csp(header: str) -> dict[str, list[str]]:
    """``{"script-src": ["'self'", "'sha256-…'"], …}`` of a policy."""
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"directive {words[0]} twice"
            out[words[0]] = words[1:]
    return out


def inline_script_hashes(html: str) -> list[str]:
    """The CSP hash of each executable inline ``<script>`` of a page (JSON data blocks and scripts
    inside comments, such as Dash's ``<!--[if IE]>`` warning, excluded)."""
    out = []
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        out.append(f"'sha256-{digest}'")
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("csp")
    store = build_synthetic_store(root / "store", n_sections=60, sections_per_song=10, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=9)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="c" * 40)
    return {"app": app, "data": app.server.extensions["sectionist_data"], "db": db,
            "admin": make_user(db, "admin1", "admin"), "root": root}


@pytest.fixture()
def client(served):
    c = served["app"].server.test_client()
    login(c, "admin1", served["admin"])
    return c


def _check_headers(resp, where):
    csp = resp.headers.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    assert len(resp.headers.getlist("Content-Security-Policy")) == 1, where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("Referrer-Policy") == "same-origin", where
    return parse_csp(csp)


def test_policy_is_strict(served):
    from sectionist.dashboard.app import content_security_policy

    policy = parse_csp(content_security_policy(served["app"]))
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]  # as X-Frame-Options: SAMEORIGIN
    script = policy["script-src"]
    # 'unsafe-eval' only because Plotly's WebGL traces (regl) compile code with Function(): the
    # Chromium test below shows the map reporting "script-src eval" violations without it
    assert script[:2] == ["'self'", "'unsafe-eval'"] and len(script) > 2
    assert all(s.startswith("'sha256-") for s in script[2:]) and len(set(script)) == len(script)
    assert not {"'unsafe-inline'", "'unsafe-hashes'", "*", "data:", "blob:", "http:", "https:"} & set(script)
    for name in ("connect-src", "media-src", "img-src", "font-src"):
        assert "*" not in policy[name] and not any(v.startswith("http") for v in policy[name]), name


def test_every_kind_of_response_carries_the_policy(served, client):
    anon = served["app"].server.test_client()
    data = served["data"]
    sid = str(data.section_ids[0])
    # anonymous: the login page, a redirect, a refusal, the health check
    for path, status in [("/login", 200), ("/map", 302), ("/_dash-layout", 401), ("/healthz", 200)]:
        resp = anon.get(path)
        assert resp.status_code == status, path
        _check_headers(resp, path)
    # logged in: every page, Dash's JSON, a callback's answer, audio (whole and a range), a spectrogram,
    # the admin page, a 404
    for path in PAGES + ["/admin/users", "/_dash-layout", "/_dash-dependencies", "/api/me", "/logout"]:
        resp = client.get(path)
        assert resp.status_code == 200, path
        policy = _check_headers(resp, path)
    audio = client.get(f"/audio/{sid}.wav")
    assert audio.status_code == 200 and audio.headers["Content-Type"].startswith("audio/")
    _check_headers(audio, "audio")
    part = client.get(f"/audio/{sid}.wav", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    _check_headers(part, "audio range")
    spec = client.get(f"/spectrogram/{sid}.png")
    assert spec.status_code == 200
    _check_headers(spec, "spectrogram")
    missing = client.get("/audio/no-such-section.wav")
    assert missing.status_code == 404
    _check_headers(missing, "404")
    assert "'unsafe-inline'" not in policy["script-src"]


def test_hashes_cover_exactly_the_inline_scripts_of_the_pages(served, client):
    for path in PAGES:
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        allowed = {s for s in parse_csp(resp.headers["Content-Security-Policy"])["script-src"]
                   if s.startswith("'sha256-")}
        inline = inline_script_hashes(html)
        assert inline, f"{path}: Dash's pages carry inline scripts (the renderer's start)"
        assert set(inline) <= allowed, f"{path}: an inline script is not allowed by hash"
        assert allowed <= set(inline), f"{path}: a hash allows a script the page does not carry"
    # the server-rendered pages carry no inline script and no inline event handler
    for path in ("/admin/users",):
        html = client.get(path).get_data(as_text=True)
        assert not inline_script_hashes(html), path
        assert not re.search(r"\son[a-z]+\s*=", html), f"{path}: inline event handler"
    anon = served["app"].server.test_client()
    html = anon.get("/login").get_data(as_text=True)
    assert not inline_script_hashes(html) and not re.search(r"\son[a-z]+\s*=", html)


# ---- nginx in front ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nginx_in_front(served, tmp_path_factory):
    """Debian's nginx running deploy/nginx.conf (envsubst as deployed) in front of the app."""
    from tests.browser_helpers import serve_in_thread

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.access(nginx, os.X_OK), "nginx is missing: scripts/install-system-deps.sh installs it"
    envsubst = shutil.which("envsubst")
    assert envsubst, "envsubst is missing (Debian package gettext-base)"
    tmp = tmp_path_factory.mktemp("nginx-csp")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with serve_in_thread(served["app"].server) as app_url:
        http_port, https_port = _free_port(), _free_port()
        values = {"SERVER_NAME": "localhost", "HTTP_PORT": str(http_port), "HTTPS_PORT": str(https_port),
                  "TLS_CERT": str(cert), "TLS_KEY": str(key), "UPSTREAM": app_url.removeprefix("http://"),
                  "ACME_ROOT": str(tmp / "acme")}
        site = subprocess.run([envsubst, " ".join(f"${{{v}}}" for v in NGINX_VARS)],
                              input=(REPO / "deploy" / "nginx.conf").read_text(), env={**os.environ, **values},
                              capture_output=True, text=True, check=True).stdout
        (tmp / "site.conf").write_text(site)
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "acme"):
            (tmp / d).mkdir()
        user = "user root root;" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
        cmd = [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf")]
        check = subprocess.run(cmd + ["-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen(cmd + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"https://localhost:{https_port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, proc.stderr.read().decode()
                try:
                    requests.get(f"{base}/healthz", verify=str(cert), timeout=5)
                    break
                except requests.RequestException:
                    assert time.monotonic() < deadline, "nginx did not answer"
                    time.sleep(0.3)
            yield {"base": base, "http": f"http://127.0.0.1:{http_port}", "cert": str(cert), "https_port": https_port}
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _csp_headers(resp) -> list[str]:
    return resp.raw.headers.getlist("Content-Security-Policy")


def test_nginx_passes_the_apps_policy_and_covers_its_own_pages(served, nginx_in_front):
    from sectionist.dashboard.app import content_security_policy

    base, cert = nginx_in_front["base"], nginx_in_front["cert"]
    app_policy = content_security_policy(served["app"])
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30, verify=cert)
    assert page.status_code == 200
    assert _csp_headers(page) == [app_policy]  # the app's, once: nginx adds no second one
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    s.headers["Referer"] = f"{base}/login"
    done = s.post(f"{base}/login", data={"username": "admin1", "password": served["admin"], "csrf_token": token},
                  allow_redirects=False, timeout=30, verify=cert)
    assert done.status_code == 302
    sid = str(served["data"].section_ids[1])
    for path in ("/map", f"/audio/{sid}.wav", "/_dash-layout"):
        resp = s.get(f"{base}{path}", timeout=30, verify=cert)
        assert resp.status_code == 200, path
        assert _csp_headers(resp) == [app_policy], path
    # nginx's own answer (the redirect to HTTPS) carries nginx's own strict policy
    plain = requests.get(f"{nginx_in_front['http']}/map", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    own = _csp_headers(plain)
    assert len(own) == 1 and parse_csp(own[0])["default-src"] == ["'none'"]
    assert plain.headers["X-Content-Type-Options"] == "nosniff"


# ---- Chromium with the header on -------------------------------------------------------------------
#: collects every CSP violation a page reports, from its first script on
COLLECT = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  [e.violatedDirective, e.blockedURI, e.sourceFile + ':' + e.lineNumber, e.sample].join(' ')));"""


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_works_under_the_policy_in_chromium(served):
    from tests.browser_helpers import chromium_page, serve_in_thread

    data = served["data"]
    sid = str(data.section_ids[3])
    with serve_in_thread(served["app"].server) as url, chromium_page() as (page, errors):
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.add_init_script(COLLECT)
        seen = {}
        responses = []
        page.on("response", lambda r: responses.append(r) if r.request.resource_type == "document" else None)

        def visit(path):
            page.goto(url + path)
            page.wait_for_load_state("networkidle", timeout=60000)
            seen[path] = page.evaluate("window.__cspViolations")

        visit("/login")
        login_page(page, url, "admin1", served["admin"], next="/")
        for path in PAGES:
            visit(path)
            page.wait_for_selector("#react-entry-point .page", timeout=60000)
        # the map draws its points (WebGL scatter) under the policy
        visit(f"/map?section={sid}")
        page.wait_for_function(
            "() => { const gd = document.querySelector('#map-graph .js-plotly-plot');"
            " return gd && gd._fullData && gd._fullData.some(t => t.type === 'scattergl' && t.x && t.x.length > 10)"
            " && gd.querySelector('canvas'); }", timeout=60000)
        # … and a section plays: its audio loads and its time advances
        page.wait_for_selector(f"#map-detail audio[data-section='{sid}']", timeout=60000)
        page.evaluate("() => { const a = document.querySelector('#map-detail audio'); a.muted = true;"
                      " return a.play().catch(() => null); }")
        page.wait_for_function("() => { const a = document.querySelector('#map-detail audio');"
                               " return a && a.readyState >= 2 && a.currentTime > 0; }", timeout=60000)
        seen["map playing"] = page.evaluate("window.__cspViolations")
        # the admin's users page: its role picker still submits on change (no inline handler needed)
        make_user(served["db"], "someone", "viewer")
        visit("/admin/users")
        row = page.locator("#users-table tr", has_text="someone")
        with page.expect_navigation():
            row.locator("select[name=role]").select_option("expert")
        page.wait_for_load_state("networkidle", timeout=60000)
        assert "expert" in page.locator("#users-table tr", has_text="someone").inner_text()
        seen["/admin/users changed"] = page.evaluate("window.__cspViolations")
        page.once("dialog", lambda d: d.dismiss())  # asked before removing; dismissed: nothing removed
        page.locator("#users-table tr", has_text="someone").get_by_role("button", name="remove").click()
        page.wait_for_timeout(300)
        assert page.locator("#users-table tr", has_text="someone").count() == 1
        seen["/admin/users confirm"] = page.evaluate("window.__cspViolations")
        assert all(r.headers.get("content-security-policy") for r in responses), "a page came without the header"
    violations = {k: v for k, v in seen.items() if v}
    assert not violations, violations
    csp_console = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert not csp_console, csp_console
    assert not [m for m in console if m.startswith("error")], console
    assert not errors, errors
