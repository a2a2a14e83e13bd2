"""RS256 id_tokens signed with a key made when the stand-in is built, and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .tokens import Grant

# PagerDuty's docs use this issuer; its sample tokens use https://app.pagerduty.com/... instead.
DEFAULT_ISSUER = "https://identity.pagerduty.com/global/oauth/anonymous"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class IdTokenSigner:
    def __init__(self, private_key: rsa.RSAPrivateKey | None = None, issuer: str = DEFAULT_ISSUER) -> None:
        self._key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.issuer = issuer
        numbers = self._key.public_key().public_numbers()
        self._public_jwk = {"e": _int_b64url(numbers.e), "kty": "RSA", "n": _int_b64url(numbers.n)}
        # RFC 7638 thumbprint as the key id.
        canonical = json.dumps(self._public_jwk, separators=(",", ":"), sort_keys=True).encode()
        self.kid = _b64url(hashlib.sha256(canonical).digest())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public_jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self, grant: Grant, lifetime: float) -> str:
        user = grant.user
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": [user.account.region.api_host, grant.client_id],
            "sub": user.id,
            "iat": now,
            "exp": now + max(int(lifetime), 1),
            "jti": secrets.token_urlsafe(16),
            "region": user.account.region.claim,
            "subdomain": user.account.subdomain,
            "account_id": user.account.account_id,
            "user_id": user.id,
            "delegation_id": grant.delegation_id,
            "acr": "user",
        }
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"
