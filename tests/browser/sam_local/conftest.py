"""`sam local start-api` as SAM CLI itself runs it (start_api.py), in front of the services that
`python -m local.stack --services-only` starts, as a Docker user would run them: the `sam build`
output, the env-vars file written by `--write-sam-local-env`, an AWS config file in a temporary
HOME naming eu-west-1 (no AWS_* variables), and a port other than 3000.

SAM CLI lives in .venv-tools (`make test` installs it). Without it the tests skip locally and
fail in CI; if SAM CLI's internals have moved, they fail saying so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.local_stack.support import env_words, free_port
from tests.log_scan import scanned_popen

REPOSITORY = Path(__file__).resolve().parents[3]
TOOLS_PYTHON = REPOSITORY / ".venv-tools" / "bin" / "python"
SAM = REPOSITORY / ".venv-tools" / "bin" / "sam"
START_API = Path(__file__).resolve().with_name("start_api.py")
REGION = "eu-west-1"
ADD_HOSTS = ("host.docker.internal:host-gateway", "pagerduty.localhost:host-gateway")
PARAMETER_OVERRIDES = "PagerDutyClientId=sam-local-client PagerDutyScopes=read"


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without AWS or PagerDuty settings (the tests' fake ones included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PD_"))}
    env.update(PYTHONUNBUFFERED="1", SAM_CLI_TELEMETRY="0", **extra)
    return env


class Process:
    """A child process whose output lines are collected as they come."""

    def __init__(self, command: list[str], env: dict[str, str], source: str) -> None:
        self.command = command
        self.process = scanned_popen(
            command, cwd=REPOSITORY, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, source=source
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 90, failure: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if failure and failure in self.output:
                pytest.fail(self.output[self.output.index(failure) :])
            if text in self.output:
                return
            if self.process.poll() is not None:
                self._reader.join(5)
                pytest.fail(f"{self.command[1]} exited {self.process.returncode} before {text!r}:\n{self.output[-4000:]}")
            time.sleep(0.1)
        pytest.fail(f"no {text!r} within {timeout} s from {self.command[1]}:\n{self.output[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        self.process.stdout.close()  # what the reader has not taken yet joins the log scan


@dataclass
class SamApi:
    url: str  # http://localhost:PORT, the host the redirect URI names
    port: int
    routes: list[str]
    process: Process
    services: Process
    env_vars: dict = field(default_factory=dict)

    def log_lines(self) -> list[str]:
        return list(self.process.lines)


def _api_port() -> int:
    while (port := free_port()) == 3000:  # the point is a port other than SAM's default
        pass
    return port


@pytest.fixture(scope="session")
def sam_cli():
    if not TOOLS_PYTHON.exists() or not SAM.exists():
        if os.environ.get("CI"):
            pytest.fail("SAM CLI is not installed in .venv-tools (make test installs it)")
        pytest.skip("SAM CLI is not installed: make test installs .venv-tools")
    return SAM


@pytest.fixture(scope="session")
def sam_build(sam_cli, tmp_path_factory):
    """`sam build` of template.yaml into a fresh folder: the bundles exactly as deployed."""
    build_dir = tmp_path_factory.mktemp("sam-build") / "build"
    command = [str(sam_cli), "build", "--template", "template.yaml", "--build-dir", str(build_dir)]
    done = subprocess.run(command, cwd=REPOSITORY, env=_clean_env(), capture_output=True, text=True, timeout=900)
    built = build_dir / "template.yaml"
    if done.returncode != 0 or not built.exists():
        pytest.fail(f"sam build failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    return built


@pytest.fixture(scope="session")
def aws_config_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(f"[default]\nregion = {REGION}\n")
    return home


@pytest.fixture(scope="session")
def sam_api(sam_build, aws_config_home, tmp_path_factory):
    api_port, aws_port, pagerduty_port = _api_port(), free_port(), free_port()
    ports = ["--port", str(api_port), "--aws-port", str(aws_port), "--pagerduty-port", str(pagerduty_port)]
    env = _clean_env(HOME=str(aws_config_home))
    env_file = tmp_path_factory.mktemp("sam-env") / "sam-local-env.json"
    written = subprocess.run(
        [sys.executable, "-m", "local.stack", "--write-sam-local-env", str(env_file), *ports],
        cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120,
    )
    assert written.returncode == 0, written.stdout + written.stderr

    services = Process([sys.executable, "-m", "local.stack", "--services-only", *ports], env, "services for sam local")
    try:
        services.wait_for("then open")
        # As the printed command does (`env $(cat FILE) sam local start-api ...`): the embedded AWS
        # takes only its run's key, and SAM hands the containers this shell's credentials.
        credentials_file = re.search(r"env \$\(cat (\S+)\) sam local start-api ", services.output).group(1)
        sam_env = {**env, **env_words(REPOSITORY / credentials_file)}
        add_hosts = [argument for host in ADD_HOSTS for argument in ("--add-host", host)]
        command = [
            str(TOOLS_PYTHON), str(START_API), "--template", str(sam_build), "--env-vars", str(env_file),
            "--parameter-overrides", PARAMETER_OVERRIDES, "--port", str(api_port), *add_hosts,
            "--function-python", sys.executable,
        ]  # no --region: SAM takes it from the AWS config, as `sam local start-api` does without one
        sam = Process(command, sam_env, "sam local start-api")
        try:
            sam.wait_for("READY ", timeout=120, failure="INTERNALS_CHANGED")
            routes = [line.split(" ", 1)[1] for line in sam.lines if line.startswith("ROUTE ")]
            yield SamApi(f"http://localhost:{api_port}", api_port, routes, sam, services, json.loads(env_file.read_text()))
        finally:
            sam.stop()
    finally:
        services.stop()
