"""A newcomer's first run, timed: clone this repository, `make run` (venv, installs, stack start),
one connect flow to the welcome page. Not part of `make bench` (it installs a fresh venv):

    .venv/bin/python -m bench.first_run [--port 3977]

Prints the seconds from the clone to the stack's "Open" line and to the welcome page. Packages
come from pip's cache when it has them, as on a machine that has installed them once.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

REPOSITORY = Path(__file__).resolve().parents[1]


class _HiddenFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value") or ""


def connect(base: str) -> bool:
    """Landing page, /authorize, the stand-in's consent as Ada, the callback: True on the welcome page."""
    session = requests.Session()
    session.get(base + "/", timeout=30).raise_for_status()
    start = session.get(base + "/authorize", timeout=30, allow_redirects=False)
    # requests keeps Secure cookies off plain http; browsers send them to localhost: carry it by hand.
    binding = start.headers["Set-Cookie"].split(";", 1)[0]
    consent = session.get(start.headers["Location"], timeout=30)
    form = _HiddenFields()
    form.feed(consent.text)
    decided = session.post(
        urljoin(consent.url, "/oauth/authorize"),
        data={**form.fields, "login": "PADA001", "decision": "authorize"},
        timeout=30,
        allow_redirects=False,
    )
    welcome = session.get(decided.headers["Location"], headers={"Cookie": binding}, timeout=30)
    return welcome.status_code == 200 and "Welcome, Ada Lovelace" in welcome.text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3977)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="first-run-"))
    try:
        started = time.monotonic()
        subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(work / "repo")], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PD_", "VIRTUAL_ENV"))}
        env.update(PORT=str(args.port), LAMBDA_PORT=str(args.port + 1), PYTHONUNBUFFERED="1")
        stack = subprocess.Popen(
            ["make", "run"], cwd=work / "repo", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        opened = None
        for line in stack.stdout:
            if re.search(r"Open http://localhost:\d+", line):
                opened = time.monotonic() - started
                break
        if opened is None:
            print("make run exited before serving its page")
            return 1
        threading.Thread(target=lambda: [None for _ in stack.stdout], daemon=True).start()
        welcomed = connect(f"http://localhost:{args.port}")
        finished = time.monotonic() - started
        print(f"first run: page served after {opened:.1f} s, welcome page after {finished:.1f} s ({'ok' if welcomed else 'FAILED'})")
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=30)
        return 0 if welcomed else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
