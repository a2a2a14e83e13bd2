"""The client secret: JSON or plain, cached per container, placeholder refused."""

import json

import pytest
from pd_connect.flow.failures import Reason, failure_for
from pd_connect.platform.client_secret import PLACEHOLDER, Secrets
from pd_connect.platform.errors import PlatformError, SecretNotSet, SecretUnavailable

from .conftest import CLIENT_SECRET


@pytest.fixture
def client_secret(aws):
    """A container's client secret reader: its own Secrets, so its own cache."""
    return Secrets(aws.secretsmanager).client_secret


def test_reads_client_secret_from_json(aws, client_secret):
    assert client_secret(aws.secret_id) == CLIENT_SECRET


def test_plain_string_secret_is_the_client_secret(aws, client_secret):
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString="plain-value")
    assert client_secret(aws.secret_id) == "plain-value"


def test_placeholder_is_refused_as_not_set(aws, client_secret):
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=json.dumps({"client_secret": PLACEHOLDER}))
    with pytest.raises(PlatformError) as failure:
        client_secret(aws.secret_id)
    assert type(failure.value) is SecretNotSet and failure_for(failure.value).reason is Reason.SECRET_NOT_SET


def test_warm_container_reads_from_cache_until_forced(aws, client_secret):
    assert client_secret(aws.secret_id) == CLIENT_SECRET
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=json.dumps({"client_secret": "rotated"}))
    assert client_secret(aws.secret_id) == CLIENT_SECRET  # cached: no Secrets Manager call
    assert client_secret(aws.secret_id, force_fetch=True) == "rotated"


def test_missing_secret_is_a_dependency_failure(aws, client_secret):
    with pytest.raises(PlatformError) as failure:
        client_secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    assert type(failure.value) is SecretUnavailable and failure_for(failure.value).reason is Reason.DEPENDENCY_DOWN
