import re

import pytest
from pd_connect.flow.failures import ConnectFailure, Reason, failure_for
from pd_connect.flow.pages import default_pages
from pd_connect.platform.errors import BadRequest
from pd_connect.platform.web import App, Response, parse_request

SECURITY_HEADERS = ("Content-Security-Policy", "Referrer-Policy", "Cache-Control", "X-Content-Type-Options", "Strict-Transport-Security")
# Values every response must carry exactly: no framing (clickjacking), no opener across origins.
EXACT_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def event(path="/", raw_query=None, cookies=None, method="GET", **extra):
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "headers": {"Host": "example.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "req-1", "domainName": "example.execute-api.us-east-1.amazonaws.com"},
        **extra,
    }
    if raw_query is not None:
        event["rawQueryString"] = raw_query
    if cookies is not None:
        event["cookies"] = cookies
    return event


def test_the_domain_name_is_the_apis_own_host():
    assert parse_request(event()).domain_name == "example.execute-api.us-east-1.amazonaws.com"


def test_behind_the_front_door_the_public_host_stage_variable_names_the_host():
    """CloudFront reaches the API at its execute-api host; browsers and the callback use the distribution's."""
    request = parse_request(event(stageVariables={"public_host": "d111111abcdef8.cloudfront.net"}))
    assert request.domain_name == "d111111abcdef8.cloudfront.net"


def test_absent_query_string_and_cookies_parse_as_empty():
    request = parse_request(event())
    assert request.query == {} and request.cookies == {}


def test_null_query_string_parameters_are_tolerated():
    request = parse_request({**event(), "queryStringParameters": None, "cookies": None})
    assert request.query == {}


def test_query_values_are_decoded_and_repeated_ones_kept():
    request = parse_request(event(raw_query="a=1&b=x%20y&a=2"))
    assert request.query == {"a": ("1", "2"), "b": ("x y",)}


def test_a_repeated_parameter_is_a_bad_request():
    request = parse_request(event(raw_query="state=a&state=b"))
    with pytest.raises(BadRequest) as failure:
        request.param("state")
    assert failure_for(failure.value).reason is Reason.BAD_REQUEST


def test_cookies_from_the_v2_cookies_list():
    request = parse_request(event(cookies=["a=1", "b=two=2"]))
    assert request.cookies == {"a": "1", "b": "two=2"}


def test_cookies_from_a_cookie_header_when_no_list():
    request = parse_request({**event(), "headers": {"Cookie": "a=1; b=2"}})
    assert request.cookies == {"a": "1", "b": "2"}


def make_app():
    pages = default_pages()
    app = App(render_failure=lambda failure, reference: pages.failure(failure.reason, reference=reference), failure_for=failure_for)

    @app.get("/")
    def home(request):
        return pages.landing()

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("secret-value-in-message")

    @app.get("/fail")
    def fail(request):
        raise ConnectFailure(Reason.STATE_UNKNOWN, "detail")

    return app


def test_every_response_carries_the_security_headers():
    app = make_app()
    for path in ("/", "/boom", "/fail", "/missing"):
        headers = app.resolve(event(path))["headers"]
        for name in SECURITY_HEADERS:
            assert name in headers, (path, name)
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
        assert {name: headers.get(name) for name in EXACT_HEADERS} == EXACT_HEADERS, path


def test_unknown_path_is_a_404_page():
    assert make_app().resolve(event("/missing"))["statusCode"] == 404


def test_post_is_405():
    assert make_app().resolve(event("/", method="POST"))["statusCode"] == 405


def test_unexpected_error_is_a_500_page_without_details():
    result = make_app().resolve(event("/boom"))
    assert result["statusCode"] == 500
    assert "secret-value-in-message" not in result["body"]
    assert "Traceback" not in result["body"]


def test_an_unexpected_error_is_logged_by_its_type_never_its_message(log_lines):
    make_app().resolve(event("/boom"))

    # Every field of the line (extras included), as CloudWatch would get it.
    (line,) = log_lines.matching("connect flow failed")
    assert (line["reason"], line["status"], line["detail"]) == ("unexpected", 500, "RuntimeError")
    assert "secret-value-in-message" not in log_lines.text
    assert "Traceback" not in log_lines.text


def test_failure_logs_one_line_with_the_reason_code(caplog):
    make_app().resolve(event("/fail"))
    lines = [record for record in caplog.records if record.getMessage() == "connect flow failed"]
    assert len(lines) == 1 and lines[0].reason == "state_unknown"


def test_response_serialises_cookies_as_a_list():
    result = Response(200, "x", "default-src 'none'", cookies=("a=1", "b=2")).to_api_gateway()
    assert result["cookies"] == ["a=1", "b=2"]
    assert "Set-Cookie" not in result["headers"]


def test_a_405_names_the_allowed_methods():
    result = make_app().resolve(event("/", method="POST"))
    assert (result["statusCode"], result["headers"]["Allow"]) == (405, "GET")


def test_head_is_answered_only_where_the_route_allows_it():
    pages = default_pages()
    app = App(
        render_failure=lambda failure, reference: pages.failure(failure.reason, reference=reference),
        failure_for=failure_for,
        elsewhere=("/callback",),
    )

    @app.get("/", head=True)
    def home(request):
        return pages.landing()

    @app.get("/authorize")
    def start(request):
        raise AssertionError("a HEAD must not start a flow")

    assert app.resolve(event("/", method="HEAD"))["statusCode"] == 200
    refused = app.resolve(event("/authorize", method="HEAD"))
    assert (refused["statusCode"], refused["headers"]["Allow"]) == (405, "GET")
    elsewhere = app.resolve(event("/callback", method="POST"))
    assert (elsewhere["statusCode"], elsewhere["headers"]["Allow"]) == (405, "GET")
    assert app.resolve(event("/callback"))["statusCode"] == 404  # GET /callback is another function's


def test_the_failure_reference_on_the_page_is_the_one_in_the_log_line(caplog):
    result = make_app().resolve(event("/fail"))
    (line,) = [record for record in caplog.records if record.getMessage() == "connect flow failed"]
    assert re.fullmatch(r"[0-9a-f]{8}", line.reference)
    assert f'id="reference">{line.reference}<' in result["body"]
    again = make_app().resolve(event("/fail"))
    assert f'id="reference">{line.reference}<' not in again["body"]  # one per failure


def test_a_requests_repr_names_its_parameters_and_cookies_but_shows_none_of_their_values():
    """The code, the state and the browser-binding cookie are credentials: a logged or
    traceback-printed request must not carry them."""
    request = parse_request(event("/callback", raw_query="code=secret-code-1&state=secret-state-1", cookies=["pdc_binding=secret-cookie-1"]))
    shown = repr(request)
    assert "secret-" not in shown
    assert "code" in shown and "state" in shown and "pdc_binding" in shown and "/callback" in shown
