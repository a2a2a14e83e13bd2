"""The library's side of the token function: the same calls, made with lambda:InvokeFunction.

With PD_CONNECT_TOKEN_FUNCTION set, get_access_token, PagerDutyClient and disconnect use this
instead of the table, so a builder's function needs only the invoke grant (the template's
TokenFunctionInvokePolicy) and none on the table, the token key or the client secret. Error
answers become the library's own exceptions, so calling code is the same either way.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.client.access_tokens import (
    AccessToken,
    AmbiguousConnection,
    ConnectionNotFound,
    NeedsReauthorization,
    TokenRefreshFailed,
)
from pd_connect.platform.aws_clients import error_code
from pd_connect.token_function.protocol import (
    Confirm,
    Disconnect,
    GetToken,
    Selector,
    Status,
    access_token_of,
    request_of,
)
from pd_connect.vault.connections import ConnectionKey


class ConfirmationFailed(RuntimeError):
    """The token function refused to confirm the linked flow's result for this app user."""


_EXCEPTIONS = {
    "connection_not_found": ConnectionNotFound,
    "ambiguous_connection": AmbiguousConnection,
    "needs_reauthorization": NeedsReauthorization,
    "result_rejected": ConfirmationFailed,
    "result_expired": ConfirmationFailed,
    "result_already_used": ConfirmationFailed,
    "app_user_mismatch": ConfirmationFailed,
    "bad_request": ValueError,
    "request_too_large": ValueError,
}


class TokenFunctionClient:
    """Thread-safe; one per container and function (pd_connect.container: Container.token_function)."""

    def __init__(self, lambda_client, function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def resolve(self, key: ConnectionKey | str | None = None, *, app_user_id: str = "", account_id: str = "") -> ConnectionKey:
        """The connection meant by a key, or by an app user (the token function looks it up)."""
        if key is not None:
            return ConnectionKey.parse(key) if isinstance(key, str) else key
        if not app_user_id:
            raise ValueError("give a connection key or an app_user_id")
        token = self._get(Selector(app_user_id=app_user_id, account_id=account_id), None)
        assert token.key is not None
        return token.key

    def get(self, key: ConnectionKey, *, reject_version: int | None = None) -> AccessToken:
        """As AccessTokens.get: a valid token (refreshed past `reject_version` if given)."""
        return self._get(Selector(key=key), reject_version)

    def status(self, app_user_id: str) -> list[dict[str, Any]]:
        return self._invoke(request_of(Status(app_user_id)))["connections"]

    def confirm(self, result: str, app_user_id: str) -> dict[str, Any]:
        """Confirm a linked flow's signed result for the signed-in app user; the connection."""
        return self._invoke(request_of(Confirm(result, app_user_id)))

    def disconnect(self, key: ConnectionKey | str) -> bool:
        key = ConnectionKey.parse(key) if isinstance(key, str) else key
        return bool(self._invoke(request_of(Disconnect(Selector(key=key))))["deleted"])

    def _get(self, selector: Selector, reject_version: int | None) -> AccessToken:
        return access_token_of(self._invoke(request_of(GetToken(selector, reject_version))))

    def _invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._lambda.invoke(FunctionName=self._function, Payload=json.dumps(request).encode("utf-8"))
            body = response["Payload"].read()
        except (ClientError, BotoCoreError) as error:
            raise TokenRefreshFailed(f"token function {self._function}: invoke failed ({error_code(error)})") from None
        if response.get("FunctionError"):  # crashed or timed out: the payload is Lambda's, not ours
            raise TokenRefreshFailed(f"token function {self._function}: {response['FunctionError']} error")
        try:
            answer = json.loads(body)
        except ValueError:
            raise TokenRefreshFailed(f"token function {self._function}: unreadable answer") from None
        if not isinstance(answer, dict) or "ok" not in answer:
            raise TokenRefreshFailed(f"token function {self._function}: not a token function answer")
        if answer["ok"]:
            return answer
        exception = _EXCEPTIONS.get(answer.get("error"), TokenRefreshFailed)
        raise exception(str(answer.get("message", answer.get("error"))))
