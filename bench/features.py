"""Benchmark: our feature extractor vs the study's way (one librosa call, and one STFT, per feature per section).

Both run on the same demo songs at the same sample rate, in this one run. Prints the speed ratio,
the largest difference between the two sets of values, and the peak memory of analysing a
60-minute file (features only, in a fresh process). The last line is one JSON object:
{"speedup": ..., "max_abs_diff": ..., "max_rel_diff": ..., "peak_mb_60min": ...}.

Usage: python bench/features.py [--songs 4] [--seconds 180] [--minutes 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sectionist.analysis.corpus.audio import load_audio
from sectionist.analysis.corpus.demo import make_corpus
from sectionist.analysis.sections.features import FeatureParams, reference_features, section_features
from sectionist.analysis.sections.sectioning import fixed_sections

PEAK_SCRIPT = r"""
import resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[2])
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.song import analyze_song
from sectionist.analysis.corpus.audio import content_hash
from pathlib import Path
p = Path(sys.argv[1])
cfg = AnalysisConfig(embed=sys.argv[3] == "1", cluster=False)
t = time.perf_counter()
res = analyze_song(p, "bench", content_hash(p), cfg)
wall = time.perf_counter() - t
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, wall, res.n_sections)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the long file for peak memory")
    ap.add_argument("--sample-rate", type=int, default=22050)
    ap.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    ap.add_argument("--embed", action="store_true",
                    help="the long-file run also computes the musicnn embeddings (needs 'sectionist models fetch')")
    args = ap.parse_args()

    p = FeatureParams(sr=args.sample_rate)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_corpus(tmp / "songs", n_songs=args.songs, seconds=args.seconds, seed=0, progress=False)
        songs = [load_audio(path, p.sr)[0] for path in paths]
        bounds = [np.round(fixed_sections(len(y) / p.sr) * p.sr).astype(np.int64) for y in songs]
        n_sections = sum(len(b) for b in bounds)
        audio_s = sum(len(y) for y in songs) / p.sr

        section_features(songs[0][: p.sr * 20], np.array([[0, p.sr * 15]]), p)  # warm-up (numba JIT)
        reference_features(songs[0][: p.sr * 15], p)

        def best_of(fn, repeats):
            """Best wall time of ``repeats`` runs (the usual way to time on a shared machine)."""
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - t)
            return min(times), result

        t_ours, ours = best_of(lambda: [section_features(y, b, p) for y, b in zip(songs, bounds)], args.repeats)
        t_ref, ref = best_of(lambda: [[reference_features(y[s:e], p) for s, e in b] for y, b in zip(songs, bounds)],
                             args.repeats)

        max_abs = max_rel = 0.0
        worst_abs = worst_rel = ""
        for df, rows in zip(ours, ref):
            for k, row in enumerate(rows):
                for col, v in row.items():
                    d = abs(float(df.loc[k, col]) - float(v))
                    rel = d / max(abs(float(v)), 1e-3)
                    if d > max_abs:
                        max_abs, worst_abs = d, f"{col} ({float(v):.4g})"
                    if rel > max_rel:
                        max_rel, worst_rel = rel, f"{col} ({float(v):.4g})"
        print(f"{len(songs)} demo songs, {audio_s:.0f} s of audio, {n_sections} sections of 15 s at {p.sr} Hz")
        print(f"best of {args.repeats} runs each")
        print(f"reference (librosa, one call + one STFT per feature per section): {t_ref:.2f} s")
        print(f"sectionist (one batched STFT per song, all features from it):      {t_ours:.2f} s")
        print(f"speedup: {t_ref / t_ours:.1f}x   max |difference|: {max_abs:.3g} in {worst_abs}   "
              f"max relative difference: {max_rel:.3g} in {worst_rel}")

        # peak memory for a long file, in a fresh process
        long_path = tmp / "long.wav"
        y = np.concatenate(songs)
        reps = int(np.ceil(args.minutes * 60 * p.sr / len(y)))
        import soundfile as sf

        with sf.SoundFile(str(long_path), "w", samplerate=44100, channels=2, subtype="PCM_16") as f:
            y44 = librosa.resample(y, orig_sr=p.sr, target_sr=44100)
            total = int(args.minutes * 60 * 44100)
            written = 0
            while written < total:
                chunk = y44[: total - written]
                f.write(np.stack([chunk, chunk], axis=1))
                written += len(chunk)
        del reps
        out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(long_path), str(Path(__file__).resolve().parents[1]),
                              "1" if args.embed else "0"],
                             capture_output=True, text=True, check=True)
        peak_mb, wall, n = out.stdout.split()
        what = "features + musicnn" if args.embed else "features"
        print(f"{args.minutes:g}-minute file (44.1 kHz stereo WAV, {long_path.stat().st_size / 1e6:.0f} MB, {what}): "
              f"{n} sections in {float(wall):.1f} s, peak memory {float(peak_mb):.0f} MB (target < 1500 MB)")
    print(json.dumps({"speedup": round(t_ref / t_ours, 2), "max_abs_diff": float(f"{max_abs:.3g}"),
                      "max_rel_diff": float(f"{max_rel:.3g}"), "peak_mb_60min": round(float(peak_mb), 1)}))


if __name__ == "__main__":
    main()
