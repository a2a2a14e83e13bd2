"""What can go wrong at the platform edge: secrets that cannot be read or are not set, and HTTP
requests the edge refuses before any handler runs. flow/failures.py maps these to pages.
`detail` is for the log line only."""

from __future__ import annotations


class LayerError(Exception):
    """The base of every layer's errors (oauth, vault, platform): what happened, by its class, and
    a `detail` for the log line only."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(type(self).__name__)  # the detail stays out of str(): third-party loggers print it
        self.detail = detail

    @property
    def described(self) -> str:
        """The class and the detail, for a log line or a builder-facing message (never a secret)."""
        return f"{type(self).__name__} ({self.detail})"


class PlatformError(LayerError):
    pass


class SecretUnavailable(PlatformError):
    """Secrets Manager failed or timed out."""


class SecretNotSet(PlatformError):
    """The client secret is empty or still the template's placeholder."""


class SigningKeyNotConfigured(PlatformError):
    """No signing key secret is configured, or it holds no usable key."""


class BadRequest(PlatformError):
    """The request is malformed (repeated or oversized parameters, a query that is not UTF-8)."""


class NotFound(PlatformError):
    """No route serves this path."""


class MethodNotAllowed(PlatformError):
    """The path exists, not for this method; `allow`: the methods it does support."""

    def __init__(self, detail: str = "", *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.allow = allow
