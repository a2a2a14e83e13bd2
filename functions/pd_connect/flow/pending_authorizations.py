"""Pending authorizations: what /authorize remembers until /callback, server-side in DynamoDB.

`issue()` stores a new one and returns its `state`; `consume(state, binding)` takes it exactly once.
The item is keyed by SHA-256 of the state (the table never holds a usable state value) and
expires by TTL after ten minutes. Consumption is one conditional DeleteItem, so two concurrent
callbacks with the same state cannot both proceed (unlike get-then-delete).
"""

import hashlib
import secrets
import time

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.flow import browser_binding
from pd_connect.flow.failures import ConnectFailure, Reason
from pd_connect.platform.aws_clients import error_code as _code
from pd_connect.platform.records import Record
from pd_connect.vault.item_codec import from_item, to_item

LIFETIME_SECONDS = 600
# Compared with a stored binding hash when the browser sent no usable cookie: it matches none, so
# the conditional delete removes nothing and only hands back the item, to say why it failed.
_NO_BINDING = "none"


class PendingAuthorization(Record):
    code_verifier: str
    redirect_uri: str
    expires_at: int
    app_user_id: str = ""  # set when a link token started the flow
    return_to: str = ""  # a validated path on the allow-listed origin
    started_on: str = ""  # the host name /authorize was reached on ("" for items from before)

    _redacted = ("code_verifier",)  # it redeems the code: never in a log line or a traceback


def _key(state: str) -> dict:
    digest = hashlib.sha256(state.encode("utf-8")).hexdigest()
    return to_item({"pk": f"pending#{digest}"})


def new_state() -> str:
    return secrets.token_urlsafe(32)  # 256 bits; RFC 9700 asks for unguessable


class PendingAuthorizationStore:
    def __init__(self, client, table_name: str, clock=time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def issue(
        self,
        *,
        code_verifier: str,
        redirect_uri: str,
        binding: str,
        app_user_id: str = "",
        return_to: str = "",
        started_on: str = "",
    ) -> str:
        """Store a pending authorization bound to `binding`; return its fresh state value.
        `started_on`: the host the flow started on (the cookie lives there), to explain a callback
        that arrives on another host."""
        state = new_state()
        expires_at = int(self._clock()) + LIFETIME_SECONDS
        values = {
            "kind": "pending",
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
            "binding_hash": browser_binding.binding_hash(binding),
            "expires_at": expires_at,
        }
        if app_user_id:
            # Not "app_user_id": that attribute feeds the by_app_user index of connections.
            values["link_app_user_id"] = app_user_id
        if return_to:
            values["return_to"] = return_to
        if started_on:
            values["started_on"] = started_on
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**_key(state), **to_item(values)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as error:
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb put pending: {_code(error)}") from None
        return state

    def consume(self, state: str, binding: str | None, *, host: str = "") -> PendingAuthorization:
        """Take the pending authorization for `state` if it exists, is unexpired and belongs to
        this browser; after this no one else can. Raises ConnectFailure with the precise reason
        (`host`: where the callback arrived, compared with where the flow started)."""
        # No (or a tampered) cookie matches nothing, so nothing is consumed; the failed condition
        # still says whether the state exists (unknown vs another browser or host).
        well_formed = browser_binding.is_well_formed(binding)
        binding_hash = browser_binding.binding_hash(binding) if well_formed else _NO_BINDING
        now = int(self._clock())
        try:
            result = self._client.delete_item(
                TableName=self._table,
                Key=_key(state),
                ConditionExpression="attribute_exists(pk) AND binding_hash = :binding AND expires_at > :now",
                ExpressionAttributeValues={
                    ":binding": {"S": binding_hash},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise self._why_not_consumed(error.response.get("Item"), binding if well_formed else None, host) from None
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb consume: {_code(error)}") from None
        except BotoCoreError as error:
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb consume: {type(error).__name__}") from None
        item = from_item(result["Attributes"])
        return PendingAuthorization(
            code_verifier=item["code_verifier"],
            redirect_uri=item["redirect_uri"],
            expires_at=item["expires_at"],
            app_user_id=item.get("link_app_user_id", ""),
            return_to=item.get("return_to", ""),
            started_on=item.get("started_on", ""),
        )

    @staticmethod
    def _why_not_consumed(item: dict | None, binding: str | None, host: str) -> ConnectFailure:
        if not item:
            return ConnectFailure(Reason.STATE_UNKNOWN, "no pending authorization for this state")
        stored = from_item(item)
        started_on = stored.get("started_on", "")
        if started_on and host and started_on != host:
            # Host names are not secrets; they tell the operator which address to use.
            return ConnectFailure(Reason.STATE_OTHER_HOST, f"flow started on {started_on}, callback on {host}")
        if binding is None:
            return ConnectFailure(Reason.STATE_OTHER_BROWSER, "binding cookie missing or malformed")
        if not browser_binding.matches(binding, stored.get("binding_hash", "")):
            return ConnectFailure(Reason.STATE_OTHER_BROWSER, "binding cookie does not match")
        # DynamoDB's TTL deletes lazily (up to days later), so expiry is checked here too.
        return ConnectFailure(Reason.STATE_EXPIRED, "pending authorization expired")

