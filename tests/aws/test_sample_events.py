"""The events/ samples for `sam local invoke` are valid payload-2.0 events our handlers answer."""

import json
from pathlib import Path

import pytest

from tests.flow_driver import LambdaContext



EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.mark.parametrize(
    "name,function,status,marker",
    [
        ("landing.json", 0, 200, "Connect to PagerDuty"),
        ("authorize.json", 0, 302, ""),
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
