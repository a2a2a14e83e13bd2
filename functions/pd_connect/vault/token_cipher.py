"""Encrypts a connection's tokens with KMS, bound to the record they belong to.

Both tokens go in one ciphertext (one KMS call per connect or refresh; they are far below KMS's
4 KB limit). The encryption context names the record, so a ciphertext copied onto another
record fails to decrypt there, and CloudTrail shows which record each decrypt was for.
"""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.platform.aws_clients import error_code as _code
from pd_connect.platform.records import Record
from pd_connect.vault.errors import StoreUnavailable, TokensUnreadable

PURPOSE = "pagerduty-oauth-tokens"
# KMS's answers for a ciphertext that does not match this record's context or our key.
_NOT_THIS_RECORDS = ("InvalidCiphertextException", "IncorrectKeyException")


class StoredTokens(Record):
    """A connection's tokens in plaintext. A Record: its repr never shows them."""

    access_token: str
    refresh_token: str
    _redacted = ("access_token", "refresh_token")


def encryption_context(record_key: str) -> dict[str, str]:
    return {"purpose": PURPOSE, "record": record_key}


class TokenCipher:
    def __init__(self, kms_client, key_id: str) -> None:
        self._kms = kms_client
        self._key_id = key_id

    def encrypt(self, record_key: str, tokens: StoredTokens) -> bytes:
        plaintext = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})
        try:
            result = self._kms.encrypt(
                KeyId=self._key_id,
                Plaintext=plaintext.encode("utf-8"),
                EncryptionContext=encryption_context(record_key),
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"kms encrypt: {_code(error)}") from None
        return result["CiphertextBlob"]

    def decrypt(self, record_key: str, ciphertext: bytes) -> StoredTokens:
        try:
            result = self._kms.decrypt(
                CiphertextBlob=ciphertext,
                EncryptionContext=encryption_context(record_key),
                KeyId=self._key_id,  # refuse ciphertexts made under any other key
            )
        except ClientError as error:
            if _code(error) in _NOT_THIS_RECORDS:
                # KMS is up; the ciphertext belongs to another record or key (copied, tampered).
                raise TokensUnreadable(f"kms decrypt: {_code(error)}") from None
            raise StoreUnavailable(f"kms decrypt: {_code(error)}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"kms decrypt: {_code(error)}") from None
        data = json.loads(result["Plaintext"])
        return StoredTokens(access_token=data["access_token"], refresh_token=data["refresh_token"])

