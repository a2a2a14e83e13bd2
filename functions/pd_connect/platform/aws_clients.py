"""boto3 clients, one of each per container (clients are thread-safe and hold no per-request data).

Short timeouts: a user is waiting on the click, and PagerDuty's code dies 30 s after it is issued.
boto3 honours AWS_ENDPOINT_URL, which is how the local stack points these at its embedded AWS.
"""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

# botocore's `max_attempts` counts retries (3 meant 4 requests); `total_max_attempts` counts requests.
_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3})


@cache
def dynamodb():
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def kms():
    return boto3.client("kms", config=_CONFIG)


@cache
def secretsmanager():
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def events():
    return boto3.client("events", config=_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore error, for log lines (never the message)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


# The token function may wait for another caller's refresh (access_tokens.WAIT_SECONDS) and then
# refresh itself: the read timeout outlasts its Timeout. Standard retries cover Lambda's throttling
# (TooManyRequestsException, when the token function's reserved concurrency is all in use).
_LAMBDA_CONFIG = Config(connect_timeout=2, read_timeout=40, retries={"mode": "standard", "max_attempts": 3})


@cache
def lambda_():
    return boto3.client("lambda", config=_LAMBDA_CONFIG)
