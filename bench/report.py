"""The README-ready table: every figure of one `make bench` run, with its date and machine."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

from .common import REPOSITORY

AWS_NAMES = {
    "dynamodb.PutItem": "DynamoDB PutItem",
    "dynamodb.DeleteItem": "DynamoDB DeleteItem",
    "kms.Encrypt": "KMS Encrypt",
    "secrets-manager.GetSecretValue": "Secrets Manager GetSecretValue",
    "pagerduty.token": "PagerDuty token",
    "pagerduty.users_me": "PagerDuty users/me",
}


def machine() -> dict:
    """When and where the figures were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("boto3", "moto", "requests", "aws-lambda-powertools"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "working_tree_clean": _git("status", "--porcelain", "--", "functions") == "",
        "versions": versions,
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _yes(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _ms(value: float | None) -> str:
    return "–" if value is None else (f"{value:.2f}" if value < 10 else f"{value:.0f}")


def _calls(calls: dict[str, int]) -> str:
    shown = [f"{AWS_NAMES.get(name, name)} {count}" for name, count in calls.items() if count]
    return ", ".join(shown) or "none"


def render(results: dict) -> str:
    m = results["machine"]
    lines = [
        (
            f"Benchmark of {m['date'][:10]} on {m['cpu_model']} ({m['cpu_cores']} cores), Python {m['python']}, "
            f"commit {m['commit'] or '?'}{'' if m['working_tree_clean'] else ' (functions/ modified)'}; "
            "every figure from this one run."
        ),
        "",
    ]
    cold = results.get("cold_start")
    if cold:
        start, callback = cold["handlers"]["start"], cold["handlers"]["callback"]
        lines += [
            f"| Cold init, fresh process, median of {cold['runs']} interleaved | start | callback | target |",
            "|---|---|---|---|",
            (
                "| init ÷ boto3 baseline (import + clients, `perf_counter` in the child) | "
                f"{_x(start['init_ratio'])} ({_ms(start['init_ms_median'])} vs "
                f"{_ms(start['baseline_init_ms_median'])} ms) | "
                f"{_x(callback['init_ratio'])} ({_ms(callback['init_ms_median'])} vs "
                f"{_ms(callback['baseline_init_ms_median'])} ms) | ≤ 1.20×: start {_yes(start['meets_target'])}, "
                f"callback {_yes(callback['meets_target'])} |"
            ),
            f"| whole process wall ÷ baseline (spawn to exit) | {_x(start['wall_ratio'])} | {_x(callback['wall_ratio'])} | |",
            (
                f"| garbage collection in init, ms (full collections) | {_ms(start['gc_ms_median'])} "
                f"({start['full_gc_collections']}) vs {_ms(start['baseline_gc_ms_median'])} "
                f"({start['baseline_full_gc_collections']}) | {_ms(callback['gc_ms_median'])} "
                f"({callback['full_gc_collections']}) vs {_ms(callback['baseline_gc_ms_median'])} "
                f"({callback['baseline_full_gc_collections']}) | |"
            ),
        ]
        if "instructions_ratio" in start:
            lines.append(
                "| instructions ÷ baseline (valgrind; noise-free) | "
                f"{_x(start['instructions_ratio'])} | {_x(callback['instructions_ratio'])} | |"
            )
        if "deployed_init_ratio" in start:
            lines.append(
                "| the `sam build` bundle under this Python (cannot use its 3.13 bytecode) ÷ baseline | "
                f"{_x(start['deployed_init_ratio'])} | {_x(callback['deployed_init_ratio'])} | |"
            )
        runtime = results.get("runtime_cold_start") or {}
        if runtime.get("handlers"):
            rs, rc = runtime["handlers"]["start"], runtime["handlers"]["callback"]
            lines += [
                (
                    f"| **as Lambda runs it**: the bundle with its bytecode on {runtime['python']}, ÷ boto3 on the same | "
                    f"{_x(rs['bundle_ratio'])} ({_ms(rs['bundle_ms_median'])} vs {_ms(rs['baseline_ms_median'])} ms) | "
                    f"{_x(rc['bundle_ratio'])} ({_ms(rc['bundle_ms_median'])} vs {_ms(rc['baseline_ms_median'])} ms) | "
                    f"≤ 1.20×: start {_yes(rs['meets_target'])}, callback {_yes(rc['meets_target'])} |"
                ),
                (
                    f"| the same bundle stripped of bytecode, {runtime['python']} | "
                    f"{_x(rs['without_bytecode_ratio'])} | {_x(rc['without_bytecode_ratio'])} | |"
                ),
            ]
            if "cpu" in rs:
                for clock in ("wall", "cpu"):
                    a, b = rs[clock], rc[clock]
                    lines += [
                        (
                            f"| as Lambda runs it, {clock}: ÷ the named-package floor | "
                            f"{_x(a['floor_ratio'])} ({_ms(a['bundle_ms_median'])} vs {_ms(a['floor_ms_median'])} ms; "
                            f"paired {_x(a['paired_floor_ratio'])}) | "
                            f"{_x(b['floor_ratio'])} ({_ms(b['bundle_ms_median'])} vs {_ms(b['floor_ms_median'])} ms; "
                            f"paired {_x(b['paired_floor_ratio'])}) | ≤ 1.05× |"
                        ),
                        (
                            f"| as Lambda runs it, {clock}: ÷ the floor with the collector paused as the handlers pause it "
                            "(the package's own code) | "
                            f"{_x(a['paused_floor_ratio'])} ({_ms(a['bundle_ms_median'])} vs {_ms(a['paused_floor_ms_median'])} ms; "
                            f"paired {_x(a['paired_paused_floor_ratio'])}) | "
                            f"{_x(b['paused_floor_ratio'])} ({_ms(b['bundle_ms_median'])} vs {_ms(b['paused_floor_ms_median'])} ms; "
                            f"paired {_x(b['paired_paused_floor_ratio'])}) | |"
                        ),
                        (
                            f"| as Lambda runs it, {clock}: ÷ boto3 alone | "
                            f"{_x(a['bundle_ratio'])} ({_ms(a['bundle_ms_median'])} vs {_ms(a['baseline_ms_median'])} ms) | "
                            f"{_x(b['bundle_ratio'])} ({_ms(b['bundle_ms_median'])} vs {_ms(b['baseline_ms_median'])} ms) | ≤ 1.20× |"
                        ),
                    ]
        elif runtime.get("skipped"):
            lines.append(f"| as Lambda runs it (Python 3.13) | skipped: {runtime['skipped']} | | |")
        lines.append("")
    calls = results.get("remote_calls")
    if calls:
        flows, minimum = calls["flows"], calls["design_minimum"]
        lines += [
            "| Remote calls per connection (local stack, full flow) | cold container | warm container | design minimum |",
            "|---|---|---|---|",
        ]
        for route in ("landing", "authorize", "callback"):
            expected = dict(minimum.get(route, {}))
            if route == "callback":
                expected["secrets-manager.GetSecretValue"] = "1 cold, 0 warm"
            shown_minimum = ", ".join(f"{AWS_NAMES.get(k, k)} {v}" for k, v in expected.items()) or "none"
            path = {"landing": "/", "authorize": "/authorize", "callback": "/callback"}[route]
            lines.append(
                f"| `GET {path}` | {_calls(flows['cold']['routes'][route])} | "
                f"{_calls(flows['warm']['routes'][route])} | {shown_minimum} |"
            )
        lines.append(
            f"| `GET /callback`, the same user again (warm) | | {_calls(flows['reconnect']['routes']['callback'])} | |"
        )
        lines += [f"| design minimum | {_yes(calls['meets_target'])} | | |", ""]
    size = results.get("package_size")
    if size:
        lines += ["| Zipped function (`sam build`) | bytes | MB | target ≤ 2 MB |", "|---|---|---|---|"]
        for name, figures in size["functions"].items():
            lines.append(
                f"| {name} | {figures['zip_bytes']:,} | {figures['zip_mb']:.2f} | {_yes(figures['meets_target'])} |"
            )
        lines.append("")
    latency = results.get("latency")
    if latency:
        routes = latency["routes"]
        lines += [
            (
                f"| Warm latency in process, {latency['requests_per_route']} requests (moto, fake PagerDuty) | "
                "p50 ms | p99 ms | same AWS calls alone p50 / p99 ms | our overhead p50 ms |"
            ),
            "|---|---|---|---|---|",
        ]
        for route, path in (("landing", "/"), ("authorize", "/authorize"), ("callback", "/callback")):
            figures = routes[route]
            alone = figures.get("aws_calls_alone")
            alone_text = f"{_ms(alone['p50_ms'])} / {_ms(alone['p99_ms'])}" if alone else "no AWS calls"
            overhead = figures.get("overhead_p50_ms", figures["handler"]["p50_ms"])
            lines.append(
                f"| `GET {path}` | {_ms(figures['handler']['p50_ms'])} | {_ms(figures['handler']['p99_ms'])} | "
                f"{alone_text} | {_ms(overhead)} |"
            )
        lines.append("")
    tokens = results.get("token_function")
    if tokens:
        warm, race = tokens["warm_get_token"], tokens["concurrent_refresh"]
        lines += [
            f"| Warm `get_token`, {tokens['requests_per_path']} requests (local stack, embedded AWS over loopback) | p50 ms | p99 ms |",
            "|---|---|---|",
        ]
        for name, label in (
            ("handler_in_process", "token function handler, in process"),
            ("library_in_process", "library directly (`get_access_token`, table grants), in process"),
            ("invoke_endpoint_boto3", "token function through the local Invoke endpoint (boto3 `lambda.invoke`)"),
            ("invoke_endpoint_library", "library with `PD_CONNECT_TOKEN_FUNCTION`, through the local Invoke endpoint"),
        ):
            lines.append(f"| {label} | {_ms(warm[name]['p50_ms'])} | {_ms(warm[name]['p99_ms'])} |")
        lines += [
            f"| KMS calls during the warm requests (record unchanged) | {tokens['warm_kms_calls']} | |",
            "",
            "| 20 concurrent `get_token` on an expired token (20 token-function containers) | result |",
            "|---|---|",
            f"| answered with a token | {race['answered_ok']} / {race['callers']} |",
            f"| refresh calls to PagerDuty | {race['refresh_calls_to_pagerduty']} (target 1: {_yes(race['refresh_calls_to_pagerduty'] == 1)}) |",
            f"| distinct tokens in the answers; PagerDuty accepts it | {race['distinct_tokens']}; {_yes(race['token_accepted_by_pagerduty'])} |",
            f"| answer latency p50 / p99 ms | {_ms(race['latency']['p50_ms'])} / {_ms(race['latency']['p99_ms'])} |",
            "",
        ]
    load = results.get("load")
    if load:
        lines += [
            (
                f"| Local stack (`python -m local.stack`), {load['rounds_per_browser']} flows per browser | "
                "flows/s | request p50 / p99 ms | /callback p50 / p99 ms | errors | connections stored / expected |"
            ),
            "|---|---|---|---|---|---|",
        ]
        for level in load["levels"]:
            request, callback = level["request_ms"], level["request_ms_by_step"]["callback"]
            lines.append(
                f"| {level['concurrency']} concurrent browsers, {level['flows']} flows | {level['flows_per_second']:.1f} | "
                f"{_ms(request['p50_ms'])} / {_ms(request['p99_ms'])} | {_ms(callback['p50_ms'])} / "
                f"{_ms(callback['p99_ms'])} | {level['errors']} | {level['connections_stored']} / "
                f"{level['connections_expected']} |"
            )
        lines.append("")
    return "\n".join(lines)
