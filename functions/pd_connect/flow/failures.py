"""Why a flow can fail: a closed set of reasons, each mapped here (and only here) to a status
code and the one sentence the user reads. The flow raises `ConnectFailure(Reason.X)`; the other
layers raise their own errors (oauth/, vault/, platform/ errors.py), which `failure_for` maps
here; the web layer turns the failure into a page and one log line carrying the reason code.
"""

from __future__ import annotations

from enum import Enum

from pd_connect.oauth import errors as oauth
from pd_connect.platform import errors as platform
from pd_connect.vault import errors as vault


class Reason(Enum):
    # (status, user-facing sentence)
    ACCESS_DENIED = (400, "You cancelled the connection in PagerDuty, so nothing was connected.")
    PROVIDER_ERROR = (400, "PagerDuty could not authorize this connection request.")
    BAD_REQUEST = (400, "This link is incomplete or malformed.")
    STATE_MISSING = (400, "This link is missing its security check, so it cannot be used.")
    STATE_UNKNOWN = (
        400,
        "This connection link was already used, has expired, or was not issued by this app. "
        "Start again to connect.",
    )
    STATE_EXPIRED = (400, "This connection attempt expired before it was finished.")
    STATE_OTHER_BROWSER = (
        400,
        "This connection was started in a different browser (or with cookies blocked), so this "
        "browser cannot finish it. Start again here.",
    )
    STATE_OTHER_HOST = (
        400,
        "This connection was started at a different address from the one PagerDuty sent you back "
        "to (for example 127.0.0.1 instead of localhost), and your browser keeps the connection's "
        "security cookie per address. Start again from this address.",
    )
    CODE_MISSING = (400, "PagerDuty's answer did not include an authorization code.")
    CODE_REJECTED = (502, "PagerDuty did not accept the authorization (it may have expired).")
    CLIENT_REJECTED = (502, "PagerDuty rejected this app's credentials.")
    PAGERDUTY_TIMEOUT = (502, "PagerDuty did not answer in time.")
    PAGERDUTY_UNAVAILABLE = (502, "PagerDuty could not be reached or answered with an error.")
    PAGERDUTY_BAD_RESPONSE = (502, "PagerDuty sent an answer this app could not understand.")
    SECRET_NOT_SET = (503, "This app is not fully set up yet: its PagerDuty client secret is missing.")
    DEPENDENCY_DOWN = (503, "A service this app depends on is unavailable right now.")
    SCOPES_NOT_GRANTED = (
        403,
        "PagerDuty did not grant every permission this app needs, so nothing was connected.",
    )
    LINK_INVALID = (400, "This connection link is not valid. Start again from the app.")
    LINK_EXPIRED = (400, "This connection link has expired. Start again from the app.")
    LINK_USED = (400, "This connection link was already used. Start again from the app.")
    LINK_REQUIRED = (400, "Connections must be started from the app you are signed in to.")
    LINK_NOT_CONFIGURED = (503, "This app is not set up to accept connection links yet.")
    STORED_TOKENS_UNREADABLE = (500, "This connection's stored data could not be read. Connect again.")
    NOT_FOUND = (404, "There is no page at this address.")
    METHOD_NOT_ALLOWED = (405, "This page cannot be used that way.")
    UNEXPECTED = (500, "Something unexpected went wrong on our side.")

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]

    @property
    def code(self) -> str:
        """Stable reason code for logs and metrics."""
        return self.name.lower()


class ConnectFailure(Exception):
    """A flow step failed for a known reason. `detail` is for the log line only and must never
    carry a code, state, verifier, token or secret."""

    def __init__(
        self,
        reason: Reason,
        detail: str = "",
        *,
        cookies: tuple[str, ...] = (),
        missing_scopes: tuple[str, ...] = (),
        allow: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason.code)
        self.reason = reason
        self.detail = detail
        self.cookies = cookies  # Set-Cookie values the failure page must carry (e.g. clear a binding)
        self.missing_scopes = missing_scopes  # SCOPES_NOT_GRANTED: what the page names
        self.allow = allow  # METHOD_NOT_ALLOWED: the methods the path does support


# The one mapping from every layer's errors to what the user reads. Layers raise what happened;
# only here does that become a status and a sentence.
_REASONS: dict[type[Exception], Reason] = {
    oauth.InvalidClient: Reason.CLIENT_REJECTED,
    oauth.InvalidGrant: Reason.CODE_REJECTED,
    oauth.PagerDutyTimeout: Reason.PAGERDUTY_TIMEOUT,
    oauth.PagerDutyUnavailable: Reason.PAGERDUTY_UNAVAILABLE,
    oauth.PagerDutyBadResponse: Reason.PAGERDUTY_BAD_RESPONSE,
    vault.StoreUnavailable: Reason.DEPENDENCY_DOWN,
    vault.TokensUnreadable: Reason.STORED_TOKENS_UNREADABLE,
    platform.SecretUnavailable: Reason.DEPENDENCY_DOWN,
    platform.SecretNotSet: Reason.SECRET_NOT_SET,
    platform.SigningKeyNotConfigured: Reason.LINK_NOT_CONFIGURED,
    platform.BadRequest: Reason.BAD_REQUEST,
    platform.NotFound: Reason.NOT_FOUND,
    platform.MethodNotAllowed: Reason.METHOD_NOT_ALLOWED,
}


def failure_for(error: Exception) -> ConnectFailure:
    """The failure page's reason for any error a layer raised; anything else is UNEXPECTED, logged
    by its type only (messages of third-party errors can quote request data)."""
    if isinstance(error, ConnectFailure):
        return error
    for kind in type(error).__mro__:
        reason = _REASONS.get(kind)
        if reason is not None:
            return ConnectFailure(reason, getattr(error, "detail", ""), allow=getattr(error, "allow", ()))
    return ConnectFailure(Reason.UNEXPECTED, type(error).__name__)
