"""The token library under faults: a refresh that PagerDuty, DynamoDB, KMS or Secrets Manager
fails leaves the stored connection usable (as it was, lease released) or correctly marked
`needs_reauthorization` — never deleted, never holding tokens nobody can use without saying so."""

from __future__ import annotations

import time

import pytest
import requests
from pd_connect.client.access_tokens import LEASE_SECONDS, AccessTokens, NeedsReauthorization, TokenRefreshFailed
from pd_connect.client.pagerduty_client import PagerDutyClient
from pd_connect.container import Container
from pd_connect.flow.failures import Reason, failure_for
from pd_connect.oauth.token_endpoint import TOKEN_TIMEOUT
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

from .support import CONNECTION_ERROR, READ_TIMEOUT, stored_tokens

ADA = ConnectionKey("PACMEUS", "PADA001")
LIFETIME = 864000  # the stand-in's expires_in
EXPIRED = LIFETIME + 1  # seconds after connecting: the stored access token has expired


@pytest.fixture
def connected(browser, aws):
    """Ada has connected through the real handlers."""
    assert browser.connect(login="PADA001")["statusCode"] == 200
    return aws


class Library:
    """The token library as another Lambda holds it: its own clients, its own clock."""

    def __init__(self, aws, offset: float) -> None:
        # A container of its own: clients configured as every function's (retries, timeouts), and
        # its own secret cache.
        self.container = Container()
        self.dynamodb = self.container.aws.dynamodb
        self.kms = self.container.aws.kms

        def clock() -> float:
            return time.time() + offset

        cipher = TokenCipher(self.kms, aws.key_id)
        store = ConnectionStore(self.dynamodb, aws.table_name, cipher, clock=clock)
        self.tokens = AccessTokens(
            self.container.token_settings, store, cipher, self.container.secrets, clock=clock, sleep=lambda _: None
        )

    def get(self, key: ConnectionKey = ADA, **kwargs):
        return self.tokens.get(key, **kwargs)


def record(aws, key: ConnectionKey = ADA) -> dict:
    return aws.dynamodb.get_item(TableName=aws.table_name, Key={"pk": {"S": key.pk}}, ConsistentRead=True)["Item"]


def users_me_status(standin, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return requests.get(f"{standin.base_url}/users/me", headers=headers, timeout=5).status_code


def storing_refreshed_tokens(request: dict) -> bool:
    return ":tokens" in request.get("ExpressionAttributeValues", {})


def taking_the_lease(request: dict) -> bool:
    return "refresh_lease_owner = :owner" in request.get("UpdateExpression", "")


# --- PagerDuty fails the refresh --------------------------------------------------------------

PAGERDUTY_FAULTS = [
    pytest.param({"kind": "status", "status": 503}, id="503"),
    pytest.param({"kind": "rate_limit"}, id="429"),
    pytest.param({"kind": "non_json"}, id="html-502"),
    pytest.param({"kind": "delay", "seconds": 1.5}, id="timeout"),
]


@pytest.fixture
def token_endpoint_fails(standin, monkeypatch):
    """Make PagerDuty's token endpoint fail the next call; a delay then is a timeout (0.3 s)."""

    def fail(fault: dict) -> None:
        if fault["kind"] == "delay":
            monkeypatch.setattr("pd_connect.oauth.token_endpoint.TOKEN_TIMEOUT", (1, 0.3))
        standin.faults.set(endpoint="token", times=1, **fault)

    return fail


@pytest.mark.parametrize("fault", PAGERDUTY_FAULTS)
def test_pagerduty_failing_a_refresh_leaves_the_record_as_it_was(connected, token_endpoint_fails, fault):
    before = record(connected)
    token_endpoint_fails(fault)

    with pytest.raises(TokenRefreshFailed):
        Library(connected, EXPIRED).get()

    assert record(connected) == before  # same tokens, same version, lease released


@pytest.mark.parametrize("fault", PAGERDUTY_FAULTS)
def test_after_pagerduty_failed_a_refresh_the_next_caller_refreshes(
    connected, standin, token_endpoint_fails, monkeypatch, fault
):
    token_endpoint_fails(fault)
    with pytest.raises(TokenRefreshFailed):
        Library(connected, EXPIRED).get()
    monkeypatch.setattr("pd_connect.oauth.token_endpoint.TOKEN_TIMEOUT", TOKEN_TIMEOUT)  # PagerDuty is back

    token = Library(connected, EXPIRED).get()

    assert (token.version, users_me_status(standin, token.token)) == (2, 200)


def test_invalid_grant_marks_the_record_and_keeps_its_tokens(connected, standin):
    before = record(connected)
    standin.faults.set(endpoint="token", kind="invalid_grant")

    with pytest.raises(NeedsReauthorization):
        Library(connected, EXPIRED).get()

    after = record(connected)
    assert (
        after["needs_reauthorization"],
        after["tokens"],
        after["token_version"],
        "refresh_lease_owner" in after,
    ) == (
        {"BOOL": True},
        before["tokens"],
        before["token_version"],
        False,
    )


def test_a_401_while_the_token_endpoint_is_down_returns_the_401_and_keeps_the_record(connected, standin, monkeypatch):
    cipher = TokenCipher(connected.kms, connected.key_id)
    refresh_token = stored_tokens(connected, record(connected)).refresh_token
    revoked = cipher.encrypt(ADA.pk, StoredTokens("pdus+_0revoked-access-token-value", refresh_token))
    connected.dynamodb.update_item(
        TableName=connected.table_name,
        Key={"pk": {"S": ADA.pk}},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "tokens"},
        ExpressionAttributeValues={":t": {"B": revoked}},
    )
    before = record(connected)
    standin.faults.set(endpoint="token", kind="status", status=503)

    response = PagerDutyClient(ADA, access_tokens=Library(connected, 0).tokens).get("/users/me")

    assert (response.status_code, record(connected)) == (401, before)


# --- DynamoDB fails a step of the refresh -----------------------------------------------------

DYNAMODB_ERRORS = ["ProvisionedThroughputExceededException", "ThrottlingException", CONNECTION_ERROR]


@pytest.mark.parametrize("error", DYNAMODB_ERRORS)
def test_a_failed_lease_surfaces_as_dependency_down_and_touches_nothing(connected, standin, aws_faults, error):
    before = record(connected)
    library = Library(connected, EXPIRED)
    aws_faults.fail(library.dynamodb, "update_item", error, when=taking_the_lease)

    with pytest.raises(TokenRefreshFailed) as failure:
        library.get()

    assert (failure_for(failure.value.cause).reason, standin.calls["token_refresh"], record(connected)) == (
        Reason.DEPENDENCY_DOWN,
        0,
        before,
    )


@pytest.mark.parametrize("error", DYNAMODB_ERRORS)
def test_a_failed_write_of_refreshed_tokens_keeps_the_old_record_and_releases_the_lease(
    connected, standin, aws_faults, error
):
    before = record(connected)
    library = Library(connected, EXPIRED)
    aws_faults.fail(library.dynamodb, "update_item", error, when=storing_refreshed_tokens)

    with pytest.raises(TokenRefreshFailed):
        library.get()

    assert record(connected) == before


def test_after_a_failed_write_the_rotated_away_token_marks_the_record_for_reauthorization(
    connected, standin, aws_faults
):
    # The documented window: PagerDuty rotated the refresh token, the write of the new one failed.
    library = Library(connected, EXPIRED)
    aws_faults.fail(
        library.dynamodb, "update_item", "ProvisionedThroughputExceededException", when=storing_refreshed_tokens
    )
    with pytest.raises(TokenRefreshFailed):
        library.get()

    with pytest.raises(NeedsReauthorization):
        Library(connected, EXPIRED).get()

    after = record(connected)
    assert (after["needs_reauthorization"], after["reauthorization_reason"]) == (
        {"BOOL": True},
        {"S": "invalid_grant on refresh"},
    )


def test_a_failed_mark_leaves_the_lease_to_lapse_and_the_next_caller_marks_it(connected, standin, aws_faults):
    standin.faults.set(endpoint="token", kind="invalid_grant")
    library = Library(connected, EXPIRED)
    aws_faults.fail(
        library.dynamodb,
        "update_item",
        "ThrottlingException",
        when=lambda r: ":reason" in r.get("ExpressionAttributeValues", {}),
    )
    with pytest.raises(TokenRefreshFailed):
        library.get()

    with pytest.raises(NeedsReauthorization):
        Library(connected, EXPIRED + LEASE_SECONDS + 1).get()

    assert record(connected)["needs_reauthorization"] == {"BOOL": True}


# --- KMS and Secrets Manager fail during a refresh --------------------------------------------


@pytest.mark.parametrize("error", ["KMSInternalException", "AccessDeniedException", READ_TIMEOUT])
def test_kms_failing_to_decrypt_for_a_refresh_leaves_the_record_as_it_was(connected, standin, aws_faults, error):
    before = record(connected)
    library = Library(connected, EXPIRED)
    aws_faults.fail(library.kms, "decrypt", error)

    with pytest.raises(TokenRefreshFailed):
        library.get()

    assert (standin.calls["token_refresh"], record(connected)) == (0, before)


@pytest.mark.parametrize("error", ["KMSInternalException", "DisabledException", READ_TIMEOUT])
def test_kms_failing_to_encrypt_refreshed_tokens_keeps_the_old_record(connected, standin, aws_faults, error):
    before = record(connected)
    library = Library(connected, EXPIRED)
    aws_faults.fail(library.kms, "encrypt", error)

    with pytest.raises(TokenRefreshFailed):
        library.get()

    assert record(connected) == before


@pytest.mark.parametrize("error", ["ResourceNotFoundException", "AccessDeniedException", "ThrottlingException"])
def test_secrets_manager_failing_during_a_refresh_calls_no_one_and_keeps_the_record(
    connected, standin, aws_faults, monkeypatch, error
):
    before = record(connected)
    library = Library(connected, EXPIRED)  # a cold container: the secret is not cached
    aws_faults.fail(library.container.aws.secretsmanager, "get_secret_value", error)

    with pytest.raises(TokenRefreshFailed):
        library.get()

    assert (standin.calls["token_refresh"], record(connected)) == (0, before)
