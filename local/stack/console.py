"""What `make run` prints while it serves: one line per request, the functions' JSON on request.

    12:04:31 GET /callback 400 18 ms state_other_browser ref 3f9a1c2e (binding cookie missing or malformed)

The functions log JSON (Powertools), as they do in Lambda; here those records are collected per
request instead, and the request line carries the reason code, reference and detail of a
failure. `--json-logs` prints the JSON lines as well. Metrics (the EMF blobs Powertools prints
for CloudWatch to pick up) are dropped: there is no CloudWatch here to read them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

# The records the functions log while serving the current request (the invocation thread runs
# in a copy of the gateway thread's context, so it appends to the same list).
_REQUEST_RECORDS: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "request_records", default=None
)
EMF_PREFIX = '{"_aws":'  # how every CloudWatch Embedded Metric Format line starts


@dataclass(frozen=True)
class Outcome:
    """What the functions said about one request: the failure's reason, reference and detail."""

    reason: str = ""
    reference: str = ""
    detail: str = ""
    warnings: tuple[str, ...] = ()  # other WARNING+ messages, e.g. "profile not loaded"

    def suffix(self) -> str:
        parts = [self.reason] if self.reason else []
        if self.reference:
            parts.append(f"ref {self.reference}")
        if self.detail:
            parts.append(f"({self.detail})")
        parts.extend(f"[{warning}]" for warning in self.warnings)
        return " ".join(parts)


@contextlib.contextmanager
def collecting() -> Iterator[list[logging.LogRecord]]:
    """The function log records of the request served inside this block."""
    records: list[logging.LogRecord] = []
    token = _REQUEST_RECORDS.set(records)
    try:
        yield records
    finally:
        _REQUEST_RECORDS.reset(token)


def outcome_of(records: Iterable[logging.LogRecord]) -> Outcome:
    reason = reference = detail = ""
    warnings = []
    for record in records:
        if getattr(record, "reason", None) and getattr(record, "reference", None):
            reason, reference = str(record.reason), str(record.reference)
            detail = str(getattr(record, "detail", "") or "")
        elif record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())
    return Outcome(reason, reference, detail, tuple(warnings))


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        records = _REQUEST_RECORDS.get()
        if records is not None:
            records.append(record)


class _Nothing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def route_function_logs(logger_names: Iterable[str], *, json_lines: bool) -> None:
    """Collect the functions' log records per request; drop their JSON output unless asked."""
    for name in logger_names:
        function_logger = logging.getLogger(name)
        function_logger.addHandler(_Collector())
        if not json_lines:
            for handler in function_logger.handlers:
                if not isinstance(handler, _Collector):
                    handler.addFilter(_Nothing())


class _WithoutMetrics:
    """sys.stdout without EMF lines. print() writes the line and its newline separately, so the
    newline after a dropped line is dropped too."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._dropped = threading.local()

    def write(self, text: str) -> int:
        if text.startswith(EMF_PREFIX):
            self._dropped.line = True
            return len(text)
        if text == "\n" and getattr(self._dropped, "line", False):
            self._dropped.line = False
            return len(text)
        self._dropped.line = False
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def drop_metric_lines() -> None:
    if not isinstance(sys.stdout, _WithoutMetrics):
        sys.stdout = _WithoutMetrics(sys.stdout)
