"""One way to run a local HTTP server: werkzeug's, on a daemon thread, quiet, on the port it reports.

The local API, the local Lambda Invoke API and the PagerDuty stand-in serve WSGI apps through
`LocalServer`. werkzeug reads the request line and headers and writes the response (one request
per connection: its server closes each one after answering). What they all need beyond that is
set here once:

- the port is bound before anything else (port 0: any free one, reported by `.port`); a taken
  port raises OSError (werkzeug's make_server would print and exit the process);
- no per-request log line: each server prints its own, without the query (codes travel there);
- a request werkzeug's parser refuses (unreadable request line, HTTP/0.9, a method the server
  does not serve, too long or too many headers) is answered with `framing_error(status)`, the
  server's own error body, instead of http.server's HTML page;
- environ["local.headers"]: the header fields as sent, in order and with repeats kept apart
  (werkzeug's environ joins repeats with commas and drops names containing "_");
- chunked bodies are decoded strictly, up to `max_chunked_bytes` (see ChunkedBody).
"""

from __future__ import annotations

import io
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server, select_address_family
from werkzeug.wrappers import Response

HEADERS_KEY = "local.headers"
LISTEN_BACKLOG = 128  # a burst of parallel test clients must not overflow the listen queue

LOG = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LocalServer:
    """`app` served on `host`:`port` by a thread per connection once `start()` is called."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        host: str,
        port: int,
        name: str,
        server_header: str | None = None,
        framing_error: Callable[[int], Response],
        methods: frozenset[str] | None = None,
        timeout_s: float = 30,
        max_chunked_bytes: int = 0,
    ) -> None:
        """`name`: the serving thread's, and the Server header unless `server_header` is given.
        `methods`: those served (others get 501, as http.server answers), None for any.
        `timeout_s`: how long a silent client may hold its thread. `max_chunked_bytes`: the
        largest chunked body decoded; past it, 413."""
        handler = type(
            "LocalRequestHandler",
            (_RequestHandler,),
            {
                "server_header": server_header or name,
                "framing_error": staticmethod(framing_error),
                "methods": methods,
                "timeout": timeout_s,
                "max_chunked_bytes": max_chunked_bytes,
            },
        )
        family = select_address_family(host, port)
        # Bound here, so a taken port is an OSError; werkzeug serves the socket it is given.
        listening = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
        try:
            self._server = make_server(host, port, app, threaded=True, request_handler=handler, fd=listening.fileno())
        finally:
            listening.close()  # werkzeug keeps its own duplicate of the socket
        self._server.handle_error = _log_connection_error  # type: ignore[method-assign]
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    def start(self, *, poll_interval_s: float = 0.1) -> None:
        """Serve on a daemon thread. `poll_interval_s`: how soon stop() is noticed."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": poll_interval_s}, name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, join the thread, free the port. Safe to call twice, or before start()."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


def raw_target(environ: dict[str, Any]) -> bytes:
    """The request target as the client sent it, still percent-encoded, query included.

    werkzeug's PATH_INFO is percent-decoded (%2F becomes /), which API Gateway's rawPath is not.
    RAW_URI keeps the target, but as http.server read it (bytes as Latin-1 characters) and then
    re-encoded as WSGI strings are (UTF-8 bytes as Latin-1 characters): undo both.
    """
    return environ["RAW_URI"].encode("latin-1").decode("utf-8").encode("latin-1")


def exact_response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Response:
    """A werkzeug Response with exactly `headers` (no default Content-Type) plus Content-Length,
    and the reason phrase http.server and API Gateway send ("Not Found", not "NOT FOUND")."""
    try:
        status_line = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        status_line = str(status)  # werkzeug's "599 UNKNOWN"
    response = Response(body, status_line)
    response.headers.clear()
    response.headers.extend(headers)
    response.headers["Content-Length"] = str(len(body))
    return response


class ChunkedBody(io.RawIOBase):
    """A Transfer-Encoding: chunked body, decoded strictly (RFC 9112 §7.1), at most `limit` bytes.

    Replaces werkzeug's dev-server DechunkedInput, which trusts a chunk's announced size (a chunk
    announced and never sent reads as that many zero bytes) and has no limit. Too large: werkzeug's
    RequestEntityTooLarge as soon as the sizes announced pass the limit; malformed or truncated:
    OSError, which werkzeug's request stream turns into a 400 (ClientDisconnected).
    """

    _SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")

    def __init__(self, rfile: io.BufferedIOBase, limit: int) -> None:
        super().__init__()
        self._rfile = rfile
        self._limit = limit
        self._announced = 0
        self._left_in_chunk = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        if self._left_in_chunk == 0:
            self._left_in_chunk = self._next_chunk_size()
            if self._left_in_chunk == 0:
                while self._rfile.readline(1024).strip():  # trailer fields, ignored
                    pass
                self._done = True
                return 0
        data = self._rfile.read(min(len(buffer), self._left_in_chunk))
        if not data:
            raise OSError("chunk truncated")
        buffer[: len(data)] = data
        self._left_in_chunk -= len(data)
        if self._left_in_chunk == 0 and self._rfile.readline(3).strip():
            raise OSError("chunk longer than its size")
        return len(data)

    def _next_chunk_size(self) -> int:
        size_field = self._rfile.readline(1024).split(b";")[0].strip()  # chunk extensions ignored
        if not self._SIZE.fullmatch(size_field):
            raise OSError("chunk size is not hexadecimal")
        size = int(size_field, 16)
        self._announced += size
        if self._announced > self._limit:
            raise RequestEntityTooLarge()
        return size


class _RequestHandler(WSGIRequestHandler):
    server_header: str
    framing_error: Callable[[int], Response]
    methods: frozenset[str] | None
    max_chunked_bytes: int
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return self.server_header  # the Server header: no Python or werkzeug version on show

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_") and self.methods is not None and name[3:] not in self.methods:
            raise AttributeError(name)  # http.server then answers 501 Not Implemented
        return super().__getattr__(name)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # "GET /" without a version: not HTTP/1.x
            self.send_error(400)
            return False
        return True

    def handle_expect_100(self) -> bool:
        return True  # werkzeug's run_wsgi sends the 100 Continue; http.server would send a second

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[HEADERS_KEY] = tuple(self.headers.items())
        if environ.get("wsgi.input_terminated"):  # werkzeug saw Transfer-Encoding: chunked
            environ["wsgi.input"] = ChunkedBody(self.rfile, self.max_chunked_bytes)
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own rejections, answered in the server's error format. `message` is not
        used: it quotes the request line, which may carry a code or a secret."""
        self.close_connection = True
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.1"  # an unreadable request line still gets a status line
        LOG.warning("%s rejected a request it could not read from %s (%d)", self.server_header, self.client_address[0], code)
        response = self.framing_error(code)
        self.send_response(code)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(response.get_data())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # each server logs its requests itself, without their query

    def log(self, type: str, message: str, *args: object) -> None:
        # werkzeug's own messages (e.g. "Request timed out"), kept out of the console.
        LOG.debug("%s %s: %s", self.server_header, type, message % args)


def _log_connection_error(request: object, client_address: tuple[str, int]) -> None:
    # A client that hangs up mid-request is routine; a traceback per disconnect is noise.
    LOG.debug("connection from %s ended with an error", client_address[0], exc_info=True)
