"""The whole connect flow through both handlers: moto for AWS, the strict stand-in for PagerDuty."""

import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from pd_connect.flow.browser_binding import COOKIE_NAME
from pd_connect.vault.token_cipher import TokenCipher

from local.pagerduty_standin import US_ACCOUNT, DemoUser
from tests.flow_driver import FlowDriver, LambdaContext, http_event

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SITE, scan_all  # noqa: F401


def connections(aws):
    return [item for item in scan_all(aws) if item["kind"]["S"] == "connection"]


# --- /authorize -------------------------------------------------------------------------------


def test_landing_page_has_the_connect_button(handlers):
    start, _ = handlers
    result = start(http_event(f"{SITE}/"), LambdaContext())
    assert result["statusCode"] == 200 and 'href="/authorize"' in result["body"]


def test_authorize_redirects_to_pagerduty_with_every_parameter(browser, standin):
    location = browser.authorize()
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{standin.base_url}/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI and query["scope"] == "read"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 22
    assert browser.binding


def test_authorize_keeps_the_browsers_binding(browser):
    browser.authorize()
    first = browser.binding

    browser.authorize()

    assert browser.binding == first


def test_starting_in_a_second_tab_does_not_break_the_first_tabs_flow(browser, aws):
    # Tab 1 starts, tab 2 starts; tab 1 comes back from PagerDuty first, with the browser's cookie.
    tab1 = browser.decide_at_pagerduty(browser.authorize(), login="PADA001")
    browser.authorize()

    result = browser.callback(tab1)

    assert result["statusCode"] == 200, result["body"]
    assert [item["user_id"]["S"] for item in connections(aws)] == ["PADA001"]


def test_authorize_sets_the_binding_cookie_with_every_attribute(handlers):
    start, _ = handlers
    result = start(http_event(f"{SITE}/authorize"), LambdaContext())
    (cookie,) = result["cookies"]
    assert cookie.startswith("__Host-") and all(a in cookie for a in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))


def test_each_authorize_gets_a_fresh_state_and_verifier(browser, aws):
    states = {parse_qs(urlsplit(browser.authorize()).query)["state"][0] for _ in range(5)}
    assert len(states) == 5
    verifiers = {item["code_verifier"]["S"] for item in scan_all(aws)}
    assert len(verifiers) == 5


# --- /callback: success -----------------------------------------------------------------------


def test_a_us_user_connects_and_sees_the_welcome_page(browser, aws, standin):
    result = browser.connect(login="PADA001")
    assert result["statusCode"] == 200, result["body"]
    assert "Welcome, Ada Lovelace" in result["body"]
    # The stand-in serves the avatar itself (PagerDuty names a Gravatar image; no internet here).
    avatar = re.search(r'<img id="avatar" src="(http://127\.0\.0\.1:\d+)/avatars/PADA001\.svg"', result["body"])
    assert avatar and result["headers"]["Content-Security-Policy"].endswith(f"; img-src 'self' {avatar.group(1)}")
    assert "acme-us" in result["body"] and ">US<" in result["body"]
    (item,) = connections(aws)
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001"
    assert item["region"]["S"] == "US" and item["api_base"]["S"] == standin.base_url


def test_an_eu_user_is_routed_to_the_eu_api_host(browser, aws, standin):
    result = browser.connect(login="PGRACE1")
    assert result["statusCode"] == 200 and "Welcome, Grace Hopper" in result["body"]
    (item,) = connections(aws)
    assert item["region"]["S"] == "EU" and item["api_base"]["S"] == f"{standin.base_url}/eu"


def test_success_clears_the_binding_cookie(browser):
    browser.connect()
    assert browser.binding is None


def test_reloading_the_callback_url_is_refused_and_exchanges_nothing(browser, standin):
    callback_url = browser.decide_at_pagerduty(browser.authorize())
    assert browser.callback(callback_url)["statusCode"] == 200
    exchanges = standin.calls["token_authorization_code"]
    again = browser.callback(callback_url)
    assert again["statusCode"] == 400 and "already used" in again["body"]
    assert standin.calls["token_authorization_code"] == exchanges


def test_reconnecting_replaces_the_connection_without_a_duplicate(browser, aws):
    browser.connect(login="PADA001")
    first = connections(aws)[0]
    browser.connect(login="PADA001")
    (second,) = connections(aws)
    assert second["tokens"]["B"] != first["tokens"]["B"]
    assert second["created_at"] == first["created_at"] and second["token_version"]["N"] == "2"


def test_a_script_name_is_escaped_on_the_welcome_page(browser, standin):
    standin.add_user(DemoUser(id="PXSS001", name="<script>alert(1)</script>", email="x@acme-us.example", account=US_ACCOUNT))
    result = browser.connect(login="PXSS001")
    assert "<script>alert" not in result["body"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in result["body"]


def test_a_javascript_avatar_is_not_rendered(browser, standin):
    standin.add_user(DemoUser(id="PJS0001", name="Eve", email="eve@acme-us.example", account=US_ACCOUNT, avatar_url="javascript:alert(1)"))
    result = browser.connect(login="PJS0001")
    assert result["statusCode"] == 200 and "<img" not in result["body"] and "javascript:" not in result["body"]


# --- /callback: refusals before any exchange --------------------------------------------------


def test_access_denied_shows_the_cancelled_page_with_a_try_again_link(browser, standin):
    result = browser.callback(browser.decide_at_pagerduty(browser.authorize(), button="deny"))
    assert result["statusCode"] == 400
    assert "cancelled" in result["body"] and 'href="/authorize"' in result["body"]
    assert standin.calls["token_authorization_code"] == 0


@pytest.mark.parametrize(
    "query,reason",
    [
        ("code=abc", "state_missing"),
        ("state=forged&code=abc", "state_unknown"),
        ("error=server_error&state=x", "provider_error"),
        ("state=a&state=b&code=c", "bad_request"),
    ],
)
def test_bad_callbacks_are_400_pages_and_exchange_nothing(browser, standin, query, reason):
    browser.authorize()  # the browser has a binding cookie
    result = browser.callback(f"/callback?{query}")
    assert result["statusCode"] == 400 and f">{reason}<" in result["body"]
    assert standin.calls["token_authorization_code"] == 0


def test_a_missing_code_is_refused(browser):
    location = browser.authorize()
    state = parse_qs(urlsplit(location).query)["state"][0]
    result = browser.callback(f"/callback?state={state}")
    assert result["statusCode"] == 400 and ">code_missing<" in result["body"]


def test_another_browser_cannot_finish_this_browsers_flow(handlers, standin):
    victim, attacker = FlowDriver(*handlers, site=SITE), FlowDriver(*handlers, site=SITE)
    callback_url = victim.decide_at_pagerduty(victim.authorize())
    attacker.authorize()  # has its own valid binding cookie
    result = attacker.callback(callback_url)
    assert result["statusCode"] == 400 and ">state_other_browser<" in result["body"]
    assert standin.calls["token_authorization_code"] == 0
    assert victim.callback(callback_url)["statusCode"] == 200  # the owner still can


def test_no_cookie_at_all_is_refused(handlers):
    owner, stranger = FlowDriver(*handlers, site=SITE), FlowDriver(*handlers, site=SITE)
    callback_url = owner.decide_at_pagerduty(owner.authorize())
    result = stranger.callback(callback_url)
    assert result["statusCode"] == 400


def test_callback_without_query_string_or_cookies(handlers):
    _, callback = handlers
    event = http_event(f"{SITE}/callback")
    event.pop("rawQueryString")
    event["queryStringParameters"] = None
    result = callback(event, LambdaContext())
    assert result["statusCode"] == 400 and ">state_missing<" in result["body"]


def test_two_concurrent_callbacks_with_one_state_exchange_once(browser, standin):
    callback_url = browser.decide_at_pagerduty(browser.authorize())
    barrier, statuses = threading.Barrier(2), []

    def hit():
        barrier.wait()
        statuses.append(browser.callback_handler(http_event(SITE + urlsplit(callback_url).path + "?" + urlsplit(callback_url).query, cookies=dict(browser.cookies)), LambdaContext())["statusCode"])

    threads = [threading.Thread(target=hit) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(statuses) == [200, 400]
    assert standin.calls["token_authorization_code"] == 1


# --- /callback: PagerDuty and AWS faults ------------------------------------------------------


@pytest.mark.parametrize(
    "fault,status,reason",
    [
        ({"endpoint": "token", "kind": "status", "status": 500}, 502, "pagerduty_unavailable"),
        ({"endpoint": "token", "kind": "invalid_grant"}, 502, "code_rejected"),
        ({"endpoint": "token", "kind": "non_json"}, 502, "pagerduty_unavailable"),
        ({"endpoint": "token", "kind": "rate_limit"}, 502, "pagerduty_unavailable"),
        ({"endpoint": "token", "kind": "rate_limit_bare"}, 502, "pagerduty_unavailable"),
    ],
)
def test_token_endpoint_faults_are_clear_pages_and_store_nothing(browser, standin, aws, fault, status, reason):
    callback_url = browser.decide_at_pagerduty(browser.authorize())
    standin.faults.set(**fault)
    result = browser.callback(callback_url)
    assert result["statusCode"] == status and f">{reason}<" in result["body"], result["body"]
    assert connections(aws) == []


def test_token_endpoint_timeout_is_a_502(browser, standin, aws, monkeypatch):
    monkeypatch.setattr("pd_connect.oauth.token_endpoint.TOKEN_TIMEOUT", (1, 0.3))
    callback_url = browser.decide_at_pagerduty(browser.authorize())
    standin.faults.set(endpoint="token", kind="delay", seconds=1.5, times=1)
    result = browser.callback(callback_url)
    assert result["statusCode"] == 502 and ">pagerduty_timeout<" in result["body"]
    assert standin.calls["token_authorization_code"] == 1  # not retried: the code is single-use


def test_users_me_failure_keeps_the_tokens(browser, standin, aws):
    callback_url = browser.decide_at_pagerduty(browser.authorize(), login="PADA001")
    standin.faults.set(endpoint="users_me", kind="status", status=503)
    result = browser.callback(callback_url)
    assert result["statusCode"] == 200 and 'id="profile-note"' in result["body"]
    (item,) = connections(aws)
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001" and item["subdomain"]["S"] == "acme-us"
    assert item["profile_loaded"]["BOOL"] is False and item["tokens"]["B"]


def test_placeholder_secret_is_a_503_not_set_page(browser, aws):
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=json.dumps({"client_secret": "REPLACE_WITH_PAGERDUTY_CLIENT_SECRET"}))
    result = browser.connect()
    assert result["statusCode"] == 503 and ">secret_not_set<" in result["body"]


def test_rotated_secret_is_picked_up_once_after_invalid_client(browser, aws, standin):
    browser.connect()  # warms the secret cache with the current value
    standin.rotate_client_secret(CLIENT_ID, "rotated-secret")
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=json.dumps({"client_secret": "rotated-secret"}))
    result = browser.connect()
    assert result["statusCode"] == 200, result["body"]


def test_no_secret_token_code_or_verifier_in_logs(browser, aws, log_lines):
    callback_url = browser.decide_at_pagerduty(browser.authorize())
    code = parse_qs(urlsplit(callback_url).query)["code"][0]
    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    verifier = scan_all(aws)[0]["code_verifier"]["S"]
    binding = browser.binding
    browser.callback(callback_url)
    (item,) = connections(aws)
    tokens = TokenCipher(aws.kms, aws.key_id).decrypt(item["pk"]["S"], item["tokens"]["B"])

    # The lines are there, with their extra fields (caplog.text would leave those out) ...
    (stored,) = log_lines.matching("connection stored")
    assert (stored["account_id"], stored["user_id"]) == ("PACMEUS", "PADA001")
    # ... and no secret is in any of them.
    text = log_lines.text
    for secret in (CLIENT_SECRET, code, state, verifier, binding, tokens.access_token, tokens.refresh_token, "pdus+"):
        assert secret not in text


def test_a_dependency_outage_keeps_the_cookie_so_a_reload_can_finish(browser, container, monkeypatch):
    from botocore.exceptions import ClientError

    callback_url = browser.decide_at_pagerduty(browser.authorize())
    client, calls = container.aws.dynamodb, []  # the functions' client
    real_delete = client.delete_item

    def throttled_once(**request):
        calls.append(1)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DeleteItem")
        return real_delete(**request)

    monkeypatch.setattr(client, "delete_item", throttled_once)
    first = browser.callback(callback_url)
    assert first["statusCode"] == 503 and "cookies" not in first
    assert browser.callback(callback_url)["statusCode"] == 200  # the reload finishes the flow


# --- the binding cookie is cleared only by the request that consumed its pending authorization ---


@pytest.mark.parametrize(
    "forged",
    ["error=access_denied", "error=access_denied&state=forged", "state=forged&code=abc", "code=abc", "state=a&state=b&code=c"],
)
def test_a_forged_callback_opened_mid_flow_does_not_break_the_genuine_one(browser, forged):
    callback_url = browser.decide_at_pagerduty(browser.authorize())  # the victim is on the consent page
    refused = browser.callback(f"/callback?{forged}")  # an attacker gets them to open this
    assert refused["statusCode"] == 400 and "cookies" not in refused
    assert browser.callback(callback_url)["statusCode"] == 200  # the genuine callback still finishes


def test_a_4xx_after_consuming_the_pending_authorization_clears_the_cookie(browser, monkeypatch):
    from pd_connect.flow.callback_app import CallbackRoute
    from pd_connect.flow.failures import ConnectFailure, Reason

    def refuse(*args, **kwargs):
        raise ConnectFailure(Reason.LINK_INVALID, "refused after consuming")

    monkeypatch.setattr(CallbackRoute, "_exchange", refuse)
    result = browser.callback(browser.decide_at_pagerduty(browser.authorize()))
    assert result["statusCode"] == 400 and result["cookies"][0].startswith(f"{COOKIE_NAME}=;")
    assert browser.binding is None
