"""moto-backed AWS for tests: the table, key and secret as template.yaml declares them."""

import json
import threading
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

TABLE = "pagerduty-connect-test"
CLIENT_SECRET = "test-client-secret-value"


@dataclass
class Aws:
    dynamodb: object
    kms: object
    secretsmanager: object
    table_name: str
    key_id: str
    secret_id: str


@pytest.fixture
def atomic_dynamodb(monkeypatch):
    """DynamoDB applies a conditional write atomically per item; moto checks then writes in plain
    Python. Serialise moto's writes so concurrency tests exercise our logic, not moto's races."""
    lock = threading.Lock()
    for name in ("put_item", "delete_item", "update_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.fixture
def aws(atomic_dynamodb):
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
        kms = boto3.client("kms")
        key_id = kms.create_key(Description="tokens")["KeyMetadata"]["Arn"]
        secretsmanager = boto3.client("secretsmanager")
        secret_id = secretsmanager.create_secret(
            Name="pagerduty-connect-client-secret",
            SecretString=json.dumps({"client_secret": CLIENT_SECRET, "link_signing_key": "k" * 64}),
        )["ARN"]
        yield Aws(dynamodb, kms, secretsmanager, TABLE, key_id, secret_id)


def scan_all(aws: Aws) -> list[dict]:
    return aws.dynamodb.scan(TableName=aws.table_name)["Items"]
