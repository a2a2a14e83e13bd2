"""JWS compact serialisation with HS256 (RFC 7515, RFC 7519), for the two tokens this service
exchanges with the builder's backend: link tokens and linked-flow results.

Any JWT library mints and verifies them (the tests check the README's vectors with PyJWT). This
module stays hand-written on purpose: PyJWT pulls in `cryptography` when it is installed and
costs tens of milliseconds of cold start for what is one HMAC and a JSON parse here.

Verification follows RFC 8725: exactly one algorithm (HS256, never `none`), an explicit `typ`
compared exactly (so a result can never pass as a link, nor the reverse), no header parameter
this code does not understand, the signature compared in constant time before the payload is
parsed, and the registered claims `exp`, `iat`, `jti` and `sub` required.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32  # RFC 7518 §3.2: a key of at least the hash size
MAX_TOKEN_LENGTH = 2048  # ours are ~300 characters; far below the 4 KB query limit
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class JwsError(ValueError):
    """The token is not a valid JWS of the expected type. `expired` when only its time is up."""

    def __init__(self, detail: str, *, expired: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.expired = expired


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JwsError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_bytes(key: str) -> bytes:
    data = key.encode("utf-8")
    if len(data) < MIN_KEY_BYTES:
        raise ValueError(f"signing key shorter than {MIN_KEY_BYTES} bytes")
    return data


def _mac(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def sign(key: str, typ: str, claims: Mapping[str, object]) -> str:
    """`key` is the secret's text; the HMAC key is its UTF-8 bytes."""
    header = b64url(json.dumps({"alg": ALGORITHM, "typ": typ}, separators=(",", ":")).encode("ascii"))
    payload = b64url(json.dumps(dict(claims), separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{b64url(_mac(_key_bytes(key), signing_input))}"


def verify(token: str, keys: Sequence[str], typ: str, *, now: int, max_lifetime: int, leeway: int = 5) -> dict:
    """The claims of a valid token signed with one of `keys` (current first, then previous).

    Raises JwsError. Checks: shape, header (alg, typ, nothing else), signature, then claims:
    `exp` in the future but at most `max_lifetime` (+ leeway) ahead, `iat` not in the future,
    `sub` and `jti` non-empty strings."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise JwsError("not a JWS compact token")
    header_part, payload_part, signature_part = token.split(".")
    header = _json_object(header_part, "header")
    if header != {"alg": ALGORITHM, "typ": typ}:
        # Anything else is refused: alg confusion, "none", crit, jku/jwk/kid key injection.
        raise JwsError(f"header must be exactly alg {ALGORITHM} and typ {typ}")
    signature = _unb64url(signature_part)
    signing_input = f"{header_part}.{payload_part}"
    if not any(hmac.compare_digest(_mac(_key_bytes(key), signing_input), signature) for key in keys if key):
        raise JwsError("bad signature")
    claims = _json_object(payload_part, "payload")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_int(exp) or not _is_int(iat):
        raise JwsError("exp and iat must be integers (NumericDate)")
    for name in ("sub", "jti"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise JwsError(f"{name} missing")
    if iat > now + leeway:
        raise JwsError("issued in the future")
    if exp - iat > max_lifetime or exp > now + max_lifetime + leeway:
        raise JwsError("lives too long")
    if exp <= now:
        raise JwsError("expired", expired=True)
    return claims


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_object(part: str, what: str) -> dict:
    try:
        value = json.loads(_unb64url(part).decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise JwsError(f"unreadable {what}") from None
    if not isinstance(value, dict):
        raise JwsError(f"{what} is not a JSON object")
    return value
