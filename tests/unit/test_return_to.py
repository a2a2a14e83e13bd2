"""No open redirector (RFC 9700 §4.11): every shape that could leave the allow-listed origin."""

import pytest
from pd_connect.flow import return_to
from pd_connect.flow.return_to import normalise_return_path, return_url

ORIGIN = "https://app.example.com"

# Each of these, in a link token's return path, must never send the browser off ORIGIN.
OPEN_REDIRECT_SHAPES = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https://evil.example/",
    "http://app.example.com/",  # another scheme on the right host
    "https://app.example.com@evil.example/",
    "https://good@evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%2F%2Fevil.example/",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%255C%255Cevil.example",
    "/\tevil",
    "/ /evil.example",
    "/\r\nLocation: https://evil.example",
    "evil.example",
    "",
    "/" + "a" * 2000,
    # dot segments: a browser normalises them, "/..//evil.example/x" asks for //evil.example/x
    "/..//evil.example/x",
    "/.//evil.example/x",
    "/a/../..//evil.example/x",
    "/%2e%2e//evil.example/x",
    "/%2E%2E/%2Fevil.example",
    "/.%2e//evil.example",
    "/..",
    "/./settings",
    "/settings/..",
    # non-ASCII must be percent-encoded (it could not be sent as a Location header)
    "/é",
    "/\u2028x",
]


@pytest.mark.parametrize("shape", OPEN_REDIRECT_SHAPES)
def test_open_redirect_shapes_are_refused(shape):
    with pytest.raises(ValueError):
        normalise_return_path(shape)


@pytest.mark.parametrize(
    "path", ["/", "/settings", "/settings/integrations?tab=pagerduty&x=1", "/a/b%20c", "/x#frag", "/a...b/.well", "/%C3%A9"]
)
def test_paths_on_the_origin_are_kept(path):
    url = return_url(ORIGIN, path, pagerduty="connected")
    assert url.startswith(ORIGIN + "/")
    assert url.endswith("pagerduty=connected") and "#" not in url


def test_the_flag_is_added_to_an_existing_query():
    assert return_url(ORIGIN, "/s?tab=pd", pagerduty="connected") == f"{ORIGIN}/s?tab=pd&pagerduty=connected"


@pytest.mark.parametrize("shape", OPEN_REDIRECT_SHAPES)
def test_return_url_refuses_every_open_redirect_shape(shape):
    with pytest.raises(ValueError):
        return_url(ORIGIN, shape, pagerduty="connected")


@pytest.mark.parametrize("shape", ["@evil.example/", ".evil.example/", ":8443/", "evil.example/x", "x@evil.example/"])
def test_return_url_checks_the_joined_origin_itself_should_the_path_check_let_a_shape_through(monkeypatch, shape):
    monkeypatch.setattr(return_to, "normalise_return_path", lambda value: value)  # the first line of defence gone

    with pytest.raises(ValueError, match="leave the allowed origin"):
        return_url(ORIGIN, shape, pagerduty="connected")
