"""What can go wrong talking to PagerDuty's OAuth endpoints. Each error names what happened, not
what a user sees: flow/failures.py maps them to pages. `detail` is for the log line only and
never carries a code, token or secret."""

from __future__ import annotations

from pd_connect.platform.errors import LayerError


class OAuthError(LayerError):
    pass


class InvalidClient(OAuthError):
    """The token endpoint rejected our client credentials (maybe the secret was rotated)."""

    def __init__(self, detail: str = "token endpoint: invalid_client") -> None:
        super().__init__(detail)


class InvalidGrant(OAuthError):
    """The code or refresh token is expired, used, revoked or not ours."""


class PagerDutyTimeout(OAuthError):
    """PagerDuty did not answer in time."""


class PagerDutyUnavailable(OAuthError):
    """PagerDuty could not be reached, or answered 5xx or 429."""


class PagerDutyBadResponse(OAuthError):
    """PagerDuty answered something this client cannot use."""
