"""Confirming a linked flow's connection, inside the signed-in user's own request.

A link token says who *asked* for a connection; it cannot say whose browser finished it (Eve can
send her link to Alice). So the callback stores a linked flow's connection unconfirmed and sends
the browser back to the app with a signed result. Your backend, handling that return in the
request of whoever is signed in to *your* app, calls

    key = confirm_connection(request.args["pagerduty_result"], app_user_id=current_user.id)

Only when the result names that same app user does the connection become usable (get_access_token,
PagerDutyClient, the admin CLI); a result for another user discards the connection, logs a
security event and counts the SecurityEvents metric. Raises only the ConfirmationError subclasses
below. Settings: TABLE_NAME and RESULT_SIGNING_KEY_ID (the stack's ResultSigningKeyArn); grants:
dynamodb:GetItem, PutItem and DeleteItem on the table, secretsmanager:GetSecretValue on that
secret. No KMS: the tokens were encrypted for the final record when they were stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pd_connect.container import process_container
from pd_connect.flow.link_results import InvalidResult, LinkedResult, verify_result
from pd_connect.flow.links import is_app_user_id
from pd_connect.platform.errors import LayerError
from pd_connect.platform.observability import logger, record_security_event
from pd_connect.vault.connections import ConnectionKey
from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore


class ConfirmationError(Exception):
    """The connection was not confirmed. Show the user "connect again"; never retry blindly."""


class ResultRejected(ConfirmationError):
    """Not a result this deployment signed: forged, tampered, malformed or of another type."""


class ResultExpired(ConfirmationError):
    """A genuine result presented after its 5 minutes: the unconfirmed connection is gone."""


class ResultAlreadyUsed(ConfirmationError):
    """Already confirmed or discarded (a result is single-use), or its connection expired."""


class AppUserMismatch(ConfirmationError):
    """The result names another app user: someone else's link was used in this user's browser.
    The connection was discarded and a security event logged."""


class ConfirmationUnavailable(ConfirmationError):
    """AWS failed (DynamoDB, Secrets Manager); nothing changed, the result may be presented again."""


class Confirmations:
    """The confirm step with explicit dependencies (tests, the token function, your own wiring)."""

    def __init__(self, store: UnconfirmedConnectionStore, result_keys: Callable[[], tuple[str, ...]], clock=time.time) -> None:
        self._store = store
        self._result_keys = result_keys
        self._clock = clock

    def confirm(self, result: str, app_user_id: str) -> ConnectionKey:
        if not is_app_user_id(app_user_id):
            raise ValueError("app_user_id must be your signed-in user's id (1-128 of A-Z a-z 0-9 . _ : @ + = | -)")
        try:
            linked = self._verify(result)
            if linked.app_user_id != app_user_id:
                self._refuse(linked, app_user_id)
            if not self._store.confirm(linked.jti, linked.connection):
                raise ResultAlreadyUsed("this result was already used, or its connection expired")
        except LayerError as error:  # the store or the signing key's secret failed
            raise ConfirmationUnavailable(error.described) from None
        logger.info("linked connection confirmed", extra={"connection": str(linked.connection)})
        return linked.connection

    def _verify(self, result: str) -> LinkedResult:
        try:
            return verify_result(result, self._result_keys(), now=self._clock())
        except InvalidResult as error:
            raise (ResultExpired if error.expired else ResultRejected)(str(error)) from None

    def _refuse(self, linked: LinkedResult, app_user_id: str) -> None:
        # App user ids are the builder's own identifiers, not secrets: the operator needs both.
        logger.warning(
            "security event: a linked flow's result was presented by another app user; connection discarded",
            extra={
                "security_event": "confirm_app_user_mismatch",
                "result_app_user_id": linked.app_user_id,
                "presented_by_app_user_id": app_user_id,
                "pagerduty_account_id": linked.connection.account_id,
                "pagerduty_user_id": linked.connection.user_id,
            },
        )
        record_security_event("confirm_app_user_mismatch")
        self._store.discard(linked.jti)
        raise AppUserMismatch("the result names another app user; the connection was discarded")


def confirm_connection(result: str, app_user_id: str) -> ConnectionKey:
    """Confirm the linked flow whose `pagerduty_result` came back to your app, for the user signed
    in to this request. Returns the connection's key; raises a ConfirmationError subclass."""
    return process_container().confirmations.confirm(result, app_user_id)
