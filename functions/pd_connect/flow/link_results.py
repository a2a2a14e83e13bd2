"""The linked flow's result: what the callback hands back to the builder's app to confirm.

After a linked flow the callback stores the connection unconfirmed and sends the browser back to
the app with `pagerduty_result=<token>`: a signed, single-use, short-lived statement "PagerDuty
user X of account A authorized a connection for app user U". The builder's backend passes it,
with the user signed in to *its own* session, to confirm_connection (confirmations.py).

Format: JWS compact, HS256 (README has a test vector):

    header  = {"alg": "HS256", "typ": "pd-connect-result+jwt"}        (exactly these two)
    claims  = {"sub": app user id, "connection": "ACCOUNT_ID/USER_ID/APP_USER_ID",
               "iat": now, "exp": iat + 300, "jti": 16 random bytes, base64url}
    key     = the UTF-8 bytes of the result signing key secret's signing_key
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from pd_connect.platform import jws
from pd_connect.vault.connections import ConnectionKey

TYP = "pd-connect-result+jwt"
LIFETIME_SECONDS = 300  # the browser is on its way back; room for the app to ask the user to sign in
QUERY_PARAMETER = "pagerduty_result"
_JTI = re.compile(r"[A-Za-z0-9_-]{22,128}")


class InvalidResult(ValueError):
    """Not a valid result of this deployment; `expired` when only its time is up."""

    def __init__(self, detail: str, *, expired: bool = False) -> None:
        super().__init__(detail)
        self.expired = expired


@dataclass(frozen=True)
class LinkedResult:
    app_user_id: str
    connection: ConnectionKey
    jti: str  # names the unconfirmed connection; spent by the confirm
    expires_at: int


def new_result_id() -> str:
    return secrets.token_urlsafe(16)


def sign_result(key: str, connection: ConnectionKey, *, jti: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": connection.app_user_id,
        "connection": str(connection),
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
        "jti": jti,
    }
    return jws.sign(key, TYP, claims)


def verify_result(token: str, keys: tuple[str, ...], *, now: float | None = None) -> LinkedResult:
    current = int(time.time() if now is None else now)
    try:
        claims = jws.verify(token, keys, TYP, now=current, max_lifetime=LIFETIME_SECONDS)
    except jws.JwsError as error:
        raise InvalidResult(f"linked-flow result: {error.detail}", expired=error.expired) from None
    try:
        connection = ConnectionKey.parse(claims.get("connection") if isinstance(claims.get("connection"), str) else "")
    except ValueError:
        raise InvalidResult("linked-flow result: connection malformed") from None
    if not connection.app_user_id or connection.app_user_id != claims["sub"] or not _JTI.fullmatch(claims["jti"]):
        raise InvalidResult("linked-flow result: sub, connection or jti malformed")
    return LinkedResult(claims["sub"], connection, claims["jti"], claims["exp"])
