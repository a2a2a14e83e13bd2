"""The builder's-backend examples (examples/python, examples/node) run against the local stack, as
a builder would run them against a deployed one: a signed-in user connects through a link, the
app confirms the return, gets a token through the token function (the local Invoke API), calls
PagerDuty (the stand-in), and asks the user to reconnect once PagerDuty refuses the connection."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.local_stack.support import REPOSITORY, StackProcess, free_port
from tests.log_scan import scanned_popen

EXAMPLES = REPOSITORY / "examples"
BINDING_COOKIE = "__Host-pd-connect-binding"
LINK_SIGNING_KEY = "local-LinkSigningKey"  # the secret's local physical name (<stack>-<LogicalId>)


class Stack:
    def __init__(self, process: StackProcess, port: int, app_port: int) -> None:
        output = process.output
        self.process = process
        self.connect_url = f"http://localhost:{port}/"
        self.app_url = f"http://localhost:{app_port}"
        self.app_port = app_port
        self.aws_url = re.search(r"embedded moto at (http://\S+)", output).group(1)
        self.lambda_url = re.search(r"Lambda\s+(http://\S+) \(Invoke API\)", output).group(1)
        self.standin_url = re.search(r"PagerDuty stand-in at (http://\S+)", output).group(1)
        # The credentials the stack prints for reaching its AWS and its Invoke API.
        self.access_key_id, self.secret_access_key = re.search(
            r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", output
        ).groups()


@pytest.fixture(scope="module")
def stack():
    port, lambda_port, app_port = free_port(), free_port(), free_port()
    overrides = f"AllowAnonymousConnect=false ReturnToOrigin=http://localhost:{app_port}"
    with StackProcess(
        "--parameter-overrides", overrides, env={"PORT": str(port), "LAMBDA_PORT": str(lambda_port)}
    ) as process:
        process.wait_for(f"Open http://localhost:{port}/", timeout=120)
        yield Stack(process, port, app_port)
        assert process.stop(signal.SIGINT, timeout=20) == 0  # a loaded CI machine stops slowly


def _command(language: str) -> list[str]:
    if language == "python":
        return [sys.executable, "app.py"]
    node = shutil.which("node")
    if node is None or not (EXAMPLES / "node" / "node_modules").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Node example: install Node.js and run `make examples-node` (npm ci)")
        pytest.skip("Node.js or examples/node/node_modules missing (make examples-node)")
    return [node, "app.mjs"]


@pytest.fixture(params=["python", "node"])
def app(request, stack):
    """The example app on the origin the stack returns linked flows to, pointed at the stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PD_"))}
    env.update(
        PD_CONNECT_URL=stack.connect_url,
        PD_CONNECT_TOKEN_FUNCTION="TokenFunction",
        LINK_SIGNING_KEY_ID=LINK_SIGNING_KEY,
        AWS_ACCESS_KEY_ID=stack.access_key_id,
        AWS_SECRET_ACCESS_KEY=stack.secret_access_key,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=stack.aws_url,  # Secrets Manager: the embedded AWS
        AWS_ENDPOINT_URL_LAMBDA=stack.lambda_url,  # Lambda: the local Invoke API
        PORT=str(stack.app_port),
        PYTHONUNBUFFERED="1",
    )
    process = scanned_popen(  # its output joins the session's log scan
        _command(request.param), cwd=EXAMPLES / request.param, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, source=f"{request.param} example",
    )
    try:
        _wait_until_listening(stack.app_url, process)
        yield stack.app_url
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def _wait_until_listening(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the example exited: {process.stdout.read()}")
        try:
            requests.get(url + "/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError("the example did not start listening")


class _Consent(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action, self.fields = "", {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


def connect(app_url: str, user: str, login: str = "PADA001") -> tuple[requests.Session, requests.Response]:
    """One browser: sign in to the example app, connect PagerDuty, come back. The browser's
    session with the app, and the answer of the app's return route (its confirm)."""
    browser, return_url = connect_until_the_return(app_url, user, login)
    return browser, browser.get(return_url, timeout=20)


def connect_until_the_return(app_url: str, user: str, login: str = "PADA001") -> tuple[requests.Session, str]:
    """As connect, up to the 303 back to the app: the URL the browser is sent back to."""
    browser = requests.Session()
    assert browser.get(f"{app_url}/login", params={"user": user}, timeout=10).status_code == 200
    to_authorize = browser.get(f"{app_url}/connect", allow_redirects=False, timeout=10)
    assert to_authorize.status_code == 302, to_authorize.text
    to_pagerduty = browser.get(to_authorize.headers["Location"], allow_redirects=False, timeout=10)
    assert to_pagerduty.status_code == 302, to_pagerduty.text
    # The binding cookie is Secure: browsers send it to http://localhost, Python's jar does not.
    binding = to_pagerduty.cookies.get(BINDING_COOKIE) or re.search(
        rf"{BINDING_COOKIE}=([^;]+)", to_pagerduty.headers["Set-Cookie"]
    ).group(1)
    page = browser.get(to_pagerduty.headers["Location"], timeout=10)
    form = _Consent()
    form.feed(page.text)
    action = urlsplit(page.url)._replace(path=form.action, query="").geturl()
    decided = browser.post(action, data={**form.fields, "login": login, "decision": "authorize"}, allow_redirects=False, timeout=10)
    back = browser.get(
        decided.headers["Location"], headers={"Cookie": f"{BINDING_COOKIE}={binding}"}, allow_redirects=False, timeout=20
    )
    assert back.status_code == 303, back.text
    assert back.headers["Location"].startswith(f"{app_url}/pagerduty/return?")
    return browser, back.headers["Location"]


def test_a_signed_in_user_connects_the_app_confirms_then_calls_pagerduty_and_is_asked_to_reconnect_when_refused(
    app, stack
):
    browser, confirmed = connect(app, "alice")

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"connected": "PACMEUS/PADA001/alice", "user_name": "Ada Lovelace"}
    me = browser.get(f"{app}/pagerduty/me", timeout=20)
    assert me.status_code == 200 and me.json()["name"] == "Ada Lovelace"
    status = browser.get(f"{app}/pagerduty/status", timeout=20).json()
    assert [c["connection"] for c in status["connections"]] == ["PACMEUS/PADA001/alice"]

    requests.post(f"{stack.standin_url}/_standin/revoke", timeout=10).raise_for_status()  # the user revoked the app
    refused = browser.get(f"{app}/pagerduty/me", timeout=30)
    assert refused.status_code == 409 and refused.json() == {"error": "needs_reauthorization", "reconnect": "/connect"}

    _, reconnected = connect(app, "alice")
    assert reconnected.status_code == 200
    assert browser.get(f"{app}/pagerduty/me", timeout=20).status_code == 200
    assert browser.post(f"{app}/pagerduty/disconnect", timeout=20).json()["deleted"] is True


def test_a_return_that_lands_in_another_users_session_confirms_nothing(app, stack):
    eve, return_url = connect_until_the_return(app, "eve")  # Eve's link, finished in some browser
    bob = requests.Session()
    bob.get(f"{app}/login", params={"user": "bob"}, timeout=10)

    refused = bob.get(return_url, timeout=20)  # ... that is signed in to the app as Bob

    assert refused.status_code == 400 and refused.json()["reconnect"] == "/connect"
    assert refused.json()["error"] == "app_user_mismatch"
    assert bob.get(f"{app}/pagerduty/me", timeout=20).status_code == 409
    assert eve.get(return_url, timeout=20).status_code == 400  # discarded: Eve gets nothing either
    assert eve.get(f"{app}/pagerduty/me", timeout=20).status_code == 409


def test_the_readme_test_vectors_verify_with_jose_in_the_node_example():
    (node,) = _command("node")[:1]
    done = subprocess.run(
        [node, "check_vectors.mjs", str(REPOSITORY / "README.md")],
        cwd=EXAMPLES / "node", capture_output=True, text=True, timeout=60, check=False,
    )
    vectors = [json.loads(line) for line in done.stdout.splitlines()]

    assert done.returncode == 0, done.stdout + done.stderr
    assert all(v["ok"] for v in vectors)
    assert {v["typ"] for v in vectors} >= {"pd-connect-link+jwt", "pd-connect-result+jwt"}
