"""``sectionist sync``: copy a store between a folder and S3 (either way), manifest last.

Only keys that are missing or differ (by MD5, or ETag on S3) are copied; ``manifest.json`` is
written last, so an interrupted sync never leaves the destination looking complete. Optionally the
song files go up to S3 too and the destination's ``songs`` table points at them.
"""

from __future__ import annotations

import hashlib
import json
import logging

from sectionist.store import open_store
from sectionist.store.base import Store
from sectionist.store.errors import ParameterError, StoreError
from sectionist.store.s3 import OUTER_ATTEMPTS, S3Store, make_client, parse_s3_uri
from sectionist.store.s3errors import is_missing, s3_error, with_retries
from sectionist.store.schema import MANIFEST, SONGS

log = logging.getLogger(__name__)


# -----------------------------------------------------------------------------------------
def _fingerprints(store: Store) -> dict[str, str | None]:
    """key → MD5 hex (``None`` when unknown) for every key of ``store``."""
    if isinstance(store, S3Store):
        # a multipart ETag ("…-3") is not an MD5: unknown, so always copied
        return {k: (e if e and "-" not in e else None) for k, e in store.list_etags("").items()}
    out = {}
    for key in store.list(""):
        path = store.local_path(key)
        if path is None:
            out[key] = None
            continue
        h = hashlib.md5()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out[key] = h.hexdigest()
    return out


class _MemoryStore(Store):
    """Bytes in a dict: renders a part exactly as :meth:`Store.write_part` would write it."""

    uri = "memory:"

    def __init__(self):
        self.data: dict[str, bytes] = {}

    def read_bytes(self, key: str) -> bytes:
        return self.data[key]

    def write_bytes(self, key: str, data: bytes) -> None:
        self.data[key] = bytes(data)

    def exists(self, key: str) -> bool:
        return key in self.data

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def _upload_song(client, path, bucket: str, key: str, *, attempts: int) -> bool:
    """Upload the song file ``path`` to ``s3://bucket/key`` unless an object of the same size is there.

    Large files go up in parts (boto3's transfer manager); S3 shows the object only once the
    upload completes, so an interrupted one leaves nothing behind. Returns whether it uploaded.
    """
    from pathlib import Path

    path = Path(path)
    where = f"s3://{bucket}/{key}"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"{path}: the song file cannot be read ({exc.strerror}); cannot upload it to {where}") from None
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        if int(head["ContentLength"]) == size:
            return False
    except Exception as exc:
        if not is_missing(exc):
            raise s3_error(exc, where, "look up", endpoint=client.meta.endpoint_url) from exc
    try:
        with_retries(lambda: client.upload_file(str(path), bucket, key), attempts=attempts, what=f"upload {where}")
    except Exception as exc:
        # boto3's transfer manager wraps the client's error in S3UploadFailedError
        raise s3_error(exc.__cause__ or exc, where, "write", endpoint=client.meta.endpoint_url,
                       attempts=attempts) from exc
    return True


def _songs_with_s3_uris(src: Store, part: str, songs_to: str, client, *, attempts: int,
                        uploaded: list) -> bytes:
    """The ``songs`` part ``part`` with every local ``uri`` uploaded under ``songs_to`` and rewritten."""
    from pathlib import Path

    bucket, prefix = parse_s3_uri(songs_to)
    df = src.read_part(SONGS, part)
    if "uri" in df.columns:
        uris = []
        for song_id, uri in zip(df["song_id"], df["uri"]):
            uri = str(uri)
            if not uri.startswith("s3://"):
                key = f"{prefix}/{song_id}{Path(uri).suffix.lower()}".lstrip("/")
                if _upload_song(client, uri, bucket, key, attempts=attempts):
                    uploaded.append(f"s3://{bucket}/{key}")
                uri = f"s3://{bucket}/{key}"
            uris.append(uri)
        df["uri"] = uris
    mem = _MemoryStore()
    mem.write_part(SONGS, part, df)
    return mem.read_bytes(Store.part_key(SONGS, part))


def sync(src_uri: str, dst_uri: str, *, endpoint_url: str | None = None, region: str | None = None,
         delete: bool = False, dry_run: bool = False, progress: bool = True, songs_to: str | None = None,
         src_options: dict | None = None, dst_options: dict | None = None) -> dict:
    """Copy the store at ``src_uri`` to ``dst_uri`` (folder ↔ ``s3://`` either way, or S3 to S3).

    Only keys that are missing in the destination or differ (by MD5) are copied. ``manifest.json``
    is written last, so an interrupted sync never leaves the destination looking complete and
    new; its ``version`` is raised above the destination's old one, so caches notice.

    Parameters
    ----------
    src_uri, dst_uri : str
        Store roots: folders or ``s3://bucket/prefix``.
    endpoint_url, region : str, optional
        For the S3 side(s) (see :func:`make_client`).
    delete : bool
        Also delete destination keys that the source does not have.
    dry_run : bool
        Only count what would be copied and deleted.
    songs_to : str, optional
        ``s3://bucket/prefix`` for the song files: each song whose ``songs.uri`` is a local path
        is uploaded there (as ``{song_id}{suffix}``, skipped when already there with the same
        size) and the destination's ``songs`` table points at it, so the dashboard streams
        section audio from S3 with ranged reads.
    src_options, dst_options : dict, optional
        Extra options for :func:`analysis.store.open_store` of each side (override the above).

    Returns
    -------
    dict
        ``copied``, ``skipped``, ``deleted`` (lists of keys), ``bytes`` copied and ``songs``
        (the song files uploaded).
    """
    from tqdm.auto import tqdm


    def options(uri, extra):
        if not str(uri).startswith("s3://"):
            return dict(extra or {})
        # a sync reads everything once: no point in filling the read cache
        return {"endpoint_url": endpoint_url, "region": region, "cache": False, **(extra or {})}

    src = open_store(src_uri, create=False, **options(src_uri, src_options))
    src_manifest_raw = src.read_bytes(MANIFEST) if src.exists(MANIFEST) else None
    if src_manifest_raw is None:
        raise StoreError(f"{src.uri}: no {MANIFEST} — not a complete store (is an analysis still "
                         "running, or was it interrupted?); nothing copied")
    try:
        src_manifest = json.loads(src_manifest_raw)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{src.uri}/{MANIFEST}: not valid JSON ({exc})") from None
    dst = open_store(dst_uri, create=True, **options(dst_uri, dst_options))
    if dst.uri == src.uri and type(dst) is type(src) and getattr(dst, "endpoint_url", None) == getattr(src, "endpoint_url", None):
        raise ParameterError(f"sync {src.uri} to itself")

    src_fp = _fingerprints(src)
    dst_fp = _fingerprints(dst)
    src_fp.pop(MANIFEST, None)
    result = {"copied": [], "skipped": [], "deleted": [], "bytes": 0, "songs": []}

    # the songs parts change on the way when their files go to S3: compare what will be written
    rendered: dict[str, bytes] = {}
    if songs_to:
        if not str(songs_to).startswith("s3://"):
            raise ParameterError(f"songs_to={songs_to!r}: give an s3://bucket/prefix for the song files")
        song_client = dst.client if isinstance(dst, S3Store) else make_client(endpoint_url, region)
        for key in sorted(k for k in src_fp if k.startswith("songs/") and k.endswith(".parquet")):
            part = key[len("songs/"):-len(".parquet")]
            if dry_run:
                src_fp[key] = None
                continue
            data = _songs_with_s3_uris(src, part, songs_to, song_client, attempts=OUTER_ATTEMPTS,
                                       uploaded=result["songs"])
            rendered[key] = data
            src_fp[key] = hashlib.md5(data).hexdigest()

    to_copy = [k for k, fp in src_fp.items() if fp is None or dst_fp.get(k) != fp]
    result["copied"] = sorted(to_copy)
    result["skipped"] = sorted(set(src_fp) - set(to_copy))
    result["deleted"] = sorted(k for k in dst_fp if k not in src_fp and k != MANIFEST) if delete else []
    if dry_run:
        return result

    for key in tqdm(sorted(to_copy), desc=f"sync → {dst.uri}", unit="file", disable=not progress):
        data = rendered[key] if key in rendered else src.read_bytes(key)
        dst.write_bytes(key, data)
        result["bytes"] += len(data)
    for key in result["deleted"]:
        dst.delete(key)

    # the manifest last: only now does the destination look complete
    old = dst.read_json(MANIFEST, default={}) or {}
    manifest = dict(src_manifest)
    changed = bool(to_copy or result["deleted"]) or old.get("config") != manifest.get("config")
    old_version = int(old.get("version", 0) or 0)
    if changed or old_version < int(manifest.get("version", 0) or 0) or not old:
        manifest["version"] = max(int(manifest.get("version", 0) or 0), old_version + 1)
        dst.write_json(MANIFEST, manifest)
        result["bytes"] += len(src_manifest_raw)
    return result


