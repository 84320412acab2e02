"""Fixtures for the S3 tests: moto's standalone S3 server on loopback, and a connection-dropping proxy.

Import the fixtures into a test module (``from s3_fixtures import moto_endpoint, s3``); nothing
here mocks boto3 — every request travels over TCP to a real HTTP server speaking the S3 protocol.
"""

from __future__ import annotations

import itertools
import socket
import threading
from types import SimpleNamespace

import pytest

_bucket_numbers = itertools.count()


@pytest.fixture(scope="module")
def moto_endpoint():
    """``http://127.0.0.1:PORT`` of a moto S3 server running in a thread for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def admin_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def s3(moto_endpoint, tmp_path, monkeypatch):
    """A fresh bucket on the moto server, with the environment a user would set.

    Returns a namespace: ``endpoint``, ``bucket``, ``client`` (an unrestricted client for checks
    behind the code's back), ``uri(prefix)`` → ``s3://bucket/prefix``, ``cache_dir``.
    """
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_S3", "SECTIONIST_S3_CACHE_MB", "SECTIONIST_S3_CACHE_TTL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # the library reads no SECTIONIST_* variable: boto3's own variable gives it the endpoint, and the
    # built-in cache folder is redirected; the sectionist command reads these two (Settings.from_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("SECTIONIST_S3_ENDPOINT", moto_endpoint)
    cache_dir = tmp_path / "s3-cache"
    monkeypatch.setenv("SECTIONIST_S3_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr("sectionist.store.cache.default_cache_dir", lambda: cache_dir)
    client = admin_client(moto_endpoint)
    bucket = f"sectionist-test-{next(_bucket_numbers)}-{id(tmp_path) % 100000}"
    client.create_bucket(Bucket=bucket)
    return SimpleNamespace(endpoint=moto_endpoint, bucket=bucket, client=client, cache_dir=cache_dir,
                           uri=lambda prefix="store": f"s3://{bucket}/{prefix}")


def object_bytes(client, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` (key relative to it) with its bytes, read directly."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix.rstrip("/")) + 1:]
            out[rel] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


_SLOW_DOWN_BODY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                   b"<Message>Please reduce your request rate.</Message></Error>")
#: S3's answer when it throttles (its documented error format), closing the connection
SLOW_DOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
             b"Content-Length: " + str(len(_SLOW_DOWN_BODY)).encode() + b"\r\n\r\n" + _SLOW_DOWN_BODY)


class FlakyProxy:
    """A TCP proxy on loopback that counts the bytes and cuts connections in the middle of uploads.

    Bytes are relayed both ways untouched. After :meth:`arm` (``drops``, ``every``), the proxy
    counts the bytes clients send; each time ``every`` bytes have gone up since the last cut, the
    connection carrying them is closed after forwarding exactly up to that point — in the middle
    of a request body when the bodies are larger than ``every`` — until ``drops`` cuts are done.
    After :meth:`throttle` (``n``), the next ``n`` requests get S3's ``503 SlowDown`` answer.
    """

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._drops_left = 0
        self._every = 0
        self._since_cut = 0
        self.cuts = 0
        self.connections = 0
        self.bytes_up = 0  # client → server, all connections
        self.bytes_down = 0  # server → client
        self._throttle_left = 0
        self.throttled = 0
        self._closing = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def arm(self, drops: int, every: int) -> None:
        with self._lock:
            self._drops_left, self._every, self._since_cut = int(drops), int(every), 0

    def throttle(self, requests: int) -> None:
        """Answer the next ``requests`` requests as S3 does when it throttles: ``503 SlowDown``."""
        with self._lock:
            self._throttle_left = int(requests)

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_up = self.bytes_down = 0

    def disarm(self) -> None:
        self.arm(0, 0)

    def close(self) -> None:
        self._closing = True
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                downstream.close()
                continue
            threading.Thread(target=self._pump_up, args=(downstream, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, downstream), daemon=True).start()

    @staticmethod
    def _close(*socks) -> None:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _pump_up(self, src, dst) -> None:
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                cut_at = None
                with self._lock:
                    self.bytes_up += len(data)
                    throttle = self._throttle_left > 0
                    if throttle:
                        self._throttle_left -= 1
                        self.throttled += 1
                if throttle:
                    src.sendall(SLOW_DOWN)
                    self._close(src, dst)
                    return
                with self._lock:
                    if self._drops_left > 0:
                        if self._since_cut + len(data) >= self._every:
                            cut_at = self._every - self._since_cut
                            self._drops_left -= 1
                            self._since_cut = 0
                            self.cuts += 1
                        else:
                            self._since_cut += len(data)
                if cut_at is not None:
                    dst.sendall(data[:cut_at])
                    self._close(src, dst)
                    return
                dst.sendall(data)
        except OSError:
            pass
        self._close(src, dst)

    def _pump_down(self, src, dst) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    self.bytes_down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        self._close(src, dst)


@pytest.fixture
def flaky_proxy(moto_endpoint):
    """A :class:`FlakyProxy` in front of the module's moto server (disarmed at first)."""
    host, port = moto_endpoint.removeprefix("http://").split(":")
    proxy = FlakyProxy(host, int(port))
    yield proxy
    proxy.close()
