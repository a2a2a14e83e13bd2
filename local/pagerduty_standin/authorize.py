"""GET /oauth/authorize (the consent page) and POST /oauth/authorize (the user's decision)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import pages, pkce
from .accounts import UserDirectory
from .calls import CallCounter
from .clients import ClientRegistry, RegisteredClient
from .errors import AuthorizePageError, AuthorizeRedirectError, MalformedRequest
from .scopes import ScopeGrants, granted_scope
from .tokens import TokenStore
from .wire import FORM_CONTENT_TYPE, Request, Response, parse_pairs


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request (RFC 6749 §4.1.1 plus PKCE, RFC 7636 §4.3)."""

    client: RegisteredClient
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def parameters(self) -> dict[str, str]:
        """The request's parameters, as the consent form carries them to the decision."""
        params = {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        return {name: value for name, value in params.items() if value is not None}


class AuthorizeEndpoint:
    def __init__(
        self,
        clients: ClientRegistry,
        users: UserDirectory,
        tokens: TokenStore,
        calls: CallCounter,
        *,
        grants: ScopeGrants | None = None,
        subdomain_in_callback: bool = False,
    ) -> None:
        self._clients = clients
        self._users = users
        self._tokens = tokens
        self._calls = calls
        self._subdomain_in_callback = subdomain_in_callback
        self._grants = grants or ScopeGrants()

    def show(self, request: Request) -> Response:
        """GET: validate the request and show the consent page."""
        self._calls.count("authorize")
        auth = self._validate(_pairs(request.query))
        page = pages.authorize_page(
            auth.client.name or auth.client.client_id, auth.scope, auth.parameters(), self._users.all()
        )
        return Response.html(200, page, pages.PAGE_HEADERS)

    def decide(self, request: Request) -> Response:
        """POST: the consent form was submitted. Everything is validated again."""
        if request.content_type() != FORM_CONTENT_TYPE:
            raise AuthorizePageError("The authorization form must be submitted as a form")
        if request.query:
            raise AuthorizePageError("The authorization form carries its parameters in the body")
        pairs = _pairs_from_body(request)
        choice = {name: value for name, value in pairs if name in ("login", "decision")}
        auth = self._validate([(name, value) for name, value in pairs if name not in ("login", "decision")])
        decision = choice.get("decision")
        if decision == "deny":
            denied = [("error", "access_denied"), ("error_description", "The user denied the request")]
            return _redirect(auth.redirect_uri, denied, auth.state)
        if decision != "authorize":
            raise AuthorizePageError("Choose Authorize or Deny")
        user = self._users.find(choice.get("login", ""))
        if user is None:
            raise AuthorizePageError("Choose a PagerDuty user to sign in as")
        code = self._tokens.issue_code(
            client_id=auth.client.client_id,
            user=user,
            scope=granted_scope(auth.scope, role=user.role, withheld=self._grants.withheld),
            redirect_uri=auth.redirect_uri,
            code_challenge=auth.code_challenge,
        )
        extra = [("subdomain", user.account.subdomain)] if self._subdomain_in_callback else []
        return _redirect(auth.redirect_uri, [("code", code)], auth.state, extra)

    def _validate(self, pairs: list[tuple[str, str]]) -> AuthorizationRequest:
        # RFC 6749 §4.1.2.1: without a trustworthy client and redirect_uri, never redirect.
        client_id = _single(pairs, "client_id")
        client = self._clients.find(client_id)
        if client is None:
            raise AuthorizePageError("Unknown client_id" if client_id else "client_id is missing")
        redirect_uri = _single(pairs, "redirect_uri")
        if redirect_uri is None:
            raise AuthorizePageError("redirect_uri is missing")
        if not client.allows_redirect_uri(redirect_uri):
            raise AuthorizePageError("redirect_uri is not registered for this application")

        values: dict[str, str] = {}
        for name, value in pairs:
            if name in values:
                state = next((v for n, v in pairs if n == "state"), None)
                raise AuthorizeRedirectError(
                    redirect_uri, "invalid_request", f"{name} is included more than once", state or None
                )
            values[name] = value
        params = {name: value for name, value in values.items() if value}  # RFC 6749 §3.1: empty = omitted
        state = params.get("state")

        def fail(error: str, description: str) -> AuthorizeRedirectError:
            return AuthorizeRedirectError(redirect_uri, error, description, state)

        response_type = params.get("response_type")
        if response_type is None:
            raise fail("invalid_request", "response_type is required")
        if response_type != "code":
            raise fail("unsupported_response_type", "response_type must be code")
        scope = params.get("scope")
        if scope is None:  # PagerDuty: scope required since 2022
            raise fail("invalid_request", "scope is required")
        code_challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if method is not None and method != "S256":  # PagerDuty documents S256 only
            raise fail("invalid_request", "code_challenge_method must be S256")
        if code_challenge is None and method is not None:
            raise fail("invalid_request", "code_challenge_method sent without code_challenge")
        if code_challenge is not None:
            if method is None:  # RFC 7636 would default to plain, which PagerDuty does not offer
                raise fail("invalid_request", "code_challenge_method=S256 is required with code_challenge")
            if not pkce.is_valid_challenge(code_challenge):
                raise fail("invalid_request", "code_challenge must be 43 base64url characters (S256)")
        return AuthorizationRequest(client, redirect_uri, scope, state, code_challenge, method)


def _pairs(query: str) -> list[tuple[str, str]]:
    try:
        return parse_pairs(query)
    except MalformedRequest as exc:
        raise AuthorizePageError("The authorization request is malformed") from exc


def _pairs_from_body(request: Request) -> list[tuple[str, str]]:
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AuthorizePageError("The authorization form is not UTF-8") from exc
    return _pairs(body)


def _single(pairs: list[tuple[str, str]], name: str) -> str | None:
    values = [value for n, value in pairs if n == name]
    if len(values) > 1:
        raise AuthorizePageError(f"{name} is included more than once")
    return values[0] if values and values[0] else None


def _redirect(
    redirect_uri: str,
    params: list[tuple[str, str]],
    state: str | None,
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    echoed = [("state", state)] if state else []  # echoed exactly, only when sent
    return Response.redirect(callback_url(redirect_uri, params + echoed + (extra or [])))


def callback_url(redirect_uri: str, params: list[tuple[str, str]]) -> str:
    """redirect_uri with params added to any query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)  # keep the registered query as is
    return urlunsplit(parts._replace(query=query))


def redirect_error(exc: AuthorizeRedirectError) -> Response:
    return _redirect(exc.redirect_uri, [("error", exc.error), ("error_description", exc.description)], exc.state)
