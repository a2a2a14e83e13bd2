"""The token function: each action's answer, typed errors for everything else, race-safe refresh,
and a warm container that answers without KMS. Through the real handler and AccessTokens, against
moto and the PagerDuty stand-in (the connection is made by the real start and callback handlers)."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError
from pd_connect.client.access_tokens import AccessTokens, ConnectionNotFound, NeedsReauthorization
from pd_connect.container import Container, use
from pd_connect.flow.links import sign_link
from pd_connect.platform.aws_clients import AwsClients
from pd_connect.platform.client_secret import Secrets
from pd_connect.platform.config import settings_from
from pd_connect.token_function.client import TokenFunctionClient
from pd_connect.token_function.protocol import MAX_REQUEST_BYTES
from pd_connect.token_function.service import TokenService, lambda_handler
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.token_cipher import TokenCipher

from .conftest import LINK_SIGNING_KEY

KEY = "PACMEUS/PADA001"
LIFETIME = 864000  # the stand-in's expires_in
TOKEN_FIELDS = {"ok", "access_token", "token_type", "expires_at", "api_base", "region", "scopes", "connection", "token_version"}
ERROR_FIELDS = {"ok", "error", "message", "retryable"}


@pytest.fixture
def token_function(handlers, aws):
    """The token function's handler in a container of its own (environment from the handlers
    fixture), with every KMS call it makes counted."""
    container = Container()
    kms_calls: list[str] = []
    container.aws.kms.meta.events.register("before-call.kms", lambda model, **_: kms_calls.append(model.name))
    return SimpleNamespace(handler=lambda_handler(container), kms_calls=kms_calls, container=container)


def invoke(token_function, event) -> dict:
    from tests.flow_driver import LambdaContext

    answer = token_function.handler(event, LambdaContext())
    json.dumps(answer)  # Lambda returns it as JSON: it must serialise
    return answer


def users_me(standin, answer: dict) -> int:
    headers = {"Authorization": f"Bearer {answer['access_token']}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return requests.get(f"{answer['api_base']}/users/me", headers=headers, timeout=5).status_code


def service(aws, *, offset: float = 0.0) -> TokenService:
    """A token function container of its own (own caches), its clock `offset` seconds ahead."""
    settings = settings_from(os.environ, handles_tokens=True)
    cipher = TokenCipher(aws.kms, aws.key_id)
    clock = lambda: time.time() + offset  # noqa: E731
    store = ConnectionStore(aws.dynamodb, aws.table_name, cipher, clock=clock)
    return TokenService(AccessTokens(settings, store, cipher, Secrets(aws.secretsmanager), clock=clock))


def linked(browser, app_user: str, login: str = "PADA001", *, confirm: bool = True) -> dict:
    """A linked flow for `app_user`, confirmed by the app (as its return route would) unless not."""
    result = browser.connect(login=login, query="link=" + quote(sign_link(LINK_SIGNING_KEY, app_user)))
    if confirm:
        from pd_connect.client.confirmations import confirm_connection

        confirm_connection(returned_result(result), app_user)
    return result


# --- get_token ----------------------------------------------------------------------------------


def test_get_token_by_connection_key_answers_a_working_token_with_its_api_base_region_expiry_and_scopes(
    token_function, browser, standin
):
    browser.connect(login="PADA001")
    answer = invoke(token_function, {"action": "get_token", "connection": KEY})

    assert set(answer) == TOKEN_FIELDS and answer["ok"] is True
    assert (answer["region"], answer["scopes"], answer["connection"], answer["token_type"]) == ("US", ["openid", "read"], KEY, "Bearer")
    assert answer["api_base"] == standin.base_url and answer["expires_at"] > time.time() + LIFETIME - 60
    assert users_me(standin, answer) == 200


def test_get_token_by_app_user_finds_their_connection_and_an_eu_one_gets_the_eu_host(token_function, browser, standin):
    linked(browser, "user-42", login="PGRACE1")
    answer = invoke(token_function, {"action": "get_token", "app_user_id": "user-42"})

    assert answer["connection"] == "PGLOBEX/PGRACE1/user-42" and answer["region"] == "EU"
    assert answer["api_base"] == f"{standin.base_url}/eu" and users_me(standin, answer) == 200


def test_get_token_for_an_app_user_with_two_connections_needs_the_account(token_function, browser):
    linked(browser, "user-42", login="PADA001")
    linked(browser, "user-42", login="PGRACE1")

    ambiguous = invoke(token_function, {"action": "get_token", "app_user_id": "user-42"})
    chosen = invoke(token_function, {"action": "get_token", "app_user_id": "user-42", "account_id": "PGLOBEX"})

    assert set(ambiguous) == ERROR_FIELDS and ambiguous["error"] == "ambiguous_connection"
    assert chosen["connection"] == "PGLOBEX/PGRACE1/user-42"


def test_an_unknown_connection_is_connection_not_found(token_function, browser):
    browser.connect(login="PADA001")
    for request in ({"connection": "PACMEUS/PNOBODY"}, {"app_user_id": "nobody"}):
        answer = invoke(token_function, {"action": "get_token", **request})
        assert (answer["ok"], answer["error"], answer["retryable"]) == (False, "connection_not_found", False)


def test_an_expired_token_is_refreshed_once_and_the_answer_carries_the_new_version(aws, browser, standin):
    browser.connect(login="PADA001")
    answer = service(aws, offset=LIFETIME).answer({"action": "get_token", "connection": KEY})

    assert answer["token_version"] == 2 and standin.calls["token_refresh"] == 1
    assert users_me(standin, answer) == 200


def test_reject_version_refreshes_past_a_token_pagerduty_refused(aws, browser, standin):
    browser.connect(login="PADA001")
    container = service(aws)
    first = container.answer({"action": "get_token", "connection": KEY})
    again = container.answer({"action": "get_token", "connection": KEY, "reject_version": first["token_version"]})

    assert again["token_version"] == first["token_version"] + 1 and again["access_token"] != first["access_token"]
    assert standin.calls["token_refresh"] == 1


def test_a_refused_refresh_is_needs_reauthorization_and_the_connection_is_kept(aws, browser, standin):
    browser.connect(login="PADA001")
    standin.faults.set(endpoint="token", kind="invalid_grant")
    answer = service(aws, offset=LIFETIME).answer({"action": "get_token", "connection": KEY})
    status = service(aws).answer({"action": "status", "app_user_id": "x"})

    assert (answer["error"], answer["retryable"]) == ("needs_reauthorization", False)
    assert "pdus" not in json.dumps(answer)
    assert ConnectionStore(aws.dynamodb, aws.table_name, TokenCipher(aws.kms, aws.key_id)).find(ConnectionKey.parse(KEY))
    assert status["ok"] is True


def test_pagerduty_down_on_an_expired_token_is_unavailable_and_retryable(aws, browser, standin):
    browser.connect(login="PADA001")
    standin.faults.set(endpoint="token", kind="status", status=503)
    answer = service(aws, offset=LIFETIME + 1).answer({"action": "get_token", "connection": KEY})

    assert (answer["error"], answer["retryable"]) == ("unavailable", True)


def test_the_client_secret_still_a_placeholder_is_not_configured(aws, browser, standin):
    browser.connect(login="PADA001")
    aws.secretsmanager.put_secret_value(
        SecretId=aws.secret_id,
        SecretString=json.dumps({"client_secret": "REPLACE_WITH_PAGERDUTY_CLIENT_SECRET", "link_signing_key": LINK_SIGNING_KEY}),
    )
    answer = service(aws, offset=LIFETIME + 1).answer({"action": "get_token", "connection": KEY})

    assert (answer["error"], answer["retryable"]) == ("not_configured", False)


def test_dynamodb_failing_is_unavailable_and_names_no_token(token_function, browser, monkeypatch):
    browser.connect(login="PADA001")
    error = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem")
    monkeypatch.setattr(token_function.container.aws.dynamodb, "get_item", lambda **_: (_ for _ in ()).throw(error))
    answer = invoke(token_function, {"action": "get_token", "connection": KEY})

    assert (answer["error"], answer["retryable"]) == ("unavailable", True)
    assert "ProvisionedThroughputExceededException" in answer["message"]


# --- race-safe refresh, warm containers ------------------------------------------------------------


def test_twenty_containers_asking_at_once_on_an_expired_token_make_one_refresh_and_get_the_same_token(
    aws, browser, standin
):
    browser.connect(login="PADA001")
    callers = 20
    containers = [service(aws, offset=LIFETIME) for _ in range(callers)]
    barrier, answers = threading.Barrier(callers), []

    def call(container):
        barrier.wait()
        answers.append(container.answer({"action": "get_token", "connection": KEY}))

    threads = [threading.Thread(target=call, args=(c,)) for c in containers]
    [t.start() for t in threads]
    [t.join() for t in threads]

    assert [a["ok"] for a in answers] == [True] * callers
    assert standin.calls["token_refresh"] == 1
    assert len({a["access_token"] for a in answers}) == 1 and users_me(standin, answers[0]) == 200


def test_a_warm_token_function_answers_without_kms_while_the_record_is_unchanged(token_function, browser, aws):
    browser.connect(login="PADA001")
    token_function.kms_calls.clear()  # the callback's Encrypt, on the same container-wide client
    invoke(token_function, {"action": "get_token", "connection": KEY})  # cold: decrypts once
    assert token_function.kms_calls == ["Decrypt"]

    for _ in range(10):
        assert invoke(token_function, {"action": "get_token", "connection": KEY})["ok"] is True
    assert token_function.kms_calls == ["Decrypt"]

    service(aws, offset=LIFETIME).answer({"action": "get_token", "connection": KEY})  # another container refreshes
    invoke(token_function, {"action": "get_token", "connection": KEY})
    assert token_function.kms_calls == ["Decrypt", "Decrypt"]  # the new version, decrypted once


# --- status, disconnect ----------------------------------------------------------------------------


def test_status_lists_an_app_users_connections_without_tokens(token_function, browser):
    linked(browser, "user-42", login="PADA001")
    linked(browser, "user-42", login="PGRACE1")
    linked(browser, "someone-else", login="PADA001")
    answer = invoke(token_function, {"action": "status", "app_user_id": "user-42"})

    assert answer["ok"] is True and answer["app_user_id"] == "user-42"
    assert sorted(c["connection"] for c in answer["connections"]) == ["PACMEUS/PADA001/user-42", "PGLOBEX/PGRACE1/user-42"]
    ada = next(c for c in answer["connections"] if c["account_id"] == "PACMEUS")
    assert (ada["user_name"], ada["region"], ada["scopes"], ada["needs_reauthorization"]) == ("Ada Lovelace", "US", ["openid", "read"], False)
    assert "pdus" not in json.dumps(answer) and "token" not in {k for c in answer["connections"] for k in c}


def test_status_of_an_app_user_without_connections_is_an_empty_list(token_function, aws):
    assert invoke(token_function, {"action": "status", "app_user_id": "nobody"}) == {
        "ok": True, "app_user_id": "nobody", "connections": []
    }


def test_disconnect_deletes_the_connection_and_says_where_to_revoke_it(token_function, browser):
    linked(browser, "user-42")
    answer = invoke(token_function, {"action": "disconnect", "app_user_id": "user-42"})
    again = invoke(token_function, {"action": "disconnect", "connection": "PACMEUS/PADA001/user-42"})
    gone = invoke(token_function, {"action": "get_token", "app_user_id": "user-42"})

    assert (answer["ok"], answer["deleted"], answer["connection"]) == (True, True, "PACMEUS/PADA001/user-42")
    assert "PagerDuty" in answer["revoke_in_pagerduty"]
    assert (again["ok"], again["deleted"]) == (True, False)
    assert gone["error"] == "connection_not_found"


# --- malformed requests --------------------------------------------------------------------------

MALFORMED = [
    None,
    "get_token",
    ["get_token"],
    42,
    {},
    {"action": "steal"},
    {"action": ["get_token"]},
    {"action": "get_token"},
    {"action": "get_token", "connection": 7},
    {"action": "get_token", "connection": "no-slash"},
    {"action": "get_token", "connection": "A/B/C/D"},
    {"action": "get_token", "connection": KEY, "app_user_id": "user-42"},
    {"action": "get_token", "app_user_id": "has/slash"},
    {"action": "get_token", "app_user_id": "x" * 129},
    {"action": "get_token", "app_user_id": "user-42\n"},
    {"action": "get_token", "app_user_id": "user-42", "account_id": "P#1"},
    {"action": "get_token", "connection": KEY, "reject_version": "1"},
    {"action": "get_token", "connection": KEY, "reject_version": True},
    {"action": "get_token", "connection": KEY, "reject_version": 0},
    {"action": "get_token", "connection": KEY, "token": "please"},
    {"action": "status"},
    {"action": "status", "app_user_id": ""},
    {"action": "confirm", "app_user_id": "user-42"},
    {"action": "confirm", "result": "", "app_user_id": "user-42"},
    {"action": "confirm", "result": "x" * 5000, "app_user_id": "user-42"},
    {"action": "disconnect"},
]


@pytest.mark.parametrize("event", MALFORMED, ids=lambda e: json.dumps(e)[:60])
def test_a_malformed_request_is_a_typed_bad_request(token_function, event):
    answer = invoke(token_function, event)

    assert set(answer) == ERROR_FIELDS
    assert (answer["ok"], answer["error"], answer["retryable"]) == (False, "bad_request", False)
    assert "Traceback" not in answer["message"]


def test_an_unknown_field_is_named_only_when_it_looks_like_a_field_name(token_function):
    typo = invoke(token_function, {"action": "status", "app_user_id": "u", "acount_id": "P1"})
    odd = invoke(token_function, {"action": "status", "app_user_id": "u", "pdus+_0Secret-Looking-Value": 1})

    assert "acount_id" in typo["message"]
    assert "pdus" not in odd["message"] and "unreadable names" in odd["message"]


@pytest.mark.parametrize("size", [MAX_REQUEST_BYTES + 1, 6 * 1024 * 1024])
def test_an_oversized_request_is_request_too_large(token_function, size):
    answer = invoke(token_function, {"action": "status", "app_user_id": "u", "padding": "x" * size})

    assert (answer["error"], answer["retryable"]) == ("request_too_large", False)


def test_a_request_nested_deeper_than_json_allows_is_bad_request(token_function):
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert invoke(token_function, {"action": "status", "app_user_id": "u", "x": deep})["error"] in (
        "bad_request", "request_too_large"
    )


def test_an_unexpected_failure_is_internal_error_without_its_message_or_a_stack_trace(
    token_function, browser, monkeypatch, caplog
):
    browser.connect(login="PADA001")
    leaked = "pdus+_0this-must-never-reach-the-caller"
    monkeypatch.setattr(token_function.container.connections, "find", lambda key: (_ for _ in ()).throw(RuntimeError(leaked)))
    answer = invoke(token_function, {"action": "get_token", "connection": KEY})

    assert set(answer) == ERROR_FIELDS and (answer["error"], answer["retryable"]) == ("internal_error", True)
    assert leaked not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    (logged,) = [r for r in caplog.records if r.getMessage() == "token function failed unexpectedly"]
    assert logged.at.startswith("RuntimeError at test_token_function.py:") and not logged.exc_info
    assert leaked not in caplog.text


# --- the library through the token function --------------------------------------------------------


class InProcessLambda:
    """A boto3 Lambda client's invoke, answered by the token function's handler in this process
    (the HTTP path, boto3 to the local invoke endpoint, is tested in tests/local_stack)."""

    def __init__(self, token_function) -> None:
        self.token_function = token_function
        self.requests: list[dict] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict:
        request = json.loads(Payload)
        self.requests.append(request)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(invoke(self.token_function, request)).encode())}


@pytest.fixture
def library_without_grants(token_function, monkeypatch):
    """A builder's function: PD_CONNECT_TOKEN_FUNCTION set, and no table, key or secret settings."""
    fake = InProcessLambda(token_function)
    for name in ("TABLE_NAME", "TOKEN_KEY_ID", "CLIENT_SECRET_ID", "PD_CLIENT_ID"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("PD_CONNECT_TOKEN_FUNCTION", "TokenFunction")
    with use(Container(aws=AwsClients({"lambda": fake}))):
        yield fake


def test_with_the_setting_get_access_token_and_pagerduty_client_use_the_token_function(
    library_without_grants, browser, standin
):
    from pd_connect.client.access_tokens import get_access_token
    from pd_connect.client.pagerduty_client import PagerDutyClient

    result = returned_result(linked(browser, "user-42", confirm=False))
    from pd_connect.container import process_container

    confirmed = process_container().token_function("TokenFunction").confirm(result, "user-42")  # through the library
    token = get_access_token(app_user_id="user-42")
    me = PagerDutyClient(app_user_id="user-42").get("/users/me")

    assert users_me(standin, {"access_token": token, "api_base": standin.base_url}) == 200
    assert me.status_code == 200 and me.json()["user"]["name"] == "Ada Lovelace"
    assert confirmed["connection"] == "PACMEUS/PADA001/user-42"
    assert {r["action"] for r in library_without_grants.requests} == {"confirm", "get_token"}


def test_with_the_setting_a_401_asks_the_token_function_to_refresh_past_that_version(
    library_without_grants, browser, standin
):
    from pd_connect.client.pagerduty_client import PagerDutyClient

    browser.connect(login="PADA001")
    pagerduty = PagerDutyClient(KEY)
    standin.revoke_all_tokens()  # PagerDuty refuses the stored token and its refresh token

    with pytest.raises(NeedsReauthorization):
        pagerduty.get("/users/me")
    assert library_without_grants.requests[-1] == {"action": "get_token", "connection": KEY, "reject_version": 1}


def test_with_the_setting_the_librarys_exceptions_are_the_same(library_without_grants, browser):
    from pd_connect.client.access_tokens import get_access_token
    from pd_connect.client.disconnect import disconnect

    browser.connect(login="PADA001")
    assert disconnect(KEY) is True
    with pytest.raises(ConnectionNotFound):
        get_access_token(KEY)


def test_a_function_error_from_lambda_is_token_refresh_failed_without_lambdas_payload():
    from pd_connect.client.access_tokens import TokenRefreshFailed

    class Crashing:
        def invoke(self, **_):
            body = {"errorMessage": "pdus+_0leaked", "errorType": "Boom", "stackTrace": ["..."]}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(body).encode())}

    with pytest.raises(TokenRefreshFailed) as raised:
        TokenFunctionClient(Crashing(), "TokenFunction").get(ConnectionKey.parse(KEY))
    assert "pdus" not in str(raised.value) and "Unhandled" in str(raised.value)


# --- confirm -------------------------------------------------------------------------------------


def returned_result(result: dict) -> str:
    """The signed result a linked flow's 303 carries back to the app."""
    from urllib.parse import parse_qs, urlsplit

    assert result["statusCode"] == 303, result
    return parse_qs(urlsplit(result["headers"]["Location"]).query)["pagerduty_result"][0]


def test_confirm_makes_a_linked_connection_usable_and_answers_it_without_tokens(token_function, browser, standin):
    result = returned_result(linked(browser, "user-42", confirm=False))
    before = invoke(token_function, {"action": "get_token", "app_user_id": "user-42"})
    answer = invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "user-42"})
    after = invoke(token_function, {"action": "get_token", "app_user_id": "user-42"})

    assert before["error"] == "connection_not_found"  # unconfirmed: never handed out
    assert answer["ok"] is True and answer["connection"] == "PACMEUS/PADA001/user-42"
    assert answer["user_name"] == "Ada Lovelace" and "pdus" not in json.dumps(answer)
    assert after["ok"] is True and users_me(standin, after) == 200


def test_confirm_by_another_app_user_discards_the_connection(token_function, browser):
    result = returned_result(linked(browser, "eve", confirm=False))
    stolen = invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "alice"})
    genuine = invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "eve"})

    assert (stolen["error"], stolen["retryable"]) == ("app_user_mismatch", False)
    assert genuine["error"] == "result_already_used"
    for user in ("eve", "alice"):
        assert invoke(token_function, {"action": "status", "app_user_id": user})["connections"] == []


def test_a_result_is_confirmed_once(token_function, browser):
    result = returned_result(linked(browser, "user-42", confirm=False))
    assert invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "user-42"})["ok"] is True

    again = invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "user-42"})
    assert again["error"] == "result_already_used"


@pytest.mark.parametrize("result", ["x.y.z", "not-a-jws", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTQyIn0."])
def test_a_forged_or_malformed_result_is_result_rejected(token_function, aws, result):
    answer = invoke(token_function, {"action": "confirm", "result": result, "app_user_id": "user-42"})

    assert (answer["error"], answer["retryable"]) == ("result_rejected", False)
