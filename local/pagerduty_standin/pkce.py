"""PKCE (RFC 7636) with S256, the only method PagerDuty documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters.
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
# RFC 7636 §4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def s256_challenge(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_challenge(code_challenge: str) -> bool:
    return _CHALLENGE.fullmatch(code_challenge) is not None


def verifier_matches(code_verifier: str, code_challenge: str) -> bool:
    if _VERIFIER.fullmatch(code_verifier) is None:
        return False
    return hmac.compare_digest(s256_challenge(code_verifier), code_challenge)
