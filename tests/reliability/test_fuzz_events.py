"""Property-based fuzzing of both handlers with payload 2.0 events (hypothesis).

Whatever API Gateway could hand over — any path, method, query string (text, raw and
percent-encoded bytes, repeated and oversized parameters), cookies, headers, and request context
pieces present, missing or null — each handler returns a dict with an int statusCode, never a
500, and always the security headers. Issued states and valid link tokens are mixed in, so the
fuzzing reaches past the parsers into consume, exchange and link spending.
"""

from __future__ import annotations

import string
from urllib.parse import quote, quote_from_bytes

from hypothesis import given
from hypothesis import strategies as st
from pd_connect.flow.browser_binding import COOKIE_NAME
from pd_connect.flow.links import sign_link

from tests.flow_driver import FlowDriver, LambdaContext
from tests.moto.conftest import LINK_SIGNING_KEY, SITE

from .support import FUZZ_EXAMPLES, FUZZ_REACH, assert_security_headers, query_of, reason_of, record_saves

OUR_PARAMETERS = ["state", "code", "error", "error_description", "link", "subdomain", "scope"]
URLSAFE = string.ascii_letters + string.digits + "-_"

# --- the pieces of an event ---------------------------------------------------------------------
# Weighted towards what reaches deep into a handler (its own route, a live state with its browser's
# binding cookie, a valid link), with everything else mixed in.

MISSING = object()  # the key is left out of the event


def weighted(*choices):
    """Like one_of, with a weight per strategy (one_of draws each distinct strategy about evenly)."""
    slots = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(range(len(slots))).flatmap(lambda index: slots[index])


def mostly(strategy):
    """The value mostly; sometimes null, sometimes the key left out."""
    return weighted((4, strategy), (1, st.none()), (1, st.just(MISSING)))


junk_text = st.text(max_size=40)
odd_paths = st.one_of(
    st.sampled_from(
        ["/", "/authorize", "/callback", "/callback/", "//callback", "/CALLBACK", "/authorize/..", "/%63allback", ""]
    ),
    junk_text.map(lambda text: "/" + text),
)
methods = weighted(
    (2, st.just("GET")), (1, st.sampled_from(["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get", ""])), (1, junk_text)
)


def percent_encoded(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


any_value = st.one_of(
    junk_text,
    st.binary(max_size=30).map(quote_from_bytes),  # any bytes, percent-encoded as a client would
    st.binary(max_size=30).map(percent_encoded),  # every byte encoded, UTF-8 or not
    junk_text.map(lambda text: quote(text, safe="")),
    st.sampled_from(["", "%", "%zz", "%f", "%%", "+", "access_denied", "%00"]),
    st.text(alphabet=URLSAFE, min_size=43, max_size=43),  # shaped like our states and bindings
    st.integers(min_value=250, max_value=5000).map(lambda n: "s" * n),  # past the length limits
)


def value_of(known: list[str]):
    return weighted((3, st.sampled_from(known)), (1, any_value)) if known else any_value


def query_strings(leading: list[str], known: list[str]):
    """Plausible ones (our parameters, shuffled, sometimes repeated or joined oddly), and junk."""
    ours = st.tuples(
        *(st.tuples(st.just(name), value_of(known if name in ("state", "link") else [])) for name in leading)
    )
    extras = st.lists(st.tuples(st.one_of(st.sampled_from(OUR_PARAMETERS), junk_text), any_value), max_size=3)
    pairs = st.tuples(ours, extras).flatmap(lambda parts: st.permutations([*parts[0], *parts[1]]))
    separator = st.sampled_from(["&"] * 5 + ["&&", ";", "&amp;"])
    plausible = st.tuples(pairs, separator).map(lambda t: t[1].join(f"{name}={value}" for name, value in t[0]))
    oversized = st.integers(4000, 110_000).map(lambda n: "code=" + "c" * n)
    return weighted((5, plausible), (1, junk_text), (1, oversized))


def cookie_lists(bindings: list[str]):
    ours = st.sampled_from(bindings) if bindings else st.nothing()
    binding = weighted(
        (3 if bindings else 0, ours), (1, st.text(alphabet=URLSAFE, min_size=40, max_size=46)), (1, junk_text)
    )
    cookie = weighted(
        (3, binding.map(lambda value: f"{COOKIE_NAME}={value}")), (1, junk_text), (1, st.just(f"{COOKIE_NAME}="))
    )
    anything = st.lists(weighted((4, cookie), (1, st.none())), max_size=3)
    ours_first = st.tuples(ours, anything).map(lambda t: [f"{COOKIE_NAME}={t[0]}", *t[1]])
    return weighted((2 if bindings else 0, ours_first), (1, anything))


headers = st.one_of(
    st.dictionaries(
        st.sampled_from(["cookie", "host", "user-agent", "x-forwarded-for", "Cookie"]), junk_text, max_size=3
    ),
    st.dictionaries(junk_text, junk_text, max_size=3),
)
request_contexts = st.fixed_dictionaries(
    {},
    optional={
        "http": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"method": methods, "path": odd_paths})),
        "requestId": st.one_of(st.none(), junk_text),
        "domainName": st.one_of(st.none(), st.just("connect.example.com"), junk_text),
    },
)


@st.composite
def events(draw, *, route: str, leading: list[str], known: list[str], bindings: list[str]) -> dict:
    """A payload 2.0 event for `route`'s handler; any field may be missing or null."""
    fields = {
        "rawPath": mostly(weighted((4, st.just(route)), (1, odd_paths))),
        "rawQueryString": weighted((8, query_strings(leading, known)), (1, st.none()), (1, st.just(MISSING))),
        "queryStringParameters": st.one_of(
            st.just(MISSING), st.none(), st.dictionaries(st.sampled_from(OUR_PARAMETERS), any_value, max_size=3)
        ),
        "cookies": mostly(cookie_lists(bindings)),
        "headers": mostly(headers),
        "requestContext": mostly(request_contexts),
        "isBase64Encoded": st.one_of(st.just(MISSING), st.booleans()),
        "body": st.one_of(st.just(MISSING), st.none(), junk_text),
    }
    event = {"version": "2.0"}
    for name, strategy in fields.items():
        value = draw(strategy)
        if value is not MISSING:
            event[name] = value
    if draw(st.booleans()):  # half the time a GET with its path, as API Gateway sends it
        context = event.get("requestContext") or {}
        event["requestContext"] = {**context, "http": {"method": "GET", "path": event.get("rawPath") or route}}
    return event


def assert_a_proper_answer(result, allowed_statuses: set[int]) -> None:
    assert isinstance(result, dict), result
    status = result.get("statusCode")
    assert isinstance(status, int) and not isinstance(status, bool), result
    assert status in allowed_statuses, (status, reason_of(result))
    assert_security_headers(result)
    assert isinstance(result["body"], str)
    if status >= 400:
        assert reason_of(result) not in ("", "unexpected"), result["body"][-300:]


# --- the properties -----------------------------------------------------------------------------


def test_the_start_handler_answers_any_event_properly(handlers, standin):
    start, _ = handlers
    links = [sign_link(LINK_SIGNING_KEY, f"app-user-{n}") for n in range(20)]  # each spendable once

    @given(event=events(route="/authorize", leading=["link"], known=links, bindings=[]))
    def answers_properly(event):
        FUZZ_EXAMPLES["start"] += 1
        result = start(event, LambdaContext())
        FUZZ_REACH["start (random events)"].update(events=1, stored=result.get("statusCode") == 302)
        assert_a_proper_answer(result, {200, 302, 400, 404, 405})
        if result["statusCode"] == 302:  # only ever to PagerDuty's authorize endpoint: no open redirect
            assert result["headers"]["Location"].startswith(f"{standin.base_url}/oauth/authorize?")

    answers_properly()


def test_the_callback_handler_answers_any_event_properly(handlers, container, standin, monkeypatch):
    start, callback = handlers
    stored = record_saves(monkeypatch, container)
    browser = FlowDriver(start, callback, site=SITE)
    states = [query_of(browser.authorize())["state"] for _ in range(20)]  # live, for this browser's binding

    @given(event=events(route="/callback", leading=["state", "code"], known=states, bindings=[browser.binding]))
    def answers_properly(event):
        FUZZ_EXAMPLES["callback"] += 1
        exchanges, saves = standin.calls["token_authorization_code"], len(stored)
        result = callback(event, LambdaContext())
        FUZZ_REACH["callback (random events)"].update(
            events=1, exchanged=standin.calls["token_authorization_code"] - exchanges, stored=len(stored) - saves
        )
        # 502: a live state with a made-up code reached PagerDuty, which refused it
        assert_a_proper_answer(result, {400, 404, 405, 502})
        if result["statusCode"] == 502:
            assert reason_of(result) in ("code_rejected", "pagerduty_bad_response")  # invalid_grant, or a 400

    answers_properly()
