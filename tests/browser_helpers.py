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


#: Viewport point of time ``t`` on the lane named ``lane`` (its tick text, "<br>" for its wraps) of the
#: lanes graph in ``selector`` (the Songs timeline, the Lab's structure versions), scrolled to the
#: middle of the window first; null when no lane has that name. Arguments: ``[selector, lane, t]``.
LANE_POINT_JS = """([selector, lane, t]) => {
  const gd = document.querySelector(selector + ' .js-plotly-plot');
  const names = gd.layout.yaxis.ticktext.map(s => s.split('<br>').join(' '));
  const row = gd.layout.yaxis.tickvals[names.indexOf(lane)];
  if (row === undefined) { return null; }
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  let box = gd.getBoundingClientRect();
  window.scrollBy(0, box.top + ya._offset + ya.d2p(row) - window.innerHeight / 2);
  box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.d2p(t), y: box.top + ya._offset + ya.d2p(row)};
}"""
#: The lane names of the lanes graph in the selector given as argument, "<br>" wraps joined by spaces
#: (none while the graph is not drawn).
LANE_NAMES_JS = """(selector) => { const gd = document.querySelector(selector + ' .js-plotly-plot');
  return gd && gd.layout && gd.layout.yaxis && gd.layout.yaxis.ticktext
    ? gd.layout.yaxis.ticktext.map(s => s.split('<br>').join(' ')) : []; }"""


def click_lane(page, selector: str, lane: str, t: float) -> None:
    """Click (real mouse) time ``t`` on the lane named ``lane`` of the lanes graph in ``selector``."""
    point = page.evaluate(LANE_POINT_JS, [selector, lane, t])
    assert point is not None, (lane, page.evaluate(LANE_NAMES_JS, selector))
    page.mouse.click(point["x"], point["y"])


#: Pixel position (page coordinates) of the most isolated visible point of the map, with its row
#: (customdata), away from the plot's edges and the legend side, so a click hits that point only.
ISOLATED_POINT_JS = """() => {
      const gd = document.querySelector('#map-graph .js-plotly-plot');
      const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
      const pts = [];
      gd._fullData.forEach(t => {
        if (t.type !== 'scattergl' || t.name === 'selected' || !t.customdata || t.visible !== true) return;
        for (let i = 0; i < t.x.length; i++) {
          pts.push({px: box.left + xa._offset + xa.l2p(t.x[i]), py: box.top + ya._offset + ya.l2p(t.y[i]),
                    row: t.customdata[i]});
        }
      });
      let best = null, bestD = -1;
      for (const p of pts) {
        if (p.px < box.left + xa._offset + 20 || p.px > box.left + xa._offset + xa._length - 120) continue;
        if (p.py < box.top + ya._offset + 20 || p.py > box.top + ya._offset + ya._length - 20) continue;
        let d = Infinity;
        for (const q of pts) { if (q !== p) d = Math.min(d, (p.px - q.px) ** 2 + (p.py - q.py) ** 2); }
        if (d > bestD) { bestD = d; best = p; }
      }
      return best;
    }"""

