"""Link tokens: how the builder's backend says "my signed-in user U started this connection".

The backend mints a short-lived signed token naming its user (and optionally where to send the
browser afterwards) and links to `/authorize?link=<token>`. /authorize verifies it, spends its
`jti` once, and keeps the app user and return path server-side in the pending authorization.
A link alone does not make a connection usable: the browser comes back to the app with a
signed result that the backend confirms for its own signed-in user (confirmations.py), so a
link sent to someone else's browser cannot attach their PagerDuty account to the sender.

Format: JWS compact, HS256 (RFC 7515/7519), any JWT library mints it (README has test vectors):

    header  = {"alg": "HS256", "typ": "pd-connect-link+jwt"}          (exactly these two)
    claims  = {"sub": app user id, "iat": now, "exp": at most 300 s after iat,
               "jti": >= 16 random bytes, base64url, "ret": return path (optional)}
    key     = the UTF-8 bytes of the link signing key secret's signing_key
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from pd_connect.flow.failures import ConnectFailure, Reason
from pd_connect.flow.return_to import normalise_return_path
from pd_connect.platform import jws

TYP = "pd-connect-link+jwt"
MAX_LIFETIME_SECONDS = 300
APP_USER_ID = re.compile(r"[A-Za-z0-9._:@+=|-]{1,128}")  # fullmatch; no "/" or "#": they delimit keys
_JTI = re.compile(r"[A-Za-z0-9_-]{22,128}")


@dataclass(frozen=True)
class Link:
    app_user_id: str
    return_to: str | None  # a path, validated; joined to the allow-listed origin at the end
    expires_at: int
    jti: str  # spent once (link_nonces.py)


def is_app_user_id(value: object) -> bool:
    return isinstance(value, str) and APP_USER_ID.fullmatch(value) is not None


def sign_link(
    key: str,
    app_user_id: str,
    return_to: str | None = None,
    *,
    lifetime: int = 120,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """Mint a link token with an explicit signing key (see create_link for the usual way)."""
    if not is_app_user_id(app_user_id):
        raise ValueError("app_user_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ + = | -")
    if not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"lifetime must be 1-{MAX_LIFETIME_SECONDS} seconds")
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "sub": app_user_id,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": jti or secrets.token_urlsafe(16),
    }
    if return_to is not None:
        claims["ret"] = normalise_return_path(return_to)
    return jws.sign(key, TYP, claims)


def verify_link(token: str, keys: str | tuple[str, ...], *, now: float | None = None) -> Link:
    """Check format, signature (constant time), expiry and contents. Does not spend the jti.
    `keys`: the signing key, or (current, previous) during a rotation."""
    current = int(time.time() if now is None else now)
    try:
        claims = jws.verify(
            token, (keys,) if isinstance(keys, str) else keys, TYP, now=current, max_lifetime=MAX_LIFETIME_SECONDS
        )
    except jws.JwsError as error:
        reason = Reason.LINK_EXPIRED if error.expired else Reason.LINK_INVALID
        raise ConnectFailure(reason, f"link token: {error.detail}") from None
    sub, jti, ret = claims["sub"], claims["jti"], claims.get("ret")
    if not is_app_user_id(sub):
        raise ConnectFailure(Reason.LINK_INVALID, "link app user id malformed")
    if not _JTI.fullmatch(jti):
        raise ConnectFailure(Reason.LINK_INVALID, "link jti must be at least 16 random bytes, base64url")
    if ret is not None:
        if not isinstance(ret, str):
            raise ConnectFailure(Reason.LINK_INVALID, "link return path malformed")
        try:
            ret = normalise_return_path(ret)
        except ValueError:
            raise ConnectFailure(Reason.LINK_INVALID, "link return path rejected") from None
    return Link(app_user_id=sub, return_to=ret, expires_at=claims["exp"], jti=jti)


def create_link(app_user_id: str, return_to: str | None = None, *, lifetime: int = 120) -> str:
    """Mint a link token with the deployment's link signing key (the secret LINK_SIGNING_KEY_ID
    names; your backend needs secretsmanager:GetSecretValue on it, and nothing else).

    Send the user's browser to `<LandingUrl>authorize?link=<token>` within `lifetime` seconds."""
    from pd_connect.container import process_container

    container = process_container()
    secret_id = container.environ.get("LINK_SIGNING_KEY_ID", "").strip()
    if not secret_id:
        raise RuntimeError("LINK_SIGNING_KEY_ID is not set: the stack's LinkSigningKeyArn output names the secret")
    return sign_link(container.signing_keys(secret_id).current, app_user_id, return_to, lifetime=lifetime)
