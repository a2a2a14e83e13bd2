"""Granting fewer scopes than asked: a read-only user's role, and scopes withheld by a test."""

from __future__ import annotations

import pytest
import requests

from local.pagerduty_standin.scopes import granted_scope

READ_ONLY_LOGIN = "PREAD01"


def control(flow, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{flow.base_url}/_standin/{path}", timeout=5, **kwargs)


def test_by_default_every_known_requested_scope_is_granted_with_openid(flow):
    assert flow.tokens(scope="read write")["scope"] == "openid read write"


def test_a_read_only_user_gets_no_write_scope(flow):
    tokens = flow.tokens(login=READ_ONLY_LOGIN, scope="read write incidents.write users.read")

    assert tokens["scope"] == "openid read users.read"


def test_a_read_only_user_gets_read_scopes_in_full(flow):
    assert flow.tokens(login=READ_ONLY_LOGIN, scope="read")["scope"] == "openid read"


@pytest.mark.parametrize("role", ["observer", "restricted_access", "read_only_user", "read_only_limited_user"])
def test_roles_that_cannot_write_never_grant_a_write_scope(role):
    assert granted_scope("write incidents.write services.read", role=role) == "openid services.read"


def test_scopes_withheld_over_http_are_granted_to_no_one_until_cleared(flow):
    answer = control(flow, "POST", "scopes", json={"withhold": ["incidents.write"]})
    withheld = flow.tokens(scope="incidents.read incidents.write")["scope"]
    cleared = control(flow, "DELETE", "scopes")
    restored = flow.tokens(scope="incidents.read incidents.write")["scope"]

    assert answer.status_code == 200 and answer.json() == {"withhold": ["incidents.write"]}
    assert withheld == "openid incidents.read"
    assert cleared.json() == {"withhold": []}
    assert restored == "openid incidents.read incidents.write"


def test_withholding_every_requested_scope_leaves_only_openid(standin, flow):
    standin.scopes.withhold("read")

    assert flow.tokens(scope="read")["scope"] == "openid"
    assert control(flow, "GET", "scopes").json() == {"withhold": ["read"]}


def test_reset_grants_every_scope_again(standin, flow):
    standin.scopes.withhold("read")
    control(flow, "POST", "reset")

    assert flow.tokens(scope="read")["scope"] == "openid read"


@pytest.mark.parametrize(
    "body", [{"withhold": "read"}, {"withhold": ["openid"]}, {"withhold": ["not a scope"]}, {"scopes": ["read"]}, [1]]
)
def test_a_malformed_withhold_request_is_a_400_and_changes_nothing(flow, body):
    answer = control(flow, "POST", "scopes", json=body)

    assert answer.status_code == 400
    assert control(flow, "GET", "scopes").json() == {"withhold": []}
