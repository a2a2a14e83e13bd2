"""GET /users/me (US REST host) and /eu/users/me (EU REST host)."""

from __future__ import annotations

import time

import requests

from local.pagerduty_standin import EU_ACCOUNT, DemoUser


def test_us_user_is_served_by_the_us_api(flow):
    response = flow.users_me(flow.tokens(flow.US_LOGIN)["access_token"], region="US")

    assert response.status_code == 200
    assert response.json()["user"]["name"] == "Ada Lovelace"


def test_eu_user_is_served_by_the_eu_api(flow):
    response = flow.users_me(flow.tokens(flow.EU_LOGIN)["access_token"], region="EU")

    assert response.status_code == 200
    assert response.json()["user"]["name"] == "Grace Hopper"


def test_eu_token_on_the_us_api_is_unauthorized(flow):
    response = flow.users_me(flow.tokens(flow.EU_LOGIN)["access_token"], region="US")

    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Unauthorized", "code": 2006}}


def test_us_token_on_the_eu_api_is_unauthorized(flow):
    response = flow.users_me(flow.tokens(flow.US_LOGIN)["access_token"], region="EU")

    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Unauthorized", "code": 2006}}


def test_user_has_the_documented_fields(flow):
    user = flow.users_me(flow.tokens(flow.US_LOGIN)["access_token"]).json()["user"]

    assert {"id", "name", "email", "avatar_url", "html_url", "time_zone", "role", "job_title", "type", "summary",
            "self"} <= set(user)
    assert user["id"] == flow.US_LOGIN
    assert user["type"] == "user"
    assert user["summary"] == user["name"]
    assert user["html_url"] == f"https://acme-us.pagerduty.com/users/{flow.US_LOGIN}"
    assert user["self"] == f"https://api.pagerduty.com/users/{flow.US_LOGIN}"


def test_avatar_url_is_the_standins_own_image_at_the_host_the_client_used(standin, flow):
    # PagerDuty answers a Gravatar URL; the stand-in serves its own, so pages work offline.
    user = flow.users_me(flow.tokens(flow.US_LOGIN)["access_token"]).json()["user"]

    assert user["avatar_url"] == f"{standin.base_url}/avatars/{flow.US_LOGIN}.svg"
    image = requests.get(user["avatar_url"], timeout=5)
    assert (image.status_code, image.headers["Content-Type"]) == (200, "image/svg+xml")
    assert image.text.startswith("<svg") and ">AL</text>" in image.text  # Ada Lovelace's initials


def test_an_unknown_users_avatar_is_a_404(standin):
    for path in ("/avatars/PNOBODY.svg", "/avatars/PADA001.png", "/avatars/"):
        assert requests.get(standin.base_url + path, timeout=5).status_code == 404, path


def test_a_hostile_host_header_does_not_reach_the_avatar_url(standin, flow):
    token = flow.tokens(flow.US_LOGIN)["access_token"]
    answer = requests.get(
        standin.api_url("US") + "/users/me",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
            "Host": 'evil.example/"><script>',
        },
        timeout=5,
    )

    assert answer.json()["user"]["avatar_url"] == f"{standin.base_url}/avatars/{flow.US_LOGIN}.svg"


def test_configured_hostile_values_are_served_as_is(standin, flow):
    standin.add_user(DemoUser(id="PEVIL01", name="<script>alert(1)</script>", email="evil@example.com",
                              account=EU_ACCOUNT, avatar_url="javascript:alert(1)"))

    user = flow.users_me(flow.tokens("PEVIL01")["access_token"], region="EU").json()["user"]

    assert user["name"] == "<script>alert(1)</script>"
    assert user["avatar_url"] == "javascript:alert(1)"


def test_accept_header_is_required(flow):
    response = flow.users_me(flow.tokens()["access_token"], accept=None)

    assert response.status_code == 406
    assert response.json()["error"]["code"]
    assert response.json()["error"]["message"]


def test_plain_json_accept_header_is_not_enough(flow):
    assert flow.users_me(flow.tokens()["access_token"], accept="application/json").status_code == 406


def test_accept_header_may_list_the_api_media_type_among_others(flow):
    accept = "application/json, application/vnd.pagerduty+json; version=2"

    assert flow.users_me(flow.tokens()["access_token"], accept=accept).status_code == 200


def test_missing_authorization_is_unauthorized(flow):
    assert flow.users_me(None).status_code == 401


def test_unknown_token_is_unauthorized(flow):
    assert flow.users_me("pdus+_0made-up").status_code == 401


def test_api_key_style_authorization_is_unauthorized(flow):
    token = flow.tokens()["access_token"]
    response = requests.get(f"{flow.base_url}/users/me",
                            headers={"Authorization": f"Token token={token}", "Accept": flow.API_V2})

    assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(flow):
    assert flow.users_me(flow.tokens()["refresh_token"]).status_code == 401


def test_expired_access_token_is_unauthorized(make_standin, flow_for):
    flow = flow_for(make_standin(access_token_lifetime=0.3))
    access_token = flow.tokens()["access_token"]

    time.sleep(0.4)

    assert flow.users_me(access_token).status_code == 401


def test_revoked_access_token_is_unauthorized(standin, flow):
    access_token = flow.tokens()["access_token"]

    standin.revoke_all_tokens()

    assert flow.users_me(access_token).status_code == 401


def test_token_with_only_openid_lacks_the_required_scope(flow):
    response = flow.users_me(flow.tokens(scope="unknown.scope.name")["access_token"])

    assert response.status_code == 403
    assert "Token missing required scopes" in response.json()["error"]["errors"]


def test_scoped_oauth_users_read_is_enough(flow):
    assert flow.users_me(flow.tokens(scope="users.read")["access_token"]).status_code == 200


def test_success_carries_ratelimit_headers(flow):
    access_token = flow.tokens()["access_token"]

    first = flow.users_me(access_token).headers
    second = flow.users_me(access_token).headers

    assert first["ratelimit-limit"] == "960"
    assert int(first["ratelimit-remaining"]) == int(second["ratelimit-remaining"]) + 1
    assert 0 <= int(first["ratelimit-reset"]) <= 60


def test_each_call_is_counted_on_both_hosts(standin, flow):
    flow.users_me("whatever", region="US")
    flow.users_me("whatever", region="EU")

    assert standin.calls["users_me"] == 2
