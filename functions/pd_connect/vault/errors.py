"""What can go wrong with stored connections. flow/failures.py maps these to pages; the builder's
API (client/) turns them into its documented exceptions. `detail` is for the log line only."""

from __future__ import annotations

from pd_connect.platform.errors import LayerError


class VaultError(LayerError):
    pass


class StoreUnavailable(VaultError):
    """DynamoDB or KMS failed, timed out, or kept conflicting: try again later."""


class TokensUnreadable(VaultError):
    """A ciphertext does not decrypt under its record's context: it was moved or tampered with."""
