"""Which of the requested scopes a token gets.

PagerDuty: an unknown scope is not an error, the token silently gets only the ones it knows;
`openid` is always added to user tokens.
"""

from __future__ import annotations

import re

OPENID = "openid"
_CLASSIC = {"read", "write"}
# Scoped OAuth: `<resource>.read|write`, some with a sub-resource (`users:contact_methods.read`).
_SCOPED = re.compile(r"[a-z_]+(?::[a-z_]+)?\.(?:read|write)")


def granted_scope(requested: str) -> str:
    """The token's `scope` value: "openid" followed by the recognised requested scopes, in order."""
    granted = [OPENID]
    for scope in requested.split(" "):
        if scope and scope not in granted and (scope in _CLASSIC or _SCOPED.fullmatch(scope)):
            granted.append(scope)
    return " ".join(granted)


def allows(scope: str, *, any_of: set[str]) -> bool:
    return not any_of.isdisjoint(scope.split(" "))
