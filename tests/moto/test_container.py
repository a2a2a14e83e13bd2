"""The composition root: each part built once per container and shared, from the container's own
environment; a function's init creates only the clients it uses; `use` hands a test's container
to the library's functions and puts the previous one back."""

import json
import threading

import pytest
from pd_connect.container import Container, process_container, use
from pd_connect.flow import callback_app, start_app
from pd_connect.platform.config import ConfigError

from .conftest import CLIENT_SECRET


def test_each_part_is_built_once_and_the_parts_share_it(container):
    assert container.connections is container.connections
    assert container.access_tokens.store is container.connections
    assert container.secrets is container.secrets and container.http is container.http


def test_twenty_threads_asking_at_once_get_the_same_access_tokens(handlers, monkeypatch):
    fresh = Container()
    barrier, seen = threading.Barrier(20), []

    def ask():
        barrier.wait()
        seen.append(fresh.access_tokens)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 20 and len({id(tokens) for tokens in seen}) == 1


def test_the_start_function_creates_only_its_dynamodb_client_at_init(handlers):
    fresh = Container()
    start_app.lambda_handler(fresh)
    assert fresh.aws.created == ("dynamodb",)  # no KMS, no Secrets Manager: they are out of its reach


def test_the_callback_creates_its_three_clients_at_init_so_its_first_request_creates_none(handlers):
    fresh = Container()
    callback_app.lambda_handler(fresh)
    assert fresh.aws.created == ("dynamodb", "kms", "secretsmanager")


def test_a_container_reads_its_own_environment_not_the_processes(container):
    other = Container({**container.environ, "PD_CLIENT_ID": "another-client", "PD_SCOPES": "read write"})
    assert (other.settings.client_id, other.token_settings.scopes) == ("another-client", "read write")
    assert container.settings.client_id == "test-client-id"


def test_a_missing_setting_fails_when_its_part_is_built_and_names_it():
    empty = Container({"PD_CLIENT_ID": "x"})
    with pytest.raises(ConfigError, match="TABLE_NAME"):
        empty.settings
    with pytest.raises(RuntimeError, match="TABLE_NAME and RESULT_SIGNING_KEY_ID"):
        empty.confirmations


def test_two_containers_keep_their_own_secret_cache(aws, container):
    assert container.client_secret() == CLIENT_SECRET  # now cached in this container
    aws.secretsmanager.put_secret_value(SecretId=aws.secret_id, SecretString=json.dumps({"client_secret": "rotated"}))
    assert Container().client_secret() == "rotated"  # a new container reads it afresh
    assert container.client_secret() == CLIENT_SECRET  # the warm one keeps its cache until it expires


def test_use_hands_over_a_container_and_puts_the_previous_one_back(container):
    assert process_container() is container  # the fixture's
    inner = Container()
    with use(inner):
        assert process_container() is inner
    assert process_container() is container
