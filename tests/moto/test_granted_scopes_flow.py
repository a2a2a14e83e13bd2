"""The callback compares the scopes PagerDuty granted with those requested: when some are
missing, the user gets a page naming them, nothing usable is stored, and a metric counts it."""

import json

import pytest

from tests.flow_driver import FlowDriver

from .conftest import SITE, scan_all, start_container


@pytest.fixture
def asks_read_write(handlers, monkeypatch):
    """The deployment asks for `read write` (PagerDutyScopes); a fresh container reads it."""
    return FlowDriver(*start_container(monkeypatch, {"PD_SCOPES": "read write"}), site=SITE)


def connections(aws):
    return [item for item in scan_all(aws) if item["kind"]["S"] == "connection"]


def failure_metrics(capsys) -> list[dict]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return [m for m in lines if "ConnectFailures" in m]


def test_every_requested_scope_granted_connects(asks_read_write, aws):
    result = asks_read_write.connect(login="PADA001")

    assert result["statusCode"] == 200
    (item,) = connections(aws)
    assert item["scopes"]["S"] == "openid read write"


def test_a_read_only_users_connection_without_write_is_refused_with_what_is_missing(asks_read_write, aws, capsys):
    result = asks_read_write.connect(login="PREAD01")

    assert result["statusCode"] == 403
    assert '<ul id="missing-scopes"><li><code>write</code></li></ul>' in result["body"]
    assert "PagerDuty role" in result["body"] and "scope settings in PagerDuty" in result["body"]
    assert connections(aws) == []  # no usable connection stored
    assert [i for i in scan_all(aws) if i["kind"]["S"] != "link_nonce"] == []  # nor the pending state
    (metric,) = failure_metrics(capsys)
    assert metric["reason"] == "scopes_not_granted" and metric["ConnectFailures"] == [1.0]


def test_scopes_left_out_by_the_apps_settings_are_named_too(asks_read_write, aws, standin):
    standin.scopes.withhold("read", "write")

    result = asks_read_write.connect(login="PADA001")

    assert result["statusCode"] == 403
    assert "<li><code>read</code></li><li><code>write</code></li>" in result["body"]
    assert connections(aws) == []


def test_a_refused_reconnect_leaves_the_earlier_connection_as_it_was(asks_read_write, aws, standin):
    assert asks_read_write.connect(login="PADA001")["statusCode"] == 200
    (before,) = connections(aws)
    standin.scopes.withhold("write")

    result = asks_read_write.connect(login="PADA001")

    assert result["statusCode"] == 403
    assert connections(aws) == [before]


def test_the_refused_flow_makes_no_profile_call(asks_read_write, standin):
    standin.scopes.withhold("write")

    asks_read_write.connect(login="PADA001")

    assert standin.calls["users_me"] == 0 and standin.calls["token_authorization_code"] == 1


def test_the_added_openid_scope_is_fine(browser, aws, standin):
    result = browser.connect(login="PREAD01")  # asks for `read` only: a read-only user grants it

    assert result["statusCode"] == 200
    assert connections(aws)[0]["scopes"]["S"] == "openid read"
