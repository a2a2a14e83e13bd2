"""Helpers the local stack's tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from tests.log_scan import scanned_popen

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env_words(path: Path) -> dict[str, str]:
    """A `NAME=value` file as `env $(cat FILE)` reads it: split on white space, each word one variable."""
    return dict(word.split("=", 1) for word in path.read_text(encoding="utf-8").split())


def port_is_free(port: int) -> bool:
    """Nothing listens on the port, and a new server (with SO_REUSEADDR, as servers set) can bind it."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        pass
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def connect_through_standin(base: str, login: str | None = None):
    """One whole flow against a running stack and its stand-in, as a browser would make it:
    the /authorize answer, the stand-in's decision and the callback's answer."""
    import html
    import re

    import requests

    start = requests.get(base + "/authorize", allow_redirects=False, timeout=10)
    # requests keeps Secure cookies from http://localhost to itself; a browser would send it.
    cookie = start.headers["Set-Cookie"].split(";")[0]
    standin = requests.Session()
    consent = standin.get(start.headers["Location"], timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    login = login or re.search(r'<select name="login"[^>]*>\s*<option value="([^"]+)"', consent.text).group(1)
    decided = standin.post(
        consent.url.split("?")[0],
        data={**{k: html.unescape(v) for k, v in fields.items()}, "login": login, "decision": "authorize"},
        allow_redirects=False,
        timeout=10,
    )
    callback = requests.get(decided.headers["Location"], headers={"Cookie": cookie}, allow_redirects=False, timeout=10)
    return start, decided, callback


class RecordingHandler:
    """A handler that records the events it gets and returns whatever the test sets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.result: Any = {"statusCode": 200, "body": "ok", "headers": {"content-type": "text/plain"}}
        self.behaviour: Callable[[dict[str, Any], Any], Any] | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.behaviour is not None:
            return self.behaviour(event, context)
        return self.result


def raw_exchange(port: int, request: bytes, *, read_timeout: float = 5) -> bytes:
    """Send bytes as they are (malformed on purpose) and return what comes back before close."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


class StackProcess:
    """`python -m local.stack` in a child process, with its output collected as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PD_"))}
        # Its own Invoke API port too: two stacks (or `make run`) must not collide on 3001.
        child_env.update({"PYTHONUNBUFFERED": "1", "LAMBDA_PORT": str(free_port()), **(env or {})})
        self.process = scanned_popen(
            [sys.executable, "-m", "local.stack", *args],
            cwd=REPOSITORY,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            source="local stack (process tests)",
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"exited {self.process.returncode} before {text!r}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output}")

    def stop(self, signum: int, timeout: float = 20) -> int:
        """Send `signum`; the exit code, or an AssertionError if it takes longer than `timeout`.
        (Generous: on a loaded shared machine 5 s was missed by the unchanged code too; what is
        checked is that the signal stops it cleanly, not how fast.)"""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running {timeout} s after signal {signum}:\n{self.output}") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)


def connect_over_http(base: str, login: str = "PADA001"):
    """One whole flow against a running stack and its stand-in, as a browser makes it; the
    callback's response."""
    import html
    import re

    import requests

    start = requests.get(base + "/authorize", allow_redirects=False, timeout=10)
    # requests keeps Secure cookies from http://localhost to itself; a browser would send it.
    cookie = start.headers["Set-Cookie"].split(";")[0]
    standin = requests.Session()
    consent = standin.get(start.headers["Location"], timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    decided = standin.post(
        consent.url.split("?")[0],
        data={**{k: html.unescape(v) for k, v in fields.items()}, "login": login, "decision": "authorize"},
        allow_redirects=False,
        timeout=10,
    )
    return requests.get(decided.headers["Location"], headers={"Cookie": cookie}, allow_redirects=False, timeout=20)
