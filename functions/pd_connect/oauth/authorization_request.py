"""The authorization request (RFC 6749 §4.1.1) that sends the browser to PagerDuty.

Kept apart from the token endpoint so the start function needs neither `requests` nor secrets.
"""

from __future__ import annotations

from urllib.parse import urlencode


def authorize_url(
    identity_url: str, *, client_id: str, redirect_uri: str, scope: str, state: str, code_challenge: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,  # required by PagerDuty since 2022; unknown scopes are silently dropped
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",  # the only method PagerDuty documents
        }
    )
    return f"{identity_url}/oauth/authorize?{query}"


def default_redirect_uri(domain_name: str) -> str:
    """This API's own callback when none is configured (API Gateway always serves https)."""
    return f"https://{domain_name}/callback"
