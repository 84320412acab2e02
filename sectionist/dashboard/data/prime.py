"""Read what every page needs into a web worker's store caches as soon as the worker starts, in the
background, so that the first people to open a page do not wait for it (issue #23, "Fast alone").

On the 36-song tracker store a worker's first page opens cost 0.5-1.7 s each where the same callbacks
answer in 0.05-0.2 s afterwards (``bench/pages.py``; the difference is reading the store's tables,
the features table alone ~1.3 s): every gunicorn worker process has its own caches, so each paid it
again. :func:`prime_in_background` runs :func:`prime` on a daemon thread once the app is built
(``sectionist.dashboard.app``'s gunicorn entry point); the store caches are thread-safe
(:mod:`sectionist.dashboard.data.store_data`), so a request arriving meanwhile computes what it needs
itself or finds it made.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


#: Compare pages' pairs of runs aligned beforehand at most (ordered pairs, the page's own order first)
#: and only while the store has at most :data:`PRIME_PAIRS_SECTIONS` sections: each alignment keeps a
#: few arrays of the store's length. A new pair's first use cost 1.2-1.5 s at p95 on the loaded test
#: machine (bench/pages.py, 36 songs, 6 runs: 30 ordered pairs), 0.02-0.05 s once aligned.
PRIME_PAIRS = 60
#: See :data:`PRIME_PAIRS`.
PRIME_PAIRS_SECTIONS = 50_000


def prime(data, also=()) -> dict:
    """Read the store's tables and per-run arrays that the pages use into ``data``'s caches.

    Parameters
    ----------
    data : sectionist.dashboard.data.store_data.StoreData
    also : sequence of (str, callable)
        More named steps, run after the store's tables and before the Compare page's other pairs.

    Returns
    -------
    dict
        ``{"seconds", "failed"}``: the time taken and the names of the steps that raised (a damaged
        part is the requests' to report, in their own words: priming never stops a worker).
    """
    t0 = time.monotonic()
    failed = []

    def step(name, fn):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - best effort: the page that needs it says what is wrong
            failed.append(name)
            log.debug("priming %s failed: %s", name, exc)

    for name in ("sections", "songs", "section_ids", "song_code", "is_central", "runs", "features",
                 "feature_names", "feature_matrix", "projection_catalog", "melspec"):
        step(name, lambda n=name: getattr(data, n))
    runs = []
    step("runs", lambda: runs.extend(data.runs.index))
    for run_id in runs:
        step(f"run {run_id}", lambda r=run_id: (data.run_arrays(r), data.clusters(r)))
        # what the default cluster names are made from (the tags table: ~0.4 s cold), on every page
        step(f"profile {run_id}", lambda r=run_id: data.cluster_profile(r))
    if len(runs) > 1:  # the pair the Compare page opens on (its first two runs)
        step("comparison", lambda: data.comparison(runs[0], runs[1]))
    catalog = []
    step("projections", lambda: catalog.extend(data.projection_catalog.itertuples(index=False)))
    for row in catalog:
        if int(row.dims) == 2:  # the map opens on a 2-D projection
            step(f"projection {row.space}/{row.kind}{row.dims}", lambda r=row: data.projection(r.space, r.kind, r.dims))
    for name, fn in also:  # e.g. the figures' first builds (ui.figures.common.build_each_trace_type)
        step(name, fn)
    # then every other pair the Compare page may be asked for, last (the pages above come first)
    n_sections = []
    step("n_sections", lambda: n_sections.append(data.n_sections))
    if n_sections and n_sections[0] <= PRIME_PAIRS_SECTIONS:
        pairs = [(a, b) for a in runs for b in runs if a != b][:PRIME_PAIRS]
        for a, b in pairs[1:]:  # the first pair was primed above
            step(f"comparison {a}/{b}", lambda a=a, b=b: data.comparison(a, b))
    return {"seconds": time.monotonic() - t0, "failed": failed}


def prime_in_background(data, also=()) -> threading.Thread:
    """Start :func:`prime` (``also``: its extra steps) on a daemon thread; returns the thread."""

    def run():
        out = prime(data, also)
        log.info("store caches primed in %.1f s%s", out["seconds"],
                 f" ({len(out['failed'])} steps failed: {', '.join(out['failed'][:5])})" if out["failed"] else "")

    thread = threading.Thread(target=run, name="sectionist-prime", daemon=True)
    thread.start()
    return thread
