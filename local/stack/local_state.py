"""What `make run` keeps between runs, in a state directory (`.local-state/`, git-ignored).

- `stack.json`, while the stack runs: the settings the admin CLI needs to find it (table, key and
  secret names, endpoints). Names and URLs only, never a secret value.
- `state.pickle`, written when the stack stops (Ctrl-C): the embedded AWS's DynamoDB, KMS and
  Secrets Manager (the connections, the key that encrypts their tokens, the secret with its link
  signing key) and the PagerDuty stand-in's client and live tokens, so stored connections and
  their refreshes keep working after a restart. It holds key material: the directory is private
  to its owner. A state written by another moto version that cannot be read is set aside
  (`state.pickle.unreadable`) and the run starts empty.

`python -m local.stack --state-dir DIR --reset` (`make run ARGS=--reset`) deletes both first.
Without `--state-dir` nothing is kept (tests and `--services-only` start empty every time).
"""

from __future__ import annotations

import copyreg
import json
import logging
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_FILE = "stack.json"
STATE_FILE = "state.pickle"
FORMAT_VERSION = 1
# moto's backends for what template.yaml declares (STS holds nothing worth keeping).
AWS_SERVICES = ("dynamodb", "kms", "secretsmanager")

LOG = logging.getLogger(__name__)


class StateUnreadable(RuntimeError):
    """The saved state cannot be read back (another moto version, a damaged file)."""


@dataclass
class SavedState:
    """Everything restored at start; `aws` empty when the AWS is not the embedded one."""

    aws: dict[str, Any] = field(default_factory=dict)  # moto service name -> its backend dict
    pagerduty_client: tuple[str, str] | None = None  # the stand-in's (client_id, client_secret)
    pagerduty_tokens: Any = None  # the stand-in's TokenStore snapshot


class StateDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def prepare(self, *, reset: bool) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)  # it holds the local key material
        if reset:
            for name in (STATE_FILE, SETTINGS_FILE):
                (self.path / name).unlink(missing_ok=True)

    # The running stack's settings, for the admin CLI

    def write_settings(self, settings: Mapping[str, str]) -> None:
        _write_private(self.path / SETTINGS_FILE, json.dumps(dict(settings), indent=2).encode("utf-8"))

    def read_settings(self) -> dict[str, str] | None:
        """The running stack's settings, or None when no stack runs with this directory."""
        try:
            return json.loads((self.path / SETTINGS_FILE).read_text("utf-8"))
        except FileNotFoundError:
            return None

    def remove_settings(self) -> None:
        (self.path / SETTINGS_FILE).unlink(missing_ok=True)

    # State kept across runs

    def load(self) -> SavedState:
        target = self.path / STATE_FILE
        if not target.exists():
            return SavedState()
        try:
            with target.open("rb") as stream:
                saved = pickle.load(stream)  # our own file in a directory only we can write
            if saved.get("version") != FORMAT_VERSION:
                raise StateUnreadable(f"format {saved.get('version')!r}, expected {FORMAT_VERSION}")
            return SavedState(saved["aws"], saved["pagerduty_client"], saved["pagerduty_tokens"])
        except Exception as exc:  # noqa: BLE001 - any unreadable state means: start empty, keep the file
            target.replace(target.with_name(STATE_FILE + ".unreadable"))
            raise StateUnreadable(f"{target.name} could not be read ({type(exc).__name__}: {exc})") from exc

    def save(self, state: SavedState) -> None:
        blob = pickle.dumps(
            {
                "version": FORMAT_VERSION,
                "aws": state.aws,
                "pagerduty_client": state.pagerduty_client,
                "pagerduty_tokens": state.pagerduty_tokens,
            }
        )
        _write_private(self.path / STATE_FILE, blob)


def embedded_aws_state() -> dict[str, Any]:
    """The embedded moto's backends of AWS_SERVICES (moto runs in this process)."""
    from moto.backends import get_backend

    state = {service: dict(get_backend(service)) for service in AWS_SERVICES}
    for account in state["kms"].values():
        for backend in account.values():
            for key in backend.keys.values():
                wrapped = getattr(key.private_key, "private_key", key.private_key)  # moto wraps cryptography's
                _register_key_pickling(type(wrapped))
    return state


def restore_embedded_aws(saved: Mapping[str, Any]) -> None:
    """Put saved backends back into this process's moto, before anything is provisioned."""
    from moto.backends import get_backend

    for service, accounts in saved.items():
        live = get_backend(service)
        live.clear()
        live.update(accounts)


def _write_private(target: Path, data: bytes) -> None:
    """Atomically, readable by the owner only: a stop half-way never leaves a torn file."""
    partial = target.with_name(target.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    partial.replace(target)


def _load_private_key(der: bytes):
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _as_der(key):
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return _load_private_key, (key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),)


def _register_key_pickling(key_type: type) -> None:
    """moto's KMS keys hold cryptography private keys, which do not pickle: store them as DER."""
    if hasattr(key_type, "private_bytes"):
        copyreg.pickle(key_type, _as_der)
