"""Tokens at rest: KMS-encrypted, bound to their record, never in plaintext in the table."""

import pytest
from pd_connect.flow.failures import Reason, failure_for
from pd_connect.vault.connections import Connection, ConnectionKey, ConnectionStore
from pd_connect.vault.errors import StoreUnavailable, TokensUnreadable, VaultError
from pd_connect.vault.token_cipher import StoredTokens, TokenCipher

from .conftest import scan_all

TOKENS = StoredTokens("pdus+_0access-secret", "pdus+_1refresh-secret")


def connection(account="PACCT", user="PUSER", name="Ada Lovelace", expires=2_000_000):
    return Connection(
        key=ConnectionKey(account, user), user_name=name, user_email="ada@example.com", subdomain="acme", region="US",
        api_base="https://api.pagerduty.com", scopes="openid read", access_token_expires_at=expires, profile_loaded=True,
    )


@pytest.fixture
def cipher(aws):
    return TokenCipher(aws.kms, aws.key_id)


def test_encrypt_then_decrypt_under_the_same_record(cipher):
    blob = cipher.encrypt("connection#A#U", TOKENS)
    assert cipher.decrypt("connection#A#U", blob) == TOKENS


def test_a_ciphertext_copied_to_another_record_does_not_decrypt(cipher):
    blob = cipher.encrypt("connection#A#U", TOKENS)
    with pytest.raises(TokensUnreadable) as failure:
        cipher.decrypt("connection#A#OTHER", blob)
    assert failure_for(failure.value).reason is Reason.STORED_TOKENS_UNREADABLE  # its own reason, not an outage


def test_a_ciphertext_made_under_another_kms_key_is_refused(aws, cipher):
    other_key = aws.kms.create_key(Description="someone else's key")["KeyMetadata"]["KeyId"]
    foreign = TokenCipher(aws.kms, other_key).encrypt("connection#A#U", StoredTokens("pdus+_0x-access", "pdus+_1x-refresh"))

    with pytest.raises(VaultError):
        cipher.decrypt("connection#A#U", foreign)


def test_no_token_in_plaintext_anywhere_in_the_table(aws, cipher):
    ConnectionStore(aws.dynamodb, aws.table_name, cipher).save(connection(), TOKENS)
    dump = repr(scan_all(aws))
    assert "access-secret" not in dump and "refresh-secret" not in dump and "pdus+" not in dump


def test_stored_record_holds_the_profile_and_expiry(aws, cipher):
    ConnectionStore(aws.dynamodb, aws.table_name, cipher).save(connection(), TOKENS)
    (item,) = scan_all(aws)
    assert item["pk"]["S"] == "connection#PACCT#PUSER"
    assert {k: item[k]["S"] for k in ("account_id", "user_id", "user_name", "user_email", "subdomain", "region", "api_base", "scopes")} == {
        "account_id": "PACCT", "user_id": "PUSER", "user_name": "Ada Lovelace", "user_email": "ada@example.com",
        "subdomain": "acme", "region": "US", "api_base": "https://api.pagerduty.com", "scopes": "openid read",
    }
    assert item["access_token_expires_at"]["N"] == "2000000"
    assert cipher.decrypt("connection#PACCT#PUSER", item["tokens"]["B"]) == TOKENS


def test_reconnecting_replaces_tokens_keeps_created_at_and_makes_no_duplicate(aws, cipher):
    times = iter([1_000_000, 2_000_000])
    store = ConnectionStore(aws.dynamodb, aws.table_name, cipher, clock=lambda: next(times))
    store.save(connection(name="Ada"), TOKENS)
    newer = StoredTokens("pdus+_0new", "pdus+_1new")
    store.save(connection(name="Ada L."), newer)
    (item,) = scan_all(aws)
    assert item["user_name"]["S"] == "Ada L."
    assert item["created_at"]["S"].startswith("1970-01-12") and item["updated_at"]["S"].startswith("1970-01-24")
    assert item["token_version"]["N"] == "2"
    assert cipher.decrypt(item["pk"]["S"], item["tokens"]["B"]) == newer


def test_kms_failure_is_a_dependency_failure_and_stores_nothing(aws):
    store = ConnectionStore(aws.dynamodb, aws.table_name, TokenCipher(aws.kms, "arn:aws:kms:us-east-1:123456789012:key/missing"))
    with pytest.raises(StoreUnavailable) as failure:
        store.save(connection(), TOKENS)
    assert failure_for(failure.value).reason is Reason.DEPENDENCY_DOWN
    assert scan_all(aws) == []


def test_connection_key_parses_what_it_prints():
    key = ConnectionKey("PACCT", "PUSER")
    assert ConnectionKey.parse(str(key)) == key == ConnectionKey.parse(key.pk)
    with pytest.raises(ValueError):
        ConnectionKey.parse("nonsense")
