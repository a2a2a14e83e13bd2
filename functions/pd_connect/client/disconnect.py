"""Disconnecting: delete what we store, and tell the user where to revoke the app in PagerDuty.

PagerDuty documents no per-token revocation endpoint, so deleting our copy is all an app can do;
the grant itself is revoked by the user (or, for every user at once, by the app's owner).
"""

from __future__ import annotations

from pd_connect.platform import aws_clients
from pd_connect.platform.config import load_settings, token_function_name
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.token_cipher import TokenCipher

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
    if store is None and token_function_name():  # PD_CONNECT_TOKEN_FUNCTION: no table grants here
        from pd_connect.token_function.client import default_token_function_client

        return default_token_function_client(token_function_name()).disconnect(key)
    if store is None:
        settings = load_settings(handles_tokens=True)
        store = ConnectionStore(
            aws_clients.dynamodb(), settings.table_name, TokenCipher(aws_clients.kms(), settings.token_key_id)
        )
    return store.delete(key)
