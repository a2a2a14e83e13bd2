"""Remote calls per successful connection, counted over complete flows against the local stack.

The local stack (embedded moto, the PagerDuty stand-in, the local API running the unmodified
handlers) is started in this process, so every AWS call the handlers make is seen by a botocore
`before-call` hook on the default boto3 session their clients are made from (the stack's own
provisioning uses sessions of its own and is not counted). PagerDuty calls are the stand-in's
counters (`GET /_standin/calls`). A browser goes through the flow over HTTP:

- cold: the first flow after start, each function's first request (a cold container);
- warm: a second flow, a different PagerDuty user, the same containers;
- reconnect: the warm flow's user connects again (the stored connection is replaced).

Each flow signs in a PagerDuty user added for it, so each makes a new connection.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import requests

from .browser import Browser, add_users
from .common import REPOSITORY, handler_environment, write_json

# The design's minimum per successful connection (README, "What it costs").
DESIGN_MINIMUM = {
    "authorize": {"dynamodb.PutItem": 1},
    "callback": {
        "dynamodb.DeleteItem": 1,
        "dynamodb.PutItem": 1,
        "kms.Encrypt": 1,
        "pagerduty.token": 1,
        "pagerduty.users_me": 1,
    },
}
SECRET_CALL = "secrets-manager.GetSecretValue"
ROUTES = {"landing": "/", "authorize": "/authorize", "callback": "/callback"}


class AwsCallCounter:
    """Counts API calls (and HTTP attempts, retries included) of every client made from a session."""

    def __init__(self, session) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        session.events.register("before-call", self._call)
        session.events.register("before-send", self._attempt)

    def _call(self, event_name: str, **_) -> None:
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    def _attempt(self, event_name: str, **_) -> None:
        service = event_name.split(".")[1]
        with self._lock:
            self.attempts[service] += 1

    def snapshot(self) -> tuple[Counter, Counter]:
        with self._lock:
            return Counter(self.calls), Counter(self.attempts)


def measure() -> dict:
    import boto3

    # Before anything imports the handlers: their clients come from this session.
    boto3.setup_default_session()
    counter = AwsCallCounter(boto3.DEFAULT_SESSION)

    from local.stack.runner import start_stack

    env = handler_environment()
    for name in ("TABLE_NAME", "TOKEN_KEY_ID", "CLIENT_SECRET_ID", "PD_CLIENT_ID"):
        env.pop(name)  # the stack sets these from the template
    running = start_stack(REPOSITORY / "template.yaml", port=0, env=env)
    try:
        standin = os.environ["PD_IDENTITY_URL"]
        first, second = add_users(standin, 2, "PBENCHCALL")
        flows = {
            "cold": _counted_flow(running.landing_url, first, counter, standin),
            "warm": _counted_flow(running.landing_url, second, counter, standin),
            "reconnect": _counted_flow(running.landing_url, second, counter, standin),
        }
    finally:
        running.stop()
    return {
        "flows": flows,
        "design_minimum": DESIGN_MINIMUM,
        "meets_target": _meets_design_minimum(flows),
    }


def _counted_flow(running_url: str, login: str, counter: AwsCallCounter, standin: str) -> dict:
    """Run one flow; the calls each of our routes made (AWS by operation, PagerDuty by endpoint)."""
    per_route: dict[str, Counter] = {route: Counter() for route in ROUTES}
    attempts: Counter = Counter()

    @contextmanager
    def count(step: str):
        calls_before, attempts_before = counter.snapshot()
        pagerduty_before = _pagerduty_calls(standin)
        yield
        calls_after, attempts_after = counter.snapshot()
        pagerduty_made = _pagerduty_calls(standin) - pagerduty_before
        if step in ROUTES:
            per_route[step].update(calls_after - calls_before)
            per_route[step]["pagerduty.token"] += pagerduty_made["token_authorization_code"]
            per_route[step]["pagerduty.users_me"] += pagerduty_made["users_me"]
        attempts.update(attempts_after - attempts_before)

    browser = Browser(running_url, observe=count)
    try:
        result = browser.connect(login)
    finally:
        browser.close()
    total: Counter = Counter()
    for calls in per_route.values():
        total.update(calls)
    return {
        "ok": result.ok,
        "error": result.error,
        "routes": {route: dict(sorted((+calls).items())) for route, calls in per_route.items()},
        "total": dict(sorted((+total).items())),
        "aws_calls": sum(n for name, n in total.items() if not name.startswith("pagerduty.")),
        "aws_http_attempts": dict(sorted(attempts.items())),
        "pagerduty_calls": sum(n for name, n in total.items() if name.startswith("pagerduty.")),
    }


def _pagerduty_calls(standin: str) -> Counter:
    return Counter(requests.get(f"{standin}/_standin/calls", timeout=10).json())


def _meets_design_minimum(flows: dict) -> bool:
    for name in ("cold", "warm"):
        flow = flows[name]
        expected = {route: Counter(calls) for route, calls in DESIGN_MINIMUM.items()}
        expected["callback"][SECRET_CALL] = 1 if name == "cold" else 0
        for route, calls in expected.items():
            made = Counter(flow["routes"][route])
            if +made != +calls:
                return False
        if flow["routes"]["landing"] or not flow["ok"]:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_calls", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = measure()
    if args.out:
        write_json(args.out, result)
    for name, flow in result["flows"].items():
        print(name, flow["routes"], "ok" if flow["ok"] else flow["error"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
