"""The local stack's Lambda Invoke API: the template's functions without an HTTP route, reached by
boto3 and `aws lambda invoke --endpoint-url` as they reach Lambda (the AWS SDK for JavaScript v3
reaches it in tests/examples). One `python -m local.stack`, as `make run` starts it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.browser import Browser

from .support import REPOSITORY, StackProcess, free_port


class Stack:
    def __init__(self, process: StackProcess, api_url: str) -> None:
        self.process = process
        self.api_url = api_url
        output = process.output
        self.lambda_url = re.search(r"Lambda\s+(http://127\.0\.0\.1:\d+) \(Invoke API\) -> [\w, ]*TokenFunction", output).group(1)
        self.standin_url = re.search(r"PagerDuty stand-in at (http://\S+)", output).group(1)
        # The credentials the stack prints for reaching its AWS and its Invoke API.
        self.access_key_id, self.secret_access_key = re.search(
            r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", output
        ).groups()

    def client(self, **credentials):
        keys = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key, **credentials}
        return boto3.session.Session().client(
            "lambda", endpoint_url=self.lambda_url, region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}), **keys,
        )

    def invoke(self, payload, *, function="TokenFunction", **kwargs) -> dict:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response = self.client().invoke(FunctionName=function, Payload=raw, **kwargs)
        response["body"] = response["Payload"].read()
        return response


@pytest.fixture(scope="module")
def stack():
    port, lambda_port = free_port(), free_port()
    with StackProcess(env={"PORT": str(port), "LAMBDA_PORT": str(lambda_port)}) as process:
        process.wait_for(f"Open http://localhost:{port}/", timeout=120)
        yield Stack(process, f"http://localhost:{port}")
        assert process.stop(signal.SIGINT, timeout=20) == 0  # a loaded CI machine stops slowly


def connected(stack: Stack, login: str = "PADA001") -> str:
    result = Browser(stack.api_url).connect(login=login)
    assert result.ok, result.error
    return f"PACMEUS/{login}"


def test_make_run_prints_the_invoke_endpoint_and_how_to_call_it(stack):
    assert f"aws lambda invoke --endpoint-url {stack.lambda_url} --function-name TokenFunction" in stack.process.output


def test_boto3_gets_a_token_that_pagerduty_accepts(stack):
    key = connected(stack)
    response = stack.invoke({"action": "get_token", "connection": key})
    answer = json.loads(response["body"])

    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert answer["ok"] is True and answer["connection"] == key
    me = requests.get(
        f"{answer['api_base']}/users/me",
        headers={"Authorization": f"Bearer {answer['access_token']}", "Accept": "application/vnd.pagerduty+json;version=2"},
        timeout=10,
    )
    assert me.status_code == 200 and me.json()["user"]["id"] == "PADA001"


def test_the_function_is_found_by_name_arn_partial_arn_and_latest(stack):
    for name in (
        "TokenFunction",
        "TokenFunction:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        "123456789012:function:TokenFunction",
    ):
        assert json.loads(stack.invoke({"action": "status", "app_user_id": "nobody"}, function=name)["body"])["ok"]


def test_a_typed_error_answer_is_a_normal_result_not_a_function_error(stack):
    response = stack.invoke({"action": "get_token", "connection": "PNONE/PNOBODY"})

    assert "FunctionError" not in response
    assert json.loads(response["body"])["error"] == "connection_not_found"


@pytest.mark.parametrize(
    ("function", "kwargs"),
    [("NoSuchFunction", {}), ("StartFunction", {}), ("TokenFunction", {"Qualifier": "live"}), ("TokenFunction:3", {})],
)
def test_unknown_functions_routed_ones_and_other_qualifiers_are_resource_not_found(stack, function, kwargs):
    with pytest.raises(ClientError) as raised:
        stack.invoke({}, function=function, **kwargs)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_body_that_is_not_json_is_invalid_request_content(stack):
    with pytest.raises(ClientError) as raised:
        stack.invoke(b'{"action": "get_token"')
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_a_payload_over_six_megabytes_is_request_too_large(stack):
    with pytest.raises(ClientError) as raised:
        stack.invoke({"padding": "x" * (6 * 1024 * 1024)})
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"


def test_a_request_signed_with_another_access_key_is_refused(stack):
    for credentials in (
        {"aws_access_key_id": "AKIAOTHERKEY0000000", "aws_secret_access_key": "x"},
        {"aws_secret_access_key": "not-this-runs-secret"},  # the run's key id, signed with another secret
    ):
        with pytest.raises(ClientError) as raised:
            stack.client(**credentials).invoke(FunctionName="TokenFunction", Payload=b"{}")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_web_page_cannot_invoke(stack):
    url = f"{stack.lambda_url}/2015-03-31/functions/TokenFunction/invocations"
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={stack.access_key_id}/20261201/us-east-1/lambda/aws4_request",
               "Origin": "https://evil.example"}
    answer = requests.post(url, data=b'{"action":"status","app_user_id":"u"}', headers=headers, timeout=10)

    assert answer.status_code == 403 and "ok" not in answer.text


def test_another_host_name_is_refused(stack):
    url = f"{stack.lambda_url}/2015-03-31/functions/TokenFunction/invocations"
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={stack.access_key_id}/x", "Host": "rebound.example"}
    assert requests.post(url, data=b"{}", headers=headers, timeout=10).status_code == 403


def test_dry_run_and_event_invocations_answer_as_lambda_does(stack):
    assert stack.invoke({}, InvocationType="DryRun")["StatusCode"] == 204
    assert stack.invoke({"action": "status", "app_user_id": "u"}, InvocationType="Event")["StatusCode"] == 202


def test_other_operations_are_unknown(stack):
    with pytest.raises(ClientError) as raised:
        stack.client().get_function(FunctionName="TokenFunction")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_the_aws_cli_invokes_it(stack, tmp_path):
    aws = Path(sys.executable).with_name("aws")
    if not aws.exists():
        pytest.skip("awscli is not installed (requirements-dev.txt)")
    out = tmp_path / "answer.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_ACCESS_KEY_ID": stack.access_key_id, "AWS_SECRET_ACCESS_KEY": stack.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1"
    }
    version = subprocess.run([str(aws), "--version"], env=env, capture_output=True, text=True, check=True)
    # CLI v2 reads --payload as base64 unless told otherwise; v1 (from PyPI) takes it raw.
    raw = ["--cli-binary-format", "raw-in-base64-out"] if (version.stdout + version.stderr).startswith("aws-cli/2") else []
    done = subprocess.run(
        [str(aws), "lambda", "invoke", "--endpoint-url", stack.lambda_url, "--function-name", "TokenFunction",
         *raw, "--payload", '{"action":"status","app_user_id":"user-42"}', str(out)],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=REPOSITORY,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"ok": True, "app_user_id": "user-42", "connections": []}
