"""Connections: one per PagerDuty account + user, holding the profile and the encrypted tokens.

Reconnecting replaces the tokens in the same record (never a duplicate) and keeps `created_at`.
Tokens are never stored in plaintext: `tokens` is a KMS ciphertext bound to the record's key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from .aws_clients import error_code as _code
from .failures import ConnectFailure, Reason
from .token_cipher import StoredTokens, TokenCipher


@dataclass(frozen=True)
class ConnectionKey:
    account_id: str
    user_id: str

    @property
    def pk(self) -> str:
        return f"connection#{self.account_id}#{self.user_id}"

    @classmethod
    def parse(cls, text: str) -> "ConnectionKey":
        """Accepts `connection#ACCOUNT#USER` or `ACCOUNT/USER` (what the CLI prints)."""
        body = text.removeprefix("connection#")
        account_id, sep, user_id = body.replace("/", "#").partition("#")
        if not sep or not account_id or not user_id or "#" in user_id:
            raise ValueError(f"not a connection key: {text!r} (expected ACCOUNT_ID/USER_ID)")
        return cls(account_id, user_id)

    def __str__(self) -> str:
        return f"{self.account_id}/{self.user_id}"


@dataclass(frozen=True)
class Connection:
    key: ConnectionKey
    user_name: str
    user_email: str
    subdomain: str
    region: str
    api_base: str
    scopes: str
    access_token_expires_at: int
    profile_loaded: bool  # False when /users/me failed and only the id_token was known


def _now_iso(clock) -> str:
    return datetime.fromtimestamp(clock(), tz=timezone.utc).isoformat(timespec="seconds")


class ConnectionStore:
    def __init__(self, client, table_name: str, cipher: TokenCipher, clock=time.time) -> None:
        self._client = client
        self._table = table_name
        self._cipher = cipher
        self._clock = clock

    def save(self, connection: Connection, tokens: StoredTokens) -> None:
        """Create or replace the connection with fresh tokens, keeping its created_at."""
        pk = connection.key.pk
        now = _now_iso(self._clock)
        item = {
            "pk": {"S": pk},
            "kind": {"S": "connection"},
            "account_id": {"S": connection.key.account_id},
            "user_id": {"S": connection.key.user_id},
            "user_name": {"S": connection.user_name},
            "user_email": {"S": connection.user_email},
            "subdomain": {"S": connection.subdomain},
            "region": {"S": connection.region},
            "api_base": {"S": connection.api_base},
            "scopes": {"S": connection.scopes},
            "access_token_expires_at": {"N": str(connection.access_token_expires_at)},
            "profile_loaded": {"BOOL": connection.profile_loaded},
            "needs_reauthorization": {"BOOL": False},
            "tokens": {"B": self._cipher.encrypt(pk, tokens)},
            "created_at": {"S": now},
            "updated_at": {"S": now},
            "token_version": {"N": "1"},
        }
        # PutItem only (the callback's grant): first try as new; if the record exists, replace it
        # conditioned on the version we saw, so a concurrent refresh is never silently undone.
        condition, values = "attribute_not_exists(pk)", None
        for _ in range(3):
            try:
                self._put(item, condition, values)
                return
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
                    raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb put connection: {_code(error)}") from None
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
        raise ConnectFailure(Reason.DEPENDENCY_DOWN, "dynamodb put connection: kept conflicting")

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
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb put connection: {type(error).__name__}") from None

