"""A strict local stand-in for PagerDuty's OAuth 2.0 and /users/me, for development and tests only.

    from local.pagerduty_standin import StandIn, RegisteredClient

    with StandIn(clients=[RegisteredClient("id", "secret", ("http://localhost:3000/callback",))]) as pd:
        pd.base_url  # identity host; US REST API at base_url, EU REST API at base_url + "/eu"

Never deployed: the Lambda code under functions/ must not import it.
"""

from .accounts import DEFAULT_USERS, EU_ACCOUNT, US_ACCOUNT, Account, DemoUser, Region
from .clients import RegisteredClient
from .faults import Fault, FaultKind
from .standin import StandIn

__all__ = [
    "DEFAULT_USERS",
    "EU_ACCOUNT",
    "US_ACCOUNT",
    "Account",
    "DemoUser",
    "Fault",
    "FaultKind",
    "Region",
    "RegisteredClient",
    "StandIn",
]
