"""Link tokens: the documented format, signature, expiry and contents."""

import base64
import hashlib
import hmac
import json

import pytest

from pd_connect.failures import ConnectFailure, Reason
from pd_connect.links import MAX_LIFETIME_SECONDS, sign_link, verify_link

KEY = "test-link-signing-key-0123456789abcdef"
# The README's test vector: mint this in any language and compare.
VECTOR = (
    "v1.eyJleHAiOjE4MDAwMDAwMDAsIm5vbmNlIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSIsInJldCI6Ii9zZXR0aW5ncy9pbnRlZ3JhdGlvbnM_"
    "dGFiPXBhZ2VyZHV0eSIsInN1YiI6InVzZXItNDIifQ.5hnQs-edNdsWul4v49r-nZLfkjGG1WCRMVCD0th-ZyY"
)
VECTOR_PAYLOAD = {"exp": 1800000000, "nonce": "AAAAAAAAAAAAAAAAAAAAAA", "ret": "/settings/integrations?tab=pagerduty", "sub": "user-42"}


def reason(call):
    with pytest.raises(ConnectFailure) as failure:
        call()
    return failure.value.reason


def test_the_test_vector_matches_an_independent_implementation():
    body = base64.urlsafe_b64encode(json.dumps(VECTOR_PAYLOAD, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(KEY.encode(), f"v1.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert VECTOR == f"v1.{body}.{signature}"


def test_the_library_mints_the_test_vector():
    minted = sign_link(KEY, "user-42", "/settings/integrations?tab=pagerduty", lifetime=300, now=1800000000 - 300, nonce="AAAAAAAAAAAAAAAAAAAAAA")
    assert minted == VECTOR


def test_the_test_vector_verifies():
    link = verify_link(VECTOR, KEY, now=1800000000 - 10)
    assert (link.app_user_id, link.return_to, link.expires_at) == ("user-42", "/settings/integrations?tab=pagerduty", 1800000000)


def test_key_order_and_whitespace_in_the_payload_do_not_matter():
    body = base64.urlsafe_b64encode(json.dumps({"sub": "u1", "nonce": "B" * 22, "exp": 1000, "ret": None}, indent=1).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(KEY.encode(), f"v1.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert verify_link(f"v1.{body}.{signature}", KEY, now=900).app_user_id == "u1"


def test_fresh_links_are_unique_and_verify():
    tokens = {sign_link(KEY, "u1") for _ in range(50)}
    assert len(tokens) == 50
    assert verify_link(tokens.pop(), KEY).return_to is None


def test_a_tampered_payload_is_invalid():
    version, body, signature = VECTOR.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**VECTOR_PAYLOAD, "sub": "admin"}).encode()).rstrip(b"=").decode()
    assert reason(lambda: verify_link(f"{version}.{forged}.{signature}", KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_a_tampered_signature_is_invalid():
    flipped = VECTOR[:-1] + ("A" if VECTOR[-1] != "A" else "B")
    assert reason(lambda: verify_link(flipped, KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_the_wrong_key_is_invalid():
    assert reason(lambda: verify_link(VECTOR, KEY + "x", now=1800000000 - 10)) is Reason.LINK_INVALID


def test_an_expired_link_is_expired():
    assert reason(lambda: verify_link(VECTOR, KEY, now=1800000000)) is Reason.LINK_EXPIRED


def test_a_link_living_longer_than_the_maximum_is_invalid():
    token = sign_link(KEY, "u1", now=0, lifetime=MAX_LIFETIME_SECONDS)
    assert verify_link(token, KEY, now=0)
    body = base64.urlsafe_b64encode(json.dumps({"sub": "u1", "nonce": "C" * 22, "exp": 3600, "ret": None}).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(KEY.encode(), f"v1.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert reason(lambda: verify_link(f"v1.{body}.{signature}", KEY, now=0)) is Reason.LINK_INVALID


@pytest.mark.parametrize("token", ["", "v1", "v1.a", "v2.a.b", "v1.!!.x", "v1.a.b.c", "x" * 5000, "v1.eyJ9.sig"])
def test_malformed_tokens_are_invalid(token):
    assert reason(lambda: verify_link(token, KEY, now=0)) is Reason.LINK_INVALID


@pytest.mark.parametrize("app_user", ["", "a/b", "a#b", "x" * 129, "ünicode", "with space"])
def test_minting_refuses_unusable_app_user_ids(app_user):
    with pytest.raises(ValueError):
        sign_link(KEY, app_user)


def test_minting_refuses_an_open_redirect():
    with pytest.raises(ValueError):
        sign_link(KEY, "u1", "https://evil.example/")


def test_minting_refuses_long_lifetimes():
    with pytest.raises(ValueError):
        sign_link(KEY, "u1", lifetime=MAX_LIFETIME_SECONDS + 1)
