"""PKCE (RFC 7636) with S256, the only method PagerDuty documents."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_code_verifier() -> str:
    # RFC 7636 §4.1: 43-128 chars of [A-Za-z0-9-._~]; 32 random bytes -> 43 base64url chars.
    return secrets.token_urlsafe(32)


def code_challenge(code_verifier: str) -> str:
    # RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), no padding.
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
