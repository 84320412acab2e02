"""Benchmark: songs per minute with 1 and 2 local worker processes and on a 2-worker Dask LocalCluster.

The same short synthetic songs (the demo generator) are analysed four times into fresh stores,
features and embeddings as the default analysis does them (``--no-embed`` for features only),
without modelling (modelling is a separate, corpus-wide step measured by bench/projection.py):

- ``workers=1 core=1``: one process pinned to one core (``sched_setaffinity`` before Python starts,
  so its BLAS and FFT see one core), the reference of the speed-up: what one worker does with the
  one core it is given;
- ``workers=1``: one process on all the cores (its BLAS and FFT threads use them);
- ``workers=2``: the local process pool, one worker per core;
- ``dask=local:2``: a Dask LocalCluster of 2 worker processes on loopback.

Prints songs per minute and the audio real-time factor of each and the cores the machine kept busy
during each (CPU seconds of every process over the wall time, from ``/proc/stat``: on a machine
shared with other work, more than the run's own). ``speedup_2_workers`` is the
speed-up from one worker on one core to two workers on two cores (target ≥ 1.7×: how close the pool
comes to twice one worker); ``speedup_over_threads`` the speed-up over one process that has both
cores for its threads; ``dask_overhead`` Dask's wall time over the local pool's;
``realtime_end_to_end`` the audio seconds per wall second of the faster 2-worker run (target ≥ 100×).
The last line is one JSON object:
{"speedup_2_workers": …, "realtime_end_to_end": …, "dask_overhead": …, "speedup_over_threads": …, …}.

Usage: python bench/scaling.py [--songs 500] [--seconds 30] [--no-embed]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.corpus.demo import make_corpus
from sectionist.analysis.run.pipeline import analyze
from sectionist.store import open_store  # noqa: E402


def _cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (``/proc/stat``: every process, this run's workers
    included — a forkserver's are not this process's children — and any other work running)."""
    with open("/proc/stat") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fh.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _run(songs_dir: Path, root: Path, **cfg) -> tuple[float, int, float]:
    """Wall time, songs analysed and CPU seconds of one analysis into a fresh store."""
    store = open_store(root)
    cpu, t = _cpu_s(), time.perf_counter()
    summary = analyze([songs_dir], store, AnalysisConfig(cluster=False, **cfg), progress=False)
    if summary.failed:
        print(f"failures: {summary.failed}", file=sys.stderr)
    return time.perf_counter() - t, summary.ok, _cpu_s() - cpu


def _run_pinned(songs_dir: Path, root: Path, core: int, embed: bool) -> tuple[float, int, float]:
    """:func:`_run` with ``workers=1`` in a new Python process pinned to ``core`` from its start."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from bench.scaling import _run; "
            "from pathlib import Path; "
            "print(json.dumps(_run(Path(sys.argv[2]), Path(sys.argv[3]), workers=1, embed=sys.argv[4] == '1')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(songs_dir), str(root), "1" if embed else "0"],
                         preexec_fn=lambda: os.sched_setaffinity(0, {core}), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the pinned run failed:\n{out.stderr[-3000:]}")
    wall, ok, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, ok, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each song (at least 20)")
    ap.add_argument("--no-embed", action="store_true", help="features only (no musicnn)")
    args = ap.parse_args(argv)
    embed = not args.no_embed
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit(f"this benchmark needs 2 cores; this process may use {len(cores)}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        songs = tmp / "songs"
        make_corpus(songs, n_songs=args.songs, seconds=args.seconds, seed=0, progress=False)
        audio_s = args.songs * args.seconds
        results, busy = {}, {}
        runs = (("workers=1 core=1", None), ("workers=1", dict(workers=1)), ("workers=2", dict(workers=2)),
                ("dask=local:2", dict(dask="local:2")))
        for name, cfg in runs:
            root = tmp / name.replace("=", "-").replace(":", "-").replace(" ", "_")
            if cfg is None:
                wall, ok, cpu = _run_pinned(songs, root, cores[0], embed)
            else:
                wall, ok, cpu = _run(songs, root, embed=embed, **cfg)
            if ok != args.songs:
                print(f"{name}: {ok} of {args.songs} songs analysed", file=sys.stderr)
                return 1
            results[name], busy[name] = wall, cpu / wall
            print(f"{name:>16}: {wall:8.1f} s  {args.songs / wall * 60:7.1f} songs/min  "
                  f"{audio_s / wall:6.1f}× real time  {cpu / wall:4.2f} cores busy", flush=True)

    speedup = results["workers=1 core=1"] / results["workers=2"]
    over_threads = results["workers=1"] / results["workers=2"]
    overhead = results["dask=local:2"] / results["workers=2"]
    realtime = audio_s / min(results["workers=2"], results["dask=local:2"])
    print(f"speed-up from 1 worker on 1 core to 2 workers on 2 cores: {speedup:.2f}× (target ≥ 1.7×); "
          f"over 1 process with both cores for its threads: {over_threads:.2f}×; "
          f"Dask wall / local pool wall: {overhead:.2f}; end to end {realtime:.1f}× real time (target ≥ 100×)")
    print(json.dumps({
        "speedup_2_workers": round(speedup, 3), "realtime_end_to_end": round(realtime, 1),
        "dask_overhead": round(overhead, 3), "speedup_over_threads": round(over_threads, 3),
        "songs": args.songs, "seconds_per_song": args.seconds, "embed": embed,
        "wall_s": {k: round(v, 2) for k, v in results.items()},
        "cores_busy": {k: round(v, 2) for k, v in busy.items()},
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
