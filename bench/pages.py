"""Every page of the app alone, in a real browser, on a real store (issue #23, "Fast alone"; not run by CI).

Starts the web app as ``sectionist serve`` does (gunicorn, ``--workers`` processes of the gthread
class, ``--threads`` each) on ``--store``, creates an expert with ``sectionist users add``, logs in
through the login form and drives Debian's headless Chromium (Playwright, as the browser tests do)
through every page with real clicks and keys:

- opens each page: its time to full render runs from the navigation until the last answer of the
  page's load (its ``_dash-update-component`` callbacks, images, scripts; not audio streams) once
  nothing has been in flight for half a second and no Dash component is loading (the quiet time
  itself is not counted); each page is opened first on the fresh server (the first person's wait:
  caches empty) and again at the end;
- changes the page's controls (dropdowns chosen by click and typing, checkboxes, buttons) and
  clicks the map's points;
- judges by keyboard on the Judge page: a verdict key, then the time from its ``keydown`` to the
  next section's content on screen (its item *and* its judging panel, so the next key can apply),
  measured in the page with ``performance.now()`` and a ``MutationObserver``.

Every ``_dash-update-component`` request is timed from Chromium's resource timing (request sent to
the first byte of the answer: the server's time plus the loopback) and grouped by page and
callback output. Reference, in the same run: a trivial callback (the Judge page's blind box, which
only echoes its input) posted ``--repeats`` times from the page: the floor of a round trip.

Printed: p50 / p95 per callback per page, each page's first render, the judge key -> next times;
the last line is one JSON object::

    {"store_songs", "judge_key_next_p50_s", "judge_key_next_p95_s", "callback_p95_max_s",
     "callbacks_over_500ms": [...], "pages_first_open_s": {...}, "pages_open_again_s": {...},
     "floor_p50_s"}

With ``--warm``, ``sectionist media-warm`` fills the server's media folder first (as after ``analyze``).

Usage: python bench/pages.py --store S [--repeats 10] [--workers 2] [--threads 8] [--wait 0] [--warm]
[--workdir /tmp/sectionist-pages] [--pages overview,map,...] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))  # the browser tests' Chromium and its flags
sys.path.insert(0, str(ROOT / "bench"))  # bench/lab.py's server start
#: Pages in the navigation's order, by path (the Lab is timed too: its work is another issue item's).
PAGES = {"overview": "/", "map": "/map", "clusters": "/clusters", "songs": "/songs", "compare": "/compare",
         "judge": "/judge", "judgements": "/judgements", "lab": "/lab"}
SLOW_S = 0.5


# ---- the server -------------------------------------------------------------------------------------
def serve(store: Path, workdir: Path, workers: int, threads: int):
    """``sectionist serve`` (``bench/lab.py``'s :func:`start_server`: gunicorn on a free loopback port)
    with a fresh user database in ``workdir`` and one expert made by ``sectionist users add``;
    ``(process, base URL, username, password)``."""
    from lab import start_server

    db = f"sqlite:///{workdir / 'users.sqlite'}"
    password = secrets.token_urlsafe(12)
    subprocess.run([str(BIN / "sectionist"), "users", "add", "bench", "--role", "expert", "--password-stdin",
                    "--reset-if-exists", "--db", db], input=password + "\n", text=True, check=True,
                   stdout=subprocess.DEVNULL)
    proc, base = start_server(str(store), db, workdir, workers, threads)
    return proc, base, "bench", password


# ---- what the browser does ------------------------------------------------------------------------
class Recorder:
    """Every finished ``_dash-update-component`` request of a Playwright page: its callback output,
    the page it was made on and its time to first byte (s); and the requests in flight (audio
    streams left out: a player may keep one open)."""

    def __init__(self, page):
        self.page_name = "login"
        self.rows: list[tuple[str, str, float]] = []
        self.last_done = 0.0
        self.last_change = time.perf_counter()
        self.in_flight: set = set()
        self.bodies: dict = {}  # (page, output) -> the last request body posted for it
        page.on("request", self._start)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._failed)

    @staticmethod
    def _counted(request) -> bool:
        return request.resource_type != "media" and "/audio/" not in request.url

    def _start(self, request):
        if self._counted(request):
            self.in_flight.add(request)
            self.last_change = time.perf_counter()

    def _failed(self, request):
        self.in_flight.discard(request)
        self.last_change = time.perf_counter()

    def _done(self, request):
        if not self._counted(request):
            return
        self.in_flight.discard(request)
        now = self.last_change = time.perf_counter()
        if "/_dash-update-component" in request.url:
            try:
                output = json.loads(request.post_data or "{}").get("output", "?")
            except ValueError:
                output = "?"
            t = request.timing
            self.rows.append((self.page_name, output, (t["responseStart"] - t["requestStart"]) / 1000))
            self.bodies[(self.page_name, output)] = request.post_data
        self.last_done = now


def settle(page, rec: Recorder, t0: float, timeout_s: float = 180.0, quiet_s: float = 0.5) -> float:
    """Wait until no request has been in flight for ``quiet_s`` and no Dash component is loading;
    seconds from ``t0`` to the last answer (the quiet time itself is not counted)."""
    deadline = time.perf_counter() + timeout_s
    page.wait_for_timeout(100)  # the renderer posts an action's callbacks on its next turn
    while time.perf_counter() < deadline:
        if not rec.in_flight and time.perf_counter() - rec.last_change >= quiet_s and not page.evaluate(
                "() => !!document.querySelector('[data-dash-is-loading=\"true\"]')"):
            return max(0.0, rec.last_done - t0)
        page.wait_for_timeout(50)
    raise SystemExit(f"{rec.page_name}: still loading after {timeout_s:.0f} s")


def pick(page, rec, control_id: str, nth: int = 1) -> bool:
    """Choose the ``nth`` other option of the dropdown ``control_id`` as a person does: open it,
    click the option. False when it has no other option."""
    box = page.locator(f"#{control_id}")
    if not box.count() or not box.first.is_visible():
        return False
    box.first.click()
    options = page.get_by_role("option")
    try:
        options.first.wait_for(timeout=3000)
    except Exception:  # noqa: BLE001 - no options opened
        page.keyboard.press("Escape")
        return False
    n = options.count()
    chosen = [i for i in range(n) if options.nth(i).get_attribute("aria-selected") != "true"]
    if not chosen:
        page.keyboard.press("Escape")
        return False
    options.nth(chosen[min(nth, len(chosen)) - 1]).click()
    page.keyboard.press("Escape")
    return True


def click(page, selector: str) -> bool:
    el = page.locator(selector)
    if not el.count() or not el.first.is_visible():
        return False
    el.first.click()
    return True


def timed_action(page, rec, label: str, action) -> float | None:
    """Run ``action`` and wait for its callbacks; seconds to the last answer (None: not possible)."""
    t0 = time.perf_counter()
    n0 = len(rec.rows)
    if action() is False:
        return None
    t = settle(page, rec, t0)
    return t if len(rec.rows) > n0 else 0.0


MAP_POINTS_JS = """(n) => {
  const gd = document.querySelector('#map-graph .js-plotly-plot');
  if (!gd || !gd._fullLayout) return [];
  const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect(), pts = [];
  gd._fullData.forEach(t => {
    if (t.type !== 'scattergl' || t.name === 'selected' || !t.customdata || t.visible !== true) return;
    for (let i = 0; i < t.x.length; i += Math.max(1, Math.floor(t.x.length / n))) {
      const px = box.left + xa._offset + xa.l2p(t.x[i]), py = box.top + ya._offset + ya.l2p(t.y[i]);
      if (px > box.left + xa._offset + 10 && px < box.left + xa._offset + xa._length - 10 &&
          py > box.top + ya._offset + 10 && py < box.top + ya._offset + ya._length - 10) pts.push([px, py]);
    }
  });
  return pts.slice(0, n);
}"""

#: Installed on the Judge page: each verdict key's keydown time, and the moment the next section's
#: item and its judging panel (with its verdict buttons) are both on screen.
JUDGE_WATCH_JS = """() => {
  window.benchKeys = [];
  const current = () => { const el = document.querySelector('[data-judge-item]'); return el ? el.dataset.judgeItem : null; };
  const ready = (s) => s && document.querySelector(`.judge-panel[data-section='${s}'] [data-judge-key]`);
  document.addEventListener('keydown', (e) => {
    if ('adu'.includes(e.key)) window.benchKeys.push({key: e.key, from: current(), at: performance.now(),
                                                      item: null, ready: null});
  }, true);
  new MutationObserver(() => {
    const s = current(), now = performance.now();
    for (const k of window.benchKeys) {
      if (k.item === null && s && s !== k.from) k.item = now;
      if (k.ready === null && s && s !== k.from && ready(s)) k.ready = now;
    }
  }).observe(document.body, {childList: true, subtree: true, attributes: true});
}"""

FLOOR_JS = """async (n) => {
  const csrf = (document.cookie.match(/(?:^|; )_csrf_token=([^;]*)/) || [])[1];
  const body = JSON.stringify({output: '..judge-blind.value...judge-blind.options..',
    outputs: [{id: 'judge-blind', property: 'value'}, {id: 'judge-blind', property: 'options'}],
    inputs: [{id: 'judge-run', property: 'value', value: 'x'}],
    state: [{id: 'judge-blind', property: 'value', value: []}], changedPropIds: ['judge-run.value']});
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch('/_dash-update-component', {method: 'POST', body,
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': decodeURIComponent(csrf || '')}});
    await r.text();
    if (!r.ok) throw new Error('floor callback answered ' + r.status);
    out.push((performance.now() - t) / 1000);
  }
  return out;
}"""


def page_controls(name: str) -> list[tuple[str, object]]:
    """``(label, action(page, rec))`` of the controls a person changes on page ``name``."""
    if name == "overview":
        return [("space", lambda p, r: pick(p, r, "overview-space"))]
    if name == "map":
        return [("run", lambda p, r: pick(p, r, "map-run")),
                ("colour", lambda p, r: pick(p, r, "map-color")),
                ("projection", lambda p, r: pick(p, r, "map-kind")),
                ("space", lambda p, r: pick(p, r, "map-space"))]
    if name == "clusters":
        return [("cluster", lambda p, r: pick(p, r, "clusters-cluster")),
                ("run", lambda p, r: pick(p, r, "clusters-run")),
                ("cluster again", lambda p, r: pick(p, r, "clusters-cluster", 2))]
    if name == "songs":
        return [("song", lambda p, r: pick(p, r, "songs-song")),
                ("run", lambda p, r: pick(p, r, "songs-run")),
                ("view", lambda p, r: pick(p, r, "songs-view"))]
    if name == "compare":
        return [("run A", lambda p, r: pick(p, r, "compare-run-a")),
                ("run B", lambda p, r: pick(p, r, "compare-run-b")),
                ("only disagreements", lambda p, r: click(p, "#compare-only-disagree input"))]
    if name == "judge":
        return [("strategy", lambda p, r: pick(p, r, "judge-strategy")),
                ("start", lambda p, r: click(p, "#judge-start"))]
    if name == "judgements":
        return [("refresh", lambda p, r: click(p, "#judgements-refresh"))]
    if name == "lab":
        return [("song", lambda p, r: pick(p, r, "lab-song"))]
    return []


def judge_keys(page, rec, n: int) -> list[tuple[float, float]]:
    """Start a random queue of ``n + 1`` sections and judge ``n`` of them by key, each key pressed
    once its section's panel is on screen; ``[(keydown -> item, keydown -> item and panel)]`` in s."""
    page.fill("#judge-size", str(n + 1))
    pick_value(page, "judge-strategy", "random")
    page.click("#judge-start")
    page.wait_for_selector(".judge-panel [data-judge-key]")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.evaluate(JUDGE_WATCH_JS)
    for i in range(n):
        page.wait_for_function("() => { const el = document.querySelector('[data-judge-item]');"
                               " return el && document.querySelector("
                               "`.judge-panel[data-section='${el.dataset.judgeItem}'] [data-judge-key]`); }")
        page.wait_for_timeout(200)  # a person listens for a moment
        page.keyboard.press("adu"[i % 3])
        page.wait_for_function(f"() => window.benchKeys.length > {i} && window.benchKeys[{i}].ready !== null",
                               timeout=60_000)
    keys = page.evaluate("window.benchKeys")
    return [((k["item"] - k["at"]) / 1000, (k["ready"] - k["at"]) / 1000) for k in keys]


def pick_value(page, control_id: str, label_contains: str) -> None:
    """Choose the option of dropdown ``control_id`` whose value or text contains ``label_contains``."""
    page.locator(f"#{control_id}").first.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=3000)
    for i in range(options.count()):
        if label_contains.lower() in (options.nth(i).inner_text() or "").lower():
            options.nth(i).click()
            break
    page.keyboard.press("Escape")


def stats(xs) -> tuple[float, float]:
    xs = np.asarray(xs, dtype=float)
    return float(np.median(xs)), float(np.percentile(xs, 95))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--repeats", type=int, default=10, help="judge keys, map clicks and floor posts")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated, of " + ",".join(PAGES))
    ap.add_argument("--workdir", default="/tmp/sectionist-pages")
    ap.add_argument("--screenshots", default=None, help="folder for a screenshot of each page")
    ap.add_argument("--warm", action="store_true",
                    help="run 'sectionist media-warm' first (the Lab's front ends, the Overview's scores, the media)")
    ap.add_argument("--wait", type=float, default=0.0,
                    help="seconds between the server's start and the first page (0: the very first visitor)")
    args = ap.parse_args(argv)

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    from sectionist.store import open_store

    store = Path(args.store)
    n_songs = len(open_store(str(store)).read_table("songs"))
    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    if args.warm:  # as after `sectionist analyze`: what media-warm makes, the visitors do not wait for
        t = time.monotonic()
        subprocess.run([str(BIN / "sectionist"), "media-warm", "--store", str(store)], check=True,
                       env=dict(os.environ, SECTIONIST_DATA_DIR=str(workdir / "data")), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        print(f"sectionist media-warm beforehand: {time.monotonic() - t:.0f} s")
    proc, base, user, password = serve(store, workdir, args.workers, args.threads)
    time.sleep(args.wait)
    pages = [p for p in args.pages.split(",") if p]
    first_open, open_again, actions, key_times, floor = {}, {}, defaultdict(list), [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*CHROMIUM_ARGS, "--mute-audio"])
            ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            rec = Recorder(page)
            page.goto(f"{base}/login?next=/api/me")  # not a page: each page's first open is timed below
            page.fill("#username", user)
            page.fill("#password", password)
            with page.expect_navigation():
                page.click("#login-button")
            settle(page, rec, time.perf_counter())
            for name in pages:
                rec.page_name = name
                t0 = time.perf_counter()
                page.goto(base + PAGES[name])
                first_open[name] = settle(page, rec, t0)
                if args.screenshots:
                    Path(args.screenshots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(args.screenshots) / f"{name}.png"), full_page=True)
                for label, action in page_controls(name):
                    t = timed_action(page, rec, label, lambda a=action: a(page, rec))
                    if t is not None:
                        actions[f"{name}: {label}"].append(t)
                if name == "map":
                    page.goto(base + PAGES[name])
                    settle(page, rec, time.perf_counter())
                    for px, py in page.evaluate(MAP_POINTS_JS, args.repeats):
                        t = timed_action(page, rec, "click", lambda x=px, y=py: page.mouse.click(x, y))
                        actions["map: click a point"].append(t)
                if name == "judge":
                    page.goto(base + PAGES[name])
                    settle(page, rec, time.perf_counter())
                    rec.page_name = "judge (keys)"
                    key_times = judge_keys(page, rec, args.repeats)
                    settle(page, rec, time.perf_counter())
                    floor = page.evaluate(FLOOR_JS, args.repeats)
            for name in pages:  # again: what the next person meets (the server's caches made)
                rec.page_name = name + " (again)"
                t0 = time.perf_counter()
                page.goto(base + PAGES[name])
                open_again[name] = settle(page, rec, t0)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    by_callback = defaultdict(list)
    for page_name, output, t in rec.rows:
        if page_name != "login":
            by_callback[(page_name, output)].append(t)
    print(f"store: {store} ({n_songs} songs); server: {args.workers} workers x {args.threads} threads")
    if floor:  # measured on the Judge page
        print(f"floor (a trivial callback's round trip, {len(floor)} posts): p50 {stats(floor)[0] * 1000:.0f} ms, "
              f"p95 {stats(floor)[1] * 1000:.0f} ms")
    print("\nfull render of each page (s): first open (a fresh server), open again")
    for name, t in first_open.items():
        print(f"  {name:<12} {t:6.2f}  {open_again.get(name, float('nan')):6.2f}")
    print("\ncontrols (action -> last answer, s):")
    for label, xs in actions.items():
        print(f"  {label:<30} n={len(xs):<3} p50 {stats(xs)[0]:6.2f}  max {max(xs):6.2f}")
    print("\ncallbacks (request -> first byte, s):")
    over, p95_max = [], 0.0
    for (page_name, output), xs in sorted(by_callback.items()):
        p50, p95 = stats(xs)
        p95_max = max(p95_max, p95)
        flag = "  SLOW" if p95 > SLOW_S else ""
        print(f"  {page_name:<12} {output[:70]:<70} n={len(xs):<3} p50 {p50:6.3f}  p95 {p95:6.3f}{flag}")
        if p95 > SLOW_S:
            over.append(f"{page_name}: {output} ({p95:.2f} s)")
    # what the slow callbacks posted, to replay them under a profiler
    (workdir / "slow_requests.json").write_text(json.dumps(
        [{"page": pg, "output": out, "body": rec.bodies.get((pg, out))} for (pg, out), xs in by_callback.items()
         if stats(xs)[1] > SLOW_S]))
    item = [k[0] for k in key_times]
    ready = [k[1] for k in key_times]
    if key_times:
        print(f"\njudge key -> next section on screen (item, n={len(item)}): p50 {stats(item)[0]:.3f} s, "
              f"p95 {stats(item)[1]:.3f} s")
        print(f"judge key -> next section with its verdict panel: p50 {stats(ready)[0]:.3f} s, "
              f"p95 {stats(ready)[1]:.3f} s")
    result = {"store_songs": n_songs,
              "judge_key_next_p50_s": round(stats(ready)[0], 3) if ready else None,
              "judge_key_next_p95_s": round(stats(ready)[1], 3) if ready else None,
              "callback_p95_max_s": round(p95_max, 3), "callbacks_over_500ms": over,
              "pages_first_open_s": {k: round(v, 2) for k, v in first_open.items()},
              "pages_open_again_s": {k: round(v, 2) for k, v in open_again.items()},
              "floor_p50_s": round(stats(floor)[0], 4) if floor else None}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
