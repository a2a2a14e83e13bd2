"""moto-backed AWS for tests: the table, key and secret as template.yaml declares them."""

import importlib
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from pd_connect.client import access_tokens, confirmations
from pd_connect.platform import aws_clients, client_secret
from pd_connect.platform.config import load_settings

from local.pagerduty_standin import RegisteredClient, StandIn
from local.stack.provision import provision_in_this_process
from local.stack.template import load_template
from tests.flow_driver import FlowDriver

CLIENT_SECRET = "test-client-secret-value"
LINK_SIGNING_KEY = "k" * 64
RESULT_SIGNING_KEY = "r" * 64
APP_ORIGIN = "https://app.example.com"


@dataclass
class Aws:
    dynamodb: object
    kms: object
    secretsmanager: object
    table_name: str
    key_id: str
    secret_id: str
    link_key_id: str
    result_key_id: str


REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template():
    return load_template(REPOSITORY / "template.yaml")


@pytest.fixture
def aws(template):
    """moto holding exactly what template.yaml declares (the local stack's provisioning reads it),
    with DynamoDB's atomic conditional writes."""
    with mock_aws():
        names = provision_in_this_process(
            template,
            {"client_secret": CLIENT_SECRET},
            {"LinkSigningKey": LINK_SIGNING_KEY, "ResultSigningKey": RESULT_SIGNING_KEY},
        )
        yield Aws(
            dynamodb=boto3.client("dynamodb"),
            kms=boto3.client("kms"),
            secretsmanager=boto3.client("secretsmanager"),
            table_name=names["TABLE_NAME"],
            key_id=names["TOKEN_KEY_ID"],
            secret_id=names["CLIENT_SECRET_ID"],
            link_key_id=names["LINK_SIGNING_KEY_ID"],
            result_key_id=names["RESULT_SIGNING_KEY_ID"],
        )


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
        "LINK_SIGNING_KEY_ID": aws.link_key_id,
        "RESULT_SIGNING_KEY_ID": aws.result_key_id,
        "PD_IDENTITY_URL": standin.base_url,
        "PD_API_URL": standin.base_url,
        "PD_API_URL_EU": f"{standin.base_url}/eu",
        "RETURN_TO_ORIGIN": APP_ORIGIN,
        "ALLOW_ANONYMOUS_CONNECT": "true",
    }
    yield start_container(monkeypatch, env)
    load_settings.cache_clear()


@pytest.fixture
def browser(handlers):
    return FlowDriver(*handlers, site=SITE)




def start_container(monkeypatch, env: dict[str, str]):
    """Both handlers as a new container imports them, with `env` added to the environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fresh_container(monkeypatch)
    start = importlib.reload(importlib.import_module("start_handler"))
    callback = importlib.reload(importlib.import_module("callback_handler"))
    return start.handler, callback.handler


def fresh_container(monkeypatch):
    """Forget everything a warm Lambda container would have cached."""
    load_settings.cache_clear()
    for cached in (aws_clients.dynamodb, aws_clients.kms, aws_clients.secretsmanager):
        cached.cache_clear()
    monkeypatch.setattr(client_secret, "_provider", None)
    monkeypatch.setattr(access_tokens, "_default", None)
    monkeypatch.setattr(confirmations, "_default", None)
