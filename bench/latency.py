"""Warm in-process latency per route, beside the same AWS calls made alone.

Both handlers run in this process against in-memory AWS (moto's mock_aws: no network), with
PagerDuty replaced by an in-process fake mounted on the callback's requests.Session (the token
and /users/me answers are canned; the session, adapters and response parsing are requests' own).
What is left is our overhead: event parsing, state and binding checks, token parsing, page
rendering, logging and metrics, and boto3's own work for each call.

Per iteration, interleaved so each figure sees the same machine: GET / ; GET /authorize ; the
authorize route's AWS call alone (PutItem) ; GET /callback for that authorization ; the
callback's AWS calls alone (conditional DeleteItem returning the item, KMS Encrypt, conditional
PutItem) on an item put beforehand, untimed. Each callback signs in a new PagerDuty user, so
each is a new connection. The first iterations warm the containers and are not counted.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .common import FUNCTIONS, REPOSITORY, distribution_ms, handler_environment, write_json

SITE = "connect.example.com"
PAGERDUTY = "https://pagerduty.bench.invalid"  # never resolved: the fake answers in-process
WARMUP = 20


class FakePagerDuty:
    """A requests transport adapter answering the token endpoint and /users/me at once."""

    def __init__(self) -> None:
        self.calls = {"token": 0, "users_me": 0}

    def send(self, request, **_):
        import requests

        path = urlsplit(request.url).path
        if path.endswith("/oauth/token"):
            self.calls["token"] += 1
            user_id = f"PFAKE{self.calls['token']:06d}"
            claims = {
                "account_id": "PBENCHACCT",
                "user_id": user_id,
                "subdomain": "bench",
                "aud": "https://api.pagerduty.com",
            }
            id_token = ".".join(_b64(part) for part in ({"alg": "none"}, claims, {}))
            body = {
                "access_token": f"pdus+_0bench-access-{user_id}",
                "refresh_token": f"pdus+_1bench-refresh-{user_id}",
                "token_type": "bearer",
                "expires_in": 864000,
                "scope": "read",
                "id_token": id_token,
            }
        elif path.endswith("/users/me"):
            self.calls["users_me"] += 1
            body = {
                "user": {
                    "id": "PFAKEUSER",
                    "name": "Bench User",
                    "email": "bench@example.com",
                    "avatar_url": "https://secure.gravatar.com/avatar/0?d=mp",
                    "html_url": "https://bench.pagerduty.com/users/PFAKEUSER",
                }
            }
        else:
            body = {"error": "not_found"}
        response = requests.Response()
        response.status_code = 200 if "error" not in body else 404
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(body).encode()
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def _b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _event(path: str, query: str = "", cookie: str = "") -> dict:
    from local.stack.events import HttpRequest, build_event

    headers = [("Host", SITE), ("User-Agent", "bench")]
    if cookie:
        headers.append(("Cookie", cookie))
    request = HttpRequest("GET", path, query, tuple(headers), b"", "127.0.0.1", "HTTP/1.1")
    return build_event(request, route_key=f"GET {path}", server_port=443)


def measure(requests_per_route: int) -> dict:
    from moto import mock_aws

    os.environ.update(
        handler_environment(
            PD_IDENTITY_URL=PAGERDUTY,
            PD_API_URL=PAGERDUTY,
            PD_API_URL_EU=f"{PAGERDUTY}/eu",
            PD_REDIRECT_URI="",
            ALLOW_ANONYMOUS_CONNECT="true",
        )
    )
    sys.path.insert(0, str(FUNCTIONS))
    with mock_aws():
        from local.stack.provision import provision_in_this_process
        from local.stack.template import load_template

        # The table, key and secret as template.yaml declares them (the local stack's provisioning).
        secret = {"client_secret": "bench-client-secret-value"}
        os.environ.update(provision_in_this_process(load_template(REPOSITORY / "template.yaml"), secret))
        start = importlib.import_module("start_handler")
        callback = importlib.import_module("callback_handler")
        from pd_connect.container import process_container

        from local.stack.lambda_runtime import LambdaContext

        pagerduty = FakePagerDuty()
        process_container().http.mount(PAGERDUTY, pagerduty)  # the callback's session
        context = LambdaContext(
            function_name="bench",
            memory_limit_in_mb=512,
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
            aws_request_id="bench",
            log_group_name="/aws/lambda/bench",
            log_stream_name="bench",
            deadline_epoch_s=time.time() + 10**6,
        )
        aws = process_container().aws
        alone = _AwsAlone(aws.dynamodb, aws.kms, os.environ["TABLE_NAME"], os.environ["TOKEN_KEY_ID"])
        seconds: dict[str, list[float]] = {
            "landing": [],
            "authorize": [],
            "callback": [],
            "authorize_aws": [],
            "callback_aws": [],
        }
        cookie = ""
        statuses: dict[str, dict[int, int]] = {"landing": {}, "authorize": {}, "callback": {}}
        for i in range(WARMUP + requests_per_route):
            timer = _Timer(seconds, counted=i >= WARMUP)
            landing = timer.time("landing", start.handler, _event("/"), context)
            authorize = timer.time("authorize", start.handler, _event("/authorize", cookie=cookie), context)
            timer.time("authorize_aws", alone.authorize)
            for set_cookie in authorize.get("cookies", []):
                cookie = set_cookie.split(";")[0]
            state = parse_qs(urlsplit(authorize["headers"]["Location"]).query)["state"][0]
            event = _event("/callback", f"code=bench-code-{i}&state={state}", cookie)
            done = timer.time("callback", callback.handler, event, context)
            alone.prepare_callback()
            timer.time("callback_aws", alone.callback)
            if timer.counted:
                for route, result in (("landing", landing), ("authorize", authorize), ("callback", done)):
                    statuses[route][result["statusCode"]] = statuses[route].get(result["statusCode"], 0) + 1

    routes = {}
    for route, aws in (("landing", None), ("authorize", "authorize_aws"), ("callback", "callback_aws")):
        figures = {"handler": distribution_ms(seconds[route]), "statuses": statuses[route]}
        if aws:
            figures["aws_calls_alone"] = distribution_ms(seconds[aws])
            figures["overhead_p50_ms"] = round(figures["handler"]["p50_ms"] - figures["aws_calls_alone"]["p50_ms"], 3)
        routes[route] = figures
    return {
        "requests_per_route": requests_per_route,
        "warmup_requests": WARMUP,
        "aws": "moto mock_aws, in process",
        "pagerduty": "in-process fake on the callback's requests.Session",
        "pagerduty_calls": pagerduty.calls,
        "routes": routes,
    }


class _Timer:
    def __init__(self, seconds: dict[str, list[float]], *, counted: bool) -> None:
        self._seconds = seconds
        self.counted = counted

    def time(self, name: str, call, *args):
        began = time.perf_counter()
        result = call(*args)
        if self.counted:
            self._seconds[name].append(time.perf_counter() - began)
        return result


class _AwsAlone:
    """The routes' AWS calls, made directly with the handlers' own clients and item shapes."""

    def __init__(self, dynamodb, kms, table: str, key_id: str) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._kms = kms
        self._key_id = key_id
        self._n = 0

    def authorize(self) -> None:
        self._n += 1
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"pending#alone-{self._n:064d}"},
                "kind": {"S": "pending"},
                "code_verifier": {"S": "v" * 43},
                "redirect_uri": {"S": f"https://{SITE}/callback"},
                "binding_hash": {"S": "h" * 64},
                "expires_at": {"N": str(int(time.time()) + 600)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def prepare_callback(self) -> None:
        self.authorize()  # the pending item the callback consumes

    def callback(self) -> None:
        self._dynamodb.delete_item(
            TableName=self._table,
            Key={"pk": {"S": f"pending#alone-{self._n:064d}"}},
            ConditionExpression="attribute_exists(pk) AND binding_hash = :binding AND expires_at > :now",
            ExpressionAttributeValues={":binding": {"S": "h" * 64}, ":now": {"N": str(int(time.time()))}},
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        pk = f"connection#PALONE#U{self._n:06d}"
        ciphertext = self._kms.encrypt(
            KeyId=self._key_id,
            Plaintext=json.dumps({"access_token": "a" * 40, "refresh_token": "r" * 40}).encode(),
            EncryptionContext={"purpose": "pagerduty-oauth-tokens", "record": pk},
        )["CiphertextBlob"]
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": pk},
                "kind": {"S": "connection"},
                "account_id": {"S": "PALONE"},
                "user_id": {"S": f"U{self._n:06d}"},
                "user_name": {"S": "Bench User"},
                "user_email": {"S": "bench@example.com"},
                "subdomain": {"S": "bench"},
                "region": {"S": "US"},
                "api_base": {"S": PAGERDUTY},
                "scopes": {"S": "read"},
                "access_token_expires_at": {"N": str(int(time.time()) + 864000)},
                "profile_loaded": {"BOOL": True},
                "needs_reauthorization": {"BOOL": False},
                "tokens": {"B": ciphertext},
                "created_at": {"S": "2026-01-01T00:00:00+00:00"},
                "updated_at": {"S": "2026-01-01T00:00:00+00:00"},
                "token_version": {"N": "1"},
            },
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = measure(args.requests)
    if args.out:
        write_json(args.out, result)
    for route, figures in result["routes"].items():
        print(route, figures, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
