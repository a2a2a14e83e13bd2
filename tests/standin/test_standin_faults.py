"""Faults: make the token endpoint or /users/me misbehave for the next calls."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from local.pagerduty_standin import Fault


def set_faults(flow, payload) -> requests.Response:
    return requests.post(f"{flow.base_url}/_standin/faults", json=payload)


# Token endpoint


def test_token_5xx_fault(flow):
    set_faults(flow, {"endpoint": "token", "kind": "status", "status": 503})

    response = flow.exchange(flow.code())

    assert response.status_code == 503
    assert response.json()["error"] == "server_error"


def test_token_rate_limit_fault_carries_ratelimit_headers(flow):
    set_faults(flow, {"endpoint": "token", "kind": "rate_limit", "reset": 7})

    response = flow.exchange(flow.code())

    assert response.status_code == 429
    assert response.headers["ratelimit-reset"] == "7"
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-limit"] == "960"
    assert response.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}


def test_token_bare_rate_limit_fault_has_no_headers_and_no_body(flow):
    set_faults(flow, {"endpoint": "token", "kind": "rate_limit_bare"})

    response = flow.exchange(flow.code())

    assert response.status_code == 429
    assert response.content == b""
    assert not any(name.lower().startswith("ratelimit") for name in response.headers)
    assert "Retry-After" not in response.headers


def test_token_invalid_grant_fault(flow):
    refresh_token = flow.tokens()["refresh_token"]
    set_faults(flow, {"endpoint": "token", "kind": "invalid_grant"})

    response = flow.refresh(refresh_token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_non_json_fault_returns_an_html_bad_gateway(flow):
    set_faults(flow, {"endpoint": "token", "kind": "non_json"})

    response = flow.exchange(flow.code())

    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_token_delay_fault_answers_normally_after_waiting(flow):
    set_faults(flow, {"endpoint": "token", "kind": "delay", "seconds": 0.5, "times": 1})
    code = flow.code()

    started = time.monotonic()
    response = flow.exchange(code)

    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200


def test_faulted_call_does_not_consume_the_code(flow):
    set_faults(flow, {"endpoint": "token", "kind": "status", "status": 500, "times": 1})
    code = flow.code()

    assert flow.exchange(code).status_code == 500
    assert flow.exchange(code).status_code == 200


def test_faulted_call_does_not_rotate_the_refresh_token(flow):
    refresh_token = flow.tokens()["refresh_token"]
    set_faults(flow, {"endpoint": "token", "kind": "invalid_grant", "times": 1})

    assert flow.refresh(refresh_token).status_code == 400
    assert flow.refresh(refresh_token).status_code == 200


# /users/me


def test_users_me_5xx_fault(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 500})

    response = flow.users_me(access_token)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == 2000


def test_users_me_rate_limit_fault(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "rate_limit", "reset": 2})

    response = flow.users_me(access_token)

    assert response.status_code == 429
    assert response.headers["ratelimit-reset"] == "2"
    assert response.json()["error"]["code"] == 2020


def test_users_me_bare_rate_limit_fault(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "rate_limit_bare"})

    response = flow.users_me(access_token)

    assert response.status_code == 429
    assert response.content == b""
    assert "ratelimit-reset" not in response.headers


def test_users_me_non_json_fault_with_chosen_status(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "non_json", "status": 504})

    response = flow.users_me(access_token)

    assert response.status_code == 504
    assert response.text.lstrip().startswith("<html>")


def test_users_me_delay_fault(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "delay", "seconds": 0.3})

    started = time.monotonic()
    response = flow.users_me(access_token, region="US")

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_users_me_faults_apply_to_the_eu_host_too(flow):
    access_token = flow.tokens(flow.EU_LOGIN)["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 503})

    assert flow.users_me(access_token, region="EU").status_code == 503


# Lifetime of a fault


def test_fault_applies_to_the_next_times_calls_only(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 503, "times": 2})

    statuses = [flow.users_me(access_token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_fault_without_times_lasts_until_cleared(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 503})
    assert [flow.users_me(access_token).status_code for _ in range(3)] == [503, 503, 503]

    assert requests.delete(f"{flow.base_url}/_standin/faults").status_code == 200

    assert flow.users_me(access_token).status_code == 200


def test_a_list_of_faults_runs_in_sequence(flow):
    access_token = flow.tokens()["access_token"]
    set_faults(flow, [
        {"endpoint": "users_me", "kind": "status", "status": 502, "times": 1},
        {"endpoint": "users_me", "kind": "rate_limit_bare", "times": 1},
    ])

    assert [flow.users_me(access_token).status_code for _ in range(3)] == [502, 429, 200]


def test_setting_faults_replaces_those_of_the_same_endpoint_only(flow):
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 502})
    set_faults(flow, {"endpoint": "token", "kind": "status", "status": 503})
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 504})

    active = requests.get(f"{flow.base_url}/_standin/faults").json()["faults"]

    assert sorted((f["endpoint"], f["status"]) for f in active) == [("token", 503), ("users_me", 504)]


def test_faults_only_affect_their_endpoint(flow):
    set_faults(flow, {"endpoint": "users_me", "kind": "status", "status": 503})

    assert flow.exchange(flow.code()).status_code == 200


def test_python_api_sets_and_clears_faults(standin, flow):
    access_token = flow.tokens()["access_token"]

    standin.faults.set(endpoint="users_me", kind="status", status=500, times=1)
    assert flow.users_me(access_token).status_code == 500

    standin.faults.set(Fault("users_me", "rate_limit_bare"))
    standin.faults.clear()
    assert flow.users_me(access_token).status_code == 200


def test_stop_cuts_a_delay_short(make_standin, flow_for):
    standin = make_standin()
    flow = flow_for(standin)
    standin.faults.set(endpoint="users_me", kind="delay", seconds=30)
    thread = threading.Thread(target=lambda: _ignore_errors(flow.users_me, "x"), daemon=True)
    thread.start()
    time.sleep(0.2)

    started = time.monotonic()
    standin.stop()

    assert time.monotonic() - started < 2


def _ignore_errors(call, *args):
    try:
        call(*args)
    except requests.RequestException:
        pass


# Bad fault definitions


@pytest.mark.parametrize(
    "fault",
    [
        {"endpoint": "authorize", "kind": "status", "status": 500},
        {"endpoint": "token", "kind": "explode"},
        {"endpoint": "token", "kind": "status", "status": 404},
        {"endpoint": "token", "kind": "status"},
        {"endpoint": "users_me", "kind": "invalid_grant"},
        {"endpoint": "token", "kind": "delay", "seconds": -1},
        {"endpoint": "token", "kind": "delay", "seconds": 3600},
        {"endpoint": "token", "kind": "status", "status": 500, "times": 0},
        {"endpoint": "token", "kind": "status", "status": "500"},
        {"endpoint": "token", "kind": "status", "status": 500, "colour": "red"},
        {"kind": "status", "status": 500},
        "status",
    ],
)
def test_invalid_fault_is_rejected_with_400(flow, fault):
    response = set_faults(flow, fault)

    assert response.status_code == 400
    assert response.json()["error"]
    assert requests.get(f"{flow.base_url}/_standin/faults").json()["faults"] == []
