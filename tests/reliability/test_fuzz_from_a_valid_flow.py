"""Fuzzing both handlers from a valid flow. The callback: each example starts a real flow (/authorize, then the
user's consent at the stand-in), takes the exact event PagerDuty's redirect makes the browser
send, and mutates it a little (a parameter changed, dropped, repeated or re-encoded; extra or
reordered parameters; the cookie changed, moved or joined by others; pieces of the request
context missing). Near-valid events reach the token exchange and the store, where random ones
never get past the state check; the terminal summary reports how many did.

Properties, whatever the mutation: a proper answer (never a 500 or a stack trace); the token
exchange is reached only with the flow's own state presented by the browser that started it;
a welcome page means exactly that connection was stored. The start handler likewise gets the
/authorize event of a browser that has started before, anonymous or with a fresh link token, mutated:
a redirect means one state stored and only to PagerDuty; anything else stores and spends nothing.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from pd_connect.flow.browser_binding import COOKIE_NAME
from pd_connect.flow.link_nonces import LinkNonceStore
from pd_connect.flow.links import sign_link
from pd_connect.flow.pending_authorizations import PendingAuthorizationStore
from pd_connect.platform.errors import BadRequest
from pd_connect.platform.web import parse_request

from tests.flow_driver import FlowDriver, LambdaContext, http_event
from tests.moto.conftest import LINK_SIGNING_KEY, SITE

from .support import FUZZ_REACH, assert_security_headers, connections, reason_of, record_saves
from .test_fuzz_events import any_value, junk_text, odd_paths

USERS = ["PADA001", "PGRACE1"]  # one US, one EU account


# --- mutations of one valid event -------------------------------------------------------------
# Each takes (pairs, event) and returns the new pairs; `pairs` is the query as (name, raw value).


def _mutated_value(value: str, how: str, junk: str) -> str:
    return {
        "truncate": value[: len(value) // 2],
        "drop-last": value[:-1],
        "append": value + (junk or "x"),
        "swap-case": value.swapcase(),
        "replace": junk,
        "empty": "",
        "percent-encoded": "".join(f"%{ord(c):02X}" for c in value),  # decodes back to the value
        "double-encoded": quote(quote(value, safe=""), safe=""),
        "plus-for-space": value.replace("-", "+"),
    }[how]


def value_changes(names: list[str]):
    return st.tuples(
    st.sampled_from(names),
    st.sampled_from(
        ["truncate", "drop-last", "append", "swap-case", "replace", "empty", "percent-encoded", "double-encoded",
         "plus-for-space"]
    ),
    junk_text,
    )


@st.composite
def mutations(draw, names: tuple[str, ...] = ("state", "code")) -> list[tuple]:
    """One to three changes; the harmless ones (reordering, extra parameters, other cookies,
    missing context) weighted up, so most events still carry a valid state and code."""
    kinds = st.sampled_from(
        ["none"] * 4
        + ["reorder", "extra-parameter", "extra-parameter", "other-cookies", "context", "context"]
        + ["value", "value", "drop-parameter", "repeat-parameter", "cookie", "cookie", "error", "path", "no-raw-query"]
    )
    return [(kind, draw(_details(kind, list(names)))) for kind in draw(st.lists(kinds, min_size=1, max_size=3))]


def _details(kind: str, names: list[str]):
    return {
        "value": value_changes(names),
        "drop-parameter": st.sampled_from(names),
        "repeat-parameter": st.tuples(st.sampled_from(names), st.booleans()),
        "extra-parameter": st.tuples(st.sampled_from(["scope", "subdomain", "error_description", "x"]) | junk_text, any_value),
        "reorder": st.randoms(use_true_random=False),
        "cookie": st.sampled_from(["drop", "other-binding", "empty", "second-after", "in-header", "junk"]),
        "other-cookies": st.lists(st.sampled_from(["a=1", "theme=dark", "x", "=", f"{COOKIE_NAME}x=1"]), min_size=1, max_size=3),
        "context": st.sampled_from(["no-request-id", "no-domain", "no-http", "null-context", "head"]),
        "error": st.sampled_from(["access_denied", "server_error", "x" * 50]),
        "path": odd_paths,
        "no-raw-query": st.just(None),
    }.get(kind, st.just(None))


def mutate(event: dict, pairs: list[tuple[str, str]], changes: list[tuple]) -> dict:
    cookies = list(event.get("cookies", []))
    for kind, detail in changes:
        if kind == "value":
            name, how, junk = detail
            pairs = [(n, _mutated_value(v, how, junk) if n == name else v) for n, v in pairs]
        elif kind == "drop-parameter":
            pairs = [(n, v) for n, v in pairs if n != detail]
        elif kind == "repeat-parameter":
            name, same = detail
            pairs = pairs + [(n, v if same else v[::-1]) for n, v in pairs if n == name]
        elif kind == "extra-parameter":
            pairs = pairs + [detail]
        elif kind == "reorder":
            pairs = list(pairs)
            detail.shuffle(pairs)
        elif kind == "cookie":
            binding = cookies[0] if cookies else f"{COOKIE_NAME}="
            cookies = {
                "drop": [],
                "other-binding": [f"{COOKIE_NAME}={'A' * 43}"],
                "empty": [f"{COOKIE_NAME}="],
                "second-after": [binding, f"{COOKIE_NAME}={'B' * 43}"],
                "in-header": [],
                "junk": [binding + "junk"],
            }[detail]
            if detail == "in-header":
                event["headers"] = {**event["headers"], "cookie": binding}
        elif kind == "other-cookies":
            cookies = cookies + detail
        elif kind == "context":
            context = dict(event.get("requestContext") or {})
            if detail == "no-request-id":
                context.pop("requestId", None)
            elif detail == "no-domain":
                context.pop("domainName", None)
            elif detail == "no-http":
                context.pop("http", None)
            elif detail == "head":
                context["http"] = {**context.get("http", {}), "method": "HEAD"}
            event["requestContext"] = None if detail == "null-context" else context
        elif kind == "error":
            pairs = pairs + [("error", detail)]
        elif kind == "path":
            event["rawPath"] = detail
        elif kind == "no-raw-query":
            event["rawQueryString"] = None
    if event.get("rawQueryString") is not None:
        event["rawQueryString"] = "&".join(f"{n}={v}" for n, v in pairs)
    elif "rawQueryString" in event:
        del event["rawQueryString"]  # API Gateway's parsed map alone, as some emulators send
    query: dict[str, str] = {}
    for name, value in pairs:
        query[name] = f"{query[name]},{value}" if name in query else value
    event["queryStringParameters"] = query
    event["cookies"] = cookies
    return event


def what_the_handler_saw(event: dict) -> tuple[str | None, str | None]:
    """The state and binding cookie the handler's own parser reads from the event."""
    try:
        request = parse_request(event)
        return request.param("state"), request.cookies.get(COOKIE_NAME)
    except BadRequest:
        return None, None


def test_the_callback_answers_mutations_of_a_valid_flow_properly_and_exchanges_only_for_its_browser(
    handlers, container, standin, aws, monkeypatch
):
    start, callback = handlers
    stored = record_saves(monkeypatch, container)

    # A third of the profile's count: each example is a whole flow (two stand-in pages, an exchange).
    @settings(max_examples=max(1, settings.default.max_examples // 3))
    @given(changes=mutations(), login=st.sampled_from(USERS))
    def answers_properly(changes, login):
        browser = FlowDriver(start, callback, site=SITE)
        callback_url = browser.decide_at_pagerduty(browser.authorize(), login=login)
        state, binding = dict(p.split("=", 1) for p in urlsplit(callback_url).query.split("&"))["state"], browser.binding
        event = http_event(SITE + urlsplit(callback_url).path + "?" + urlsplit(callback_url).query, cookies=browser.cookies)
        pairs = [tuple(p.split("=", 1)) for p in event["rawQueryString"].split("&")]
        event = mutate(event, pairs, changes)
        exchanges, saves = standin.calls["token_authorization_code"], len(stored)

        result = callback(event, LambdaContext())

        exchanged = standin.calls["token_authorization_code"] - exchanges
        FUZZ_REACH["callback from a valid flow"].update(
            events=1, exchanged=exchanged, stored=len(stored) - saves
        )
        status = result["statusCode"]
        assert status in {200, 400, 404, 405, 502}, (status, reason_of(result), changes)
        assert_security_headers(result)
        if status >= 400:
            assert reason_of(result) not in ("", "unexpected"), result["body"][-300:]
        if exchanged:  # only the flow's own state, presented with the binding of the browser that started it
            assert what_the_handler_saw(event) == (state, binding), changes
        if status == 200:
            assert stored[saves:] and stored[-1].user_id == login, changes

    answers_properly()
    assert connections(aws)  # some mutations kept the flow whole


def counted(monkeypatch, owner, name: str) -> list:
    """Each call of owner.name that returned (so its write succeeded) adds an entry."""
    original, calls = getattr(owner, name), []

    def counting(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(args)
        return result

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_the_start_handler_answers_mutations_of_a_valid_start_properly_and_spends_only_valid_links(
    handlers, standin, aws, monkeypatch
):
    start, callback = handlers
    signed = iter(range(10**6))
    issued, spent = counted(monkeypatch, PendingAuthorizationStore, "issue"), counted(monkeypatch, LinkNonceStore, "spend")

    @settings(max_examples=max(1, settings.default.max_examples // 3))
    @given(changes=mutations(names=("link",)), linked=st.booleans(), returning=st.booleans())
    def answers_properly(changes, linked, returning):
        browser = FlowDriver(start, callback, site=SITE)
        browser.authorize()  # a browser that has started before: it holds a binding cookie
        link = sign_link(LINK_SIGNING_KEY, f"app-user-{next(signed)}", "/settings" if returning else None)
        event = http_event(SITE + "/authorize" + (f"?link={quote(link, safe='')}" if linked else ""), cookies=browser.cookies)
        pairs = [tuple(p.split("=", 1)) for p in event["rawQueryString"].split("&") if p]
        event = mutate(event, pairs, changes)
        before = (len(issued), len(spent))

        result = start(event, LambdaContext())

        after = (len(issued), len(spent))
        FUZZ_REACH["start from a valid flow"].update(events=1, stored=after[0] - before[0])
        status = result["statusCode"]
        assert status in {200, 302, 400, 404, 405}, (status, reason_of(result), changes)
        assert_security_headers(result)
        if status >= 400:
            assert reason_of(result) not in ("", "unexpected"), result["body"][-300:]
        if status == 302:  # a state was stored, and the browser goes to PagerDuty only
            assert after[0] == before[0] + 1, changes
            assert result["headers"]["Location"].startswith(f"{standin.base_url}/oauth/authorize?")
        else:
            assert after == before, changes  # nothing stored, no link spent
        if after[1] > before[1]:  # a link was spent: only the one signed for this example
            assert link in (parse_request(event).query.get("link") or ()), changes

    answers_properly()
