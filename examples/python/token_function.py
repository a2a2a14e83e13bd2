"""The token function from Python with boto3 alone: one JSON request, one JSON answer (README:
"Use connections from any backend"). Needs only lambda:InvokeFunction on it (the stack's
TokenFunctionInvokePolicy). Python functions can instead keep using pd_connect's get_access_token
and PagerDutyClient with PD_CONNECT_TOKEN_FUNCTION set: the same calls, through this function."""

from __future__ import annotations

import json
from typing import Any

import boto3


class TokenFunctionError(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer["message"])
        self.code = answer["error"]  # e.g. "needs_reauthorization", "connection_not_found"
        self.retryable = answer["retryable"]
        self.answer = answer


class TokenFunction:
    def __init__(self, function_name: str, lambda_client=None) -> None:
        self.function_name = function_name
        self.lambda_client = lambda_client or boto3.client("lambda")

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        out = self.lambda_client.invoke(FunctionName=self.function_name, Payload=json.dumps(request).encode())
        if out.get("FunctionError"):
            raise RuntimeError(f"token function failed ({out['FunctionError']})")
        answer = json.loads(out["Payload"].read())
        if not answer["ok"]:
            raise TokenFunctionError(answer)
        return answer

    def get_token(self, app_user_id: str, *, reject_version: int | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"action": "get_token", "app_user_id": app_user_id}
        if reject_version is not None:
            request["reject_version"] = reject_version
        return self.call(request)

    def status(self, app_user_id: str) -> dict[str, Any]:
        return self.call({"action": "status", "app_user_id": app_user_id})

    def confirm(self, result: str, app_user_id: str) -> dict[str, Any]:
        return self.call({"action": "confirm", "result": result, "app_user_id": app_user_id})

    def disconnect(self, app_user_id: str) -> dict[str, Any]:
        return self.call({"action": "disconnect", "app_user_id": app_user_id})
