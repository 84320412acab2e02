"""The local model cache: where pretrained weights live, and how they get there.

The cache folder is ``$SECTIONIST_MODEL_DIR`` or ``~/.cache/sectionist/models``. The musicnn
checkpoints come from the ``musicnn==0.1.0`` wheel on PyPI (ISC licence): :func:`fetch_musicnn`
runs ``python -m pip download --no-deps musicnn==0.1.0`` (so only PyPI is contacted, through pip's
own configuration), checks the wheel's SHA-256 and unpacks the four checkpoints into
``<cache>/musicnn/<model>/``. Nothing is ever downloaded at embedding time:
:func:`musicnn_checkpoint` raises a clear error when the cache is missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sectionist.analysis.errors import SectionistError

MUSICNN_WHEEL = "musicnn-0.1.0-py3-none-any.whl"
MUSICNN_REQUIREMENT = "musicnn==0.1.0"
#: SHA-256 of the wheel on PyPI (pip also checks PyPI's own hash while downloading).
MUSICNN_WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
MUSICNN_MODELS = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")
#: Files of each checkpoint folder that we unpack (the prefix is the folder itself).
CHECKPOINT_FILES = (".index", ".data-00000-of-00001", ".meta", "config.json")


class ModelMissingError(SectionistError):
    """Pretrained weights are not in the local model cache (or the given weights file is absent)."""


def model_dir() -> Path:
    """The model cache folder (``$SECTIONIST_MODEL_DIR`` or ``~/.cache/sectionist/models``)."""
    env = os.environ.get("SECTIONIST_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sectionist" / "models"


def musicnn_present(root: Path | None = None) -> bool:
    """Whether all four musicnn checkpoints are unpacked in the cache."""
    base = (root or model_dir()) / "musicnn"
    return all((base / m / f).is_file() for m in MUSICNN_MODELS for f in (".index", ".data-00000-of-00001"))


def musicnn_checkpoint(model: str, root: Path | None = None) -> str:
    """The checkpoint prefix (``"<cache>/musicnn/<model>/"``) of a musicnn model.

    Raises
    ------
    ModelMissingError
        When the checkpoint is not in the cache, telling the user to run ``sectionist models fetch``.
    """
    if model not in MUSICNN_MODELS:
        from sectionist.analysis.errors import ParameterError

        raise ParameterError(f"musicnn model {model!r}: choose one of {', '.join(MUSICNN_MODELS)}")
    folder = (root or model_dir()) / "musicnn" / model
    if not (folder / ".index").is_file() or not (folder / ".data-00000-of-00001").is_file():
        raise ModelMissingError(
            f"{folder}: the pretrained musicnn checkpoint {model} is not in the model cache. "
            "Run 'sectionist models fetch' (or 'make models') once to download the musicnn wheel "
            "from PyPI; set SECTIONIST_MODEL_DIR to use another cache folder."
        )
    return str(folder) + "/"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack_musicnn_wheel(wheel: Path, root: Path | None = None, *,
                         expected_sha256: str = MUSICNN_WHEEL_SHA256) -> Path:
    """Unpack the checkpoints of a local musicnn wheel into the cache; returns ``<cache>/musicnn``.

    Each model folder is written under a temporary name and renamed, so it appears complete or not at all.
    """
    wheel = Path(wheel)
    digest = _sha256(wheel)
    if digest != expected_sha256:
        raise SectionistError(f"{wheel}: SHA-256 {digest} is not that of {MUSICNN_WHEEL} ({expected_sha256})")
    dest = (root or model_dir()) / "musicnn"
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise SectionistError(f"{wheel}: not a wheel (zip) file") from None
    with zf:
        for model in MUSICNN_MODELS:
            final = dest / model
            tmp = Path(tempfile.mkdtemp(prefix=f".{model}.", dir=dest))
            os.chmod(tmp, 0o755)
            try:
                for fname in CHECKPOINT_FILES:
                    member = f"musicnn/{model}/{fname}"
                    try:
                        src = zf.open(member)
                    except KeyError:
                        raise SectionistError(f"{wheel}: not the musicnn 0.1.0 wheel (no {member})") from None
                    with src, open(tmp / fname, "wb") as out:
                        shutil.copyfileobj(src, out)
                if final.exists():
                    shutil.rmtree(final)
                os.replace(tmp, final)  # a checkpoint folder appears complete or not at all
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
        (dest / "LICENSE.md").write_bytes(zf.read("musicnn-0.1.0.dist-info/LICENSE.md"))
    return dest


def fetch_musicnn(root: Path | None = None, force: bool = False, wheel: Path | None = None) -> Path:
    """Put the musicnn checkpoints into the model cache (idempotent, fast when present).

    Parameters
    ----------
    root : Path, optional
        Cache folder (default :func:`model_dir`).
    force : bool
        Download and unpack again even when present.
    wheel : Path, optional
        A musicnn 0.1.0 wheel already on disk (offline set-up); otherwise pip downloads it from PyPI.

    Returns
    -------
    Path
        ``<cache>/musicnn``.
    """
    root = root or model_dir()
    if musicnn_present(root) and not force:
        return root / "musicnn"
    if wheel is not None:
        return unpack_musicnn_wheel(Path(wheel), root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="musicnn-wheel-", dir=root) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", MUSICNN_REQUIREMENT, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        path = Path(tmp) / MUSICNN_WHEEL
        if proc.returncode != 0 or not path.is_file():
            raise SectionistError(
                f"could not download {MUSICNN_REQUIREMENT} from PyPI with '{' '.join(cmd[2:])}': "
                f"{(proc.stderr or proc.stdout).strip()[-800:]}. Without internet, copy {MUSICNN_WHEEL} "
                "here and run 'sectionist models fetch --wheel PATH'."
            )
        return unpack_musicnn_wheel(path, root)
