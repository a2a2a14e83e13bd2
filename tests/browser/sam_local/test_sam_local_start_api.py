"""The Docker user's path, through SAM CLI's own `start-api` (conftest.py): Chromium connects an
account from the landing page to the welcome page, in eu-west-1 on a port other than 3000, and
SAM's own answers and event quirks are what the README says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import requests

from local.stack.template import load_template

from .conftest import REGION, REPOSITORY, START_API, TOOLS_PYTHON


def _settled(read, count: int, timeout: float = 10):
    """`read()` once it has `count` items: SAM's output reaches us through a pipe, after the answer."""
    deadline = time.monotonic() + timeout
    while len(found := read()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _invocations(sam_api) -> list[str]:
    return [line for line in sam_api.log_lines() if line.startswith("INVOKE ")]


def _json_log_lines(sam_api, message: str) -> list[dict]:
    found = []
    for line in sam_api.log_lines():
        if line.startswith("{") and f'"{message}"' in line:
            found.append(json.loads(line))
    return found


def test_sam_serves_exactly_the_templates_routes(sam_api):
    template = load_template(REPOSITORY / "template.yaml")
    declared = {f"{route.function_id} {route.path} {route.method}" for route in template.routes}
    # SAM names the $default route's method by API Gateway's extension, where the template says ANY.
    served = {route.replace(" $default X-AMAZON-APIGATEWAY-ANY-METHOD", " $default ANY") for route in sam_api.routes}
    assert sam_api.port != 3000
    assert len(declared) >= 4 and "StartFunction $default ANY" in declared and served == declared


def test_chromium_connects_an_account_through_sam_local_start_api(sam_api, new_page, screenshot, log_scan):
    before = len(_invocations(sam_api))
    page = new_page()
    landing = page.goto(sam_api.url + "/")
    assert landing.status == 200
    assert page.locator("#connect").inner_text() == "Connect to PagerDuty"
    screenshot(page, "1-landing-through-sam")

    page.click("#connect")
    page.wait_for_selector("#authorize")
    assert page.url.startswith("http://pagerduty.localhost:")
    page.select_option("#login", "PADA001")
    with page.expect_navigation(url=re.compile(rf"^{re.escape(sam_api.url)}/callback\?")):
        page.click("#authorize")
    screenshot(page, "2-welcome-through-sam")
    assert page.locator("h1").inner_text() == "Welcome, Ada Lovelace", page.content()[-1500:]
    assert page.locator("#region").inner_text() == "US"

    code, state = (re.search(rf"[?&]{name}=([^&]+)", page.url).group(1) for name in ("code", "state"))
    log_scan.add_value("authorization code", code)  # made in the services' process: the scan cannot see it born
    log_scan.add_value("state", state)
    function_lines = _settled(lambda: [line for line in sam_api.log_lines() if line.startswith("{")], 1)
    assert function_lines and not [line for line in function_lines if code in line or state in line]

    ran = _settled(lambda: _invocations(sam_api)[before:], 3)
    functions = [line.split()[1] for line in ran]
    # The landing page and /authorize, then the callback; the favicon (StartFunction, through the
    # $default route) comes whenever Chromium asks for it.
    assert functions[:2] == ["StartFunction", "StartFunction"] and functions.count("CallbackFunction") == 1, ran
    assert set(functions) == {"StartFunction", "CallbackFunction"} and len(functions) <= 5, ran
    assert all(f"region={REGION} " in line for line in ran), ran  # from the AWS config file, as SAM resolves it
    assert page.problems == [], page.problems


def test_through_sam_the_functions_answer_unknown_routes_and_methods_and_sam_still_fails_head(sam_api):
    # The template's $default route sends what no other route declares to the start function, so
    # SAM's own 403 JSON never shows; HEAD / still meets SAM's KeyError (its GET rule takes HEAD).
    before = len(_invocations(sam_api))
    unknown = requests.get(sam_api.url + "/no-such-page", timeout=60)
    post = requests.post(sam_api.url + "/", timeout=60)
    head = requests.head(sam_api.url + "/", timeout=30)
    assert (unknown.status_code, unknown.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert "Page not found" in unknown.text and 'id="reference"' in unknown.text
    assert (post.status_code, post.headers.get("Allow"), "Not available this way" in post.text) == (405, "GET, HEAD", True)
    assert head.status_code == 502
    ran = _settled(lambda: _invocations(sam_api)[before:], 2)
    # The two the functions answered; SAM answered the HEAD itself (README, "What only SAM's emulator does").
    assert [line.split()[1] for line in ran] == ["StartFunction", "StartFunction"], ran


def test_each_request_through_sam_logs_its_own_correlation_id(sam_api):
    before = len(_json_log_lines(sam_api, "connect flow failed"))
    for _ in range(3):
        answer = requests.get(sam_api.url + "/callback?code=not-a-code&state=not-a-state", timeout=60)
        assert answer.status_code == 400
    failures = _settled(lambda: _json_log_lines(sam_api, "connect flow failed")[before:], 3)
    ids = [line.get("correlation_id") for line in failures]
    assert len(ids) == 3 and None not in ids and len(set(ids)) == 3, failures  # SAM sends one requestId for all


def test_a_sam_cli_without_the_objects_it_needs_fails_loudly_not_vacuously(sam_cli, tmp_path):
    # A `samcli` package that has moved its modules: the harness must say so and exit non-zero.
    (tmp_path / "samcli").mkdir()
    (tmp_path / "samcli" / "__init__.py").write_text("")
    command = [str(TOOLS_PYTHON), str(START_API), "--template", "template.yaml", "--function-python", sys.executable]
    done = subprocess.run(
        command, cwd=REPOSITORY, env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("INTERNALS_CHANGED SAM CLI's start-api objects are not what this was written for")
    assert "samcli.cli" in done.stdout and "READY" not in done.stdout
