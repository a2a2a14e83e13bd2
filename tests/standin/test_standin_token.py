"""POST /oauth/token: strict request format, client authentication, code and refresh grants."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import requests


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error
    assert isinstance(response.json()["error_description"], str)


# Request format


def test_code_exchange_returns_the_documented_user_token_shape(flow):
    response = flow.exchange(flow.code())

    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "client_info", "id_token", "token_type", "access_token", "refresh_token", "scope", "expires_in"
    ]
    assert body["client_info"] == "prefix_legacy_app"
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("pdus+_0") and len(body["access_token"]) > 40
    assert body["refresh_token"].startswith("pdus+_1") and len(body["refresh_token"]) > 40
    assert body["scope"] == "openid read"
    assert body["expires_in"] == 864000
    assert response.headers["Cache-Control"] == "no-store"


def test_tokens_are_unique_per_exchange(flow):
    first, second = flow.tokens(), flow.tokens()

    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]


def test_expires_in_follows_the_configured_lifetime(make_standin, flow_for):
    flow = flow_for(make_standin(access_token_lifetime=3600))

    assert flow.tokens()["expires_in"] == 3600


def test_unknown_scopes_are_silently_dropped_and_openid_always_added(flow):
    assert flow.tokens(scope="read bogus Write users.read")["scope"] == "openid read users.read"
    assert flow.tokens(scope="nonsense")["scope"] == "openid"


def test_parameters_in_the_query_string_are_rejected(flow):
    code = flow.code()
    params = {"grant_type": "authorization_code", "client_id": flow.client.client_id,
              "client_secret": flow.client.client_secret, "code": code, "redirect_uri": flow.REDIRECT_URI}

    response = requests.post(f"{flow.base_url}/oauth/token", params=params)

    assert_oauth_error(response, 400, "invalid_request")


def test_any_query_string_is_rejected_even_with_a_correct_body(flow):
    code = flow.code()
    form = {"grant_type": "authorization_code", "client_id": flow.client.client_id,
            "client_secret": flow.client.client_secret, "code": code, "redirect_uri": flow.REDIRECT_URI}

    response = requests.post(f"{flow.base_url}/oauth/token?grant_type=authorization_code", data=form)

    assert_oauth_error(response, 400, "invalid_request")


def test_json_body_is_rejected(flow):
    form = {"grant_type": "authorization_code", "client_id": flow.client.client_id,
            "client_secret": flow.client.client_secret, "code": flow.code(), "redirect_uri": flow.REDIRECT_URI}

    response = requests.post(f"{flow.base_url}/oauth/token", json=form)

    assert_oauth_error(response, 400, "invalid_request")


def test_form_body_without_form_content_type_is_rejected(flow):
    body = f"grant_type=refresh_token&client_id={flow.client.client_id}"

    response = requests.post(f"{flow.base_url}/oauth/token", data=body, headers={"Content-Type": "text/plain"})

    assert_oauth_error(response, 400, "invalid_request")


def test_repeated_parameter_is_rejected(flow):
    body = (f"grant_type=authorization_code&grant_type=authorization_code&client_id={flow.client.client_id}"
            f"&client_secret={flow.client.client_secret}&code=x&redirect_uri=x")

    response = requests.post(f"{flow.base_url}/oauth/token", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert_oauth_error(response, 400, "invalid_request")


def test_missing_grant_type_is_invalid_request(flow):
    response = flow.token_request(client_id=flow.client.client_id, client_secret=flow.client.client_secret)

    assert_oauth_error(response, 400, "invalid_request")


def test_unknown_grant_type_is_unsupported_grant_type(flow):
    response = flow.token_request(grant_type="client_credentials", client_id=flow.client.client_id,
                                  client_secret=flow.client.client_secret)

    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_get_is_not_allowed(flow):
    response = requests.get(f"{flow.base_url}/oauth/token")

    assert response.status_code == 405


# Client authentication


def test_wrong_client_secret_is_invalid_client(flow):
    assert_oauth_error(flow.exchange(flow.code(), client_secret="wrong"), 401, "invalid_client")


def test_missing_client_secret_is_invalid_client(flow):
    assert_oauth_error(flow.exchange(flow.code(), client_secret=None), 401, "invalid_client")


def test_unknown_client_is_invalid_client(flow):
    assert_oauth_error(flow.exchange(flow.code(), client_id="nobody"), 401, "invalid_client")


def test_invalid_client_answer_carries_www_authenticate(flow):
    response = flow.exchange(flow.code(), client_secret="wrong")

    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_http_basic_client_authentication_is_accepted(flow):
    credentials = f"{quote(flow.client.client_id)}:{quote(flow.client.client_secret)}"
    basic = "Basic " + base64.b64encode(credentials.encode()).decode()

    response = requests.post(
        f"{flow.base_url}/oauth/token",
        data={"grant_type": "authorization_code", "code": flow.code(), "redirect_uri": flow.REDIRECT_URI},
        headers={"Authorization": basic},
    )

    assert response.status_code == 200, response.text


def test_basic_and_body_secret_together_are_rejected(flow):
    response = requests.post(
        f"{flow.base_url}/oauth/token",
        data={"grant_type": "authorization_code", "code": flow.code(), "redirect_uri": flow.REDIRECT_URI,
              "client_secret": flow.client.client_secret},
        auth=(flow.client.client_id, flow.client.client_secret),
    )

    assert_oauth_error(response, 400, "invalid_request")


def test_secret_of_another_client_is_invalid_client(flow):
    response = flow.exchange(flow.code(), client_secret=flow.OTHER_CLIENT.client_secret)

    assert_oauth_error(response, 401, "invalid_client")


def test_rotated_client_secret_replaces_the_old_one(standin, flow):
    standin.rotate_client_secret(flow.client.client_id, "rotated-secret")

    assert_oauth_error(flow.exchange(flow.code()), 401, "invalid_client")
    assert flow.exchange(flow.code(), client_secret="rotated-secret").status_code == 200


# Authorization codes


def test_code_is_single_use(flow):
    code = flow.code()
    assert flow.exchange(code).status_code == 200

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")


def test_reusing_a_code_revokes_the_tokens_issued_from_it(flow):
    code = flow.code()
    tokens = flow.exchange(code).json()

    flow.exchange(code)

    assert flow.users_me(tokens["access_token"]).status_code == 401
    assert_oauth_error(flow.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_code_expires_after_its_lifetime(make_standin, flow_for):
    flow = flow_for(make_standin(code_lifetime=0.3))
    code = flow.code()

    time.sleep(0.4)

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")


def test_code_used_within_its_lifetime_works(make_standin, flow_for):
    flow = flow_for(make_standin(code_lifetime=5))

    assert flow.exchange(flow.code()).status_code == 200


def test_made_up_code_is_invalid_grant(flow):
    assert_oauth_error(flow.exchange("not-a-code"), 400, "invalid_grant")


def test_missing_code_is_invalid_request(flow):
    assert_oauth_error(flow.exchange(None), 400, "invalid_request")


def test_code_is_bound_to_the_redirect_uri_of_the_authorize_request(flow):
    code = flow.code(redirect_uri=flow.REDIRECT_URI_WITH_QUERY)

    assert_oauth_error(flow.exchange(code, redirect_uri=flow.REDIRECT_URI), 400, "invalid_grant")


def test_missing_redirect_uri_is_rejected(flow):
    assert_oauth_error(flow.exchange(flow.code(), redirect_uri=None), 400, "invalid_request")


def test_code_is_bound_to_the_client(flow):
    code = flow.code()

    response = flow.exchange(code, client_id=flow.OTHER_CLIENT.client_id,
                             client_secret=flow.OTHER_CLIENT.client_secret)

    assert_oauth_error(response, 400, "invalid_grant")


def test_a_code_presented_wrongly_is_spent(flow):
    code = flow.code()
    flow.exchange(code, redirect_uri=flow.REDIRECT_URI_WITH_QUERY)

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")


# PKCE


def test_pkce_with_the_right_verifier_succeeds(flow):
    verifier, challenge = flow.pkce_pair()
    code = flow.code(code_challenge=challenge, code_challenge_method="S256")

    assert flow.exchange(code, code_verifier=verifier).status_code == 200


def test_pkce_with_a_wrong_verifier_is_invalid_grant(flow):
    _, challenge = flow.pkce_pair()
    other_verifier, _ = flow.pkce_pair()
    code = flow.code(code_challenge=challenge, code_challenge_method="S256")

    assert_oauth_error(flow.exchange(code, code_verifier=other_verifier), 400, "invalid_grant")


def test_pkce_verifier_sent_as_the_challenge_is_invalid_grant(flow):
    _, challenge = flow.pkce_pair()
    code = flow.code(code_challenge=challenge, code_challenge_method="S256")

    assert_oauth_error(flow.exchange(code, code_verifier=challenge), 400, "invalid_grant")


def test_pkce_without_verifier_is_invalid_grant(flow):
    _, challenge = flow.pkce_pair()
    code = flow.code(code_challenge=challenge, code_challenge_method="S256")

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")


def test_verifier_without_a_challenge_is_refused(flow):
    verifier, _ = flow.pkce_pair()

    assert_oauth_error(flow.exchange(flow.code(), code_verifier=verifier), 400, "invalid_grant")


# Refresh tokens


def test_refresh_returns_new_tokens_without_client_info_or_id_token(flow):
    tokens = flow.tokens()

    response = flow.refresh(tokens["refresh_token"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["token_type", "access_token", "refresh_token", "scope", "expires_in"]
    assert body["access_token"].startswith("pdus+_0") and body["access_token"] != tokens["access_token"]
    assert body["refresh_token"].startswith("pdus+_1") and body["refresh_token"] != tokens["refresh_token"]
    assert body["scope"] == tokens["scope"]


def test_refresh_rotation_kills_the_old_refresh_token(flow):
    old = flow.tokens()["refresh_token"]
    new = flow.refresh(old).json()["refresh_token"]

    assert_oauth_error(flow.refresh(old), 400, "invalid_grant")
    assert flow.refresh(new).status_code == 200


def test_refreshed_access_token_works(flow):
    access_token = flow.refresh(flow.tokens()["refresh_token"]).json()["access_token"]

    assert flow.users_me(access_token).status_code == 200


def test_refresh_token_is_bound_to_the_client(flow):
    refresh_token = flow.tokens()["refresh_token"]

    response = flow.refresh(refresh_token, client_id=flow.OTHER_CLIENT.client_id,
                            client_secret=flow.OTHER_CLIENT.client_secret)

    assert_oauth_error(response, 400, "invalid_grant")
    assert flow.refresh(refresh_token).status_code == 200


def test_refresh_token_with_its_plus_sign_unencoded_is_invalid_grant(flow):
    refresh_token = flow.tokens()["refresh_token"]
    body = (f"grant_type=refresh_token&client_id={flow.client.client_id}"
            f"&client_secret={flow.client.client_secret}&refresh_token={refresh_token}")

    response = requests.post(f"{flow.base_url}/oauth/token", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert_oauth_error(response, 400, "invalid_grant")


def test_refresh_token_expires(make_standin, flow_for):
    flow = flow_for(make_standin(refresh_token_lifetime=0.3))
    refresh_token = flow.tokens()["refresh_token"]

    time.sleep(0.4)

    assert_oauth_error(flow.refresh(refresh_token), 400, "invalid_grant")


def test_missing_refresh_token_is_invalid_request(flow):
    assert_oauth_error(flow.refresh(None), 400, "invalid_request")


def test_revoking_all_tokens_kills_refresh_tokens(standin, flow):
    refresh_token = flow.tokens()["refresh_token"]

    standin.revoke_all_tokens()

    assert_oauth_error(flow.refresh(refresh_token), 400, "invalid_grant")
