"""Linked-flow results: JWS compact HS256, typ pd-connect-result+jwt, the README's test vector
checked with PyJWT; never interchangeable with a link token."""

import jwt
import pytest
from pd_connect.flow.link_results import LIFETIME_SECONDS, TYP, InvalidResult, sign_result, verify_result
from pd_connect.flow.links import sign_link
from pd_connect.vault.connections import ConnectionKey

KEY = "test-result-signing-key-0123456789abcdef"
VECTOR = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6InBkLWNvbm5lY3QtcmVzdWx0K2p3dCJ9."
    "eyJjb25uZWN0aW9uIjoiUEFDTUVVUy9QQURBMDAxL3VzZXItNDIiLCJleHAiOjE4MDAwMDAzMDAsImlhdCI6MTgwMDAwMDAwMCwianRpIjoi"
    "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQiIsInN1YiI6InVzZXItNDIifQ.X7pX7M8FVRwk8L_dg_a48pXy5hiylAZwqmHhlg8Cuj0"
)
KEY_OF_VECTOR = ConnectionKey("PACMEUS", "PADA001", "user-42")


def test_pyjwt_verifies_the_test_vector():
    assert jwt.get_unverified_header(VECTOR) == {"alg": "HS256", "typ": TYP}
    claims = jwt.decode(VECTOR, KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "iat", "jti"]})
    assert claims == {
        "connection": "PACMEUS/PADA001/user-42",
        "exp": 1800000300,
        "iat": 1800000000,
        "jti": "BBBBBBBBBBBBBBBBBBBBBB",
        "sub": "user-42",
    }


def test_the_library_signs_the_test_vector_and_verifies_it():
    assert sign_result(KEY, KEY_OF_VECTOR, jti="B" * 22, now=1800000000) == VECTOR
    result = verify_result(VECTOR, (KEY,), now=1800000000 + 10)
    assert (result.app_user_id, result.connection, result.jti, result.expires_at) == (
        "user-42", KEY_OF_VECTOR, "B" * 22, 1800000000 + LIFETIME_SECONDS
    )


def test_an_expired_result_says_so():
    with pytest.raises(InvalidResult) as error:
        verify_result(VECTOR, (KEY,), now=1800000000 + LIFETIME_SECONDS)
    assert error.value.expired


def test_a_link_token_is_never_a_result_even_with_the_same_key():
    link = sign_link(KEY, "user-42", now=1800000000)
    with pytest.raises(InvalidResult) as error:
        verify_result(link, (KEY,), now=1800000000 + 10)
    assert not error.value.expired


@pytest.mark.parametrize(
    "claims",
    [
        {"connection": "PACMEUS/PADA001/mallory"},  # names another app user than sub
        {"connection": "PACMEUS/PADA001"},  # an anonymous key
        {"connection": "PACMEUS/PADA001#app#x/user-42"},
        {"connection": 42},
        {"jti": "short"},
    ],
    ids=["sub-mismatch", "no-app-user", "hash-in-id", "not-a-string", "short-jti"],
)
def test_results_with_inconsistent_claims_are_invalid(claims):
    token = jwt.encode(
        {"sub": "user-42", "connection": "PACMEUS/PADA001/user-42", "iat": 1000, "exp": 1100, "jti": "B" * 22, **claims},
        KEY,
        algorithm="HS256",
        headers={"typ": TYP},
    )
    with pytest.raises(InvalidResult):
        verify_result(token, (KEY,), now=1010)
