"""Test switches: make the token endpoint or /users/me misbehave for the next few calls.

A fault is consulted before the endpoint does any work, so a faulted call has no side effect
(a code is not consumed, a refresh token not rotated) — except `delay`, which answers normally
after waiting.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from .wire import Response

ENDPOINTS = ("token", "users_me")
RATE_LIMIT = 960  # PagerDuty: 960 requests per minute per app per user
MAX_DELAY_SECONDS = 60.0

_NON_JSON_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head>"
    "<body><h1>{status} Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>"
)


class FaultKind(str, enum.Enum):
    STATUS = "status"  # answer `status` (5xx) with the endpoint's usual JSON error shape
    RATE_LIMIT = "rate_limit"  # 429 with ratelimit-* headers and PagerDuty's JSON body
    RATE_LIMIT_BARE = "rate_limit_bare"  # 429 with no ratelimit headers and an empty body
    DELAY = "delay"  # wait `seconds`, then answer normally
    INVALID_GRANT = "invalid_grant"  # token endpoint only: 400 invalid_grant
    NON_JSON = "non_json"  # an HTML error page with `status` (default 502)


@dataclass(frozen=True)
class Fault:
    endpoint: str  # "token" or "users_me" (both REST hosts)
    kind: FaultKind | str  # stored as FaultKind
    status: int | None = None  # STATUS: required, 500-599; NON_JSON: default 502
    seconds: float = 0.0  # DELAY only
    reset: int = 1  # RATE_LIMIT: the ratelimit-reset header, in seconds
    times: int | None = None  # how many calls it applies to; None: until cleared

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}")
        try:
            object.__setattr__(self, "kind", FaultKind(self.kind))
        except ValueError:
            raise ValueError(f"kind must be one of {', '.join(k.value for k in FaultKind)}") from None
        if self.kind is FaultKind.STATUS and not (_is_int(self.status) and 500 <= self.status <= 599):
            raise ValueError("a 'status' fault needs status between 500 and 599")
        if self.kind is FaultKind.NON_JSON:
            status = 502 if self.status is None else self.status
            if not (_is_int(status) and 400 <= status <= 599):
                raise ValueError("a 'non_json' fault needs status between 400 and 599")
            object.__setattr__(self, "status", status)
        if self.kind is FaultKind.DELAY and not (
            isinstance(self.seconds, (int, float)) and 0 <= self.seconds <= MAX_DELAY_SECONDS
        ):
            raise ValueError(f"a 'delay' fault needs seconds between 0 and {MAX_DELAY_SECONDS:g}")
        if self.kind is FaultKind.INVALID_GRANT and self.endpoint != "token":
            raise ValueError("an 'invalid_grant' fault applies to the token endpoint only")
        if not (_is_int(self.reset) and self.reset >= 0):
            raise ValueError("reset must be a non-negative integer")
        if self.times is not None and not (_is_int(self.times) and self.times >= 1):
            raise ValueError("times must be a positive integer, or absent for 'until cleared'")

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        if not isinstance(data, Mapping):
            raise ValueError("a fault is a JSON object")
        unknown = set(data) - {"endpoint", "kind", "status", "seconds", "reset", "times"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        if "endpoint" not in data or "kind" not in data:
            raise ValueError("a fault needs 'endpoint' and 'kind'")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Active:
    fault: Fault
    remaining: int | None


class FaultBoard:
    """Per endpoint, a queue of faults applied in order to the next calls."""

    def __init__(self, stopping: threading.Event) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Active]] = {endpoint: deque() for endpoint in ENDPOINTS}
        self._stopping = stopping

    def set(self, *faults: Fault, **fields: Any) -> None:
        """Replace the faults of every endpoint named; several for one endpoint run in sequence.

        `set(Fault("token", "status", status=503, times=1))` or
        `set(endpoint="token", kind="status", status=503, times=1)`.
        """
        all_faults = list(faults) + ([Fault(**fields)] if fields else [])
        with self._lock:
            for endpoint in {fault.endpoint for fault in all_faults}:
                self._queues[endpoint].clear()
            for fault in all_faults:
                self._queues[fault.endpoint].append(_Active(fault, fault.times))

    def clear(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**active.fault.to_json(), "remaining": active.remaining}
                for queue in self._queues.values()
                for active in queue
            ]

    def take(self, endpoint: str) -> Fault | None:
        """The fault that applies to this call, counting it against `times`."""
        with self._lock:
            queue = self._queues[endpoint]
            if not queue:
                return None
            active = queue[0]
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining == 0:
                    queue.popleft()
            return active.fault

    def apply(self, endpoint: str) -> Response | None:
        """The faulty response for this call, or None to answer normally (after any delay)."""
        fault = self.take(endpoint)
        if fault is None:
            return None
        if fault.kind is FaultKind.DELAY:
            self._stopping.wait(fault.seconds)  # stop() cuts a delay short
            return None
        return fault_response(fault)


def fault_response(fault: Fault) -> Response:
    if fault.kind is FaultKind.STATUS:
        if fault.endpoint == "token":
            return Response.json(fault.status, {"error": "server_error", "error_description": "Injected fault"})
        return Response.json(fault.status, {"error": {"message": "Internal Server Error", "code": 2000}})
    if fault.kind is FaultKind.RATE_LIMIT:
        headers = (
            ("ratelimit-limit", str(RATE_LIMIT)),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", str(fault.reset)),
        )
        return Response.json(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, headers)
    if fault.kind is FaultKind.RATE_LIMIT_BARE:
        return Response(429)
    if fault.kind is FaultKind.INVALID_GRANT:
        return Response.json(400, {"error": "invalid_grant", "error_description": "Injected fault: invalid_grant"})
    if fault.kind is FaultKind.NON_JSON:
        return Response.html(fault.status, _NON_JSON_PAGE.format(status=fault.status))
    raise AssertionError(f"no response for fault kind {fault.kind}")
