"""Authorization codes, access tokens and refresh tokens: issuance, redemption, rotation.

All state changes happen under one lock so that a code or refresh token is consumed exactly once
even when two requests race for it.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import pkce
from .accounts import DemoUser
from .errors import OAuthError

ACCESS_TOKEN_PREFIX = "pdus+_0"  # PagerDuty's documented user-token prefixes
REFRESH_TOKEN_PREFIX = "pdus+_1"


@dataclass(frozen=True)
class Grant:
    """One user's consent to one client: every token issued from one code shares it."""

    grant_id: str
    client_id: str
    user: DemoUser
    scope: str  # granted scope, "openid ..." as the token response shows it
    delegation_id: str


@dataclass(frozen=True)
class AuthorizationCode:
    grant: Grant
    redirect_uri: str
    code_challenge: str | None
    expires_at: float


@dataclass(frozen=True)
class IssuedToken:
    grant: Grant
    expires_at: float


@dataclass(frozen=True)
class TokenSet:
    grant: Grant
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class TokenSnapshot:
    """Live tokens with the seconds each has left, to carry over a restart of the stand-in."""

    access: dict[str, tuple[Grant, float]]
    refresh: dict[str, tuple[Grant, float]]


class TokenStore:
    def __init__(
        self,
        *,
        code_lifetime: float,
        access_token_lifetime: float,
        refresh_token_lifetime: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.code_lifetime = code_lifetime
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._spent_codes: dict[str, str | None] = {}  # code -> grant_id it produced, if any
        self._access: dict[str, IssuedToken] = {}
        self._refresh: dict[str, IssuedToken] = {}

    def issue_code(
        self, *, client_id: str, user: DemoUser, scope: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        grant = Grant(
            grant_id=secrets.token_urlsafe(12),
            client_id=client_id,
            user=user,
            scope=scope,
            delegation_id="P" + secrets.token_hex(6).upper(),
        )
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._codes = {c: v for c, v in self._codes.items() if v.expires_at > now}
            self._codes[code] = AuthorizationCode(grant, redirect_uri, code_challenge, now + self.code_lifetime)
        return code

    def redeem_code(self, code: str, *, client_id: str, redirect_uri: str, code_verifier: str | None) -> TokenSet:
        """Exchange a code for tokens. A code is consumed by its first presentation, good or bad."""
        with self._lock:
            record = self._codes.pop(code, None)
            if record is None:
                if code in self._spent_codes:
                    # RFC 6749 §4.1.2: a reused code SHOULD revoke the tokens issued from it.
                    self._revoke_grant(self._spent_codes[code])
                    raise OAuthError("invalid_grant", "Authorization code has already been used")
                raise OAuthError("invalid_grant", "Authorization code is invalid")
            self._spent_codes[code] = None
            if self._clock() >= record.expires_at:  # PagerDuty: a code lives 30 s
                raise OAuthError("invalid_grant", "Authorization code has expired")
            if record.grant.client_id != client_id:
                raise OAuthError("invalid_grant", "Authorization code was issued to another client")
            if record.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
            if record.code_challenge is None:
                if code_verifier is not None:
                    # RFC 9700 §2.1.1: refuse a code_verifier when no challenge was sent (PKCE downgrade).
                    raise OAuthError("invalid_grant", "code_verifier sent but no code_challenge was")
            elif code_verifier is None:
                raise OAuthError("invalid_grant", "code_verifier is required")
            elif not pkce.verifier_matches(code_verifier, record.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
            self._spent_codes[code] = record.grant.grant_id
            return self._issue(record.grant)

    def rotate_refresh_token(self, refresh_token: str, *, client_id: str) -> TokenSet:
        """New access and refresh tokens; the presented refresh token stops working."""
        with self._lock:
            record = self._refresh.get(refresh_token)
            if record is None or record.grant.client_id != client_id:
                raise OAuthError("invalid_grant", "Refresh token is invalid")
            del self._refresh[refresh_token]
            if self._clock() >= record.expires_at:
                raise OAuthError("invalid_grant", "Refresh token has expired")
            return self._issue(record.grant)

    def find_access_token(self, access_token: str) -> Grant | None:
        """The grant behind a live access token, or None if unknown, revoked or expired."""
        with self._lock:
            record = self._access.get(access_token)
            if record is None or self._clock() >= record.expires_at:
                return None
            return record.grant

    def snapshot(self) -> TokenSnapshot:
        """Access and refresh tokens still live (codes live 30 s: not worth keeping)."""
        with self._lock:
            now = self._clock()

            def live(tokens: dict[str, IssuedToken]) -> dict[str, tuple[Grant, float]]:
                return {t: (r.grant, r.expires_at - now) for t, r in tokens.items() if r.expires_at > now}

            return TokenSnapshot(access=live(self._access), refresh=live(self._refresh))

    def restore(self, snapshot: TokenSnapshot) -> None:
        """Take tokens from a snapshot, each with the lifetime it had left."""
        with self._lock:
            now = self._clock()
            for tokens, saved in ((self._access, snapshot.access), (self._refresh, snapshot.refresh)):
                tokens.update({t: IssuedToken(grant, now + left) for t, (grant, left) in saved.items()})

    def revoke_all(self) -> None:
        """Like "Revoke All Tokens" in PagerDuty's App Registration."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()
            self._codes.clear()

    def _issue(self, grant: Grant) -> TokenSet:
        now = self._clock()
        access_token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        refresh_token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._access[access_token] = IssuedToken(grant, now + self.access_token_lifetime)
        self._refresh[refresh_token] = IssuedToken(grant, now + self.refresh_token_lifetime)
        return TokenSet(grant, access_token, refresh_token, int(self.access_token_lifetime))

    def _revoke_grant(self, grant_id: str | None) -> None:
        if grant_id is None:
            return
        for tokens in (self._access, self._refresh):
            for token in [t for t, record in tokens.items() if record.grant.grant_id == grant_id]:
                del tokens[token]
