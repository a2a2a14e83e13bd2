"""The conditional writes that keep a connection whole when two writers meet, driven step by step.

Each test runs two callers in one thread and puts the second one's step exactly where the race
would put it (after the other's read, after the other's write): no threads, no sleeps, no timing.
Each condition these tests defend was once removed without any other test noticing.
"""

from __future__ import annotations

import time

import pytest

from pd_connect.access_tokens import AccessTokens
from pd_connect.config import load_settings
from pd_connect.connections import Connection, ConnectionKey, ConnectionStore
from pd_connect.failures import ConnectFailure
from pd_connect.token_cipher import StoredTokens, TokenCipher

US_KEY = ConnectionKey("PACMEUS", "PADA001")
LIFETIME = 864000  # the stand-in's expires_in: at this offset every stored token has expired


@pytest.fixture
def connected(browser, aws):
    """Ada (US) has connected through the real handlers: her record is at token_version 1."""
    assert browser.connect(login="PADA001")["statusCode"] == 200
    return aws


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, offset: float = 0.0) -> None:
        self.now = time.time() + offset

    def __call__(self) -> float:
        return self.now


def cipher(aws) -> TokenCipher:
    return TokenCipher(aws.kms, aws.key_id)


def record(aws):
    return ConnectionStore(aws.dynamodb, aws.table_name, cipher(aws)).find(US_KEY)


def provider(aws, store: ConnectionStore, clock, sleeps: list) -> AccessTokens:
    """One process's AccessTokens (its own cache), over the given store."""
    return AccessTokens(load_settings(needs_secrets=True), store, cipher(aws), clock=clock, sleep=sleeps.append)


class ActsFirstBeforeLeasing(ConnectionStore):
    """The stale caller's store: it has read the record, and before its lease attempt reaches
    DynamoDB the winner runs its whole refresh (lease, PagerDuty, write)."""

    def __init__(self, *args, winner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.winner = winner
        self.lease_attempts: list[int] = []

    def try_lease(self, key, *, version, owner, seconds):
        if self.winner is not None:
            winner, self.winner = self.winner, None
            winner()
        self.lease_attempts.append(version)
        return super().try_lease(key, version=version, owner=owner, seconds=seconds)


def test_a_caller_that_read_before_the_winners_refresh_uses_the_winners_token(connected, standin):
    clock, sleeps = Clock(LIFETIME), []
    winner = provider(connected, ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected), clock=clock), clock, sleeps)
    won = []
    stale_store = ActsFirstBeforeLeasing(
        connected.dynamodb, connected.table_name, cipher(connected), clock=clock,
        winner=lambda: won.append(winner.get(US_KEY)),
    )
    stale = provider(connected, stale_store, clock, sleeps)

    token = stale.get(US_KEY)

    # The stale caller asked for the lease at the version it had read (1), was refused because
    # the winner had moved the record to 2, read again and took the winner's token: one refresh,
    # the connection healthy. Leasing without the version condition refreshes with the rotated
    # refresh token, gets invalid_grant and marks a healthy connection needs_reauthorization.
    assert (won[0].version, token.version, token.token) == (2, 2, won[0].token)
    assert stale_store.lease_attempts == [1]
    assert standin.calls["token_refresh"] == 1
    assert record(connected).needs_reauthorization is False


def test_a_refreshed_write_under_a_lease_someone_else_now_holds_is_refused(connected):
    clock = Clock(LIFETIME)
    store = ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected), clock=clock)
    assert store.try_lease(US_KEY, version=1, owner="slow-caller", seconds=20)
    clock.now += 21  # the slow caller's lease lapses while it waits on PagerDuty ...
    assert store.try_lease(US_KEY, version=1, owner="next-caller", seconds=20)  # ... and is taken over

    with pytest.raises(ConnectFailure):
        store.store_refreshed(
            US_KEY, version=1, owner="slow-caller", tokens=StoredTokens("pdus+_0late-access", "pdus+_1late-refresh"),
            expires_at=int(clock.now) + 3600, scope="read",
        )

    # The record is as the next caller's lease found it: its write is the one that will land.
    item = connected.dynamodb.get_item(TableName=connected.table_name, Key={"pk": {"S": US_KEY.pk}})["Item"]
    assert (item["token_version"]["N"], item["refresh_lease_owner"]["S"]) == ("1", "next-caller")


class RefreshesBetweenReadAndReplace:
    """The callback's DynamoDB client, with a token refresh landing between the reconnect's
    first put (refused: the record exists, ALL_OLD returned) and its conditioned replace."""

    def __init__(self, client, refresh) -> None:
        self._client = client
        self._refresh = refresh
        self.conditions: list[str] = []

    def put_item(self, **request):
        self.conditions.append(request["ConditionExpression"])
        if len(self.conditions) == 2:
            self._refresh()
        return self._client.put_item(**request)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_reconnect_never_overwrites_a_refresh_that_landed_after_it_read_the_record(connected):
    store = ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected))
    before = record(connected)
    refreshes = []

    def refresh():
        assert store.try_lease(US_KEY, version=before.token_version, owner="refresher", seconds=20)
        refreshes.append(store.store_refreshed(
            US_KEY, version=before.token_version, owner="refresher",
            tokens=StoredTokens("pdus+_0refreshed-access", "pdus+_1refreshed-refresh"),
            expires_at=int(time.time()) + 3600, scope="read",
        ))

    client = RefreshesBetweenReadAndReplace(connected.dynamodb, refresh)
    reconnect = ConnectionStore(client, connected.table_name, cipher(connected))
    reconnect.save(before.connection, StoredTokens("pdus+_0reconnect-access", "pdus+_1reconnect-refresh"))

    # The replace conditioned on the version it saw (1) was refused by the refresh's write (2);
    # it read again and replaced at 3. Every token change has its own version, so a decrypted
    # token cached under version 2 is never taken for the reconnect's tokens.
    after = record(connected)
    assert refreshes == [2]
    assert len(client.conditions) == 3  # new, replace at 1 (refused), replace at 2
    assert after.token_version == 3
    assert cipher(connected).decrypt(US_KEY.pk, after.tokens_ciphertext).access_token == "pdus+_0reconnect-access"
    assert after.created_at == before.created_at
