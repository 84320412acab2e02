"""Benchmark: songs per minute with 1 and 2 local worker processes and on a 2-worker Dask LocalCluster.

The same short synthetic songs (the demo generator) are analysed three times into fresh stores,
features and embeddings as the default analysis does them (``--no-embed`` for features only),
without modelling (modelling is a separate, corpus-wide step measured by bench/projection.py):

- ``workers=1`` (one process, the reference; its BLAS and FFT threads use every core),
- ``workers=2`` (the local process pool),
- ``dask=local:2`` (a Dask LocalCluster of 2 worker processes on loopback).

Prints songs per minute and the audio real-time factor of each, the speed-up from 1 to 2 local
workers (target ≥ 1.7× on 2 cores), the Dask overhead (its wall time over the local pool's) and the
cores each run kept busy (CPU seconds of this process and its children over the wall time: a
``workers=1`` run that already keeps most cores busy leaves a pool little to add, and on a machine
shared with other work a run gets fewer cores than the machine has).
The last line is one JSON object:
{"speedup_2_workers": …, "realtime_end_to_end": …, "dask_overhead": …, "songs": …, "cores_busy": {…}, …}.

Usage: python bench/scaling.py [--songs 500] [--seconds 30] [--no-embed]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.config import AnalysisConfig  # noqa: E402
from analysis.demo import make_corpus  # noqa: E402
from analysis.pipeline import analyze  # noqa: E402
from store import open_store  # noqa: E402


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its children that have finished."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def _run(songs_dir: Path, root: Path, **cfg) -> tuple[float, object, float]:
    """Wall time, summary and CPU seconds of one analysis into a fresh store."""
    store = open_store(root)
    cpu, t = _cpu_s(), time.perf_counter()
    summary = analyze([songs_dir], store, AnalysisConfig(cluster=False, **cfg), progress=False)
    return time.perf_counter() - t, summary, _cpu_s() - cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each song (at least 20)")
    ap.add_argument("--no-embed", action="store_true", help="features only (no musicnn)")
    args = ap.parse_args(argv)
    embed = dict(embed=not args.no_embed)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        songs = tmp / "songs"
        make_corpus(songs, n_songs=args.songs, seconds=args.seconds, seed=0, progress=False)
        audio_s = args.songs * args.seconds
        results, cores = {}, {}
        for name, cfg in (("workers=1", dict(workers=1)), ("workers=2", dict(workers=2)),
                          ("dask=local:2", dict(dask="local:2"))):
            wall, summary, cpu = _run(songs, tmp / name.replace("=", "-").replace(":", "-"), **cfg, **embed)
            if summary.ok != args.songs:
                print(f"{name}: {summary.ok} of {args.songs} songs analysed; failures: {summary.failed}", file=sys.stderr)
                return 1
            results[name], cores[name] = wall, cpu / wall
            print(f"{name:>14}: {wall:8.1f} s  {args.songs / wall * 60:7.1f} songs/min  "
                  f"{audio_s / wall:6.1f}× real time  {cpu / wall:4.2f} cores busy")

    speedup = results["workers=1"] / results["workers=2"]
    overhead = results["dask=local:2"] / results["workers=2"]
    realtime = audio_s / min(results["workers=2"], results["dask=local:2"])
    print(f"speed-up 1 → 2 workers: {speedup:.2f}× (target ≥ 1.7×); Dask wall / local pool wall: {overhead:.2f}")
    print(json.dumps({
        "speedup_2_workers": round(speedup, 3), "realtime_end_to_end": round(realtime, 1),
        "dask_overhead": round(overhead, 3), "songs": args.songs, "seconds_per_song": args.seconds,
        "embed": not args.no_embed, "wall_s": {k: round(v, 2) for k, v in results.items()},
        "cores_busy": {k: round(v, 2) for k, v in cores.items()},
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
