"""Shared fixtures: fake AWS credentials everywhere, so nothing can ever reach real AWS.

And the session-wide log scan: every log line of the run is kept, every secret the run makes is
collected where it is born, and at the end the run fails if any secret appears in any line.
"""

from __future__ import annotations

import functools
import logging
import os
import re

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))


# --- log scan ---------------------------------------------------------------------------------

# Where secrets are born during a run: (module, attribute, kind, the secrets in a call's result).
# The stand-in knows every code and token it issues and every client secret registered with it;
# the start function makes every state, PKCE verifier and browser binding.
_SECRET_SOURCES = (
    ("local.pagerduty_standin.tokens", "TokenStore.issue_code", "authorization code", lambda code: [code]),
    ("local.pagerduty_standin.tokens", "TokenStore.redeem_code", "token", lambda t: [t.access_token, t.refresh_token]),
    (
        "local.pagerduty_standin.tokens",
        "TokenStore.rotate_refresh_token",
        "token",
        lambda t: [t.access_token, t.refresh_token],
    ),
    ("pd_connect.pending_authorizations", "new_state", "state", lambda state: [state]),
    ("pd_connect.pkce", "new_code_verifier", "code_verifier", lambda verifier: [verifier]),
    ("pd_connect.browser_binding", "new_binding", "browser binding", lambda binding: [binding]),
    ("pd_connect.links", "sign_link", "link token", lambda token: [token]),
    ("pd_connect.client_secret", "link_signing_key", "link signing key", lambda key: [key]),
)
# PagerDuty user tokens by shape, so a token from a process we cannot see into is caught too.
_TOKEN_SHAPE = re.compile(r"pdus\+_[01][A-Za-z0-9_-]{16,}")
_STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _is_the_browsers_authorize_request(record: logging.LogRecord) -> bool:
    """The browser's request for PagerDuty's authorize page carries the state by design (RFC 6749
    §4.1.1); moto's HTTP mock (`responses`) logs the URL of each request the test browser makes."""
    return record.name == "responses" and "/oauth/authorize?" in str(getattr(record, "url", ""))


class CaptureHandler(logging.Handler):
    """Keeps every record as the line it becomes: Powertools records as its JSON formatter writes
    them (with appended keys and extras), others as level, logger, message, extras and traceback."""

    def __init__(self, scan: LogScan) -> None:
        super().__init__(logging.DEBUG)
        self.scan = scan
        self._plain = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record is self.scan.last_record or _is_the_browsers_authorize_request(record):
            return
        self.scan.last_record = record  # a Powertools record may reach both our handlers
        try:
            powertools = getattr(logging.getLogger(record.name), "powertools_handler", None)
            if powertools is not None and powertools.formatter is not None:
                line = powertools.formatter.format(record)
            else:
                extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_FIELDS}
                line = self._plain.format(record) + (f" {extras!r}" if extras else "")
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is kept raw
            line = f"{record.msg!r} {record.args!r}"
        self.scan.lines.append(line)


class LogScan:
    """Session plugin: `log scan: N lines, M sensitive values, 0 found`, or a failed run."""

    MIN_LENGTH = 12  # every secret the run makes is longer; short strings would match by chance

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.values: dict[str, str] = {}  # value -> kind
        self.found: list[tuple[str, str]] = []  # (kind, the line with the value masked)
        self.last_record: logging.LogRecord | None = None

    def add_value(self, kind: str, value: object) -> None:
        if isinstance(value, str) and len(value) >= self.MIN_LENGTH:
            self.values.setdefault(value, kind)

    def add_lines(self, lines, source: str) -> None:
        """Log lines from elsewhere (a child process's output) join the scan."""
        self.lines.extend(f"[{source}] {line}" for line in lines)

    def install(self) -> None:
        root = logging.getLogger()
        root.addHandler(CaptureHandler(self))
        root.setLevel(logging.DEBUG)
        # The functions' own logging set-up (Powertools logger; botocore and urllib3 never below
        # INFO) is in force from the start, as it is in every Lambda container. Powertools keeps
        # its records from root's handlers (SuppressFilter), so its logger gets a handler too.
        from pd_connect.observability import logger

        logging.getLogger(logger.service).addHandler(CaptureHandler(self))
        for module_name, attribute, kind, secrets_in in _SECRET_SOURCES:
            self._collect(module_name, attribute, kind, secrets_in)
        from local.pagerduty_standin import clients

        self._wrap(
            clients.RegisteredClient, "__post_init__", lambda result, client: [client.client_secret], "client secret"
        )

    def _collect(self, module_name: str, attribute: str, kind: str, secrets_in) -> None:
        owner = __import__(module_name, fromlist=["_"])
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        self._wrap(owner, name, lambda result, *_: secrets_in(result), kind)

    def _wrap(self, owner, name: str, secrets_in, kind: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def collecting(*args, **kwargs):
            result = original(*args, **kwargs)
            for value in secrets_in(result, *args):
                self.add_value(kind, value)
            return result

        setattr(owner, name, collecting)

    def scan(self) -> None:
        text = "\n".join(self.lines)
        leaked = [value for value in self.values if value in text]
        for line in self.lines:
            kinds = [self.values[value] for value in leaked if value in line]
            for value in leaked:
                line = line.replace(value, f"<{self.values[value]}>")
            kinds += ["token"] * len(_TOKEN_SHAPE.findall(line))
            line = _TOKEN_SHAPE.sub("<token>", line)
            self.found.extend((kind, line) for kind in kinds)

    def pytest_sessionfinish(self, session) -> None:
        self.scan()
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_line(
            f"log scan: {len(self.lines)} lines, {len(self.values)} sensitive values, {len(self.found)} found"
        )
        for kind, line in self.found[:20]:
            terminalreporter.write_line(f"log scan: a {kind} was logged: {line[:500]}", red=True)
        if self.found:
            terminalreporter.write_line("log scan: secrets in log lines, so the run fails", red=True, bold=True)


def pytest_configure(config):
    """Installs the log scan for the whole session; `-p no:log-scan` leaves it out."""
    manager = config.pluginmanager
    if manager.has_plugin("log-scan") or manager.is_blocked("log-scan"):
        return
    scan = LogScan()
    manager.register(scan, "log-scan")
    scan.install()


@pytest.fixture(scope="session")
def log_scan(pytestconfig) -> LogScan:
    """Add secrets the run makes elsewhere (`add_value`) and log lines from child processes
    (`add_lines`) to the session's log scan (a detached one under `-p no:log-scan`)."""
    return pytestconfig.pluginmanager.get_plugin("log-scan") or LogScan()
