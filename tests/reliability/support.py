"""What the reliability tests read back (page reason codes, stored items) and how they make AWS fail."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from pd_connect.token_cipher import StoredTokens, TokenCipher

# Filled by the fuzz tests, printed by conftest's terminal summary: how many events each handler got.
FUZZ_EXAMPLES: Counter[str] = Counter()

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


# --- AWS faults -------------------------------------------------------------------------------

CONNECTION_ERROR = "connection error"  # botocore could not reach the endpoint
READ_TIMEOUT = "read timeout"  # the endpoint did not answer within the client's read_timeout


@dataclass
class AwsFault:
    failed: int = 0  # calls it has failed so far


def aws_error(client, operation: str, error: str) -> Exception:
    """The exception botocore raises when AWS answers `error` (after its own retries)."""
    if error == CONNECTION_ERROR:
        return EndpointConnectionError(endpoint_url=client.meta.endpoint_url)
    if error == READ_TIMEOUT:
        return ReadTimeoutError(endpoint_url=client.meta.endpoint_url)
    status = 500 if "Internal" in error else 400
    response = {
        "Error": {"Code": error, "Message": "injected by the reliability suite"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return client.exceptions.from_code(error)(response, operation)


class AwsFaults:
    """Fail calls of one boto3 client the way AWS fails them. Patches the client instance, so
    only the code holding that client (the handlers' per-container clients) sees the fault."""

    def __init__(self, monkeypatch) -> None:
        self._monkeypatch = monkeypatch

    def fail(
        self,
        client,
        method: str,
        error: str,
        *,
        when: Callable[[dict], bool] | None = None,
        times: int | None = None,
    ) -> AwsFault:
        original = getattr(client, method)
        operation = client.meta.method_to_api_mapping[method]
        fault = AwsFault()

        def failing(**request):
            if (times is None or fault.failed < times) and (when is None or when(request)):
                fault.failed += 1
                raise aws_error(client, operation, error)
            return original(**request)

        self._monkeypatch.setattr(client, method, failing)
        return fault


def item_kind(kind: str) -> Callable[[dict], bool]:
    """`when=` for PutItem: only items of this kind (pending, connection, link_nonce)."""
    return lambda request: request.get("Item", {}).get("kind", {}).get("S") == kind
