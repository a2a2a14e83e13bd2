"""moto-backed AWS for tests: the table, key and secret as template.yaml declares them."""

from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from pd_connect.container import Container, use
from pd_connect.flow import callback_app, start_app

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
def container(aws, standin, monkeypatch):
    """A new container for this test (as a cold Lambda gets): the deployed environment, nothing
    cached; the library's own functions (get_access_token, ...) use it too."""
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
    with use(new_container(monkeypatch, env)) as container:
        yield container


@pytest.fixture
def handlers(container):
    """The start and callback functions' Lambda handlers, wired from this test's container."""
    return lambda_handlers(container)


@pytest.fixture
def browser(handlers):
    return FlowDriver(*handlers, site=SITE)


def new_container(monkeypatch, env: dict[str, str]) -> Container:
    """A container as a new Lambda container builds it, with `env` added to the environment
    (set in os.environ too: boto3, and the admin CLI, read it there)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Container()


def lambda_handlers(container: Container):
    """(start, callback): both functions' handlers as their modules wire them, from `container`."""
    return start_app.lambda_handler(container), callback_app.lambda_handler(container)


def start_container(monkeypatch, env: dict[str, str]):
    """Both handlers of a new container, with `env` added to the environment."""
    return lambda_handlers(new_container(monkeypatch, env))
