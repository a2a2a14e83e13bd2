"""The token endpoint client: form-encoded body, no retries, every failure mapped to a reason."""

from urllib.parse import parse_qs

import pytest
import requests
import responses
from pd_connect.flow.failures import Reason, failure_for
from pd_connect.oauth.errors import OAuthError
from pd_connect.oauth.token_endpoint import InvalidClient, InvalidGrant, TokenEndpoint, exchange_code, refresh

IDENTITY = "https://identity.pagerduty.com"
TOKEN_URL = f"{IDENTITY}/oauth/token"
GOOD = {"client_info": "prefix_legacy_app", "id_token": "a.b.c", "token_type": "bearer", "access_token": "pdus+_0abc", "refresh_token": "pdus+_1def", "scope": "openid read", "expires_in": 864000}


def exchange():
    return exchange_code(requests.Session(), IDENTITY, client_id="cid", client_secret="csecret", code="the-code", redirect_uri="https://x/callback", code_verifier="verifier", clock=lambda: 1000)


@responses.activate
def test_exchange_posts_a_form_body_and_nothing_in_the_url():
    responses.post(TOKEN_URL, json=GOOD)
    tokens = exchange()
    call = responses.calls[0].request
    assert call.url == TOKEN_URL
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(call.body).items()}
    assert form == {"grant_type": "authorization_code", "client_id": "cid", "client_secret": "csecret", "code": "the-code", "redirect_uri": "https://x/callback", "code_verifier": "verifier"}
    assert tokens.access_token == "pdus+_0abc" and tokens.refresh_token == "pdus+_1def"
    assert tokens.expires_at == 1000 + 864000 and tokens.id_token == "a.b.c"


@responses.activate
def test_tokens_never_appear_in_repr():
    responses.post(TOKEN_URL, json=GOOD)
    assert "pdus" not in repr(exchange())


@responses.activate
def test_refresh_sends_the_refresh_grant():
    responses.post(TOKEN_URL, json={k: v for k, v in GOOD.items() if k not in ("client_info", "id_token")})
    tokens = refresh(requests.Session(), IDENTITY, client_id="cid", client_secret="s", refresh_token="pdus+_1old")
    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["pdus+_1old"]
    assert tokens.id_token is None


@pytest.mark.parametrize(
    "status,body,reason",
    [
        (400, {"error": "invalid_grant", "error_description": "expired"}, Reason.CODE_REJECTED),
        (400, {"error": "invalid_request", "error_description": "Invalid scope"}, Reason.PAGERDUTY_BAD_RESPONSE),
        (401, {"error": "invalid_client"}, Reason.CLIENT_REJECTED),
        (500, {"error": "server_error"}, Reason.PAGERDUTY_UNAVAILABLE),
        (503, None, Reason.PAGERDUTY_UNAVAILABLE),
        (429, None, Reason.PAGERDUTY_UNAVAILABLE),
        (200, None, Reason.PAGERDUTY_BAD_RESPONSE),
    ],
)
@responses.activate
def test_failures_map_to_reasons(status, body, reason):
    if body is None:
        responses.post(TOKEN_URL, status=status, body="<html>Bad gateway</html>", content_type="text/html")
    else:
        responses.post(TOKEN_URL, status=status, json=body)
    with pytest.raises(OAuthError) as failure:
        exchange()
    assert failure_for(failure.value).reason is reason
    assert len(responses.calls) == 1  # never retried: the code is single-use


@responses.activate
def test_invalid_client_and_invalid_grant_have_their_own_types():
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(InvalidClient):
        exchange()
    responses.replace(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(InvalidGrant):
        exchange()


@pytest.mark.parametrize("body", [{"token_type": "bearer"}, {**GOOD, "expires_in": "soon"}, {**GOOD, "token_type": "mac"}, {**GOOD, "access_token": ""}, [1, 2]])
@responses.activate
def test_unexpected_success_bodies_are_bad_responses(body):
    responses.post(TOKEN_URL, json=body)
    with pytest.raises(OAuthError) as failure:
        exchange()
    assert failure_for(failure.value).reason is Reason.PAGERDUTY_BAD_RESPONSE


@responses.activate
def test_timeout_is_a_timeout_and_not_retried():
    responses.post(TOKEN_URL, body=requests.Timeout())
    with pytest.raises(OAuthError) as failure:
        exchange()
    assert failure_for(failure.value).reason is Reason.PAGERDUTY_TIMEOUT
    assert len(responses.calls) == 1


@responses.activate
def test_connection_error_is_unavailable():
    responses.post(TOKEN_URL, body=requests.ConnectionError())
    with pytest.raises(OAuthError) as failure:
        exchange()
    assert failure_for(failure.value).reason is Reason.PAGERDUTY_UNAVAILABLE


@responses.activate
def test_failure_details_never_carry_the_secret_or_code():
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": "csecret the-code"})
    with pytest.raises(OAuthError) as failure:
        exchange()
    assert "csecret" not in failure.value.detail and "the-code" not in failure.value.detail


# --- a rotated client secret (TokenEndpoint) ---------------------------------------------------


class Secrets:
    """The container's cached secret, and what a fresh read of Secrets Manager gives now."""

    def __init__(self, cached: str, current: str) -> None:
        self.cached, self.current, self.fresh_reads = cached, current, 0

    def __call__(self, *, force_fetch: bool = False) -> str:
        if force_fetch:
            self.fresh_reads += 1
            self.cached = self.current
        return self.cached


def endpoint(secrets: Secrets) -> TokenEndpoint:
    return TokenEndpoint(requests.Session(), IDENTITY, "cid", secrets, clock=lambda: 1000)


def secrets_sent() -> list[str]:
    return [parse_qs(call.request.body)["client_secret"][0] for call in responses.calls]


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.exchange_code(code="the-code", redirect_uri="https://x/callback", code_verifier="verifier"),
        lambda e: e.refresh("pdus+_1old"),
    ],
    ids=["exchange", "refresh"],
)
@responses.activate
def test_invalid_client_after_a_rotation_is_retried_once_with_the_new_secret(call):
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    responses.post(TOKEN_URL, json=GOOD)
    secrets = Secrets(cached="old-secret", current="new-secret")
    assert call(endpoint(secrets)).access_token == "pdus+_0abc"
    assert secrets_sent() == ["old-secret", "new-secret"] and secrets.fresh_reads == 1


@pytest.mark.parametrize(
    "current,sent",
    [("old-secret", ["old-secret"]), ("new-secret", ["old-secret", "new-secret"])],
    ids=["secret-unchanged", "new-secret-refused-too"],
)
@responses.activate
def test_invalid_client_is_retried_only_with_a_changed_secret_and_only_once(current, sent):
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    secrets = Secrets(cached="old-secret", current=current)
    with pytest.raises(InvalidClient):
        endpoint(secrets).exchange_code(code="the-code", redirect_uri="https://x/callback", code_verifier="verifier")
    assert secrets_sent() == sent and secrets.fresh_reads == 1


@responses.activate
def test_other_failures_never_read_the_secret_afresh():
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    secrets = Secrets(cached="old-secret", current="new-secret")
    with pytest.raises(InvalidGrant):
        endpoint(secrets).refresh("pdus+_1old")
    assert secrets_sent() == ["old-secret"] and secrets.fresh_reads == 0
