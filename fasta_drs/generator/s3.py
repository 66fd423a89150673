"""The one place the generator makes boto3 S3 clients and reads S3 errors.

An explicit ``endpoint_url`` wins; otherwise boto3 honours
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) by itself, which is how
any S3-compatible server is used without code changes.
"""

import functools
import os

import boto3
import botocore.config
import botocore.exceptions

# Enough pooled connections for the parallel part uploads and store fetches.
_MAX_POOL_CONNECTIONS = 32

# Client errors that mean "the object is not there", as S3 spells them.
_MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_DENIED_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}

# Every error boto3 raises for a request that could not be made or answered.
TRANSPORT_ERRORS = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
)


def make_client(endpoint_url=None):
    """Return a thread-safe S3 client with standard retries.

    Clients are reused for the same endpoint and credentials: making one
    costs about a quarter of a second, mostly loading botocore's models.
    """
    identity = tuple(
        os.environ.get(name, "")
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_DEFAULT_REGION",
        )
    )
    return _cached_client(endpoint_url or None, identity)


@functools.lru_cache(maxsize=8)
def _cached_client(endpoint_url, identity):
    config = botocore.config.Config(
        max_pool_connections=_MAX_POOL_CONNECTIONS,
        retries={"mode": "standard", "max_attempts": 5},
        signature_version="s3v4",
        # The generator computes the object's MD5 and SHA-256 itself; the
        # per-part CRC32 and payload hash botocore adds by default would
        # hash every byte twice more. Over HTTPS, TLS protects the payload.
        request_checksum_calculation="when_required",
        s3={"payload_signing_enabled": False},
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, config=config
    )


def error_code(exc):
    """Return the S3 error code of a botocore exception, or its class name."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def is_missing(exc):
    """Whether ``exc`` says the bucket or key does not exist."""
    return error_code(exc) in _MISSING_CODES


def is_denied(exc):
    """Whether ``exc`` says the credentials may not do this."""
    return error_code(exc) in _DENIED_CODES
