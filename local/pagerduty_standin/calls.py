"""How many times each endpoint was called, so tests can assert on retries and caching."""

from __future__ import annotations

import threading

COUNTERS = ("authorize", "token_authorization_code", "token_refresh", "users_me")


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(COUNTERS, 0)
