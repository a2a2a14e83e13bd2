"""The events/ samples for `sam local invoke` are valid payload-2.0 events our handlers answer."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.flow_driver import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.mark.parametrize(
    "name,function,status,marker",
    [
        ("landing.json", 0, 200, "Connect to PagerDuty"),
        ("callback.json", 1, 400, ">state_unknown<"),
        ("callback-access-denied.json", 1, 400, "cancelled"),
        ("callback-bad-state.json", 1, 400, ">state_unknown<"),
    ],
)
def test_sample_event(handlers, name, function, status, marker):
    event = json.loads((EVENTS / name).read_text())
    result = handlers[function](event, LambdaContext())
    assert result["statusCode"] == status
    assert marker in result["body"]


def test_the_authorize_sample_redirects_to_pagerdutys_authorize_page_with_pkce(handlers, standin):
    event = json.loads((EVENTS / "authorize.json").read_text())

    result = handlers[0](event, LambdaContext())

    location = urlsplit(result["headers"]["Location"])
    query = parse_qs(location.query)
    assert (result["statusCode"], f"{location.scheme}://{location.netloc}{location.path}") == (
        302,
        f"{standin.base_url}/oauth/authorize",
    )
    assert (query["response_type"], query["code_challenge_method"], query["redirect_uri"]) == (
        ["code"],
        ["S256"],
        ["https://localhost:3000/callback"],
    )
    assert query["state"][0] and query["code_challenge"][0]
