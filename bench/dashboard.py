"""Dashboard callbacks on a 100 000-section store, timed server-side (not run by CI).

Builds (once, under bench/out/) a synthetic store in the full store layout, then times the
callbacks that matter, each including the JSON serialisation Dash does before answering:

- map redraw on a filter change (clusters, songs, central only, confidence, colour, projection),
- click → detail panel (selection from clickData, the detail panel, the ring patch),
- compare page (metrics, contingency + Sankey, one page of the server-paged table, sorted/filtered;
  the first use of a pair, which aligns the runs and builds the table, is reported separately).

Reference, measured in the same run: building and serialising a plain 100 000-point Scattergl
figure with plotly alone (what any WebGL map of this size costs). Prints median and p95 per
callback, the ratio of our p95 to the reference median, and as its last line one JSON object:
{"p95_ms_map": …, "p95_ms_detail": …, "p95_ms_compare": …}.

Usage: python bench/dashboard.py [--sections 100000] [--repeats 40] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic-store builder is test/bench support, not shipped


def _ms(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


def _serialise(obj) -> int:
    import plotly.io.json as pj

    return len(pj.to_json_plotly(obj))


def _stats(xs):
    xs = np.asarray(xs)
    return float(np.median(xs)), float(np.percentile(xs, 95))


def reference_ms(n: int, repeats: int, rng) -> list[float]:
    """Plain plotly: a 100 000-point Scattergl in 6 traces (coordinates and an index per point as
    numpy arrays), built and serialised."""
    import plotly.graph_objects as go

    x = rng.normal(size=n).astype(np.float32)
    y = rng.normal(size=n).astype(np.float32)
    lab = rng.integers(0, 6, n)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fig = go.Figure([go.Scattergl(x=x[lab == c], y=y[lab == c], customdata=np.flatnonzero(lab == c),
                                      mode="markers") for c in range(6)])
        _serialise(fig)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args(argv)

    import tempfile

    from synthetic_store import RUNS, build_synthetic_store

    from dashboard.components.detail import section_detail
    from dashboard.components.selection import resolve_selection
    from store import open_store

    rng = np.random.default_rng(0)
    root = Path(args.out) / f"store{args.sections}"
    manifest = open_store(root).read_manifest() if (root / "manifest.json").exists() else {}
    if manifest.get("config", {}).get("n_sections") != args.sections:
        print(f"building a synthetic store of {args.sections:,} sections in {root} …", file=sys.stderr)
        t, _ = _ms(build_synthetic_store, root, n_sections=args.sections, part_per_song=False, random_state=0)
        print(f"  built in {t / 1000:.1f} s", file=sys.stderr)

    from dashboard.app import create_app

    # the real app (page modules can only be imported by it); its store access object is timed
    app = create_app(str(root), db_url=f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite", secret_key="b" * 40,
                     check_interval=3600)
    data = app.server.extensions["sectionist_data"]
    map_page = sys.modules["dashboard.pages.map"]
    compare_page = sys.modules["dashboard.pages.compare"]
    t_load, _ = _ms(lambda: (data.sections, [data.run_arrays(r[0]) for r in RUNS], data.features,
                             data.projection("classical17", "umap", 2), data.space_vectors("classical17")))
    print(f"store loaded and arrays precomputed in {t_load:.0f} ms (once per process)")

    run_id = RUNS[0][0]
    songs = list(data.songs.index)
    clusters = list(data.run_arrays(run_id).clusters)
    feature = "spectral_centroid_median"
    variants = [
        dict(color="cluster"),
        dict(color="cluster", clusters=clusters[:3]),
        dict(color="cluster", central=True),
        dict(color="cluster", confidence=[0.5, 1.0]),
        dict(color="song"),
        dict(color="confidence"),
        dict(color=f"feature:{feature}"),
        dict(color="cluster", songs=list(rng.choice(songs, 200, replace=False))),
        dict(color="cluster", projection="pca3"),
        dict(color="cluster", projection="pca2", clusters=clusters[1:4], central=True),
    ]
    # warm the caches every variant needs (first use of a projection reads its part once)
    for v in variants:
        kw = dict(v)
        map_page.render_map(data, "classical17", kw.pop("projection", "umap2"), run_id, **kw)

    ref = reference_ms(args.sections, max(10, args.repeats // 2), rng)
    ref_med = float(np.median(ref))

    t_map, sizes = [], []
    for i in range(args.repeats):
        kw = dict(variants[i % len(variants)])
        proj = kw.pop("projection", "umap2")

        def redraw():
            fig, count, meta = map_page.render_map(data, "classical17", proj, run_id, **kw)
            return _serialise({"figure": fig, "count": count, "meta": meta})

        t, size = _ms(redraw)
        t_map.append(t)
        sizes.append(size)

    t_detail = []
    meta = {"ring": 7, "space": "classical17", "projection": "umap2"}
    for i in range(args.repeats):
        pos = int(rng.integers(0, data.n_sections))

        def click():
            sel = resolve_selection(data, "graph", click={"points": [{"customdata": pos}]}, run=run_id)
            panel = section_detail(data, sel["section_id"], sel["run_id"], "map")
            ring = map_page.ring_patch(data, meta, sel)
            return _serialise({"selected": sel, "panel": panel, "ring": ring})

        t, _ = _ms(click)
        t_detail.append(t)

    t_compare = []
    pairs = [(a[0], b[0]) for a in RUNS for b in RUNS if a != b]
    # first use of a pair aligns the two runs and builds its table (once per pair and store version)
    cold = [_ms(compare_page.table_page, data, a, b, 0, 15)[0] for a, b in pairs]
    for i in range(args.repeats):
        a, b = pairs[i % len(pairs)]
        page = int(rng.integers(0, 200))
        sort_by = [{"column_id": "song", "direction": "asc"}] if i % 3 == 1 else []
        query = "{label_a} = 1" if i % 3 == 2 else ""

        def compare():
            metrics = compare_page.metrics_view(data, a, b)
            heat, flow = compare_page.compare_figures(data, a, b)
            rows = compare_page.table_page(data, a, b, page, 15, sort_by, query, i % 2 == 0)
            return _serialise({"m": metrics, "h": heat, "s": flow, "t": rows})

        t, _ = _ms(compare)
        t_compare.append(t)

    print(f"\nsections: {data.n_sections:,}; repeats: {args.repeats}")
    print(f"reference (plain plotly 100k Scattergl build + serialise): median {ref_med:.1f} ms")
    for name, xs in [("map redraw", t_map), ("click -> detail", t_detail), ("compare page", t_compare)]:
        med, p95 = _stats(xs)
        print(f"{name:>16}: median {med:7.1f} ms   p95 {p95:7.1f} ms   p95 / reference = {p95 / ref_med:.2f}x")
    print(f"map payload: median {np.median(sizes) / 1e6:.2f} MB of JSON")
    print(f"compare, first use of a pair (alignment + table, then cached): median {np.median(cold):.0f} ms, "
          f"max {np.max(cold):.0f} ms")
    result = {"p95_ms_map": round(_stats(t_map)[1], 1), "p95_ms_detail": round(_stats(t_detail)[1], 1),
              "p95_ms_compare": round(_stats(t_compare)[1], 1)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
