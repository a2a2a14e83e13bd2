"""moto-backed AWS for tests: the table, key and secret as template.yaml declares them."""

import importlib
import json
import threading
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local.pagerduty_standin import RegisteredClient, StandIn
from pd_connect import access_tokens, aws_clients, client_secret
from pd_connect.config import load_settings
from tests.flow_driver import FlowDriver

TABLE = "pagerduty-connect-test"
CLIENT_SECRET = "test-client-secret-value"
LINK_SIGNING_KEY = "k" * 64
APP_ORIGIN = "https://app.example.com"


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
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "app_user_id", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_app_user",
                    "KeySchema": [{"AttributeName": "app_user_id", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
        kms = boto3.client("kms")
        key_id = kms.create_key(Description="tokens")["KeyMetadata"]["Arn"]
        secretsmanager = boto3.client("secretsmanager")
        secret_id = secretsmanager.create_secret(
            Name="pagerduty-connect-client-secret",
            SecretString=json.dumps({"client_secret": CLIENT_SECRET, "link_signing_key": LINK_SIGNING_KEY}),
        )["ARN"]
        yield Aws(dynamodb, kms, secretsmanager, TABLE, key_id, secret_id)


def scan_all(aws: Aws) -> list[dict]:
    return aws.dynamodb.scan(TableName=aws.table_name)["Items"]


SITE = "https://connect.example.com"
REDIRECT_URI = f"{SITE}/callback"
CLIENT_ID = "test-client-id"


@pytest.fixture
def standin():
    with StandIn(clients=[RegisteredClient(CLIENT_ID, CLIENT_SECRET, (REDIRECT_URI,))]) as pd:
        yield pd


@pytest.fixture
def handlers(aws, standin, monkeypatch):
    env = {
        "PD_CLIENT_ID": CLIENT_ID,
        "PD_SCOPES": "read",
        "PD_REDIRECT_URI": "",  # derived from the API's domain, as when deployed without RedirectUrl
        "TABLE_NAME": aws.table_name,
        "TOKEN_KEY_ID": aws.key_id,
        "CLIENT_SECRET_ID": aws.secret_id,
        "PD_IDENTITY_URL": standin.base_url,
        "PD_API_URL": standin.base_url,
        "PD_API_URL_EU": f"{standin.base_url}/eu",
        "RETURN_TO_ORIGIN": APP_ORIGIN,
        "ALLOW_ANONYMOUS_CONNECT": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fresh_container(monkeypatch)
    start = importlib.reload(importlib.import_module("start_handler"))
    callback = importlib.reload(importlib.import_module("callback_handler"))
    yield start.handler, callback.handler
    load_settings.cache_clear()


@pytest.fixture
def browser(handlers):
    return FlowDriver(*handlers, site=SITE)




def fresh_container(monkeypatch):
    """Forget everything a warm Lambda container would have cached."""
    load_settings.cache_clear()
    for cached in (aws_clients.dynamodb, aws_clients.kms, aws_clients.secretsmanager):
        cached.cache_clear()
    monkeypatch.setattr(client_secret, "_provider", None)
    monkeypatch.setattr(access_tokens, "_default", None)
