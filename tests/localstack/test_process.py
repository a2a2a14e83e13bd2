"""`python -m local.stack` starts everything, answers on the printed URL and stops cleanly."""

from __future__ import annotations

import html
import json
import re
import signal

import pytest
import requests

from .support import FIXTURES, REPOSITORY, StackProcess, free_port, port_is_free

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
        start = requests.get(base + "/authorize", allow_redirects=False, timeout=10)
        # requests keeps Secure cookies from http://localhost to itself; a browser would send it.
        cookie = start.headers["Set-Cookie"].split(";")[0]
        standin = requests.Session()
        consent = standin.get(start.headers["Location"], timeout=10)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
        login = re.search(r'<select name="login"[^>]*>\s*<option value="([^"]+)"', consent.text).group(1)
        decided = standin.post(
            consent.url.split("?")[0],
            data={**{k: html.unescape(v) for k, v in fields.items()}, "login": login, "decision": "authorize"},
            allow_redirects=False,
            timeout=10,
        )
        callback = requests.get(
            decided.headers["Location"], headers={"Cookie": cookie}, allow_redirects=False, timeout=10
        )

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
