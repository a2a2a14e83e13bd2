"""/_standin/* endpoints: let tests in another process set faults, read counters, add users.

Not part of PagerDuty. JSON in, JSON out.
"""

from __future__ import annotations

import secrets
from typing import Any, Mapping

from .accounts import EU_ACCOUNT, US_ACCOUNT, Account, DemoUser, Region, UserDirectory, user_resource
from .calls import CallCounter
from .clients import ClientRegistry
from .errors import ControlError, MalformedRequest
from .faults import Fault, FaultBoard
from .scopes import ScopeGrants
from .tokens import TokenStore
from .wire import Request, Response, json_body

_USER_FIELDS = {"id", "name", "email", "region", "subdomain", "account_id", "time_zone", "role", "job_title",
                "avatar_url"}


class ControlEndpoints:
    def __init__(
        self,
        faults: FaultBoard,
        calls: CallCounter,
        users: UserDirectory,
        tokens: TokenStore,
        clients: ClientRegistry,
        grants: ScopeGrants,
    ) -> None:
        self._faults = faults
        self._calls = calls
        self._users = users
        self._tokens = tokens
        self._clients = clients
        self._grants = grants

    def list_faults(self, request: Request) -> Response:
        return Response.json(200, {"faults": self._faults.active()})

    def set_faults(self, request: Request) -> Response:
        """Body: one fault object, a list of them, or {"faults": [...]}; see faults.Fault."""
        data = _json(request)
        if isinstance(data, Mapping) and set(data) == {"faults"}:
            data = data["faults"]
        items = data if isinstance(data, list) else [data]
        try:
            faults = [Fault.from_json(item) for item in items]
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from exc
        self._faults.set(*faults)
        return Response.json(200, {"faults": self._faults.active()})

    def clear_faults(self, request: Request) -> Response:
        self._faults.clear()
        return Response.json(200, {"faults": []})

    def calls(self, request: Request) -> Response:
        return Response.json(200, self._calls.snapshot())

    def reset(self, request: Request) -> Response:
        self._faults.clear()
        self._calls.reset()
        self._grants.clear()
        return Response.json(200, {"faults": [], "calls": self._calls.snapshot()})

    def withheld_scopes(self, request: Request) -> Response:
        return Response.json(200, {"withhold": list(self._grants.withheld)})

    def withhold_scopes(self, request: Request) -> Response:
        """Body: {"withhold": ["write", "incidents.write", ...]}: granted to no one until cleared."""
        data = _json(request)
        if not (isinstance(data, Mapping) and set(data) == {"withhold"} and isinstance(data["withhold"], list)):
            raise ControlError('send {"withhold": ["scope", ...]}')
        try:
            self._grants.withhold(*data["withhold"])
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return self.withheld_scopes(request)

    def grant_all_scopes(self, request: Request) -> Response:
        self._grants.clear()
        return self.withheld_scopes(request)

    def add_user(self, request: Request) -> Response:
        try:
            user = user_from_json(_json(request))
            self._users.add(user)
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from exc
        return Response.json(201, {"login": user.id, "user": user_resource(user)})

    def revoke_tokens(self, request: Request) -> Response:
        self._tokens.revoke_all()
        return Response.json(200, {"revoked": True})

    def rotate_client_secret(self, request: Request) -> Response:
        """Body: {"client_id": ..., "client_secret": <the new secret>}."""
        data = _json(request)
        if not (isinstance(data, Mapping) and set(data) == {"client_id", "client_secret"}
                and all(isinstance(v, str) and v for v in data.values())):
            raise ControlError("send {\"client_id\": ..., \"client_secret\": ...}")
        try:
            self._clients.rotate_secret(data["client_id"], data["client_secret"])
        except ValueError as exc:
            raise ControlError(str(exc), status=404) from exc
        return Response.json(200, {"client_id": data["client_id"]})


def user_from_json(data: Any) -> DemoUser:
    """{"name", "email", optional "id", "region" ("us"/"eu"), "subdomain", "account_id", ...}."""
    if not isinstance(data, Mapping):
        raise ValueError("a user is a JSON object")
    unknown = set(data) - _USER_FIELDS
    if unknown:
        raise ValueError(f"unknown user fields: {', '.join(sorted(unknown))}")
    if not all(isinstance(value, str) for value in data.values()):
        raise ValueError("user fields are strings")
    region = Region.from_key(data.get("region", "us"))
    account = US_ACCOUNT if region is Region.US else EU_ACCOUNT
    if "subdomain" in data or "account_id" in data:
        account = Account(
            account_id=data.get("account_id") or "P" + secrets.token_hex(3).upper(),
            subdomain=data.get("subdomain") or account.subdomain,
            region=region,
        )
    fields = {k: v for k, v in data.items() if k in {"name", "email", "time_zone", "role", "job_title", "avatar_url"}}
    return DemoUser(id=data.get("id") or "P" + secrets.token_hex(3).upper(), account=account, **fields)


def _json(request: Request) -> Any:
    try:
        return json_body(request)
    except MalformedRequest as exc:
        raise ControlError(exc.description) from exc
