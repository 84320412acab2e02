"""Stores and song files on S3 (or any S3-compatible service).

``open_store("s3://bucket/prefix")`` returns an :class:`S3Store`: the same tables as a local
folder (:mod:`store`), one object per key under the prefix. Configuration comes from the
standard AWS chain (environment, ``~/.aws``, instance profile); ``endpoint_url`` points at an
S3-compatible service such as MinIO. Nothing here reads a ``SECTIONIST_*`` variable: the entry
points read them once (:class:`sectionist.settings.Settings`) and pass the values as parameters.

Safety
    Every object is written by one PUT, which S3 applies atomically: a dropped connection leaves
    the old object or none, never half of one. The pipeline and :func:`sync` write
    ``manifest.json`` last, so an interrupted upload never looks like a complete store.
Concurrent writers
    :meth:`S3Store.swap_bytes` (behind :meth:`Store.update_manifest`) is a conditional PUT: ``If-Match``
    the ETag it read, ``If-None-Match: *`` when there was nothing; a writer that lost the race reads
    again and retries.
Retries
    botocore's ``standard`` retry mode (exponential backoff with jitter on throttling, 5xx and
    connection errors), and around it a few more attempts of the whole operation for dropped
    connections and truncated downloads.
Errors
    (:mod:`sectionist.store.s3errors`) A missing bucket, refused credentials, a denied action, a wrong region or an unreachable
    endpoint become a :class:`~sectionist.store.errors.StoreError` that says which and what to check.
Reads
    Parts are read through a local :class:`~sectionist.store.cache.ReadThroughCache` (size-limited,
    dropped when the manifest's ``version`` changes). Song files are read with ranged GETs through
    :class:`S3RangeFile`, which :class:`soundfile.SoundFile` opens like a local file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from urllib.parse import urlparse

from sectionist.store.base import Store
from sectionist.store.errors import ParameterError, StoreError
from sectionist.store.s3errors import is_conflict, is_missing, s3_error, with_retries
from sectionist.store.schema import MANIFEST

#: Attempts of one whole operation on a dropped connection (each one already retried by botocore).
OUTER_ATTEMPTS = 4
#: Attempts botocore makes for one request (throttling, 5xx, connection errors).
BOTOCORE_ATTEMPTS = 6


class S3NotFound(StoreError):
    """The object does not exist (a :class:`StoreError`, so callers may treat it like any other)."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into ``(bucket, prefix)``; the prefix has no slash at either end."""
    parsed = urlparse(str(uri))
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StoreError(f"{uri}: not an S3 URI (expected s3://bucket/prefix)")
    bucket = parsed.netloc
    if not 3 <= len(bucket) <= 63 or bucket != bucket.lower() or " " in bucket:
        raise StoreError(f"{uri}: {bucket!r} is not a valid bucket name (3–63 lower-case characters)")
    prefix = parsed.path.strip("/")
    if ".." in prefix.split("/"):
        raise StoreError(f"{uri}: '..' is not allowed in the prefix")
    return bucket, prefix


def make_client(endpoint_url: str | None = None, region: str | None = None, *,
                max_attempts: int = BOTOCORE_ATTEMPTS, retry_mode: str = "standard",
                connect_timeout: float = 5.0, read_timeout: float = 60.0, **client_kwargs):
    """A boto3 S3 client with retries and timeouts set.

    Parameters
    ----------
    endpoint_url : str, optional
        An S3-compatible endpoint (``http://127.0.0.1:9000``). Default: the AWS chain
        (``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, AWS itself).
    region : str, optional
        Default: the AWS chain (``$AWS_REGION``, ``~/.aws/config``); ``us-east-1`` for a custom
        endpoint when none is configured.
    max_attempts : int
        botocore's attempts per request (1 = no retry).
    retry_mode : {"standard", "adaptive"}
        botocore retry mode; ``adaptive`` also rate-limits the client when S3 throttles.
    client_kwargs
        Passed to ``boto3.session.Session.client`` (``aws_access_key_id``, …).
    """
    import boto3
    from botocore.config import Config

    if retry_mode not in ("standard", "adaptive", "legacy"):
        raise ParameterError(f"retry_mode={retry_mode!r}: use 'standard' or 'adaptive'")
    endpoint_url = endpoint_url or None
    session = boto3.session.Session()
    if region is None and session.region_name is None and endpoint_url:
        region = "us-east-1"
    config = Config(
        retries={"total_max_attempts": int(max_attempts), "mode": retry_mode},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # S3-compatible services (MinIO, moto, Ceph) want path-style addressing
        s3={"addressing_style": "path"} if endpoint_url else None,
        user_agent_extra="sectionist",
    )
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config, **client_kwargs)


# ---- the store --------------------------------------------------------------------------------
class S3Store(Store):
    """A store under ``s3://bucket/prefix``.

    Parameters
    ----------
    uri : str
        ``s3://bucket`` or ``s3://bucket/prefix``.
    create : bool
        When ``False``, an empty prefix is an error ("no store there"); the bucket itself must
        exist either way (buckets are created by whoever owns the account, not by sectionist).
    endpoint_url, region : str, optional
        See :func:`make_client`.
    client : botocore client, optional
        Use this client instead of making one.
    cache : bool
        Read parts through a local :class:`~sectionist.store.cache.ReadThroughCache`. Default: on, unless
        ``cache_max_bytes`` is ``0``.
    cache_dir : str or Path, optional
        Cache base folder (default :func:`sectionist.store.cache.default_cache_dir`); one sub-folder per store.
    cache_max_bytes : int, optional
        Cache size limit (default :data:`sectionist.store.cache.DEFAULT_MAX_BYTES`, 1 GiB).
    cache_ttl : float, optional
        Seconds between checks of the manifest version (default :data:`sectionist.store.cache.DEFAULT_TTL`, 10).
    attempts : int
        Outer attempts of each operation on dropped connections (:data:`OUTER_ATTEMPTS`).
    max_attempts, retry_mode
        botocore's retry settings (see :func:`make_client`).
    """

    def __init__(self, uri: str, create: bool = True, *, endpoint_url: str | None = None,
                 region: str | None = None, client=None, cache: bool | None = None, cache_dir=None,
                 cache_max_bytes: int | None = None, cache_ttl: float | None = None,
                 attempts: int = OUTER_ATTEMPTS, max_attempts: int = BOTOCORE_ATTEMPTS,
                 retry_mode: str = "standard", **client_kwargs):
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.uri = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self._root = f"{self.prefix}/" if self.prefix else ""
        if attempts < 1:
            raise ParameterError(f"attempts={attempts}: must be >= 1")
        self.attempts = int(attempts)
        self.client = client or make_client(endpoint_url, region, max_attempts=max_attempts,
                                            retry_mode=retry_mode, **client_kwargs)
        self.endpoint_url = self.client.meta.endpoint_url
        self.region = self.client.meta.region_name
        self.cache = self._make_cache(cache, cache_dir, cache_max_bytes, cache_ttl)
        self._check(create)

    def _make_cache(self, cache, cache_dir, cache_max_bytes, cache_ttl):
        from sectionist.store.cache import DEFAULT_MAX_BYTES, DEFAULT_TTL, ReadThroughCache, cache_dir_for, default_cache_dir

        if cache is None:
            cache = cache_max_bytes is None or cache_max_bytes > 0
        if not cache:
            return None
        if cache_ttl is None:
            cache_ttl = DEFAULT_TTL
        base = cache_dir if cache_dir is not None else default_cache_dir()
        ident = f"{self.endpoint_url}|{self.uri}"
        return ReadThroughCache(cache_dir_for(base, ident), max_bytes=cache_max_bytes or DEFAULT_MAX_BYTES,
                                ttl=cache_ttl)

    # ---- plumbing ------------------------------------------------------------------------------
    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StoreError(f"bad key {key!r} for store {self.uri}")
        return self._root + key

    def _call(self, action: str, where: str, fn):
        try:
            return with_retries(fn, attempts=self.attempts, what=f"{action} {where}")
        except StoreError:
            raise
        except Exception as exc:
            if is_missing(exc):
                raise
            raise s3_error(exc, where, action, endpoint=self.endpoint_url, region=self.region,
                           attempts=self.attempts) from exc

    def _check(self, create: bool) -> None:
        """List one key: a missing bucket, bad credentials or a wrong region show up here, clearly."""
        resp = self._call("list", self.uri, lambda: self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._root, MaxKeys=1))
        if not create and not resp.get("KeyCount", len(resp.get("Contents", []))):
            raise StoreError(f"{self.uri}: no store there (no objects under the prefix)")

    # ---- byte level ----------------------------------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        if self.cache is not None and key != MANIFEST:
            if self.cache.needs_version_check():
                self._refresh_version()
            data = self.cache.get(key)
            if data is not None:
                return data
        data = self._get(key)
        if self.cache is not None:
            if key == MANIFEST:
                self._observe_manifest(data)
            else:
                self.cache.put(key, data)
        return data

    def _get(self, key: str, range_header: str | None = None) -> bytes:
        full = self._key(key)
        kwargs = {"Bucket": self.bucket, "Key": full}
        if range_header:
            kwargs["Range"] = range_header

        def get():
            # reading the body is inside the retried call: a download cut short is tried again
            return self.client.get_object(**kwargs)["Body"].read()

        try:
            return self._call("read", f"{self.uri}/{key}", get)
        except Exception as exc:
            if is_missing(exc):
                raise S3NotFound(f"{self.uri}/{key}: not found") from None
            raise

    def read_json(self, key: str, default=None):
        # one GET instead of the base class's HEAD + GET (the dashboard polls the manifest)
        try:
            data = self.read_bytes(key)
        except S3NotFound:
            return default
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.uri}/{key}: not valid JSON ({exc})") from None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from byte ``start`` (fewer at the end of the object), one ranged GET."""
        if start < 0 or length < 0:
            raise ParameterError(f"read_range(start={start}, length={length}): must be >= 0")
        if length == 0:
            return b""
        try:
            return self._get(key, f"bytes={start}-{start + length - 1}")
        except StoreError as exc:
            cause = exc.__cause__
            if cause is not None and getattr(cause, "response", {}).get("Error", {}).get("Code") == "InvalidRange":
                return b""  # start at or past the end
            raise

    def ends(self, key: str, head: int, tail: int) -> tuple[bytes, bytes, int]:
        """Two ranged GETs (the object's first ``head`` bytes; its last ``tail`` and its size from
        ``Content-Range``): a part's footer is checked without downloading the part."""
        full = self._key(key)

        def get_tail():
            resp = self.client.get_object(Bucket=self.bucket, Key=full, Range=f"bytes=-{max(tail, 1)}")
            total = str(resp.get("ContentRange", "")).rpartition("/")[2]
            body = resp["Body"].read()
            return body, int(total) if total.isdigit() else len(body)

        try:
            last, size = self._call("read", f"{self.uri}/{key}", get_tail)
        except Exception as exc:
            if is_missing(exc):
                raise S3NotFound(f"{self.uri}/{key}: not found") from None
            cause = exc.__cause__
            if cause is not None and getattr(cause, "response", {}).get("Error", {}).get("Code") == "InvalidRange":
                return b"", b"", 0  # an empty object
            raise
        first = self.read_range(key, 0, head) if head else b""
        return first, last[-tail:] if tail else b"", size

    def write_bytes(self, key: str, data: bytes) -> None:
        full = self._key(key)
        data = bytes(data)
        md5 = hashlib.md5(data).digest()
        # Content-MD5 makes S3 reject a body that arrived damaged; one PUT is applied atomically
        self._call("write", f"{self.uri}/{key}", lambda: self.client.put_object(
            Bucket=self.bucket, Key=full, Body=data, ContentMD5=base64.b64encode(md5).decode()))
        if self.cache is not None:
            if key == MANIFEST:
                self._observe_manifest(data)
            else:
                self.cache.invalidate(key)

    def swap_bytes(self, key: str, make) -> bytes | None:
        """A conditional PUT: ``If-Match`` the ETag read (``If-None-Match: *`` when there was no object);
        ``None`` when S3 refuses it because another writer got in first (412, or 409 while another
        conditional write of the key is in flight)."""
        full, where = self._key(key), f"{self.uri}/{key}"

        def get():
            resp = self.client.get_object(Bucket=self.bucket, Key=full)
            return resp["Body"].read(), resp["ETag"]

        try:
            old, etag = self._call("read", where, get)
        except Exception as exc:
            if not is_missing(exc):
                raise
            old, etag = None, None
        data = bytes(make(old))
        md5 = hashlib.md5(data)
        kwargs = {"Bucket": self.bucket, "Key": full, "Body": data, "ContentMD5": base64.b64encode(md5.digest()).decode()}
        kwargs.update({"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"})
        tries = []

        def put():
            tries.append(1)
            return self.client.put_object(**kwargs)

        try:
            with_retries(put, attempts=self.attempts, what=f"write {where}")
        except Exception as exc:
            if not (is_conflict(exc) or etag is not None and is_missing(exc)):
                raise s3_error(exc, where, "write", endpoint=self.endpoint_url, region=self.region,
                               attempts=self.attempts) from exc
            # refused: by another writer, or (after a dropped connection) because our own first try landed
            if len(tries) < 2 or self.list_etags(key).get(key) != md5.hexdigest():
                return None
        if self.cache is not None and key == MANIFEST:
            self._observe_manifest(data)
        return data

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self._call("look up", f"{self.uri}/{key}",
                       lambda: self.client.head_object(Bucket=self.bucket, Key=full))
            return True
        except Exception as exc:
            if is_missing(exc):
                return False
            raise

    def list(self, prefix: str = "") -> list[str]:
        return sorted(self.list_etags(prefix))

    def list_etags(self, prefix: str = "") -> dict[str, str]:
        """Every key under ``prefix`` with its ETag (the MD5 of the object for single-PUT objects)."""
        if prefix.startswith("/") or ".." in prefix.split("/"):
            raise StoreError(f"bad prefix {prefix!r} for store {self.uri}")
        full = self._root + prefix

        def list_all():
            out = {}
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(self._root):]
                    if rel and not rel.endswith("/") and not rel.rsplit("/", 1)[-1].startswith("."):
                        out[rel] = obj.get("ETag", "").strip('"')
            return out

        return self._call("list", f"{self.uri}/{prefix}", list_all)

    def delete(self, key: str) -> None:
        full = self._key(key)
        self._call("delete", f"{self.uri}/{key}",
                   lambda: self.client.delete_object(Bucket=self.bucket, Key=full))
        if self.cache is not None and key != MANIFEST:
            self.cache.invalidate(key)

    def size(self, key: str) -> int:
        """Size of the object ``key`` in bytes."""
        full = self._key(key)
        try:
            head = self._call("look up", f"{self.uri}/{key}",
                              lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        except Exception as exc:
            if is_missing(exc):
                raise S3NotFound(f"{self.uri}/{key}: not found") from None
            raise
        return int(head["ContentLength"])

    # ---- cache versions --------------------------------------------------------------------------
    def _refresh_version(self) -> None:
        try:
            data = self._get(MANIFEST)
        except S3NotFound:
            self.cache.observe_version(0)
            return
        self._observe_manifest(data)

    def _observe_manifest(self, data: bytes) -> None:
        try:
            version = int(json.loads(data).get("version", 0))
        except (ValueError, AttributeError, TypeError):
            version = 0
        self.cache.observe_version(version)

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r}, endpoint_url={self.endpoint_url!r})"


# ---- ranged reads of song files -------------------------------------------------------------------
class S3RangeFile(io.RawIOBase):
    """A read-only, seekable file object over one S3 object, read with ranged GETs.

    :class:`soundfile.SoundFile` accepts it like a local file, so only the bytes of the frames
    asked for (plus the header and a small read-ahead) travel::

        with S3RangeFile("bucket", "songs/a.flac", client) as fh, soundfile.SoundFile(fh) as sf:
            sf.seek(int(30 * sf.samplerate))
            y = sf.read(int(15 * sf.samplerate))

    Parameters
    ----------
    bucket, key : str
        The object.
    client : botocore S3 client
        See :func:`make_client`.
    readahead : int
        Minimum bytes fetched by one GET (the buffer kept for the next reads). While reads go on
        sequentially it doubles, up to ``max_readahead``, so a long span takes few requests.
    max_readahead : int
        Largest read-ahead: a span costs at most its own bytes, the header's GET and this much more.
    size : int, optional
        The object's size, when known (saves a HEAD request).
    attempts : int
        Outer attempts per GET on dropped connections.

    Attributes
    ----------
    bytes_fetched : int
        Body bytes received so far. ``requests`` counts the GETs (and the HEAD).
    """

    def __init__(self, bucket: str, key: str, client, *, readahead: int = 64 * 1024,
                 max_readahead: int = 256 * 1024, size: int | None = None, attempts: int = OUTER_ATTEMPTS):
        super().__init__()
        if readahead < 1:
            raise ParameterError(f"readahead={readahead}: must be >= 1 byte")
        self.bucket, self.key, self.client = bucket, key, client
        self.name = f"s3://{bucket}/{key}"
        self.readahead = int(readahead)
        self.max_readahead = max(int(max_readahead), self.readahead)
        self._ahead = self.readahead
        self.attempts = int(attempts)
        self.bytes_fetched = 0
        self.requests = 0
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        if size is None:
            size = self._head()
        self._size = int(size)

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None, region: str | None = None,
                 client=None, **kwargs) -> "S3RangeFile":
        """Open ``s3://bucket/key``."""
        bucket, key = parse_s3_uri(uri)
        if not key:
            raise StoreError(f"{uri}: no object key in the URI")
        return cls(bucket, key, client or make_client(endpoint_url, region), **kwargs)

    def _head(self) -> int:
        self.requests += 1
        try:
            head = with_retries(lambda: self.client.head_object(Bucket=self.bucket, Key=self.key),
                                 attempts=self.attempts, what=f"look up {self.name}")
        except Exception as exc:
            if is_missing(exc):
                raise S3NotFound(f"{self.name}: not found") from None
            raise s3_error(exc, self.name, "read", endpoint=self.client.meta.endpoint_url) from exc
        return int(head["ContentLength"])

    def _fetch(self, start: int, length: int) -> bytes:
        end = min(self._size, start + length) - 1
        if end < start:
            return b""
        self.requests += 1

        def get():
            return self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}")["Body"].read()

        try:
            data = with_retries(get, attempts=self.attempts, what=f"read {self.name}")
        except Exception as exc:
            raise s3_error(exc, self.name, "read", endpoint=self.client.meta.endpoint_url) from exc
        self.bytes_fetched += len(data)
        return data

    # ---- io.RawIOBase ------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"whence={whence}: use 0, 1 or 2")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, b) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        want = min(len(view), max(0, self._size - self._pos))
        done = 0
        while done < want:
            offset = self._pos - self._buf_start
            if 0 <= offset < len(self._buf):
                n = min(want - done, len(self._buf) - offset)
                view[done:done + n] = self._buf[offset:offset + n]
                done += n
                self._pos += n
                continue
            # one GET for everything still wanted, at least the read-ahead; a read that goes on
            # where the buffer ended is sequential streaming: fetch more ahead next time
            sequential = self._buf and self._pos == self._buf_start + len(self._buf)
            self._ahead = min(self._ahead * 2, self.max_readahead) if sequential else self.readahead
            self._buf = self._fetch(self._pos, max(want - done, self._ahead))
            self._buf_start = self._pos
            if not self._buf:
                break
        return done

    def readall(self) -> bytes:
        out = bytearray(max(0, self._size - self._pos))
        n = self.readinto(out)
        return bytes(out[:n])

    @property
    def size(self) -> int:
        """The object's size in bytes."""
        return self._size


def open_uri(uri: str, **options):
    """A binary file object for a song path or ``s3://`` URI (ranged reads on S3).

    ``options`` (``endpoint_url``, ``region``, ``client``, ``readahead``) apply to S3 only.
    """
    if str(uri).startswith("s3://"):
        return S3RangeFile.from_uri(str(uri), **options)
    try:
        return open(uri, "rb")
    except OSError as exc:
        raise StoreError(f"{uri}: cannot open ({exc.strerror})") from None
