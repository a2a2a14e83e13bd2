"""The table and the key that hold connections: their contract and what keeps the data safe."""

from sam_template import resource, translated


def _table() -> dict:
    return resource(translated(), "ConnectTable")


def test_connect_table_is_keyed_by_the_string_pk():
    properties = _table()["Properties"]

    assert (properties["KeySchema"], properties["AttributeDefinitions"]) == (
        [{"AttributeName": "pk", "KeyType": "HASH"}],
        [{"AttributeName": "pk", "AttributeType": "S"}],
    )


def test_connect_table_expires_items_by_ttl_on_expires_at():
    assert _table()["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_connect_table_has_point_in_time_recovery():
    assert _table()["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_connect_table_bills_per_request():
    assert _table()["Properties"]["BillingMode"] == "PAY_PER_REQUEST"


def test_token_key_rotates_automatically():
    assert resource(translated(), "TokenKey")["Properties"]["EnableKeyRotation"] is True


def test_stored_tokens_and_their_key_outlive_the_stack():
    # Deleting or replacing either would make every stored connection unreadable.
    template = translated()
    policies = {
        logical_id: (resource(template, logical_id).get("DeletionPolicy"),
                     resource(template, logical_id).get("UpdateReplacePolicy"))
        for logical_id in ("ConnectTable", "TokenKey")
    }

    assert policies == {"ConnectTable": ("Retain", "Retain"), "TokenKey": ("Retain", "Retain")}
