"""Sub-commands ``sectionist models`` (fetch / list the pretrained weights) and ``sectionist embed``."""

from __future__ import annotations


def register_cli(sub, options) -> None:
    """Add ``models`` and ``embed`` (``options``: the shared options)."""
    from sectionist.analysis.embeddings.base import REGISTRY

    p = sub.add_parser(
        "models", help="fetch or list the pretrained embedding models in the local model cache",
        description="Manage the local model cache ($SECTIONIST_MODEL_DIR or ~/.cache/sectionist/models). "
        "'fetch' downloads the musicnn 0.1.0 wheel from PyPI with pip (no other host) and unpacks its four "
        "TensorFlow checkpoints; it is idempotent and returns at once when they are present. Nothing is "
        "ever downloaded while embedding.",
    )
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.required = True
    f = msub.add_parser("fetch", help="download the musicnn checkpoints into the cache (once)",
                        description="Download musicnn==0.1.0 from PyPI (python -m pip download --no-deps) and "
                        "unpack MSD_musicnn, MTT_musicnn, MSD_vgg and MTT_vgg into the model cache.")
    f.add_argument("--dir", default=None, help="cache folder [$SECTIONIST_MODEL_DIR or ~/.cache/sectionist/models]")
    f.add_argument("--force", action="store_true", help="download and unpack again even if present")
    f.add_argument("--wheel", default=None, help="use this local musicnn-0.1.0 wheel instead of downloading")
    f.set_defaults(func=_fetch)
    ls = msub.add_parser("list", help="list the embedders and whether their weights are available")
    ls.add_argument("--dir", default=None, help="cache folder")
    ls.set_defaults(func=_list)

    names = sorted(REGISTRY)
    e = sub.add_parser(
        "embed", help="add an embedder's frames (and tags) to an existing store",
        description="Embed every song of an analysed store with one embedder, without recomputing features: "
        "reads the songs and sections tables, decodes each song, and writes frames/{embedder}/{song} (and "
        "tags/{model}/{song} for tagging models). Songs already embedded are skipped unless --force. "
        "'autoencoder' is first trained on the store's own songs (seeded; loss per epoch in manifest.json; "
        "model kept as models/autoencoder.pt and reused).",
        epilog="Embedders: " + "; ".join(f"{n}: {REGISTRY[n].description}" for n in names),
    )
    options.store(e)
    e.add_argument("--embedder", required=True, choices=names, help="embedder to run")
    e.add_argument("--device", default="cpu", help="'cpu' or 'cuda' (needs PyTorch that sees a GPU) [cpu]")
    e.add_argument("--batch-size", type=int, default=None, help="patches per forward pass [embedder default]")
    e.add_argument("--force", action="store_true", help="re-embed songs that already have frames (retrains autoencoder)")
    e.add_argument("--weights", default=None, help="vggish: state-dict file of the torchvggish port "
                   "[$SECTIONIST_VGGISH_WEIGHTS or <model cache>/vggish/vggish-*.pth]")
    e.add_argument("--pca", default=None, help="vggish: PCA parameters file [beside the weights]")
    e.add_argument("--epochs", type=int, default=15, help="autoencoder: training epochs [15]")
    e.add_argument("--seed", type=int, default=0, help="autoencoder: random seed [0]")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=_embed)


def _model_root(args):
    """``--dir``, else the model cache of the settings (``$SECTIONIST_MODEL_DIR``), else None."""
    from pathlib import Path

    if args.dir:
        return Path(args.dir).expanduser()
    settings = getattr(args, "settings", None)
    return settings.model_dir if settings is not None else None


def _fetch(args) -> int:
    from sectionist.analysis.embeddings.modelcache import fetch_musicnn, model_dir

    root = _model_root(args) or model_dir()
    dest = fetch_musicnn(root, force=args.force, wheel=args.wheel)
    print(f"musicnn checkpoints ready in {dest}")
    return 0


def _list(args) -> int:
    from sectionist.analysis.embeddings.base import REGISTRY
    from sectionist.analysis.embeddings.modelcache import model_dir, musicnn_present

    root = _model_root(args) or model_dir()
    have = musicnn_present(root)
    for name, spec in sorted(REGISTRY.items()):
        if spec.trained_on_store:
            state = "trained per store by 'sectionist embed'"
        elif name == "vggish":
            from sectionist.analysis.embeddings.modelcache import ModelMissingError
            from sectionist.analysis.embeddings.vggish import find_weights

            try:
                state = f"weights {find_weights()[0]}"
            except ModelMissingError:
                state = "weights missing (see docs/embeddings.md)"
        else:
            state = "ready" if have else "missing: run 'sectionist models fetch'"
        print(f"{name:12s} {state:45s} {spec.description}")
    print(f"model cache: {root}")
    return 0


def _embed(args) -> int:
    from sectionist.store import open_store

    from sectionist.analysis.errors import ParameterError
    from sectionist.analysis.embeddings.base import require_torch
    from sectionist.analysis.embeddings.runner import embed_store

    require_torch(args.embedder)  # say what to install before opening the store or decoding a song
    if args.batch_size is not None and args.batch_size < 1:
        raise ParameterError(f"--batch-size {args.batch_size}: must be ≥ 1")
    settings = getattr(args, "settings", None)  # resolved by the entry point (S3 endpoint, cache…)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    options = {}
    if args.embedder == "vggish":
        options.update(weights=args.weights, pca=args.pca)
    summary = embed_store(store, args.embedder, device=args.device, batch_size=args.batch_size, force=args.force,
                          progress=not args.no_progress, epochs=args.epochs, random_state=args.seed, **options)
    print(f"{summary['embedder']}: {summary['embedded']} song(s) embedded ({summary['frames']} frames), "
          f"{summary['skipped']} already done, {len(summary['failed'])} failed, in {summary['seconds']:.1f} s")
    for song, reason in summary["failed"].items():
        print(f"  failed {song}: {reason}")
    return 0 if not summary["failed"] else 1
