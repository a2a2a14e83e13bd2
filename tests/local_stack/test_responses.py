"""A handler's payload 2.0 result becomes the HTTP response API Gateway would send."""

from __future__ import annotations

import base64
import http.client
import json

import pytest

from local.stack.events import InvalidResponse, to_http_response


def fetch(port: int, method: str = "GET", target: str = "/") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(method, target)
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_each_cookie_becomes_its_own_set_cookie_header(gateway, handler):
    handler.result = {"statusCode": 302, "headers": {"Location": "/next"}, "cookies": ["a=1; Path=/", "b=2; HttpOnly"]}

    response = fetch(gateway.port)

    assert response.status == 302
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert response.headers["Location"] == "/next"


def test_a_base64_body_is_decoded_to_bytes(gateway, handler):
    png = b"\x89PNG\r\n\x1a\n\x00"
    handler.result = {
        "statusCode": 200,
        "headers": {"content-type": "image/png"},
        "body": base64.b64encode(png).decode(),
        "isBase64Encoded": True,
    }

    response = fetch(gateway.port)

    assert response.body == png
    assert response.headers["Content-Length"] == str(len(png))


def test_multi_value_headers_each_become_a_header(gateway, handler):
    handler.result = {"statusCode": 200, "body": "", "multiValueHeaders": {"X-Many": ["1", "2"]}}

    response = fetch(gateway.port)

    assert response.headers.get_all("X-Many") == ["1", "2"]


def test_a_dict_without_status_code_is_a_200_json_body(gateway, handler):
    handler.result = {"hello": "world"}

    response = fetch(gateway.port)

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"hello": "world"}


def test_a_string_result_is_a_200_with_that_string(gateway, handler):
    handler.result = "Hello from Lambda!"

    response = fetch(gateway.port)

    assert (response.status, response.body) == (200, b"Hello from Lambda!")


def test_a_response_without_content_type_defaults_to_json():
    response = to_http_response({"statusCode": 204})

    assert response.headers == (("content-type", "application/json"),)
    assert response.body == b""


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "headers": {"X-Bad": "a\r\nInjected: 1"}},
        {"statusCode": 200, "headers": {"X-Bad\r\nInjected": "1"}},
        {"not": {"json", "serialisable"}},
    ],
)
def test_malformed_results_are_invalid_responses(result):
    with pytest.raises(InvalidResponse):
        to_http_response(result)


def test_a_malformed_result_is_a_500_from_the_gateway(gateway, handler):
    handler.result = {"statusCode": "oops"}

    response = fetch(gateway.port)

    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


def test_a_handler_exception_is_a_500_and_one_log_line(gateway, handler, caplog):
    def explode(event, context):
        raise KeyError("state")

    handler.behaviour = explode

    response = fetch(gateway.port, target="/?code=secret-code")

    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(failures) == 1 and "StartFunction failed: KeyError" in failures[0]
    assert "\n" not in failures[0]
    assert all("secret-code" not in r.getMessage() for r in caplog.records)  # no query, no event dump


def test_a_handler_past_its_timeout_is_a_500(gateway, handler):
    handler.behaviour = lambda event, context: __import__("time").sleep(3)

    response = fetch(gateway.port)

    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


def test_the_context_reports_time_left_from_the_function_timeout(gateway, handler):
    seen = {}

    def record(event, context):
        seen.update(
            remaining=context.get_remaining_time_in_millis(),
            name=context.function_name,
            memory=context.memory_limit_in_mb,
            arn=context.invoked_function_arn,
            request_id=context.aws_request_id,
        )
        return {"statusCode": 204}

    handler.behaviour = record

    fetch(gateway.port)

    assert 0 < seen["remaining"] <= 1000  # the fixture function's Timeout is 1 s
    assert (seen["name"], seen["memory"]) == ("StartFunction", 128)
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:StartFunction"
    assert seen["request_id"]


def test_head_gets_headers_without_a_body(gateway, handler):
    response = fetch(gateway.port, method="HEAD", target="/nowhere")

    assert response.status == 404 and response.body == b""
