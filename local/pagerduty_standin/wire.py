"""What travels on the wire: a parsed request, a response to send, and strict body parsing.

Endpoint modules take a `Request` and return a `Response`; only server.py touches sockets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import parse_qsl

from .errors import MalformedRequest

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
MAX_FORM_FIELDS = 64


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str  # raw query string, "" when absent
    headers: Mapping[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def origin(self, default: str) -> str:
        """http://<Host header>: this server as the client reached it (a container and a browser
        may use different names); `default` when the header is missing or not a plain host."""
        host = (self.header("host") or "").strip()
        return f"http://{host}" if _HOST.match(host) else default

    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def json(cls, status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        body = json.dumps(payload).encode()
        return cls(status, body, (("Content-Type", "application/json; charset=utf-8"), *headers))

    @classmethod
    def html(cls, status: int, page: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(status, page.encode(), (("Content-Type", "text/html; charset=utf-8"), *headers))

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", (("Location", location), ("Cache-Control", "no-store")))


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Name/value pairs of a query string or form body; MalformedRequest for bad syntax or non-UTF-8."""
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError as exc:  # includes UnicodeDecodeError and "too many fields"
        raise MalformedRequest("parameters are not valid form encoding") from exc


def parse_params(text: str) -> dict[str, str]:
    """Parse a query string or form body strictly into a dict.

    Raises DuplicateParameter (RFC 6749 §3.1: parameters MUST NOT be repeated) and
    MalformedRequest. A parameter sent without a value is dropped: RFC 6749 §3.1 says to treat
    it as omitted.
    """
    params: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in parse_pairs(text):
        if name in seen:
            raise DuplicateParameter(name)
        seen.add(name)
        if value != "":
            params[name] = value
    return params


def form_body(request: Request) -> dict[str, str]:
    """The request body as form parameters; MalformedRequest unless it is UTF-8 form encoding."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("body is not UTF-8") from exc
    return parse_params(text)


def json_body(request: Request) -> Any:
    """The request body as JSON (None when empty); MalformedRequest if it is not JSON."""
    if not request.body.strip():
        return None
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest("body is not valid JSON") from exc


class DuplicateParameter(MalformedRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"parameter {name!r} is included more than once")
        self.name = name
