"""HTTP plumbing: read a request safely, route it, render errors (in one place), write the answer.

Malformed input never reaches an endpoint and never crashes the server: bad framing is a 4xx,
an unexpected exception is a logged 500. Logs carry method, path and status only — never the
query string or body, where codes, tokens, secrets and verifiers travel.
"""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

from . import pages
from .authorize import redirect_error
from .errors import (
    ApiError,
    AuthorizePageError,
    AuthorizeRedirectError,
    ControlError,
    InvalidClient,
    MalformedRequest,
    OAuthError,
    StandInError,
)
from .rest_api import RateLimited
from .token_endpoint import NO_STORE
from .wire import Request, Response

log = logging.getLogger("local.pagerduty_standin")

Handler = Callable[[Request], Response]

MAX_BODY_BYTES = 64 * 1024
_DRAIN_LIMIT = 4 * 1024 * 1024  # read (and drop) this much of an oversized body so the 413 arrives
_SINGLE_HEADERS = {"authorization", "content-type", "content-length", "host"}
CONTROL_PREFIX = "/_standin/"
# Headers every browser adds to a fetch() or form post from a page; test code and curl send none.
_BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode")


class Router:
    """Exact (method, path) routes, plus `prefixes`: (method, path prefix) for a family of paths."""

    def __init__(
        self, routes: dict[tuple[str, str], Handler], prefixes: dict[tuple[str, str], Handler] | None = None
    ) -> None:
        self._routes = routes
        self._prefixes = prefixes or {}
        self._paths = {path for _, path in routes}

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX) and any(h in request.headers for h in _BROWSER_HEADERS):
            # The control endpoints rewrite users, faults and secrets: a web page the developer
            # happens to open must not reach them, so browser requests are refused (no CORS).
            return Response.json(403, {"error": "browser_requests_refused"})
        handler = self._routes.get((request.method, request.path)) or next(
            (h for (m, prefix), h in self._prefixes.items() if m == request.method and request.path.startswith(prefix)),
            None,
        )
        if handler is None:
            if request.path in self._paths:
                allowed = sorted(m for m, p in self._routes if p == request.path)
                return Response.json(405, {"error": "method_not_allowed"}, (("Allow", ", ".join(allowed)),))
            return Response.json(404, {"error": "not_found"})
        try:
            return handler(request)
        except StandInError as exc:
            return error_response(exc)
        except Exception:  # a bug in the stand-in: answer 500, keep serving
            log.exception("unhandled error on %s %s", request.method, request.path)
            return Response.json(500, {"error": "server_error"})


def error_response(exc: StandInError) -> Response:
    """The one place that turns a failure into what the client sees."""
    if isinstance(exc, AuthorizePageError):
        return Response.html(400, pages.error_page(exc.description), pages.PAGE_HEADERS)
    if isinstance(exc, AuthorizeRedirectError):
        return redirect_error(exc)
    if isinstance(exc, OAuthError):
        headers = NO_STORE
        if isinstance(exc, InvalidClient):
            headers += (("WWW-Authenticate", 'Basic realm="PagerDuty"'),)  # RFC 6749 §5.2
        return Response.json(exc.status, {"error": exc.error, "error_description": exc.description}, headers)
    if isinstance(exc, ApiError):
        error: dict[str, object] = {"message": exc.message, "code": exc.code}
        if exc.errors:
            error["errors"] = list(exc.errors)
        headers = exc.headers if isinstance(exc, RateLimited) else ()
        return Response.json(exc.status, {"error": error}, headers)
    if isinstance(exc, ControlError):
        return Response.json(exc.status, {"error": exc.description})
    if isinstance(exc, MalformedRequest):
        return Response.json(exc.status, {"error": "invalid_request", "error_description": exc.description})
    raise AssertionError(f"no response for {type(exc).__name__}")


class StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of parallel test clients must not overflow the listen backlog

    def __init__(self, address: tuple[str, int], router: Router) -> None:
        self.router = router
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: StandInHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "PagerDutyStandIn/1.0"
    timeout = 10  # seconds a silent client may hold a thread

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        self.close_connection = True  # one request per connection: stop() never waits on idle clients
        try:
            request = self._read_request()
        except MalformedRequest as exc:
            response = error_response(exc)
        else:
            response = self.server.router.dispatch(request)
        self._send(response)

    def _read_request(self) -> Request:
        if not self.path.isascii() or not self.path.startswith("/"):
            raise MalformedRequest("request target must be an ASCII path")
        target = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            if name in headers:
                if name in _SINGLE_HEADERS:
                    raise MalformedRequest(f"header {name} is repeated")
                value = f"{headers[name]}, {value}"  # RFC 9110 §5.3
            headers[name] = value
        return Request(self.command, target.path, target.query, headers, self._read_body(headers))

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "transfer-encoding" in headers:
            raise MalformedRequest("send a Content-Length, not Transfer-Encoding", status=411)
        raw_length = headers.get("content-length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise MalformedRequest("Content-Length is not a number")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self._drain(min(length, _DRAIN_LIMIT))
            raise MalformedRequest(f"request body is larger than {MAX_BODY_BYTES} bytes", status=413)
        try:
            body = self.rfile.read(length)
        except (TimeoutError, OSError) as exc:
            raise MalformedRequest("request body was not received", status=408) from exc
        if len(body) != length:
            raise MalformedRequest("request body is shorter than Content-Length")
        return body

    def _drain(self, length: int) -> None:
        self.connection.settimeout(0.5)
        try:
            while length > 0:
                chunk = self.rfile.read1(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
        except (TimeoutError, OSError):
            pass

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the client went away; nothing to tell it

    # Logging: method, path and status only.
    def _safe_path(self) -> str:
        path = getattr(self, "path", "") or ""
        return urlsplit(path).path if path.isascii() else "<non-ASCII path>"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", getattr(self, "command", None) or "-", self._safe_path(), code)

    def log_error(self, format: str, *args: object) -> None:
        code = args[0] if args and isinstance(args[0], int) else "-"
        log.warning("rejected request %s %s (%s)", getattr(self, "command", None) or "-", self._safe_path(), code)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", getattr(self, "command", None) or "-", self._safe_path())
