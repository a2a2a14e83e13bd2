"""The local stack under 10, 50 and 200 concurrent complete flows.

`python -m local.stack` runs as a child process on a free PORT (embedded moto, the PagerDuty
stand-in and the local API running the handlers, exactly as `make run`). For each level, that
many simulated browsers (threads, each with its own requests.Session and binding cookie) each
go through `rounds` complete flows back to back, every flow signing in a PagerDuty user of its
own, so every successful flow stores one new connection. Reported per level: flows per second,
p50/p99 of each request, errors, and the connections the table holds against those expected
(counted with a DynamoDB scan through the stack's own AWS endpoint).

The stack is one process, like one Lambda container per function: each function serves one
request at a time (local/stack/lambda_runtime.py), so the figures are the local stack's, not
Lambda's, which would scale out with concurrent containers.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .browser import STEPS, Browser, FlowResult, add_users
from .common import REPOSITORY, RESULTS, distribution_ms, free_port, handler_environment, write_json

LEVELS = (10, 50, 200)
READY_TIMEOUT_S = 90


class LocalStack:
    """`python -m local.stack` as a child process, its output in a log file."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        env = handler_environment(PORT=str(self.port), LAMBDA_PORT=str(free_port()), PYTHONUNBUFFERED="1")
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "TABLE_NAME",
            "TOKEN_KEY_ID",
            "CLIENT_SECRET_ID",
            "PD_CLIENT_ID",
        ):
            env.pop(name)  # the stack chooses its own (fake credentials, the template's resources)
        self._out = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.stack"], cwd=REPOSITORY, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )
        self.base_url = f"http://localhost:{self.port}"
        self.standin_url, self.aws_url = self._wait_until_ready()

    def _wait_until_ready(self) -> tuple[str, str]:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            if f"Open {self.base_url}/" in text:
                standin = re.search(r"PagerDuty stand-in at (http://\S+)", text)
                aws = re.search(r"AWS\s+embedded moto at (http://\S+)", text)
                key = re.search(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", text)
                if not (standin and aws and key):
                    raise RuntimeError(f"the local stack did not print its services; see {self.log}")
                self.aws_key = key.groups()  # the embedded AWS accepts only this run's key
                return standin.group(1), aws.group(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"the local stack exited ({self.process.returncode}); see {self.log}")
            time.sleep(0.2)
        raise RuntimeError(f"the local stack was not ready within {READY_TIMEOUT_S} s; see {self.log}")

    def connections_stored(self) -> int:
        """Connections in the stack's table: a scan through its AWS endpoint (never the tokens)."""
        import boto3

        dynamodb = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id=self.aws_key[0],
            aws_secret_access_key=self.aws_key[1],
        )
        (table,) = dynamodb.list_tables()["TableNames"]
        count = 0
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table,
            Select="COUNT",
            FilterExpression="#kind = :connection",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={":connection": {"S": "connection"}},
        ):
            count += page["Count"]
        return count

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()


def run_level(stack: LocalStack, concurrency: int, rounds: int, stored_before: int) -> dict:
    logins = add_users(stack.standin_url, concurrency * rounds, f"PLOAD{concurrency}X")

    def browse(worker: int) -> list[FlowResult]:
        browser = Browser(stack.base_url)
        try:
            return [browser.connect(logins[worker * rounds + n]) for n in range(rounds)]
        finally:
            browser.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = [flow for flows in pool.map(browse, range(concurrency)) for flow in flows]
    elapsed = time.perf_counter() - began
    ok = sum(flow.ok for flow in results)
    errors: dict[str, int] = {}
    for flow in results:
        if not flow.ok:
            errors[flow.error] = errors.get(flow.error, 0) + 1
    stored = stack.connections_stored() - stored_before
    return {
        "concurrency": concurrency,
        "flows": len(results),
        "flows_ok": ok,
        "seconds": round(elapsed, 2),
        "flows_per_second": round(ok / elapsed, 2),
        "requests": sum(len(flow.seconds) for flow in results),
        "request_ms": distribution_ms([s for flow in results for s in flow.seconds.values()]),
        "request_ms_by_step": {
            step: distribution_ms([flow.seconds[step] for flow in results if step in flow.seconds]) for step in STEPS
        },
        "flow_ms": distribution_ms([sum(flow.seconds.values()) for flow in results]),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "connections_expected": len(results),
        "connections_stored": stored,
    }


def measure(levels: tuple[int, ...] = LEVELS, rounds: int = 2) -> dict:
    stack = LocalStack(RESULTS / "load-stack.log")
    try:
        warm = Browser(stack.base_url)  # every function's first (cold) request, outside the figures
        warm_up = warm.connect(add_users(stack.standin_url, 1, "PLOADWARM")[0])
        warm.close()
        if not warm_up.ok:
            raise RuntimeError(f"warm-up flow failed: {warm_up.error}; see {stack.log}")
        stored = stack.connections_stored()
        results = []
        for concurrency in levels:
            level = run_level(stack, concurrency, rounds, stored)
            stored += level["connections_stored"]
            results.append(level)
    finally:
        stack.stop()
    return {"rounds_per_browser": rounds, "levels": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument("--rounds", type=int, default=2, help="flows each simulated browser goes through")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = measure(tuple(args.levels), args.rounds)
    if args.out:
        write_json(args.out, result)
    for level in result["levels"]:
        print({k: v for k, v in level.items() if k != "request_ms_by_step"}, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
