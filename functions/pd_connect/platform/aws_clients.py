"""boto3 clients, one of each per container (clients are thread-safe and hold no per-request data).

Short timeouts: a user is waiting on the click, and PagerDuty's code dies 30 s after it is issued.
boto3 honours AWS_ENDPOINT_URL, which is how the local stack points these at its embedded AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

# botocore's `max_attempts` counts retries (3 meant 4 requests); `total_max_attempts` counts requests.
_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3})

# The token function may wait for another caller's refresh (access_tokens.WAIT_SECONDS) and then
# refresh itself: the read timeout outlasts its Timeout. Standard retries cover Lambda's throttling
# (TooManyRequestsException, when the token function's reserved concurrency is all in use).
_LAMBDA_CONFIG = Config(connect_timeout=2, read_timeout=40, retries={"mode": "standard", "max_attempts": 3})


class AwsClients:
    """The clients a container uses, each created on first use and then kept (a client costs
    milliseconds of cold start: a function creates only those it calls). Thread-safe."""

    def __init__(self, clients: Mapping[str, Any] | None = None) -> None:
        """`clients`: any made elsewhere, by service name (a test's stand-in, a builder's own)."""
        self._clients: dict[str, Any] = dict(clients or {})
        self._lock = threading.Lock()

    def _client(self, service: str, config: Config = _CONFIG) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = self._clients[service] = boto3.client(service, config=config)
        return client

    @property
    def created(self) -> tuple[str, ...]:
        """The services whose clients exist so far, sorted (what a cold start has paid for)."""
        return tuple(sorted(self._clients))

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def kms(self) -> Any:
        return self._client("kms")

    @property
    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    @property
    def events(self) -> Any:
        return self._client("events")

    @property
    def lambda_(self) -> Any:
        return self._client("lambda", _LAMBDA_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore error, for log lines (never the message)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__
