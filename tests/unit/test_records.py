import copy
import json
import pickle

import pytest
from pd_connect.flow.pending_authorizations import PendingAuthorization
from pd_connect.oauth.token_endpoint import TokenSet
from pd_connect.platform.records import Record
from pd_connect.vault.connections import ConnectionKey
from pd_connect.vault.token_cipher import StoredTokens


class Sample(Record):
    name: str
    count: int
    note: str = ""
    secret: str = ""
    _redacted = ("secret",)


def test_fields_come_from_the_annotations_in_order_with_their_defaults():
    record = Sample("a", 2)
    assert Sample._fields == ("name", "count", "note", "secret")
    assert (record.name, record.count, record.note, record.secret) == ("a", 2, "", "")
    assert Sample(count=2, name="a") == record


def test_a_missing_unknown_or_repeated_value_is_refused():
    with pytest.raises(TypeError, match="missing 'count'"):
        Sample("a")
    with pytest.raises(TypeError, match="'colour'"):
        Sample("a", 1, colour="red")
    with pytest.raises(TypeError, match="'name'"):
        Sample("a", 1, name="b")
    with pytest.raises(TypeError, match="takes 4 values"):
        Sample("a", 1, "", "", "extra")


def test_a_record_cannot_be_changed():
    record = Sample("a", 1)
    with pytest.raises(AttributeError):
        record.count = 2
    with pytest.raises(AttributeError):
        del record.name
    assert record._replace(count=2) == Sample("a", 2) and record.count == 1


def test_equal_and_hashed_by_type_and_values_and_never_equal_to_a_tuple():
    class Other(Record):
        name: str
        count: int
        note: str = ""
        secret: str = ""

    assert Sample("a", 1) == Sample("a", 1) and hash(Sample("a", 1)) == hash(Sample("a", 1))
    assert Sample("a", 1) != Sample("a", 2)
    assert Sample("a", 1) != Other("a", 1)
    assert Sample("a", 1) != ("a", 1, "", "")
    assert len({Sample("a", 1), Sample("a", 1), Sample("b", 1)}) == 2


def test_a_subclass_adds_its_fields_after_its_bases():
    class Extended(Sample):
        extra: int = 0

    assert Extended._fields == ("name", "count", "note", "secret", "extra")
    assert Extended("a", 1, extra=3).extra == 3


def test_a_field_without_a_default_after_one_with_a_default_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="follows one with a default"):

        class Wrong(Record):
            first: str = ""
            second: str


def test_copy_and_pickle_give_an_equal_record():
    record = Sample("a", 1, secret="s")
    assert copy.copy(record) == record and copy.deepcopy(record) == record
    assert pickle.loads(pickle.dumps(record)) == record


def test_repr_shows_every_field_but_the_redacted_ones():
    shown = repr(Sample("a", 1, note="n", secret="hunter2"))
    assert shown == "Sample(name='a', count=1, note='n', secret=<redacted>)"


def test_a_redacted_mapping_shows_its_keys_and_none_of_its_values():
    assert repr(Sample("a", 1, secret={"code": "c0de", "state": "st4te"})).endswith("secret=<redacted: code, state>)")
    assert repr(Sample("a", 1, secret={})).endswith("secret={})")


def test_underscore_names_are_settings_of_the_class_not_fields():
    class Annotated(Record):
        value: str
        _redacted: tuple = ("value",)

    assert Annotated._fields == ("value",) and repr(Annotated("x")) == "Annotated(value=<redacted>)"


def test_a_record_hands_its_values_to_nothing_that_iterates_or_json_encodes_it():
    tokens = TokenSet("pdus+_access", "pdus+_refresh", 0, "read", "id.token.here")
    with pytest.raises(TypeError):
        list(tokens)
    with pytest.raises(TypeError):
        json.dumps(tokens)
    with pytest.raises(TypeError):
        json.dumps(StoredTokens("pdus+_access", "pdus+_refresh"))


@pytest.mark.parametrize(
    "record, secrets",
    [
        (TokenSet("pdus+_access", "pdus+_refresh", 0, "read", "id.token.here"), ("pdus+_access", "pdus+_refresh", "id.token.here")),
        (StoredTokens("pdus+_access", "pdus+_refresh"), ("pdus+_access", "pdus+_refresh")),
        (PendingAuthorization("the-verifier", "https://x/callback", 0), ("the-verifier",)),
    ],
)
def test_the_records_that_hold_credentials_never_show_them(record, secrets):
    for shown in (repr(record), str(record), f"{record}"):
        assert not any(secret in shown for secret in secrets)


def test_replacing_a_part_of_a_connection_key_checks_it_again():
    key = ConnectionKey("PACCT01", "PUSER01")
    assert key._replace(app_user_id="ada") == ConnectionKey("PACCT01", "PUSER01", "ada")
    with pytest.raises(ValueError):
        key._replace(user_id="PUSER01#app#victim")
