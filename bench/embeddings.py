"""Embedding speed: seconds of audio embedded per wall-clock second, for every embedder.

Run by hand (not in CI): ``.venv/bin/python bench/embeddings.py [--seconds 120] [--repeats 3]``.

- ``musicnn`` (MSD_musicnn, non-overlapping 3 s patches, mel + network) with both backends (NumPy
  and PyTorch); the default (``backend="auto"``) is what ``realtime_musicnn`` reports.
- Reference, measured in the same run: a plain PyTorch stack of the same layer shapes (standard
  ``nn.Conv2d`` + ``nn.BatchNorm2d`` modules, random weights) on the same patches, network only — the
  "PyTorch version of the same layer shapes" the issue quotes (~90× real time on the 2-core machine).
- ``vggish`` with random weights of the real shapes (the real weights are not shipped; the cost is the same).
- ``autoencoder`` trained briefly on the bench audio, then timed for embedding.
- On a machine where PyTorch sees a GPU, musicnn is timed on ``cuda`` as well.

The audio is a synthetic demo song at 16 kHz (the embedders' own rate, so no resampling is timed).
Each figure is the best of ``--repeats`` runs after one warm-up (the machine may be shared).
Besides the wall-clock figures (``realtime_*``) it prints seconds of audio per CPU second of this
process (``per_cpu_second_*``): on a machine shared with other jobs the wall figure drops while the
CPU figure stays close to what the code does on an idle core. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def best_time(fn, repeats):
    """``(wall, cpu)``: the best wall time of ``repeats`` runs after a warm-up, and that run's process CPU time."""
    fn()  # warm-up (lazy imports, first-call allocations)
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def reference_torch_musicnn():
    """Standard PyTorch modules with musicnn's layer shapes (random weights): the named reference."""
    import torch
    from torch import nn

    class Ref(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn0 = nn.BatchNorm2d(1)
            self.timbral = nn.ModuleList([nn.Conv2d(1, 204, (7, 38), padding=(3, 0)),
                                          nn.Conv2d(1, 204, (7, 67), padding=(3, 0))])
            self.temporal = nn.ModuleList([nn.Conv2d(1, 51, (k, 1), padding="same") for k in (128, 64, 32)])
            self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in (204, 204, 51, 51, 51)])
            self.mid = nn.ModuleList([nn.Conv1d(561, 64, 7, padding=3), nn.Conv1d(64, 64, 7, padding=3),
                                      nn.Conv1d(64, 64, 7, padding=3)])
            self.midbn = nn.ModuleList([nn.BatchNorm1d(64) for _ in range(3)])
            self.bn9 = nn.BatchNorm1d(1506)
            self.dense = nn.Linear(1506, 200)
            self.bn10 = nn.BatchNorm1d(200)
            self.out = nn.Linear(200, 50)

        def forward(self, x):
            x = self.bn0(x.unsqueeze(1))
            feats = [bn(torch.relu(conv(x))).amax(dim=3)
                     for conv, bn in zip(list(self.timbral) + list(self.temporal), self.bns)]
            front = torch.cat(feats, dim=1)
            t1 = self.midbn[0](torch.relu(self.mid[0](front)))
            r2 = self.midbn[1](torch.relu(self.mid[1](t1))) + t1
            r3 = self.midbn[2](torch.relu(self.mid[2](r2))) + r2
            m = torch.cat([front, t1, r2, r3], dim=1)
            pooled = torch.stack([m.amax(dim=2), m.mean(dim=2)], dim=2).flatten(1)
            pen = self.bn10(torch.relu(self.dense(self.bn9(pooled))))
            return torch.sigmoid(self.out(pen))

    return Ref().eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="audio length [120]")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per figure (best kept) [3]")
    ap.add_argument("--batch-size", type=int, default=None, help="patches per forward pass [each embedder's default]")
    args = ap.parse_args(argv)

    import torch

    from sectionist.analysis.corpus.audio import load_audio
    from sectionist.analysis.corpus.demo import make_corpus
    from sectionist.analysis.embeddings import get_embedder, modelcache, vggish
    from sectionist.analysis.embeddings import musicnn as M
    from sectionist.analysis.embeddings.autoencoder import (
        AutoencoderEmbedder,
        logmel_patches,
        train_autoencoder,
    )

    modelcache.musicnn_checkpoint("MSD_musicnn")  # clear error if `sectionist models fetch` was not run
    with tempfile.TemporaryDirectory() as tmp:
        wav = make_corpus(tmp, n_songs=1, seconds=args.seconds, seed=0, progress=False)[0]
        y, sr = load_audio(wav, 16000)
    seconds = len(y) / sr
    print(f"audio: {seconds:.1f} s synthetic demo song at {sr} Hz; torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    res = {}

    def report(key, times, what):
        wall, cpu = times
        res[key] = round(seconds / wall, 2)
        res[key.replace("realtime_", "per_cpu_second_")] = round(seconds / cpu, 2)
        print(f"{what:58s} {wall:7.3f} s wall {cpu:7.3f} s CPU   {res[key]:7.1f}x real time "
              f"({seconds / cpu:6.1f} s of audio per CPU second)")

    for backend in ("numpy", "torch"):
        emb = get_embedder("musicnn", backend=backend, batch_size=args.batch_size)
        report(f"realtime_musicnn_{backend}", best_time(lambda emb=emb: emb.embed(y, sr), args.repeats),
               f"musicnn ({backend} backend, mel + network)")
    auto = get_embedder("musicnn", batch_size=args.batch_size)
    res["realtime_musicnn"] = res[f"realtime_musicnn_{auto.net.backend}"]
    print(f"musicnn default backend: {auto.net.backend}")

    patches, _ = M.make_patches(M.log_compress(M.mel_power(y)))
    bs = auto.batch_size
    net_only = M.MusicnnModel("MSD_musicnn", backend=auto.net.backend)

    def run_net():
        for i in range(0, len(patches), bs):
            net_only.forward(patches[i:i + bs])

    report("realtime_musicnn_network_only", best_time(run_net, args.repeats), "musicnn network only (default backend)")
    warnings.filterwarnings("ignore", message="Using padding='same'")  # the reference's even kernels
    ref = reference_torch_musicnn()
    xt = torch.from_numpy(patches)

    def run_ref():
        with torch.inference_mode():
            for i in range(0, len(xt), bs):
                ref(xt[i:i + bs])

    report("realtime_reference_torch_layers", best_time(run_ref, args.repeats),
           "reference: plain PyTorch modules, same layer shapes")
    res["ratio_musicnn_network_vs_reference"] = round(res["realtime_musicnn_network_only"]
                                                      / res["realtime_reference_torch_layers"], 3)
    res["ratio_musicnn_network_vs_reference_cpu"] = round(res["per_cpu_second_musicnn_network_only"]
                                                          / res["per_cpu_second_reference_torch_layers"], 3)
    print(f"musicnn network / reference: {res['ratio_musicnn_network_vs_reference']:.2f}x wall, "
          f"{res['ratio_musicnn_network_vs_reference_cpu']:.2f}x per CPU second; musicnn end to end: "
          f"{res['realtime_musicnn']:.1f}x real time (target >= 50x)")

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        torch.save(vggish.build_vggish().state_dict(), Path(tmp) / "vggish-random.pth")
        torch.save({"pca_eigen_vectors": torch.eye(128), "pca_means": torch.zeros(128)},
                   Path(tmp) / "vggish_pca_params-random.pth")
        vg = get_embedder("vggish", weights=str(Path(tmp) / "vggish-random.pth"), batch_size=args.batch_size)
        report("realtime_vggish", best_time(lambda: vg.embed(y, sr), args.repeats),
               "vggish (random weights of the real shapes)")

    P, _ = logmel_patches(y)
    t0 = time.perf_counter()
    model = train_autoencoder(P, epochs=3, random_state=0, progress=False)
    print(f"autoencoder training: {len(P)} patches x 3 epochs in {time.perf_counter() - t0:.2f} s")
    ae = AutoencoderEmbedder(model=model)
    report("realtime_autoencoder", best_time(lambda: ae.embed(y, sr), args.repeats), "autoencoder (embedding)")

    if torch.cuda.is_available():
        gpu = get_embedder("musicnn", device="cuda", backend="torch", batch_size=args.batch_size)
        report("realtime_musicnn_cuda", best_time(lambda: gpu.embed(y, sr), args.repeats),
               f"musicnn on cuda ({torch.cuda.get_device_name()})")
    else:
        print("no CUDA GPU visible to PyTorch: GPU figures skipped")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
