"""Faults at each dependency, through the real handlers (moto + the strict stand-in): the page and
status the user gets, and what is stored afterwards — nothing lost, nothing half-written, no
pending state left reusable when it should not be."""

from __future__ import annotations

import json
import sys
from urllib.parse import quote

import pytest
import requests
from pd_connect.flow.links import sign_link
from pd_connect.platform import aws_clients

from tests.moto.conftest import LINK_SIGNING_KEY

from .support import (
    ATTEMPTS,
    CONNECTION_ERROR,
    READ_TIMEOUT,
    attempts,
    connections,
    item_kind,
    link_nonces,
    pending,
    reason_of,
    stored_tokens,
)

ADA = "PADA001"
ADA_PK = "connection#PACMEUS#PADA001"


def outcome(result, aws, standin) -> dict:
    """What the user saw and what is left behind, in one comparable value."""
    return {
        "status": result["statusCode"],
        "reason": reason_of(result),
        "connections": len(connections(aws)),
        "pending": len(pending(aws)),
        "exchanges": standin.calls["token_authorization_code"],
    }


def consented(browser, login: str = ADA) -> str:
    """The callback URL PagerDuty sends the browser back to after the user pressed Authorize."""
    return browser.decide_at_pagerduty(browser.authorize(), login=login)


def users_me_status(standin, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return requests.get(f"{standin.base_url}/users/me", headers=headers, timeout=5).status_code


# --- PagerDuty token endpoint -----------------------------------------------------------------

TOKEN_ENDPOINT_FAULTS = [
    pytest.param({"kind": "status", "status": 500}, 502, "pagerduty_unavailable", id="500"),
    pytest.param({"kind": "status", "status": 503}, 502, "pagerduty_unavailable", id="503"),
    pytest.param({"kind": "rate_limit", "reset": 30}, 502, "pagerduty_unavailable", id="429-with-headers"),
    pytest.param({"kind": "rate_limit_bare"}, 502, "pagerduty_unavailable", id="429-bare"),
    pytest.param({"kind": "invalid_grant"}, 502, "code_rejected", id="invalid_grant"),
    pytest.param({"kind": "non_json"}, 502, "pagerduty_unavailable", id="html-502"),
    pytest.param({"kind": "non_json", "status": 400}, 502, "pagerduty_bad_response", id="html-400"),
]


@pytest.mark.parametrize("fault,status,reason", TOKEN_ENDPOINT_FAULTS)
def test_a_token_endpoint_fault_is_a_clear_page_and_leaves_nothing_behind(browser, standin, aws, fault, status, reason):
    callback_url = consented(browser)
    standin.faults.set(endpoint="token", times=1, **fault)

    result = browser.callback(callback_url)

    # exchanged once (never retried: the code is single-use), the state spent, nothing stored
    assert outcome(result, aws, standin) == {
        "status": status,
        "reason": reason,
        "connections": 0,
        "pending": 0,
        "exchanges": 1,
    }


@pytest.mark.parametrize("fault,status,reason", TOKEN_ENDPOINT_FAULTS[:1] + TOKEN_ENDPOINT_FAULTS[4:5])
def test_after_a_token_endpoint_fault_the_callback_cannot_be_replayed(browser, standin, aws, fault, status, reason):
    callback_url = consented(browser)
    cookies = dict(browser.cookies)
    standin.faults.set(endpoint="token", times=1, **fault)
    browser.callback(callback_url)
    browser.cookies.update(cookies)  # as the browser held them before the failure, whatever it set

    replayed = browser.callback(callback_url)

    assert outcome(replayed, aws, standin) == {
        "status": 400,
        "reason": "state_unknown",
        "connections": 0,
        "pending": 0,
        "exchanges": 1,
    }


def test_a_token_endpoint_timeout_is_a_502_and_is_not_retried(browser, standin, aws, monkeypatch):
    monkeypatch.setattr("pd_connect.oauth.token_endpoint.TOKEN_TIMEOUT", (1, 0.3))
    callback_url = consented(browser)
    standin.faults.set(endpoint="token", kind="delay", seconds=1.5, times=1)

    result = browser.callback(callback_url)

    assert outcome(result, aws, standin) == {
        "status": 502,
        "reason": "pagerduty_timeout",
        "connections": 0,
        "pending": 0,
        "exchanges": 1,
    }


def test_an_unreachable_token_endpoint_is_a_502(browser, standin, aws, monkeypatch):
    callback_module = sys.modules["callback_handler"]
    closed_port = callback_module.token_endpoint._replace(identity_url="http://127.0.0.1:9")
    callback_url = consented(browser)
    monkeypatch.setattr(callback_module, "token_endpoint", closed_port)

    result = browser.callback(callback_url)

    assert outcome(result, aws, standin) == {
        "status": 502,
        "reason": "pagerduty_unavailable",
        "connections": 0,
        "pending": 0,
        "exchanges": 0,
    }


# --- PagerDuty /users/me after a good exchange ------------------------------------------------

USERS_ME_FAULTS = [
    pytest.param({"kind": "status", "status": 500}, id="500"),
    pytest.param({"kind": "status", "status": 503}, id="503"),
    pytest.param({"kind": "rate_limit"}, id="429-with-headers"),
    pytest.param({"kind": "rate_limit_bare"}, id="429-bare"),
    pytest.param({"kind": "non_json"}, id="html-502"),
    pytest.param({"kind": "delay", "seconds": 1.5}, id="timeout"),
]


@pytest.fixture
def short_api_timeout(monkeypatch):
    monkeypatch.setattr("pd_connect.oauth.current_user.API_TIMEOUT", (1, 0.3))


@pytest.mark.parametrize("fault", USERS_ME_FAULTS)
def test_users_me_failing_still_welcomes_the_user_with_a_note(browser, standin, short_api_timeout, fault):
    callback_url = consented(browser)
    standin.faults.set(endpoint="users_me", **fault)

    result = browser.callback(callback_url)

    assert (result["statusCode"], 'id="profile-note"' in result["body"], "acme-us" in result["body"]) == (
        200,
        True,
        True,
    )


@pytest.mark.parametrize("fault", USERS_ME_FAULTS)
def test_users_me_failing_stores_the_connection_from_the_id_token(browser, standin, aws, short_api_timeout, fault):
    callback_url = consented(browser)
    standin.faults.set(endpoint="users_me", **fault)

    browser.callback(callback_url)

    (item,) = connections(aws)
    stored = {name: item[name] for name in ("pk", "subdomain", "region", "profile_loaded", "needs_reauthorization")}
    assert stored == {
        "pk": {"S": ADA_PK},
        "subdomain": {"S": "acme-us"},
        "region": {"S": "US"},
        "profile_loaded": {"BOOL": False},
        "needs_reauthorization": {"BOOL": False},
    }


@pytest.mark.parametrize("fault", USERS_ME_FAULTS[:1] + USERS_ME_FAULTS[-1:])
def test_users_me_failing_keeps_tokens_that_work(browser, standin, aws, short_api_timeout, fault):
    callback_url = consented(browser)
    standin.faults.set(endpoint="users_me", **fault)
    browser.callback(callback_url)
    standin.faults.clear()

    (item,) = connections(aws)
    assert users_me_status(standin, stored_tokens(aws, item).access_token) == 200


def test_users_me_failing_for_an_eu_user_keeps_the_eu_host(browser, standin, aws):
    callback_url = consented(browser, login="PGRACE1")
    standin.faults.set(endpoint="users_me", kind="status", status=503)

    browser.callback(callback_url)

    (item,) = connections(aws)
    assert (item["region"]["S"], item["api_base"]["S"]) == ("EU", f"{standin.base_url}/eu")


# --- DynamoDB ---------------------------------------------------------------------------------

DYNAMODB_ERRORS = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "InternalServerError",
    CONNECTION_ERROR,
]


@pytest.mark.parametrize("error", [*DYNAMODB_ERRORS, READ_TIMEOUT])
def test_a_dynamodb_fault_that_passes_within_the_clients_retries_is_invisible_to_the_user(
    browser, standin, aws, aws_faults, error
):
    pending_write = aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("pending"), times=1)
    consume = aws_faults.fail(aws_clients.dynamodb(), "delete_item", error, times=ATTEMPTS - 1)
    connection_write = aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("connection"), times=1)

    result = browser.connect(login=ADA)

    assert outcome(result, aws, standin) == {
        "status": 200,
        "reason": "",
        "connections": 1,
        "pending": 0,
        "exchanges": 1,
    }
    assert (pending_write.failed, consume.failed, connection_write.failed) == (1, ATTEMPTS - 1, 1)
    assert len(aws_faults.backoffs) == 1 + (ATTEMPTS - 1) + 1  # botocore backed off before each retry


@pytest.mark.parametrize("error", ["AccessDeniedException", "ResourceNotFoundException"])
def test_a_dynamodb_error_that_cannot_pass_is_not_retried(browser, aws, aws_faults, error):
    fault = aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("pending"))

    result = browser.authorize_result()

    assert (result["statusCode"], reason_of(result), fault.failed, aws_faults.backoffs) == (
        503,
        "dependency_down",
        1,
        [],
    )


def test_a_kms_timeout_once_is_retried_and_the_connection_stored(browser, standin, aws, aws_faults):
    callback_url = consented(browser)
    fault = aws_faults.fail(aws_clients.kms(), "encrypt", READ_TIMEOUT, times=1)

    result = browser.callback(callback_url)

    assert (result["statusCode"], fault.failed, len(connections(aws))) == (200, 1, 1)


@pytest.mark.parametrize("error", DYNAMODB_ERRORS)
def test_authorize_with_the_pending_write_failing_is_a_503_and_starts_nothing(browser, standin, aws, aws_faults, error):
    fault = aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("pending"))

    result = browser.authorize_result()

    assert (fault.failed, len(aws_faults.backoffs)) == (ATTEMPTS, ATTEMPTS - 1)  # the client's own retries, all failed
    assert (result["statusCode"], reason_of(result), "Location" in result["headers"], result.get("cookies")) == (
        503,
        "dependency_down",
        False,
        None,
    )
    assert pending(aws) == []


@pytest.mark.parametrize("error", DYNAMODB_ERRORS)
def test_callback_with_the_consume_failing_is_a_503_and_exchanges_nothing(browser, standin, aws, aws_faults, error):
    callback_url = consented(browser)
    aws_faults.fail(aws_clients.dynamodb(), "delete_item", error)

    result = browser.callback(callback_url)

    # the state was not consumed: it is still there, for this browser only
    assert outcome(result, aws, standin) == {
        "status": 503,
        "reason": "dependency_down",
        "connections": 0,
        "pending": 1,
        "exchanges": 0,
    }


def test_a_consume_that_failed_left_the_state_whole_for_its_binding(browser, standin, aws, aws_faults):
    callback_url = consented(browser)
    cookies = dict(browser.cookies)
    aws_faults.fail(aws_clients.dynamodb(), "delete_item", "ProvisionedThroughputExceededException", times=ATTEMPTS)
    browser.callback(callback_url)
    browser.cookies.update(cookies)  # as the browser held them before the failure, whatever it set

    retried = browser.callback(callback_url)

    assert outcome(retried, aws, standin) == {
        "status": 200,
        "reason": "",
        "connections": 1,
        "pending": 0,
        "exchanges": 1,
    }


@pytest.mark.parametrize("error", DYNAMODB_ERRORS)
def test_callback_with_the_connection_write_failing_is_a_503_and_stores_nothing(
    browser, standin, aws, aws_faults, error
):
    callback_url = consented(browser)
    aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("connection"))

    result = browser.callback(callback_url)

    assert outcome(result, aws, standin) == {
        "status": 503,
        "reason": "dependency_down",
        "connections": 0,
        "pending": 0,
        "exchanges": 1,
    }


@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", CONNECTION_ERROR])
def test_a_reconnect_whose_write_fails_keeps_the_previous_connection(browser, aws, aws_faults, error):
    assert browser.connect(login=ADA)["statusCode"] == 200
    (before,) = connections(aws)
    aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("connection"))

    assert browser.connect(login=ADA)["statusCode"] == 503

    assert connections(aws) == [before]


@pytest.mark.parametrize("error", ["ThrottlingException", CONNECTION_ERROR])
def test_a_link_whose_nonce_write_fails_is_a_503_and_can_be_used_again(browser, aws, aws_faults, error):
    link = "link=" + quote(sign_link(LINK_SIGNING_KEY, "app-user-1"))
    aws_faults.fail(aws_clients.dynamodb(), "put_item", error, when=item_kind("link_nonce"), times=attempts(error))

    failed = browser.authorize_result(link)
    retried = browser.authorize_result(link)

    assert (failed["statusCode"], reason_of(failed), retried["statusCode"]) == (503, "dependency_down", 302)
    assert (len(link_nonces(aws)), len(pending(aws))) == (1, 1)


# --- KMS --------------------------------------------------------------------------------------

KMS_ERRORS = [
    "KMSInternalException",
    "DisabledException",
    "AccessDeniedException",
    "KMSInvalidStateException",
    READ_TIMEOUT,
]


def test_a_5xx_after_the_state_was_spent_keeps_the_binding_so_another_tab_still_finishes(browser, standin, aws, aws_faults):
    # Two tabs in one browser share its binding; an outage in one must not end the other's flow.
    other_tab = consented(browser)
    failing_tab = consented(browser)
    binding = browser.binding
    aws_faults.fail(aws_clients.kms(), "encrypt", "KMSInternalException", times=ATTEMPTS)

    failed = browser.callback(failing_tab)

    assert (failed["statusCode"], reason_of(failed), failed.get("cookies"), browser.binding) == (
        503,
        "dependency_down",
        None,
        binding,
    )
    finished = browser.callback(other_tab)  # the browser's cookies as the 503 left them
    assert outcome(finished, aws, standin) == {
        "status": 200,
        "reason": "",
        "connections": 1,
        "pending": 0,
        "exchanges": 2,
    }


@pytest.mark.parametrize("error", KMS_ERRORS)
def test_callback_with_kms_encrypt_failing_is_a_503_and_stores_nothing(browser, standin, aws, aws_faults, error):
    callback_url = consented(browser)
    fault = aws_faults.fail(aws_clients.kms(), "encrypt", error)

    result = browser.callback(callback_url)

    assert fault.failed == attempts(error)  # retried only when AWS says it may pass
    assert outcome(result, aws, standin) == {
        "status": 503,
        "reason": "dependency_down",
        "connections": 0,
        "pending": 0,
        "exchanges": 1,
    }


@pytest.mark.parametrize("error", KMS_ERRORS)
def test_a_reconnect_failing_at_kms_leaves_the_previous_record_untouched(browser, aws, aws_faults, error):
    assert browser.connect(login=ADA)["statusCode"] == 200
    (before,) = connections(aws)
    aws_faults.fail(aws_clients.kms(), "encrypt", error)

    assert browser.connect(login=ADA)["statusCode"] == 503

    assert connections(aws) == [before]


def test_a_reconnect_failing_at_kms_leaves_the_previous_tokens_decryptable_and_valid(browser, standin, aws, aws_faults):
    assert browser.connect(login=ADA)["statusCode"] == 200
    aws_faults.fail(aws_clients.kms(), "encrypt", "KMSInternalException")
    browser.connect(login=ADA)

    (item,) = connections(aws)
    assert users_me_status(standin, stored_tokens(aws, item).access_token) == 200


# --- Secrets Manager --------------------------------------------------------------------------

SECRETS_MANAGER_ERRORS = [
    "ResourceNotFoundException",
    "AccessDeniedException",
    "ThrottlingException",
    "InternalServiceError",
    "DecryptionFailure",
    CONNECTION_ERROR,
]


@pytest.mark.parametrize("error", SECRETS_MANAGER_ERRORS)
def test_callback_without_the_client_secret_is_a_503_and_exchanges_nothing(browser, standin, aws, aws_faults, error):
    callback_url = consented(browser)
    fault = aws_faults.fail(aws_clients.secretsmanager(), "get_secret_value", error)

    result = browser.callback(callback_url)

    assert fault.failed == attempts(error)
    assert outcome(result, aws, standin) == {
        "status": 503,
        "reason": "dependency_down",
        "connections": 0,
        "pending": 0,
        "exchanges": 0,
    }


def test_a_warm_container_connects_through_a_secrets_manager_outage(browser, aws, aws_faults):
    assert browser.connect(login=ADA)["statusCode"] == 200  # the secret is now cached in the container
    fault = aws_faults.fail(aws_clients.secretsmanager(), "get_secret_value", "ThrottlingException")

    result = browser.connect(login=ADA)

    assert (result["statusCode"], fault.failed) == (200, 0)


@pytest.mark.parametrize("error", ["AccessDeniedException", "ThrottlingException"])
def test_a_link_is_not_spent_while_its_signing_key_cannot_be_read(browser, aws, aws_faults, error):
    link = "link=" + quote(sign_link(LINK_SIGNING_KEY, "app-user-1"))
    aws_faults.fail(aws_clients.secretsmanager(), "get_secret_value", error, times=attempts(error))

    failed = browser.authorize_result(link)
    retried = browser.authorize_result(link)

    assert (failed["statusCode"], reason_of(failed), retried["statusCode"]) == (503, "dependency_down", 302)


def test_a_secret_that_is_not_json_is_taken_as_the_client_secret_itself(browser, aws):
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString="test-client-secret-value")

    assert browser.connect(login=ADA)["statusCode"] == 200


@pytest.mark.parametrize(
    "secret",
    [json.dumps({"client_secret": ""}), json.dumps({"client_secret": 42}), json.dumps({"other": "x"}), "   "],
    ids=["empty", "not-a-string", "missing", "blank"],
)
def test_an_unusable_client_secret_is_a_503_not_set_page_and_exchanges_nothing(browser, standin, aws, secret):
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=secret)

    result = browser.connect(login=ADA)

    assert outcome(result, aws, standin) == {
        "status": 503,
        "reason": "secret_not_set",
        "connections": 0,
        "pending": 0,
        "exchanges": 0,
    }
