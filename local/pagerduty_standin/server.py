"""HTTP plumbing: read a request safely, route it, render errors (in one place), as a WSGI app.

Malformed input never reaches an endpoint and never crashes the server: bad framing is a 4xx,
an unexpected exception is a logged 500. Logs carry method, path and status only — never the
query string or body, where codes, tokens, secrets and verifiers travel.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response as WerkzeugResponse

from ..http_server import HEADERS_KEY, WsgiApp, exact_response, raw_target
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


def wsgi_app(router: Router) -> WsgiApp:
    """The stand-in as a WSGI app: werkzeug's server reads the request line and headers, this
    checks what a strict server must (framing, repeated headers, body size) and dispatches."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            request = _read_request(environ)
        except MalformedRequest as exc:
            response = error_response(exc)
        else:
            response = router.dispatch(request)
        log.info("%s %s %s", environ["REQUEST_METHOD"], _safe_path(environ), response.status)
        return exact_response(response.status, response.headers, response.body)(environ, start_response)

    return app


def framing_error(status: int) -> WerkzeugResponse:
    """The answer to a request werkzeug's parser refuses (request line, headers)."""
    response = error_response(MalformedRequest("the request could not be read as HTTP/1.1", status=status))
    return exact_response(response.status, response.headers, response.body)


def _read_request(environ: dict[str, Any]) -> Request:
    target = raw_target(environ)
    if not target.isascii() or not target.startswith(b"/"):
        raise MalformedRequest("request target must be an ASCII path")
    url = urlsplit(target.decode("ascii"))
    headers: dict[str, str] = {}
    for name, value in environ[HEADERS_KEY]:  # as sent: werkzeug's environ joins repeats
        name = name.lower()
        if name in headers:
            if name in _SINGLE_HEADERS:
                raise MalformedRequest(f"header {name} is repeated")
            value = f"{headers[name]}, {value}"  # RFC 9110 §5.3
        headers[name] = value
    return Request(environ["REQUEST_METHOD"], url.path, url.query, headers, _read_body(environ, headers))


def _read_body(environ: dict[str, Any], headers: dict[str, str]) -> bytes:
    if "transfer-encoding" in headers:
        raise MalformedRequest("send a Content-Length, not Transfer-Encoding", status=411)
    raw_length = headers.get("content-length")
    if raw_length is None:
        return b""
    if not raw_length.strip().isdigit():
        raise MalformedRequest("Content-Length is not a number")
    length = int(raw_length)
    stream = environ["wsgi.input"]
    if length > MAX_BODY_BYTES:
        _drain(environ["werkzeug.socket"], stream, min(length, _DRAIN_LIMIT))
        raise MalformedRequest(f"request body is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        body = stream.read(length)
    except (TimeoutError, OSError) as exc:
        raise MalformedRequest("request body was not received", status=408) from exc
    if len(body) != length:
        raise MalformedRequest("request body is shorter than Content-Length")
    return body


def _drain(connection: socket.socket, stream: Any, length: int) -> None:
    # Before answering, and briefly: a client still sending must see the 413, not a reset.
    connection.settimeout(0.5)
    try:
        while length > 0:
            chunk = stream.read1(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)
    except (TimeoutError, OSError):
        pass


def _safe_path(environ: dict[str, Any]) -> str:
    """The path for the log: never the query, where codes, secrets and verifiers travel."""
    target = raw_target(environ)
    return urlsplit(target.decode("ascii")).path if target.isascii() else "<non-ASCII path>"
