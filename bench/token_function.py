"""The token function: warm get_token latency, and 20 concurrent callers on an expired token.

The local stack runs in this process (`start_stack`: embedded moto over loopback HTTP, the
PagerDuty stand-in, the token function loaded from template.yaml and served by the local Invoke
API). One connection is made through the real flow. Then, interleaved per iteration so each
figure sees the same machine, warm `get_token` for that connection:

- in process: the token function's handler called directly, and the library directly
  (AccessTokens.get, what a Python function with table grants runs);
- through the local Invoke endpoint: boto3's lambda.invoke, and the library with
  PD_CONNECT_TOKEN_FUNCTION set (TokenFunctionClient), each through the endpoint to the handler.

All four make the same GetItem to the embedded AWS; KMS calls are counted during the warm loop
(the design: none while the record is unchanged). Then the stored token is made expired and 20
token-function containers (each its own AccessTokens and cache) ask at once: the PagerDuty
refresh calls are counted, and every answer's token is checked against PagerDuty's /users/me.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter

import requests

from .browser import Browser, add_users
from .common import REPOSITORY, distribution_ms, handler_environment, write_json

WARMUP = 20
CONCURRENT_CALLERS = 20


class _Context:
    function_name = "TokenFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:TokenFunction"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 40_000


def measure(requests_per_path: int) -> dict:
    import boto3

    boto3.setup_default_session()
    from local.stack.runner import start_stack

    env = handler_environment()
    for name in ("TABLE_NAME", "TOKEN_KEY_ID", "CLIENT_SECRET_ID", "PD_CLIENT_ID"):
        env.pop(name)  # the stack sets these from the template
    running = start_stack(REPOSITORY / "template.yaml", port=0, env=env)
    try:
        return _measure(running, requests_per_path)
    finally:
        running.stop()


def _measure(running, requests_per_path: int) -> dict:
    import boto3
    from pd_connect.container import process_container
    from pd_connect.token_function.client import TokenFunctionClient
    from pd_connect.vault.connections import ConnectionKey

    standin = os.environ["PD_IDENTITY_URL"]
    (login,) = add_users(standin, 1, "PBENCHTOKEN")
    browser = Browser(running.landing_url)
    flow = browser.connect(login)
    browser.close()
    if not flow.ok:
        raise RuntimeError(f"the connect flow failed: {flow.error}")
    key_text = _only_connection_key(running)
    key = ConnectionKey.parse(key_text)

    token_handler = sys.modules["token_handler"]
    library = process_container().access_tokens  # the process's, as the token function's is
    lambda_client = boto3.client("lambda", endpoint_url=running.lambda_endpoint)
    remote_library = TokenFunctionClient(lambda_client, "TokenFunction")
    request = {"action": "get_token", "connection": key_text}
    payload = json.dumps(request).encode()

    def handler_in_process():
        assert token_handler.handler(request, _Context())["ok"]

    def library_in_process():
        library.get(key)

    def boto3_through_endpoint():
        out = lambda_client.invoke(FunctionName="TokenFunction", Payload=payload)
        assert json.loads(out["Payload"].read())["ok"]

    def library_through_endpoint():
        remote_library.get(key)

    paths = {
        "handler_in_process": handler_in_process,
        "library_in_process": library_in_process,
        "invoke_endpoint_boto3": boto3_through_endpoint,
        "invoke_endpoint_library": library_through_endpoint,
    }
    kms_calls: Counter = Counter()
    process_container().aws.kms.meta.events.register("before-call.kms", lambda model, **_: kms_calls.update([model.name]))
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for iteration in range(WARMUP + requests_per_path):
        if iteration == WARMUP:
            kms_calls.clear()  # the warm-up decrypted once; from here the record does not change
        for name, call in paths.items():
            started = time.perf_counter()
            call()
            if iteration >= WARMUP:
                samples[name].append(time.perf_counter() - started)
    warm = {name: distribution_ms(values) for name, values in samples.items()}
    return {
        "requests_per_path": requests_per_path,
        "warm_get_token": warm,
        "warm_kms_calls": sum(kms_calls.values()),
        "concurrent_refresh": _concurrent_refresh(running, key, standin),
    }


def _only_connection_key(running) -> str:
    dynamodb = running.aws.client("dynamodb")
    items = dynamodb.scan(TableName=os.environ["TABLE_NAME"])["Items"]
    (item,) = [i for i in items if i["kind"]["S"] == "connection"]
    return f"{item['account_id']['S']}/{item['user_id']['S']}"


def _concurrent_refresh(running, key, standin: str) -> dict:
    """Expire the stored token, then 20 token-function containers ask for it at once."""
    from pd_connect.container import Container
    from pd_connect.token_function.service import token_service

    running.aws.client("dynamodb").update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": key.pk}},
        UpdateExpression="SET access_token_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    containers = [token_service(Container()) for _ in range(CONCURRENT_CALLERS)]  # each its own clients and caches
    before = _refresh_calls(standin)
    barrier, answers, seconds = threading.Barrier(CONCURRENT_CALLERS), [], []
    lock = threading.Lock()

    def call(container):
        barrier.wait()
        started = time.perf_counter()
        answer = container.answer({"action": "get_token", "connection": str(key)})
        with lock:
            answers.append(answer)
            seconds.append(time.perf_counter() - started)

    threads = [threading.Thread(target=call, args=(c,)) for c in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tokens_seen = {a.get("access_token") for a in answers}
    valid = [_accepted(a) for a in answers if a.get("ok")]
    return {
        "callers": CONCURRENT_CALLERS,
        "answered_ok": sum(1 for a in answers if a.get("ok")),
        "refresh_calls_to_pagerduty": _refresh_calls(standin) - before,
        "distinct_tokens": len(tokens_seen),
        "token_accepted_by_pagerduty": all(valid) and bool(valid),
        "latency": distribution_ms(seconds),
    }


def _refresh_calls(standin: str) -> int:
    return int(requests.get(f"{standin}/_standin/calls", timeout=10).json().get("token_refresh", 0))


def _accepted(answer: dict) -> bool:
    headers = {"Authorization": f"Bearer {answer['access_token']}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return requests.get(f"{answer['api_base']}/users/me", headers=headers, timeout=10).status_code == 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.token_function", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPOSITORY / "functions"))
    write_json(__import__("pathlib").Path(args.out), measure(args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
