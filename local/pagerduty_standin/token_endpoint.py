"""POST /oauth/token: the authorization_code and refresh_token grants, as strict as PagerDuty's."""

from __future__ import annotations

from typing import Any

from .calls import CallCounter
from .clients import ClientRegistry
from .errors import MalformedRequest, OAuthError
from .faults import FaultBoard
from .id_token import IdTokenSigner
from .tokens import TokenSet, TokenStore
from .wire import FORM_CONTENT_TYPE, Request, Response, form_body, parse_params

NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))  # RFC 6749 §5.1
_COUNTERS = {"authorization_code": "token_authorization_code", "refresh_token": "token_refresh"}


class TokenEndpoint:
    def __init__(
        self,
        clients: ClientRegistry,
        tokens: TokenStore,
        signer: IdTokenSigner,
        faults: FaultBoard,
        calls: CallCounter,
    ) -> None:
        self._clients = clients
        self._tokens = tokens
        self._signer = signer
        self._faults = faults
        self._calls = calls

    def __call__(self, request: Request) -> Response:
        self._count(request)
        faulty = self._faults.apply("token")
        if faulty is not None:
            return faulty
        if request.query:  # PagerDuty: query-string parameters stopped being accepted in 2022
            raise OAuthError("invalid_request", "Parameters must be sent in the request body, not the URL")
        if request.content_type() != FORM_CONTENT_TYPE:
            raise OAuthError("invalid_request", f"The request body must be {FORM_CONTENT_TYPE}")
        try:
            params = form_body(request)
        except MalformedRequest as exc:
            raise OAuthError("invalid_request", exc.description) from exc
        client = self._clients.authenticate(params, request.header("authorization"))

        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            code = _required(params, "code")
            redirect_uri = _required(params, "redirect_uri")
            tokens = self._tokens.redeem_code(
                code,
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                code_verifier=params.get("code_verifier"),
            )
            id_token = self._signer.id_token(tokens.grant, lifetime=self._tokens.access_token_lifetime)
            body = {"client_info": "prefix_legacy_app", "id_token": id_token, **_token_fields(tokens)}
        elif grant_type == "refresh_token":
            refresh_token = _required(params, "refresh_token")
            tokens = self._tokens.rotate_refresh_token(refresh_token, client_id=client.client_id)
            body = _token_fields(tokens)
        elif grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        return Response.json(200, body, NO_STORE)

    def _count(self, request: Request) -> None:
        """Count the call under its grant type, however malformed the rest of it is."""
        for source in (request.body, request.query.encode()):
            try:
                grant_type = parse_params(source.decode("utf-8")).get("grant_type")
            except (MalformedRequest, UnicodeDecodeError):
                continue
            if grant_type in _COUNTERS:
                self._calls.count(_COUNTERS[grant_type])
                return


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


def _token_fields(tokens: TokenSet) -> dict[str, Any]:
    return {
        "token_type": "bearer",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.grant.scope,
        "expires_in": tokens.expires_in,
    }
