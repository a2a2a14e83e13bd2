"""PagerDuty Connect: the OAuth 2.0 connect flow and the stored connections it produces.

What a builder's backend uses is importable from here (and documented in the README, "Use the
tokens from your own functions"):

    from pd_connect import get_access_token, PagerDutyClient, create_link, confirm_connection, disconnect

The subpackages, one concern each (README, "Architecture"):
- `client`: the builder's API (get_access_token, PagerDutyClient, confirm_connection, disconnect);
- `oauth`: PagerDuty's OAuth 2.0 as a client (authorize URL, PKCE, token endpoint, id_token);
- `flow`: the browser flow (pending authorizations, binding, links, pages, failure reasons);
- `vault`: connection records, the refresh lease, encryption;
- `events`: lifecycle events from the table's stream;
- `platform`: settings, AWS clients, secrets, logging and metrics, the HTTP edge;
- `token_function`: the token function's wire format, service and client.

Names are loaded on first use, so a handler importing one module pays for that module only.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "1.0.0"

# public name -> the module that defines it
_PUBLIC = {
    "get_access_token": "pd_connect.client.access_tokens",
    "AccessToken": "pd_connect.client.access_tokens",
    "ConnectionNotFound": "pd_connect.client.access_tokens",
    "AmbiguousConnection": "pd_connect.client.access_tokens",
    "NeedsReauthorization": "pd_connect.client.access_tokens",
    "TokenRefreshFailed": "pd_connect.client.access_tokens",
    "PagerDutyClient": "pd_connect.client.pagerduty_client",
    "RateLimited": "pd_connect.client.pagerduty_client",
    "confirm_connection": "pd_connect.client.confirmations",
    "ConfirmationError": "pd_connect.client.confirmations",
    "AppUserMismatch": "pd_connect.client.confirmations",
    "ResultRejected": "pd_connect.client.confirmations",
    "ResultExpired": "pd_connect.client.confirmations",
    "ResultAlreadyUsed": "pd_connect.client.confirmations",
    "ConfirmationUnavailable": "pd_connect.client.confirmations",
    "disconnect": "pd_connect.client.disconnect",
    "REVOKE_IN_PAGERDUTY": "pd_connect.client.disconnect",
    "create_link": "pd_connect.flow.links",
    "ConnectionKey": "pd_connect.vault.connections",
}
__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily below
    from pd_connect.client.access_tokens import (
        AccessToken,
        AmbiguousConnection,
        ConnectionNotFound,
        NeedsReauthorization,
        TokenRefreshFailed,
        get_access_token,
    )
    from pd_connect.client.confirmations import (
        AppUserMismatch,
        ConfirmationError,
        ConfirmationUnavailable,
        ResultAlreadyUsed,
        ResultExpired,
        ResultRejected,
        confirm_connection,
    )
    from pd_connect.client.disconnect import REVOKE_IN_PAGERDUTY, disconnect
    from pd_connect.client.pagerduty_client import PagerDutyClient, RateLimited
    from pd_connect.flow.links import create_link
    from pd_connect.vault.connections import ConnectionKey


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'pd_connect' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
