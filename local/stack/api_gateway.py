"""A local stand-in for the HTTP API: serves the template's routes by invoking the handlers.

Answers as API Gateway does where it matters to the flow: 404 {"message":"Not Found"} for any
request no route matches (a known path under another method included), 500 {"message":
"Internal Server Error"} when a function fails, 413 past the HTTP API quotas (10 MB payload,
10240 bytes of request line and header values), 400 for requests it cannot read. One thread per
request; nothing a client sends can stop the server.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

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

LOG = logging.getLogger(__name__)


class LocalApiGateway:
    """Binds its port on creation (so a taken port fails before anything else starts)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._server = ThreadingHTTPServer((host, port), _RequestHandler, bind_and_activate=False)
        self._server.daemon_threads = True  # a hung handler never keeps the process alive
        self._server.handle_error = _log_connection_error  # type: ignore[method-assign]
        try:
            self._server.server_bind()
            self._server.server_activate()
        except OSError:
            self._server.server_close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self, routes: RouteTable, functions: Mapping[str, LocalFunction]) -> None:
        self._server.RequestHandlerClass = type(
            "BoundRequestHandler", (_RequestHandler,), {"routes": routes, "functions": functions}
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


class _RequestHandler(BaseHTTPRequestHandler):
    routes: RouteTable
    functions: Mapping[str, LocalFunction]
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_TIMEOUT_S  # an idle keep-alive connection doesn't hold a thread forever

    def version_string(self) -> str:
        return "local-api-gateway"  # the Server header; no Python version on show

    def _serve(self) -> None:
        started = time.monotonic()
        with console.collecting() as records:
            try:
                response, _ = self._respond()
            except Exception:  # a bug here must cost one request, not the server
                LOG.exception("local API gateway failed on %s", self.command)
                response = gateway_error(500)
        self._write(response)
        elapsed_ms = (time.monotonic() - started) * 1000
        # One line per request. The path without its query: the query carries OAuth codes and state.
        line = f"{self.command} {self._path_only()} {response.status} {elapsed_ms:.0f} ms"
        suffix = console.outcome_of(records).suffix()
        LOG.info("%s", f"{line} {suffix}" if suffix else line)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _respond(self) -> tuple[HttpResponse, str]:
        """The response, and the function that served it ("-" when the gateway answered itself)."""
        try:
            request = self._read_request()
        except _Rejected as rejected:
            self.close_connection = True  # an unread body must not be taken for the next request
            return gateway_error(rejected.status), "-"
        match = self.routes.match(request.method, _decoded(request.raw_path))
        if match is None:
            return gateway_error(404), "-"
        function = self.functions[match.route.function_id]
        return self._invoke(function, match, request), function.spec.logical_id

    def _read_request(self) -> HttpRequest:
        if not self._host_allowed():
            raise _Rejected(403)
        if self._request_line_and_headers_size() > MAX_REQUEST_LINE_AND_HEADERS:
            raise _Rejected(413)
        raw_path, raw_query = self._split_target()
        return HttpRequest(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=tuple((name, _as_utf8(value)) for name, value in self.headers.items()),
            body=self._read_body(),
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )

    def _invoke(self, function: LocalFunction, match: RouteMatch, request: HttpRequest) -> HttpResponse:
        try:
            event = build_event(
                request,
                route_key=match.route.route_key,
                path_parameters=match.path_parameters,
                server_port=self.server.server_address[1],
            )
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

    def _host_allowed(self) -> bool:
        return host_allowed(self.headers.get("Host"))

    def _request_line_and_headers_size(self) -> int:
        return len(self.requestline.encode("latin-1", "replace")) + sum(
            len(value.encode("latin-1", "replace")) for value in self.headers.values()
        )

    def _split_target(self) -> tuple[str, str]:
        """rawPath and rawQueryString, as UTF-8 text, from the request target."""
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form, as sent to proxies
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not target.startswith("/"):
            raise _Rejected(400)
        try:
            # http.server decoded the request line as Latin-1; get the bytes back and read UTF-8.
            target = target.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise _Rejected(400) from None
        raw_path, _, raw_query = target.partition("?")
        try:
            _decoded(raw_path)
        except UnicodeDecodeError:  # percent-escapes that are not UTF-8
            raise _Rejected(400) from None
        return raw_path, raw_query

    def _read_body(self) -> bytes:
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length_header = self.headers.get("Content-Length")
        if transfer_encoding:
            if transfer_encoding != "chunked" or length_header is not None:
                raise _Rejected(400)  # RFC 9112 §6.1: never both, and only chunked is understood
            return self._read_chunked()
        if length_header is None:
            return b""
        if not length_header.strip().isdigit():
            raise _Rejected(400)
        length = int(length_header)
        if length > MAX_PAYLOAD_BYTES:
            raise _Rejected(413)
        body = self.rfile.read(length)
        if len(body) != length:
            raise _Rejected(400)  # the client sent less than it announced
        return body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Rejected(400) from None
            if size < 0:
                raise _Rejected(400)
            if len(body) + size > MAX_PAYLOAD_BYTES:
                raise _Rejected(413)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailer fields, ignored
                    pass
                return bytes(body)
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3).strip():
                raise _Rejected(400)  # truncated chunk
            body += chunk

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(response.body)

    def _path_only(self) -> str:
        return (getattr(self, "path", "") or "").split("?", 1)[0][:200]

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # "GET /" with no version: not HTTP API's HTTP
            self.send_error(400)
            return False
        return True

    # http.server's own rejections (bad request line, too many or too long headers) answer in
    # API Gateway's JSON rather than an HTML page, and log one line without the request line.
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.1"  # unreadable request line: still answer with a status line
        LOG.warning("rejected a malformed request from %s (%d)", self.client_address[0], code)
        self._write(gateway_error(code))

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are logged by _serve, without their query


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


def _decoded(raw_path: str) -> str:
    return unquote(raw_path, errors="strict")


def _as_utf8(header_value: str) -> str:
    # http.server reads header bytes as Latin-1; API Gateway hands UTF-8 text to the function.
    try:
        return header_value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header_value


def _log_connection_error(request: object, client_address: tuple[str, int]) -> None:
    # A client that hangs up mid-request is routine; a traceback per disconnect is noise.
    LOG.debug("connection from %s ended with an error", client_address[0], exc_info=sys.exc_info())
