"""Connection items keep their stored format: what the hand-written writer stored before the
record codec reads back the same, and the codec's writer stores exactly the same attribute map.

The items below are written out literally, as the old writer built them: they are the stored
data of every deployment so far, not something to derive from the code under test.
"""

from pd_connect.token_function.protocol import connection_summary
from pd_connect.vault.connections import (
    SUMMARY_ATTRIBUTES,
    Connection,
    ConnectionKey,
    StoredConnection,
    connection_item,
    stored_connection_from_item,
)
from pd_connect.vault.item_codec import Attributes, from_item, to_item

NOW = "2026-12-01T10:00:00+00:00"
AUTHORIZED_AT = "2026-12-01T10:00:00.123+00:00"
CIPHERTEXT = b"\x01\x02kms-ciphertext\x00\xff"
# What both summaries show of a linked connection, as they always have.
PROFILE = {
    "account_id": "PACMEUS",
    "user_id": "PADA001",
    "app_user_id": "user-42",
    "user_name": "Ada Lovelace",
    "user_email": "ada@acme.example",
    "subdomain": "acme-us",
    "region": "US",
    "api_base": "https://api.pagerduty.com",
}


def connection(app_user_id: str = "") -> Connection:
    return Connection(
        key=ConnectionKey("PACMEUS", "PADA001", app_user_id),
        user_name="Ada Lovelace",
        user_email="ada@acme.example",
        subdomain="acme-us",
        region="US",
        api_base="https://api.pagerduty.com",
        scopes="read write",
        access_token_expires_at=1796126420,
        profile_loaded=True,
    )


def old_writer_item(**extra) -> dict:
    """connection_item() as it was written by hand, for the anonymous connection above."""
    return {
        "pk": {"S": "connection#PACMEUS#PADA001"},
        "kind": {"S": "connection"},
        "account_id": {"S": "PACMEUS"},
        "user_id": {"S": "PADA001"},
        "user_name": {"S": "Ada Lovelace"},
        "user_email": {"S": "ada@acme.example"},
        "subdomain": {"S": "acme-us"},
        "region": {"S": "US"},
        "api_base": {"S": "https://api.pagerduty.com"},
        "scopes": {"S": "read write"},
        "access_token_expires_at": {"N": "1796126420"},
        "profile_loaded": {"BOOL": True},
        "needs_reauthorization": {"BOOL": False},
        "tokens": {"B": CIPHERTEXT},
        "authorized_at": {"S": AUTHORIZED_AT},
        "created_at": {"S": NOW},
        "updated_at": {"S": NOW},
        "token_version": {"N": "1"},
        **extra,
    }


def stored(app_user_id: str = "", **changes) -> StoredConnection:
    fields = dict(
        connection=connection(app_user_id),
        token_version=1,
        tokens_ciphertext=CIPHERTEXT,
        needs_reauthorization=False,
        reauthorization_reason="",
        refresh_lease_until=0,
        created_at=NOW,
        updated_at=NOW,
    )
    return StoredConnection(**{**fields, **changes})


def test_the_writer_stores_exactly_the_attribute_map_the_hand_written_writer_stored():
    assert connection_item(connection(), CIPHERTEXT, now=NOW, authorized_at=AUTHORIZED_AT) == old_writer_item()


def test_a_linked_connection_also_carries_its_app_user_and_a_callback_less_write_its_time():
    linked = old_writer_item(
        pk={"S": "connection#PACMEUS#PADA001#app#user-42"}, app_user_id={"S": "user-42"}, authorized_at={"S": NOW}
    )
    assert connection_item(connection("user-42"), CIPHERTEXT, now=NOW) == linked


def test_an_item_the_hand_written_writer_stored_reads_back_identically():
    assert stored_connection_from_item(old_writer_item()) == stored()


def test_an_item_refreshed_leased_and_flagged_reads_every_update_back():
    item = old_writer_item(
        token_version={"N": "7"},
        needs_reauthorization={"BOOL": True},
        reauthorization_reason={"S": "invalid_grant on refresh"},
        refresh_lease_until={"N": "1796126440"},
        refresh_lease_owner={"S": "abc"},
        confirmed_at={"S": NOW},
    )
    assert stored_connection_from_item(item) == stored(
        token_version=7, needs_reauthorization=True, reauthorization_reason="invalid_grant on refresh",
        refresh_lease_until=1796126440,
    )


def test_an_item_from_before_region_profile_loaded_and_token_version_reads_with_their_defaults():
    item = old_writer_item()
    for name in ("region", "profile_loaded", "token_version", "needs_reauthorization"):
        del item[name]
    record = stored_connection_from_item(item)
    assert (record.connection.region, record.connection.profile_loaded, record.token_version) == ("US", True, 1)
    assert record.needs_reauthorization is False


def test_numbers_read_back_as_int_and_binary_as_bytes():
    record = stored_connection_from_item(old_writer_item())
    assert type(record.connection.access_token_expires_at) is int and type(record.token_version) is int
    assert type(record.tokens_ciphertext) is bytes


def test_the_operator_summary_is_the_one_it_always_was():
    assert stored(app_user_id="user-42", token_version=3).summary() == {
        "key": "PACMEUS/PADA001/user-42",
        **PROFILE,
        "scopes": "read write",
        "access_token_expires_at": 1796126420,
        "profile_loaded": True,
        "needs_reauthorization": False,
        "reauthorization_reason": "",
        "token_version": 3,
        "created_at": NOW,
        "updated_at": NOW,
    }


def test_the_token_functions_connection_summary_is_the_one_it_always_was():
    summary = connection_summary(stored(app_user_id="user-42", token_version=3))
    assert summary == {
        "connection": "PACMEUS/PADA001/user-42",
        **PROFILE,
        "scopes": ["read", "write"],
        "access_token_expires_at": 1796126420,
        "needs_reauthorization": False,
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert list(summary)[0] == "connection" and list(summary)[9] == "scopes"  # the answer's field order


def test_the_listing_reads_the_same_attributes_in_the_same_order_and_never_the_tokens():
    # The order names the aliases (#a0, #a1 = kind, ...) of the listing's Scan.
    assert SUMMARY_ATTRIBUTES == (
        "pk", "kind", "account_id", "user_id", "app_user_id", "user_name", "user_email", "subdomain", "region",
        "api_base", "scopes", "access_token_expires_at", "profile_loaded", "needs_reauthorization",
        "reauthorization_reason", "refresh_lease_until", "token_version", "created_at", "updated_at",
    )


def test_the_codec_writes_dynamodbs_own_attribute_values_and_reads_them_back_plain():
    values = {"s": "text", "empty": "", "n": 1796126420, "zero": 0, "yes": True, "no": False, "b": b"\x00\xff"}
    item = to_item(values)
    assert item == {
        "s": {"S": "text"}, "empty": {"S": ""}, "n": {"N": "1796126420"}, "zero": {"N": "0"},
        "yes": {"BOOL": True}, "no": {"BOOL": False}, "b": {"B": b"\x00\xff"},
    }
    assert from_item(item) == values


def test_an_attribute_of_another_type_than_declared_reads_as_its_default():
    attributes = Attributes(name="", count=0, flag=True, blob=b"")
    item = {"name": {"N": "1"}, "count": {"BOOL": True}, "flag": {"N": "0"}, "blob": {"S": "x"}}
    assert attributes.read(item) == {"name": "", "count": 0, "flag": True, "blob": b""}


# --- the other kinds of item keep their format too --------------------------------------------


class RecordingClient:
    """Takes the store's DynamoDB calls and keeps what they wrote."""

    def __init__(self) -> None:
        self.puts: list[dict] = []

    def put_item(self, **request):
        self.puts.append(request["Item"])
        return {}


class PlainCipher:
    def encrypt(self, record_key, tokens):
        return CIPHERTEXT


def test_a_pending_authorization_is_stored_as_the_hand_written_writer_stored_it():
    import hashlib

    from pd_connect.flow.pending_authorizations import PendingAuthorizationStore

    client = RecordingClient()
    binding = "b" * 43
    state = PendingAuthorizationStore(client, "table", clock=lambda: 1000).issue(
        code_verifier="verifier",
        redirect_uri="https://x/callback",
        binding=binding,
        app_user_id="user-42",
        return_to="/app",
    )
    assert client.puts == [
        {
            "pk": {"S": "pending#" + hashlib.sha256(state.encode()).hexdigest()},
            "kind": {"S": "pending"},
            "code_verifier": {"S": "verifier"},
            "redirect_uri": {"S": "https://x/callback"},
            "binding_hash": {"S": hashlib.sha256(binding.encode()).hexdigest()},
            "expires_at": {"N": "1600"},
            "link_app_user_id": {"S": "user-42"},
            "return_to": {"S": "/app"},
        }
    ]


def test_a_spent_link_nonce_is_stored_as_the_hand_written_writer_stored_it():
    import hashlib

    from pd_connect.flow.link_nonces import LinkNonceStore
    from pd_connect.flow.links import Link

    client = RecordingClient()
    LinkNonceStore(client, "table").spend(Link("user-42", None, expires_at=2000, jti="the-jti"))
    assert client.puts == [
        {
            "pk": {"S": "linknonce#" + hashlib.sha256(b"the-jti").hexdigest()},
            "kind": {"S": "link_nonce"},
            "expires_at": {"N": "2060"},
        }
    ]


def test_an_unconfirmed_connection_is_stored_as_the_hand_written_writer_stored_it():
    import hashlib

    from pd_connect.vault.token_cipher import StoredTokens
    from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

    client = RecordingClient()
    store = UnconfirmedConnectionStore(client, "table", PlainCipher(), clock=lambda: 1796126400.123)
    store.save(connection("user-42"), StoredTokens("a", "r"), result_id="the-jti", expires_at=1796126700)
    stamp, authorized = "2026-12-01T12:00:00+00:00", "2026-12-01T12:00:00.123+00:00"
    expected = old_writer_item(
        pk={"S": "unconfirmed#" + hashlib.sha256(b"the-jti").hexdigest()},
        kind={"S": "unconfirmed_connection"},
        link_app_user_id={"S": "user-42"},
        connection_pk={"S": "connection#PACMEUS#PADA001#app#user-42"},
        expires_at={"N": "1796126700"},
        authorized_at={"S": authorized},
        created_at={"S": stamp},
        updated_at={"S": stamp},
    )
    del expected["account_id"]
    assert client.puts == [expected]
