"""Spends a link token's `jti` (its nonce) exactly once (a conditional PutItem), so a link cannot be replayed."""

from __future__ import annotations

import hashlib

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.flow.failures import ConnectFailure, Reason
from pd_connect.flow.links import Link
from pd_connect.platform.aws_clients import error_code
from pd_connect.vault.item_codec import to_item


class LinkNonceStore:
    def __init__(self, client, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def spend(self, link: Link) -> None:
        digest = hashlib.sha256(link.jti.encode("ascii")).hexdigest()
        try:
            self._client.put_item(
                TableName=self._table,
                # Kept a minute past the link's own expiry.
                Item=to_item({"pk": f"linknonce#{digest}", "kind": "link_nonce", "expires_at": link.expires_at + 60}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ConnectFailure(Reason.LINK_USED, "link nonce already spent") from None
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb spend nonce: {error_code(error)}") from None
        except BotoCoreError as error:
            raise ConnectFailure(Reason.DEPENDENCY_DOWN, f"dynamodb spend nonce: {type(error).__name__}") from None
