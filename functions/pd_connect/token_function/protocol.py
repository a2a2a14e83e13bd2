"""The token function's wire format: one JSON object in, one JSON object out.

Requests (unknown fields are refused, so a typo never silently means something else):

    {"action": "get_token", "connection": "ACCOUNT/USER[/APP_USER]"}
    {"action": "get_token", "app_user_id": "user-42", "account_id": "PACCT01"}   # account_id optional
        + optional "reject_version": N  (PagerDuty answered 401 to version N's token: refresh past it)
    {"action": "status", "app_user_id": "user-42"}
    {"action": "confirm", "result": "<the linked flow's signed result>", "app_user_id": "user-42"}
    {"action": "disconnect", "connection": "..."}  or  {"action": "disconnect", "app_user_id": ..., "account_id": ...}

Answers always carry "ok". Success: the action's fields (see the answer builders below). Failure:
{"ok": false, "error": <code>, "message": <one sentence>, "retryable": bool}: a closed set of
codes, never a stack trace, never a token. Lambda would answer a raised exception with its
stack trace, so the function never raises: every failure is one of these answers.

Both sides use this module: the function to read requests and write answers, the library's
client to write requests and read answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pd_connect.client.access_tokens import AccessToken
from pd_connect.flow.links import APP_USER_ID
from pd_connect.vault.connections import ACCOUNT_ID, ConnectionKey, StoredConnection

ACTIONS = ("get_token", "status", "confirm", "disconnect")
MAX_REQUEST_BYTES = 16 * 1024  # the largest real request (confirm) is under 3 KB
MAX_KEY_LENGTH = 300
MAX_RESULT_LENGTH = 4096
_FIELD_NAME = re.compile(r"[a-z_]{1,40}")


class ErrorCode(Enum):
    # (retryable, the sentence the caller gets)
    BAD_REQUEST = (False, "The request is not a valid token function request.")
    REQUEST_TOO_LARGE = (False, f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
    CONNECTION_NOT_FOUND = (False, "No connection matches this request.")
    AMBIGUOUS_CONNECTION = (False, "This app user has several connections: name one (account_id or connection).")
    NEEDS_REAUTHORIZATION = (False, "PagerDuty no longer accepts this connection: the user must connect again.")
    # confirm: nothing was connected; show the user "connect again"
    RESULT_REJECTED = (False, "The result is not one this deployment signed (forged, tampered or malformed).")
    RESULT_EXPIRED = (False, "The result is older than its 5 minutes; its connection is gone.")
    RESULT_ALREADY_USED = (False, "The result was already confirmed or discarded (it is single-use).")
    APP_USER_MISMATCH = (False, "The result names another app user: the connection was discarded.")
    NOT_CONFIGURED = (False, "The token function is not fully set up yet (its PagerDuty client secret is missing).")
    UNAVAILABLE = (True, "PagerDuty or an AWS service is failing right now; try again shortly.")
    INTERNAL_ERROR = (True, "Something unexpected went wrong in the token function.")

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def retryable(self) -> bool:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


class TokenFunctionError(Exception):
    """A request failed for a known reason. `detail` is for the caller and the log line: it names
    keys and reasons only, never a token, result or secret. `fields` join the error answer."""

    def __init__(self, code: ErrorCode, detail: str = "", **fields: Any) -> None:
        super().__init__(f"{code.code}: {detail}" if detail else code.code)
        self.code = code
        self.detail = detail
        self.fields = fields


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """Which connection: a key, or an app user (+ account when they connected several)."""

    key: ConnectionKey | None = None
    app_user_id: str = ""
    account_id: str = ""


@dataclass(frozen=True)
class GetToken:
    selector: Selector
    reject_version: int | None = None


@dataclass(frozen=True)
class Status:
    app_user_id: str


@dataclass(frozen=True)
class Confirm:
    result: str
    app_user_id: str

    def __repr__(self) -> str:
        return f"Confirm(app_user_id={self.app_user_id!r}, result=<redacted>)"


@dataclass(frozen=True)
class Disconnect:
    selector: Selector


Request = GetToken | Status | Confirm | Disconnect

_FIELDS = {
    "get_token": {"connection", "app_user_id", "account_id", "reject_version"},
    "status": {"app_user_id"},
    "confirm": {"result", "app_user_id"},
    "disconnect": {"connection", "app_user_id", "account_id"},
}


def _bad(detail: str) -> TokenFunctionError:
    return TokenFunctionError(ErrorCode.BAD_REQUEST, detail)


def request_size(event: Any) -> int:
    """The request's size as JSON (Lambda hands the function the parsed payload)."""
    try:
        return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        raise _bad("the request is not JSON") from None


def parse_request(event: Any) -> Request:
    """The request, checked; raises TokenFunctionError (bad_request, request_too_large)."""
    if request_size(event) > MAX_REQUEST_BYTES:
        raise TokenFunctionError(ErrorCode.REQUEST_TOO_LARGE)
    if not isinstance(event, dict):
        raise _bad("the request must be a JSON object")
    action = event.get("action")
    if action not in ACTIONS:
        raise _bad(f"action must be one of {', '.join(ACTIONS)}")
    unknown = set(event) - _FIELDS[action] - {"action"}
    if unknown:
        # Named when they look like field names (a typo); anything else is not echoed or logged.
        named = sorted(name for name in unknown if _FIELD_NAME.fullmatch(name))
        raise _bad(f"unknown fields for {action}: {', '.join(named) or 'unreadable names'}")
    if action == "get_token":
        return GetToken(_selector(event), _reject_version(event.get("reject_version")))
    if action == "status":
        return Status(_app_user_id(event, required=True))
    if action == "confirm":
        result = event.get("result")
        if not isinstance(result, str) or not 0 < len(result) <= MAX_RESULT_LENGTH:
            raise _bad(f"result must be the signed result string (at most {MAX_RESULT_LENGTH} characters)")
        return Confirm(result, _app_user_id(event, required=True))
    return Disconnect(_selector(event))


def _app_user_id(event: dict, *, required: bool) -> str:
    value = event.get("app_user_id")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not APP_USER_ID.fullmatch(value):
        raise _bad("app_user_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ + = | -")
    return value


def _selector(event: dict) -> Selector:
    connection = event.get("connection")
    if connection is not None:
        if "app_user_id" in event or "account_id" in event:
            raise _bad("give either connection, or app_user_id (+ account_id), not both")
        if not isinstance(connection, str) or len(connection) > MAX_KEY_LENGTH:
            raise _bad("connection must be a key string such as ACCOUNT_ID/USER_ID[/APP_USER_ID]")
        try:
            return Selector(key=ConnectionKey.parse(connection))
        except ValueError:
            raise _bad("connection must be a key string such as ACCOUNT_ID/USER_ID[/APP_USER_ID]") from None
    app_user_id = _app_user_id(event, required=False)
    if not app_user_id:
        raise _bad("give connection, or app_user_id (+ account_id)")
    account_id = event.get("account_id", "")
    if account_id != "" and not (isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id)):
        raise _bad("account_id must be a PagerDuty account id")
    return Selector(app_user_id=app_user_id, account_id=account_id)


def _reject_version(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**53:
        raise _bad("reject_version must be a positive integer (a token_version from an earlier answer)")
    return value


def request_of(request: Request) -> dict[str, Any]:
    """The JSON object for a request (the library's client sends these)."""
    if isinstance(request, Status):
        return {"action": "status", "app_user_id": request.app_user_id}
    if isinstance(request, Confirm):
        return {"action": "confirm", "result": request.result, "app_user_id": request.app_user_id}
    action = "get_token" if isinstance(request, GetToken) else "disconnect"
    selector = request.selector
    body: dict[str, Any] = {"action": action}
    if selector.key is not None:
        body["connection"] = str(selector.key)
    else:
        body["app_user_id"] = selector.app_user_id
        if selector.account_id:
            body["account_id"] = selector.account_id
    if isinstance(request, GetToken) and request.reject_version is not None:
        body["reject_version"] = request.reject_version
    return body


# --- answers -----------------------------------------------------------------------------------


def token_answer(token: AccessToken) -> dict[str, Any]:
    return {
        "ok": True,
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_at": token.expires_at,
        "api_base": token.api_base,
        "region": token.region,
        "scopes": token.scopes.split(),
        "connection": str(token.key) if token.key else "",
        "token_version": token.version,
    }


def access_token_of(answer: dict[str, Any]) -> AccessToken:
    """Read a get_token answer back (the library's client)."""
    return AccessToken(
        token=answer["access_token"],
        version=int(answer["token_version"]),
        api_base=answer["api_base"],
        region=answer["region"],
        expires_at=int(answer["expires_at"]),
        scopes=" ".join(answer.get("scopes", [])),
        key=ConnectionKey.parse(answer["connection"]),
    )


# Operator-only parts of StoredConnection.summary(), left out of status and confirm answers.
_OPERATOR_ONLY = ("key", "profile_loaded", "reauthorization_reason", "token_version")


def connection_summary(record: StoredConnection) -> dict[str, Any]:
    """One connection as status and confirm show it: profile and state, never a token."""
    summary = record.summary()
    shown = {name: value for name, value in summary.items() if name not in _OPERATOR_ONLY}
    return {"connection": summary["key"], **shown, "scopes": shown["scopes"].split()}


def status_answer(app_user_id: str, records: list[StoredConnection]) -> dict[str, Any]:
    return {"ok": True, "app_user_id": app_user_id, "connections": [connection_summary(r) for r in records]}


def confirm_answer(record: StoredConnection) -> dict[str, Any]:
    return {"ok": True, **connection_summary(record)}


def disconnect_answer(key: ConnectionKey, deleted: bool, revoke_in_pagerduty: str) -> dict[str, Any]:
    return {"ok": True, "connection": str(key), "deleted": deleted, "revoke_in_pagerduty": revoke_in_pagerduty}


def error_answer(error: TokenFunctionError) -> dict[str, Any]:
    message = error.code.message + (f" ({error.detail})" if error.detail else "")
    return {"ok": False, "error": error.code.code, "message": message, "retryable": error.code.retryable, **error.fields}
