"""Connections: one per PagerDuty account + user, holding the profile and the encrypted tokens.

Reconnecting replaces the tokens in the same record (never a duplicate) and keeps `created_at`.
Tokens are never stored in plaintext: `tokens` is a KMS ciphertext bound to the record's key.
Every token change bumps `token_version`; refreshes are serialised by a short lease on the record
(conditional writes), see access_tokens.py.
"""

import re
import time
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.platform.aws_clients import error_code as _code
from pd_connect.platform.records import Record
from pd_connect.vault.errors import StoreUnavailable
from pd_connect.vault.item_codec import Attributes, from_item, to_item
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

# What each part of a key may hold, checked whenever a key is built: none can contain "#" or
# "/", so `pk` and `str()` are unambiguous by construction (a user id "PADA001#app#victim" is
# refused, never stored over app user victim's record). PagerDuty ids are short upper-case
# alphanumerics (PXPGF42); without an account_id claim the subdomain stands in for the account.
ACCOUNT_ID = re.compile(r"[A-Z0-9]{1,32}|[a-z0-9][a-z0-9-]{0,62}")
USER_ID = re.compile(r"[A-Z0-9]{1,32}")
APP_USER_ID = re.compile(r"[A-Za-z0-9._:@+=|-]{1,128}")  # as links.APP_USER_ID


class ConnectionKey(Record):
    """PagerDuty account + user, and the builder's app user when a link token started the flow
    (two app users connecting the same PagerDuty user hold two separate grants). Checked in
    __init__, so `_replace` checks its copy too."""

    account_id: str
    user_id: str
    app_user_id: str = ""

    def __init__(self, account_id: str, user_id: str, app_user_id: str = "") -> None:
        if not (
            isinstance(account_id, str)
            and ACCOUNT_ID.fullmatch(account_id)
            and isinstance(user_id, str)
            and USER_ID.fullmatch(user_id)
            and isinstance(app_user_id, str)
            and (app_user_id == "" or APP_USER_ID.fullmatch(app_user_id))
        ):
            raise ValueError("not a valid connection key (PagerDuty account and user ids, app user id)")
        super().__init__(account_id, user_id, app_user_id)

    @property
    def pk(self) -> str:
        base = f"connection#{self.account_id}#{self.user_id}"
        return f"{base}#app#{self.app_user_id}" if self.app_user_id else base

    @classmethod
    def parse(cls, text: str) -> "ConnectionKey":
        """Accepts what `str()` and `pk` give: `ACCOUNT/USER[/APP_USER]` or `connection#...`."""
        if text.startswith("connection#"):
            parts = text.removeprefix("connection#").split("#")
            if len(parts) == 4 and parts[2] == "app":
                parts = [parts[0], parts[1], parts[3]]
        else:
            parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"not a connection key: {text!r} (expected ACCOUNT_ID/USER_ID[/APP_USER_ID])")
        try:
            return cls(*parts)
        except ValueError:
            raise ValueError(f"not a connection key: {text!r} (expected ACCOUNT_ID/USER_ID[/APP_USER_ID])") from None

    def __str__(self) -> str:
        base = f"{self.account_id}/{self.user_id}"
        return f"{base}/{self.app_user_id}" if self.app_user_id else base


class Connection(Record):
    key: ConnectionKey
    user_name: str
    user_email: str
    subdomain: str
    region: str
    api_base: str
    scopes: str
    access_token_expires_at: int
    profile_loaded: bool  # False when /users/me failed and only the id_token was known


class StoredConnection(Record):
    """A connection as stored, with what token refresh and operators need to see."""

    connection: Connection
    token_version: int
    tokens_ciphertext: bytes
    needs_reauthorization: bool
    reauthorization_reason: str
    refresh_lease_until: int
    created_at: str
    updated_at: str

    @property
    def key(self) -> ConnectionKey:
        return self.connection.key

    def summary(self) -> dict:
        """Everything an operator may see: never the tokens."""
        shown = {name: value for name, value in _attribute_values(self).items() if name not in _NOT_IN_SUMMARY}
        return {"key": str(self.key), **shown}


# A connection item's attributes (besides pk and kind), each with what an item lacking it reads as
# (items from before the attribute existed). Named as the fields they fill, "tokens" filling
# tokens_ciphertext. The writer, the reader, the operator summary and the listing derive from it.
ATTRIBUTES = Attributes(
    account_id="", user_id="", app_user_id="",
    user_name="", user_email="", subdomain="", region="US", api_base="", scopes="", access_token_expires_at=0,
    profile_loaded=True, needs_reauthorization=False, reauthorization_reason="", refresh_lease_until=0, token_version=1,
    tokens=b"", created_at="", updated_at="",
)
_NOT_LISTED = ("tokens",)  # an operator never reads the ciphertext
_NOT_IN_SUMMARY = _NOT_LISTED + ("refresh_lease_until",)  # the lease is the refresh's own business
# Set by later updates (mark_needs_reauthorization, try_lease), never by the writer.
_NOT_WRITTEN = ("reauthorization_reason", "refresh_lease_until")
_KEY_FIELDS = ("account_id", "user_id", "app_user_id")
_CONNECTION_FIELDS = tuple(name for name in Connection._fields if name != "key")
_RECORD_FIELDS = tuple(name for name in StoredConnection._fields if name not in ("connection", "tokens_ciphertext"))


def _attribute_values(record: StoredConnection) -> dict:
    """The record's value for every attribute of ATTRIBUTES."""
    return {
        **{name: getattr(record.key, name) for name in _KEY_FIELDS},
        **{name: getattr(record.connection, name) for name in _CONNECTION_FIELDS},
        **{name: getattr(record, name) for name in _RECORD_FIELDS},
        "tokens": record.tokens_ciphertext,
    }


def stored_connection_from_item(item: dict) -> StoredConnection:
    values = ATTRIBUTES.read(item)
    key = ConnectionKey(*(values.pop(name) for name in _KEY_FIELDS))
    connection = Connection(key, **{name: values.pop(name) for name in _CONNECTION_FIELDS})
    return StoredConnection(connection, tokens_ciphertext=values.pop("tokens"), **values)


# Attributes an operator listing reads: never the token ciphertext. Aliased, as several
# (region, kind, ...) are DynamoDB reserved words. The connections index projects exactly these.
SUMMARY_ATTRIBUTES = ("pk", "kind", *(name for name in ATTRIBUTES.names if name not in _NOT_LISTED))
_SUMMARY_NAMES = {f"#a{i}": name for i, name in enumerate(SUMMARY_ATTRIBUTES)}


BY_APP_USER_INDEX = "by_app_user"  # template.yaml: hash app_user_id, range pk, projection ALL
# template.yaml: hash account_id, range pk. Sparse: only connection items carry account_id (not
# pending authorizations, spent link nonces or unconfirmed connections), so listing reads nothing else.
CONNECTIONS_INDEX = "connections"


def _index_cursor(pk: str) -> dict:
    """The connections index's ExclusiveStartKey for the item `pk` (its index key is account + pk)."""
    return to_item({"pk": pk, "account_id": ConnectionKey.parse(pk).account_id})


def _iso(epoch: float, timespec: str = "seconds") -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec=timespec)


def _now_iso(clock) -> str:
    return _iso(clock())


def connection_item(connection: Connection, tokens_ciphertext: bytes, *, now: str, authorized_at: str = "") -> dict:
    """The stored item of a newly authorized connection (one field list for every writer).
    `authorized_at`: when the user authorized it (the callback's time); a refresh never changes it."""
    record = StoredConnection(
        connection,
        token_version=1,
        tokens_ciphertext=tokens_ciphertext,
        needs_reauthorization=False,
        reauthorization_reason="",
        refresh_lease_until=0,
        created_at=now,
        updated_at=now,
    )
    values = {name: value for name, value in _attribute_values(record).items() if name not in _NOT_WRITTEN}
    if not connection.key.app_user_id:
        del values["app_user_id"]  # only linked connections feed the by_app_user index
    return to_item({"pk": connection.key.pk, "kind": "connection", **values, "authorized_at": authorized_at or now})


class ConnectionStore:
    def __init__(self, client, table_name: str, cipher: TokenCipher, clock=time.time) -> None:
        self._client = client
        self._table = table_name
        self._cipher = cipher
        self._clock = clock

    def save(self, connection: Connection, tokens: StoredTokens) -> None:
        """Create or replace the connection with fresh tokens, keeping its created_at."""
        moment = self._clock()
        # authorized_at in milliseconds: two authorizations of one user within a second are still
        # told apart (the lifecycle events compare it); a refresh never changes it.
        item = connection_item(
            connection,
            self._cipher.encrypt(connection.key.pk, tokens),
            now=_iso(moment),
            authorized_at=_iso(moment, timespec="milliseconds"),
        )
        # PutItem only (the callback's grant): first try as new; if the record exists, replace it
        # conditioned on the version we saw, so a concurrent refresh is never silently undone.
        condition, values = "attribute_not_exists(pk)", None
        for _ in range(3):
            try:
                self._put(item, condition, values)
                return
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
                    raise StoreUnavailable(f"dynamodb put connection: {_code(error)}") from None
                old = error.response.get("Item")
                if not old:
                    condition, values = "attribute_not_exists(pk)", None
                    continue
                item["created_at"] = old.get("created_at", item["created_at"])
                if "token_version" in old:
                    version = old["token_version"]["N"]
                    item["token_version"] = {"N": str(int(version) + 1)}
                    condition, values = "token_version = :seen", {":seen": {"N": version}}
                else:
                    condition, values = "attribute_exists(pk) AND attribute_not_exists(token_version)", None
        raise StoreUnavailable("dynamodb put connection: kept conflicting")

    # --- reading -------------------------------------------------------------------------------

    def find(self, key: ConnectionKey) -> StoredConnection | None:
        """One GetItem by key (strongly consistent: a refresh may have just written)."""
        result = self._call("get_item", TableName=self._table, Key={"pk": {"S": key.pk}}, ConsistentRead=True)
        item = result.get("Item")
        return stored_connection_from_item(item) if item and item.get("kind") == {"S": "connection"} else None

    def list_page(self, *, limit: int = 50, after: str | None = None) -> tuple[list[StoredConnection], str | None]:
        """One page of connections (never their tokens) and the cursor for the next page.

        Listing is an operator action over every connection, so it pages through a Scan of the
        sparse connections index: pending authorizations (one per anonymous /authorize, however
        many a flood made) are never read. Every lookup of one connection is a GetItem by key."""
        request = {
            "TableName": self._table,
            "IndexName": CONNECTIONS_INDEX,
            "Limit": limit,
            "FilterExpression": "#a1 = :connection",
            "ProjectionExpression": ", ".join(_SUMMARY_NAMES),
            "ExpressionAttributeNames": _SUMMARY_NAMES,
            "ExpressionAttributeValues": {":connection": {"S": "connection"}},
        }
        if after:
            request["ExclusiveStartKey"] = _index_cursor(after)
        result = self._call("scan", **request)
        items = [stored_connection_from_item(item) for item in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return items, (from_item(last)["pk"] if last else None)

    def find_by_app_user(self, app_user_id: str) -> list[StoredConnection]:
        """Every connection of one app user: a Query on the sparse by_app_user index, no scan."""
        request = {
            "TableName": self._table,
            "IndexName": BY_APP_USER_INDEX,
            "KeyConditionExpression": "app_user_id = :user",
            "ExpressionAttributeValues": {":user": {"S": app_user_id}},
        }
        found = []
        while True:
            result = self._call("query", **request)
            found.extend(stored_connection_from_item(item) for item in result.get("Items", []))
            if "LastEvaluatedKey" not in result:
                return found
            request["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    # --- changing --------------------------------------------------------------------------------

    def delete(self, key: ConnectionKey) -> bool:
        """Delete the connection; True if there was one."""
        result = self._call(
            "delete_item",
            TableName=self._table,
            Key={"pk": {"S": key.pk}},
            ConditionExpression="attribute_exists(pk)",
            conditional_ok=True,
        )
        return result is not None

    def try_lease(self, key: ConnectionKey, *, version: int, owner: str, seconds: int) -> bool:
        """Take the refresh lease if the tokens are still at `version` and no live lease exists."""
        now = int(self._clock())
        result = self._call(
            "update_item",
            TableName=self._table,
            Key={"pk": {"S": key.pk}},
            UpdateExpression="SET refresh_lease_until = :until, refresh_lease_owner = :owner",
            ConditionExpression=(
                "token_version = :version AND needs_reauthorization = :false "
                "AND (attribute_not_exists(refresh_lease_until) OR refresh_lease_until < :now)"
            ),
            ExpressionAttributeValues={
                ":until": {"N": str(now + seconds)},
                ":owner": {"S": owner},
                ":version": {"N": str(version)},
                ":now": {"N": str(now)},
                ":false": {"BOOL": False},
            },
            conditional_ok=True,
        )
        return result is not None

    def store_refreshed(self, key: ConnectionKey, *, version: int, owner: str, tokens: StoredTokens, expires_at: int, scope: str) -> int:
        """Write refreshed tokens under our lease; returns the new token_version."""
        new_version = version + 1
        values = {
            ":tokens": {"B": self._cipher.encrypt(key.pk, tokens)},
            ":expires": {"N": str(expires_at)},
            ":new_version": {"N": str(new_version)},
            ":version": {"N": str(version)},
            ":owner": {"S": owner},
            ":now": {"S": _now_iso(self._clock)},
        }
        expression = "SET #tokens = :tokens, access_token_expires_at = :expires, token_version = :new_version, updated_at = :now"
        if scope:
            expression += ", scopes = :scope"
            values[":scope"] = {"S": scope}
        result = self._call(
            "update_item",
            TableName=self._table,
            Key={"pk": {"S": key.pk}},
            UpdateExpression=expression + " REMOVE refresh_lease_until, refresh_lease_owner",
            ConditionExpression="token_version = :version AND refresh_lease_owner = :owner",
            ExpressionAttributeNames={"#tokens": "tokens"},
            ExpressionAttributeValues=values,
            conditional_ok=True,
        )
        if result is None:
            # Only possible if our lease lapsed and someone else refreshed: PagerDuty's answer
            # to us is then for an already-rotated token. Say so; the caller re-reads.
            raise StoreUnavailable("refresh lease lost before the write")
        return new_version

    def release_lease(self, key: ConnectionKey, *, owner: str) -> None:
        self._call(
            "update_item",
            TableName=self._table,
            Key={"pk": {"S": key.pk}},
            UpdateExpression="REMOVE refresh_lease_until, refresh_lease_owner",
            ConditionExpression="refresh_lease_owner = :owner",
            ExpressionAttributeValues={":owner": {"S": owner}},
            conditional_ok=True,
        )

    def mark_needs_reauthorization(self, key: ConnectionKey, *, owner: str, reason: str) -> None:
        """PagerDuty refused the refresh token: keep the record, flag it for the user to reconnect."""
        self._call(
            "update_item",
            TableName=self._table,
            Key={"pk": {"S": key.pk}},
            UpdateExpression=(
                "SET needs_reauthorization = :true, reauthorization_reason = :reason, updated_at = :now "
                "REMOVE refresh_lease_until, refresh_lease_owner"
            ),
            ConditionExpression="refresh_lease_owner = :owner",
            ExpressionAttributeValues={
                ":true": {"BOOL": True},
                ":reason": {"S": reason},
                ":owner": {"S": owner},
                ":now": {"S": _now_iso(self._clock)},
            },
            conditional_ok=True,
        )

    def _call(self, operation: str, *, conditional_ok: bool = False, **request):
        """Run one DynamoDB call; None when `conditional_ok` and the condition failed."""
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            if conditional_ok and _code(error) == "ConditionalCheckFailedException":
                return None
            raise StoreUnavailable(f"dynamodb {operation}: {_code(error)}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"dynamodb {operation}: {type(error).__name__}") from None

    def _put(self, item: dict, condition: str, values: dict | None) -> None:
        request = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._client.put_item(**request)
        except BotoCoreError as error:
            raise StoreUnavailable(f"dynamodb put connection: {type(error).__name__}") from None

