"""Disconnecting: delete what we store, and tell the user where to revoke the app in PagerDuty.

PagerDuty documents no per-token revocation endpoint, so deleting our copy is all an app can do;
the grant itself is revoked by the user (or, for every user at once, by the app's owner).
"""

from __future__ import annotations

from pd_connect.container import process_container
from pd_connect.vault.connections import ConnectionKey, ConnectionStore

REVOKE_IN_PAGERDUTY = (
    "This app's copy of the PagerDuty tokens is deleted. PagerDuty has no API to revoke them: to "
    "revoke the app's access, remove it from the authorized applications in your PagerDuty user "
    "profile. The app's owner can revoke every user's tokens at once under Integrations > Developer "
    "Tools > App Registration > (this app) > Revoke All Tokens."
)


def disconnect(key: ConnectionKey | str, store: ConnectionStore | None = None) -> bool:
    """Delete the stored connection; True if one existed. Show REVOKE_IN_PAGERDUTY to the user."""
    if isinstance(key, str):
        key = ConnectionKey.parse(key)
    if store is not None:
        return store.delete(key)
    container = process_container()
    if container.token_function_name:  # PD_CONNECT_TOKEN_FUNCTION: no table grants here
        return container.token_function().disconnect(key)
    return container.connections.delete(key)
