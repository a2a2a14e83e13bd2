"""Linked-flow connections waiting for the builder's backend to confirm them.

The callback of a linked flow stores the connection here, not as a connection: an item of kind
`unconfirmed_connection`, keyed by SHA-256 of the result's jti, expiring by TTL (`expires_at`)
with the result. It carries no `app_user_id` (so it is never in the by_app_user index) and
`find()` reads only kind `connection`, so no token reader can return it. Its tokens are already
encrypted under the final connection record's context, so confirming needs no KMS call: one
TransactWriteItems deletes this item (only if it still exists and is unexpired: single use) and
writes the connection with `confirmed_at`.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.platform.aws_clients import error_code as _code
from pd_connect.vault.connections import Connection, ConnectionKey, connection_item
from pd_connect.vault.errors import StoreUnavailable
from pd_connect.vault.item_codec import Attributes, to_item
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

KIND = "unconfirmed_connection"
# Attributes of the unconfirmed item that the confirmed connection does not carry.
_UNCONFIRMED_ONLY = ("link_app_user_id", "connection_pk", "expires_at")
# What confirming checks; the rest of the item is copied to the connection as stored.
_UNCONFIRMED = Attributes(kind="", connection_pk="", link_app_user_id="", expires_at=0)


def unconfirmed_key(result_id: str) -> dict:
    digest = hashlib.sha256(result_id.encode("ascii")).hexdigest()
    return to_item({"pk": f"unconfirmed#{digest}"})


def _iso(epoch: float, timespec: str = "seconds") -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec=timespec)


class UnconfirmedConnectionStore:
    def __init__(self, client, table_name: str, cipher: TokenCipher | None = None, clock=time.time) -> None:
        self._client = client
        self._table = table_name
        self._cipher = cipher  # only the callback encrypts; confirming copies the ciphertext
        self._clock = clock

    def save(self, connection: Connection, tokens: StoredTokens, *, result_id: str, expires_at: int) -> None:
        if self._cipher is None:
            raise RuntimeError("saving an unconfirmed connection needs the token cipher")
        key = connection.key
        moment = self._clock()
        item = connection_item(
            connection, self._cipher.encrypt(key.pk, tokens), now=_iso(moment), authorized_at=_iso(moment, "milliseconds")
        )
        del item["app_user_id"]  # never in the by_app_user index
        del item["account_id"]  # nor in the connections index (the key's account is in connection_pk)
        unconfirmed = {
            "kind": KIND,
            "link_app_user_id": key.app_user_id,
            "connection_pk": key.pk,
            "expires_at": expires_at,
        }
        item.update(unconfirmed_key(result_id), **to_item(unconfirmed))
        self._call("put_item", TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def confirm(self, result_id: str, key: ConnectionKey) -> bool:
        """Turn the unconfirmed connection into `key`'s connection, once. False when there is none
        for this result and key (already confirmed, discarded, expired, or never stored)."""
        now = int(self._clock())
        found = self._call("get_item", TableName=self._table, Key=unconfirmed_key(result_id), ConsistentRead=True)
        item = found.get("Item") or {}
        stored = _UNCONFIRMED.read(item)
        if (
            stored["kind"] != KIND
            or stored["connection_pk"] != key.pk
            or stored["link_app_user_id"] != key.app_user_id
            or stored["expires_at"] <= now
        ):
            return False
        confirmed = {name: value for name, value in item.items() if name not in _UNCONFIRMED_ONLY}
        stamp = _iso(now)
        confirmed.update(
            to_item(
                {
                    "pk": key.pk,
                    "kind": "connection",
                    "account_id": key.account_id,
                    "app_user_id": key.app_user_id,
                    "confirmed_at": stamp,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "token_version": 1,
                }
            )
        )
        return self._replace_connection(confirmed, result_id, now)

    def discard(self, result_id: str) -> bool:
        """Delete the unconfirmed connection; True if there was one."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=unconfirmed_key(result_id),
                ConditionExpression="attribute_exists(pk) AND kind = :kind",
                ExpressionAttributeValues={":kind": {"S": KIND}},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise StoreUnavailable(f"dynamodb discard unconfirmed: {_code(error)}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"dynamodb discard unconfirmed: {type(error).__name__}") from None
        return True

    def _replace_connection(self, item: dict, result_id: str, now: int) -> bool:
        """One transaction: delete the unconfirmed item (if still there and unexpired) and put the
        connection (new, or replacing the version we saw, keeping its created_at)."""
        for _ in range(3):
            old = self._call("get_item", TableName=self._table, Key={"pk": item["pk"]}, ConsistentRead=True).get("Item")
            put = {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
            if old:
                item["created_at"] = old.get("created_at", item["created_at"])
                if "token_version" in old:
                    seen = old["token_version"]["N"]
                    item["token_version"] = {"N": str(int(seen) + 1)}
                    put.update(ConditionExpression="token_version = :seen", ExpressionAttributeValues={":seen": {"N": seen}})
                else:
                    put["ConditionExpression"] = "attribute_exists(pk) AND attribute_not_exists(token_version)"
            delete = {
                "TableName": self._table,
                "Key": unconfirmed_key(result_id),
                "ConditionExpression": "attribute_exists(pk) AND expires_at > :now",
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }
            try:
                self._client.transact_write_items(TransactItems=[{"Delete": delete}, {"Put": put}])
                return True
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise StoreUnavailable(f"dynamodb confirm: {_code(error)}") from None
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    return False  # confirmed or discarded by someone else just now
                if reasons[1:2] != ["ConditionalCheckFailed"]:
                    raise StoreUnavailable(f"dynamodb confirm: cancelled {reasons}") from None
                # the connection changed under us (a refresh, a reconnect): read it again
            except BotoCoreError as error:
                raise StoreUnavailable(f"dynamodb confirm: {type(error).__name__}") from None
        raise StoreUnavailable("dynamodb confirm: kept conflicting")

    def _call(self, operation: str, **request):
        try:
            return getattr(self._client, operation)(**request)
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"dynamodb {operation} unconfirmed: {_code(error)}") from None
