"""S3Store against moto's S3 server on loopback: bytes, tables, listing, errors, IAM policy."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from moto.core.authorization import enable_iam_authentication
from s3_fixtures import admin_client, flaky_proxy, moto_endpoint, s3  # noqa: F401  (fixtures)

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.store import MANIFEST, open_store
from sectionist.store.s3 import S3Store, parse_s3_uri

REPO = Path(__file__).resolve().parents[1]


def test_parse_s3_uri():
    assert parse_s3_uri("s3://bucket-a/some/prefix/") == ("bucket-a", "some/prefix")
    assert parse_s3_uri("s3://bucket-a") == ("bucket-a", "")
    with pytest.raises(StoreError, match="not a valid bucket name"):
        parse_s3_uri("s3://Bad_Bucket/x")
    with pytest.raises(StoreError, match=r"'\.\.'"):
        parse_s3_uri("s3://bucket-a/x/../y")


def test_bytes_roundtrip_list_exists_delete(s3):
    store = open_store(s3.uri("runs/a"), endpoint_url=s3.endpoint)
    assert isinstance(store, S3Store)
    assert store.uri == f"s3://{s3.bucket}/runs/a"
    assert store.list() == []
    store.write_bytes("x/one.bin", b"\x00\x01" * 1000)
    store.write_bytes("x/sub/two.bin", b"two")
    store.write_bytes("top.txt", b"top")
    # a sibling prefix that merely starts with the same letters is not part of the store
    s3.client.put_object(Bucket=s3.bucket, Key="runs/ab/intruder.txt", Body=b"no")
    assert store.list() == ["top.txt", "x/one.bin", "x/sub/two.bin"]
    assert store.list("x/") == ["x/one.bin", "x/sub/two.bin"]
    assert store.read_bytes("x/one.bin") == b"\x00\x01" * 1000
    assert store.exists("top.txt") and not store.exists("nothing.txt")
    # what the code wrote is really on the server, under the prefix
    body = s3.client.get_object(Bucket=s3.bucket, Key="runs/a/x/sub/two.bin")["Body"].read()
    assert body == b"two"
    store.delete("top.txt")
    store.delete("top.txt")  # deleting twice is fine, as on a local disk
    assert not store.exists("top.txt")
    assert store.size("x/one.bin") == 2000
    with pytest.raises(StoreError, match="not found"):
        store.read_bytes("top.txt")
    with pytest.raises(StoreError, match="bad key"):
        store.read_bytes("../escape")


def test_tables_and_manifest_roundtrip(s3):
    rng = np.random.default_rng(0)
    store = open_store(s3.uri(), endpoint_url=s3.endpoint)
    feats = pd.DataFrame({
        "section_id": [f"abc-{i:05d}" for i in range(50)],
        "song_id": "abc",
        "rms_median": rng.random(50).astype(np.float32),
    })
    store.write_part("features", "abc", feats)
    store.write_part("features", "def", feats.assign(song_id="def"))
    store.write_manifest({"config": {"hash": "h1"}})
    store.write_manifest(store.read_manifest())

    reopened = open_store(s3.uri(), create=False)  # endpoint from AWS_ENDPOINT_URL_S3 (boto3)
    assert reopened.tables() == ["features"]
    assert reopened.list_parts("features") == ["abc", "def"]
    table = reopened.read_table("features")
    assert len(table) == 100 and table["rms_median"].dtype == np.float32
    pd.testing.assert_frame_equal(reopened.read_part("features", "abc"), feats)
    manifest = reopened.read_manifest()
    assert manifest["version"] == 2 and manifest["config"] == {"hash": "h1"}
    reopened.delete_part("features", "def")
    assert reopened.list_parts("features") == ["abc"]


def test_missing_bucket_is_a_clear_error(s3):
    with pytest.raises(StoreError, match="bucket does not exist"):
        open_store(f"s3://no-such-bucket-{s3.bucket}/store")


def test_open_without_create_needs_a_store(s3):
    with pytest.raises(StoreError, match="no store there"):
        open_store(s3.uri("empty"), create=False)


def test_unreachable_endpoint_is_a_clear_error(s3):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="cannot reach the S3 endpoint"):
        S3Store(s3.uri(), endpoint_url=f"http://127.0.0.1:{port}", attempts=2, max_attempts=1)


def test_bad_options_are_parameter_errors(s3):
    with pytest.raises(ParameterError, match="attempts"):
        S3Store(s3.uri(), attempts=0)
    with pytest.raises(ParameterError, match="retry_mode"):
        S3Store(s3.uri(), retry_mode="sometimes")


@pytest.fixture
def iam_reader(s3):
    """Credentials of an IAM user holding deploy/iam-policy.json for s3.bucket, store/ and songs/.

    Requests are checked against IAM only inside ``enable_iam_authentication()`` (moto's switch).

    moto does not evaluate the policy's ``s3:prefix`` condition (it knows no S3 condition keys),
    so the condition is left out here; test_iam_policy_is_read_only_and_scoped checks it.
    """
    text = (REPO / "deploy" / "iam-policy.json").read_text()
    text = text.replace("BUCKET_NAME", s3.bucket).replace("STORE_PREFIX", "store").replace("SONGS_PREFIX", "songs")
    policy = json.loads(text)
    for statement in policy["Statement"]:
        statement.pop("Condition", None)
    import boto3

    iam = boto3.client("iam", endpoint_url=s3.endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    user = f"reader-{s3.bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="sectionist-read-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_iam_policy_is_read_only_and_scoped():
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    actions = {a for st in policy["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    assert all(st["Effect"] == "Allow" for st in policy["Statement"])
    listing = next(st for st in policy["Statement"] if st["Action"] == "s3:ListBucket")
    assert listing["Resource"] == "arn:aws:s3:::BUCKET_NAME"
    assert set(listing["Condition"]["StringLike"]["s3:prefix"]) == {"STORE_PREFIX/*", "SONGS_PREFIX/*"}
    reading = next(st for st in policy["Statement"] if st["Action"] == "s3:GetObject")
    assert all(r.startswith("arn:aws:s3:::BUCKET_NAME/") and r.endswith("/*") for r in reading["Resource"])


def test_iam_policy_reads_but_never_writes(s3, iam_reader, monkeypatch):
    writer = open_store(s3.uri())  # the admin's credentials, before switching
    writer.write_part("songs", "abc", pd.DataFrame({"song_id": ["abc"], "title": ["t"]}))
    writer.write_manifest({})
    s3.client.put_object(Bucket=s3.bucket, Key="private/secret.txt", Body=b"no")

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", iam_reader[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", iam_reader[1])
    with enable_iam_authentication():
        reader = open_store(s3.uri(), create=False, cache=False)
        assert reader.read_table("songs")["title"].tolist() == ["t"]
        assert reader.read_manifest()["version"] == 1
        with pytest.raises(StoreError, match="access denied to write"):
            reader.write_bytes("songs/evil.parquet", b"x")
        with pytest.raises(StoreError, match="access denied to delete"):
            reader.delete("manifest.json")
        # (listing "private/" is allowed here only because moto ignores the s3:prefix condition)
        other = open_store(s3.uri("private"), cache=False)
        with pytest.raises(StoreError, match="access denied to read"):
            other.read_bytes("secret.txt")


def test_wrong_credentials_are_a_clear_error(s3, iam_reader, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with enable_iam_authentication(), pytest.raises(StoreError, match="credentials were refused"):
        open_store(s3.uri())


def test_no_credentials_is_a_clear_error(s3, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StoreError, match="no AWS credentials found"):
        open_store(s3.uri(), max_attempts=1)


def test_manifest_is_plain_json_on_the_server(s3):
    store = open_store(s3.uri())
    store.write_manifest({"songs": {"a.wav": {"status": "ok"}}})
    raw = s3.client.get_object(Bucket=s3.bucket, Key=f"store/{MANIFEST}")["Body"].read()
    assert json.loads(raw)["songs"]["a.wav"]["status"] == "ok"


def test_throttling_is_retried_with_backoff(s3, flaky_proxy):
    store = S3Store(s3.uri(), endpoint_url=flaky_proxy.endpoint, cache=False)
    store.write_bytes("a.bin", b"payload")
    flaky_proxy.throttle(3)  # three 503 SlowDown answers in a row
    t0 = time.monotonic()
    assert store.read_bytes("a.bin") == b"payload"
    assert flaky_proxy.throttled == 3
    assert time.monotonic() - t0 > 0.05  # botocore waited between the attempts

    impatient = S3Store(s3.uri(), endpoint_url=flaky_proxy.endpoint, cache=False, attempts=1, max_attempts=2)
    flaky_proxy.throttle(5)
    with pytest.raises(StoreError, match="kept throttling"):
        impatient.read_bytes("a.bin")


class _WrongRegionS3(http.server.BaseHTTPRequestHandler):
    """Answers every request the way S3 answers a request sent to the wrong region."""

    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket '
            b"you are attempting to access must be addressed using the specified endpoint.</Message>"
            b"<Endpoint>somewhere.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>somewhere</Bucket></Error>")

    def _answer(self):
        self.send_response(301)
        self.send_header("x-amz-bucket-region", "eu-west-1")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = do_HEAD = do_PUT = _answer

    def log_message(self, *args):
        pass


def test_wrong_region_is_a_clear_error(s3):
    """moto ignores regions, so S3's documented wrong-region answer comes from a tiny loopback server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WrongRegionS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(StoreError, match="wrong region — the bucket is in eu-west-1"):
            S3Store("s3://somewhere/store", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                    region="us-east-2", attempts=1, cache=False)
    finally:
        server.shutdown()
        server.server_close()
