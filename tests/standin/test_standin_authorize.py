"""GET/POST /oauth/authorize: the consent page, exact redirect_uri matching, error redirects."""

from __future__ import annotations

import re

import requests

from local.pagerduty_standin import DemoUser


def test_valid_request_shows_consent_page_with_scopes_users_and_both_buttons(flow):
    response = flow.authorize_page(scope="read users:contact_methods.read")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "Authorize Test App to access your PagerDuty account" in page
    assert "<code>read</code>" in page and "<code>users:contact_methods.read</code>" in page
    assert '<select name="login" id="login">' in page
    assert f'value="{flow.US_LOGIN}"' in page and f'value="{flow.EU_LOGIN}"' in page
    assert 'id="authorize"' in page and 'id="deny"' in page


def test_consent_page_is_a_plain_form_posting_the_request_parameters(flow):
    page = flow.authorize_page(state="s p&ce").text

    assert '<form method="post" action="/oauth/authorize">' in page
    assert "<script" not in page
    assert '<input type="hidden" name="state" value="s p&amp;ce">' in page
    assert f'<input type="hidden" name="redirect_uri" value="{flow.REDIRECT_URI}">' in page


def test_consent_page_cannot_be_framed_or_cached(flow):
    headers = flow.authorize_page().headers

    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_unknown_client_gets_an_error_page_not_a_redirect(flow):
    response = flow.authorize_page(client_id="nobody")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Unknown client_id" in response.text


def test_missing_client_id_gets_an_error_page(flow):
    response = flow.authorize_page(client_id=None)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_redirect_uri_must_match_a_registered_one_exactly(flow):
    near_misses = [
        flow.REDIRECT_URI + "/",
        flow.REDIRECT_URI + "?x=1",
        flow.REDIRECT_URI.upper(),
        "http://localhost:3001/callback",
        "https://localhost:3000/callback",
        "http://localhost:3000/callback/../callback",
        "http://127.0.0.1:3000/cb",  # registered only with ?tenant=a
    ]
    for redirect_uri in near_misses:
        response = flow.authorize_page(redirect_uri=redirect_uri)
        assert response.status_code == 400, redirect_uri
        assert "Location" not in response.headers, redirect_uri


def test_redirect_uri_of_another_client_is_rejected(flow):
    response = flow.authorize_page(redirect_uri=flow.OTHER_CLIENT.redirect_uris[0])

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_missing_redirect_uri_gets_an_error_page(flow):
    response = flow.authorize_page(redirect_uri=None)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_missing_scope_redirects_with_invalid_request_and_echoes_state(flow):
    params = flow.callback_params(flow.authorize_page(scope=None))

    assert params["error"] == "invalid_request"
    assert "scope" in params["error_description"]
    assert params["state"] == "state-123"


def test_empty_scope_counts_as_missing(flow):
    assert flow.callback_params(flow.authorize_page(scope=""))["error"] == "invalid_request"


def test_missing_response_type_redirects_with_invalid_request(flow):
    assert flow.callback_params(flow.authorize_page(response_type=None))["error"] == "invalid_request"


def test_other_response_type_redirects_with_unsupported_response_type(flow):
    params = flow.callback_params(flow.authorize_page(response_type="token"))

    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "state-123"


def test_error_redirect_goes_to_the_registered_redirect_uri(flow):
    response = flow.authorize_page(scope=None)

    assert response.headers["Location"].startswith(flow.REDIRECT_URI + "?")


def test_pkce_plain_method_is_rejected(flow):
    _, challenge = flow.pkce_pair()

    params = flow.callback_params(flow.authorize_page(code_challenge=challenge, code_challenge_method="plain"))

    assert params["error"] == "invalid_request"


def test_code_challenge_without_method_is_rejected(flow):
    _, challenge = flow.pkce_pair()

    assert flow.callback_params(flow.authorize_page(code_challenge=challenge))["error"] == "invalid_request"


def test_method_without_code_challenge_is_rejected(flow):
    params = flow.callback_params(flow.authorize_page(code_challenge_method="S256"))

    assert params["error"] == "invalid_request"


def test_malformed_code_challenge_is_rejected(flow):
    for bad in ["short", "a" * 42, "a" * 44, "+" * 43, "=" * 43]:
        params = flow.callback_params(flow.authorize_page(code_challenge=bad, code_challenge_method="S256"))
        assert params["error"] == "invalid_request", bad


def test_valid_pkce_request_shows_the_page(flow):
    _, challenge = flow.pkce_pair()

    assert flow.authorize_page(code_challenge=challenge, code_challenge_method="S256").status_code == 200


def test_repeated_parameter_redirects_with_invalid_request(flow):
    url = flow.base_url + "/oauth/authorize?" + requests.compat.urlencode(flow.authorize_params()) + "&scope=write"

    params = flow.callback_params(requests.get(url, allow_redirects=False))

    assert params["error"] == "invalid_request"


def test_repeated_redirect_uri_gets_an_error_page(flow):
    extra = "&redirect_uri=" + requests.compat.quote(flow.REDIRECT_URI, safe="")
    url = flow.base_url + "/oauth/authorize?" + requests.compat.urlencode(flow.authorize_params()) + extra

    response = requests.get(url, allow_redirects=False)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_deny_redirects_with_access_denied_and_state(flow):
    params = flow.callback_params(flow.decide("deny"))

    assert params["error"] == "access_denied"
    assert params["error_description"]
    assert params["state"] == "state-123"
    assert "code" not in params


def test_authorize_redirects_with_code_and_state_echoed_exactly(flow):
    state = "Ab+/=?&é ~"

    params = flow.callback_params(flow.decide("authorize", state=state))

    assert set(params) == {"code", "state"}
    assert params["state"] == state
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", params["code"])


def test_no_state_sent_means_no_state_returned(flow):
    assert "state" not in flow.callback_params(flow.decide("authorize", state=None))
    assert "state" not in flow.callback_params(flow.decide("deny", state=None))


def test_redirect_uri_with_a_query_keeps_it(flow):
    response = flow.decide("authorize", redirect_uri=flow.REDIRECT_URI_WITH_QUERY)

    assert response.headers["Location"].startswith(flow.REDIRECT_URI_WITH_QUERY + "&code=")
    assert flow.callback_params(response)["tenant"] == "a"


def test_decision_revalidates_the_redirect_uri(flow):
    response = flow.decide("authorize", redirect_uri="https://attacker.example/callback")

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_decision_revalidates_the_client(flow):
    response = flow.decide("authorize", client_id="nobody")

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_decision_revalidates_scope(flow):
    assert flow.callback_params(flow.decide("authorize", scope=None))["error"] == "invalid_request"


def test_decision_needs_a_known_user(flow):
    response = flow.decide("authorize", login="PNOBODY")

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_decision_needs_authorize_or_deny(flow):
    assert flow.decide("maybe").status_code == 400


def test_decision_must_be_a_form_body(flow):
    form = {**flow.authorize_params(), "decision": "authorize", "login": flow.US_LOGIN}

    response = requests.post(f"{flow.base_url}/oauth/authorize", json=form, allow_redirects=False)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_callback_carries_subdomain_when_configured(make_standin, flow_for):
    flow = flow_for(make_standin(subdomain_in_callback=True))

    params = flow.callback_params(flow.decide("authorize", login=flow.EU_LOGIN))

    assert params["subdomain"] == "globex-eu"


def test_user_names_are_escaped_on_the_page(standin, flow):
    standin.add_user(DemoUser(id="PXSS001", name="<script>alert(1)</script>", email="x@example.com"))

    page = flow.authorize_page().text

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_error_page_escapes_nothing_from_the_request(flow):
    response = flow.authorize_page(client_id="<img src=x onerror=alert(1)>")

    assert response.status_code == 400
    assert "<img" not in response.text


def test_each_page_view_is_counted(standin, flow):
    flow.authorize_page()
    flow.authorize_page(client_id="nobody")

    assert standin.calls["authorize"] == 2
