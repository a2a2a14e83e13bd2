"""Connecting on behalf of the builder's signed-in user: link tokens, return paths, app-user lookups."""

import importlib
import io
import json
from urllib.parse import quote

import pytest

from admin.cli import main as admin
from pd_connect import access_tokens
from pd_connect.access_tokens import AmbiguousConnection, get_access_token
from pd_connect.config import load_settings
from pd_connect.links import create_link, sign_link
from tests.flow_driver import FlowDriver

from .conftest import APP_ORIGIN, LINK_SIGNING_KEY, SITE, scan_all


def link(app_user="app-user-1", return_to=None, key=LINK_SIGNING_KEY, **kwargs) -> str:
    return "link=" + quote(sign_link(key, app_user, return_to, **kwargs))


def connections(aws):
    return [i for i in scan_all(aws) if i["kind"]["S"] == "connection"]


def failure_reason(result) -> str:
    assert result["statusCode"] in (400, 503), result
    return result["body"].split('id="reason">')[1].split("<")[0]


def test_a_linked_flow_stores_the_connection_under_the_app_user_and_returns_to_the_app(browser, aws, standin):
    result = browser.connect(login="PADA001", query=link("app-user-1", "/settings/integrations?tab=pagerduty"))
    assert result["statusCode"] == 303
    assert result["headers"]["Location"] == f"{APP_ORIGIN}/settings/integrations?tab=pagerduty&pagerduty=connected"
    assert "code=" not in result["headers"]["Location"] and "pdus" not in result["headers"]["Location"]
    (item,) = connections(aws)
    assert item["app_user_id"]["S"] == "app-user-1"
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001#app#app-user-1"


def test_without_a_return_path_the_welcome_page_is_shown(browser, aws):
    result = browser.connect(login="PADA001", query=link("app-user-1"))
    assert result["statusCode"] == 200 and "Welcome, Ada Lovelace" in result["body"]


def test_app_user_and_return_path_are_never_in_the_state_or_cookie(browser):
    location = browser.authorize(link("app-user-secretive", "/private/path"))
    assert "app-user-secretive" not in location and "private" not in location
    assert all("app-user" not in v and "private" not in v for v in browser.cookies.values())


def test_the_library_mints_links_with_the_deployments_key(browser, aws):
    result = browser.connect(login="PADA001", query="link=" + quote(create_link("app-user-9")))
    assert result["statusCode"] == 200
    assert connections(aws)[0]["app_user_id"]["S"] == "app-user-9"


# --- refused links: a 400 page and nothing started ---------------------------------------------


@pytest.mark.parametrize(
    "query,reason",
    [
        (link(key="wrong-key-" + "x" * 40), "link_invalid"),
        (link(now=0), "link_expired"),
        ("link=v1.e30.AAAA", "link_invalid"),
        ("link=" + quote(sign_link(LINK_SIGNING_KEY, "u1"))[:-3] + "abc", "link_invalid"),
        ("link=", "link_invalid"),
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


def test_a_link_with_a_return_path_needs_an_allow_listed_origin(browser, monkeypatch):
    monkeypatch.setenv("RETURN_TO_ORIGIN", "")
    load_settings.cache_clear()
    start = importlib.reload(importlib.import_module("start_handler"))
    driver = FlowDriver(start.handler, browser.callback_handler, site=SITE)
    assert failure_reason(driver.authorize_result(link("u1", "/back"))) == "link_invalid"


def test_with_anonymous_connections_off_a_link_is_required(aws, browser, monkeypatch):
    monkeypatch.setenv("ALLOW_ANONYMOUS_CONNECT", "false")
    load_settings.cache_clear()
    start = importlib.reload(importlib.import_module("start_handler"))
    driver = FlowDriver(start.handler, browser.callback_handler, site=SITE)
    assert failure_reason(driver.authorize_result()) == "link_required"
    assert driver.authorize_result(link("u1"))["statusCode"] == 302


# --- who owns what ----------------------------------------------------------------------------


def test_two_app_users_connecting_the_same_pagerduty_user_get_two_connections(handlers, aws):
    first, second = FlowDriver(*handlers, site=SITE), FlowDriver(*handlers, site=SITE)
    assert first.connect(login="PADA001", query=link("alice"))["statusCode"] == 200
    assert second.connect(login="PADA001", query=link("bob"))["statusCode"] == 200
    owners = sorted(i["app_user_id"]["S"] for i in connections(aws))
    assert owners == ["alice", "bob"]
    assert get_access_token(app_user_id="alice") != get_access_token(app_user_id="bob")


def test_one_app_user_reconnecting_replaces_not_duplicates(browser, aws):
    browser.connect(login="PADA001", query=link("alice"))
    browser.connect(login="PADA001", query=link("alice"))
    (item,) = connections(aws)
    assert item["token_version"]["N"] == "2"


def test_an_app_user_with_two_pagerduty_accounts_must_say_which(browser, aws):
    browser.connect(login="PADA001", query=link("alice"))
    browser.connect(login="PGRACE1", query=link("alice"))
    with pytest.raises(AmbiguousConnection):
        get_access_token(app_user_id="alice")
    assert get_access_token(app_user_id="alice", account_id="PGLOBEX")


def test_a_pending_linked_flow_is_not_a_connection_of_the_app_user(browser, aws):
    browser.authorize(link("alice"))
    from pd_connect.connections import ConnectionStore
    from pd_connect.token_cipher import TokenCipher

    store = ConnectionStore(aws.dynamodb, aws.table_name, TokenCipher(aws.kms, aws.key_id))
    assert store.find_by_app_user("alice") == []


def test_lookup_by_app_user_never_scans(browser, aws, monkeypatch):
    browser.connect(login="PADA001", query=link("alice"))
    monkeypatch.setattr(access_tokens, "_default", None)

    def refuse(*args, **kwargs):
        raise AssertionError("scan")

    from pd_connect.connections import ConnectionStore

    monkeypatch.setattr(ConnectionStore, "list_page", refuse)
    assert get_access_token(app_user_id="alice")


def test_admin_cli_lists_and_shows_by_app_user(browser, aws):
    browser.connect(login="PADA001", query=link("alice"))
    out = io.StringIO()
    assert admin(["list", "--app-user", "alice", "--json"], out=out) == 0
    (row,) = json.loads(out.getvalue())
    assert row["app_user_id"] == "alice" and row["key"] == "PACMEUS/PADA001/alice"
    out = io.StringIO()
    assert admin(["refresh", row["key"], "--json"], out=out) == 0
