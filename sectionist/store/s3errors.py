"""What an S3 error means and what to do about it: a missing key, a dropped connection worth another
try, a failed condition of a conditional write, and the :class:`StoreError` message a person reads.

Used by :mod:`sectionist.store.s3` (the store, ranged song reads) and :mod:`sectionist.store.sync`.
"""

from __future__ import annotations

import logging
import random
import time

from sectionist.store.errors import StoreError

log = logging.getLogger("sectionist.store.s3")

_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                     "TokenRefreshRequired", "InvalidClientTokenId", "UnrecognizedClientException"}
_REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException",
                 "Redirect", "TemporaryRedirect"}


def _is_transient(exc: BaseException) -> bool:
    """A dropped or timed-out connection, or a body cut short: worth trying the operation again."""
    from botocore import exceptions as bx
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError, bx.ReadTimeoutError,
                        bx.ResponseStreamingError, bx.IncompleteReadError, Urllib3Error,
                        ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status in (500, 502, 503, 504) or code in ("SlowDown", "RequestTimeout", "InternalError")
    return False


def s3_error(exc: BaseException, where: str, action: str, *, endpoint: str | None = None,
             region: str | None = None, attempts: int | None = None) -> StoreError:
    """Turn a boto3/botocore exception into a :class:`StoreError` that says what to check.

    Parameters
    ----------
    exc : Exception
        What boto3 raised.
    where : str
        The ``s3://`` URI concerned (bucket, store or object).
    action : str
        What was being done, in words ("read", "write", "list", …).
    """
    from botocore import exceptions as bx

    ep = f" at {endpoint}" if endpoint else ""
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return StoreError(f"{where}: no AWS credentials found to {action} (set AWS_ACCESS_KEY_ID/"
                          "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach an instance role)")
    if isinstance(exc, bx.ParamValidationError):
        return StoreError(f"{where}: invalid S3 request to {action} ({exc})")
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(err.get("Code", ""))
        status = int(meta.get("HTTPStatusCode", 0) or 0)
        headers = {k.lower(): v for k, v in (meta.get("HTTPHeaders") or {}).items()}
        if code == "NoSuchBucket":
            return StoreError(f"{where}: the bucket does not exist{ep} (check its name, the endpoint "
                              "and the account)")
        if code in _CREDENTIAL_CODES:
            return StoreError(f"{where}: the AWS credentials were refused{ep} ({code}: check the "
                              "access key, the secret and the clock)")
        if code in _REGION_CODES or status == 301 or "x-amz-bucket-region" in headers and status in (301, 400):
            actual = headers.get("x-amz-bucket-region") or err.get("Region") or "another region"
            return StoreError(f"{where}: wrong region — the bucket is in {actual}, the client used "
                              f"{region or 'the default region'} (set AWS_REGION={actual} or pass region=)")
        if code in ("AccessDenied", "AllAccessDisabled", "Forbidden") or status == 403:
            return StoreError(f"{where}: access denied to {action}{ep} (the credentials' IAM policy "
                              "does not allow it; see deploy/iam-policy.json)")
        if code in ("NoSuchKey", "NotFound", "404") or status == 404:
            return StoreError(f"{where}: not found")
        if code in ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded") or status == 503:
            return StoreError(f"{where}: S3 kept throttling requests to {action}, even after retries "
                              "with backoff; try again later")
        return StoreError(f"{where}: S3 refused to {action} ({code or status}: {err.get('Message', exc)})")
    if isinstance(exc, bx.EndpointConnectionError):
        return StoreError(f"{where}: cannot reach the S3 endpoint{ep} to {action} ({exc})")
    if _is_transient(exc):
        tries = f" ({attempts} attempts, each retried by botocore)" if attempts else ""
        return StoreError(f"{where}: the connection to S3{ep} kept failing while trying to {action}{tries} "
                          f"({type(exc).__name__}: {exc})")
    return StoreError(f"{where}: S3 error while trying to {action} ({type(exc).__name__}: {exc})")


def with_retries(fn, *, attempts: int, base_delay: float = 0.2, what: str = ""):
    """Call ``fn()`` again after a dropped connection (exponential backoff with jitter)."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt >= attempts or not _is_transient(exc):
                raise
            delay = base_delay * 2 ** (attempt - 1) * (0.5 + random.random())
            log.warning("S3 %s: %s; trying again in %.2f s (attempt %d of %d)",
                        what, type(exc).__name__, delay, attempt + 1, attempts)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def is_missing(exc: BaseException) -> bool:
    """Whether an S3 error means the key is not there (NoSuchKey, NotFound, 404; a missing bucket is not)."""
    from botocore import exceptions as bx

    if not isinstance(exc, bx.ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in ("NoSuchKey", "NotFound", "404") or status == 404 and code != "NoSuchBucket"


def is_conflict(exc: BaseException) -> bool:
    """Whether a conditional write was refused because the object changed (412 PreconditionFailed) or
    another conditional write of it was in flight (409 ConditionalRequestConflict): read it again and retry."""
    from botocore import exceptions as bx

    if not isinstance(exc, bx.ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)
