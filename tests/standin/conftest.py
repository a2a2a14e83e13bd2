"""Fixtures for the PagerDuty stand-in's own tests: a running stand-in and a tiny OAuth client.

Test modules get everything through fixtures (`standin`, `make_standin`, `flow`), never by
importing this file, so they work under any pytest import mode.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from local.pagerduty_standin import RegisteredClient, StandIn

REDIRECT_URI = "http://localhost:3000/callback"
REDIRECT_URI_WITH_QUERY = "http://127.0.0.1:3000/cb?tenant=a"
CLIENT = RegisteredClient(
    client_id="standin-client",
    client_secret="standin-secret-not-real",
    redirect_uris=(REDIRECT_URI, REDIRECT_URI_WITH_QUERY),
    name="Test App",
)
OTHER_CLIENT = RegisteredClient(
    client_id="other-client",
    client_secret="other-secret-not-real",
    redirect_uris=("http://localhost:4000/callback",),
)
API_V2 = "application/vnd.pagerduty+json;version=2"
US_LOGIN = "PADA001"
EU_LOGIN = "PGRACE1"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), computed here independently of the stand-in."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def callback_params(response: requests.Response) -> dict[str, str]:
    """The query parameters of a 302 to the client's redirect_uri."""
    assert response.status_code == 302, response.text
    values = parse_qs(urlsplit(response.headers["Location"]).query, keep_blank_values=True)
    return {name: vals[0] for name, vals in values.items()}


class Flow:
    """A minimal, correct OAuth client driving the stand-in over HTTP."""

    API_V2 = API_V2
    US_LOGIN = US_LOGIN
    EU_LOGIN = EU_LOGIN
    CLIENT = CLIENT
    OTHER_CLIENT = OTHER_CLIENT
    REDIRECT_URI = REDIRECT_URI
    REDIRECT_URI_WITH_QUERY = REDIRECT_URI_WITH_QUERY
    pkce_pair = staticmethod(pkce_pair)
    callback_params = staticmethod(callback_params)

    def __init__(self, base_url: str, client: RegisteredClient = CLIENT) -> None:
        self.base_url = base_url
        self.client = client

    def authorize_params(self, **overrides: Any) -> dict[str, str]:
        params = {
            "client_id": self.client.client_id,
            "redirect_uri": self.client.redirect_uris[0],
            "response_type": "code",
            "scope": "read",
            "state": "state-123",
        }
        params.update(overrides)
        return {name: value for name, value in params.items() if value is not None}

    def authorize_page(self, **overrides: Any) -> requests.Response:
        return requests.get(
            f"{self.base_url}/oauth/authorize", params=self.authorize_params(**overrides), allow_redirects=False
        )

    def decide(self, decision: str = "authorize", login: str = US_LOGIN, **overrides: Any) -> requests.Response:
        form = {**self.authorize_params(**overrides), "decision": decision, "login": login}
        return requests.post(f"{self.base_url}/oauth/authorize", data=form, allow_redirects=False)

    def code(self, login: str = US_LOGIN, **overrides: Any) -> str:
        return callback_params(self.decide("authorize", login, **overrides))["code"]

    def token_request(self, **form: str) -> requests.Response:
        return requests.post(f"{self.base_url}/oauth/token", data=form)

    def exchange(self, code: str, **overrides: Any) -> requests.Response:
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "code": code,
            "redirect_uri": self.client.redirect_uris[0],
        }
        form.update(overrides)
        return self.token_request(**{k: v for k, v in form.items() if v is not None})

    def tokens(self, login: str = US_LOGIN, **authorize_overrides: Any) -> dict[str, Any]:
        response = self.exchange(self.code(login, **authorize_overrides))
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token: str, **overrides: Any) -> requests.Response:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "refresh_token": refresh_token,
        }
        form.update(overrides)
        return self.token_request(**{k: v for k, v in form.items() if v is not None})

    def users_me(self, access_token: str | None, region: str = "US", accept: str | None = API_V2) -> requests.Response:
        headers = {}
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        if accept is not None:
            headers["Accept"] = accept
        prefix = "/eu" if region == "EU" else ""
        return requests.get(f"{self.base_url}{prefix}/users/me", headers=headers)


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA key for the session: generating one per stand-in would slow every test."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def make_standin(signing_key: rsa.RSAPrivateKey) -> Iterator[Callable[..., StandIn]]:
    started: list[StandIn] = []

    def make(**kwargs: Any) -> StandIn:
        kwargs.setdefault("clients", [CLIENT, OTHER_CLIENT])
        kwargs.setdefault("signing_key", signing_key)
        standin = StandIn(**kwargs)
        standin.start()
        started.append(standin)
        return standin

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def standin(make_standin: Callable[..., StandIn]) -> StandIn:
    return make_standin()


@pytest.fixture
def flow(standin: StandIn) -> Flow:
    return Flow(standin.base_url)


@pytest.fixture
def flow_for() -> Callable[[StandIn], Flow]:
    """A Flow for a stand-in made with `make_standin` (for non-default settings)."""
    return lambda standin: Flow(standin.base_url)
