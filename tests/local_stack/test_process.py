"""`python -m local.stack` starts everything, answers on the printed URL and stops cleanly."""

from __future__ import annotations

import json
import re
import signal

import pytest
import requests

from .support import FIXTURES, REPOSITORY, StackProcess, connect_through_standin, free_port, port_is_free

# Pretend-real PagerDuty settings: the fixture handlers never call PagerDuty, so any URL will do.
OWN_PAGERDUTY = {
    "PD_IDENTITY_URL": "http://127.0.0.1:9/identity",
    "PD_API_URL": "http://127.0.0.1:9/api",
    "PD_CLIENT_ID": "my-app",
    "PD_CLIENT_SECRET": "my-secret",
}
HAS_REAL_HANDLERS = (REPOSITORY / "functions" / "start_handler.py").exists()
HAS_STANDIN = (REPOSITORY / "local" / "pagerduty_standin" / "standin.py").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_stack_serves_the_templates_functions_and_stops_on_a_signal(signum):
    port = free_port()
    with StackProcess("--template", str(FIXTURES / "template.yaml"), env={"PORT": str(port), **OWN_PAGERDUTY}) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")

        echoed = requests.get(f"http://localhost:{port}/", timeout=10).json()
        secrets = requests.get(f"http://127.0.0.1:{port}/secrets", timeout=10).json()

        assert stack.stop(signum) == 0
    assert echoed["environment"]["TABLE_NAME"] == "local-Table"
    assert echoed["environment"]["PD_CLIENT_ID"] == "my-app"
    assert echoed["environment"]["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert echoed["function_name"] == "EchoFunction"
    assert echoed["environment"]["AWS_LAMBDA_LOG_LEVEL"] == "WARN"  # from LoggingConfig, as Lambda sets it
    assert secrets["has_client_secret"] is True  # PD_CLIENT_SECRET went into the embedded secret
    assert secrets["key_arn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert "my-secret" not in stack.output  # the secret is never printed
    assert "PagerDuty at http://127.0.0.1:9/identity" in stack.output
    assert port_is_free(port)


def test_a_taken_port_fails_at_start_naming_port():
    port = free_port()
    with StackProcess("--template", str(FIXTURES / "template.yaml"), env={"PORT": str(port), **OWN_PAGERDUTY}) as first:
        first.wait_for(f"Open http://localhost:{port}/")
        with StackProcess(
            "--template", str(FIXTURES / "template.yaml"), env={"PORT": str(port), **OWN_PAGERDUTY}
        ) as second:
            assert second.process.wait(60) == 1
        assert first.stop(signal.SIGINT) == 0
    assert "set PORT" in second.output


def test_half_configured_real_pagerduty_fails_at_start_naming_what_is_missing():
    env = {"PORT": str(free_port()), "PD_CLIENT_ID": "my-app"}
    with StackProcess("--template", str(FIXTURES / "template.yaml"), env=env) as stack:
        assert stack.process.wait(60) == 1
    assert "PD_IDENTITY_URL, PD_API_URL, PD_CLIENT_SECRET not" in stack.output


@pytest.mark.skipif(not (HAS_REAL_HANDLERS and HAS_STANDIN), reason="needs functions/ handlers and the stand-in")
def test_the_real_app_connects_an_account_through_the_standin():
    port = free_port()
    with StackProcess(env={"PORT": str(port)}) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")
        base = f"http://localhost:{port}"

        landing = requests.get(base + "/", timeout=10)
        start, decided, callback = connect_through_standin(base)

        assert stack.stop(signal.SIGINT) == 0
    assert (landing.status_code, landing.headers["Content-Type"].split(";")[0]) == (200, "text/html")
    assert start.status_code == 302
    assert decided.headers["Location"].startswith(f"http://localhost:{port}/callback?")
    assert callback.status_code == 200, callback.text[-500:]
    assert port_is_free(port)


def test_the_committed_sam_local_env_file_is_what_the_template_gives():
    from local.stack.sam_local import ENV_VARS_FILE, render_env_vars
    from local.stack.template import load_template

    committed = (REPOSITORY / ENV_VARS_FILE).read_text()

    assert committed == render_env_vars(load_template(REPOSITORY / "template.yaml")), (
        "regenerate with: python -m local.stack --write-sam-local-env"
    )
    assert set(json.loads(committed)) >= {"StartFunction", "CallbackFunction"}


@pytest.mark.skipif(not (HAS_REAL_HANDLERS and HAS_STANDIN), reason="needs functions/ handlers and the stand-in")
def test_make_run_shows_one_console_line_for_each_lifecycle_event_it_emitted():
    port = free_port()
    with StackProcess(env={"PORT": str(port)}) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")
        base = f"http://localhost:{port}"

        first = connect_through_standin(base, login="PADA001")[2]
        stack.wait_for("event  PagerDuty Connection Created: PACMEUS/PADA001", timeout=30)
        again = connect_through_standin(base, login="PADA001")[2]
        stack.wait_for("event  PagerDuty Connection Reconnected: PACMEUS/PADA001", timeout=30)

        assert stack.stop(signal.SIGINT) == 0
    assert (first.status_code, again.status_code) == (200, 200)
    event_lines = [line for line in stack.lines if " event  " in line]
    assert len(event_lines) == 2, event_lines
    assert re.search(r"Created: PACMEUS/PADA001, region US, scopes openid read, id \w+", event_lines[0])
    assert "pdus+" not in stack.output  # no token in any line
