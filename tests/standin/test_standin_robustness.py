"""Malformed input gets a 4xx and never takes the server down; logs never carry secrets."""

from __future__ import annotations

import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from local.pagerduty_standin.server import Router
from local.pagerduty_standin.wire import Request


def raw_request(base_url: str, data: bytes, *, half_close: bool = False) -> bytes:
    """Send raw bytes and return the whole raw response."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def still_serving(base_url: str) -> bool:
    return requests.get(f"{base_url}/_standin/health", timeout=5).status_code == 200


def post_head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", *headers, "", ""]
    return "\r\n".join(lines).encode()


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "0x10", ""])
def test_bad_content_length_is_400(flow, length):
    raw = raw_request(flow.base_url, post_head("/oauth/token", f"Content-Length: {length}") + b"grant_type=x")

    assert status_of(raw) == 400
    assert still_serving(flow.base_url)


def test_repeated_content_length_is_400(flow):
    data = post_head("/oauth/token", "Content-Length: 4", "Content-Length: 4") + b"a=bc"

    assert status_of(raw_request(flow.base_url, data)) == 400


def test_claimed_huge_body_is_413(flow):
    data = post_head("/oauth/token", "Content-Length: 1000000000000") + b"grant_type=x"

    assert status_of(raw_request(flow.base_url, data)) == 413
    assert still_serving(flow.base_url)


def test_actual_huge_body_is_413(flow):
    response = requests.post(f"{flow.base_url}/oauth/token", data=b"a=" + b"x" * (1024 * 1024),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 413
    assert still_serving(flow.base_url)


def test_body_shorter_than_content_length_is_400(flow):
    data = post_head("/oauth/token", "Content-Length: 100") + b"grant_type=x"

    assert status_of(raw_request(flow.base_url, data, half_close=True)) == 400
    assert still_serving(flow.base_url)


def test_chunked_body_is_411(flow):
    response = requests.post(f"{flow.base_url}/oauth/token", data=iter([b"grant_type=", b"refresh_token"]),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 411
    assert still_serving(flow.base_url)


def test_non_utf8_token_body_is_invalid_request(flow):
    response = requests.post(f"{flow.base_url}/oauth/token", data=b"grant_type=\xff\xfe",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_non_utf8_percent_escape_in_token_body_is_invalid_request(flow):
    response = requests.post(f"{flow.base_url}/oauth/token", data="grant_type=%ff%fe",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.json()["error"] == "invalid_request"


def test_garbled_form_syntax_is_invalid_request(flow):
    response = requests.post(f"{flow.base_url}/oauth/token", data="grant_type&&=",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.json()["error"] == "invalid_request"


def test_non_utf8_authorize_query_is_an_error_page(flow):
    response = requests.get(f"{flow.base_url}/oauth/authorize?client_id=%ff", allow_redirects=False)

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")


def test_raw_non_ascii_bytes_in_the_path_are_400(flow):
    data = b"GET /oauth/authorize?client_id=\xc3\xa9\xff HTTP/1.1\r\nHost: localhost\r\n\r\n"

    assert status_of(raw_request(flow.base_url, data)) == 400
    assert still_serving(flow.base_url)


@pytest.mark.parametrize("line", [b"HELLO", b"GET / HTTP/9.x", b"GET / HTTP/1.1 extra", b"\x00\xff\xfe"])
def test_garbage_request_line_is_rejected(flow, line):
    raw = raw_request(flow.base_url, line + b"\r\n\r\n")

    assert raw.startswith(b"HTTP/1.1 400 ")  # a status line even when the version is unreadable
    assert still_serving(flow.base_url)


def test_client_that_disconnects_immediately_does_no_harm(flow):
    url = urlsplit(flow.base_url)
    for _ in range(5):
        socket.create_connection((url.hostname, url.port), timeout=5).close()

    assert still_serving(flow.base_url)


def test_invalid_json_to_a_control_endpoint_is_400(flow):
    response = requests.post(f"{flow.base_url}/_standin/faults", data="{not json",
                             headers={"Content-Type": "application/json"})

    assert response.status_code == 400


def test_unknown_path_is_404(flow):
    assert requests.get(f"{flow.base_url}/nothing/here").status_code == 404


def test_wrong_method_is_405_with_allow(flow):
    response = requests.delete(f"{flow.base_url}/oauth/authorize")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_a_bug_in_an_endpoint_is_a_500_not_a_crash():
    def broken(request):
        raise RuntimeError("bug")

    response = Router({("GET", "/boom"): broken}).dispatch(Request("GET", "/boom", "", {}))

    assert response.status == 500


def test_concurrent_requests_are_served(flow):
    access_token = flow.tokens()["access_token"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: flow.users_me(access_token).status_code, range(48)))

    assert statuses == [200] * 48


def test_concurrent_redemptions_of_one_code_succeed_once(flow):
    code = flow.code()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: flow.exchange(code).status_code, range(8)))

    assert sorted(statuses) == [200] + [400] * 7


def test_logs_carry_method_and_path_but_no_secrets(flow, caplog):
    verifier, challenge = flow.pkce_pair()
    with caplog.at_level(logging.DEBUG, logger="local.pagerduty_standin"):
        code = flow.code(code_challenge=challenge, code_challenge_method="S256")
        tokens = flow.exchange(code, code_verifier=verifier).json()
        flow.refresh(tokens["refresh_token"])
        flow.users_me(tokens["access_token"])
        requests.post(f"{flow.base_url}/oauth/token", params={"client_secret": flow.client.client_secret})
        raw_request(flow.base_url, f"BROKEN /?client_secret={flow.client.client_secret}\r\n\r\n".encode())

    logged = caplog.text
    assert "POST /oauth/token" in logged
    for secret in (code, verifier, challenge, tokens["access_token"], tokens["refresh_token"],
                   tokens["id_token"], flow.client.client_secret, "state-123"):
        assert secret not in logged
