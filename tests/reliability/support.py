"""What the reliability tests read back (page reason codes, stored items) and how they make AWS fail."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

# Filled by the fuzz tests, printed by conftest's terminal summary: how many events each handler got,
# and per fuzzer how many of its events reached the token exchange and the store.
FUZZ_EXAMPLES: Counter[str] = Counter()
FUZZ_REACH: defaultdict[str, Counter[str]] = defaultdict(Counter)


def record_saves(monkeypatch, container) -> list:
    """The keys the callback's ConnectionStore (in `container`) saves from now on (it is wrapped to note them)."""
    store = container.connections
    original, saved = store.save, []

    def save(connection, tokens):
        original(connection, tokens)
        saved.append(connection.key)

    monkeypatch.setattr(store, "save", save)
    return saved

# On every response, success or failure (web.BASE_SECURITY_HEADERS plus the page's own CSP).
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_security_headers(result: dict) -> None:
    headers = result["headers"]
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, headers)
    assert headers.get("Strict-Transport-Security", "").startswith("max-age="), headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp


def reason_of(result: dict) -> str:
    """The reason code a failure page shows (`<code id="reason">`), or "" on any other page."""
    body = result.get("body") or ""
    if 'id="reason">' not in body:
        return ""
    return body.split('id="reason">', 1)[1].split("<", 1)[0]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


# --- the table, read back ---------------------------------------------------------------------


def items(aws, kind: str) -> list[dict]:
    found, request = [], {"TableName": aws.table_name, "ConsistentRead": True}
    while True:
        page = aws.dynamodb.scan(**request)
        found += [item for item in page["Items"] if item.get("kind", {}).get("S") == kind]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def connections(aws) -> list[dict]:
    return items(aws, "connection")


def pending(aws) -> list[dict]:
    return items(aws, "pending")


def link_nonces(aws) -> list[dict]:
    return items(aws, "link_nonce")


def pending_key(state: str) -> str:
    return "pending#" + hashlib.sha256(state.encode("utf-8")).hexdigest()


def stored_tokens(aws, item: dict) -> StoredTokens:
    """Decrypt a connection item's tokens as the token library would (KMS, context = the record)."""
    return TokenCipher(aws.kms, aws.key_id).decrypt(item["pk"]["S"], item["tokens"]["B"])


# --- AWS faults, below the client ------------------------------------------------------------
#
# A fault is answered where the embedded AWS (moto) answers requests: botocore signs and sends
# the request, gets an HTTP error response (or a broken connection, a read timeout) and the
# product's client then does what its configuration says (aws_clients: standard retries, 3
# attempts) before the product sees an error. Only the backoff sleeps between attempts are
# recorded instead of slept.

CONNECTION_ERROR = "connection error"  # botocore could not reach the endpoint
READ_TIMEOUT = "read timeout"  # the endpoint did not answer within the client's read_timeout
ATTEMPTS = 3  # aws_clients: retries={"mode": "standard", "total_max_attempts": 3}
# Errors the standard retry mode does not retry: one attempt, then the product sees them.
NOT_RETRIED = {
    "AccessDeniedException", "DisabledException", "KMSInvalidStateException", "ResourceNotFoundException",
    "DecryptionFailure", "ConditionalCheckFailedException", "ValidationException",
}


def attempts(error: str) -> int:
    """How many HTTP requests one product call makes when every one of them meets `error`."""
    return 1 if error in NOT_RETRIED else ATTEMPTS


def http_status(error: str) -> int:
    if "Internal" in error:
        return 500
    return 503 if error == "ServiceUnavailable" else 400


@dataclass
class AwsFault:
    failed: int = 0  # requests it has failed so far (each attempt of a retried call counts)


class AwsFaults:
    """Fail requests of one boto3 client (its HTTP sends, after signing) the way AWS fails them.
    `close()` takes every fault away again."""

    def __init__(self, monkeypatch) -> None:
        self.backoffs: list[float] = []  # the sleeps botocore asked for between attempts
        self._registered: list[tuple] = []
        original = BotocoreStubber.__call__

        def answer(stubber, event_name, request, **kwargs):
            fault = getattr(request, "injected_fault", None)
            if fault is None:
                return original(stubber, event_name, request, **kwargs)
            status, body = fault
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "injected"}
            return AWSResponse(request.url, status, headers, MockRawResponse(body))

        monkeypatch.setattr(BotocoreStubber, "__call__", answer)
        monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=self.backoffs.append))

    def fail(
        self,
        client,
        method: str,
        error: str,
        *,
        when: Callable[[dict], bool] | None = None,
        times: int | None = None,
    ) -> AwsFault:
        """Fail `method`'s requests from `client` with `error`, `times` requests (None: all) of
        those whose JSON body satisfies `when`."""
        operation = client.meta.method_to_api_mapping[method]
        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        fault = AwsFault()

        def on_send(request, **_):
            if times is not None and fault.failed >= times:
                return None
            if when is not None and not when(json.loads(request.body or b"{}")):
                return None
            fault.failed += 1
            if error == CONNECTION_ERROR:
                raise EndpointConnectionError(endpoint_url=request.url)
            if error == READ_TIMEOUT:
                raise ReadTimeoutError(endpoint_url=request.url)
            body = json.dumps({"__type": error, "message": "injected by the reliability suite"}).encode()
            request.injected_fault = (http_status(error), body)  # moto answers it (answer above)
            return None

        client.meta.events.register_first(event, on_send)
        self._registered.append((client, event, on_send))
        return fault

    def close(self) -> None:
        for client, event, handler in self._registered:
            client.meta.events.unregister(event, handler)


def item_kind(kind: str) -> Callable[[dict], bool]:
    """`when=` for PutItem: only items of this kind (pending, connection, link_nonce)."""
    return lambda request: request.get("Item", {}).get("kind", {}).get("S") == kind
