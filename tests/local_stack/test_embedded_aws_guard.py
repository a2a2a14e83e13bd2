"""The embedded AWS and the stand-in's control endpoints on a developer's machine: no web page can
read them, and the embedded AWS takes only requests signed with this run's own random key."""

import re
import signal
import stat

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from local.pagerduty_standin import RegisteredClient, StandIn
from local.stack import sam_local
from local.stack.aws import start_aws

from .support import REPOSITORY, StackProcess, env_words, free_port

HAS_STANDIN = (REPOSITORY / "local" / "pagerduty_standin" / "standin.py").exists()

GET_SECRET = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture(scope="module")
def secret(local_aws):
    name = "guard-test-secret"
    local_aws.client("secretsmanager").create_secret(Name=name, SecretString="the-client-secret-value")
    return name


def client_with(local_aws, key_id: str, secret_key: str):
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=local_aws.endpoint_url, region_name=local_aws.region,
        aws_access_key_id=key_id, aws_secret_access_key=secret_key,
    )


def test_this_runs_key_gets_in(local_aws, secret):
    assert local_aws.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == "the-client-secret-value"


@pytest.mark.parametrize("who", ["any-key", "right-key-wrong-secret"])
def test_other_credentials_are_refused(local_aws, secret, who):
    key_id = "testing" if who == "any-key" else local_aws.run_key.access_key_id
    with pytest.raises(ClientError) as refused:
        client_with(local_aws, key_id, "testing").get_secret_value(SecretId=secret)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_each_run_has_its_own_random_key(local_aws):
    other = start_aws({})
    try:
        assert other.run_key.access_key_id != local_aws.run_key.access_key_id
        assert len(other.run_key.secret_access_key) >= 40
    finally:
        other.stop()


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}],
    ids=["origin", "null-origin", "sec-fetch"],
)
def test_a_web_pages_fetch_is_refused_without_cors(local_aws, secret, headers):
    answer = requests.post(local_aws.endpoint_url + "/", headers={**GET_SECRET, **headers}, data=f'{{"SecretId":"{secret}"}}', timeout=5)
    assert answer.status_code == 403 and "the-client-secret-value" not in answer.text
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_a_cors_preflight_is_refused(local_aws):
    answer = requests.options(
        local_aws.endpoint_url + "/",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-amz-target"},
        timeout=5,
    )
    assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers


def _credentials_in(command: str) -> dict[str, str]:
    """The file `env $(cat FILE)` in the printed command reads, as env would read it."""
    path = re.search(r"env \$\(cat (\S+)\) sam local start-api ", command).group(1)
    file = REPOSITORY / path
    assert stat.S_IMODE(file.stat().st_mode) == 0o600, oct(file.stat().st_mode)
    return env_words(file)


@pytest.mark.skipif(not HAS_STANDIN, reason="needs the stand-in")
def test_the_container_path_takes_only_the_key_it_wrote_for_sam_and_never_prints_it():
    """--services-only binds every interface for containers, which sign with the credentials of the
    shell that runs `sam local start-api`: the printed command reads them from a 0600 file."""
    aws_port, pagerduty_port = free_port(), free_port()
    with StackProcess("--services-only", "--aws-port", str(aws_port), "--pagerduty-port", str(pagerduty_port)) as services:
        services.wait_for("then open")
        command = re.search(r"sam build && .*", services.output).group(0)
        credentials = _credentials_in(command)
        endpoint = f"http://127.0.0.1:{aws_port}"

        def tables(key_id: str, secret_key: str) -> list[str]:
            return boto3.session.Session().client(
                "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret_key
            ).list_tables()["TableNames"]

        assert tables(credentials["AWS_ACCESS_KEY_ID"], credentials["AWS_SECRET_ACCESS_KEY"]) == ["local-ConnectTable"]
        for key_id, secret_key in (("any", "any"), (credentials["AWS_ACCESS_KEY_ID"], "testing")):
            with pytest.raises(ClientError) as refused:
                tables(key_id, secret_key)
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        unsigned = requests.post(endpoint + "/", headers=GET_SECRET, data='{"SecretId":"local-ClientSecret"}', timeout=5)
        browser = requests.post(endpoint + "/", headers={**GET_SECRET, "Origin": "https://evil.example"}, data="{}", timeout=5)
        assert unsigned.status_code == 403 and browser.status_code == 403
        assert credentials["AWS_SECRET_ACCESS_KEY"] not in services.output
        assert credentials["AWS_SESSION_TOKEN"] == ""  # a session token in the developer's shell stays out
        assert services.stop(signal.SIGINT) == 0
    assert not (REPOSITORY / sam_local.Ports(aws=aws_port).credentials_file).exists(), "the key outlived its run"


def test_the_standins_control_endpoints_refuse_browser_requests():
    with StandIn(clients=[RegisteredClient("c", "guard-test-client-secret", ("http://localhost/callback",))]) as standin:
        assert requests.get(f"{standin.base_url}/_standin/calls", timeout=5).status_code == 200
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            for method, path in (("GET", "calls"), ("POST", "reset"), ("POST", "client_secret")):
                answer = requests.request(method, f"{standin.base_url}/_standin/{path}", headers=headers, json={}, timeout=5)
                assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers
