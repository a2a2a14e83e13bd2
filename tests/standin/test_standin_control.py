"""/_standin/* control endpoints, for tests that drive the stand-in from another process."""

from __future__ import annotations

import requests


def control(flow, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{flow.base_url}/_standin/{path}", **kwargs)


def test_calls_start_at_zero(flow):
    assert control(flow, "GET", "calls").json() == {
        "authorize": 0, "token_authorization_code": 0, "token_refresh": 0, "users_me": 0,
    }


def test_calls_count_each_endpoint_and_grant_type(flow):
    flow.authorize_page()
    tokens = flow.tokens()
    flow.refresh(tokens["refresh_token"])
    flow.users_me(tokens["access_token"])
    flow.users_me(tokens["access_token"], region="EU")

    assert control(flow, "GET", "calls").json() == {
        "authorize": 1, "token_authorization_code": 1, "token_refresh": 1, "users_me": 2,
    }


def test_calls_count_rejected_and_faulted_token_requests_too(standin, flow):
    flow.exchange("bad-code")
    requests.post(f"{flow.base_url}/oauth/token", params={"grant_type": "refresh_token"})
    standin.faults.set(endpoint="token", kind="status", status=503, times=1)
    flow.refresh("pdus+_1whatever")

    assert standin.calls["token_authorization_code"] == 1
    assert standin.calls["token_refresh"] == 2


def test_reset_clears_faults_and_counters(flow):
    flow.authorize_page()
    control(flow, "POST", "faults", json={"endpoint": "token", "kind": "status", "status": 503})

    response = control(flow, "POST", "reset")

    assert response.status_code == 200
    assert control(flow, "GET", "faults").json() == {"faults": []}
    assert control(flow, "GET", "calls").json()["authorize"] == 0
    assert flow.exchange(flow.code()).status_code == 200


def test_reset_keeps_users_and_tokens(standin, flow):
    access_token = flow.tokens()["access_token"]

    control(flow, "POST", "reset")

    assert flow.users_me(access_token).status_code == 200


def test_python_api_reset(standin, flow):
    flow.authorize_page()
    standin.faults.set(endpoint="token", kind="status", status=503)

    standin.reset()

    assert standin.calls["authorize"] == 0
    assert standin.faults.active() == []


def test_faults_endpoint_lists_active_faults_with_remaining_calls(flow):
    control(flow, "POST", "faults", json={"endpoint": "token", "kind": "status", "status": 503, "times": 2})
    flow.exchange("anything")

    (fault,) = control(flow, "GET", "faults").json()["faults"]

    assert fault["endpoint"] == "token" and fault["kind"] == "status" and fault["status"] == 503
    assert fault["times"] == 2 and fault["remaining"] == 1


def test_faults_endpoint_accepts_a_faults_wrapper(flow):
    response = control(flow, "POST", "faults", json={"faults": [{"endpoint": "token", "kind": "rate_limit_bare"}]})

    assert response.status_code == 200
    assert response.json()["faults"][0]["kind"] == "rate_limit_bare"


def test_add_user_makes_a_user_who_can_sign_in(flow):
    response = control(flow, "POST", "users", json={
        "id": "PNEW001", "name": "Katherine Johnson", "email": "kj@globex-eu.example", "region": "eu",
    })
    assert response.status_code == 201
    assert response.json()["login"] == "PNEW001"

    assert 'value="PNEW001"' in flow.authorize_page().text
    user = flow.users_me(flow.tokens("PNEW001")["access_token"], region="EU").json()["user"]
    assert user["name"] == "Katherine Johnson"
    assert user["html_url"] == "https://globex-eu.pagerduty.com/users/PNEW001"


def test_add_user_without_id_gets_one(flow):
    response = control(flow, "POST", "users", json={"name": "Alan Turing", "email": "alan@example.com"})

    login = response.json()["login"]
    assert login
    assert flow.users_me(flow.tokens(login)["access_token"]).json()["user"]["name"] == "Alan Turing"


def test_add_user_with_its_own_account(flow):
    control(flow, "POST", "users", json={
        "id": "PNEW002", "name": "Hedy Lamarr", "email": "hedy@example.com", "region": "us",
        "subdomain": "initech", "account_id": "PINITEC",
    })

    user = flow.users_me(flow.tokens("PNEW002")["access_token"]).json()["user"]

    assert user["html_url"] == "https://initech.pagerduty.com/users/PNEW002"


def test_add_user_with_hostile_values(flow):
    response = control(flow, "POST", "users", json={
        "id": "PEVIL02", "name": "<script>alert(1)</script>", "email": "e@example.com",
        "avatar_url": "javascript:alert(1)",
    })
    assert response.status_code == 201

    user = flow.users_me(flow.tokens("PEVIL02")["access_token"]).json()["user"]

    assert user["avatar_url"] == "javascript:alert(1)"


def test_add_user_rejects_bad_input(flow):
    bad_users = [
        {"name": "No Email"},
        {"name": "X", "email": "x@example.com", "region": "apac"},
        {"name": "X", "email": "x@example.com", "favourite": "tea"},
        {"name": 42, "email": "x@example.com"},
        {"id": "PADA001", "name": "Duplicate", "email": "d@example.com"},
        ["not", "an", "object"],
    ]
    for user in bad_users:
        response = control(flow, "POST", "users", json=user)
        assert response.status_code == 400, user
        assert response.json()["error"], user


def test_revoke_endpoint_kills_all_tokens(flow):
    tokens = flow.tokens()

    assert control(flow, "POST", "revoke").status_code == 200

    assert flow.users_me(tokens["access_token"]).status_code == 401
    assert flow.refresh(tokens["refresh_token"]).status_code == 400


def test_client_secret_endpoint_rotates_the_secret(flow):
    response = control(flow, "POST", "client_secret",
                       json={"client_id": flow.client.client_id, "client_secret": "rotated-secret"})
    assert response.status_code == 200

    assert flow.exchange(flow.code()).status_code == 401
    assert flow.exchange(flow.code(), client_secret="rotated-secret").status_code == 200


def test_client_secret_endpoint_rejects_unknown_clients_and_bad_bodies(flow):
    unknown = control(flow, "POST", "client_secret", json={"client_id": "nobody", "client_secret": "x"})
    empty = control(flow, "POST", "client_secret", json={"client_id": flow.client.client_id, "client_secret": ""})

    assert unknown.status_code == 404
    assert empty.status_code == 400


def test_health_endpoint(flow):
    assert control(flow, "GET", "health").json() == {"ok": True}
