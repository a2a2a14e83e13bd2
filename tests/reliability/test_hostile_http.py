"""Hostile requests through the whole local HTTP stack (`python -m local.stack`: the local API
gateway, the handlers, embedded AWS, the stand-in), as a browser or a script would send them.
One stack for the module; its output joins the session's log scan."""

from __future__ import annotations

import html
import re
import signal
import socket

import pytest
import requests
from pd_connect.flow.browser_binding import COOKIE_NAME, new_binding

from tests.local_stack.support import StackProcess, free_port

from .support import query_of


class Stack:
    def __init__(self, process: StackProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://localhost:{port}"

    def get(self, target: str, *, headers: list[tuple[str, str]] = ()) -> tuple[int, str]:
        """GET exactly `target` (no client-side re-encoding); headers may repeat."""
        request = f"GET {target} HTTP/1.1\r\nHost: localhost:{self.port}\r\nConnection: close\r\n"
        request += "".join(f"{name}: {value}\r\n" for name, value in headers)
        return self.raw(request.encode("utf-8") + b"\r\n")

    def raw(self, request: bytes) -> tuple[int, str]:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        return int(status_line.split()[1]), rest.decode("utf-8", "replace")

    def start_flow(self) -> tuple[str, str, str]:
        """/authorize → (binding cookie value, state, PagerDuty authorize URL)."""
        start = requests.get(self.base + "/authorize", allow_redirects=False, timeout=10)
        binding = start.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        return binding, query_of(start.headers["Location"])["state"], start.headers["Location"]


@pytest.fixture(scope="module")
def stack(log_scan):
    port = free_port()
    with StackProcess(env={"PORT": str(port)}) as process:
        process.wait_for(f"Open http://localhost:{port}/")
        yield Stack(process, port)
        process.stop(signal.SIGINT)
    log_scan.add_lines(process.lines, "local stack")


@pytest.fixture
def remember(log_scan):
    """Secrets of the stack's flows join the session's log scan (its stand-in is in another process)."""
    return log_scan.add_value


def reason_in(body: str) -> str:
    match = re.search(r'id="reason">([a-z_]+)<', body)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    "query,reason",
    [
        ("code=" + "c" * 5000, "bad_request"),  # under the gateway's 10 KB, over the handler's 4 KB
        ("%", "state_missing"),
        ("&&&", "state_missing"),
        ("=", "state_missing"),
        ("state=a&state=b&code=c", "bad_request"),
    ],
    ids=["5KB", "lone-percent", "separators", "lone-equals", "repeated-state"],
)
def test_a_malformed_callback_query_is_a_400_page(stack, query, reason):
    status, body = stack.get("/callback?" + query)

    assert (status, reason_in(body)) == (400, reason)


@pytest.mark.parametrize("query", ["state=%ff%fe&code=x", "%ff%fe"], ids=["non-utf8-state", "non-utf8-name"])
def test_percent_encoded_non_utf8_bytes_are_a_400(stack, query):
    status, _ = stack.get("/callback?" + query)

    assert status == 400  # the local gateway refuses them itself; behind it, the handler would too


def test_a_100KB_query_is_refused_before_any_handler_runs(stack):
    status, _ = stack.get("/callback?code=" + "c" * 100_000)

    assert status in (413, 414)  # HTTP API quota: 10240 bytes of request line and headers


def test_raw_non_utf8_bytes_in_the_request_line_are_refused_by_the_gateway(stack):
    status, _ = stack.raw(
        b"GET /callback?state=\xff\xfe&code=x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )

    assert status == 400


def test_a_forged_first_cookie_header_decides_and_is_refused(stack, remember):
    binding, state, _ = stack.start_flow()
    remember("browser binding", binding)
    remember("state", state)
    forged = f"{COOKIE_NAME}={new_binding()}"

    status, body = stack.get(
        f"/callback?state={state}&code=x", headers=[("Cookie", forged), ("Cookie", f"{COOKIE_NAME}={binding}")]
    )

    assert (status, reason_in(body)) == (400, "state_other_browser")


def test_a_forged_link_is_refused(stack):
    status, body = stack.get("/authorize?link=v1.e30.AAAA")

    assert (status, reason_in(body)) == (400, "link_invalid")


@pytest.mark.parametrize(
    "method,path,expected",
    [
        ("GET", "/admin", (404, "not_found", None)),
        ("POST", "/callback", (405, "method_not_allowed", "GET")),
        ("DELETE", "/authorize", (405, "method_not_allowed", "GET")),
        ("HEAD", "/authorize", (405, "method_not_allowed", "GET")),  # a link checker starts no flow
        ("POST", "/", (405, "method_not_allowed", "GET, HEAD")),
    ],
)
def test_unknown_routes_and_methods_get_the_functions_html_404_or_405_page(stack, method, path, expected):
    status, rest = stack.raw(
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = rest.partition("\r\n\r\n")
    headers = dict(line.lower().split(": ", 1) for line in head.split("\r\n"))

    status_expected, reason_expected, allow_expected = expected
    assert (status, headers.get("allow")) == (status_expected, allow_expected and allow_expected.lower())
    assert reason_in(body) == ("" if method == "HEAD" else reason_expected)  # HEAD: the headers only
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_a_replayed_callback_over_http_is_refused(stack, remember):
    binding, state, authorize_url = stack.start_flow()
    consent = requests.get(authorize_url, timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    decided = requests.post(
        consent.url.split("?")[0],
        data={**{k: html.unescape(v) for k, v in fields.items()}, "login": "PADA001", "decision": "authorize"},
        allow_redirects=False,
        timeout=10,
    )
    callback_target = decided.headers["Location"].removeprefix(stack.base)
    for kind, value in (
        ("browser binding", binding),
        ("state", state),
        ("authorization code", query_of(callback_target)["code"]),
    ):
        remember(kind, value)
    cookie = [("Cookie", f"{COOKIE_NAME}={binding}")]
    first, _ = stack.get(callback_target, headers=cookie)

    replayed, body = stack.get(callback_target, headers=cookie)

    assert (first, replayed, reason_in(body)) == (200, 400, "state_unknown")
