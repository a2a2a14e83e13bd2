"""The template's table, key and secret are created in the embedded AWS, and found again."""

from __future__ import annotations

import json

import pytest

from local.stack.intrinsics import Resolver
from local.stack.provision import provision
from local.stack.runner import pseudo_parameters
from local.stack.template import load_template


@pytest.fixture
def provisioned(local_aws, fixture_template_path):
    template = load_template(fixture_template_path)

    def run(client_secret: str):
        resolver = Resolver(
            template, pseudo_parameters=pseudo_parameters(local_aws), parameter_values={"ClientId": "c"}
        )
        return provision(template, resolver, local_aws, {"client_secret": client_secret})

    return run


def test_the_table_is_created_with_the_templates_keys_ttl_index_and_protection(provisioned, local_aws):
    created = provisioned("first")

    dynamodb = local_aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=created["Table"].ref)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by-owner"]
    assert table["DeletionProtectionEnabled"] is True
    ttl = dynamodb.describe_time_to_live(TableName=created["Table"].ref)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    assert created["Table"].attributes["Arn"] == table["TableArn"]


def test_the_key_is_created_with_rotation_and_found_by_its_alias(provisioned, local_aws):
    created = provisioned("first")

    kms = local_aws.client("kms")
    key_id = created["Key"].ref
    assert kms.describe_key(KeyId="alias/local-Key")["KeyMetadata"]["KeyId"] == key_id
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert kms.encrypt(KeyId=created["Key"].attributes["Arn"], Plaintext=b"token")["CiphertextBlob"]


def test_the_secret_holds_the_client_secret_and_a_generated_key(provisioned, local_aws):
    created = provisioned("first")

    value = json.loads(
        local_aws.client("secretsmanager").get_secret_value(SecretId=created["Secret"].ref)["SecretString"]
    )
    assert value["client_secret"] == "first"
    assert len(value["signing_key"]) == 40 and value["signing_key"].isalnum()


def test_provisioning_twice_finds_the_same_resources(provisioned, local_aws):
    first = provisioned("first")
    kms, secrets = local_aws.client("kms"), local_aws.client("secretsmanager")
    counts = (len(kms.list_keys()["Keys"]), len(secrets.list_secrets()["SecretList"]))

    second = provisioned("second")

    assert {k: v.ref for k, v in first.items()} == {k: v.ref for k, v in second.items()}
    assert (len(kms.list_keys()["Keys"]), len(secrets.list_secrets()["SecretList"])) == counts


def test_a_second_run_keeps_the_generated_key_and_updates_the_client_secret(provisioned, local_aws):
    first = provisioned("first")
    secrets = local_aws.client("secretsmanager")
    before = json.loads(secrets.get_secret_value(SecretId=first["Secret"].ref)["SecretString"])

    provisioned("second")

    after = json.loads(secrets.get_secret_value(SecretId=first["Secret"].ref)["SecretString"])
    assert after == {**before, "client_secret": "second"}


def test_resources_the_stack_does_not_emulate_are_left_alone(provisioned):
    created = provisioned("first")

    assert set(created) == {"Table", "Key", "Secret"}  # not the HttpApi, functions or log group
