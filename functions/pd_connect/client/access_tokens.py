"""Valid access tokens for stored connections, months after the user connected.

`get_access_token(key)` returns the stored access token, refreshing it first when it is within
`REFRESH_MARGIN_SECONDS` of expiry. PagerDuty rotates refresh tokens (the old one must be treated
as single-use), so two processes refreshing at once would make one of them lose the connection.
Refresh is therefore serialised across processes by a lease on the record:

1. read the record (GetItem) and note its `token_version`;
2. take the lease with a conditional UpdateItem (same version, no live lease) — exactly one caller
   wins; the others poll the record until the version moves on, then use the new token;
3. the winner calls PagerDuty, then writes the new tokens and version+1 (conditioned on its lease)
   before anyone uses them.

The window that remains: if the process dies after PagerDuty answered and before step 3's write,
the new refresh token is lost and the stored one has been rotated away. The lease lapses after
`LEASE_SECONDS`; the next caller refreshes with the stored token, PagerDuty answers invalid_grant,
and the connection is marked `needs_reauthorization` (never deleted): the user reconnects once.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import requests

from pd_connect.container import process_container
from pd_connect.oauth.errors import InvalidGrant
from pd_connect.oauth.token_endpoint import TokenEndpoint
from pd_connect.platform.config import Settings
from pd_connect.platform.errors import LayerError
from pd_connect.platform.observability import logger, record_security_event
from pd_connect.vault.connections import ConnectionKey, ConnectionStore, StoredConnection
from pd_connect.vault.errors import TokensUnreadable
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

if TYPE_CHECKING:
    from pd_connect.platform.client_secret import Secrets

REFRESH_MARGIN_SECONDS = 300  # refresh when less than this is left: covers clock skew and a slow call
LEASE_SECONDS = 20  # longer than a refresh call can take (token timeout is 3 + 8 s)
WAIT_SECONDS = 25  # how long a caller waits for someone else's refresh before giving up
POLL_SECONDS = 0.1
UNREADABLE = "stored_tokens_unreadable"  # the security event's name (metric and log)


class ConnectionNotFound(LookupError):
    """No connection is stored under this key."""


class NeedsReauthorization(RuntimeError):
    """PagerDuty no longer accepts this connection's refresh token: the user must connect again."""


class AmbiguousConnection(LookupError):
    """The app user has connected more than one PagerDuty user: say which (account_id=...)."""


class TokenRefreshFailed(RuntimeError):
    """No valid token could be had right now (PagerDuty or AWS failing); try again later.
    `cause`: the error underneath when one is known (e.g. vault.errors.StoreUnavailable,
    platform.errors.SecretNotSet: the secret was never put)."""

    def __init__(self, message: str, cause: Exception | None = None) -> None:
        super().__init__(message)
        self.cause = cause





@dataclass(frozen=True)
class AccessToken:
    token: str
    version: int  # token_version of the record it came from (lets a 401 ask for a newer one)
    api_base: str
    region: str
    expires_at: int  # epoch seconds
    scopes: str = ""  # space-separated, as PagerDuty granted them
    key: ConnectionKey | None = None  # the connection it belongs to

    def __repr__(self) -> str:
        return f"AccessToken(version={self.version}, region={self.region!r}, token=<redacted>)"


class AccessTokens:
    """Reads, decrypts and refreshes tokens. Thread-safe; one per container (pd_connect.container)."""

    def __init__(
        self,
        settings: Settings,
        store: ConnectionStore,
        cipher: TokenCipher,
        secrets: Secrets,
        session: requests.Session | None = None,
        clock=time.time,
        sleep=time.sleep,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._token_endpoint = TokenEndpoint(
            session or requests.Session(),
            settings.identity_url,
            settings.client_id,
            partial(secrets.client_secret, settings.client_secret_id),
            clock,
        )
        self._clock = clock
        self._sleep = sleep
        # Decrypted tokens by record and version: a warm container makes no KMS call until the
        # tokens change. Keyed by version, so a refresh elsewhere is never shadowed.
        self._decrypted: dict[str, tuple[int, StoredTokens]] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> ConnectionStore:
        return self._store

    def resolve(self, key: ConnectionKey | str | None = None, *, app_user_id: str = "", account_id: str = "") -> ConnectionKey:
        """The connection meant by a key or by an app user (see resolve_key)."""
        return resolve_key(self._store, key, app_user_id=app_user_id, account_id=account_id)

    def get(self, key: ConnectionKey, *, reject_version: int | None = None) -> AccessToken:
        """A valid access token. `reject_version`: the caller saw that version's token refused
        (HTTP 401), so refresh unless the record has already moved past it. Raises only
        ConnectionNotFound, NeedsReauthorization and TokenRefreshFailed."""
        try:
            return self._get(key, reject_version)
        except LayerError as error:  # AWS failed reading, leasing or marking the record
            if isinstance(error, TokensUnreadable):
                # Not an outage: the record's ciphertext is not its own (copied or tampered).
                logger.error("stored tokens do not match their record", extra={"connection": str(key), "reason": UNREADABLE})
                record_security_event(UNREADABLE)
            raise TokenRefreshFailed(f"{key}: {error.described}", error) from None

    def _get(self, key: ConnectionKey, reject_version: int | None) -> AccessToken:
        deadline = self._clock() + WAIT_SECONDS
        while True:
            record = self._find(key)
            fresh_enough = record.connection.access_token_expires_at - REFRESH_MARGIN_SECONDS > self._clock()
            if fresh_enough and record.token_version != reject_version:
                return self._access_token(record)
            owner = uuid.uuid4().hex
            if self._store.try_lease(key, version=record.token_version, owner=owner, seconds=LEASE_SECONDS):
                return self._refresh(record, owner)
            if self._clock() > deadline:
                raise TokenRefreshFailed(f"{key}: timed out waiting for another caller's refresh")
            self._sleep(POLL_SECONDS)  # someone else holds the lease: wait for their new version

    def _find(self, key: ConnectionKey) -> StoredConnection:
        record = self._store.find(key)
        if record is None:
            raise ConnectionNotFound(str(key))
        if record.needs_reauthorization:
            raise NeedsReauthorization(f"{key}: {record.reauthorization_reason or 'refresh refused'}")
        return record

    def _tokens(self, record: StoredConnection) -> StoredTokens:
        pk = record.key.pk
        with self._lock:
            cached = self._decrypted.get(pk)
        if cached and cached[0] == record.token_version:
            return cached[1]
        tokens = self._cipher.decrypt(pk, record.tokens_ciphertext)
        with self._lock:
            self._decrypted[pk] = (record.token_version, tokens)
        return tokens

    def _access_token(self, record: StoredConnection, tokens: StoredTokens | None = None) -> AccessToken:
        tokens = tokens or self._tokens(record)
        c = record.connection
        return AccessToken(
            tokens.access_token, record.token_version, c.api_base, c.region, c.access_token_expires_at, c.scopes, c.key
        )

    def _refresh(self, record: StoredConnection, owner: str) -> AccessToken:
        key = record.key
        try:
            current = self._tokens(record)
            new = self._token_endpoint.refresh(current.refresh_token)
        except InvalidGrant:
            self._store.mark_needs_reauthorization(key, owner=owner, reason="invalid_grant on refresh")
            raise NeedsReauthorization(f"{key}: PagerDuty refused the refresh token (invalid_grant)") from None
        except LayerError as error:
            self._store.release_lease(key, owner=owner)
            if record.connection.access_token_expires_at > self._clock():
                return self._access_token(record)  # not expired yet: use it, refresh next time
            raise TokenRefreshFailed(f"{key}: {error.described}", error) from None
        tokens = StoredTokens(new.access_token, new.refresh_token)
        try:
            version = self._store.store_refreshed(
                key, version=record.token_version, owner=owner, tokens=tokens, expires_at=new.expires_at, scope=new.scope
            )
        except LayerError as error:
            # The window described above: PagerDuty rotated, we could not write.
            self._store.release_lease(key, owner=owner)
            raise TokenRefreshFailed(f"{key}: refreshed but not stored: {error.described}", error) from None
        with self._lock:
            self._decrypted[key.pk] = (version, tokens)
        c = record.connection
        return AccessToken(tokens.access_token, version, c.api_base, c.region, new.expires_at, new.scope or c.scopes, key)


def resolve_key(
    store: ConnectionStore, key: ConnectionKey | str | None = None, *, app_user_id: str = "", account_id: str = ""
) -> ConnectionKey:
    """The connection meant by a key, or by the builder's app user (one GSI Query, no scan)."""
    if key is not None:
        return ConnectionKey.parse(key) if isinstance(key, str) else key
    if not app_user_id:
        raise ValueError("give a connection key or an app_user_id")
    found = [c.key for c in store.find_by_app_user(app_user_id) if not account_id or c.key.account_id == account_id]
    if not found:
        raise ConnectionNotFound(f"app user {app_user_id}")
    if len(found) > 1:
        raise AmbiguousConnection(f"app user {app_user_id} has {len(found)} connections: {', '.join(map(str, found))}")
    return found[0]


def get_access_token(key: ConnectionKey | str | None = None, *, app_user_id: str = "", account_id: str = "") -> str:
    """A valid access token, refreshed first if it is about to expire.

    Name the connection by `key` ("ACCOUNT_ID/USER_ID[/APP_USER_ID]" or a ConnectionKey), or by
    `app_user_id` (your own user, from a linked flow; add `account_id` if they connected several).
    Raises ConnectionNotFound, AmbiguousConnection, NeedsReauthorization or TokenRefreshFailed."""
    tokens = process_container().token_source
    return tokens.get(tokens.resolve(key, app_user_id=app_user_id, account_id=account_id)).token
