"""Starting and stopping the stand-in, from Python and from the command line."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from local.pagerduty_standin import RegisteredClient, StandIn
from tests.log_scan import scanned_popen

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = RegisteredClient("life-client", "life-secret-not-real", ("http://localhost:3000/callback",))


def test_start_returns_a_base_url_that_is_already_serving(signing_key):
    standin = StandIn(clients=[CLIENT], signing_key=signing_key)
    try:
        base_url = standin.start()

        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        assert requests.get(f"{base_url}/_standin/health", timeout=5).status_code == 200
    finally:
        standin.stop()


def test_stop_frees_the_port(signing_key):
    standin = StandIn(clients=[CLIENT], signing_key=signing_key)
    port = int(standin.start().rsplit(":", 1)[1])

    standin.stop()

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_standin/health", timeout=2)


def test_stop_is_idempotent_and_start_works_again(signing_key):
    standin = StandIn(clients=[CLIENT], signing_key=signing_key)
    standin.start()
    standin.stop()
    standin.stop()

    base_url = standin.start()
    try:
        assert requests.get(f"{base_url}/_standin/health", timeout=5).status_code == 200
    finally:
        standin.stop()


def test_context_manager_starts_and_stops(signing_key):
    with StandIn(clients=[CLIENT], signing_key=signing_key) as standin:
        base_url = standin.base_url
        assert requests.get(f"{base_url}/_standin/health", timeout=5).status_code == 200

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/_standin/health", timeout=2)


def test_starting_twice_is_an_error(standin):
    with pytest.raises(RuntimeError):
        standin.start()


def test_api_urls_for_each_region(standin):
    assert standin.api_url("US") == standin.base_url
    assert standin.api_url("EU") == standin.base_url + "/eu"
    assert standin.identity_url == standin.base_url


def test_a_stand_in_needs_a_client():
    with pytest.raises(ValueError):
        StandIn(clients=[])


@pytest.mark.parametrize("redirect_uris", [(), ("/callback",), ("http://localhost/cb#frag",), ("ftp://x/cb",)])
def test_registered_client_validates_redirect_uris(redirect_uris):
    with pytest.raises(ValueError):
        RegisteredClient("id", "secret", redirect_uris)


# Command line


@pytest.fixture
def cli(log_scan):
    log_scan.add_value("client secret", "cli-secret-not-real")
    process = scanned_popen(
        [sys.executable, "-m", "local.pagerduty_standin", "--port", "0",
         "--client-id", "cli-client", "--client-secret", "cli-secret-not-real",
         "--redirect-uri", "http://localhost:3000/callback", "--redirect-uri", "http://localhost:3000/other"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        source="stand-in command line",
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        process.stdout.close()
        process.stderr.close()


def test_cli_prints_its_base_url_and_serves_every_redirect_uri(cli):
    base_url = cli.stdout.readline().strip()

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
    for redirect_uri in ("http://localhost:3000/callback", "http://localhost:3000/other"):
        response = requests.get(f"{base_url}/oauth/authorize", params={
            "client_id": "cli-client", "redirect_uri": redirect_uri, "response_type": "code", "scope": "read",
        }, timeout=5)
        assert response.status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_stops_cleanly_on_a_signal(cli, signum):
    base_url = cli.stdout.readline().strip()
    requests.post(f"{base_url}/oauth/token", data={"client_secret": "cli-secret-not-real"}, timeout=5)

    cli.send_signal(signum)

    assert cli.wait(timeout=5) == 0
    stderr = cli.stderr.read()
    assert "Traceback" not in stderr
    assert "POST /oauth/token" in stderr
    assert "cli-secret-not-real" not in stderr


def test_cli_requires_a_client():
    result = subprocess.run([sys.executable, "-m", "local.pagerduty_standin", "--port", "0"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert "--client-id" in result.stderr
