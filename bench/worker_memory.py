"""Benchmark: a worker's peak memory and time on one long file, against loading it with librosa.

Long files (DJ mixes, concerts, radio shows) are where a worker's memory can run away. For each
length, a 44.1 kHz stereo WAV is built from the demo generator's songs, and two fresh processes
read it:

- ``analysis``: one worker's whole default analysis of the file (``sectionist.analysis.run.song.run_song``:
  decoding, features, structure schemes, musicnn, the Arrow hand-off), as ``analyze`` runs it;
- ``librosa.load``: the named reference, ``librosa.load(path, sr=22050)`` and nothing else (the
  decoded, resampled mono signal that any analysis has to hold).

Prints the peak resident memory (``ru_maxrss``) of each, their ratio and the analysis's time. The
last line is one JSON object:
{"minutes": […], "peak_mb": {…}, "librosa_load_mb": {…}, "ratio": {…}, "seconds": {…}, "realtime": {…}}.

Usage: python bench/worker_memory.py [--minutes 5 20 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_ANALYSIS = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.pool import init_worker
from sectionist.analysis.run.song import run_song
init_worker(1, ("musicnn",), "cpu")
t = time.perf_counter()
res = run_song(Path(sys.argv[2]), "0123456789abcdef", "x", AnalysisConfig(cluster=False))
print(json.dumps({"status": res.status, "reason": res.reason, "seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_LIBROSA = """
import json, resource, sys
import librosa
y, sr = librosa.load(sys.argv[1], sr=22050)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def long_file(path: Path, minutes: float, songs_dir: Path) -> None:
    """A 44.1 kHz stereo WAV of ``minutes``: the demo songs one after the other (each in turn, left
    and right channels slightly apart), written block by block."""
    import numpy as np
    import soundfile as sf
    import soxr

    songs = sorted(songs_dir.glob("*.wav"))
    total = int(minutes * 60 * 44100)
    done, i = 0, 0
    with sf.SoundFile(path, "w", samplerate=44100, channels=2, subtype="PCM_16") as out:
        while done < total:
            y, sr = sf.read(songs[i % len(songs)], dtype="float32")
            y = soxr.resample(y, sr, 44100)
            block = np.stack([y, 0.9 * y], axis=1)[: total - done]
            out.write(block)
            done += len(block)
            i += 1


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 60])
    args = ap.parse_args(argv)
    from sectionist.analysis.corpus.demo import make_corpus

    peak, ref, secs, ratio, realtime = {}, {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "songs", n_songs=8, seconds=180, seed=3, progress=False)
        for m in args.minutes:
            f = tmp / f"mix_{m:g}min.wav"
            long_file(f, m, tmp / "songs")
            a = _child(_ANALYSIS, str(ROOT), str(f))
            if a["status"] != "ok":
                print(f"{m:g} min: {a['status']}: {a['reason']}", file=sys.stderr)
                return 1
            r = _child(_LIBROSA, str(f))
            key = f"{m:g}"
            peak[key], ref[key], secs[key] = round(a["peak_mb"]), round(r["peak_mb"]), round(a["seconds"], 1)
            ratio[key] = round(a["peak_mb"] / r["peak_mb"], 2)
            realtime[key] = round(m * 60 / a["seconds"], 1)
            print(f"{m:5g} min: analysis peak {a['peak_mb']:7.0f} MB in {a['seconds']:6.1f} s "
                  f"({realtime[key]}× real time); librosa.load peak {r['peak_mb']:6.0f} MB; ratio {ratio[key]:.2f}",
                  flush=True)
            f.unlink()
    print(json.dumps({"minutes": args.minutes, "peak_mb": peak, "librosa_load_mb": ref, "ratio": ratio,
                      "seconds": secs, "realtime": realtime}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
