"""Connecting on behalf of the builder's signed-in user: link tokens, the signed result the
browser brings back, the confirm step, return paths, app-user lookups."""

import io
import json
import threading
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pd_connect.client.access_tokens import AmbiguousConnection, ConnectionNotFound, get_access_token
from pd_connect.client.confirmations import (
    AppUserMismatch,
    Confirmations,
    ResultAlreadyUsed,
    ResultExpired,
    ResultRejected,
    confirm_connection,
)
from pd_connect.client.pagerduty_client import PagerDutyClient
from pd_connect.flow.link_results import LIFETIME_SECONDS, sign_result
from pd_connect.flow.links import create_link, sign_link
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.token_cipher import TokenCipher
from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

from admin.cli import main as admin
from tests.flow_driver import FlowDriver, LambdaContext, http_event

from .conftest import APP_ORIGIN, LINK_SIGNING_KEY, RESULT_SIGNING_KEY, SITE, scan_all, start_container


def link(app_user="app-user-1", return_to=None, key=LINK_SIGNING_KEY, **kwargs) -> str:
    return "link=" + quote(sign_link(key, app_user, return_to, **kwargs))


def connections(aws):
    return [i for i in scan_all(aws) if i["kind"]["S"] == "connection"]


def unconfirmed(aws):
    return [i for i in scan_all(aws) if i["kind"]["S"] == "unconfirmed_connection"]


def failure_reason(result) -> str:
    assert result["statusCode"] in (400, 503), result
    return result["body"].split('id="reason">')[1].split("<")[0]


def result_of(response) -> str:
    """The signed result on the 303 back to the app."""
    assert response["statusCode"] == 303, response
    (result,) = parse_qs(urlsplit(response["headers"]["Location"]).query)["pagerduty_result"]
    return result


def connect_and_confirm(driver, app_user, login="PADA001", return_to=None) -> ConnectionKey:
    return confirm_connection(result_of(driver.connect(login=login, query=link(app_user, return_to))), app_user)


def test_a_linked_flow_returns_to_the_app_with_a_result_and_stores_nothing_usable(browser, aws, standin):
    response = browser.connect(login="PADA001", query=link("app-user-1", "/settings/integrations?tab=pagerduty"))
    location = response["headers"]["Location"]
    assert response["statusCode"] == 303
    assert location.startswith(f"{APP_ORIGIN}/settings/integrations?tab=pagerduty&pagerduty=connected&pagerduty_result=")
    assert "code=" not in location and "pdus" not in location
    assert connections(aws) == []
    (item,) = unconfirmed(aws)
    assert "app_user_id" not in item  # never in the by_app_user index
    assert item["link_app_user_id"]["S"] == "app-user-1"
    assert 0 < int(item["expires_at"]["N"]) - time.time() <= LIFETIME_SECONDS
    with pytest.raises(ConnectionNotFound):
        get_access_token(app_user_id="app-user-1")
    with pytest.raises(ConnectionNotFound):
        get_access_token("PACMEUS/PADA001/app-user-1")


def test_confirming_as_the_signed_in_user_makes_the_connection_usable(browser, aws, standin):
    result = result_of(browser.connect(login="PADA001", query=link("app-user-1", "/settings")))
    key = confirm_connection(result, "app-user-1")
    assert key == ConnectionKey("PACMEUS", "PADA001", "app-user-1")
    (item,) = connections(aws)
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001#app#app-user-1"
    assert item["app_user_id"]["S"] == "app-user-1"
    assert item["confirmed_at"]["S"] and item["authorized_at"]["S"]
    assert unconfirmed(aws) == []
    assert get_access_token(app_user_id="app-user-1")
    assert PagerDutyClient(app_user_id="app-user-1").get("/users/me").status_code == 200


def test_without_a_return_path_the_browser_still_returns_to_the_app(browser, aws):
    response = browser.connect(login="PADA001", query=link("app-user-1"))
    assert response["headers"]["Location"].startswith(f"{APP_ORIGIN}/?pagerduty=connected&pagerduty_result=")
    assert "Welcome" not in response["body"]


# --- the attack the confirm step closes: Eve's link finished in Alice's browser ------------------


def test_eves_link_finished_in_alices_browser_and_confirmed_by_alice_gives_eve_nothing(handlers, aws, capsys, caplog):
    eves_link = link("eve")  # minted by the app for Eve's own session, sent to Alice
    alice = FlowDriver(*handlers, site=SITE)  # another browser: Alice does every step herself
    response = alice.connect(login="PADA001", query=eves_link)
    capsys.readouterr()
    with pytest.raises(AppUserMismatch):
        confirm_connection(result_of(response), "alice")  # Alice is who is signed in to the app
    assert connections(aws) == [] and unconfirmed(aws) == []  # discarded
    for app_user in ("eve", "alice"):
        with pytest.raises(ConnectionNotFound):
            get_access_token(app_user_id=app_user)
    (event,) = [r for r in caplog.records if getattr(r, "security_event", "") == "confirm_app_user_mismatch"]
    assert (event.levelname, event.presented_by_app_user_id, event.result_app_user_id) == ("WARNING", "alice", "eve")
    assert '"event":"confirm_app_user_mismatch","SecurityEvents":[1.0]' in capsys.readouterr().out  # EMF


def test_eves_link_finished_in_alices_browser_and_never_confirmed_gives_eve_nothing(handlers, aws):
    alice = FlowDriver(*handlers, site=SITE)
    assert alice.connect(login="PADA001", query=link("eve"))["statusCode"] == 303
    with pytest.raises(ConnectionNotFound):
        get_access_token(app_user_id="eve")
    out = io.StringIO()
    assert admin(["list", "--json"], out=out) == 0 and json.loads(out.getvalue()) == []
    assert admin(["list", "--app-user", "eve", "--json"], out=(out := io.StringIO())) == 0
    assert json.loads(out.getvalue()) == []


def test_eve_cannot_confirm_a_result_she_never_received_by_minting_one(handlers, aws):
    """Without the result signing key a result cannot be forged, even for a real pending item."""
    alice = FlowDriver(*handlers, site=SITE)
    genuine = result_of(alice.connect(login="PADA001", query=link("eve")))
    claims = json.loads(_b64decode(genuine.split(".")[1]))
    forged = sign_result("f" * 64, ConnectionKey.parse(claims["connection"]), jti=claims["jti"])
    with pytest.raises(ResultRejected):
        confirm_connection(forged, "eve")
    with pytest.raises(ConnectionNotFound):
        get_access_token(app_user_id="eve")


# --- a result is single-use and short-lived -----------------------------------------------------


def test_a_result_confirms_once(browser, aws):
    result = result_of(browser.connect(login="PADA001", query=link("app-user-1")))
    confirm_connection(result, "app-user-1")
    with pytest.raises(ResultAlreadyUsed):
        confirm_connection(result, "app-user-1")
    (item,) = connections(aws)
    assert item["token_version"]["N"] == "1"


def test_concurrent_confirms_of_one_result_succeed_exactly_once(browser, aws):
    result = result_of(browser.connect(login="PADA001", query=link("app-user-1")))
    outcomes, barrier = [], threading.Barrier(10)

    def confirm():
        barrier.wait()
        try:
            outcomes.append(confirm_connection(result, "app-user-1"))
        except ResultAlreadyUsed:
            outcomes.append("used")

    threads = [threading.Thread(target=confirm) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["PACMEUS/PADA001/app-user-1"] + ["used"] * 9
    assert len(connections(aws)) == 1


def test_an_expired_result_is_refused(browser, aws):
    result = result_of(browser.connect(login="PADA001", query=link("app-user-1")))
    later = Confirmations(
        UnconfirmedConnectionStore(aws.dynamodb, aws.table_name, clock=lambda: time.time() + LIFETIME_SECONDS),
        lambda: (RESULT_SIGNING_KEY,),
        clock=lambda: time.time() + LIFETIME_SECONDS,
    )
    with pytest.raises(ResultExpired):
        later.confirm(result, "app-user-1")
    assert connections(aws) == []


def test_an_unconfirmed_connection_past_its_ttl_cannot_be_confirmed(browser, aws):
    """DynamoDB's TTL deletes lazily, so the confirm checks expires_at itself."""
    result = result_of(browser.connect(login="PADA001", query=link("app-user-1")))
    (item,) = unconfirmed(aws)
    aws.dynamodb.update_item(
        TableName=aws.table_name, Key={"pk": item["pk"]},
        UpdateExpression="SET expires_at = :past", ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    with pytest.raises(ResultAlreadyUsed):
        confirm_connection(result, "app-user-1")
    assert connections(aws) == []


@pytest.mark.parametrize(
    "result",
    ["", "garbage", "a.b.c", sign_link(RESULT_SIGNING_KEY, "app-user-1")],
    ids=["empty", "garbage", "three-parts", "a-link-token-with-the-result-key"],
)
def test_anything_but_a_genuine_result_is_rejected(browser, aws, result):
    browser.connect(login="PADA001", query=link("app-user-1"))
    with pytest.raises(ResultRejected):
        confirm_connection(result, "app-user-1")
    assert connections(aws) == [] and len(unconfirmed(aws)) == 1


def test_confirming_again_after_reconnecting_replaces_the_connection(browser, aws):
    connect_and_confirm(browser, "alice")
    created = connections(aws)[0]["created_at"]["S"]
    connect_and_confirm(browser, "alice")
    (item,) = connections(aws)
    assert (item["token_version"]["N"], item["created_at"]["S"]) == ("2", created)


# --- refused links: a 400 page and nothing started ---------------------------------------------


@pytest.mark.parametrize(
    "query,reason",
    [
        (link(key="wrong-key-" + "x" * 40), "link_invalid"),
        (link(now=0), "link_expired"),
        ("link=e30.e30.AAAA", "link_invalid"),
        ("link=" + quote(sign_link(LINK_SIGNING_KEY, "u1"))[:-3] + "abc", "link_invalid"),
        ("link=", "link_invalid"),
        ("link=" + quote(sign_link(RESULT_SIGNING_KEY, "u1")), "link_invalid"),
    ],
)
def test_bad_links_are_400_pages_and_start_nothing(browser, aws, query, reason):
    result = browser.authorize_result(query)
    assert failure_reason(result) == reason
    assert not [i for i in scan_all(aws) if i["kind"]["S"] == "pending"]


def test_a_replayed_link_is_refused(browser):
    query = link("app-user-1")
    assert browser.authorize_result(query)["statusCode"] == 302
    assert failure_reason(browser.authorize_result(query)) == "link_used"


def test_a_request_refused_for_another_reason_does_not_spend_its_link(browser, handlers):
    start, _ = handlers
    query = link("app-user-1")
    event = http_event(f"{SITE}/authorize?{query}", cookies=browser.cookies)
    del event["requestContext"]["domainName"]  # no callback URL can be made (PD_REDIRECT_URI is unset)

    refused = start(event, LambdaContext())

    assert failure_reason(refused) == "bad_request"
    assert browser.authorize_result(query)["statusCode"] == 302  # the link is still good


@pytest.mark.parametrize("return_to", ["/back", None])
def test_a_link_needs_an_allow_listed_origin_to_return_to(browser, monkeypatch, return_to):
    start, _ = start_container(monkeypatch, {"RETURN_TO_ORIGIN": ""})
    driver = FlowDriver(start, browser.callback_handler, site=SITE)
    assert failure_reason(driver.authorize_result(link("u1", return_to))) == "link_not_configured"


def test_the_start_function_cannot_verify_links_with_the_result_key(aws, browser, monkeypatch):
    """One secret per purpose: pointing the start function at another secret breaks links."""
    start, _ = start_container(monkeypatch, {"LINK_SIGNING_KEY_ID": aws.result_key_id})
    driver = FlowDriver(start, browser.callback_handler, site=SITE)
    assert failure_reason(driver.authorize_result(link("u1"))) == "link_invalid"


def test_with_anonymous_connections_off_a_link_is_required(aws, browser, monkeypatch):
    start, _ = start_container(monkeypatch, {"ALLOW_ANONYMOUS_CONNECT": "false"})
    driver = FlowDriver(start, browser.callback_handler, site=SITE)
    assert failure_reason(driver.authorize_result()) == "link_required"
    assert driver.authorize_result(link("u1"))["statusCode"] == 302


def test_the_library_mints_links_with_the_deployments_key(browser, aws):
    response = browser.connect(login="PADA001", query="link=" + quote(create_link("app-user-9")))
    assert confirm_connection(result_of(response), "app-user-9").app_user_id == "app-user-9"
    assert connections(aws)[0]["app_user_id"]["S"] == "app-user-9"


# --- who owns what ----------------------------------------------------------------------------


def test_two_app_users_connecting_the_same_pagerduty_user_get_two_connections(handlers, aws):
    first, second = FlowDriver(*handlers, site=SITE), FlowDriver(*handlers, site=SITE)
    connect_and_confirm(first, "alice")
    connect_and_confirm(second, "bob")
    owners = sorted(i["app_user_id"]["S"] for i in connections(aws))
    assert owners == ["alice", "bob"]
    assert get_access_token(app_user_id="alice") != get_access_token(app_user_id="bob")


def test_one_app_user_reconnecting_replaces_not_duplicates(browser, aws):
    connect_and_confirm(browser, "alice")
    connect_and_confirm(browser, "alice")
    (item,) = connections(aws)
    assert item["token_version"]["N"] == "2"


def test_an_app_user_with_two_pagerduty_accounts_must_say_which(browser, aws):
    connect_and_confirm(browser, "alice")
    connect_and_confirm(browser, "alice", login="PGRACE1")
    with pytest.raises(AmbiguousConnection):
        get_access_token(app_user_id="alice")
    assert get_access_token(app_user_id="alice", account_id="PGLOBEX")


def test_a_pending_linked_flow_is_not_a_connection_of_the_app_user(browser, aws):
    browser.authorize(link("alice"))
    store = ConnectionStore(aws.dynamodb, aws.table_name, TokenCipher(aws.kms, aws.key_id))
    assert store.find_by_app_user("alice") == []


def test_lookup_by_app_user_never_scans(browser, aws, monkeypatch):
    connect_and_confirm(browser, "alice")

    def refuse(*args, **kwargs):
        raise AssertionError("scan")

    monkeypatch.setattr(ConnectionStore, "list_page", refuse)
    assert get_access_token(app_user_id="alice")


def test_admin_cli_lists_and_shows_by_app_user(browser, aws):
    connect_and_confirm(browser, "alice")
    out = io.StringIO()
    assert admin(["list", "--app-user", "alice", "--json"], out=out) == 0
    (row,) = json.loads(out.getvalue())
    assert row["app_user_id"] == "alice" and row["key"] == "PACMEUS/PADA001/alice"
    out = io.StringIO()
    assert admin(["refresh", row["key"], "--json"], out=out) == 0


# --- helpers ----------------------------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
