"""Link tokens: JWS compact HS256 with an explicit typ, the README's test vector checked by PyJWT
(an independent implementation), signature, expiry and contents."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from pd_connect.flow.failures import ConnectFailure, Reason
from pd_connect.flow.links import MAX_LIFETIME_SECONDS, TYP, sign_link, verify_link

KEY = "test-link-signing-key-0123456789abcdef"
# The README's test vector: mint this in any language and compare.
VECTOR = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6InBkLWNvbm5lY3QtbGluaytqd3QifQ."
    "eyJleHAiOjE4MDAwMDAwMDAsImlhdCI6MTc5OTk5OTcwMCwianRpIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSIsInJldCI6Ii9zZXR0aW5n"
    "cy9pbnRlZ3JhdGlvbnM_dGFiPXBhZ2VyZHV0eSIsInN1YiI6InVzZXItNDIifQ.Ke8pLbqF4M9Mloy7aMg62W_vPemRj11-sGxueKXupcs"
)
VECTOR_CLAIMS = {
    "exp": 1800000000,
    "iat": 1799999700,
    "jti": "AAAAAAAAAAAAAAAAAAAAAA",
    "ret": "/settings/integrations?tab=pagerduty",
    "sub": "user-42",
}


def reason(call):
    with pytest.raises(ConnectFailure) as failure:
        call()
    return failure.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims, key: str = KEY) -> str:
    raw = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(raw)}"
    return f"{signing_input}.{b64(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())}"


def test_pyjwt_verifies_the_test_vector_with_its_typ_and_registered_claims():
    assert jwt.get_unverified_header(VECTOR) == {"alg": "HS256", "typ": "pd-connect-link+jwt"}
    claims = jwt.decode(
        VECTOR, KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "iat", "jti"]}
    )
    assert claims == VECTOR_CLAIMS


def test_the_library_mints_the_test_vector():
    minted = sign_link(KEY, "user-42", "/settings/integrations?tab=pagerduty", lifetime=300, now=1800000000 - 300, jti="AAAAAAAAAAAAAAAAAAAAAA")
    assert minted == VECTOR


def test_the_test_vector_verifies():
    link = verify_link(VECTOR, KEY, now=1800000000 - 10)
    assert (link.app_user_id, link.return_to, link.expires_at, link.jti) == (
        "user-42", "/settings/integrations?tab=pagerduty", 1800000000, "AAAAAAAAAAAAAAAAAAAAAA"
    )


def test_a_link_minted_by_pyjwt_verifies():
    token = jwt.encode({"sub": "u1", "iat": 1000, "exp": 1100, "jti": "B" * 22}, KEY, algorithm="HS256", headers={"typ": TYP})
    assert verify_link(token, KEY, now=1050).app_user_id == "u1"


def test_key_order_and_whitespace_in_the_claims_do_not_matter():
    raw = json.dumps({"jti": "B" * 22, "sub": "u1", "exp": 1000, "iat": 900}, indent=1).encode()
    assert verify_link(hand_made({"typ": TYP, "alg": "HS256"}, raw), KEY, now=950).app_user_id == "u1"


def test_fresh_links_are_unique_and_verify():
    tokens = {sign_link(KEY, "u1") for _ in range(50)}
    assert len(tokens) == 50
    assert verify_link(tokens.pop(), KEY).return_to is None


def test_a_link_signed_with_the_previous_key_verifies_during_a_rotation():
    old = "old-link-signing-key-0123456789abcdef"
    token = sign_link(old, "u1", now=1000)
    assert verify_link(token, (KEY, old), now=1010).app_user_id == "u1"
    assert reason(lambda: verify_link(token, (KEY,), now=1010)) is Reason.LINK_INVALID


def test_a_tampered_payload_is_invalid():
    header, _, signature = VECTOR.split(".")
    forged = b64(json.dumps({**VECTOR_CLAIMS, "sub": "admin"}).encode())
    assert reason(lambda: verify_link(f"{header}.{forged}.{signature}", KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_a_tampered_signature_is_invalid():
    flipped = VECTOR[:-1] + ("A" if VECTOR[-1] != "A" else "B")
    assert reason(lambda: verify_link(flipped, KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_the_wrong_key_is_invalid():
    assert reason(lambda: verify_link(VECTOR, KEY + "x", now=1800000000 - 10)) is Reason.LINK_INVALID


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": TYP},
        {"alg": "HS512", "typ": TYP},
        {"alg": "HS256"},
        {"alg": "HS256", "typ": "JWT"},
        {"alg": "HS256", "typ": "pd-connect-result+jwt"},
        {"alg": "HS256", "typ": TYP, "kid": "../../other-key"},
        {"alg": "HS256", "typ": TYP, "crit": ["exp"]},
    ],
    ids=["alg-none", "alg-hs512", "no-typ", "typ-jwt", "typ-result", "kid", "crit"],
)
def test_any_other_header_is_invalid_even_when_correctly_signed(header):
    claims = {**VECTOR_CLAIMS}
    assert reason(lambda: verify_link(hand_made(header, claims), KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_an_expired_link_is_expired():
    assert reason(lambda: verify_link(VECTOR, KEY, now=1800000000)) is Reason.LINK_EXPIRED


def test_a_link_living_longer_than_the_maximum_is_invalid():
    token = sign_link(KEY, "u1", now=0, lifetime=MAX_LIFETIME_SECONDS)
    assert verify_link(token, KEY, now=0)
    long_lived = hand_made({"alg": "HS256", "typ": TYP}, {"sub": "u1", "jti": "C" * 22, "iat": 0, "exp": 3600})
    assert reason(lambda: verify_link(long_lived, KEY, now=0)) is Reason.LINK_INVALID


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "jti"])
def test_each_registered_claim_is_required(missing):
    claims = {k: v for k, v in VECTOR_CLAIMS.items() if k != missing}
    token = hand_made({"alg": "HS256", "typ": TYP}, claims)
    assert reason(lambda: verify_link(token, KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


@pytest.mark.parametrize("token", ["", "a", "a.b", "a.b.c.d", "!!.x.y", "x" * 5000, "e30.e30.sig", "e30.e30."])
def test_malformed_tokens_are_invalid(token):
    assert reason(lambda: verify_link(token, KEY, now=0)) is Reason.LINK_INVALID


@pytest.mark.parametrize("app_user", ["", "a/b", "a#b", "x" * 129, "ünicode", "with space", "user\n"])
def test_minting_refuses_unusable_app_user_ids(app_user):
    with pytest.raises(ValueError):
        sign_link(KEY, app_user)


def test_a_trailing_newline_in_the_app_user_id_is_refused_when_verifying():
    token = hand_made({"alg": "HS256", "typ": TYP}, {**VECTOR_CLAIMS, "sub": "user-42\n"})
    assert reason(lambda: verify_link(token, KEY, now=1800000000 - 10)) is Reason.LINK_INVALID


def test_minting_refuses_an_open_redirect():
    with pytest.raises(ValueError):
        sign_link(KEY, "u1", "https://evil.example/")


def test_minting_refuses_long_lifetimes():
    with pytest.raises(ValueError):
        sign_link(KEY, "u1", lifetime=MAX_LIFETIME_SECONDS + 1)


def test_minting_refuses_a_short_key():
    with pytest.raises(ValueError):
        sign_link("short-key", "u1")
