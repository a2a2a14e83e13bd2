"""The PagerDuty client secret, from Secrets Manager through Powertools parameters.

Cached per container (POWERTOOLS_PARAMETERS_MAX_AGE, default 300 s), so a warm container makes
no Secrets Manager call, and a rotated secret is picked up within that time without a redeploy.
The secret holds JSON {"client_secret": ...}; a plain string is taken as the client secret itself.
It holds nothing else: the link and result signing keys have secrets of their own
(signing_keys.py), so what may read one cannot read the others.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from pd_connect.platform.errors import SecretNotSet, SecretUnavailable

PLACEHOLDER = "REPLACE_WITH_PAGERDUTY_CLIENT_SECRET"  # what template.yaml creates the secret with


class Secrets:
    """The container's secrets: one Powertools provider, and so one cache, per container
    (pd_connect.container); it holds no per-request data."""

    def __init__(self, secretsmanager: Any) -> None:
        self._provider = SecretsProvider(boto3_client=secretsmanager)

    def fields(self, secret_id: str, *, force_fetch: bool = False) -> dict | str:
        """A secret's JSON object (or its text when it is not one), through the container's cache."""
        try:
            raw = self._provider.get(secret_id, force_fetch=force_fetch)
        except GetParameterError:
            # The message can quote the SDK error, never the value; log only that it failed.
            raise SecretUnavailable("secretsmanager: get secret failed") from None
        value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value

    def client_secret(self, secret_id: str, *, force_fetch: bool = False) -> str:
        """The OAuth client secret in `secret_id`; SecretNotSet while it is empty or the placeholder."""
        fields = self.fields(secret_id, force_fetch=force_fetch)
        secret = fields.get("client_secret", "") if isinstance(fields, dict) else fields
        if not isinstance(secret, str) or not secret.strip() or secret == PLACEHOLDER:
            raise SecretNotSet("client secret is empty or still the placeholder")
        return secret.strip()
