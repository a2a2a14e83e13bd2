"""The HMAC keys of the linked flow, each in a Secrets Manager secret of its own.

- the link signing key (LINK_SIGNING_KEY_ID): the builder's backend mints link tokens with it,
  the start function verifies them. Nothing else of this stack can read it.
- the result signing key (RESULT_SIGNING_KEY_ID): the callback signs linked-flow results with
  it, whoever confirms them (the builder's backend, or the token function) verifies them.

Each secret holds JSON {"signing_key": ..., "previous_signing_key": ...}; the stack generates
`signing_key` (64 characters). During a rotation `previous_signing_key` keeps the old value so
tokens signed just before still verify; signing always uses `signing_key` (README, Security).
Read through the same per-container cache as the client secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pd_connect.platform.errors import SigningKeyNotConfigured
from pd_connect.platform.jws import MIN_KEY_BYTES

if TYPE_CHECKING:
    from pd_connect.platform.client_secret import Secrets


@dataclass(frozen=True)
class SigningKeys:
    current: str
    previous: str = ""

    @property
    def for_verifying(self) -> tuple[str, ...]:
        return (self.current, self.previous) if self.previous else (self.current,)

    def __repr__(self) -> str:
        return "SigningKeys(<redacted>)"


def _usable(value: object) -> bool:
    return isinstance(value, str) and len(value.encode("utf-8")) >= MIN_KEY_BYTES


def load_signing_keys(secrets: Secrets, secret_id: str) -> SigningKeys:
    """The keys in `secret_id`, read through the container's `secrets`; SigningKeyNotConfigured
    when it holds no usable one."""
    if not secret_id:
        raise SigningKeyNotConfigured("signing key secret id is not set")
    fields = secrets.fields(secret_id)
    current = fields.get("signing_key") if isinstance(fields, dict) else None
    if not _usable(current):
        raise SigningKeyNotConfigured(f"signing_key missing or shorter than {MIN_KEY_BYTES} bytes")
    previous = fields.get("previous_signing_key", "")
    return SigningKeys(current, previous if _usable(previous) else "")
