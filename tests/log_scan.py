"""The session-wide log-secret scan: every line the functions could emit is kept, every secret the
run makes is collected where it is born, and at the end the run fails if any secret appears in any
line, raw or in the forms a line may carry it in (percent-encoded, form-encoded, JSON-escaped).

What is kept, and why each source (Lambda ships all of them to CloudWatch):
- log records of every logger (root's handlers, and Powertools' own logger, which does not
  propagate), as the line each becomes with its `extra=` fields;
- each test's captured stdout and stderr: `print()`, Powertools' JSON lines, the EMF metric lines,
  and whatever a test read itself through capsys/capfd;
- the output of the child processes tests start (`add_output`: the local stack, the stand-in's
  command line, the benchmark).
tests/conftest.py wires it (`install`) and names where secrets are born.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import subprocess
from urllib.parse import quote, quote_plus

import ahocorasick
import pytest

# PagerDuty user tokens by shape, so a token from a process we cannot see into is caught too,
# raw, percent-encoded (once or twice) or JSON-escaped.
TOKEN_SHAPE = re.compile(r"pdus(?:\+|%2[Bb]|%252[Bb]|\\u002[Bb])_[01][A-Za-z0-9_-]{16,}")
SHAPE_KIND = "pagerduty token (by its shape)"
_STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_OUTPUT_SECTIONS = ("stdout", "stderr")

_session: LogScan | None = None


def current() -> LogScan:
    """The session's scan (a detached one under `-p no:log-scan`), for code without fixtures."""
    return _session or LogScan()


def encoded_forms(value: str) -> set[str]:
    """The ways a value can appear in a line: as it is, percent-encoded (path, component, form,
    twice), JSON-escaped (with and without escaped slashes)."""
    escaped = json.dumps(value)[1:-1]
    component = quote(value, safe="")
    return {value, quote(value), component, quote_plus(value), quote(component, safe=""), escaped,
            escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=True)[1:-1]}


def _is_the_browsers_authorize_request(record: logging.LogRecord) -> bool:
    """The browser's request for PagerDuty's authorize page carries the state by design (RFC 6749
    §4.1.1); moto's HTTP mock (`responses`) logs the URL of each request the test browser makes."""
    return record.name == "responses" and "/oauth/authorize?" in str(getattr(record, "url", ""))


class CaptureHandler(logging.Handler):
    """Keeps every record as the line it becomes: Powertools records as its JSON formatter writes
    them (with appended keys and extras), others as level, logger, message, extras and traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.last_record: logging.LogRecord | None = None
        self._plain = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record is self.last_record or _is_the_browsers_authorize_request(record):
            return
        self.last_record = record  # a Powertools record may pass both loggers it is attached to
        self.lines.append(format_record(record, self._plain))


def format_record(record: logging.LogRecord, plain: logging.Formatter) -> str:
    try:
        powertools = getattr(logging.getLogger(record.name), "powertools_handler", None)
        if powertools is not None and powertools.formatter is not None:
            return powertools.formatter.format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_FIELDS}
        return plain.format(record) + (f" {extras!r}" if extras else "")
    except Exception:  # noqa: BLE001 - a record that cannot be formatted is kept raw
        return f"{record.msg!r} {record.args!r}"


def attach(handler: logging.Handler) -> list[logging.Logger]:
    """Put a handler where every record of the run passes: root, and Powertools' own logger."""
    from pd_connect.platform.observability import logger

    loggers = [logging.getLogger(), logging.getLogger(logger.service)]
    for target in loggers:
        target.addHandler(handler)
    return loggers


class LogScan:
    """Session plugin: `log scan: N lines, M sensitive values, 0 found`, or a failed run."""

    MIN_LENGTH = 12  # every secret the run makes is longer; short strings would match by chance

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.values: dict[str, str] = {}  # value -> kind
        self.found: list[tuple[str, str]] = []  # (kind, the line with the value masked)
        self.output_scanned = True  # False when pytest captures no output (-s)

    # --- what is scanned ---------------------------------------------------------------------

    def add_value(self, kind: str, value: object) -> None:
        if isinstance(value, str) and len(value) >= self.MIN_LENGTH:
            self.values.setdefault(value, kind)

    def add_lines(self, lines, source: str) -> None:
        """Lines from elsewhere (a test's output, a child process's) join the scan."""
        self.lines.extend(f"[{source}] {line}" for line in lines)

    def add_output(self, text: str | bytes | None, source: str) -> None:
        """A block of output (a child process's stdout or stderr) joins the scan, line by line."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text:
            self.add_lines(text.splitlines(), source)

    # --- installing --------------------------------------------------------------------------

    def install(self, secret_sources, wraps=()) -> None:
        """Capture every logger's records and collect the secrets of `secret_sources`:
        (module, attribute, kind, the secrets in a call's result) and `wraps`:
        (owner, attribute, kind, the secrets given (result, *args))."""
        global _session
        _session = self
        logging.getLogger().setLevel(logging.DEBUG)
        # The functions' own logging set-up (Powertools logger; botocore and urllib3 never below
        # INFO) is in force from the start, as it is in every Lambda container.
        handler = CaptureHandler(self.lines)
        attach(handler)
        for module_name, attribute, kind, secrets_in in secret_sources:
            owner = __import__(module_name, fromlist=["_"])
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            self.wrap(owner, name, kind, lambda result, *_, secrets_in=secrets_in: secrets_in(result))
        for owner, name, kind, secrets_in in wraps:
            self.wrap(owner, name, kind, secrets_in)
        self._keep_what_tests_read()

    def wrap(self, owner, name: str, kind: str, secrets_in) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def collecting(*args, **kwargs):
            result = original(*args, **kwargs)
            for value in secrets_in(result, *args):
                self.add_value(kind, value)
            return result

        setattr(owner, name, collecting)

    def _keep_what_tests_read(self) -> None:
        """Output a test reads through capsys/capfd never reaches its report: scan it as read."""
        from _pytest.capture import CaptureFixture

        original = CaptureFixture.readouterr
        scan = self

        @functools.wraps(original)
        def readouterr(fixture):
            result = original(fixture)
            for name, text in zip(_OUTPUT_SECTIONS, result):
                scan.add_output(text, f"read from {name}")
            return result

        CaptureFixture.readouterr = readouterr

    # --- pytest hooks ------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report) -> None:
        # The teardown report carries the output of all three phases (setup, call, teardown).
        if report.when != "teardown":
            return
        for title, text in report.sections:  # "Captured stdout call", "Captured stderr setup", ...
            words = title.split()
            if words[0] == "Captured" and words[1] in _OUTPUT_SECTIONS:
                self.add_output(text, f"{report.nodeid} {words[1]}")

    def pytest_configure(self, config) -> None:
        self.output_scanned = config.getoption("capture", "fd") != "no"

    def scan(self) -> None:
        forms: dict[str, str] = {}  # form -> value
        for value in self.values:
            for form in encoded_forms(value):
                if len(form) >= self.MIN_LENGTH:
                    forms.setdefault(form, value)
        automaton = ahocorasick.Automaton()
        for form, value in forms.items():
            automaton.add_word(form, (form, value))
        leaked = set()
        if forms:
            automaton.make_automaton()
            leaked = {found for _, found in automaton.iter("\n".join(self.lines))}
        for line in self.lines:
            kinds = []
            for form, value in sorted(leaked, key=lambda hit: -len(hit[0])):  # longest first
                if form in line:
                    kinds.append(self.values[value])
                    line = line.replace(form, f"<{self.values[value]}>")
            kinds += [SHAPE_KIND] * len(TOKEN_SHAPE.findall(line))
            line = TOKEN_SHAPE.sub("<token>", line)
            self.found.extend((kind, line) for kind in kinds)

    def pytest_sessionfinish(self, session) -> None:
        self.scan()
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_line(
            f"log scan: {len(self.lines)} lines, {len(self.values)} sensitive values, {len(self.found)} found"
        )
        if not self.output_scanned:
            terminalreporter.write_line("log scan: output capture is off (-s): test output was not scanned")
        for kind, line in self.found[:20]:
            terminalreporter.write_line(f"log scan: a {kind} was logged: {line[:500]}", red=True)
        if self.found:
            terminalreporter.write_line("log scan: secrets in log lines, so the run fails", red=True, bold=True)


class _ScannedPipe:
    """A child's text pipe: what the test reads from it joins the scan, and so does what is
    left unread when it is closed (after the child has exited)."""

    def __init__(self, pipe, source: str) -> None:
        self._pipe = pipe
        self._source = source

    def _keep(self, text):
        current().add_output(text, self._source)
        return text

    def readline(self, *args):
        return self._keep(self._pipe.readline(*args))

    def read(self, *args):
        return self._keep(self._pipe.read(*args))

    def __iter__(self):
        for line in self._pipe:
            yield self._keep(line)

    def close(self) -> None:
        if not self._pipe.closed:
            try:
                self._keep(self._pipe.read())
            except ValueError:  # closed under us (a reader thread was still on it)
                pass
            self._pipe.close()

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def scanned_popen(args, *, source: str, **kwargs) -> subprocess.Popen:
    """subprocess.Popen (text mode) whose stdout and stderr pipes are scanned as they are read."""
    process = subprocess.Popen(args, text=True, **kwargs)
    for name in _OUTPUT_SECTIONS:
        pipe = getattr(process, name)
        if pipe is not None:
            setattr(process, name, _ScannedPipe(pipe, f"{source} {name}"))
    return process


class LogLines:
    """The log lines one test produced, as the scan sees them (with extras), for assertions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._handler = CaptureHandler(self.lines)
        self._loggers = attach(self._handler)

    def close(self) -> None:
        for target in self._loggers:
            target.removeHandler(self._handler)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def matching(self, message: str) -> list[dict]:
        """The Powertools JSON lines whose message is `message`, parsed."""
        found = []
        for line in self.lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("message") == message:
                found.append(record)
        return found
