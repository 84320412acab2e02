"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright (no browser download),
and the app served from a thread on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SECTIONIST_CHROMIUM", "/usr/bin/chromium")
# the flags this machine's closed network needs (no background connections), plus autoplay for the players
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@contextlib.contextmanager
def serve_in_thread(flask_app):
    """Serve a Flask app on 127.0.0.1 (free port) from a thread; yields the base URL."""
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium_page(viewport=(1600, 1000), timeout_ms=None, locale=None):
    """A fresh headless Chromium (new empty profile) and one page; yields ``(page, errors)`` where
    ``errors`` collects the page's JavaScript errors. ``locale`` (e.g. ``"es-ES"``) sets the
    browser's language and its ``Accept-Language``."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/install-system-deps.sh)")
    profile = tempfile.mkdtemp(prefix="sectionist-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]}, **({"locale": locale} if locale else {}))
            page = ctx.new_page()
            if timeout_ms:
                page.set_default_timeout(timeout_ms)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                yield page, errors
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
