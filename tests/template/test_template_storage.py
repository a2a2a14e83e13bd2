"""The table and the key that hold connections: their contract and what keeps the data safe."""

from sam_template import resource, translated


def _table() -> dict:
    return resource(translated(), "ConnectTable")


def _attribute_types() -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in _table()["Properties"]["AttributeDefinitions"]}


def test_connect_table_is_keyed_by_the_string_pk():
    properties = _table()["Properties"]

    assert (properties["KeySchema"], _attribute_types()["pk"]) == ([{"AttributeName": "pk", "KeyType": "HASH"}], "S")


def test_connections_of_an_app_user_are_found_through_the_by_app_user_index():
    # Sparse: only connections linked to one of the builder's users carry app_user_id.
    (by_app_user,) = [i for i in _table()["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == "by_app_user"]
    assert by_app_user == {
        "IndexName": "by_app_user",
        "KeySchema": [
            {"AttributeName": "app_user_id", "KeyType": "HASH"},
            {"AttributeName": "pk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def test_the_table_has_exactly_the_by_app_user_and_connections_indexes():
    assert [i["IndexName"] for i in _table()["Properties"]["GlobalSecondaryIndexes"]] == ["by_app_user", "connections"]


def test_the_indexes_are_keyed_by_strings():
    assert _attribute_types() == {"pk": "S", "app_user_id": "S", "account_id": "S"}


def test_connect_table_expires_items_by_ttl_on_expires_at():
    assert _table()["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_connect_table_has_point_in_time_recovery():
    assert _table()["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_connect_table_cannot_be_deleted_until_its_deletion_protection_is_turned_off():
    assert _table()["Properties"]["DeletionProtectionEnabled"] is True


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


def test_the_readme_says_how_long_point_in_time_recovery_keeps_deleted_tokens():
    import re
    from pathlib import Path

    pitr = resource(translated(), "ConnectTable")["Properties"]["PointInTimeRecoverySpecification"]
    days = pitr.get("RecoveryPeriodInDays", 35)  # DynamoDB's default when the template names none
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Disconnecting, backups, and after a breach", 1)[1].split("\n## ", 1)[0]

    assert pitr["PointInTimeRecoveryEnabled"] is True
    assert re.search(rf"\*\*{days} days\*\*", section) and "Revoke All Tokens" in section


def test_the_connections_index_is_sparse_and_projects_the_summary_but_never_the_tokens():
    from pd_connect.vault.connections import CONNECTIONS_INDEX, SUMMARY_ATTRIBUTES

    (index,) = [i for i in _table()["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == CONNECTIONS_INDEX]
    keys = [k["AttributeName"] for k in index["KeySchema"]]
    projected = set(index["Projection"]["NonKeyAttributes"]) | set(keys)

    assert keys == ["account_id", "pk"] and index["Projection"]["ProjectionType"] == "INCLUDE"
    assert projected == set(SUMMARY_ATTRIBUTES) and "tokens" not in projected
