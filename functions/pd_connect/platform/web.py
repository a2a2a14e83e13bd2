"""The HTTP edge: API Gateway HTTP API (payload 2.0) events in, responses out.

A deliberately small router rather than Powertools' event handler: these functions serve three
GET routes, and every import is cold start (see the benchmark). Security headers, failure pages
and the single log line per failure all live here, in one place; which failure an error is, is
the flow's to say (`failure_for`, flow/failures.py), given to the App by each handler.
"""

import os
import secrets
import uuid
from types import MappingProxyType
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from pd_connect.platform.errors import BadRequest, MethodNotAllowed, NotFound
from pd_connect.platform.observability import logger, record_failure
from pd_connect.platform.records import Record

MAX_QUERY_LENGTH = 4096  # our parameters are short; anything longer is not from PagerDuty

# `sam local start-api` (which sets AWS_SAM_LOCAL in every container it runs) sends one requestId
# for every request, fixed when SAM starts, and each request may get a fresh container that cannot
# see the repeat; API Gateway's ids are unique. Log lines need an id per request to correlate.
SAM_LOCAL = os.environ.get("AWS_SAM_LOCAL") == "true"

# On every response. CSP is per page (pages know what they embed), HSTS is ignored on plain-http
# localhost by browsers, so it is safe to send everywhere.
BASE_SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Request(Record):
    method: str
    path: str
    query: Mapping[str, tuple[str, ...]]  # every value of every parameter, in order
    cookies: Mapping[str, str]
    headers: Mapping[str, str]
    request_id: str
    domain_name: str

    def param(self, name: str) -> str | None:
        """The single value of a query parameter; None when absent. Repeating a parameter is
        malformed input here (which `state` would we check?), so it fails."""
        values = self.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise BadRequest(f"repeated parameter {name}")
        return values[0]

    # repr shows these by their names only: the code, the state and the binding cookie are credentials.
    _redacted = ("query", "cookies", "headers")


class Response(Record):
    status: int
    body: str
    content_security_policy: str
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = MappingProxyType({})  # one default for every Response: read-only
    cookies: tuple[str, ...] = ()

    def to_api_gateway(self) -> dict[str, Any]:
        headers = {
            **BASE_SECURITY_HEADERS,
            "Content-Type": self.content_type,
            "Content-Security-Policy": self.content_security_policy,
            **self.headers,
        }
        result: dict[str, Any] = {
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": False,
        }
        if self.cookies:
            result["cookies"] = list(self.cookies)
        return result


def redirect(location: str, *, status: int = 302, cookies: tuple[str, ...] = ()) -> Response:
    return Response(
        status=status,
        body="",
        content_security_policy="default-src 'none'; frame-ancestors 'none'",
        headers={"Location": location},
        cookies=cookies,
    )


def _parse_query(event: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    raw = event.get("rawQueryString")
    if raw is None:
        # Some emulators send only the parsed map (repeated values joined by commas).
        parsed = event.get("queryStringParameters") or {}
        return {str(k): (str(v),) for k, v in parsed.items()}
    if len(raw) > MAX_QUERY_LENGTH:
        raise BadRequest("query string too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:  # percent-encoded bytes that are not UTF-8 (%ff): nothing we sent
        raise BadRequest("query string is not UTF-8") from None
    query: dict[str, list[str]] = {}
    for name, value in pairs:
        query.setdefault(name, []).append(value)
    return {name: tuple(values) for name, values in query.items()}


def _parse_cookies(event: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    pairs = list(event.get("cookies") or [])
    if not pairs and headers.get("cookie"):
        pairs = headers["cookie"].split(";")
    cookies: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = str(pair).strip().partition("=")
        if sep and name:
            cookies.setdefault(name, value)  # the first wins, as browsers send the most specific first
    return cookies


class _RequestIds:
    """The event's requestId, or a fresh per-request id when it is missing, repeated in this
    container, or from SAM's emulator (see SAM_LOCAL)."""

    def __init__(self, *, emulated: bool) -> None:
        self._emulated = emulated
        self._last = ""

    def of(self, context: Mapping[str, Any]) -> str:
        given = str(context.get("requestId") or "")
        repeated = given == self._last
        self._last = given
        if not given or repeated or self._emulated:
            return uuid.uuid4().hex
        return given


_request_ids = _RequestIds(emulated=SAM_LOCAL)


def parse_request(event: Mapping[str, Any]) -> Request:
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return Request(
        method=str(http.get("method", "GET")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        query=_parse_query(event),
        cookies=_parse_cookies(event, headers),
        headers=headers,
        request_id=_request_ids.of(context),
        domain_name=_public_host(event, context),
    )


def _public_host(event: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """The host browsers (and PagerDuty's redirect) use. Behind the CloudFront front door API
    Gateway is reached at its execute-api host, so the stage variable public_host (template.yaml,
    set by API Gateway, never by the client) names the distribution's."""
    stage_variables = event.get("stageVariables") or {}
    return str(stage_variables.get("public_host") or context.get("domainName", ""))


Route = Callable[[Request], Response]


def new_reference() -> str:
    """A short id for one failure: on the page for the user to quote, and in its log line."""
    return secrets.token_hex(4)


class App:
    """Routes GET requests to functions; turns every error into a failure page (`failure_for`:
    error -> failure, with a `reason`, `detail`, `cookies` and `allow`).

    Every other path and method gets the 404/405 page (the template's `$default` route sends
    them here). HEAD is answered like GET only where GET changes nothing (`head=True`): a HEAD
    from a link checker must not start or finish a flow. `elsewhere`: paths other functions
    serve with GET, so that another method on them is a 405 rather than a 404.
    """

    def __init__(
        self,
        render_failure: Callable[..., Response],
        *,
        failure_for: Callable[[Exception], Any],
        elsewhere: tuple[str, ...] = (),
    ) -> None:
        self._routes: dict[str, tuple[Route, tuple[str, ...]]] = {}
        self._elsewhere = elsewhere
        self._render_failure = render_failure  # (failure, *, reference) -> the failure page
        self._failure_for = failure_for

    def get(self, path: str, *, head: bool = False) -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            self._routes[path] = (route, ("GET", "HEAD") if head else ("GET",))
            return route

        return register

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = parse_request(event)
            logger.set_correlation_id(request.request_id)
            response = self._route(request)(request)
        except Exception as error:  # noqa: BLE001 - the user gets a page, never a stack trace
            failure = self._failure_for(error)
            response = self._fail(failure)
            if failure.cookies:
                response = response._replace(cookies=response.cookies + failure.cookies)
        return response.to_api_gateway()

    def _route(self, request: Request) -> Route:
        if request.path in self._routes:
            route, methods = self._routes[request.path]
        elif request.path in self._elsewhere and request.method != "GET":
            raise MethodNotAllowed(request.method[:20], allow=("GET",))
        else:
            raise NotFound(f"{request.method} {request.path[:100]}")
        if request.method not in methods:
            raise MethodNotAllowed(request.method[:20], allow=methods)
        return route

    def _fail(self, failure: Any) -> Response:
        reason, reference = failure.reason, new_reference()
        log = logger.error if reason.status >= 500 else logger.warning
        log(
            "connect flow failed",
            extra={"reason": reason.code, "status": reason.status, "detail": failure.detail, "reference": reference},
        )
        record_failure(reason.code)
        page = self._render_failure(failure, reference=reference)
        if failure.allow:  # RFC 9110 §15.5.6: a 405 says which methods the resource supports
            page = page._replace(headers={**page.headers, "Allow": ", ".join(failure.allow)})
        return page
