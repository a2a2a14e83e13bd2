"""What the token function does for each action, and the one place its failures become answers.

Tokens come from the same AccessTokens the library uses, so refresh is serialised by the same
lease on the record across token-function containers and library users alike, and a warm
container answers from its decrypted-token cache (no KMS call) while the record's token_version
is unchanged. Nothing here raises to Lambda: a raised exception would reach the caller as a
stack trace, so every failure is a typed error answer (protocol.py).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pd_connect.client.access_tokens import (
    AccessTokens,
    AmbiguousConnection,
    ConnectionNotFound,
    NeedsReauthorization,
    TokenRefreshFailed,
)
from pd_connect.client.confirmations import (
    AppUserMismatch,
    ConfirmationUnavailable,
    ResultAlreadyUsed,
    ResultExpired,
    ResultRejected,
)
from pd_connect.client.disconnect import REVOKE_IN_PAGERDUTY
from pd_connect.platform.errors import LayerError, SecretNotSet
from pd_connect.platform.observability import instrumented, logger, record_token_error
from pd_connect.token_function.protocol import (
    ACTIONS,
    Confirm,
    Disconnect,
    ErrorCode,
    GetToken,
    Selector,
    Status,
    TokenFunctionError,
    confirm_answer,
    disconnect_answer,
    error_answer,
    parse_request,
    status_answer,
    token_answer,
)
from pd_connect.vault.connections import ConnectionKey

if TYPE_CHECKING:
    from pd_connect.container import Container

Confirmer = Callable[[str, str], ConnectionKey]  # (signed result, app user id) -> the confirmed key


class TokenService:
    def __init__(self, tokens: AccessTokens, confirm: Confirmer | None = None) -> None:
        self._tokens = tokens
        self._store = tokens.store
        self._confirm = confirm

    def answer(self, event: Any) -> dict[str, Any]:
        """The answer to one invocation: parse, act, render; every failure a typed error."""
        action = event.get("action", "-") if isinstance(event, dict) else "-"
        action = action if action in ACTIONS else "-"  # logged: never echo what the caller sent
        try:
            return self._act(parse_request(event))
        except TokenFunctionError as error:
            failed = error
        except Exception as exc:  # noqa: BLE001 - mapped below, or reported as internal_error
            failed = _as_error(exc)
            if failed is None:
                # Type and place only: an unexpected exception's message could quote anything.
                logger.error("token function failed unexpectedly", extra={"action": action, "at": _where(exc)})
                failed = TokenFunctionError(ErrorCode.INTERNAL_ERROR)
        logger.info(
            "token request refused",
            extra={"action": action, "error": failed.code.code, "detail": failed.detail[:300]},
        )
        record_token_error(failed.code.code)
        return error_answer(failed)

    def _act(self, request) -> dict[str, Any]:
        if isinstance(request, GetToken):
            key = self._resolve(request.selector)
            return token_answer(self._tokens.get(key, reject_version=request.reject_version))
        if isinstance(request, Status):
            return status_answer(request.app_user_id, self._store.find_by_app_user(request.app_user_id))
        if isinstance(request, Confirm):
            return self._confirmed(request)
        if isinstance(request, Disconnect):
            key = self._resolve(request.selector)
            deleted = self._store.delete(key)
            logger.info("connection disconnected", extra={"connection": str(key), "deleted": deleted})
            return disconnect_answer(key, deleted, REVOKE_IN_PAGERDUTY)
        raise TypeError(f"unhandled request {type(request).__name__}")

    def _resolve(self, selector: Selector) -> ConnectionKey:
        return self._tokens.resolve(selector.key, app_user_id=selector.app_user_id, account_id=selector.account_id)

    def _confirmed(self, request: Confirm) -> dict[str, Any]:
        if self._confirm is None:
            raise TokenFunctionError(ErrorCode.INTERNAL_ERROR, "confirm is not wired")
        key = self._confirm(request.result, request.app_user_id)
        record = self._store.find(key)
        if record is None:  # disconnected between confirming and reading it back
            raise TokenFunctionError(ErrorCode.CONNECTION_NOT_FOUND, str(key))
        return confirm_answer(record)


def _as_error(exc: Exception) -> TokenFunctionError | None:
    """The library's exceptions as typed errors; None for anything unexpected. Their messages
    name keys and reason codes only (never a token), so they may travel as the detail."""
    if isinstance(exc, ConnectionNotFound):
        return TokenFunctionError(ErrorCode.CONNECTION_NOT_FOUND, str(exc))
    if isinstance(exc, AmbiguousConnection):
        return TokenFunctionError(ErrorCode.AMBIGUOUS_CONNECTION, str(exc))
    if isinstance(exc, NeedsReauthorization):
        return TokenFunctionError(ErrorCode.NEEDS_REAUTHORIZATION, str(exc))
    if isinstance(exc, TokenRefreshFailed):
        code = ErrorCode.NOT_CONFIGURED if isinstance(exc.cause, SecretNotSet) else ErrorCode.UNAVAILABLE
        return TokenFunctionError(code, str(exc))
    confirm_codes = {
        ResultRejected: ErrorCode.RESULT_REJECTED,
        ResultExpired: ErrorCode.RESULT_EXPIRED,
        ResultAlreadyUsed: ErrorCode.RESULT_ALREADY_USED,
        AppUserMismatch: ErrorCode.APP_USER_MISMATCH,
        ConfirmationUnavailable: ErrorCode.UNAVAILABLE,
    }
    for confirm_error, code in confirm_codes.items():
        if isinstance(exc, confirm_error):
            return TokenFunctionError(code, str(exc))
    if isinstance(exc, LayerError):  # reading the index or deleting failed
        code = ErrorCode.NOT_CONFIGURED if isinstance(exc, SecretNotSet) else ErrorCode.UNAVAILABLE
        return TokenFunctionError(code, exc.described)
    return None


def _where(exc: Exception) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return type(exc).__name__ + place


def token_service(container: Container) -> TokenService:
    """The token function's service, wired from the container (the token function's settings)."""
    # confirm_connection's own wiring (TABLE_NAME, RESULT_SIGNING_KEY_ID), made at start so a
    # missing setting fails the cold start by name rather than the first confirm.
    return TokenService(container.access_tokens, confirm=container.confirmations.confirm)


def lambda_handler(container: Container) -> Callable[[Any, Any], dict[str, Any]]:
    """The token function's Lambda handler, its service wired once from `container`."""
    service = token_service(container)

    @instrumented
    def handler(event, context):
        return service.answer(event)

    return handler
