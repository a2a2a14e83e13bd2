"""The conditional writes that keep a connection whole when two writers meet, driven step by step.

Each test runs two callers in one thread and puts the second one's step exactly where the race
would put it (after the other's read, after the other's write): no threads, no sleeps, no timing.
Each condition these tests defend was once removed without any other test noticing.
"""

from __future__ import annotations

import time

import pytest
from pd_connect.client.access_tokens import AccessTokens
from pd_connect.container import process_container
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.errors import StoreUnavailable
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

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
    container = process_container()  # the handlers' settings and secret cache
    return AccessTokens(container.token_settings, store, cipher(aws), container.secrets, clock=clock, sleep=sleeps.append)


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

    with pytest.raises(StoreUnavailable):
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


# --- each condition of the store, one writer after another ------------------------------------


def raw_item(aws) -> dict:
    return aws.dynamodb.get_item(TableName=aws.table_name, Key={"pk": {"S": US_KEY.pk}}, ConsistentRead=True)["Item"]


@pytest.fixture
def store(connected):
    return ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected), clock=Clock(LIFETIME))


def test_a_live_lease_is_never_taken_over(store):
    assert store.try_lease(US_KEY, version=1, owner="first", seconds=20)
    store._clock.now += 19  # a second before it lapses

    assert store.try_lease(US_KEY, version=1, owner="second", seconds=20) is False


def test_no_lease_on_a_connection_that_needs_reauthorization(store, connected):
    assert store.try_lease(US_KEY, version=1, owner="refused", seconds=20)
    store.mark_needs_reauthorization(US_KEY, owner="refused", reason="invalid_grant on refresh")

    assert store.try_lease(US_KEY, version=1, owner="next", seconds=20) is False  # PagerDuty is not asked again


def test_a_refreshed_write_is_refused_once_the_tokens_moved_on_even_under_the_callers_lease(store, connected):
    assert store.try_lease(US_KEY, version=1, owner="refresher", seconds=20)
    connected.dynamodb.update_item(  # the tokens changed under the lease (version 2)
        TableName=connected.table_name, Key={"pk": {"S": US_KEY.pk}},
        UpdateExpression="SET token_version = :two", ExpressionAttributeValues={":two": {"N": "2"}},
    )

    with pytest.raises(StoreUnavailable):
        store.store_refreshed(US_KEY, version=1, owner="refresher", tokens=StoredTokens("pdus+_0a-access", "pdus+_1a-refresh"),
                              expires_at=1, scope="read")

    assert raw_item(connected)["token_version"] == {"N": "2"}


def test_a_caller_whose_lease_was_taken_over_can_neither_mark_nor_release(store, connected):
    clock = store._clock
    assert store.try_lease(US_KEY, version=1, owner="slow-caller", seconds=20)
    clock.now += 21
    assert store.try_lease(US_KEY, version=1, owner="next-caller", seconds=20)

    store.mark_needs_reauthorization(US_KEY, owner="slow-caller", reason="invalid_grant on refresh")
    store.release_lease(US_KEY, owner="slow-caller")

    item = raw_item(connected)
    assert (item["needs_reauthorization"], item["refresh_lease_owner"]) == ({"BOOL": False}, {"S": "next-caller"})


def test_another_kind_of_item_under_a_connections_key_is_not_a_connection(store, connected):
    item = raw_item(connected)
    connected.dynamodb.put_item(TableName=connected.table_name, Item={**item, "kind": {"S": "unconfirmed_connection"}})

    assert store.find(US_KEY) is None


class RecordingClient:
    def __init__(self, client) -> None:
        self._client = client
        self.requests: list[tuple[str, dict]] = []

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def recorded(**request):
            self.requests.append((name, request))
            return method(**request)

        return recorded


def test_a_connection_is_read_strongly_consistent(connected):
    # moto is always consistent, so only the request shows it: an eventually consistent read could
    # return the record from before a refresh, and the caller would refresh a rotated token.
    client = RecordingClient(connected.dynamodb)

    ConnectionStore(client, connected.table_name, cipher(connected)).find(US_KEY)

    assert [(name, request["ConsistentRead"]) for name, request in client.requests] == [("get_item", True)]


def test_a_warm_provider_takes_the_token_another_container_refreshed(connected, standin):
    clock, sleeps = Clock(), []
    warm = provider(connected, ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected), clock=clock), clock, sleeps)
    warm.get(US_KEY)  # version 1 decrypted and cached
    later = Clock(LIFETIME)
    refreshed = provider(connected, ConnectionStore(connected.dynamodb, connected.table_name, cipher(connected), clock=later), later, sleeps).get(US_KEY)

    token = warm.get(US_KEY)

    assert (token.version, token.token) == (2, refreshed.token)
