"""The REST API's GET /users/me, on the US host (/users/me) and the EU host (/eu/users/me)."""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from .accounts import Region, user_resource
from .calls import CallCounter
from .errors import ApiError
from .faults import RATE_LIMIT, FaultBoard
from .scopes import allows
from .tokens import Grant, TokenStore
from .wire import Request, Response

API_MEDIA_TYPE = "application/vnd.pagerduty+json;version=2"  # required by PagerDuty's schema
USERS_ME_SCOPES = {"read", "write", "users.read", "users.write"}
RATE_WINDOW_SECONDS = 60.0


class RateLimiter:
    """PagerDuty's per-app-per-user budget, as a fixed one-minute window."""

    def __init__(self, limit: int = RATE_LIMIT, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, key: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        """Count one request; the ratelimit-* headers. Raises ApiError 429 past the limit."""
        with self._lock:
            now = self._clock()
            started, used = self._windows.get(key, (now, 0))
            if now - started >= RATE_WINDOW_SECONDS:
                started, used = now, 0
            used += 1
            self._windows[key] = (started, used)
        reset = max(math.ceil(started + RATE_WINDOW_SECONDS - now), 0)
        headers = (
            ("ratelimit-limit", str(self._limit)),
            ("ratelimit-remaining", str(max(self._limit - used, 0))),
            ("ratelimit-reset", str(reset)),
        )
        if used > self._limit:
            raise RateLimited(headers)
        return headers


class RateLimited(ApiError):
    def __init__(self, headers: tuple[tuple[str, str], ...]) -> None:
        super().__init__(429, "Rate Limit Exceeded", 2020)
        self.headers = headers


class UsersMeEndpoint:
    def __init__(self, tokens: TokenStore, faults: FaultBoard, calls: CallCounter, base_url: Callable[[], str]) -> None:
        self._base_url = base_url  # where the stand-in listens, for avatar URLs without a Host header
        self._tokens = tokens
        self._faults = faults
        self._calls = calls
        self._rate_limiter = RateLimiter()

    def __call__(self, request: Request, region: Region) -> Response:
        self._calls.count("users_me")
        faulty = self._faults.apply("users_me")
        if faulty is not None:
            return faulty
        grant = self._authenticate(request, region)
        if not _accepts_api_v2(request.header("accept")):
            raise ApiError(406, "Not Acceptable", 2001, (f"The Accept header must be {API_MEDIA_TYPE}",))
        if not allows(grant.scope, any_of=USERS_ME_SCOPES):
            raise ApiError(403, "Forbidden", 2010, ("Token missing required scopes",))
        headers = self._rate_limiter.hit((grant.client_id, grant.user.id))
        avatar_base = request.origin(default=self._base_url())
        return Response.json(200, {"user": user_resource(grant.user, avatar_base)}, headers)

    def _authenticate(self, request: Request, region: Region) -> Grant:
        scheme, _, token = (request.header("authorization") or "").strip().partition(" ")
        grant = self._tokens.find_access_token(token.strip()) if scheme.lower() == "bearer" else None
        # PagerDuty: an unknown or expired token, or the other region's host, is a plain 401.
        if grant is None or grant.user.account.region is not region:
            raise ApiError(401, "Unauthorized", 2006)
        return grant


def _accepts_api_v2(accept: str | None) -> bool:
    if not accept:
        return False
    for media_range in accept.split(","):
        normalized = ";".join(part.strip() for part in media_range.split(";")).lower()
        if normalized == API_MEDIA_TYPE:
            return True
    return False
