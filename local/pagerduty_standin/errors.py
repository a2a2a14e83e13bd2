"""The closed set of ways a request fails. Endpoints raise these; server.py renders them.

Each class corresponds to one response style of the real service: PagerDuty's own HTML error page
(no redirect), an OAuth error redirect to the client, an OAuth JSON error from the token
endpoint, a REST API error, or a stand-in control error.
"""

from __future__ import annotations


class StandInError(Exception):
    """Base class: anything the stand-in answers with an error response."""


class MalformedRequest(StandInError):
    """The request cannot be parsed (encoding, framing, syntax). Rendered by the endpoint's style."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


class AuthorizePageError(StandInError):
    """Authorization request that must not redirect (bad client_id or redirect_uri, RFC 6749 §4.1.2.1)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class AuthorizeRedirectError(StandInError):
    """Authorization request failure reported to the client through its redirect_uri."""

    def __init__(self, redirect_uri: str, error: str, description: str, state: str | None) -> None:
        super().__init__(f"{error}: {description}")
        self.redirect_uri = redirect_uri
        self.error = error
        self.description = description
        self.state = state


class OAuthError(StandInError):
    """Token endpoint failure: `{"error": ..., "error_description": ...}` (RFC 6749 §5.2)."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class InvalidClient(OAuthError):
    """Client authentication failed: 401 with WWW-Authenticate (RFC 6749 §5.2)."""

    status = 401

    def __init__(self, description: str = "Client authentication failed") -> None:
        super().__init__("invalid_client", description)


class ApiError(StandInError):
    """REST API failure: `{"error": {"message": ..., "code": ...}}` as PagerDuty sends it."""

    def __init__(self, status: int, message: str, code: int, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors


class ControlError(StandInError):
    """Bad request to a /_standin/ control endpoint."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
