"""Did PagerDuty grant what the app asked for?

PagerDuty never refuses a scope: it drops the ones the user's role (or the app's scope settings)
does not allow, and the token comes back with fewer (even only `openid`, which it adds to every
user token). A connection missing scopes fails at its first API call with a 403, so the callback
compares before storing anything.
"""

from __future__ import annotations

OPENID = "openid"  # added by PagerDuty to every user token; never asked for, never missing


def missing_scopes(requested: str, granted: str) -> tuple[str, ...]:
    """The requested scopes the token lacks, in the order asked. RFC 6749 §5.1: a response that
    names no scope granted exactly what was requested."""
    if not granted.strip():
        return ()
    have = set(granted.split())
    # Classic apps: "write" includes "read" (PagerDuty's classic scopes are read, or read + write).
    if "write" in have:
        have.add("read")
    return tuple(dict.fromkeys(scope for scope in requested.split() if scope != OPENID and scope not in have))
