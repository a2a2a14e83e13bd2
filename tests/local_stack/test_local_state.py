"""`make run` keeps its state across restarts (--state-dir), and `make admin` finds it by itself."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys

from .support import REPOSITORY, StackProcess, connect_over_http, free_port


def admin(state_dir, *args: str) -> subprocess.CompletedProcess:
    """`make admin` as it runs: no settings in the environment, only --local-state."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "admin", "--local-state", str(state_dir), *args],
        cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60,
    )


def keys(state_dir) -> set[str]:
    listed = admin(state_dir, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {row["key"] for row in json.loads(listed.stdout)}


def run_stack(state_dir, port, *args):
    stack = StackProcess("--state-dir", str(state_dir), *args, env={"PORT": str(port)})
    stack.wait_for(f"Open http://localhost:{port}/")
    return stack


def test_connections_survive_a_restart_and_the_admin_cli_finds_the_running_stack(tmp_path):
    state_dir, port = tmp_path / "state", free_port()
    with run_stack(state_dir, port) as first:
        assert connect_over_http(f"http://localhost:{port}", "PADA001").status_code == 200
        assert keys(state_dir) == {"PACMEUS/PADA001"}
        settings = (state_dir / "stack.json").read_text()
        assert first.stop(signal.SIGINT) == 0
    assert "PACMEUS/PADA001" in first.output  # the banner names the demo users' keys
    assert "client_secret" not in settings and "testing" not in settings  # names and endpoints only
    assert stat.S_IMODE((state_dir / "state.pickle").stat().st_mode) == 0o600
    assert not (state_dir / "stack.json").exists()  # stopped: the admin CLI must not find it
    assert "no local stack is running" in admin(state_dir, "list").stderr

    with run_stack(state_dir, port) as second:
        kept = keys(state_dir)
        refreshed = admin(state_dir, "refresh", "PACMEUS/PADA001", "--json")  # the stand-in kept its tokens
        assert connect_over_http(f"http://localhost:{port}", "PGRACE1").status_code == 200
        after = keys(state_dir)
        assert second.stop(signal.SIGINT) == 0
    assert kept == {"PACMEUS/PADA001"}
    assert refreshed.returncode == 0 and json.loads(refreshed.stdout)["token_version"] == 2, refreshed.stderr
    assert after == {"PACMEUS/PADA001", "PGLOBEX/PGRACE1"}
    assert f"restored from {state_dir}" in second.output


def test_reset_starts_empty(tmp_path):
    state_dir, port = tmp_path / "state", free_port()
    with run_stack(state_dir, port) as first:
        assert connect_over_http(f"http://localhost:{port}").status_code == 200
        assert first.stop(signal.SIGINT) == 0
    with run_stack(state_dir, port, "--reset") as second:
        assert keys(state_dir) == set()
        assert second.stop(signal.SIGINT) == 0


def test_an_unreadable_state_is_set_aside_and_the_run_starts_empty(tmp_path):
    state_dir, port = tmp_path / "state", free_port()
    state_dir.mkdir()
    (state_dir / "state.pickle").write_bytes(b"not a pickle")
    with run_stack(state_dir, port) as stack:
        assert keys(state_dir) == set()
        assert stack.stop(signal.SIGINT) == 0
    assert "started empty" in stack.output
    assert (state_dir / "state.pickle.unreadable").read_bytes() == b"not a pickle"


def test_without_a_state_dir_nothing_is_kept_or_written(tmp_path):
    port = free_port()
    with StackProcess(env={"PORT": str(port)}) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")
        assert stack.stop(signal.SIGINT) == 0
    assert "State" not in stack.output and "make admin" not in stack.output
