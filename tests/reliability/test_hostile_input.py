"""Hostile input at the handlers: forged, replayed, expired and other-browser state, tampered
cookies, malformed and oversized query strings, odd event shapes, unknown routes, forged link
tokens, and a PagerDuty profile built to inject markup. Every refusal is a 4xx page with its
reason code, and nothing is exchanged with PagerDuty."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from pd_connect.flow.browser_binding import COOKIE_NAME, new_binding
from pd_connect.flow.links import sign_link
from pd_connect.flow.pending_authorizations import LIFETIME_SECONDS, PendingAuthorizationStore

from local.pagerduty_standin import US_ACCOUNT, DemoUser
from tests.flow_driver import FlowDriver, LambdaContext, http_event
from tests.moto.conftest import LINK_SIGNING_KEY, REDIRECT_URI, SITE

from .support import assert_security_headers, connections, link_nonces, pending, query_of, reason_of

# --- a victim's flow, half done -----------------------------------------------------------------


@dataclass
class Consented:
    """A browser whose user pressed Authorize at PagerDuty; the callback has not been opened yet."""

    browser: FlowDriver
    callback_url: str

    @property
    def state(self) -> str:
        return query_of(self.callback_url)["state"]

    @property
    def code(self) -> str:
        return query_of(self.callback_url)["code"]


@pytest.fixture
def victim(browser) -> Consented:
    return Consented(browser, browser.decide_at_pagerduty(browser.authorize(), login="PADA001"))


def refusal(result, aws, standin) -> dict:
    """A refusal as the user, the table and PagerDuty see it."""
    return {
        "status": result["statusCode"],
        "reason": reason_of(result),
        "pending": len(pending(aws)),
        "connections": len(connections(aws)),
        "exchanges": standin.calls["token_authorization_code"],
    }


def refused(reason: str, *, pending: int = 1) -> dict:
    """A 400 page with this reason; the victim's pending authorization still there, unconsumed."""
    return {"status": 400, "reason": reason, "pending": pending, "connections": 0, "exchanges": 0}


def call_callback(handlers, query: str, cookies: list[str] | None) -> dict:
    event = http_event(f"{SITE}/callback?{query}")
    event.pop("cookies", None)
    if cookies is not None:
        event["cookies"] = cookies
    return handlers[1](event, LambdaContext())


# --- state --------------------------------------------------------------------------------------


def test_a_forged_state_is_unknown(victim, aws, standin):
    result = victim.browser.callback(f"/callback?state={'A' * 43}&code={victim.code}")

    assert refusal(result, aws, standin) == refused("state_unknown")


def test_a_forged_state_leaves_the_real_one_usable(victim, aws, standin):
    cookies = dict(victim.browser.cookies)
    victim.browser.callback(f"/callback?state={'A' * 43}&code={victim.code}")
    victim.browser.cookies.update(cookies)  # as if the cookie had been cleared (it no longer is)

    assert victim.browser.callback(victim.callback_url)["statusCode"] == 200


def test_a_replayed_state_is_refused_even_with_its_binding_cookie(victim, aws, standin):
    cookies = dict(victim.browser.cookies)
    assert victim.browser.callback(victim.callback_url)["statusCode"] == 200
    victim.browser.cookies.update(cookies)

    result = victim.browser.callback(victim.callback_url)

    assert refusal(result, aws, standin) == {
        "status": 400,
        "reason": "state_unknown",
        "pending": 0,
        "connections": 1,
        "exchanges": 1,
    }


def expired_state(aws, binding: str) -> str:
    """A pending authorization issued by this browser eleven minutes ago."""

    def eleven_minutes_ago() -> float:
        return time.time() - LIFETIME_SECONDS - 60

    store = PendingAuthorizationStore(aws.dynamodb, aws.table_name, clock=eleven_minutes_ago)
    return store.issue(code_verifier="v" * 43, redirect_uri=REDIRECT_URI, binding=binding)


def test_an_expired_state_is_refused(victim, aws, standin):
    state = expired_state(aws, victim.browser.binding)

    result = victim.browser.callback(f"/callback?state={state}&code={victim.code}")

    assert refusal(result, aws, standin) == refused("state_expired", pending=2)  # TTL deletes it later


def test_an_expired_state_stays_unusable(victim, aws, standin):
    state = expired_state(aws, victim.browser.binding)
    cookies = dict(victim.browser.cookies)
    victim.browser.callback(f"/callback?state={state}&code={victim.code}")
    victim.browser.cookies.update(cookies)

    result = victim.browser.callback(f"/callback?state={state}&code={victim.code}")

    assert refusal(result, aws, standin) == refused("state_expired", pending=2)


def test_another_browser_cannot_use_the_state(victim, handlers, aws, standin):
    attacker = FlowDriver(*handlers, site=SITE)
    attacker.authorize()  # holds a valid binding cookie of its own

    result = attacker.callback(victim.callback_url)

    assert refusal(result, aws, standin) == refused("state_other_browser", pending=2)  # the attacker's own, too


def test_another_browsers_attempt_leaves_the_state_to_its_owner(victim, handlers, aws, standin):
    attacker = FlowDriver(*handlers, site=SITE)
    attacker.authorize()
    attacker.callback(victim.callback_url)

    assert victim.browser.callback(victim.callback_url)["statusCode"] == 200


@pytest.mark.parametrize(
    "query,reason",
    [
        ("code={code}", "state_missing"),
        ("state=&code={code}", "state_missing"),
        ("state={state}", "code_missing"),
        ("state={state}&code=", "code_missing"),
        ("state={long}&code={code}", "bad_request"),
        ("error=access_denied&state={state}", "access_denied"),
        ("error=%3Cscript%3E&state={state}", "provider_error"),
        ("error=&state={state}&code={code}", "provider_error"),
    ],
    ids=[
        "no-state",
        "empty-state",
        "no-code",
        "empty-code",
        "state-300-chars",
        "denied",
        "error-markup",
        "empty-error",
    ],
)
def test_an_incomplete_callback_is_refused_and_consumes_nothing(victim, aws, standin, query, reason):
    result = victim.browser.callback("/callback?" + query.format(state=victim.state, code=victim.code, long="s" * 300))

    assert refusal(result, aws, standin) == refused(reason)


# --- cookies ------------------------------------------------------------------------------------

TAMPERED_COOKIES = [
    pytest.param(None, id="no-cookies"),
    pytest.param([], id="empty-list"),
    pytest.param([f"{COOKIE_NAME}="], id="empty-value"),
    pytest.param([f"{COOKIE_NAME}={'a' * 42}"], id="42-chars"),
    pytest.param([f"{COOKIE_NAME}={'a' * 44}"], id="44-chars"),
    pytest.param([f"{COOKIE_NAME}={'a' * 41}+/"], id="standard-base64-chars"),
    pytest.param([f"{COOKIE_NAME}={'a' * 42}!"], id="punctuation"),
    pytest.param([f"{COOKIE_NAME}={'a' * 42}é"], id="non-ascii"),
    pytest.param([f"{COOKIE_NAME}={'a' * 43}; Path=/"], id="attributes-in-value"),
    pytest.param(["pd-connect-binding=" + "a" * 43], id="without-host-prefix"),
    pytest.param([f"{COOKIE_NAME.lower()}={'a' * 43}"], id="lower-case-name"),
    pytest.param(["__Host-pd-connect-binding =" + "a" * 43], id="space-before-equals"),
]


@pytest.mark.parametrize("cookies", TAMPERED_COOKIES)
def test_a_tampered_binding_cookie_is_refused(victim, handlers, aws, standin, cookies):
    result = call_callback(handlers, f"state={victim.state}&code={victim.code}", cookies)

    assert refusal(result, aws, standin) == refused("state_other_browser")


def test_another_browsers_well_formed_cookie_is_refused(victim, handlers, aws, standin):
    result = call_callback(handlers, f"state={victim.state}&code={victim.code}", [f"{COOKIE_NAME}={new_binding()}"])

    assert refusal(result, aws, standin) == refused("state_other_browser")


def test_with_duplicate_binding_cookies_a_forged_first_one_decides(victim, handlers, aws, standin):
    cookies = [f"{COOKIE_NAME}={new_binding()}", f"{COOKIE_NAME}={victim.browser.binding}"]

    result = call_callback(handlers, f"state={victim.state}&code={victim.code}", cookies)

    assert refusal(result, aws, standin) == refused("state_other_browser")


def test_with_duplicate_binding_cookies_the_owners_first_one_decides(victim, handlers):
    cookies = [f"{COOKIE_NAME}={victim.browser.binding}", f"{COOKIE_NAME}={'x' * 43}"]

    assert call_callback(handlers, f"state={victim.state}&code={victim.code}", cookies)["statusCode"] == 200


def test_a_forged_cookie_header_is_refused_when_no_cookie_list_is_sent(victim, handlers, aws, standin):
    event = http_event(f"{SITE}/callback?state={victim.state}&code={victim.code}")
    event["cookies"] = None
    event["headers"]["cookie"] = f"other=1; {COOKIE_NAME}={new_binding()}"

    result = handlers[1](event, LambdaContext())

    assert refusal(result, aws, standin) == refused("state_other_browser")


# --- query strings ------------------------------------------------------------------------------

MALFORMED_QUERIES = [
    pytest.param("state={state}&code=" + "c" * 100_000, "bad_request", id="100KB"),
    pytest.param("state={state}&code=" + "c" * 4_100, "bad_request", id="just-over-4KB"),
    pytest.param("%zz", "state_missing", id="bad-escape"),
    pytest.param("&&&", "state_missing", id="only-separators"),
    pytest.param("=", "state_missing", id="lone-equals"),
    pytest.param("%", "state_missing", id="lone-percent"),
    pytest.param("state", "state_missing", id="name-without-value"),
    pytest.param("state=%zz&code={code}", "state_unknown", id="bad-escape-in-state"),
    pytest.param("state=%ff%fe&code={code}", "bad_request", id="non-utf8-state"),
    pytest.param("%ff%fe", "bad_request", id="non-utf8-name"),
    pytest.param("state={state}&code=%C0%AF", "bad_request", id="overlong-utf8-code"),
    pytest.param("state=%ED%A0%80&code={code}", "bad_request", id="encoded-surrogate"),
    pytest.param("state=a%00b&code={code}", "state_unknown", id="nul-byte"),
    pytest.param("state={state}&state={state}&code={code}", "bad_request", id="repeated-state"),
    pytest.param("state={state}&code={code}&code={code}", "bad_request", id="repeated-code"),
    pytest.param("error=access_denied&error=server_error&state={state}", "bad_request", id="repeated-error"),
    pytest.param("state={state};code={code}", "code_missing", id="semicolon-separator"),
]


@pytest.mark.parametrize("query,reason", MALFORMED_QUERIES)
def test_a_malformed_query_string_is_a_4xx_page(victim, aws, standin, query, reason):
    result = victim.browser.callback("/callback?" + query.format(state=victim.state, code=victim.code))

    assert refusal(result, aws, standin) == refused(reason)


@pytest.mark.parametrize(
    "query", ["link=%ff", "link=%ff&x=1", "link=a&link=b"], ids=["non-utf8", "non-utf8-and-more", "repeated"]
)
def test_a_malformed_authorize_query_starts_nothing(browser, aws, standin, query):
    result = browser.authorize_result(query)

    assert (result["statusCode"], reason_of(result), len(pending(aws)), standin.calls) == (
        400,
        "bad_request",
        0,
        dict.fromkeys(standin.calls, 0),
    )


# --- event shapes -------------------------------------------------------------------------------


def event_for(victim, *, cookies=True) -> dict:
    return http_event(
        f"{SITE}/callback?state={victim.state}&code={victim.code}",
        cookies=dict(victim.browser.cookies) if cookies else None,
    )


def without(*path):
    def change(event):
        target = event
        for name in path[:-1]:
            target = target[name]
        target.pop(path[-1], None)

    return change


def set_to(value, *path):
    def change(event):
        target = event
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value

    return change


EVENT_SHAPES = [
    pytest.param([without("rawQueryString"), set_to(None, "queryStringParameters")], "state_missing", id="query-null"),
    pytest.param(
        [set_to(None, "rawQueryString"), set_to(None, "queryStringParameters")], "state_missing", id="both-null"
    ),
    pytest.param([set_to(None, "cookies")], "state_other_browser", id="cookies-null"),
    pytest.param(
        [set_to(None, "cookies"), set_to(None, "headers")], "state_other_browser", id="cookies-and-headers-null"
    ),
    pytest.param([set_to([None, 7, "=", "=x", ";;"], "cookies")], "state_other_browser", id="junk-cookie-entries"),
    pytest.param(
        [set_to({"state": "A" * 43, "code": "x"}, "queryStringParameters"), without("rawQueryString")],
        "state_unknown",
        id="parsed-map-only",
    ),
    pytest.param(
        [set_to({"state": None, "code": None}, "queryStringParameters"), without("rawQueryString")],
        "state_unknown",
        id="parsed-map-nulls",
    ),
]


@pytest.mark.parametrize("changes,reason", EVENT_SHAPES)
def test_an_odd_event_shape_is_a_4xx_page(victim, handlers, aws, standin, changes, reason):
    event = event_for(victim)
    for change in changes:
        change(event)

    result = handlers[1](event, LambdaContext())

    assert refusal(result, aws, standin) == refused(reason)


CONTEXT_GAPS = [
    pytest.param([without("requestContext")], id="no-requestContext"),
    pytest.param([set_to(None, "requestContext")], id="requestContext-null"),
    pytest.param([without("requestContext", "http")], id="no-http"),
    pytest.param([set_to(None, "requestContext", "http")], id="http-null"),
    pytest.param([without("requestContext", "requestId"), without("requestContext", "domainName")], id="no-ids"),
    pytest.param([set_to(None, "requestContext", "http", "method")], id="method-null"),
]


@pytest.mark.parametrize("changes", CONTEXT_GAPS)
def test_missing_request_context_pieces_never_fail_the_handler(victim, handlers, aws, standin, changes):
    event = event_for(victim, cookies=False)
    for change in changes:
        change(event)

    result = handlers[1](event, LambdaContext())

    assert (result["statusCode"] // 100, reason_of(result) in ("state_other_browser", "method_not_allowed")) == (
        4,
        True,
    )


@pytest.mark.parametrize("changes", CONTEXT_GAPS)
def test_missing_request_context_pieces_still_get_the_security_headers(victim, handlers, changes):
    event = event_for(victim, cookies=False)
    for change in changes:
        change(event)

    assert_security_headers(handlers[1](event, LambdaContext()))


# --- routes and methods -------------------------------------------------------------------------

ROUTES = [
    pytest.param(0, "GET", "/nope", 404, "not_found", id="start-unknown"),
    pytest.param(0, "GET", "/callback", 404, "not_found", id="start-callback"),
    pytest.param(0, "GET", "/authorize/", 404, "not_found", id="start-trailing-slash"),
    pytest.param(0, "GET", "/AUTHORIZE", 404, "not_found", id="start-upper-case"),
    pytest.param(0, "GET", "//authorize", 404, "not_found", id="start-double-slash"),
    pytest.param(0, "GET", "/%61uthorize", 404, "not_found", id="start-encoded"),
    pytest.param(0, "POST", "/authorize", 405, "method_not_allowed", id="start-post"),
    pytest.param(0, "DELETE", "/", 405, "method_not_allowed", id="start-delete"),
    pytest.param(0, "OPTIONS", "/authorize", 405, "method_not_allowed", id="start-options"),
    pytest.param(1, "GET", "/authorize", 404, "not_found", id="callback-authorize"),
    pytest.param(1, "GET", "/", 404, "not_found", id="callback-landing"),
    pytest.param(1, "POST", "/callback", 405, "method_not_allowed", id="callback-post"),
    pytest.param(1, "PUT", "/callback", 405, "method_not_allowed", id="callback-put"),
]


@pytest.mark.parametrize("handler,method,path,status,reason", ROUTES)
def test_unknown_routes_and_methods_are_refused_and_start_nothing(
    handlers, aws, standin, handler, method, path, status, reason
):
    result = handlers[handler](http_event(f"{SITE}{path}", method=method), LambdaContext())

    assert (result["statusCode"], reason_of(result), len(pending(aws)), standin.calls) == (
        status,
        reason,
        0,
        dict.fromkeys(standin.calls, 0),
    )


# --- link tokens ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def crafted_link(payload, *, key: str = LINK_SIGNING_KEY, typ: str = "pd-connect-link+jwt", alg: str = "HS256") -> str:
    """A link token made by hand from the documented format (JWS, HS256), so any payload can be signed."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    signed = f"{b64(json.dumps({'alg': alg, 'typ': typ}).encode())}.{b64(raw)}"
    return f"{signed}.{b64(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())}"


def good_payload(**changes) -> dict:
    now = int(time.time())
    return {"sub": "app-user-1", "iat": now, "exp": now + 120, "jti": "n" * 22, **changes}


def tampered_sub() -> str:
    header, _, signature = crafted_link(good_payload()).split(".")
    return f"{header}.{b64(json.dumps(good_payload(sub='app-user-2')).encode())}.{signature}"


FORGED_LINKS = [
    pytest.param(lambda: sign_link("another-key-" + "x" * 40, "app-user-1"), "link_invalid", id="other-key"),
    pytest.param(tampered_sub, "link_invalid", id="payload-swapped"),
    pytest.param(lambda: crafted_link(good_payload()).rsplit(".", 1)[0] + ".", "link_invalid", id="no-signature"),
    pytest.param(lambda: crafted_link(good_payload(), typ="pd-connect-result+jwt"), "link_invalid", id="other-typ"),
    pytest.param(lambda: crafted_link(good_payload(), alg="none"), "link_invalid", id="alg-none"),
    pytest.param(lambda: crafted_link(good_payload(ret="/..//evil.example/x")), "link_invalid", id="return-dot-segments"),
    pytest.param(lambda: crafted_link(good_payload(ret="/caf\u00e9")), "link_invalid", id="return-non-ascii"),
    pytest.param(lambda: crafted_link(good_payload(sub="app-user-1\n")), "link_invalid", id="sub-trailing-newline"),
    pytest.param(
        lambda: sign_link(LINK_SIGNING_KEY, "app-user-1", now=time.time() - 400), "link_expired", id="expired"
    ),
    pytest.param(lambda: crafted_link(good_payload(exp=int(time.time()) + 3600)), "link_invalid", id="lives-an-hour"),
    pytest.param(lambda: crafted_link(good_payload(ret="//evil.example/x")), "link_invalid", id="return-other-host"),
    pytest.param(lambda: crafted_link(good_payload(ret="https://evil.example/")), "link_invalid", id="return-absolute"),
    pytest.param(
        lambda: crafted_link(good_payload(ret="/%2F%2Fevil.example")), "link_invalid", id="return-encoded-slashes"
    ),
    pytest.param(lambda: crafted_link(good_payload(ret="/\\evil.example")), "link_invalid", id="return-backslash"),
    pytest.param(lambda: crafted_link(good_payload(ret="/ok\r\nSet-Cookie: x=1")), "link_invalid", id="return-crlf"),
    pytest.param(lambda: crafted_link(good_payload(sub="a/b")), "link_invalid", id="sub-with-slash"),
    pytest.param(lambda: crafted_link(good_payload(sub="")), "link_invalid", id="sub-empty"),
    pytest.param(lambda: crafted_link(good_payload(jti="short")), "link_invalid", id="jti-short"),
    pytest.param(lambda: crafted_link(good_payload(exp=str(int(time.time()) + 60))), "link_invalid", id="exp-string"),
    pytest.param(lambda: crafted_link(good_payload(exp=True)), "link_invalid", id="exp-bool"),
    pytest.param(lambda: crafted_link(["app-user-1"]), "link_invalid", id="payload-list"),
    pytest.param(lambda: crafted_link(b"\xff\xfe"), "link_invalid", id="payload-not-utf8"),
    pytest.param(lambda: crafted_link(b"[" * 1000), "link_invalid", id="payload-deeply-nested"),
    pytest.param(lambda: "e30.!!!.!!!", "link_invalid", id="not-base64"),
    pytest.param(lambda: "e30." + "A" * 3000 + ".sig", "link_invalid", id="3000-chars"),
    pytest.param(lambda: "", "link_invalid", id="empty"),
]


@pytest.mark.parametrize("make_link,reason", FORGED_LINKS)
def test_a_forged_or_expired_link_is_refused_and_spends_nothing(browser, aws, standin, make_link, reason):
    result = browser.authorize_result("link=" + quote(make_link(), safe=""))

    assert (result["statusCode"], reason_of(result), len(pending(aws)), len(link_nonces(aws)), standin.calls) == (
        400,
        reason,
        0,
        0,
        dict.fromkeys(standin.calls, 0),
    )


def test_a_replayed_link_is_refused_and_starts_nothing_more(browser, aws):
    link = "link=" + quote(sign_link(LINK_SIGNING_KEY, "app-user-1"))
    assert browser.authorize_result(link)["statusCode"] == 302

    replayed = browser.authorize_result(link)

    assert (replayed["statusCode"], reason_of(replayed), len(pending(aws))) == (400, "link_used", 1)


# --- a PagerDuty profile built to inject markup ------------------------------------------------

MARKUP = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def connect_as(browser, standin, **profile) -> dict:
    standin.add_user(
        DemoUser(id="PEVIL01", email="eve@acme-us.example", account=US_ACCOUNT, **{"name": "Eve", **profile})
    )
    return browser.connect(login="PEVIL01")


def test_a_name_with_markup_is_escaped_everywhere_on_the_welcome_page(browser, standin):
    body = connect_as(browser, standin, name=MARKUP, avatar_url="https://avatars.example/eve.png")["body"]

    # escaped in the heading (the avatar is decorative, alt="": the name is right beside it); no
    # tag of the name's own survives, and its initials are letters only
    assert ("<script>" in body, "<img src=x" in body, body.count("&lt;script&gt;")) == (False, False, 1)
    assert '<span class="initials">SO</span>' in body


def test_a_name_with_markup_is_stored_as_data(browser, standin, aws):
    connect_as(browser, standin, name=MARKUP)

    (item,) = connections(aws)
    assert item["user_name"]["S"] == MARKUP


@pytest.mark.parametrize(
    "avatar_url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "http://avatars.example/eve.png",
        "https://user:pass@avatars.example/eve.png",
        "//avatars.example/eve.png",
        "https:///eve.png",
    ],
)
def test_an_avatar_that_is_not_a_plain_https_url_is_not_shown(browser, standin, avatar_url):
    result = connect_as(browser, standin, avatar_url=avatar_url)

    assert (
        result["statusCode"],
        "<img" in result["body"],
        result["headers"]["Content-Security-Policy"].endswith("; img-src 'self'"),  # the favicon only
    ) == (
        200,
        False,
        True,
    )


def test_an_avatar_url_cannot_break_out_of_its_attribute(browser, standin):
    result = connect_as(browser, standin, avatar_url='https://avatars.example/a.png" onerror="alert(1)')

    assert (
        '" onerror="' in result["body"],
        result["headers"]["Content-Security-Policy"].endswith("; img-src 'self' https://avatars.example"),
    ) == (
        False,
        True,
    )


# --- a PagerDuty answer built to collide with another record's key -----------------------------


def test_a_user_id_shaped_like_another_records_key_is_refused_and_overwrites_nothing(handlers, standin, aws):
    from pd_connect.client.confirmations import confirm_connection

    victim = FlowDriver(*handlers, site=SITE)
    answer = victim.connect(login="PADA001", query="link=" + quote(sign_link(LINK_SIGNING_KEY, "victim")))
    confirm_connection(query_of(answer["headers"]["Location"])["pagerduty_result"], "victim")
    (before,) = connections(aws)
    standin.add_user(DemoUser(id="PADA001#app#victim", name="Mallory", email="m@acme-us.example", account=US_ACCOUNT))

    result = FlowDriver(*handlers, site=SITE).connect(login="PADA001#app#victim")

    assert (result["statusCode"], reason_of(result)) == (502, "pagerduty_bad_response")
    assert connections(aws) == [before]  # the victim's record, tokens and name untouched


@pytest.mark.parametrize(
    "avatar_url",
    ["https://avatars.example;report-uri https://evil.example/r/x.png", "https://\u00e4vatars.example/eve.png"],
    ids=["csp-directive-in-host", "non-latin-1-host"],
)
def test_an_avatar_host_that_could_inject_into_the_csp_or_break_the_header_is_dropped(browser, standin, aws, avatar_url):
    result = connect_as(browser, standin, avatar_url=avatar_url)

    csp = result["headers"]["Content-Security-Policy"]
    assert (result["statusCode"], "<img" in result["body"], csp.endswith("; img-src 'self'"), "report-uri" in csp) == (200, False, True, False)
    csp.encode("latin-1")
    assert len(connections(aws)) == 1
