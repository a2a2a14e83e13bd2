"""`python -m admin doctor --stack NAME` against a stack in moto's CloudFormation with the outputs
template.yaml declares, and the local stack (`python -m local.stack`) standing in for its endpoint."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import boto3
import pytest
import requests
from moto import mock_aws

from admin import doctor
from admin.cli import main as admin
from tests.local_stack.support import StackProcess, free_port

REGION = "eu-west-1"
STACK = "pagerduty-connect"
CLIENT_SECRET = "doctor-test-client-secret-0123456789"
LINK_SIGNING_KEY = "l" * 64
EVERY_CHECK = [
    "stack status", "client ID", "client secret", "secret keys", "landing page", "authorize",
    "security headers", "alarm subscriber", "alarms", "throttling", "log retention",
]


@pytest.fixture(scope="module")
def endpoint():
    """The local stack serving the real functions; its stand-in is the identity host to expect."""
    port = free_port()
    with StackProcess(env={"PORT": str(port)}) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")
        standin = re.search(r"PagerDuty stand-in at (http://[\d.:]+) \(client id ([\w-]+)\)", stack.output)
        yield {"landing": f"http://localhost:{port}/", "identity": standin.group(1), "client_id": standin.group(2)}


@pytest.fixture
def deploy(template, endpoint, monkeypatch):
    """Deploys a stack as `sam deploy` leaves it once set up; keyword arguments change its parameters
    or outputs. moto's CloudFormation holds the stack (its topic and log groups as its own
    resources); what it cannot create (the secret, the HTTP API, the alarms) is created directly
    and named by the outputs, as the real template does."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():

        def make(parameters: dict[str, str] | None = None, outputs: dict[str, str] | None = None) -> dict:
            # Every secret the template declares, its placeholders put and its generated fields there.
            named = {}
            for resource in template.resources_of_type("AWS::SecretsManager::Secret"):
                placeholders, generated = doctor._secret_fields(resource.properties)
                value = {**dict.fromkeys(placeholders, CLIENT_SECRET), **dict.fromkeys(generated, LINK_SIGNING_KEY)}
                arn = boto3.client("secretsmanager").create_secret(
                    Name=f"{STACK}-{resource.logical_id}", SecretString=json.dumps(value)
                )["ARN"]
                named[doctor._output_naming(template, resource.logical_id)] = arn
            secret = named["ClientSecretArn"]
            apis = boto3.client("apigatewayv2")
            api_id = apis.create_api(Name=STACK, ProtocolType="HTTP")["ApiId"]
            throttle = {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}
            apis.create_stage(ApiId=api_id, StageName="$default", DefaultRouteSettings=throttle)
            values = {
                "LandingUrl": endpoint["landing"],
                "CallbackUrl": endpoint["landing"] + "callback",
                "HttpApiId": api_id,
                "AlarmTopicArn": {"Ref": "AlarmTopic"},
                **named,
                "ConnectTableName": f"{STACK}-ConnectTable",
                "TokenKeyArn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-4000-8000-000000000000",
                # Named by the template for other purposes; the doctor does not read them.
                "DashboardUrl": f"https://console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards:name={STACK}",
                "EventBus": "default",
                "EventsDeadLetterQueueUrl": f"https://sqs.{REGION}.amazonaws.com/123456789012/{STACK}-events-dlq",
                **(outputs or {}),
            }
            for name, output in template.outputs.items():  # the rest, which the doctor does not read
                if "Condition" not in output:
                    values.setdefault(name, f"{name}-value")
            settings = {
                "PagerDutyClientId": endpoint["client_id"],
                "ThrottlingRateLimit": "20",
                "ThrottlingBurstLimit": "40",
                "AllowAnonymousConnect": "true",
                **(parameters or {}),
            }
            body = {
                "Parameters": {name: {"Type": "String"} for name in settings},
                "Resources": {
                    "AlarmTopic": {"Type": "AWS::SNS::Topic"},
                    **{
                        group.logical_id: {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": group.properties["RetentionInDays"]}}
                        for group in template.resources_of_type("AWS::Logs::LogGroup")
                        if "RetentionInDays" in group.properties
                    },
                },
                "Outputs": {name: {"Value": value} for name, value in values.items()},
            }
            cloudformation = boto3.client("cloudformation")
            cloudformation.create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(body),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in settings.items()],
            )
            (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
            made = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
            topic = made["AlarmTopicArn"]
            boto3.client("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
            for name in [alarm.logical_id for alarm in template.resources_of_type("AWS::CloudWatch::Alarm")]:
                boto3.client("cloudwatch").put_metric_alarm(
                    AlarmName=f"{STACK}-{name}", MetricName="5xx", Namespace="AWS/ApiGateway", Statistic="Sum",
                    Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                    AlarmActions=[topic],
                )
            return {"api_id": api_id, "secret": secret, "outputs": made}

        yield make


@pytest.fixture
def deployed(deploy):
    return deploy()


def run_doctor(endpoint, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    status = admin(["doctor", "--stack", STACK, "--identity-url", endpoint["identity"], *extra], out=out)
    return status, out.getvalue()


def statuses(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        for name in EVERY_CHECK:
            if re.match(rf"^(OK|FAIL|WARN|SKIP)\s+{re.escape(name)}\s{{2,}}", line):
                state = line.split()[0]  # a check with several lines (one per secret): the worst
                found[name] = max(found.get(name, "OK"), state, key=["OK", "SKIP", "WARN", "FAIL"].index)
    return found


def test_the_test_stack_has_the_outputs_the_real_template_declares(template, deployed):
    unconditional = {name for name, output in template.outputs.items() if "Condition" not in output}
    assert set(deployed["outputs"]) == unconditional


def test_a_stack_wired_right_passes_every_check_and_prints_no_secret(deployed, endpoint):
    status, output = run_doctor(endpoint)
    assert status == 0, output
    assert statuses(output) == dict.fromkeys(EVERY_CHECK, "OK"), output
    lines = output.splitlines()  # a heading, one line per check, a summary
    assert lines[0] == f"{STACK} ({REGION})" and lines[-1] == "all checks passed"
    assert all(re.match(r"^OK {4}\S", line) for line in lines[1:-1]) and len(lines) >= len(EVERY_CHECK) + 2
    assert "redirect_uri " + endpoint["landing"] + "callback (= CallbackUrl)" in output
    for secret in (CLIENT_SECRET, LINK_SIGNING_KEY, "state="):
        assert secret not in output


def _placeholder_secret(deployed):
    boto3.client("secretsmanager").put_secret_value(
        SecretId=deployed["secret"],
        SecretString=json.dumps({"client_secret": "REPLACE_WITH_PAGERDUTY_CLIENT_SECRET", "link_signing_key": LINK_SIGNING_KEY}),
    )


def _lost_signing_key(deployed):
    boto3.client("secretsmanager").put_secret_value(SecretId=deployed["secret"], SecretString=json.dumps({"client_secret": CLIENT_SECRET}))


def _no_subscriber(deployed):
    sns = boto3.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=deployed["outputs"]["AlarmTopicArn"])["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])


def _alarm_gone(deployed):
    boto3.client("cloudwatch").delete_alarms(AlarmNames=[f"{STACK}-ServerErrorsAlarm"])


def _throttling_changed(deployed):
    apis = boto3.client("apigatewayv2")  # moto has no update_stage: the stage is made again
    apis.delete_stage(ApiId=deployed["api_id"], StageName="$default")
    apis.create_stage(
        ApiId=deployed["api_id"], StageName="$default", DefaultRouteSettings={"ThrottlingRateLimit": 5000, "ThrottlingBurstLimit": 40}
    )


def _retention_changed(deployed):
    logs = boto3.client("logs")
    name = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if "CallbackFunctionLogGroup" in g["logGroupName"]][0]
    logs.delete_retention_policy(logGroupName=name)


@pytest.mark.parametrize(
    ("break_it", "failing", "advice"),
    [
        (_placeholder_secret, {"client secret"}, "put the PagerDuty client secret into ClientSecretArn"),
        (_lost_signing_key, {"secret keys"}, "restore them in ClientSecretArn"),
        (_no_subscriber, {"alarm subscriber"}, "set AlarmEmail"),
        (_alarm_gone, {"alarms"}, "alarms notify AlarmTopicArn"),
        (_throttling_changed, {"throttling"}, "ThrottlingRateLimit 5000"),
        (_retention_changed, {"log retention"}, "CallbackFunctionLogGroup keeps forever days"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
def test_each_misconfiguration_fails_its_own_check_with_what_to_do(deployed, endpoint, break_it, failing, advice):
    break_it(deployed)
    status, output = run_doctor(endpoint)
    assert status == 1, output
    found = statuses(output)
    assert set(found) == set(EVERY_CHECK), output
    assert {name for name, state in found.items() if state == "FAIL"} == failing, output
    assert advice in output
    assert all(" -> " in line for line in output.splitlines() if line.startswith("FAIL"))
    assert CLIENT_SECRET not in output and LINK_SIGNING_KEY not in output


@pytest.mark.parametrize(
    ("changes", "failing", "advice"),
    [
        # The endpoint standing in still sends its real client ID, so /authorize disagrees too.
        ({"parameters": {"PagerDutyClientId": "pending"}}, {"client ID", "authorize"}, "register the app in PagerDuty"),
        ({"outputs": {"CallbackUrl": "https://connect.example.com/callback"}}, {"authorize"}, "register exactly https://connect.example.com/callback"),
        ({"outputs": {"LandingUrl": f"http://localhost:{free_port()}/"}}, {"landing page", "authorize", "security headers"}, "check DNS"),
        ({"outputs": {"LandingUrl": "http://connect.example.com/"}}, {"landing page", "authorize", "security headers"}, "is not HTTPS"),
    ],
    ids=["client-id-pending", "callback-url-not-what-authorize-sends", "endpoint-unreachable", "endpoint-not-https"],
)
def test_each_misdeployed_setting_fails_its_own_check_with_what_to_do(deploy, endpoint, changes, failing, advice):
    deploy(**changes)
    status, output = run_doctor(endpoint)
    assert status == 1, output
    assert {name for name, state in statuses(output).items() if state == "FAIL"} == failing, output
    assert advice in output
    assert all(" -> " in line for line in output.splitlines() if line.startswith("FAIL"))


def test_an_identity_host_other_than_pagerdutys_fails_the_authorize_check(deployed, endpoint):
    status, output = run_doctor(endpoint | {"identity": "https://identity.pagerduty.com"})
    assert status == 1 and statuses(output)["authorize"] == "FAIL", output
    assert "leave PD_IDENTITY_URL empty" in output


def test_linked_only_stacks_skip_the_authorize_check_and_say_why(deploy, endpoint):
    deploy(parameters={"AllowAnonymousConnect": "false"})
    status, output = run_doctor(endpoint)
    assert statuses(output)["authorize"] == "SKIP" and "needs a link token" in output, output


def test_an_unknown_stack_is_one_failing_line(deployed, endpoint):
    out = io.StringIO()
    assert admin(["doctor", "--stack", "no-such-stack"], out=out) == 1
    assert out.getvalue().startswith("FAIL  stack") and "check --stack, the region and the account" in out.getvalue()


def _response(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers.update(headers)
    return response


def test_security_headers_missing_from_any_response_are_named():
    complete = {**doctor.BASE_SECURITY_HEADERS, "content-security-policy": "default-src 'none'"}
    assert doctor.security_headers(_response(complete), _response(complete)).status == doctor.OK
    stripped = {k: v for k, v in complete.items() if k != "Strict-Transport-Security"}
    check = doctor.security_headers(_response(complete), _response(stripped))
    assert (check.status, check.detail) == (doctor.FAIL, "missing Strict-Transport-Security")


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("CREATE_COMPLETE", "OK"), ("UPDATE_COMPLETE", "OK"), ("UPDATE_IN_PROGRESS", "WARN"), ("UPDATE_ROLLBACK_COMPLETE", "FAIL"), ("ROLLBACK_COMPLETE", "FAIL")],
)
def test_stack_status(status, verdict):
    check = doctor.stack_status(doctor.Stack(STACK, status, {}, {}, {}))
    assert check.status == verdict
    assert verdict == "OK" or check.action


def test_a_secret_no_output_names_is_found_among_the_stacks_resources(template):
    """Per-purpose secrets the template may add without an output are still checked."""
    from local.stack.template import ResourceSpec

    extra = ResourceSpec("ConfirmKeySecret", "AWS::SecretsManager::Secret", {"GenerateSecretString": {"GenerateStringKey": "confirm_key"}})
    widened = dataclasses.replace(template, resources={"ClientSecret": template.resources["ClientSecret"], "ConfirmKeySecret": extra})
    values = {
        "arn:client": {"client_secret": CLIENT_SECRET, "link_signing_key": LINK_SIGNING_KEY},
        "arn:confirm": {},
    }

    class Secrets:
        def get_secret_value(self, SecretId):
            return {"SecretString": json.dumps(values[SecretId])}

    stack = doctor.Stack(STACK, "UPDATE_COMPLETE", {"ClientSecretArn": "arn:client"}, {}, {"ConfirmKeySecret": "arn:confirm"})
    checks = doctor.secrets(stack, widened, Secrets())
    assert [(c.name, c.status) for c in checks] == [("client secret", "OK"), ("secret keys", "OK"), ("secret keys", "FAIL")]
    assert "confirm_key missing" in checks[-1].detail
