"""The id_token: RS256, verifiable with the served JWKS, carrying PagerDuty's claims."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_with_jwks(id_token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) after checking the RS256 signature with the key the header names."""
    header_b64, claims_b64, signature_b64 = id_token.split(".")
    header = json.loads(b64url_decode(header_b64))
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    public_key = RSAPublicNumbers(
        e=int.from_bytes(b64url_decode(jwk["e"]), "big"), n=int.from_bytes(b64url_decode(jwk["n"]), "big")
    ).public_key()
    public_key.verify(
        b64url_decode(signature_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return header, json.loads(b64url_decode(claims_b64))


@pytest.fixture
def jwks(flow) -> dict[str, Any]:
    response = requests.get(f"{flow.base_url}/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def test_jwks_publishes_one_rsa_signing_key(jwks):
    (key,) = jwks["keys"]

    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert key["kid"] and key["n"] and key["e"]
    assert "d" not in key and "p" not in key


def test_id_token_verifies_with_the_jwks_key(flow, jwks):
    header, _ = verify_with_jwks(flow.tokens()["id_token"], jwks)

    assert header["alg"] == "RS256"
    assert header["kid"] == jwks["keys"][0]["kid"]


def test_tampered_id_token_does_not_verify(flow, jwks):
    header, claims, signature = flow.tokens()["id_token"].split(".")
    forged = json.loads(b64url_decode(claims)) | {"subdomain": "evil"}
    forged_b64 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidSignature):
        verify_with_jwks(f"{header}.{forged_b64}.{signature}", jwks)


def test_us_user_id_token_claims(flow, jwks):
    before = int(time.time())
    _, claims = verify_with_jwks(flow.tokens(flow.US_LOGIN)["id_token"], jwks)

    assert claims["iss"] == "https://identity.pagerduty.com/global/oauth/anonymous"
    assert claims["aud"] == ["https://api.pagerduty.com", flow.client.client_id]
    assert claims["region"] == "UnitedStates"
    assert claims["subdomain"] == "acme-us"
    assert claims["account_id"] and claims["delegation_id"] and claims["acr"]
    assert claims["user_id"] == flow.US_LOGIN and claims["sub"] == flow.US_LOGIN
    assert before <= claims["iat"] <= int(time.time()) < claims["exp"]


def test_eu_user_id_token_claims(flow, jwks):
    _, claims = verify_with_jwks(flow.tokens(flow.EU_LOGIN)["id_token"], jwks)

    assert claims["aud"] == ["https://api.eu.pagerduty.com", flow.client.client_id]
    assert claims["region"] == "EuropeanUnion"
    assert claims["subdomain"] == "globex-eu"
    assert claims["user_id"] == flow.EU_LOGIN


def test_each_grant_has_its_own_delegation_id(flow, jwks):
    _, first = verify_with_jwks(flow.tokens()["id_token"], jwks)
    _, second = verify_with_jwks(flow.tokens()["id_token"], jwks)

    assert first["delegation_id"] != second["delegation_id"]


def test_issuer_can_be_configured(make_standin, flow_for):
    flow = flow_for(make_standin(issuer="https://app.pagerduty.com/global/oauth/anonymous"))
    jwks = requests.get(f"{flow.base_url}/.well-known/jwks.json").json()

    _, claims = verify_with_jwks(flow.tokens()["id_token"], jwks)

    assert claims["iss"] == "https://app.pagerduty.com/global/oauth/anonymous"


def test_python_api_exposes_the_same_jwks(standin, jwks):
    assert standin.jwks() == jwks
