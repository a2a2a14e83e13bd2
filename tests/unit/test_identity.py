import base64
import json

from pd_connect.oauth.identity import identity_from_id_token


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.signature"


def test_us_claims():
    identity = identity_from_id_token(jwt({"aud": ["https://api.pagerduty.com", "client"], "region": "UnitedStates", "subdomain": "acme", "account_id": "PACCT", "user_id": "PUSER"}))
    assert (identity.region, identity.subdomain, identity.account_id, identity.user_id) == ("US", "acme", "PACCT", "PUSER")
    assert identity.region_known


def test_eu_is_recognised_from_the_audience_even_with_an_unknown_region_value():
    identity = identity_from_id_token(jwt({"aud": ["https://api.eu.pagerduty.com", "client"], "region": "SomethingNew"}))
    assert identity.region == "EU"


def test_eu_is_recognised_from_the_region_claim_alone():
    for value in ("EuropeanUnion", "EU", "Europe"):
        assert identity_from_id_token(jwt({"region": value})).region == "EU"


def test_single_string_audience():
    assert identity_from_id_token(jwt({"aud": "https://api.eu.pagerduty.com"})).region == "EU"


def test_missing_or_garbage_id_token_gives_unknown_region():
    for token in (None, "", "not-a-jwt", "a.!!!.c", jwt(["list"])):
        identity = identity_from_id_token(token)
        assert identity.region == "US" and not identity.region_known and identity.account_id == ""
