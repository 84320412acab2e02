"""What the network hears: per-cluster saliency maps of musicnn runs over the mel spectrogram.

For a run whose space is a musicnn embedder (``musicnn``, ``musicnn-mtt``, ``vgg-msd``, ``vgg-mtt``),
each cluster gets one map, mel band × normalised time of the section, of where in the input the
network's embedding moves the section *towards its cluster*:

1. **Target.** The run clusters (scaled) section vectors ``z = (m − center) / scale``, where ``m``
   is the mean of the section's patch embeddings. The score of a section for cluster ``c`` is the
   dot product of ``z`` with the cluster's direction ``z_c − z̄`` (its centroid minus the mean of
   the fitted sections); its gradient with respect to ``m`` is ``w_c = (z_c − z̄) / scale``. So the
   target of each patch ``p`` of a section of cluster ``c`` is ``e_p · w_c`` (the embedding layer
   the frames were written with). This says what places the section in *its* cluster; the norm of
   the embedding (a Grad-CAM default) would say what makes the embedding large, which is the same
   for every cluster.
2. **Attribution.** ``|x ⊙ ∂(e_p · w_c)/∂x|`` (input × gradient, Shrikumar et al. 2017) over the
   log-mel patch ``x`` (96 bands × 187 frames ≈ 3 s): zero where a band is silent (the log-mel
   input's natural baseline), large where a band has energy *and* the target is sensitive to it.
   The PyTorch forward pass of :mod:`sectionist.analysis.embeddings.musicnn_torch` (exactly the NumPy one) is
   differentiated on the CPU in batches of patches.
3. **Averaging.** A section's patches are laid end to end, binned into ``n_time`` equal parts of the
   section and normalised to sum 1 (so loud sections do not outweigh quiet ones); the cluster's map is
   the mean over up to ``max_sections`` of its prototypes that the run fitted (placed sections are
   left out). Its mean over time is the frequency profile: which bands the network relies on.

Written to the ``saliency`` table (:data:`sectionist.store.schema.SALIENCY`), one part per run, by
``sectionist saliency``. Not part of the default modelling: it decodes the prototypes' audio and
runs the network backwards, which measured several times the cost of fitting a run (see
``docs/embeddings.md``).
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd

from sectionist.store.schema import CLUSTERINGS, CLUSTERS, RUNS, SALIENCY, SECTIONS, SONGS, embedders_in, section_vectors

from sectionist.analysis.errors import InputError, ParameterError, StoreError
# the reading side lives in a light module the web process imports (numpy only); re-exported here
from sectionist.analysis.saliency_maps import MUSICNN_EMBEDDERS, band_frequencies, map_array  # noqa: F401

log = logging.getLogger(__name__)

#: What the ``method`` column says of every map this module writes.
METHOD = "input×gradient of the embedding towards the cluster direction (scaled centroid − mean)"
#: Default time bins over a section, and prototypes per cluster.
N_TIME = 16
MAX_SECTIONS = 30
#: Patches per backward pass (each ≈ 60 MB of activations and gradients in float32 on the CPU).
BATCH_PATCHES = 8


# ---- pure steps -------------------------------------------------------------------------------


def bin_time(m: np.ndarray, n_time: int) -> np.ndarray:
    """Means of ``m`` [shape=(T, F)] over ``n_time`` near-equal runs of its rows → (n_time, F)."""
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 1:
        raise ParameterError(f"bin_time: need a (T, F) array with T ≥ 1; got shape {m.shape}")
    if n_time < 1:
        raise ParameterError(f"n_time={n_time}: must be ≥ 1")
    edges = np.linspace(0, m.shape[0], n_time + 1)
    lo = np.minimum(np.floor(edges[:-1]).astype(int), m.shape[0] - 1)
    hi = np.maximum(np.ceil(edges[1:]).astype(int), lo + 1)
    return np.stack([m[a:b].mean(axis=0) for a, b in zip(lo, hi)])


def cluster_directions(X: np.ndarray, centroids: dict, scaling: str) -> dict:
    """Each cluster's gradient direction ``w_c = (z_c − z̄) / scale`` in the space's original units.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
        The fitted sections' vectors (original units; noise included, as the run scaled them).
    centroids : dict
        cluster → centroid [shape=(d,)] in original units.
    scaling : str
        The run's scaling (``standard``, ``l2cols``, ``none``).
    """
    from sectionist.analysis.modeling.scaling import FeatureScaler

    scaler = FeatureScaler(scaling).fit(np.asarray(X, dtype=np.float64))
    z_mean = scaler.transform(X).mean(axis=0)
    out = {}
    for c, cen in centroids.items():
        z_c = scaler.transform(np.asarray(cen, dtype=np.float64)[None, :])[0]
        out[int(c)] = ((z_c - z_mean) / scaler.scale_).astype(np.float32)
    return out


def patch_saliency(net, patches: np.ndarray, weights: np.ndarray, layer: str,
                   batch_size: int = BATCH_PATCHES) -> np.ndarray:
    """``|x ⊙ ∂(e(x) · w)/∂x|`` of each log-mel patch.

    Parameters
    ----------
    net : torch.nn.Module
        A musicnn network (``MusicnnModel._net``: returns a dict of layers).
    patches : np.ndarray [shape=(P, T, 96)]
    weights : np.ndarray [shape=(P, d)]
        The direction of each patch's target (its section's cluster direction).
    layer : str
        The embedding layer (``taggram`` reads the tag probabilities).

    Returns
    -------
    np.ndarray [shape=(P, T, 96), dtype=float32]
    """
    import torch

    key = "probs" if layer == "taggram" else layer
    out = np.empty(patches.shape, dtype=np.float32)
    for a in range(0, len(patches), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(patches[a:a + batch_size], dtype=np.float32)).requires_grad_(True)
        w = torch.from_numpy(np.ascontiguousarray(weights[a:a + batch_size], dtype=np.float32))
        e = net(x)[key]
        (e * w).sum().backward()
        out[a:a + batch_size] = (x.detach() * x.grad).abs().numpy()
    return out


def section_map(net, y: np.ndarray, weight: np.ndarray, layer: str, n_time: int = N_TIME,
                batch_size: int = BATCH_PATCHES) -> np.ndarray | None:
    """The saliency of one section's audio (16 kHz mono), (96, n_time), summing to 1; None if silent.

    The section is cut into musicnn's 3 s patches as the embedder cuts it (a section shorter than a
    patch is zero-padded to one), the patches' maps are laid end to end and binned in time.
    """
    from sectionist.analysis.embeddings.musicnn import FFT_HOP, PATCH_FRAMES, log_compress, make_patches, mel_power

    y = np.asarray(y, dtype=np.float32)
    min_len = (PATCH_FRAMES - 1) * FFT_HOP
    if len(y) < min_len:
        y = np.pad(y, (0, min_len - len(y)))
    patches, _ = make_patches(log_compress(mel_power(y)))
    sal = patch_saliency(net, patches, np.repeat(weight[None, :], len(patches), axis=0), layer, batch_size)
    m = bin_time(sal.reshape(-1, sal.shape[2]), n_time).T  # (96, n_time)
    total = float(m.sum())
    if not np.isfinite(total) or total <= 0:
        return None
    return (m / total).astype(np.float32)


# ---- the store ----------------------------------------------------------------------------------


def musicnn_runs(store) -> list[str]:
    """Run ids whose space is a musicnn embedder with frames in the store."""
    runs = store.read_table(RUNS, columns=["run_id", "space"])
    if runs.empty:
        return []
    have = set(embedders_in(store)) & set(MUSICNN_EMBEDDERS)
    return sorted(runs.loc[runs["space"].isin(have), "run_id"].astype(str))


def _s3_options(store) -> dict:
    opts = {"client": getattr(store, "client", None), "endpoint_url": getattr(store, "endpoint_url", None)}
    return {k: v for k, v in opts.items() if v is not None}


def run_saliency(store, run_id: str, *, max_sections: int = MAX_SECTIONS, n_time: int = N_TIME,
                 batch_size: int = BATCH_PATCHES, progress: bool = True) -> pd.DataFrame:
    """One row per cluster of ``run_id`` (a musicnn run): its mean saliency map (``saliency`` layout).

    Raises
    ------
    ParameterError
        The run does not exist, or its space is not a musicnn embedder (the message lists the
        musicnn runs of the store); bad ``max_sections``/``n_time``.
    InputError
        A cluster's centroid is missing, or a prototype's song cannot be decoded (names the file).
    """
    from tqdm.auto import tqdm

    from sectionist.analysis.corpus.audio import read_span
    from sectionist.analysis.embeddings.musicnn import SR

    if max_sections < 1:
        raise ParameterError(f"max_sections={max_sections}: must be ≥ 1")
    if n_time < 1:
        raise ParameterError(f"n_time={n_time}: must be ≥ 1")
    runs = store.read_table(RUNS, columns=["run_id", "space", "scaling"])
    row = runs[runs["run_id"].astype(str) == str(run_id)]
    mruns = musicnn_runs(store)
    if row.empty:
        raise ParameterError(f"{store.uri}: no run {run_id!r}; musicnn runs: {', '.join(mruns) or 'none'}")
    space, scaling = str(row.iloc[0]["space"]), str(row.iloc[0]["scaling"] or "standard")
    if run_id not in mruns:
        raise ParameterError(f"run {run_id!r} is on space {space!r}, not a musicnn embedder "
                             f"({', '.join(MUSICNN_EMBEDDERS)}): saliency maps apply to musicnn runs only; "
                             f"musicnn runs in {store.uri}: {', '.join(mruns) or 'none'}")

    cl = store.read_part(CLUSTERINGS, CLUSTERINGS.part(run_id=run_id))
    fitted = cl[~cl["placed"].fillna(False).astype(bool)] if "placed" in cl.columns else cl
    info = store.read_part(CLUSTERS, CLUSTERS.part(run_id=run_id))
    sids, X, cols = section_vectors(store, space)
    index = pd.Series(np.arange(len(sids)), index=pd.Index(sids))
    fitted = fitted[fitted["section_id"].isin(index.index)]
    centroids = {}
    for r in info.itertuples(index=False):
        if int(r.cluster) < 0:
            continue
        if r.centroid is None or (isinstance(r.centroid, float) and np.isnan(r.centroid)):
            raise InputError(f"{store.uri}: run {run_id!r} cluster {int(r.cluster)} has no centroid in its clusters part")
        cen = json.loads(r.centroid)
        missing = [c for c in cols if c not in cen]
        if missing:
            raise InputError(f"{store.uri}: run {run_id!r} cluster {int(r.cluster)}: centroid lacks {missing[:3]} "
                             f"of space {space!r}")
        centroids[int(r.cluster)] = np.array([cen[c] for c in cols], dtype=np.float64)
    if fitted.empty:
        raise InputError(f"{store.uri}: run {run_id!r} has no fitted section with {space!r} frames")
    dirs = cluster_directions(X[index[fitted["section_id"]].to_numpy()], centroids, scaling)

    # the sections: each cluster's fitted prototypes, else its most confident fitted members
    fitted_label = dict(zip(fitted["section_id"].astype(str), fitted["label"].astype(int)))
    chosen: dict[int, list[str]] = {}
    for r in info.itertuples(index=False):
        c = int(r.cluster)
        if c < 0:
            continue
        protos = [s for s in (list(r.prototypes) if r.prototypes is not None else []) if fitted_label.get(s) == c]
        if not protos:
            mem = fitted[fitted["label"] == c].sort_values("confidence", ascending=False, na_position="last")
            protos = list(mem["section_id"].astype(str))
        chosen[c] = protos[:max_sections]

    from sectionist.analysis.embeddings import get_embedder

    entry = (store.read_manifest().get("embedders") or {}).get(space) or {}
    emb = get_embedder(space, backend="torch", device="cpu", **({"layer": entry["layer"]} if entry.get("layer") else {}))
    if emb.dim != len(cols):
        raise InputError(f"{store.uri}: frames of {space!r} have {len(cols)} dimensions but its {emb.layer} layer "
                         f"has {emb.dim}: the manifest's embedder entry does not match the frames")
    from sectionist.analysis.embeddings.musicnn_torch import build_torch_net

    net = build_torch_net(emb.net.weights, emb.net.arch, emb.net.pools, "cpu")
    for p in net.parameters():  # only the input needs a gradient
        p.requires_grad_(False)

    secs = store.read_table(SECTIONS, columns=["section_id", "song_id", "start_s", "end_s"]).set_index("section_id")
    uris = store.read_table(SONGS, columns=["song_id", "uri"]).set_index("song_id")["uri"]
    rows = []
    t0 = time.perf_counter()
    todo = sum(len(v) for v in chosen.values())
    bar = tqdm(total=todo, desc=f"saliency ({run_id})", unit="section", disable=not progress)
    for c, section_ids in sorted(chosen.items()):
        maps = []
        for sid in section_ids:
            if sid not in secs.index:
                raise StoreError(f"{store.uri}: run {run_id!r} names section {sid} that the sections table lacks")
            s = secs.loc[sid]
            uri = str(uris.get(s["song_id"], ""))
            if not uri:
                raise StoreError(f"{store.uri}: section {sid} belongs to song {s['song_id']} that the songs table lacks")
            y, _ = read_span(uri, float(s["start_s"]), float(s["end_s"]), sr=SR, mono=True, **_s3_options(store))
            m = section_map(net, y, dirs[c], emb.layer, n_time, batch_size)
            if m is not None:
                maps.append(m)
            bar.update(1)
        if not maps:
            continue
        mean = np.mean(maps, axis=0)
        rows.append({"run_id": run_id, "cluster": c, "n_sections": len(maps), "n_freq": mean.shape[0],
                     "n_time": mean.shape[1], "map": mean.ravel().astype(np.float32),
                     "profile": mean.mean(axis=1).astype(np.float32), "method": METHOD, "space": space,
                     "layer": emb.layer})
    bar.close()
    log.info("saliency of %s: %d clusters, %d sections in %.1f s", run_id, len(rows), todo, time.perf_counter() - t0)
    return pd.DataFrame(rows, columns=SALIENCY.column_names)


def write_saliency(store, run_id: str, df: pd.DataFrame) -> None:
    """Write (replace) the run's ``saliency`` part (atomic, as every part), and give the store a new
    version, so that a running web app shows the maps."""
    store.write_part(SALIENCY, SALIENCY.part(run_id=run_id), df)
    store.update_manifest(lambda manifest: None)


# ---- the command ----------------------------------------------------------------------------------


def register_cli(sub, options) -> None:
    """Add ``sectionist saliency``."""
    p = sub.add_parser(
        "saliency",
        help="what the network hears: per-cluster saliency maps of musicnn runs",
        description="For each musicnn run (space musicnn, musicnn-mtt, vgg-msd or vgg-mtt), compute per "
        "cluster where in the mel spectrogram the network's embedding moves a section towards its cluster: "
        "input × gradient of the embedding's dot product with the cluster's direction (scaled centroid "
        "minus mean), over up to --max-sections fitted prototypes per cluster, binned into --n-time parts "
        "of each section and averaged. Written to the store's saliency table (one part per run, replaced) "
        "and shown on the Clusters page beside the mean spectrum. Needs PyTorch and the musicnn weights "
        "(sectionist models fetch); runs on the CPU.",
        epilog="example: sectionist saliency --store demo/store --run kmeans-musicnn-k6",
    )
    options.store(p)
    p.add_argument("--run", action="append", metavar="RUN_ID", default=None,
                   help="a run id (repeatable); default: every musicnn run of the store")
    p.add_argument("--max-sections", type=int, default=MAX_SECTIONS,
                   help=f"prototypes per cluster (default {MAX_SECTIONS})")
    p.add_argument("--n-time", type=int, default=N_TIME, help=f"time bins over a section (default {N_TIME})")
    p.add_argument("--batch-size", type=int, default=BATCH_PATCHES,
                   help=f"3 s patches per backward pass; bounds memory (default {BATCH_PATCHES})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_saliency)


def cmd_saliency(args) -> int:
    from sectionist.store import open_store

    if args.batch_size < 1:
        raise ParameterError(f"--batch-size {args.batch_size}: must be ≥ 1")
    settings = getattr(args, "settings", None)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    run_ids = args.run or musicnn_runs(store)
    if not run_ids:
        raise ParameterError(f"{store.uri}: no musicnn runs (runs on musicnn, musicnn-mtt, vgg-msd or vgg-mtt); "
                             "embed with 'sectionist embed' and cluster first")
    for run_id in run_ids:
        t0 = time.perf_counter()
        df = run_saliency(store, run_id, max_sections=args.max_sections, n_time=args.n_time,
                          batch_size=args.batch_size, progress=not args.quiet)
        write_saliency(store, run_id, df)
        print(f"{run_id}: saliency of {len(df)} clusters from {int(df['n_sections'].sum()) if len(df) else 0} "
              f"sections in {time.perf_counter() - t0:.1f} s")
    return 0
