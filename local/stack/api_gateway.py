"""A local stand-in for the HTTP API: serves the template's routes by invoking the handlers.

Answers as API Gateway does where it matters to the flow: 404 {"message":"Not Found"} for any
request no route matches (a known path under another method included), 500 {"message":
"Internal Server Error"} when a function fails, 413 past the HTTP API quotas (10 MB payload,
10240 bytes of request line and header values), 400 for requests it cannot read. Served by
werkzeug (local/http_server.py), one thread per connection; nothing a client sends can stop it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.exceptions import BadRequest as UnreadableBody
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from ..http_server import HEADERS_KEY, LocalServer, exact_response, raw_target
from . import console
from .events import BadRequest, HttpRequest, HttpResponse, InvalidResponse, build_event, gateway_error, to_http_response
from .lambda_runtime import InvocationFailed, LocalFunction
from .routes import RouteMatch, RouteTable

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # HTTP API quota "Payload size": 10 MB
MAX_REQUEST_LINE_AND_HEADERS = 10240  # HTTP API quota, in bytes, not adjustable
# Host names the page may be reached by. Anything else is refused: a web page elsewhere must not
# be able to drive this server through a DNS name it rebinds to 127.0.0.1.
ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
IDLE_CONNECTION_TIMEOUT_S = 30
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})  # HTTP API's; others 501

LOG = logging.getLogger(__name__)


class LocalApiGateway:
    """Binds its port on creation (so a taken port fails before anything else starts)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._routes = RouteTable(())
        self._functions: Mapping[str, LocalFunction] = {}
        self._server = LocalServer(
            self._wsgi,
            host=host,
            port=port,
            name="local-api-gateway",
            framing_error=lambda status: _werkzeug_response(gateway_error(status)),
            methods=METHODS,
            timeout_s=IDLE_CONNECTION_TIMEOUT_S,
            max_chunked_bytes=MAX_PAYLOAD_BYTES,
        )

    @property
    def port(self) -> int:
        return self._server.port

    def start(self, routes: RouteTable, functions: Mapping[str, LocalFunction]) -> None:
        self._routes, self._functions = routes, functions
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.monotonic()
        with console.collecting() as records:
            try:
                response = self._respond(environ)
            except Exception:  # a bug here must cost one request, not the server
                LOG.exception("local API gateway failed on %s", environ["REQUEST_METHOD"])
                response = gateway_error(500)
        elapsed_ms = (time.monotonic() - started) * 1000
        # One line per request. The path without its query: the query carries OAuth codes and state.
        path = raw_target(environ).split(b"?", 1)[0][:200].decode("latin-1")
        line = f"{environ['REQUEST_METHOD']} {path} {response.status} {elapsed_ms:.0f} ms"
        suffix = console.outcome_of(records).suffix()
        LOG.info("%s", f"{line} {suffix}" if suffix else line)
        return _werkzeug_response(response)(environ, start_response)

    def _respond(self, environ: dict[str, Any]) -> HttpResponse:
        try:
            request = _read_request(environ)
        except _Rejected as rejected:
            return gateway_error(rejected.status)
        match = self._routes.match(request.method, _decoded(request.raw_path))
        if match is None:
            return gateway_error(404)
        return self._invoke(self._functions[match.route.function_id], match, request, int(environ["SERVER_PORT"]))

    def _invoke(self, function: LocalFunction, match: RouteMatch, request: HttpRequest, port: int) -> HttpResponse:
        try:
            event = build_event(request, route_key=match.route.route_key, path_parameters=match.path_parameters,
                                server_port=port)
        except BadRequest:
            return gateway_error(400)
        request_id = event["requestContext"]["requestId"]
        try:
            return to_http_response(function.invoke(event))
        except InvocationFailed as failure:
            LOG.error("%s", failure)
            return gateway_error(failure.status, request_id)
        except InvalidResponse as invalid:
            LOG.error("%s returned an invalid response: %s", function.spec.logical_id, invalid)
            return gateway_error(500, request_id)


def _read_request(environ: dict[str, Any]) -> HttpRequest:
    # The header fields as sent, not werkzeug's environ: a repeated Cookie header must stay two
    # cookie lists, and names with "_" reach the function as API Gateway passes them.
    headers = tuple((name, _as_utf8(value)) for name, value in environ[HEADERS_KEY])
    if not host_allowed(next((value for name, value in headers if name.lower() == "host"), None)):
        raise _Rejected(403)
    target = raw_target(environ)
    method, protocol = environ["REQUEST_METHOD"], environ["SERVER_PROTOCOL"]
    request_line = len(method) + 1 + len(target) + 1 + len(protocol)
    if request_line + sum(len(value.encode("latin-1", "replace")) for _, value in environ[HEADERS_KEY]) > MAX_REQUEST_LINE_AND_HEADERS:
        raise _Rejected(413)
    raw_path, raw_query = _split_target(target)
    return HttpRequest(
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers,
        body=_read_body(environ),
        source_ip=environ["REMOTE_ADDR"],
        protocol=protocol,
    )


def _split_target(target: bytes) -> tuple[str, str]:
    """rawPath and rawQueryString, as UTF-8 text, from the request target (bytes as sent)."""
    if target.startswith((b"http://", b"https://")):  # absolute-form, as sent to proxies
        parts = urlsplit(target)
        target = (parts.path or b"/") + (b"?" + parts.query if parts.query else b"")
    if not target.startswith(b"/"):
        raise _Rejected(400)
    try:
        text = target.decode("utf-8")
        raw_path, _, raw_query = text.partition("?")
        _decoded(raw_path)  # percent-escapes that are not UTF-8 fail here
    except UnicodeDecodeError:
        raise _Rejected(400) from None
    return raw_path, raw_query


def _read_body(environ: dict[str, Any]) -> bytes:
    """The body, through werkzeug's request stream: at most Content-Length bytes, or the chunked
    body http_server decodes; the framing checked first as API Gateway does."""
    transfer_encoding = environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
    length_header = environ.get("CONTENT_LENGTH")
    if transfer_encoding and (transfer_encoding != "chunked" or length_header is not None):
        raise _Rejected(400)  # RFC 9112 §6.1: never both, and only chunked is understood
    if length_header is not None and not length_header.strip().isdigit():
        raise _Rejected(400)  # werkzeug would read "abc" or "-5" as no body
    request = Request(environ)
    request.max_content_length = MAX_PAYLOAD_BYTES  # a larger Content-Length: 413 before reading
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _Rejected(413) from None
    except UnreadableBody:  # shorter than announced, or a malformed chunk
        raise _Rejected(400) from None


class _Rejected(Exception):
    """The gateway answers `status` itself; the request never reaches a function."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def host_allowed(host: str | None) -> bool:
    """The Host header names this machine by a loopback name (no header: HTTP/1.0, allowed)."""
    host = (host or "localhost").strip().lower()
    name, _, port = host.rpartition(":")
    return (name if name and port.isdigit() else host) in ALLOWED_HOSTS


def _werkzeug_response(response: HttpResponse) -> Response:
    return exact_response(response.status, response.headers, response.body)


def _decoded(raw_path: str) -> str:
    return unquote(raw_path, errors="strict")


def _as_utf8(header_value: str) -> str:
    # http.server reads header bytes as Latin-1; API Gateway hands UTF-8 text to the function.
    try:
        return header_value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header_value
