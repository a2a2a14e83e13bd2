"""A ready HTTP client for one connection's PagerDuty REST API.

Right regional base URL, the v2 Accept header and Bearer auth on every call. On 401 it gets a
refreshed token once and retries; on 429 it waits for `ratelimit-reset` (bounded) and retries a
bounded number of times, then raises RateLimited. PagerDuty allows 960 requests/min per app per
user; the python `pagerduty` client retries 429s forever and ignores the reset header.
"""

from __future__ import annotations

import time

import requests

from pd_connect.client.access_tokens import AccessTokens
from pd_connect.container import process_container
from pd_connect.oauth.current_user import ACCEPT_V2, API_TIMEOUT
from pd_connect.vault.connections import ConnectionKey

MAX_RATE_LIMIT_RETRIES = 3
MAX_WAIT_SECONDS = 30  # never sleep longer than this on one 429, whatever the header says
DEFAULT_WAIT_SECONDS = 2  # when a 429 carries no (or an unreadable) ratelimit-reset


class RateLimited(RuntimeError):
    """PagerDuty kept answering 429 after the bounded retries."""


class PagerDutyClient:
    def __init__(
        self,
        key: ConnectionKey | str | None = None,
        *,
        app_user_id: str = "",
        account_id: str = "",
        access_tokens: AccessTokens | None = None,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ) -> None:
        """Name the connection by `key`, or by your `app_user_id` (see get_access_token)."""
        self._tokens = access_tokens or process_container().token_source  # the table, or the token function
        self.key = self._tokens.resolve(key, app_user_id=app_user_id, account_id=account_id)
        self._session = session or requests.Session()
        self._sleep = sleep

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call `path` (e.g. "/incidents") on this connection's API host. Returns the response
        for any status other than 401-after-refresh and exhausted 429s; raise_for_status is yours."""
        extra_headers = kwargs.pop("headers", None) or {}
        kwargs.setdefault("timeout", API_TIMEOUT)
        token = self._tokens.get(self.key)
        refreshed = False
        rate_limited = 0
        while True:
            headers = {**extra_headers, "Authorization": f"Bearer {token.token}", "Accept": ACCEPT_V2}
            response = self._session.request(method, f"{token.api_base}{path}", headers=headers, **kwargs)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                token = self._tokens.get(self.key, reject_version=token.version)
                continue
            if response.status_code == 429:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_RETRIES:
                    raise RateLimited(f"{self.key}: still rate limited after {MAX_RATE_LIMIT_RETRIES} retries")
                self._sleep(_wait_seconds(response))
                continue
            return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def _wait_seconds(response: requests.Response) -> float:
    try:
        reset = float(response.headers.get("ratelimit-reset", ""))
    except ValueError:
        return DEFAULT_WAIT_SECONDS
    if reset != reset or reset < 0:  # NaN or negative: junk
        return DEFAULT_WAIT_SECONDS
    return min(reset, MAX_WAIT_SECONDS)
