"""`python -m admin doctor --stack NAME` (`make doctor`): is a deployed stack wired right?

Reads the stack's CloudFormation outputs and parameters, the resources they name, and its HTTPS
endpoint, and prints one line per check with what to do when it is not right. What "as
configured" means comes from template.yaml (the secrets' fields, the log groups' retention, the
alarms) and the stack's parameters (client ID, throttling). Exit status 1 when a check fails.

Never prints a secret's value, a state or any other part of the authorize redirect but its host
and redirect URI. The /authorize check starts one flow, as a browser would: it leaves one pending
authorization behind, which expires by TTL in 10 minutes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError
from pd_connect.platform.web import BASE_SECURITY_HEADERS

from local.stack.template import Template

OK, WARN, SKIP, FAIL = "OK", "WARN", "SKIP", "FAIL"
PAGERDUTY_IDENTITY_URL = "https://identity.pagerduty.com"
PLACEHOLDER_PREFIX = "REPLACE_WITH_"  # how template.yaml marks a secret field that is yours to put
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
HTTP_TIMEOUT_S = 15
LOCAL_HOSTS = {"localhost", "127.0.0.1"}  # plain http allowed only there (a local stand-in endpoint)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    action: str = ""  # what to do; only when the status is not OK

    def line(self) -> str:
        todo = f" -> {self.action}" if self.action and self.status != OK else ""
        return f"{self.status:<5} {self.name:<18} {self.detail}{todo}"


@dataclass(frozen=True)
class Stack:
    name: str
    status: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    physical_ids: Mapping[str, str]  # logical id -> physical id, for the resources CloudFormation lists


class StackNotFound(RuntimeError):
    pass


AwsClients = Callable[[str], Any]  # service name -> boto3 client


def read_stack(cloudformation, name: str) -> Stack:
    try:
        (described,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        raise StackNotFound(f"no stack {name!r} here ({_error_code(error)}): check --stack, the region and the account") from None
    physical: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
        for resource in page["StackResourceSummaries"]:
            if resource.get("PhysicalResourceId"):
                physical[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    return Stack(
        name=name,
        status=described["StackStatus"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
        physical_ids=physical,
    )


def run(
    stack_name: str,
    *,
    aws: AwsClients,
    template: Template,
    http: requests.Session | None = None,
    identity_url: str = PAGERDUTY_IDENTITY_URL,
) -> list[Check]:
    """Every check, in the order a user fixes things."""
    stack = read_stack(aws("cloudformation"), stack_name)
    http = http or requests.Session()
    checks = [stack_status(stack), client_id(stack)]
    checks += secrets(stack, template, aws("secretsmanager"))
    landing, landing_response = landing_page(stack, http)
    authorize, authorize_response = authorize_redirect(stack, http, identity_url)
    checks += [landing, authorize, security_headers(landing_response, authorize_response)]
    checks += alarms(stack, template, aws("sns"), aws("cloudwatch"))
    checks += [throttling(stack, aws("apigatewayv2")), log_retention(stack, template, aws("logs"))]
    return checks


# --- the stack and its settings ------------------------------------------------------------------


def stack_status(stack: Stack) -> Check:
    if stack.status in SETTLED:
        return Check("stack status", OK, stack.status)
    events = f"aws cloudformation describe-stack-events --stack-name {stack.name}"
    if stack.status.endswith("_IN_PROGRESS"):
        return Check("stack status", WARN, stack.status, "wait for it to finish, then run make doctor again")
    return Check("stack status", FAIL, stack.status, f"the last change did not complete: see why with `{events}`")


def client_id(stack: Stack) -> Check:
    value = stack.parameters.get("PagerDutyClientId", "").strip()
    if not value or value == "pending":
        return Check(
            "client ID",
            FAIL,
            f"PagerDutyClientId is {value or 'empty'!r}",
            "register the app in PagerDuty with CallbackUrl as its Redirect URL, then make deploy with its "
            "client ID (README: Deploy, step 3)",
        )
    return Check("client ID", OK, f"PagerDutyClientId {value}")


def secrets(stack: Stack, template: Template, secretsmanager) -> list[Check]:
    """For each secret the template declares: its placeholder fields replaced, its other fields set."""
    checks = []
    for resource in template.resources_of_type("AWS::SecretsManager::Secret"):
        placeholders, generated = _secret_fields(resource.properties)
        # The output that names it (which may be an existing secret's ARN), else the stack's own.
        output = _output_naming(template, resource.logical_id) or resource.logical_id
        arn = stack.outputs.get(output) or stack.physical_ids.get(resource.logical_id, "")
        label = resource.logical_id
        if not arn:
            checks.append(Check(label, FAIL, f"the stack has no {output}", "redeploy with this template"))
            continue
        try:
            value = json.loads(secretsmanager.get_secret_value(SecretId=arn)["SecretString"])
        except ClientError as error:
            action = "run with credentials allowed secretsmanager:GetSecretValue on it"
            checks.append(Check(label, FAIL, f"cannot read {output} ({_error_code(error)})", action))
            continue
        except (KeyError, ValueError, TypeError):
            value = None
        if not isinstance(value, dict):
            checks.append(Check(label, FAIL, f"{output} does not hold a JSON object", "put it as the README shows"))
            continue
        for field in placeholders:
            put = value.get(field)
            if not isinstance(put, str) or not put.strip() or put.startswith(PLACEHOLDER_PREFIX):
                action = f"put the PagerDuty {field.replace('_', ' ')} into {output} (README: Deploy, step 4)"
                checks.append(Check(field.replace("_", " "), FAIL, "still the placeholder" if put else "missing", action))
            else:
                checks.append(Check(field.replace("_", " "), OK, f"set in {output} (value not shown)"))
        missing = [field for field in generated if not isinstance(value.get(field), str) or not value[field]]
        if missing:
            action = f"restore them in {output}: the stack generated them; put only the placeholder fields (README: Deploy, step 4)"
            checks.append(Check("secret keys", FAIL, f"{', '.join(missing)} missing", action))
        elif generated:
            checks.append(Check("secret keys", OK, f"{', '.join(generated)} present in {output}"))
    return checks


def _secret_fields(properties: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(fields whose template value is a placeholder, every other field the template declares)."""
    generate = properties.get("GenerateSecretString") or {}
    try:
        declared = json.loads(generate.get("SecretStringTemplate") or properties.get("SecretString") or "{}")
    except (TypeError, ValueError):
        declared = {}
    placeholders = [k for k, v in declared.items() if isinstance(v, str) and v.startswith(PLACEHOLDER_PREFIX)]
    others = [k for k in declared if k not in placeholders]
    if generate.get("GenerateStringKey"):
        others.append(generate["GenerateStringKey"])
    return placeholders, others


def _output_naming(template: Template, logical_id: str) -> str | None:
    for name, output in template.outputs.items():
        if {"Ref": logical_id} in list(_walk(output.get("Value"))):
            return name
    return None


def _walk(value: Any) -> Iterable[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _walk(child)


# --- the endpoint --------------------------------------------------------------------------------


def landing_page(stack: Stack, http: requests.Session) -> tuple[Check, requests.Response | None]:
    url = stack.outputs.get("LandingUrl", "")
    if not url:
        return Check("landing page", FAIL, "no LandingUrl output", "redeploy with this template"), None
    if not _secure_or_local(url):
        return Check("landing page", FAIL, f"{url} is not HTTPS", "use the stack's https:// LandingUrl"), None
    response, error = _get(http, url)
    if response is None:
        return Check("landing page", FAIL, f"{url} unreachable ({error})", "check DNS for a custom domain, and that the stack is deployed"), None
    content_type = response.headers.get("Content-Type", "")
    if response.status_code != 200 or not content_type.startswith("text/html"):
        detail = f"{url} answered {response.status_code} {content_type or 'without a Content-Type'}"
        return Check("landing page", FAIL, detail, "see the StartFunction's log group"), response
    return Check("landing page", OK, f"{url} answers 200"), response


def authorize_redirect(stack: Stack, http: requests.Session, identity_url: str) -> tuple[Check, requests.Response | None]:
    name = "authorize"
    if stack.parameters.get("AllowAnonymousConnect") == "false":
        detail = "not checked: AllowAnonymousConnect=false, so /authorize needs a link token from your backend"
        return Check(name, SKIP, detail), None
    landing, callback = stack.outputs.get("LandingUrl", ""), stack.outputs.get("CallbackUrl", "")
    if not landing or not callback:
        return Check(name, FAIL, "no LandingUrl or CallbackUrl output", "redeploy with this template"), None
    if not _secure_or_local(landing):
        return Check(name, FAIL, "not checked: LandingUrl is not HTTPS", "see the landing page check"), None
    response, error = _get(http, landing.rstrip("/") + "/authorize")
    if response is None:
        return Check(name, FAIL, f"unreachable ({error})", "see the landing page check"), None
    location = response.headers.get("Location", "")
    if response.status_code != 302 or not location:
        detail = f"/authorize answered {response.status_code}, not a redirect to PagerDuty"
        return Check(name, FAIL, detail, "open LandingUrl in a browser for the page's reason; see the StartFunction's log group"), response
    target, expected = urlsplit(location), urlsplit(identity_url)
    query = parse_qs(target.query)
    sent = (query.get("redirect_uri") or [""])[0]
    if (target.scheme, target.netloc, target.path) != (expected.scheme, expected.netloc, "/oauth/authorize"):
        where = f"{target.scheme}://{target.netloc}{target.path}"
        return Check(name, FAIL, f"redirects to {where}, not {identity_url}/oauth/authorize", "leave PD_IDENTITY_URL empty in a deployed stack"), response
    if sent != callback:
        action = f"the RedirectUrl parameter must be empty or exactly CallbackUrl; register exactly {callback} in PagerDuty"
        return Check(name, FAIL, f"redirect_uri is {sent or 'missing'}, CallbackUrl is {callback}", action), response
    client = (query.get("client_id") or [""])[0]
    if client != stack.parameters.get("PagerDutyClientId", client):
        return Check(name, FAIL, f"client_id {client} is not PagerDutyClientId", "make deploy again"), response
    if (query.get("code_challenge_method") or [""])[0] != "S256":
        return Check(name, FAIL, "no PKCE S256 challenge in the redirect", "deploy this version of the functions"), response
    return Check(name, OK, f"302 to {target.netloc} with redirect_uri {callback} (= CallbackUrl)"), response


def security_headers(*responses: requests.Response | None) -> Check:
    required = [*BASE_SECURITY_HEADERS, "Content-Security-Policy"]
    answered = [r for r in responses if r is not None]
    if not answered:
        return Check("security headers", FAIL, "no response to check", "see the landing page check")
    missing = sorted({h for r in answered for h in required if h not in r.headers})  # case-insensitive lookup
    if missing:
        action = "something in front of the API (a CDN, a proxy) drops them: let them through"
        return Check("security headers", FAIL, f"missing {', '.join(missing)}", action)
    return Check("security headers", OK, f"{len(required)} present on / and /authorize" if len(answered) > 1 else f"{len(required)} present on /")


def _secure_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)


def _get(http: requests.Session, url: str) -> tuple[requests.Response | None, str]:
    try:
        return http.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT_S), ""
    except requests.RequestException as error:
        return None, type(error).__name__  # the message could quote the URL's query


# --- operations ----------------------------------------------------------------------------------


def alarms(stack: Stack, template: Template, sns, cloudwatch) -> list[Check]:
    topic = stack.outputs.get("AlarmTopicArn", "")
    if not topic:
        return [Check("alarm subscriber", FAIL, "no AlarmTopicArn output", "redeploy with this template")]
    try:
        subscriptions = [
            s for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic) for s in page["Subscriptions"]
        ]
        notifying = [
            alarm["AlarmName"]
            for page in cloudwatch.get_paginator("describe_alarms").paginate()
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
            if topic in alarm.get("AlarmActions", [])
        ]
    except (ClientError, BotoCoreError) as error:
        return [Check("alarm subscriber", FAIL, f"cannot read the topic or alarms ({_error_code(error)})", "run with read access to SNS and CloudWatch")]
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
    pending = [s for s in subscriptions if s.get("SubscriptionArn") == "PendingConfirmation"]
    subscribe = f"set AlarmEmail and make deploy, or subscribe anything to {topic} (aws sns subscribe)"
    if confirmed:
        kinds = ", ".join(sorted({s.get("Protocol", "?") for s in confirmed}))
        subscriber = Check("alarm subscriber", OK, f"{len(confirmed)} confirmed ({kinds})")
    elif pending:
        subscriber = Check("alarm subscriber", FAIL, f"{len(pending)} awaiting confirmation", "open the confirmation link AWS e-mailed")
    else:
        subscriber = Check("alarm subscriber", FAIL, "nobody receives the alarms", subscribe)
    declared = len(template.resources_of_type("AWS::CloudWatch::Alarm"))
    if len(notifying) < declared:
        wired = Check("alarms", FAIL, f"{len(notifying)} of {declared} alarms notify AlarmTopicArn", "redeploy with this template")
    else:
        wired = Check("alarms", OK, f"{len(notifying)} notify AlarmTopicArn")
    return [subscriber, wired]


def throttling(stack: Stack, apigatewayv2) -> Check:
    api_id = stack.outputs.get("HttpApiId") or stack.physical_ids.get("HttpApi", "")
    if not api_id:
        return Check("throttling", FAIL, "cannot find the stack's HTTP API", "redeploy with this template (it outputs HttpApiId)")
    try:
        settings = apigatewayv2.get_stage(ApiId=api_id, StageName="$default").get("DefaultRouteSettings") or {}
    except ClientError as error:
        return Check("throttling", FAIL, f"cannot read the $default stage of {api_id} ({_error_code(error)})", "redeploy with this template")
    wanted = {key: stack.parameters.get(key, "") for key in ("ThrottlingRateLimit", "ThrottlingBurstLimit")}
    differ = [f"{key} {settings.get(key)} (wanted {value})" for key, value in wanted.items() if not _same_number(settings.get(key), value)]
    if differ:
        return Check("throttling", FAIL, "; ".join(differ), "make deploy again: the stage was changed outside CloudFormation")
    return Check("throttling", OK, f"{wanted['ThrottlingRateLimit']} requests/s, burst {wanted['ThrottlingBurstLimit']}")


def log_retention(stack: Stack, template: Template, logs) -> Check:
    wrong = []
    groups = [g for g in template.resources_of_type("AWS::Logs::LogGroup") if "RetentionInDays" in g.properties]
    for group in groups:
        expected, name = group.properties["RetentionInDays"], stack.physical_ids.get(group.logical_id, "")
        found = None
        if name:
            try:
                found = next(
                    (g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name), None
                )
            except ClientError as error:
                return Check("log retention", FAIL, f"cannot read {name} ({_error_code(error)})", "run with logs:DescribeLogGroups")
        if found is None:
            wrong.append(f"{group.logical_id} missing")
        elif found.get("retentionInDays") != expected:
            wrong.append(f"{group.logical_id} keeps {found.get('retentionInDays', 'forever')} days, not {expected}")
    if wrong:
        return Check("log retention", FAIL, "; ".join(wrong), "make deploy again: retention was changed outside CloudFormation")
    return Check("log retention", OK, f"{len(groups)} log groups, as the template sets")


def _same_number(actual: Any, wanted: str) -> bool:
    try:
        return actual is not None and float(actual) == float(wanted)
    except (TypeError, ValueError):
        return False


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "error")
    return type(error).__name__
