"""The local API hands handlers the payload 2.0 event API Gateway (and `sam local`) would."""

from __future__ import annotations

import base64
import http.client
from typing import Any

import pytest

from local.stack.events import BadRequest, HttpRequest, build_event

# Keys SAM's sample has that a request only gets in some cases: a body when one was sent, path
# variables in the route, stage variables on the stage, mutual TLS, an authorizer.
CONDITIONAL_KEYS = {"body", "pathParameters", "stageVariables", "authentication", "authorizer"}


def get(port: int, target: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", target, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def shape_differences(ours: Any, reference: Any, where: str = "event") -> list[str]:
    """Where `ours` differs from `reference` in keys or value types (values themselves ignored)."""
    if isinstance(reference, dict):
        if not isinstance(ours, dict):
            return [f"{where}: {type(ours).__name__} instead of an object"]
        differences = [f"{where}.{key}: missing" for key in reference.keys() - ours.keys() - CONDITIONAL_KEYS]
        differences += [f"{where}.{key}: not in API Gateway's event" for key in ours.keys() - reference.keys()]
        for key in ours.keys() & reference.keys():
            if key in ("headers", "queryStringParameters"):  # names vary; every value is a string
                differences += [
                    f"{where}.{key}.{k}: not a string" for k, v in ours[key].items() if not isinstance(v, str)
                ]
            else:
                differences += shape_differences(ours[key], reference[key], f"{where}.{key}")
        return differences
    if isinstance(reference, list):
        if not isinstance(ours, list):
            return [f"{where}: {type(ours).__name__} instead of a list"]
        return [d for item in ours for d in shape_differences(item, reference[0], f"{where}[]")]
    if type(ours) is not type(reference):
        return [f"{where}: {type(ours).__name__} instead of {type(reference).__name__}"]
    return []


def test_a_get_with_query_and_cookies_has_the_shape_sam_generates(gateway, handler, sam_generated_event):
    get(gateway.port, "/authorize?team=a&team=b&x=1", {"Cookie": "a=1; b=2", "User-Agent": "pytest"})

    assert shape_differences(handler.events[0], sam_generated_event) == []


def test_a_post_with_a_binary_body_has_the_shape_sam_generates(sam_generated_event):
    headers = (("Content-Type", "application/octet-stream"), ("Cookie", "a=1"))
    request = HttpRequest("POST", "/", "a=1", headers, b"\x00\x01", "127.0.0.1", "HTTP/1.1")

    event = build_event(request, route_key="POST /", server_port=3000)

    assert shape_differences(event, sam_generated_event) == []


def test_the_shape_check_notices_a_missing_key(sam_generated_event):
    event = dict(sam_generated_event)
    del event["rawQueryString"]

    assert shape_differences(event, sam_generated_event) == ["event.rawQueryString: missing"]


def test_event_carries_route_key_paths_and_request_context(gateway, handler):
    get(gateway.port, "/authorize?x=1", {"Host": "localhost:3000", "User-Agent": "pytest"})

    event = handler.events[0]
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
        "2.0",
        "GET /authorize",
        "/authorize",
        "x=1",
    )
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/authorize",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert (context["routeKey"], context["stage"], context["domainName"], context["domainPrefix"]) == (
        "GET /authorize",
        "$default",
        "localhost",
        "localhost",
    )
    assert isinstance(context["timeEpoch"], int) and context["timeEpoch"] > 1_600_000_000_000  # milliseconds


def test_each_request_gets_its_own_request_id(gateway, handler):
    get(gateway.port, "/")
    get(gateway.port, "/")

    ids = {event["requestContext"]["requestId"] for event in handler.events}
    assert len(ids) == 2


def test_no_query_string_means_no_query_string_parameters(gateway, handler):
    get(gateway.port, "/")

    assert "queryStringParameters" not in handler.events[0]
    assert handler.events[0]["rawQueryString"] == ""


def test_repeated_query_parameters_are_joined_with_commas_and_decoded(gateway, handler):
    get(gateway.port, "/?scope=read&scope=write&name=J%C3%B6rg+B&empty=")

    assert handler.events[0]["queryStringParameters"] == {"scope": "read,write", "name": "Jörg B", "empty": ""}
    assert handler.events[0]["rawQueryString"] == "scope=read&scope=write&name=J%C3%B6rg+B&empty="


def test_cookies_become_a_list_and_the_cookie_header_goes(gateway, handler):
    get(gateway.port, "/", {"Cookie": "__Host-binding=abc; theme=dark"})

    event = handler.events[0]
    assert event["cookies"] == ["__Host-binding=abc", "theme=dark"]
    assert "cookie" not in event["headers"]


def test_no_cookie_header_means_no_cookies_key(gateway, handler):
    get(gateway.port, "/")

    assert "cookies" not in handler.events[0]


def test_headers_are_lower_cased_and_repeats_joined_with_commas(gateway, handler):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    connection.putrequest("GET", "/")
    connection.putheader("X-Trace", "one")
    connection.putheader("X-Trace", "two")
    connection.endheaders()
    connection.getresponse().read()
    connection.close()

    headers = handler.events[0]["headers"]
    assert headers["x-trace"] == "one,two"
    assert all(name == name.lower() for name in headers)
    assert headers["x-forwarded-proto"] == "http"


def test_a_get_has_no_body_and_is_not_base64(gateway, handler):
    get(gateway.port, "/")

    assert "body" not in handler.events[0]
    assert handler.events[0]["isBase64Encoded"] is False
    assert "pathParameters" not in handler.events[0] and "stageVariables" not in handler.events[0]


@pytest.mark.parametrize(
    ("content_type", "body", "expected_body", "expected_base64"),
    [
        ("application/json", b'{"a": 1}', '{"a": 1}', False),
        ("text/plain; charset=utf-8", "héllo".encode(), "héllo", False),
        ("application/octet-stream", b"\xff\x00", base64.b64encode(b"\xff\x00").decode(), True),
        ("application/x-www-form-urlencoded", b"a=1", base64.b64encode(b"a=1").decode(), True),
    ],
)
def test_text_bodies_pass_as_text_and_others_as_base64(content_type, body, expected_body, expected_base64):
    request = HttpRequest("POST", "/", "", (("Content-Type", content_type),), body, "127.0.0.1", "HTTP/1.1")

    event = build_event(request, route_key="POST /", server_port=3000)

    assert (event["body"], event["isBase64Encoded"]) == (expected_body, expected_base64)


def test_path_variables_become_path_parameters():
    request = HttpRequest("GET", "/items/42", "", (), b"", "127.0.0.1", "HTTP/1.1")

    event = build_event(request, route_key="GET /items/{item_id}", path_parameters={"item_id": "42"}, server_port=3000)

    assert event["pathParameters"] == {"item_id": "42"}


def test_a_query_that_is_not_utf8_is_a_bad_request():
    request = HttpRequest("GET", "/", "a=%FF", (), b"", "127.0.0.1", "HTTP/1.1")

    with pytest.raises(BadRequest):
        build_event(request, route_key="GET /", server_port=3000)
