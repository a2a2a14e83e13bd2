"""One simulated browser going through the whole flow over HTTP, timing each request.

landing (GET /) → GET /authorize (302 to PagerDuty, binding cookie set) → the stand-in's consent
page → its Authorize button (302 back to /callback) → GET /callback (the welcome page).
Each browser has its own requests.Session and keeps its own binding cookie. The cookie is
`Secure` and the local stack is plain http on localhost, where real browsers still send it but
Python's cookie jar does not, so the browser sends it itself, as test_process does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import requests

BINDING_COOKIE = "__Host-pd-connect-binding"
STEPS = ("landing", "authorize", "consent_page", "consent_post", "callback")
TIMEOUT = (5, 60)  # a queued request under load may wait long; it still counts, with its time


@dataclass
class FlowResult:
    ok: bool
    seconds: dict[str, float] = field(default_factory=dict)  # step -> time of that request
    statuses: dict[str, int] = field(default_factory=dict)
    error: str = ""  # first step that went wrong, and how
    step: str = ""  # the step under way


class _ConsentForm(HTMLParser):
    """The stand-in's consent form: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


class Browser:
    """`observe(step)`, if given, is a context manager around each request (e.g. to count calls)."""

    def __init__(self, base_url: str, observe: Callable[[str], AbstractContextManager] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.binding = ""
        self._observe = observe or (lambda step: nullcontext())

    def close(self) -> None:
        self.session.close()

    def connect(self, login: str) -> FlowResult:
        """One complete flow, signing in at the stand-in as `login`."""
        result = FlowResult(ok=False)
        try:
            landing = self._get(result, "landing", self.base_url + "/")
            if landing.status_code != 200:
                return self._fail(result, "landing", landing)
            start = self._get(result, "authorize", self.base_url + "/authorize")
            if start.status_code != 302:
                return self._fail(result, "authorize", start)
            cookie = start.cookies.get(BINDING_COOKIE) or _cookie_from(start.headers.get("Set-Cookie", ""))
            self.binding = cookie or self.binding
            consent = self._get(result, "consent_page", start.headers["Location"])
            if consent.status_code != 200:
                return self._fail(result, "consent_page", consent)
            form = _ConsentForm()
            form.feed(consent.text)
            action = urlsplit(consent.url)._replace(path=form.action, query="").geturl()
            data = {**form.fields, "login": login, "decision": "authorize"}
            decided = self._timed(
                result,
                "consent_post",
                lambda: self.session.post(action, data=data, allow_redirects=False, timeout=TIMEOUT),
            )
            if decided.status_code not in (302, 303):
                return self._fail(result, "consent_post", decided)
            callback = self._get(result, "callback", decided.headers["Location"], cookie=True)
            if callback.status_code != 200 or "Connected to PagerDuty" not in callback.text:
                return self._fail(result, "callback", callback)
        except requests.RequestException as error:
            result.error = f"{result.step}: {type(error).__name__}"
            return result
        result.ok = True
        return result

    def _get(self, result: FlowResult, step: str, url: str, *, cookie: bool = False) -> requests.Response:
        headers = {"Cookie": f"{BINDING_COOKIE}={self.binding}"} if cookie and self.binding else None
        return self._timed(
            result, step, lambda: self.session.get(url, headers=headers, allow_redirects=False, timeout=TIMEOUT)
        )

    def _timed(self, result: FlowResult, step: str, send: Callable[[], requests.Response]) -> requests.Response:
        result.step = step
        with self._observe(step):
            started = time.perf_counter()
            try:
                response = send()
            finally:
                result.seconds[step] = time.perf_counter() - started
        result.statuses[step] = response.status_code
        return response

    @staticmethod
    def _fail(result: FlowResult, step: str, response: requests.Response) -> FlowResult:
        result.error = f"{step}: HTTP {response.status_code}"
        return result


def _cookie_from(set_cookie: str) -> str:
    name, _, rest = set_cookie.partition("=")
    return rest.split(";")[0] if name.strip() == BINDING_COOKIE else ""


def add_users(standin_url: str, count: int, prefix: str) -> list[str]:
    """Sign-in ids of `count` new PagerDuty users on the stand-in: one connection each."""
    logins = []
    with requests.Session() as session:
        for n in range(count):
            user_id = f"{prefix}{n:05d}"
            response = session.post(
                f"{standin_url}/_standin/users",
                json={"id": user_id, "name": f"Bench User {n}", "email": f"{user_id.lower()}@example.com"},
                timeout=10,
            )
            response.raise_for_status()
            logins.append(response.json()["login"])
    return logins
