"""Link tokens: how the builder's backend says "this browser is my signed-in user U".

The backend mints a short-lived signed token naming its user (and optionally where to send the
browser afterwards) and links to `/authorize?link=<token>`. /authorize verifies it, spends its
nonce once, and keeps the app user and return path server-side in the pending authorization.
Without this, anyone could attach their PagerDuty account to someone else's app user.

Format (mint it in any language; README has a test vector):

    token   = "v1." + b64url(payload) + "." + b64url(HMAC-SHA256(key, "v1." + b64url(payload)))
    payload = UTF-8 JSON object {"sub": app user id, "ret": return path or null,
                                 "exp": expiry, epoch seconds (at most 300 s ahead),
                                 "nonce": >= 16 random bytes, b64url}
    b64url  = URL-safe base64 without "=" padding;  key = UTF-8 bytes of link_signing_key
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from .failures import ConnectFailure, Reason
from .return_to import normalise_return_path

VERSION = "v1"
MAX_LIFETIME_SECONDS = 300
APP_USER_ID = re.compile(r"^[A-Za-z0-9._:@+=|-]{1,128}$")  # no "/" or "#": they delimit keys
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
_MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True)
class Link:
    app_user_id: str
    return_to: str | None  # a path, validated; joined to the allow-listed origin at the end
    expires_at: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed_part: str) -> str:
    return _b64(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def sign_link(
    key: str,
    app_user_id: str,
    return_to: str | None = None,
    *,
    lifetime: int = 120,
    now: float | None = None,
    nonce: str | None = None,
) -> str:
    """Mint a link token with an explicit signing key (see create_link for the usual way)."""
    if not APP_USER_ID.match(app_user_id or ""):
        raise ValueError("app_user_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ + = | -")
    if not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"lifetime must be 1-{MAX_LIFETIME_SECONDS} seconds")
    if return_to is not None:
        return_to = normalise_return_path(return_to)
    payload = {
        "sub": app_user_id,
        "ret": return_to,
        "exp": int(time.time() if now is None else now) + lifetime,
        "nonce": nonce or secrets.token_urlsafe(16),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed_part = f"{VERSION}.{body}"
    return f"{signed_part}.{_signature(key.encode('utf-8'), signed_part)}"


def verify_link(token: str, key: str, *, now: float | None = None) -> Link:
    """Check format, signature (constant time), expiry and contents. Does not spend the nonce."""
    if not token or len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise ConnectFailure(Reason.LINK_INVALID, "malformed link token")
    version, body, signature = token.split(".")
    if version != VERSION:
        raise ConnectFailure(Reason.LINK_INVALID, "unknown link token version")
    expected = _signature(key.encode("utf-8"), f"{version}.{body}")
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        raise ConnectFailure(Reason.LINK_INVALID, "bad link signature")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ConnectFailure(Reason.LINK_INVALID, "unreadable link payload") from None
    if not isinstance(payload, dict):
        raise ConnectFailure(Reason.LINK_INVALID, "link payload is not an object")
    sub, ret, exp, nonce = payload.get("sub"), payload.get("ret"), payload.get("exp"), payload.get("nonce")
    if not isinstance(sub, str) or not APP_USER_ID.match(sub):
        raise ConnectFailure(Reason.LINK_INVALID, "link app user id missing or malformed")
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise ConnectFailure(Reason.LINK_INVALID, "link nonce missing or malformed")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise ConnectFailure(Reason.LINK_INVALID, "link expiry missing")
    current = int(time.time() if now is None else now)
    if exp <= current:
        raise ConnectFailure(Reason.LINK_EXPIRED, "link token expired")
    if exp > current + MAX_LIFETIME_SECONDS + 5:  # 5 s of clock skew between minter and us
        raise ConnectFailure(Reason.LINK_INVALID, "link token lives too long")
    if ret is not None:
        if not isinstance(ret, str):
            raise ConnectFailure(Reason.LINK_INVALID, "link return path malformed")
        try:
            ret = normalise_return_path(ret)
        except ValueError:
            raise ConnectFailure(Reason.LINK_INVALID, "link return path rejected") from None
    return Link(app_user_id=sub, return_to=ret, expires_at=exp, nonce=nonce)


def create_link(app_user_id: str, return_to: str | None = None, *, lifetime: int = 120) -> str:
    """Mint a link token with the deployment's signing key (Secrets Manager, CLIENT_SECRET_ID).

    Send the user's browser to `<LandingUrl>authorize?link=<token>` within `lifetime` seconds."""
    from .client_secret import link_signing_key
    from .config import load_settings

    settings = load_settings(needs_secrets=False)
    if not settings.client_secret_id:
        raise RuntimeError("CLIENT_SECRET_ID is not set: the signing key lives in that secret")
    return sign_link(link_signing_key(settings.client_secret_id), app_user_id, return_to, lifetime=lifetime)
