"""`make bench` works: its cheap parts, in a tiny configuration, produce every figure the table
and bench.json promise. Counts are asserted, never timings (the machine is shared and noisy)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import REPOSITORY
from bench.package_size import zipped


def test_the_quick_bench_writes_every_part_and_a_table(tmp_path, log_scan):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out-dir", str(tmp_path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log_scan.add_output(done.stdout, "bench stdout")
    log_scan.add_output(done.stderr, "bench stderr")
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((tmp_path / "bench.json").read_text())
    assert {"date", "cpu_model", "cpu_cores", "python"} <= results["machine"].keys()
    assert results["table"] in done.stdout

    cold = results["cold_start"]
    assert cold["runs"] == 2
    for handler in ("start", "callback"):
        figures = cold["handlers"][handler]
        assert {"init_ratio", "wall_ratio", "init_ms_median", "baseline_init_ms_median"} <= figures.keys()
        assert figures["modules"] > figures["baseline_modules"]
        assert len(cold["samples_ms"][handler]["init_s"]) == 2

    flows = results["remote_calls"]["flows"]
    assert all(flow["ok"] for flow in flows.values())
    assert flows["cold"]["routes"]["authorize"] == {"dynamodb.PutItem": 1}
    assert flows["cold"]["routes"]["callback"]["secrets-manager.GetSecretValue"] == 1
    assert "secrets-manager.GetSecretValue" not in flows["warm"]["routes"]["callback"]
    assert flows["warm"]["pagerduty_calls"] == 2
    assert results["remote_calls"]["meets_target"] is True

    latency = results["latency"]["routes"]
    assert latency["landing"]["statuses"] == {"200": 10}
    assert latency["authorize"]["statuses"] == {"302": 10}
    assert latency["callback"]["statuses"] == {"200": 10}
    assert latency["callback"]["aws_calls_alone"]["n"] == 10

    tokens = results["token_function"]
    assert {w["n"] for w in tokens["warm_get_token"].values()} == {10}
    assert tokens["warm_kms_calls"] == 0
    race = tokens["concurrent_refresh"]
    assert (race["answered_ok"], race["refresh_calls_to_pagerduty"], race["distinct_tokens"]) == (20, 1, 1)
    assert race["token_accepted_by_pagerduty"] is True

    (level,) = results["load"]["levels"]
    assert (level["concurrency"], level["flows"], level["flows_ok"], level["errors"]) == (3, 3, 3, 0)
    assert level["connections_stored"] == level["connections_expected"] == 3
    assert level["requests"] == 15


def test_a_function_is_zipped_with_everything_in_its_folder(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "pkg" / "data.txt").write_text("x" * 10_000)

    figures = zipped(tmp_path)

    assert figures["files"] == 2
    assert figures["unzipped_bytes"] == 10_000 + len("def handler(event, context):\n    return event\n")
    assert 0 < figures["zip_bytes"] < figures["unzipped_bytes"]
    assert figures["meets_target"] is True
    assert set(figures["largest_entries_bytes"]) == {"pkg", "handler.py"}
