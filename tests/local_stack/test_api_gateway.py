"""The local API answers what HTTP API answers, and no request can take the server down."""

from __future__ import annotations

import http.client
import json

import pytest

from local.stack.api_gateway import MAX_PAYLOAD_BYTES, MAX_REQUEST_LINE_AND_HEADERS
from local.stack.routes import RouteTable
from local.stack.template import Route

from .support import raw_exchange


def request(port: int, method: str, target: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, target, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload, response


def still_answers(port: int) -> bool:
    status, _, _ = request(port, "GET", "/")
    return status == 200


def test_an_unknown_path_is_404_not_found(gateway, handler):
    status, body, response = request(gateway.port, "GET", "/favicon.ico")

    assert (status, json.loads(body)) == (404, {"message": "Not Found"})
    assert response.headers["apigw-requestid"]
    assert handler.events == []


def test_a_known_path_under_another_method_is_also_404(gateway, handler):
    # HTTP API matches routes on "METHOD path"; no 405 (and no REST API style 403).
    status, body, _ = request(gateway.port, "POST", "/authorize", body=b"x=1")

    assert (status, json.loads(body)) == (404, {"message": "Not Found"})
    assert handler.events == []


def test_a_body_over_10_mb_is_413_before_it_is_read(gateway, handler):
    answer = raw_exchange(
        gateway.port, f"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {MAX_PAYLOAD_BYTES + 1}\r\n\r\n".encode()
    )

    assert answer.startswith(b"HTTP/1.1 413")
    assert answer.endswith(b'{"message":"Request Entity Too Large"}')
    assert handler.events == []
    assert still_answers(gateway.port)


def test_a_chunked_body_over_10_mb_is_413(gateway, handler):
    oversized_chunk = f"{MAX_PAYLOAD_BYTES + 1:x}".encode()
    answer = raw_exchange(
        gateway.port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + oversized_chunk + b"\r\n",
    )

    assert answer.startswith(b"HTTP/1.1 413")
    assert handler.events == []


def test_a_body_of_exactly_10_mb_is_accepted(gateway, handler):
    status, _, _ = request(gateway.port, "GET", "/", body=b"x" * MAX_PAYLOAD_BYTES)

    assert status == 200
    assert len(handler.events[0]["body"]) > MAX_PAYLOAD_BYTES  # base64 of the raw bytes


def test_request_line_and_headers_over_10240_bytes_is_413(gateway, handler):
    status, body, _ = request(gateway.port, "GET", "/", headers={"X-Big": "a" * MAX_REQUEST_LINE_AND_HEADERS})

    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
    assert handler.events == []


def test_a_chunked_body_is_read(gateway, handler):
    answer = raw_exchange(
        gateway.port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )

    assert answer.startswith(b"HTTP/1.1 200")
    assert handler.events[0]["body"] == "abcde"


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nshort",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        b"GET /%FF HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /?a=%FF HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on the plain port
        b"",
    ],
)
def test_malformed_requests_get_an_error_and_the_server_keeps_answering(gateway, handler, raw):
    answer = raw_exchange(gateway.port, raw)

    status = answer.split(b" ")[1] if answer else b""
    assert answer == b"" or status.startswith(b"4") or status == b"505", answer[:80]
    assert handler.events == []
    assert still_answers(gateway.port)


def test_localhost_and_127_0_0_1_are_both_accepted_as_host(gateway):
    assert request(gateway.port, "GET", "/", headers={"Host": f"localhost:{gateway.port}"})[0] == 200
    assert request(gateway.port, "GET", "/", headers={"Host": f"127.0.0.1:{gateway.port}"})[0] == 200


def test_another_host_name_is_refused(gateway, handler):
    # A page on another site could otherwise reach this server through a rebound DNS name.
    status, _, _ = request(gateway.port, "GET", "/", headers={"Host": "evil.example:3000"})

    assert status == 403
    assert handler.events == []


def test_the_most_specific_route_wins():
    routes = RouteTable(
        [
            Route("ANY", "$default", "Fallback"),
            Route("ANY", "/items/{proxy+}", "Greedy"),
            Route("GET", "/items/{item_id}", "Variable"),
            Route("GET", "/items/special", "Exact"),
        ]
    )

    assert routes.match("GET", "/items/special").route.function_id == "Exact"
    assert routes.match("GET", "/items/7").path_parameters == {"item_id": "7"}
    assert routes.match("POST", "/items/7/parts").route.function_id == "Greedy"
    assert routes.match("DELETE", "/elsewhere").route.function_id == "Fallback"
