"""Binds a pending authorization to the browser that started it (RFC 9700 §4.7, ASVS V10).

The browser holds a random binding value in a `__Host-` cookie; the pending authorization stores
only its SHA-256. The callback proceeds only when the cookie's hash matches (constant-time), so a
state value leaked from a URL cannot be completed in another browser. One binding serves every
flow this browser starts, so two tabs connecting at once both work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE_NAME = "__Host-pd-connect-binding"
LIFETIME_SECONDS = 600  # as long as a pending authorization lives
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43}")  # fullmatch: "$" would let a trailing newline in


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def is_well_formed(value: str | None) -> bool:
    return bool(value) and bool(_WELL_FORMED.fullmatch(value))


def binding_hash(value: str) -> str:
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def matches(value: str | None, stored_hash: str) -> bool:
    if not is_well_formed(value):
        return False
    return hmac.compare_digest(binding_hash(value), stored_hash)


def set_cookie(value: str) -> str:
    # SameSite=Lax, not Strict: the callback is a cross-site top-level GET from PagerDuty.
    return f"{COOKIE_NAME}={value}; Path=/; Max-Age={LIFETIME_SECONDS}; Secure; HttpOnly; SameSite=Lax"


def clear_cookie() -> str:
    return f"{COOKIE_NAME}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax"
