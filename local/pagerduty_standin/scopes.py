"""Which of the requested scopes a token gets.

PagerDuty: an unknown scope is not an error, the token silently gets only the ones it knows;
`openid` is always added to user tokens. A user's role limits what they can grant: roles that
cannot change anything (observers, read-only and restricted users) get no write scope. Tests can
also tell the stand-in to withhold scopes from every grant (`ScopeGrants.withhold`), as a
PagerDuty app whose scope settings leave them out would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

OPENID = "openid"
_CLASSIC = {"read", "write"}
# Scoped OAuth: `<resource>.read|write`, some with a sub-resource (`users:contact_methods.read`).
_SCOPED = re.compile(r"[a-z_]+(?::[a-z_]+)?\.(?:read|write)")
# PagerDuty roles that cannot write (the API's `role` values).
READ_ONLY_ROLES = frozenset({"observer", "restricted_access", "read_only_user", "read_only_limited_user"})


def is_known_scope(scope: str) -> bool:
    return scope in _CLASSIC or scope == OPENID or bool(_SCOPED.fullmatch(scope))


def granted_scope(requested: str, *, role: str = "user", withheld: Iterable[str] = ()) -> str:
    """The token's `scope` value: "openid" followed by the recognised requested scopes, in order,
    less those the user's role cannot grant and those withheld."""
    withheld = set(withheld)
    granted = [OPENID]
    for scope in requested.split(" "):
        if not scope or scope in granted or scope in withheld or not is_known_scope(scope):
            continue
        if role in READ_ONLY_ROLES and (scope == "write" or scope.endswith(".write")):
            continue
        granted.append(scope)
    return " ".join(granted)


class ScopeGrants:
    """Scopes withheld from every grant until cleared; thread-safe (set while the server runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._withheld: tuple[str, ...] = ()

    def withhold(self, *scopes: str) -> None:
        unknown = [s for s in scopes if not isinstance(s, str) or not is_known_scope(s) or s == OPENID]
        if unknown:
            raise ValueError(f"not scopes that could be withheld: {', '.join(map(repr, unknown))}")
        with self._lock:
            self._withheld = tuple(dict.fromkeys(scopes))

    def clear(self) -> None:
        self.withhold()

    @property
    def withheld(self) -> tuple[str, ...]:
        with self._lock:
            return self._withheld


def allows(scope: str, *, any_of: set[str]) -> bool:
    return not any_of.isdisjoint(scope.split(" "))
