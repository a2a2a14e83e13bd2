"""Drives the connect flow the way a browser would, calling the handlers with HTTP API events.

Used by handler-level tests: /authorize (handler) → the PagerDuty stand-in's authorize page
(real HTTP) → /callback (handler). The event shape matches what API Gateway sends (payload 2.0).
"""

from __future__ import annotations

import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import requests
from pd_connect.flow.browser_binding import COOKIE_NAME


def http_event(url: str, *, cookies: dict[str, str] | None = None, method: str = "GET") -> dict:
    parts = urlsplit(url)
    event = {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {"host": parts.netloc, "user-agent": "flow-driver"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "test",
            "domainName": parts.netloc,
            "domainPrefix": parts.netloc.split(".")[0],
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "flow-driver"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {parts.path}",
            "stage": "$default",
            "time": "30/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795942800000,
        },
        "isBase64Encoded": False,
    }
    if parts.query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    if cookies:
        event["cookies"] = [f"{name}={value}" for name, value in cookies.items()]
    return event


def cookie_value(set_cookie: str) -> tuple[str, str]:
    name, _, rest = set_cookie.partition("=")
    return name, rest.split(";")[0]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self.action = ""
        self._select = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name", "")
        elif tag == "option" and self._select:
            if self._select not in self.fields or "selected" in a:
                self.fields[self._select] = a.get("value", "")
        elif tag == "button" and a.get("id"):
            self.buttons[a["id"]] = (a.get("name", ""), a.get("value", ""))


class FlowDriver:
    """One browser: keeps its own cookie jar for our site (the binding cookie)."""

    def __init__(self, start_handler, callback_handler, site: str = "https://connect.example.com") -> None:
        self.start = start_handler
        self.callback_handler = callback_handler
        self.site = site
        self.cookies: dict[str, str] = {}

    def _invoke(self, handler, path_and_query: str) -> dict:
        result = handler(http_event(self.site + path_and_query, cookies=self.cookies), LambdaContext())
        for set_cookie in result.get("cookies", []):
            name, value = cookie_value(set_cookie)
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return result

    def authorize(self, query: str = "") -> str:
        result = self.authorize_result(query)
        assert result["statusCode"] == 302, result
        return result["headers"]["Location"]

    def authorize_result(self, query: str = "") -> dict:
        return self._invoke(self.start, "/authorize" + (f"?{query}" if query else ""))

    @staticmethod
    def decide_at_pagerduty(authorize_location: str, *, button: str = "authorize", login: str | None = None) -> str:
        """Open PagerDuty's authorize page, press a button; return where PagerDuty redirects."""
        page = requests.get(authorize_location, timeout=5)
        assert page.status_code == 200, page.text
        form = _FormParser()
        form.feed(page.text)
        data = dict(form.fields)
        if login:
            data["login"] = login
        name, value = form.buttons[button]
        data[name] = value
        action = urlsplit(authorize_location)._replace(path=form.action, query="").geturl()
        answer = requests.post(action, data=data, allow_redirects=False, timeout=5)
        assert answer.status_code in (302, 303), answer.text
        return answer.headers["Location"]

    def callback(self, callback_url: str) -> dict:
        parts = urlsplit(callback_url)
        return self._invoke(self.callback_handler, f"{parts.path}?{parts.query}")

    def connect(self, *, login: str | None = None, query: str = "") -> dict:
        return self.callback(self.decide_at_pagerduty(self.authorize(query), login=login))

    @property
    def binding(self) -> str | None:
        return self.cookies.get(COOKIE_NAME)


class LambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 25_000
