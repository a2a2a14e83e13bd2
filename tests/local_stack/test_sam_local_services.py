"""`--services-only` and `--write-sam-local-env` follow the region and port `sam local start-api`
will use: with an AWS config naming eu-west-1 and `--port` other than 3000, the table is where
the functions will look and the stand-in accepts that port's callback."""

from __future__ import annotations

import json
import re
import signal

import boto3
import pytest
import requests

from local.stack.sam_local import Ports

from .support import REPOSITORY, StackProcess, env_words, free_port

HAS_STANDIN = (REPOSITORY / "local" / "pagerduty_standin" / "standin.py").exists()


@pytest.fixture
def eu_home(tmp_path):
    """A HOME whose AWS config names eu-west-1 and nothing else (no credentials, no AWS_* variables)."""
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    return {"HOME": str(tmp_path)}


def _table_names(endpoint: str, region: str, aws_port: int) -> list[str]:
    """As the containers see them: signed with the key the services wrote for `sam local`."""
    credentials = env_words(REPOSITORY / Ports(aws=aws_port).credentials_file)
    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"], aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    return client.list_tables()["TableNames"]


def _authorize(identity_url: str, redirect_uri: str) -> requests.Response:
    params = {"client_id": "sam-local-client", "redirect_uri": redirect_uri, "response_type": "code", "scope": "read", "state": "s" * 43}
    return requests.get(f"{identity_url}/oauth/authorize", params=params, allow_redirects=False, timeout=10)


@pytest.mark.skipif(not HAS_STANDIN, reason="needs the stand-in")
def test_services_follow_the_aws_configs_region_and_accept_the_given_ports_callback(eu_home):
    api, aws, pagerduty = free_port(), free_port(), free_port()
    args = ("--services-only", "--port", str(api), "--aws-port", str(aws), "--pagerduty-port", str(pagerduty))
    with StackProcess(*args, env=eu_home) as services:
        services.wait_for("then open")
        endpoint, identity = f"http://127.0.0.1:{aws}", f"http://127.0.0.1:{pagerduty}"
        in_eu, in_us = _table_names(endpoint, "eu-west-1", aws), _table_names(endpoint, "us-east-1", aws)
        this_port = _authorize(identity, f"http://localhost:{api}/callback")
        port_3000 = _authorize(identity, "http://localhost:3000/callback")
        services.stop(signal.SIGINT)  # removes its key file
    assert in_eu == ["local-ConnectTable"] and in_us == []
    assert this_port.status_code == 200, this_port.text[-300:]
    assert port_3000.status_code == 400 and "redirect_uri is not registered" in port_3000.text
    command = re.search(r"sam build && env \$\(cat \S+\) sam local start-api .*", services.output).group(0)
    assert f"--port {api} " in command and "--region eu-west-1 " in command
    assert f"--write-sam-local-env --port {api} --aws-port {aws} --pagerduty-port {pagerduty}" in services.output


@pytest.mark.skipif(not HAS_STANDIN, reason="needs the stand-in")
def test_an_explicit_region_wins_over_the_aws_config(eu_home):
    aws, pagerduty = free_port(), free_port()
    args = ("--services-only", "--region", "ap-southeast-2", "--aws-port", str(aws), "--pagerduty-port", str(pagerduty))
    with StackProcess(*args, env=eu_home) as services:
        services.wait_for("then open")
        tables = _table_names(f"http://127.0.0.1:{aws}", "ap-southeast-2", aws)
        services.stop(signal.SIGINT)
    assert tables == ["local-ConnectTable"]
    assert "--port 3000 --region ap-southeast-2 " in services.output


def test_the_env_file_is_written_for_the_given_ports_and_names_no_region(tmp_path):
    target = tmp_path / "env.json"
    args = ("--write-sam-local-env", str(target), "--port", "8080", "--aws-port", "5002", "--pagerduty-port", "8091")
    with StackProcess(*args) as writer:
        assert writer.process.wait(60) == 0, writer.output
    written = json.loads(target.read_text())
    for variables in written.values():
        assert variables["PD_REDIRECT_URI"] == "http://localhost:8080/callback"
        assert variables["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5002"
        assert variables["PD_IDENTITY_URL"] == "http://pagerduty.localhost:8091"
    assert written["CallbackFunction"]["TOKEN_KEY_ID"] == "alias/local-TokenKey"
    committed = (REPOSITORY / "local" / "sam-local-env.json").read_text()
    assert not re.search(r"[a-z]{2}-[a-z]+-\d", committed), "the env-vars file must work in any region"
