"""PagerDuty's OAuth 2.0 token endpoint: code exchange and refresh.

Facts this relies on (PagerDuty developer docs): authorize and token live on
identity.pagerduty.com for every region; the token endpoint takes a form-encoded body only
(query-string parameters stopped working in 2022); the code lives 30 s and is single-use, so a
token call is never retried blindly; refresh rotates the refresh token.
"""

import time
from collections.abc import Callable

import requests

from pd_connect.oauth.errors import (
    InvalidClient,
    InvalidGrant,
    PagerDutyBadResponse,
    PagerDutyTimeout,
    PagerDutyUnavailable,
)
from pd_connect.platform.observability import logger
from pd_connect.platform.records import Record

# Well under the code's 30 s life: connect 3 s, read 8 s.
TOKEN_TIMEOUT = (3.05, 8)


class TokenSet(Record):
    """What a token call granted. A Record: its repr never shows a token, even in a debugger or a
    failing test, and unlike a tuple it hands none to code that iterates or JSON-encodes it."""

    access_token: str
    refresh_token: str
    expires_at: int  # epoch seconds, from the expires_in we received (docs' samples disagree)
    scope: str
    id_token: str | None
    _redacted = ("access_token", "refresh_token", "id_token")


def exchange_code(
    session: requests.Session,
    identity_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    clock=time.time,
) -> TokenSet:
    return _token_request(
        session,
        identity_url,
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "redirect_uri": redirect_uri,  # must equal the authorize one
            "code_verifier": code_verifier,
        },
        clock=clock,
    )


def refresh(
    session: requests.Session, identity_url: str, *, client_id: str, client_secret: str, refresh_token: str, clock=time.time
) -> TokenSet:
    return _token_request(
        session,
        identity_url,
        {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        },
        clock=clock,
    )


class TokenEndpoint(Record):
    """The token endpoint for this deployment's OAuth client, its secret from `client_secret`
    (called as `client_secret(force_fetch=True)` to bypass the container's cache).

    On invalid_client the secret may have been rotated since it was cached: the call is made once
    more, and only when a fresh read gives another secret. A rejected client never consumed the
    code or the refresh token, so the second call can still redeem it."""

    session: requests.Session
    identity_url: str
    client_id: str
    client_secret: Callable[..., str]
    clock: Callable[[], float] = time.time

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        return self._with_current_secret(
            "exchange", exchange_code, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._with_current_secret("refresh", refresh, refresh_token=refresh_token)

    def _with_current_secret(self, call: str, grant: Callable[..., TokenSet], **parameters: str) -> TokenSet:
        """`grant` (this module's exchange_code or refresh) with the current secret, then maybe a fresh one."""
        def attempt(secret: str) -> TokenSet:
            credentials = {"client_id": self.client_id, "client_secret": secret}
            return grant(self.session, self.identity_url, **credentials, **parameters, clock=self.clock)

        secret = self.client_secret()
        try:
            return attempt(secret)
        except InvalidClient:
            fresh = self.client_secret(force_fetch=True)
            if fresh == secret:
                raise
            logger.info(f"client secret was rotated; retrying the {call} once with the new one")
            return attempt(fresh)


def _token_request(session: requests.Session, identity_url: str, form: dict, *, clock) -> TokenSet:
    grant = form["grant_type"]
    try:
        # data= sends application/x-www-form-urlencoded; nothing secret goes in the URL.
        response = session.post(
            f"{identity_url}/oauth/token", data=form, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT
        )
    except requests.Timeout:
        raise PagerDutyTimeout(f"token {grant}: timeout") from None
    except requests.RequestException as error:
        raise PagerDutyUnavailable(f"token {grant}: {type(error).__name__}") from None
    body = _json_object(response)
    if response.status_code != 200:
        error = str(body.get("error", "")) if body else ""
        if error == "invalid_client" or (response.status_code == 401 and not error):
            raise InvalidClient()
        if error == "invalid_grant":
            raise InvalidGrant(f"token {grant}: invalid_grant")
        if response.status_code >= 500 or response.status_code == 429:
            raise PagerDutyUnavailable(f"token {grant}: HTTP {response.status_code}")
        detail = f"token {grant}: HTTP {response.status_code} {error or 'no error code'}"
        raise PagerDutyBadResponse(detail[:200])
    if body is None:
        raise PagerDutyBadResponse(f"token {grant}: body is not a JSON object")
    access_token = body.get("access_token")
    refresh_token = body.get("refresh_token")
    if not isinstance(access_token, str) or not access_token or not isinstance(refresh_token, str) or not refresh_token:
        raise PagerDutyBadResponse(f"token {grant}: tokens missing from response")
    if str(body.get("token_type", "bearer")).lower() != "bearer":
        raise PagerDutyBadResponse(f"token {grant}: unexpected token_type")
    expires_in = body.get("expires_in")
    if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool) or expires_in <= 0:
        raise PagerDutyBadResponse(f"token {grant}: expires_in missing or invalid")
    id_token = body.get("id_token")
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=int(clock()) + int(expires_in),
        scope=str(body.get("scope", "")),
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )


def _json_object(response: requests.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
