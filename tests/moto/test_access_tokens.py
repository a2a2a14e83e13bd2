"""Stored tokens stay usable: refresh margins, race-safe refresh, invalid_grant, the API client."""

import json
import threading
import time

import pytest
import requests
from pd_connect.client.access_tokens import (
    REFRESH_MARGIN_SECONDS,
    AccessTokens,
    ConnectionNotFound,
    NeedsReauthorization,
    TokenRefreshFailed,
    get_access_token,
)
from pd_connect.client.pagerduty_client import DEFAULT_WAIT_SECONDS, PagerDutyClient, RateLimited
from pd_connect.container import process_container
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.errors import TokensUnreadable
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

from tests.moto.conftest import CLIENT_ID, CLIENT_SECRET

US_KEY = ConnectionKey("PACMEUS", "PADA001")
EU_KEY = ConnectionKey("PGLOBEX", "PGRACE1")
LIFETIME = 864000  # what the stand-in's token endpoint answers in expires_in


@pytest.fixture
def connected(browser, aws):
    """Ada (US) has connected through the real handlers."""
    assert browser.connect(login="PADA001")["statusCode"] == 200
    return aws


def make_tokens(aws, *, offset: float = 0.0, sleeps: list | None = None) -> AccessTokens:
    """AccessTokens with its own token cache, in the handlers' container (the same secret cache)."""
    container = process_container()
    cipher = TokenCipher(aws.kms, aws.key_id)
    return AccessTokens(
        container.token_settings,
        ConnectionStore(aws.dynamodb, aws.table_name, cipher, clock=lambda: time.time() + offset),
        cipher,
        container.secrets,
        clock=lambda: time.time() + offset,
        sleep=(sleeps.append if sleeps is not None else time.sleep),
    )


def users_me(standin, token: str, region_path: str = "") -> int:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return requests.get(f"{standin.base_url}{region_path}/users/me", headers=headers, timeout=5).status_code


# --- expiry margins ---------------------------------------------------------------------------


def test_a_fresh_token_is_returned_without_refreshing(connected, standin):
    token = make_tokens(connected).get(US_KEY)
    assert users_me(standin, token.token) == 200
    assert standin.calls["token_refresh"] == 0


def test_just_outside_the_margin_no_refresh(connected, standin):
    make_tokens(connected, offset=LIFETIME - REFRESH_MARGIN_SECONDS - 60).get(US_KEY)
    assert standin.calls["token_refresh"] == 0


def test_inside_the_margin_the_token_is_refreshed_and_stored(connected, standin):
    tokens = make_tokens(connected, offset=LIFETIME - REFRESH_MARGIN_SECONDS + 60)
    token = tokens.get(US_KEY)
    assert standin.calls["token_refresh"] == 1 and token.version == 2
    assert users_me(standin, token.token) == 200
    # the next caller finds the new expiry and does not refresh again
    assert make_tokens(connected, offset=LIFETIME - REFRESH_MARGIN_SECONDS + 60).get(US_KEY).token == token.token
    assert standin.calls["token_refresh"] == 1


def test_the_module_level_helper_uses_the_environment(connected, standin):
    assert users_me(standin, get_access_token("PACMEUS/PADA001")) == 200




def test_a_refresh_after_the_client_secret_was_rotated_is_retried_once_with_the_new_secret(connected, standin):
    # The connect warmed the container's secret cache with the old secret.
    standin.rotate_client_secret(CLIENT_ID, "rotated-secret")
    rotated = json.dumps({"client_secret": "rotated-secret"})
    connected.secretsmanager.put_secret_value(SecretId=connected.secret_id, SecretString=rotated)
    token = make_tokens(connected, offset=LIFETIME).get(US_KEY)
    assert token.version == 2 and users_me(standin, token.token) == 200


def test_unknown_connection_raises(connected):
    with pytest.raises(ConnectionNotFound):
        make_tokens(connected).get(ConnectionKey("PNOPE", "PNOPE"))


# --- race-safe refresh ------------------------------------------------------------------------


def test_twenty_concurrent_callers_make_exactly_one_refresh_call(connected, standin):
    callers = 20
    offset = LIFETIME  # every stored token has expired
    barrier, tokens, errors = threading.Barrier(callers), [], []

    def call():
        provider = make_tokens(connected, offset=offset)  # one process each: no shared cache
        barrier.wait()
        try:
            tokens.append(provider.get(US_KEY).token)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert standin.calls["token_refresh"] == 1
    assert len(tokens) == callers and len(set(tokens)) == 1
    assert all(users_me(standin, token) == 200 for token in set(tokens))


def stored_refresh_token(aws) -> str:
    cipher = TokenCipher(aws.kms, aws.key_id)
    record = ConnectionStore(aws.dynamodb, aws.table_name, cipher).find(US_KEY)
    return cipher.decrypt(US_KEY.pk, record.tokens_ciphertext).refresh_token


def present_refresh_token(standin, refresh_token: str) -> requests.Response:
    """Ask PagerDuty's token endpoint for new tokens with this refresh token, as the library does."""
    return requests.post(f"{standin.base_url}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    }, timeout=5)


def test_the_old_refresh_token_is_dead_after_rotation(connected, standin):
    old = stored_refresh_token(connected)

    make_tokens(connected, offset=LIFETIME).get(US_KEY)

    new = stored_refresh_token(connected)
    refused = present_refresh_token(standin, old)
    assert new != old
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    store_record = ConnectionStore(connected.dynamodb, connected.table_name, TokenCipher(connected.kms, connected.key_id)).find(US_KEY)
    assert store_record.token_version == 2 and store_record.needs_reauthorization is False
    assert present_refresh_token(standin, new).status_code == 200  # the stored one is the live one


# --- invalid_grant and failures ---------------------------------------------------------------


def test_invalid_grant_marks_the_connection_and_keeps_it(connected, standin):
    standin.faults.set(endpoint="token", kind="invalid_grant")
    with pytest.raises(NeedsReauthorization):
        make_tokens(connected, offset=LIFETIME).get(US_KEY)
    record = ConnectionStore(connected.dynamodb, connected.table_name, TokenCipher(connected.kms, connected.key_id)).find(US_KEY)
    assert record is not None and record.needs_reauthorization and "invalid_grant" in record.reauthorization_reason
    with pytest.raises(NeedsReauthorization):  # and stays so, without calling PagerDuty again
        make_tokens(connected, offset=LIFETIME).get(US_KEY)
    assert standin.calls["token_refresh"] == 1


def test_reconnecting_clears_needs_reauthorization(connected, standin, browser):
    standin.faults.set(endpoint="token", kind="invalid_grant", times=1)
    with pytest.raises(NeedsReauthorization):
        make_tokens(connected, offset=LIFETIME).get(US_KEY)
    assert browser.connect(login="PADA001")["statusCode"] == 200
    assert users_me(standin, make_tokens(connected).get(US_KEY).token) == 200


def test_pagerduty_down_during_refresh_of_an_unexpired_token_returns_the_current_one(connected, standin):
    standin.faults.set(endpoint="token", kind="status", status=503)
    token = make_tokens(connected, offset=LIFETIME - 60).get(US_KEY)  # inside the margin, not expired
    assert users_me(standin, token.token) == 200 and token.version == 1


def test_pagerduty_down_during_refresh_of_an_expired_token_fails_clearly(connected, standin):
    standin.faults.set(endpoint="token", kind="status", status=503)
    with pytest.raises(TokenRefreshFailed):
        make_tokens(connected, offset=LIFETIME + 1).get(US_KEY)
    # the lease was released: once PagerDuty is back, the next caller refreshes
    standin.faults.clear()
    assert make_tokens(connected, offset=LIFETIME + 1).get(US_KEY).version == 2


def test_the_encryption_context_still_binds_the_record_after_refresh(connected):
    make_tokens(connected, offset=LIFETIME).get(US_KEY)
    cipher = TokenCipher(connected.kms, connected.key_id)
    record = ConnectionStore(connected.dynamodb, connected.table_name, cipher).find(US_KEY)
    assert cipher.decrypt(US_KEY.pk, record.tokens_ciphertext).access_token
    with pytest.raises(TokensUnreadable):
        cipher.decrypt(EU_KEY.pk, record.tokens_ciphertext)


def test_a_warm_provider_decrypts_once_per_token_version(connected, monkeypatch):
    provider = make_tokens(connected)
    calls = []
    original = TokenCipher.decrypt
    monkeypatch.setattr(TokenCipher, "decrypt", lambda self, *a: calls.append(1) or original(self, *a))
    for _ in range(5):
        provider.get(US_KEY)
    assert len(calls) == 1


# --- the API client ---------------------------------------------------------------------------


def client(aws, key=US_KEY, sleeps=None, offset=0.0):
    return PagerDutyClient(key, access_tokens=make_tokens(aws, offset=offset, sleeps=sleeps), sleep=(sleeps.append if sleeps is not None else time.sleep))


def test_client_calls_the_connections_api_with_v2_accept_and_bearer(connected):
    response = client(connected).get("/users/me")
    assert response.status_code == 200 and response.json()["user"]["name"] == "Ada Lovelace"


def test_an_eu_connection_calls_the_eu_host(browser, aws, standin):
    browser.connect(login="PGRACE1")
    eu = client(aws, EU_KEY)
    response = eu.get("/users/me")
    assert response.status_code == 200 and response.json()["user"]["name"] == "Grace Hopper"
    assert response.url.startswith(f"{standin.base_url}/eu/")


def invalidate_stored_access_token(aws):
    """PagerDuty stopped accepting the stored access token before its expiry (e.g. revoked)."""
    cipher = TokenCipher(aws.kms, aws.key_id)
    record = ConnectionStore(aws.dynamodb, aws.table_name, cipher).find(US_KEY)
    tokens = cipher.decrypt(US_KEY.pk, record.tokens_ciphertext)
    forged = StoredTokens("pdus+_0no-longer-valid", tokens.refresh_token)
    aws.dynamodb.update_item(
        TableName=aws.table_name, Key={"pk": {"S": US_KEY.pk}},
        UpdateExpression="SET #t = :t", ExpressionAttributeNames={"#t": "tokens"},
        ExpressionAttributeValues={":t": {"B": cipher.encrypt(US_KEY.pk, forged)}},
    )


def test_401_refreshes_once_and_retries(connected, standin):
    invalidate_stored_access_token(connected)
    response = client(connected).get("/users/me")
    assert response.status_code == 200
    assert standin.calls["token_refresh"] == 1


def test_a_401_whose_refresh_is_refused_asks_for_reauthorization(connected, standin):
    standin.revoke_all_tokens()  # the user revoked the app in PagerDuty: access and refresh tokens die
    with pytest.raises(NeedsReauthorization):
        client(connected).get("/users/me")
    assert standin.calls["token_refresh"] == 1


def test_429_waits_for_ratelimit_reset_then_succeeds(connected, standin):
    sleeps = []
    standin.faults.set(endpoint="users_me", kind="rate_limit", times=2)
    assert client(connected, sleeps=sleeps).get("/users/me").status_code == 200
    assert len(sleeps) == 2 and all(0 <= s <= 30 for s in sleeps)


def test_429_without_headers_waits_a_default(connected, standin):
    sleeps = []
    standin.faults.set(endpoint="users_me", kind="rate_limit_bare", times=1)
    assert client(connected, sleeps=sleeps).get("/users/me").status_code == 200
    assert sleeps == [DEFAULT_WAIT_SECONDS]


def test_429_gives_up_after_bounded_retries(connected, standin):
    sleeps = []
    standin.faults.set(endpoint="users_me", kind="rate_limit")
    with pytest.raises(RateLimited):
        client(connected, sleeps=sleeps).get("/users/me")
    assert len(sleeps) == 3 and standin.calls["users_me"] == 1 + 4  # the callback's own call, then 4 tries


def test_a_ciphertext_copied_from_another_record_is_its_own_failure_and_counted(handlers, browser, aws, capsys):

    assert browser.connect(login="PADA001")["statusCode"] == 200
    assert browser.connect(login="PGRACE1")["statusCode"] == 200
    ada = aws.dynamodb.get_item(TableName=aws.table_name, Key={"pk": {"S": US_KEY.pk}})["Item"]
    aws.dynamodb.update_item(
        TableName=aws.table_name, Key={"pk": {"S": EU_KEY.pk}},
        UpdateExpression="SET tokens = :t", ExpressionAttributeValues={":t": ada["tokens"]},
    )
    capsys.readouterr()
    with pytest.raises(TokenRefreshFailed) as failure:
        get_access_token(EU_KEY)
    assert isinstance(failure.value.cause, TokensUnreadable)
    assert '"event":"stored_tokens_unreadable","SecurityEvents":[1.0]' in capsys.readouterr().out
