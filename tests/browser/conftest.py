"""Headless Chromium (Debian's `chromium`, driven by Playwright) against the local stack, started
the way `make run` starts it: `python -m local.stack` in its own process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.log_scan import scanned_popen

REPOSITORY = Path(__file__).resolve().parents[2]
ARTIFACTS = REPOSITORY / "test-artifacts" / "browser"
# The flags that work as root on these machines, and keep Chromium off the (closed) network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningStack:
    def __init__(
        self, url: str, aws_endpoint: str, output: list[str], aws_access_key_id: str = "", aws_secret_access_key: str = ""
    ) -> None:
        self.url = url
        self.aws_endpoint = aws_endpoint
        self.output = output  # the stack's console so far (it keeps growing while it runs)
        self.aws_access_key_id = aws_access_key_id
        self.aws_secret_access_key = aws_secret_access_key


def start_local_stack(*extra_args: str):
    """`python -m local.stack` in its own process, as `make run` starts it; yields RunningStack."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PD_"))}
    env.update(PORT=str(port), LAMBDA_PORT=str(_free_port()), PYTHONUNBUFFERED="1")
    process = scanned_popen(
        [sys.executable, "-m", "local.stack", *extra_args], cwd=REPOSITORY, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, source="local stack (browser tests)",
    )
    output, deadline, aws_endpoint, aws_key = [], time.time() + 60, "", ("", "")
    try:
        while time.time() < deadline:
            line = process.stdout.readline()
            if not line:
                pytest.fail("local stack exited:\n" + "".join(output))
            output.append(line)
            aws = re.search(r"AWS\s+embedded moto at (http://[\d.:]+)", line)
            aws_endpoint = aws.group(1) if aws else aws_endpoint
            key = re.search(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", line)
            aws_key = key.groups() if key else aws_key
            match = re.search(r"Open (http://localhost:\d+/?)", line)
            if match:
                # Keep reading its output, or a full pipe would block the stack mid-run.
                threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
                yield RunningStack(match.group(1).rstrip("/"), aws_endpoint, output, *aws_key)
                break
        else:
            pytest.fail("local stack did not start:\n" + "".join(output))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("local stack did not stop on Ctrl-C")
        finally:
            process.stdout.close()  # what the reader thread has not taken yet joins the scan


@pytest.fixture(scope="session")
def running_stack():
    """The running local stack (demo settings), with its console output."""
    yield from start_local_stack()


@pytest.fixture(scope="session")
def local_stack(running_stack):
    """The running local stack's landing URL (http://localhost:PORT)."""
    return running_stack.url


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, request):
    """Pages in fresh browser contexts (separate cookie jars); CSP violations and page errors are
    collected for assertions. Nothing is stubbed: the stand-in serves the avatars itself."""
    contexts = []

    def make():
        context = chromium.new_context()
        page = context.new_page()
        page.problems = []
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)

    def take(page, label: str) -> Path:
        path = ARTIFACTS / f"{test}--{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
