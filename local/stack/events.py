"""HTTP API payload format 2.0: an HTTP request as the Lambda event, the Lambda result as HTTP.

Follows what API Gateway sends and accepts (developer guide, "HTTP API Lambda integrations"):
lower-cased headers with repeats joined by commas, the Cookie header moved into `cookies`,
`queryStringParameters` absent without a query string, bodies base64-encoded unless textual;
a result without `statusCode` is a 200 JSON body, a `cookies` list becomes Set-Cookie headers.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

# The account and API id in requestContext: the same placeholders `sam local` uses.
ACCOUNT_ID = "123456789012"
API_ID = "1234567890"
STAGE = "$default"
# Content types API Gateway passes as text; every other body arrives base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


class BadRequest(ValueError):
    """The request cannot become an event (e.g. its query is not UTF-8)."""


class InvalidResponse(ValueError):
    """The function's result is not a payload 2.0 response; API Gateway answers 500."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # as sent, still percent-encoded
    raw_query: str
    headers: tuple[tuple[str, str], ...]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str  # "HTTP/1.1"

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def build_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    server_port: int,
) -> dict[str, Any]:
    now = time.time()
    headers = _event_headers(request, server_port)
    cookies = [
        cookie.strip() for header in request.header_values("cookie") for cookie in header.split(";") if cookie.strip()
    ]
    host = _hostname(headers.get("host", "localhost"))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = _query_parameters(request.raw_query)
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": STAGE,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        textual = _is_text(headers.get("content-type", "")) and _is_utf8(request.body)
        event["body"] = request.body.decode("utf-8") if textual else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = not textual
    else:
        event["isBase64Encoded"] = False
    return event


def to_http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a payload 2.0 result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # A "simple" response: a 200 with the value as JSON (a string as it is, as sam local does).
        body = result if isinstance(result, str) else _json(result)
        return HttpResponse(200, (("content-type", "application/json"),), body.encode("utf-8"))

    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode must be an HTTP status, got {status!r}")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((_header_name(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((_header_name(name), _header_value(value)) for value in values)
    for cookie in result.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpResponse(status, tuple(headers), _response_body(result))


# What API Gateway itself answers, by status: the one place these bodies are spelled.
GATEWAY_MESSAGES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


def gateway_error(status: int, request_id: str | None = None) -> HttpResponse:
    """A response API Gateway itself produces, e.g. 404 {"message":"Not Found"}."""
    message = GATEWAY_MESSAGES.get(status) or HTTPStatus(status).phrase
    return HttpResponse(
        status,
        (("content-type", "application/json"), ("apigw-requestid", request_id or _request_id())),
        json.dumps({"message": message}, separators=(",", ":")).encode(),
    )


def _event_headers(request: HttpRequest, server_port: int) -> dict[str, str]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name.lower() != "cookie":  # API Gateway moves it into `cookies`
            headers.setdefault(name.lower(), []).append(value)
    # Headers API Gateway adds on its way to the integration.
    headers.setdefault("x-forwarded-for", [request.source_ip])
    headers.setdefault("x-forwarded-port", [str(server_port)])
    headers.setdefault("x-forwarded-proto", ["http"])
    return {name: ",".join(values) for name, values in headers.items()}


def _hostname(host_header: str) -> str:
    """ "localhost:3000" -> "localhost" ("[::1]:3000" -> "[::1]"): domainName carries no port."""
    host, _, port = host_header.strip().rpartition(":")
    return host if host and port.isdigit() else host_header.strip() or "localhost"


def _query_parameters(raw_query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("query string is not UTF-8") from exc
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in joined.items()}


def _response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        body = _json(body)
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise InvalidResponse("isBase64Encoded is true but body is not base64") from exc
    return body.encode("utf-8")


def _header_name(name: Any) -> str:
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise InvalidResponse(f"{name!r} is not a header name")
    return name


def _header_value(value: Any) -> str:
    text = "true" if value is True else "false" if value is False else str(value)
    if "\r" in text or "\n" in text:
        raise InvalidResponse("a header value contains a line break")
    try:
        text.encode("latin-1")  # what HTTP/1.1 can carry in a header
    except UnicodeEncodeError as exc:
        raise InvalidResponse("a header value has characters HTTP headers cannot carry") from exc
    return text


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise InvalidResponse(f"result is not JSON-serialisable: {exc}") from exc


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type.startswith(_TEXT_TYPES) or media_type.endswith(_TEXT_SUFFIXES)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _request_id() -> str:
    # API Gateway's ids are opaque base64-ish strings; only uniqueness matters here.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
