"""What the benchmark parts share: paths, the handlers' environment, percentiles, result files."""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
FUNCTIONS = REPOSITORY / "functions"
RESULTS = REPOSITORY / "bench-results"

# Fake credentials and a region: nothing a benchmark does may ever reach a real AWS account.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that would send boto3 elsewhere (a profile, a session, another endpoint).
_AWS_SHADOWING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def handler_environment(**settings: str) -> dict[str, str]:
    """This process's environment, cleaned of AWS and PagerDuty settings, plus what the handlers
    read at start (the values are placeholders unless `settings` gives real ones)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PD_", "POWERTOOLS_")) and name not in _AWS_SHADOWING
    }
    env.update(FAKE_AWS)
    env.update(
        PD_CLIENT_ID="bench-client",
        TABLE_NAME="bench-table",
        TOKEN_KEY_ID="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
        CLIENT_SECRET_ID="arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf",
        POWERTOOLS_SERVICE_NAME="pagerduty-connect",
        POWERTOOLS_METRICS_NAMESPACE="PagerDutyConnect",
    )
    env.update(settings)
    return env


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50/p90/p99/max in milliseconds of samples given in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3) if ms else math.nan,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_json(path: Path, data: Mapping) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
