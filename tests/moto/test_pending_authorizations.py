"""Pending authorizations against moto: single use, bound to the browser, expiring."""

import threading

import pytest
from pd_connect.flow import browser_binding
from pd_connect.flow.failures import ConnectFailure, Reason
from pd_connect.flow.pending_authorizations import LIFETIME_SECONDS, PendingAuthorizationStore

from .conftest import scan_all


@pytest.fixture
def store(aws):
    return PendingAuthorizationStore(aws.dynamodb, aws.table_name)


def issue(store, binding):
    return store.issue(code_verifier="verifier-1", redirect_uri="https://x/callback", binding=binding)


def reason_of(call) -> Reason:
    with pytest.raises(ConnectFailure) as failure:
        call()
    return failure.value.reason


def test_issue_then_consume_returns_the_verifier_and_redirect_uri(store):
    binding = browser_binding.new_binding()
    state = issue(store, binding)
    pending = store.consume(state, binding)
    assert pending.code_verifier == "verifier-1" and pending.redirect_uri == "https://x/callback"


def test_state_has_at_least_128_bits_and_is_not_stored_in_clear(aws, store):
    binding = browser_binding.new_binding()
    state = issue(store, binding)
    assert len(state) >= 22
    stored = repr(scan_all(aws))
    assert state not in stored and binding not in stored


def test_pending_item_expires_by_ttl_in_ten_minutes(aws):
    store = PendingAuthorizationStore(aws.dynamodb, aws.table_name, clock=lambda: 1_000_000)
    issue(store, browser_binding.new_binding())
    (item,) = scan_all(aws)
    assert int(item["expires_at"]["N"]) == 1_000_000 + LIFETIME_SECONDS == 1_000_600


def test_second_consume_fails_as_unknown(store):
    binding = browser_binding.new_binding()
    state = issue(store, binding)
    store.consume(state, binding)
    assert reason_of(lambda: store.consume(state, binding)) is Reason.STATE_UNKNOWN


def test_unknown_state_fails(store):
    assert reason_of(lambda: store.consume("forged", browser_binding.new_binding())) is Reason.STATE_UNKNOWN


def test_other_browser_cannot_consume_and_the_state_survives_for_its_owner(store):
    owner = browser_binding.new_binding()
    state = issue(store, owner)
    assert reason_of(lambda: store.consume(state, browser_binding.new_binding())) is Reason.STATE_OTHER_BROWSER
    assert store.consume(state, owner).code_verifier == "verifier-1"


@pytest.mark.parametrize("cookie", [None, "", "tampered!", "x" * 200])
def test_missing_or_tampered_cookie_consumes_nothing(store, cookie):
    owner = browser_binding.new_binding()
    state = issue(store, owner)
    assert reason_of(lambda: store.consume(state, cookie)) is Reason.STATE_OTHER_BROWSER
    assert store.consume(state, owner)


@pytest.mark.parametrize("cookie", [None, "tampered!"])
def test_a_made_up_state_without_a_cookie_is_unknown_not_another_browser(store, cookie):
    assert reason_of(lambda: store.consume("garbage", cookie)) is Reason.STATE_UNKNOWN


@pytest.mark.parametrize("cookie", [None, "new"])
def test_a_callback_on_another_host_than_the_flow_started_on_says_so_and_consumes_nothing(store, cookie):
    owner = browser_binding.new_binding()
    state = store.issue(
        code_verifier="verifier-1", redirect_uri="http://localhost:3000/callback", binding=owner, started_on="127.0.0.1"
    )
    cookie = browser_binding.new_binding() if cookie == "new" else cookie  # e.g. an older flow's cookie

    failure = reason_of(lambda: store.consume(state, cookie, host="localhost"))

    assert failure is Reason.STATE_OTHER_HOST
    assert store.consume(state, owner, host="127.0.0.1").started_on == "127.0.0.1"


def test_the_same_host_without_the_cookie_is_another_browser(store):
    owner = browser_binding.new_binding()
    state = store.issue(code_verifier="v", redirect_uri="https://x/callback", binding=owner, started_on="x")

    assert reason_of(lambda: store.consume(state, None, host="x")) is Reason.STATE_OTHER_BROWSER


def test_expired_state_fails_even_before_ttl_deletes_it(aws):
    now = [1_000_000]
    store = PendingAuthorizationStore(aws.dynamodb, aws.table_name, clock=lambda: now[0])
    binding = browser_binding.new_binding()
    state = issue(store, binding)
    now[0] += LIFETIME_SECONDS
    assert reason_of(lambda: store.consume(state, binding)) is Reason.STATE_EXPIRED


def test_two_concurrent_consumes_of_one_state_let_exactly_one_proceed(store):
    for _ in range(20):
        binding = browser_binding.new_binding()
        state = issue(store, binding)
        results, barrier = [], threading.Barrier(2)

        def consume():
            barrier.wait()
            try:
                store.consume(state, binding)
                results.append("ok")
            except ConnectFailure as failure:
                results.append(failure.reason)

        threads = [threading.Thread(target=consume) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(map(str, results)) == sorted(["ok", str(Reason.STATE_UNKNOWN)])


def test_dynamodb_down_is_a_dependency_failure(aws):
    store = PendingAuthorizationStore(aws.dynamodb, "no-such-table")
    assert reason_of(lambda: issue(store, browser_binding.new_binding())) is Reason.DEPENDENCY_DOWN
    assert reason_of(lambda: store.consume("s", browser_binding.new_binding())) is Reason.DEPENDENCY_DOWN


def test_a_pending_authorizations_repr_hides_its_pkce_verifier(store):
    """A verifier that reaches a log line or a traceback lets whoever reads it redeem the code."""
    binding = browser_binding.new_binding()
    state = store.issue(code_verifier="verifier-secret-1", redirect_uri="https://app.example/callback", binding=binding)
    pending = store.consume(state, binding)
    assert "verifier-secret-1" not in repr(pending) and "verifier-secret-1" not in str(pending)
    assert "https://app.example/callback" in repr(pending)
