import base64
import hashlib
import re

from pd_connect.oauth.pkce import code_challenge, new_code_verifier


def test_verifier_uses_only_unreserved_characters_and_rfc_length():
    verifier = new_code_verifier()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)


def test_verifiers_are_unique():
    assert len({new_code_verifier() for _ in range(1000)}) == 1000


def test_challenge_is_base64url_sha256_without_padding():
    # RFC 7636 Appendix B test vector
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_challenge_matches_independent_computation():
    verifier = new_code_verifier()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert code_challenge(verifier) == expected
