"""Who connected, and in which region: read from the id_token PagerDuty returns with user tokens.

The token JSON carries no region or subdomain; the id_token's claims do. The id_token comes
straight from the token endpoint over TLS, so OpenID Connect Core §3.1.3.7 lets a confidential
client trust it without checking the signature. Unknowns are handled both ways: the EU `region`
claim value is undocumented, so the API host in `aud` decides first.
"""

import base64
import json

from pd_connect.platform.config import REAL_API_URL
from pd_connect.platform.records import Record


class Identity(Record):
    account_id: str
    user_id: str
    subdomain: str
    region: str  # "US" or "EU"
    region_known: bool  # False when the id_token said nothing about the region


def _claims(id_token: str | None) -> dict:
    if not id_token or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _region(claims: dict) -> str | None:
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    for value in audiences:
        if value == REAL_API_URL["EU"]:
            return "EU"
        if value == REAL_API_URL["US"]:
            return "US"
    region = str(claims.get("region", "")).replace(" ", "").lower()
    if region.startswith("eu") or region.startswith("europe"):
        return "EU"
    if region in ("us", "unitedstates"):
        return "US"
    return None


def identity_from_id_token(id_token: str | None) -> Identity:
    claims = _claims(id_token)
    region = _region(claims)
    return Identity(
        account_id=str(claims.get("account_id") or ""),
        user_id=str(claims.get("user_id") or ""),
        subdomain=str(claims.get("subdomain") or ""),
        region=region or "US",
        region_known=region is not None,
    )
